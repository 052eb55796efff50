/* signal/live_admin.h: the livestream app's operator API (docs/ONAIRCTL.md): JSON routes under
 * /api/admin/ for onairctl, authenticated with an admin JWT (Authorization: Bearer). Answers
 * come from the shared state store (both backends, every node) and this node's SFU pool. */
#ifndef SIGNAL_LIVE_ADMIN_H
#define SIGNAL_LIVE_ADMIN_H

#include <stdbool.h>

typedef struct live live_t;

/* Registers the /api/admin/ routes on app->http. Requests the store answers later are held
 * open (HTTP_DEFERRED) and dropped quietly when their connection closes first. */
void live_admin_routes(live_t *app);

/* ---- live_admin_rec.c: GET /api/admin/recordings, POST rooms/ID/recording/stop ---- */
typedef struct json_t json_t;
typedef struct auth_identity auth_identity_t;

/* Called once with the answer's status and body (reference passed to the callee). */
typedef void (*live_admin_rec_cb)(int status, json_t *body, void *ud);

/* Lists the recordings: the files of --recordings-dir (name, size, modification time, the room
 * and start time read from the name) newest first, and the store's rooms' recordings being
 * written (live, on any node). 200 {dir, recordings: [{name, roomId, size, modifiedAt,
 * startedAt, live, recordingId}], truncated}; 503 when the store is down or the node shuts
 * down; 500 when the directory cannot be read (a missing one is empty). who (borrowed until done
 * runs) filters by its rooms claim. Asynchronous: store, uv_fs_scandir, uv_fs_lstat. */
void live_admin_recordings(live_t *app, const auth_identity_t *who, live_admin_rec_cb done,
                           void *ud);

/* Stops room's recording (a checked room id) as stop-recording does, without the owner check
 * (live_rec_stop_admin). 200 {ok, roomId, stopped, recording: {id, startedAt, file} | null};
 * 404 no such room; 409 still starting, or another node's recording (the message names it);
 * 503 store down or shutting down. who: borrowed until done runs (for the log). */
void live_admin_rec_stop(live_t *app, const char *room, const auth_identity_t *who,
                         live_admin_rec_cb done, void *ud);

/* A file name a recording can have: [A-Za-z0-9_.-], 1-255 bytes, not beginning with '.' or
 * '-', ending in .webm or .mkv (so never a path, "..", or a hidden file). */
bool live_admin_rec_name_ok(const char *name);

#endif
