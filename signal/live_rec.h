/* signal/live_rec.h: recordings (PROTOCOL.md 5 start-recording / stop-recording). The signal
 * node that drives a room's SFU records it: it binds a UDP socket on 127.0.0.1, asks the SFU to
 * forward the room there (room.forward, docs/RPC.md), spawns one onair-recorder per recording
 * with that socket as fd 3, and supervises it. The store keeps room.recording {id, startedAt,
 * file} (what stream-stats and the room object show). A recording ends with stop-recording,
 * with the broadcast (stop-stream, the publisher gone for good, the SFU lost), or when the
 * recorder exits by itself (its input stopped); the recorder always finishes the file.
 * docs/RECORDING.md has the whole design. */
#ifndef SIGNAL_LIVE_REC_H
#define SIGNAL_LIVE_REC_H
#include "live.h"

/* Starts or stops op->room's recording. The caller has checked the payload, the role and that
 * op->sub owns the room (room: the store's record, borrowed for the call). Takes op: answers
 * it ({ok, recording}) and frees it. */
void live_rec_request(live_op_t *op, const store_room_t *room, bool start);

/* The admin API's stop (POST /api/admin/rooms/ID/recording/stop, docs/ONAIRCTL.md): what
 * stop-recording does, without the owner check. done runs once, later or before this returns:
 * err APP_OK with recording = the stopped recording's JSON {id, startedAt, file} (NULL: nothing
 * was recording), or an error with a message: APP_ECONFLICT (still starting; another node runs
 * it: msg names that node), APP_EUNAVAILABLE (shutting down), or the store's error
 * (store_err_app: unavailable when it is down). room: the store's record, borrowed for the call. */
typedef void (*live_rec_stop_cb)(live_t *app, app_err_t err, const char *msg, const char *recording,
                                 void *ud);
void live_rec_stop_admin(live_t *app, const store_room_t *room, live_rec_stop_cb done, void *ud);

/* room's broadcast ended (the store has cleared its recording): the recorder finishes. */
void live_rec_room_ended(live_t *app, const char *room);

/* Shutdown: every recorder is told to finish (SIGTERM) and its handle is released; pending
 * requests are answered. Safe to call twice. */
void live_rec_close_all(live_t *app);

#endif
