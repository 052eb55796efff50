/* proto/rpc.h: the signal <-> SFU RPC codec (docs/RPC.md): 4-byte big-endian length framing,
 * message classification (request / response / event) and the method, event and error tables.
 * Pure: no I/O, no globals. JSON values are jansson's; ownership is stated per function. Both
 * sides use it: the SFU decodes requests and encodes responses and events, the signal side
 * encodes requests and decodes responses and events. */
#ifndef PROTO_RPC_H
#define PROTO_RPC_H
#include "../common/buf.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RPC_VERSION   1
#define RPC_HDR_LEN   4
#define RPC_MAX_FRAME (1024 * 1024) /* largest payload; 0 and larger lengths are errors */
#define RPC_ID_MAX    128           /* room and peer ids: 1..128 bytes of [A-Za-z0-9_.:-] */

/* Methods, signal -> SFU: XX(name, wire string) */
#define RPC_METHOD_MAP(XX)                     \
    XX(HELLO, "hello")                         \
    XX(ROOM_OPEN, "room.open")                 \
    XX(ROOM_CLOSE, "room.close")               \
    XX(PUBLISHER_OFFER, "publisher.offer")     \
    XX(SUBSCRIBER_CREATE, "subscriber.create") \
    XX(SUBSCRIBER_ANSWER, "subscriber.answer") \
    XX(PEER_CANDIDATE, "peer.candidate")       \
    XX(PEER_RESTART_ICE, "peer.restart_ice")   \
    XX(PEER_CLOSE, "peer.close")               \
    XX(STATS, "stats")                         \
    XX(DRAIN, "drain")                         \
    XX(ROOM_FORWARD, "room.forward")           \
    XX(ROOM_UNFORWARD, "room.unforward")

/* Events, SFU -> signal: XX(name, wire string) */
#define RPC_EVENT_MAP(XX)                              \
    XX(PEER_CANDIDATE, "peer.candidate")               \
    XX(PEER_STATE, "peer.state")                       \
    XX(TRACK_KEYFRAME_NEEDED, "track.keyframe_needed") \
    XX(STATS, "stats")                                 \
    XX(ERROR, "error")

/* Error codes of responses: XX(name, wire string) */
#define RPC_ERR_MAP(XX)                    \
    XX(INVALID_REQUEST, "invalid_request") \
    XX(UNKNOWN_METHOD, "unknown_method")   \
    XX(INVALID_PARAMS, "invalid_params")   \
    XX(NOT_FOUND, "not_found")             \
    XX(CONFLICT, "conflict")               \
    XX(BAD_STATE, "bad_state")             \
    XX(DRAINING, "draining")               \
    XX(INTERNAL, "internal")

typedef enum rpc_method {
    RPC_M_UNKNOWN = 0,
#define XX(name, str) RPC_M_##name,
    RPC_METHOD_MAP(XX)
#undef XX
    RPC_M_COUNT
} rpc_method_t;

typedef enum rpc_event {
    RPC_EV_UNKNOWN = 0,
#define XX(name, str) RPC_EV_##name,
    RPC_EVENT_MAP(XX)
#undef XX
    RPC_EV_COUNT
} rpc_event_t;

typedef enum rpc_err {
    RPC_OK = 0,
#define XX(name, str) RPC_E_##name,
    RPC_ERR_MAP(XX)
#undef XX
    RPC_E_COUNT
} rpc_err_t;

typedef enum rpc_kind {
    RPC_KIND_INVALID = 0,
    RPC_KIND_REQUEST,
    RPC_KIND_RESPONSE,
    RPC_KIND_EVENT,
} rpc_kind_t;

