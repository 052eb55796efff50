/* sfu/forward.h: the forwarding primitive. A room's publisher RTP (decrypted once by the
 * router, so plain RTP) and its sender reports go, unchanged, to local UDP receivers on the
 * same host (127.0.0.1:port): the recorder process today, relays between SFUs later. Each
 * target also gets, in-band on the same socket, an SDP text describing the tracks (payload
 * types, codecs, clock rates, fmtp, SSRCs; docs/RECORDING.md "Forwarding"), sent when a target
 * is added, when the publisher's media changes and every second. A target may send RTCP back
 * (PLI/FIR): the SFU then asks the publisher for a keyframe.
 *
 * Sending is fire-and-forget: one non-blocking send() per packet and target, no allocation,
 * no logging; a full socket buffer drops the packet and counts it. The room owns its forward
 * state (room_t.fwd); everything runs on the SFU's one GLib loop. */
#ifndef SFU_FORWARD_H
#define SFU_FORWARD_H
#include "sfu.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FORWARD_MAX 4 /* targets per room */

typedef struct fwd_room fwd_room_t;

/* Adds target id (an RPC id) of room r sending to host:port (a loopback address: 127.0.0.0/8 or
 * ::1). Asks the publisher for a keyframe, sends the description and the last sender report of
 * each track at once. Returns {id, sdp} (new reference), or NULL with *err and why set:
 * invalid_params (host not loopback, bad port), conflict (id in use, or FORWARD_MAX targets),
 * internal (socket failure). */
json_t *forward_add(room_t *r, const char *id, const char *host, long port, rpc_err_t *err,
                    char *why, size_t whylen);
/* Removes target id of room r after sending it an RTCP BYE for each track. Returns 0, or -1
 * when r has no such target. */
int forward_remove(room_t *r, const char *id);
/* Ends every target (BYE) and frees the room's forward state (room_free calls it). */
void forward_room_free(room_t *r);

/* Per-packet path (router.c): pkt[0..len) is a plain RTP packet of the publisher pub of room r,
 * as subscribers get it. A no-op without targets. */
void forward_rtp(room_t *r, const peer_t *pub, const uint8_t *pkt, size_t len);
/* The SR (+ SDES) compound the SFU re-issues to subscribers for publisher track idx: sent to
 * every target and kept as the track's last report for targets added later. */
void forward_rtcp_sr(room_t *r, int idx, const uint8_t *pkt, size_t len);

/* The RPC methods room.forward {room, id, host, port} -> {id, sdp} and room.unforward {room, id}
 * -> {id, packets, bytes, dropped} (docs/RPC.md). Returns the result (new reference) or NULL
 * with *err and why set (invalid_params, not_found: no such room or forward, conflict). */
json_t *forward_rpc(sfu_t *s, rpc_method_t method, const json_t *params, rpc_err_t *err, char *why,
                    size_t whylen);

/* The targets of room r for the stats result: [{id, port, packets, bytes, dropped}], new
 * reference (an empty array without targets). */
json_t *forward_stats_json(const room_t *r);

#endif