/* Wire strings of the tables; NULL for out-of-range values ("internal" for errors). */
const char *rpc_method_str(rpc_method_t m);
const char *rpc_event_str(rpc_event_t e);
const char *rpc_err_str(rpc_err_t e);
/* Looks a wire string up; RPC_M_UNKNOWN / RPC_EV_UNKNOWN / RPC_E_INTERNAL when absent. */
rpc_method_t rpc_method_from_str(const char *s);
rpc_event_t rpc_event_from_str(const char *s);
rpc_err_t rpc_err_from_str(const char *s);

/* ---- framing ---------------------------------------------------------------------------- */

/* Decodes one frame at buf[0..len). On success sets *payload (pointing into buf) and *plen and
 * returns the bytes the frame takes (RPC_HDR_LEN + *plen). Returns PROTO_EAGAIN when the frame
 * is not complete yet, PROTO_EINVAL for a zero length and PROTO_ETOOBIG for a length over max
 * (pass RPC_MAX_FRAME); *why then names the rule. Neither error can be resynchronised. */
ssize_t rpc_frame_decode(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
                         size_t *plen, const char **why);

/* Appends msg as one frame (length + compact JSON) to out. Returns 0, or PROTO_ETOOBIG when the
 * JSON is over RPC_MAX_FRAME or out's cap (out is then unchanged), PROTO_EINVAL when msg cannot
 * be serialised. msg stays the caller's. */
int rpc_encode(buf_t *out, const json_t *msg);

/* ---- messages ----------------------------------------------------------------------------- */

/* Builders. Each steals the reference to the json_t argument it is given (params, result,
 * data), which may be NULL for an empty object, and returns a new object owned by the caller.
 * An id of 0 is written as null (a response to a request whose id could not be read). */
json_t *rpc_request_new(int64_t id, rpc_method_t m, json_t *params);
json_t *rpc_result_new(int64_t id, json_t *result);
json_t *rpc_error_new(int64_t id, rpc_err_t code, const char *message);
json_t *rpc_event_new(rpc_event_t ev, json_t *data);

typedef struct rpc_msg {
    rpc_kind_t kind;
    json_t *root;        /* owned: rpc_msg_deinit releases it; NULL when the JSON was bad */
    int64_t id;          /* request/response id >= 1; 0 when absent or unreadable */
    rpc_method_t method; /* request */
    rpc_event_t event;   /* event (RPC_EV_UNKNOWN for names not in the table) */
    const char *name;    /* method or event name as received; borrowed from root */
    json_t *body;        /* borrowed: request params, response result or event data */
    rpc_err_t err;       /* decode failure: the code to answer with; response: its error */
    const char *err_msg; /* response error message, borrowed ("" when absent) */
} rpc_msg_t;

/* Parses and classifies one frame payload. Returns 0 with m->kind set, or a negative PROTO_E*
 * with m->err set to the RPC error code to answer with (INVALID_REQUEST, UNKNOWN_METHOD or
 * INVALID_PARAMS), m->id set when it could be read and *why naming the problem. An error
 * response may have "id": null (m->id 0): the answer to an unreadable request. A request
 * without "params" gets an empty object; params that are not an object fail. Unknown event
 * names decode (RPC_EV_UNKNOWN): a newer SFU may send more. Always call rpc_msg_deinit. */
int rpc_msg_decode(rpc_msg_t *m, const uint8_t *json, size_t len, const char **why);
void rpc_msg_deinit(rpc_msg_t *m);

/* ---- parameters --------------------------------------------------------------------------- */

/* True when s[0..len) is a valid room or peer id (1..RPC_ID_MAX bytes of [A-Za-z0-9_.:-]). */
bool rpc_id_valid(const char *s, size_t len);

/* Reads obj[key] as a room/peer id. Returns the string (borrowed from obj) or NULL with *why
 * naming the problem ("missing", "not a string", "not a valid id"). */
const char *rpc_get_id(const json_t *obj, const char *key, const char **why);

/* Reads obj[key] as a string of at most max bytes. Returns it (borrowed) or NULL with *why. */
const char *rpc_get_str(const json_t *obj, const char *key, size_t max, const char **why);

#endif
