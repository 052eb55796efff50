/* signal/live.h: the livestream application (PROTOCOL.md sections 2-10), private to its files:
 *   live_app.c    configuration, start/stop, the connect hook, event dispatch, disconnects,
 *                 node heartbeat/reaping/leaving
 *   live_reply.c  op contexts, acks and app-errors, the room object, iceServers, per-connection
 *                 room lists
 *   live_http.c   /health, /metrics, /api/dev-token, the pages
 *   live_bus.c    room events across nodes (one publish per room event through the store's
 *                 pub/sub; memory: loopback), the viewer-count coalescer, local room state,
 *                 re-registration after the node was reaped
 *   live_room.c   start/stop/join/leave/chat/get-viewers/kick/media-state/recording
 *   live_media.c  offer/answer/ice-candidate/restart-ice, the SFU pool's events
 *   live_stats.c  stream-stats
 *   live_owner.c  the owner's other connections as members of its rooms
 *
 * Ownership: the app (live_t) owns the store, the SFU pool, the auth verifier, its timers and
 * the per-room local state (live_room_t). Each Socket.IO socket owns its live_user_t (socket
 * data, freed by the core). Pending store/SFU operations hold a live_op_t with the socket's id,
 * never a pointer to the socket: a socket that is gone when the reply comes is simply not
 * answered (STYLE.md 4.4). */
#ifndef SIGNAL_LIVE_H
#define SIGNAL_LIVE_H
#include "../common/buf.h"
#include "../common/list.h"
#include "../proto/err.h"
#include "auth.h"
#include "http.h"
#include "ratelimit.h"
#include "sfu_pool.h"
#include "sio.h"
#include "store.h"
#include "strmap.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define LIVE_ROOM_ID_MAX 64
#define LIVE_SOCK_ID_MAX 64
/* "P.<room>.<conn>" / "S.<room>.<conn>" and its NUL (live_media.c) */
#define LIVE_PEER_ID_MAX (2 + LIVE_ROOM_ID_MAX + 1 + LIVE_SOCK_ID_MAX + 1)
/* ice-candidates one connection may trickle while its offer waits for the store (live_media.c) */
#define LIVE_OFFER_CANDS_MAX 64
/* rooms one connection may be a member of as its user owns them (live_owner.c) */
#define LIVE_OWNED_MAX 64
/* the channel every node subscribes: 'O' messages, a room went live under an owner */
#define LIVE_OWNERS_CHANNEL "owners"

typedef struct live_cfg {
    const char *node_id;
    bool production; /* NODE_ENV/ONAIR_ENV=production: no dev tokens, secret required */
    const char *jwt_secret, *jwt_public_key;
    int allow_anonymous;
    const char *redis_url;
    const char *cors_origin;
    const char *stun_urls, *turn_urls, *turn_secret;
    long turn_ttl_s;
    long max_viewers;
    long title_max, chat_max, sdp_max, candidate_max;
    long chat_limit, chat_window_ms, events_per_s;
    long publisher_grace_ms;
    long kick_ban_ms;
    long max_rooms_per_conn;
    long room_idle_ms;
    long stats_interval_ms;
    long node_ttl_ms;
    /* SFUs */
    long sfu_spawn;
    const char *sfu_bin, *sfu_dir, *sfu_ip, *sfu_ports, *sfu_sockets;
    long sfu_timeout_ms;
    const char *recordings_dir, *recorder_bin; /* recordings (live_rec.c) */
} live_cfg_t;

/* Counters for /metrics, by event name (PROTOCOL.md events) and by error code. */
enum {
#define LIVE_EVENT_MAP(XX)                 \
    XX(START_STREAM, "start-stream")       \
    XX(STOP_STREAM, "stop-stream")         \
    XX(JOIN_STREAM, "join-stream")         \
    XX(LEAVE_STREAM, "leave-stream")       \
    XX(OFFER, "offer")                     \
    XX(ANSWER, "answer")                   \
    XX(ICE_CANDIDATE, "ice-candidate")     \
    XX(RESTART_ICE, "restart-ice")         \
    XX(CHAT_MESSAGE, "chat-message")       \
    XX(GET_VIEWERS, "get-viewers")         \
    XX(KICK_VIEWER, "kick-viewer")         \
    XX(MEDIA_STATE, "media-state")         \
    XX(START_RECORDING, "start-recording") \
    XX(STOP_RECORDING, "stop-recording")
#define XX(name, str) LIVE_EV_##name,
    LIVE_EVENT_MAP(XX)
#undef XX
    LIVE_EV_OTHER,
    LIVE_EV_COUNT
};

typedef struct live live_t;
typedef struct live_room live_room_t;
typedef struct live_op live_op_t;
/* A step to run once the node receives a room's events (live_room_subscribed). */
typedef void (*live_room_fn)(live_t *app, live_op_t *op);
typedef struct live_room_waiter {
    live_room_fn fn;
    live_op_t *op;
} live_room_waiter_t;

struct live {
    uv_loop_t *loop;
    live_cfg_t cfg;
    sio_server_t *sio;
    sio_nsp_t *nsp;
    http_server_t *http;
    auth_t *auth;
    store_t *store;
    sfu_pool_t *sfus;
    strmap_t rooms; /* room id -> live_room_t: rooms with local members or a local publisher */
    uv_timer_t beat_timer, expire_timer;
    uint64_t chat_seq;
    strmap_t chat_limits;  /* user sub -> ratelimit_t* (chat is limited per user) */
    strmap_t peers;        /* SFU peer id of a local connection -> malloc'd SFU id */
    strmap_t recs;         /* room id -> the recording this node runs (live_rec.c) */
    strmap_t offers;       /* publisher peer id -> its offer waiting for the store (live_media.c) */
    char node_channel[80]; /* "n:<node id>": events for this node's connections */
    bool store_up;
    bool registered; /* the first heartbeat went through */
    bool closing;
    /* metrics */
    uint64_t ev_in[LIVE_EV_COUNT];
    uint64_t errors[APP_ERR_COUNT];
    uint64_t bus_out, bus_in;
    uint64_t connects_refused;
};

/* Local per-room state on this node (created on first use, freed when idle). */
struct live_room {
    live_t *app;
    char id[LIVE_ROOM_ID_MAX + 1];
    unsigned subs;       /* store_subscribe references this room holds (0 or 1) */
    unsigned local_refs; /* local members, publisher, grace period, pending joins/starts */
    /* the channel subscription: sub_ctx != NULL while SUBSCRIBE is on its way; the steps that
     * wait for it (a join's store call) run when it is active */
    void *sub_ctx;
    bool sub_ready;
    live_room_waiter_t *waiters;
    size_t nwaiters;
    /* viewer-count coalescer (PROTOCOL.md 5) */
    uv_timer_t count_timer;
    int64_t count_sent;     /* last value sent to local members, -1: none */
    uint64_t count_last_ms; /* when (monotonic), 0: never */
    bool count_timer_armed; /* a read is due at count_last_ms + 1 s */
    bool count_reading;     /* a store read is in flight */
    bool count_dirty;       /* changed again during that read */
    /* a broadcast published from this node */
    char pub_conn[LIVE_SOCK_ID_MAX + 1]; /* "" when the publisher is not on this node */
    char pub_sfu[80];
    bool pub_ready;    /* the publisher's media is connected on the SFU */
    double bitrate_in; /* from the last SFU stats of the room (publisher node), bit/s */
    int64_t packets_lost;
    uv_timer_t grace_timer; /* the owner disconnected: end the broadcast unless back in time */
    uv_timer_t stats_timer; /* stream-stats every 2 s while live */
    /* the owner as last read from the store (live_owner.c), NULL: unknown or none */
    char *owner;
    bool owner_reading; /* a read of the owner is in flight */
    bool owner_dirty;   /* the owner changed again during that read: read once more */
    int handles;
    bool freeing;
};

/* One connection's state (Socket.IO socket data). */
typedef struct live_user {
    live_t *app;
    char sock_id[LIVE_SOCK_ID_MAX + 1];
    auth_identity_t who;
    ratelimit_t events;
    int flood_strikes;
    /* rooms this connection joined or publishes, as live_room_t references */
    char **rooms;
    size_t nrooms;
    /* rooms this admin connection is a member of because its user owns them (live_owner.c),
     * each a live_room_t reference; at most LIVE_OWNED_MAX */
    char **owned;
    size_t nowned;
} live_user_t;

/* live_op_t flags */
enum {
    LIVE_OP_ROOM_REF = 1 /* holds a reference on the local room (live_room_subscribed) */
};

/* A pending operation's context (heap; freed by the completion). */
struct live_op {
    live_t *app;
    int ev;                          /* LIVE_EV_* */
    char sock[LIVE_SOCK_ID_MAX + 1]; /* requesting socket, "" for none */
    int64_t ack;                     /* client's ack id or -1 */
    char room[LIVE_ROOM_ID_MAX + 1];
    char sub[256];              /* requesting user's sub */
    char arg[LIVE_PEER_ID_MAX]; /* per-event extra (viewer id, peer id, reason) */
    int flags;                  /* LIVE_OP_* */
};

/* ---- live_reply.c ---- */
const char *live_ev_name(int ev);
live_op_t *live_op_new(live_t *app, int ev, sio_socket_t *s, int64_t ack, const char *room);
/* The socket of an op, or NULL when it is gone. */
sio_socket_t *live_op_socket(live_op_t *op);
/* Answers the op's client: ack {"ok":true<,extra>} (extra: raw JSON members without braces,
 * or NULL) when it asked for one. Frees nothing. */
void live_reply_ok(live_op_t *op, const char *extra);
/* Answers with an error: ack {ok:false,error:{code,message}}, or app-error {event, code,
 * message} when the client passed no ack. Counts the error. */
void live_reply_err(live_op_t *op, app_err_t code, const char *message);
/* The same for an event that has no op yet (validation failures). */
void live_fail(live_t *app, sio_socket_t *s, int ev, int64_t ack, app_err_t code,
               const char *message);
/* Shared checks of PROTOCOL.md 3, in its order. live_need_room reads `roomId` from p and checks
 * it (store_id_valid: safe to write into JSON and channel names unescaped); on failure it answers
 * invalid_payload and returns NULL. live_allowed checks the role (admin_only) and the token's
 * rooms claim; on failure it answers forbidden and returns false. */
const char *live_need_room(live_t *app, sio_socket_t *s, int ev, json_t *p, int64_t ack);
bool live_allowed(live_t *app, sio_socket_t *s, int ev, int64_t ack, const char *room,
                  bool admin_only);
/* Maps a store error and answers. */
void live_reply_store_err(live_op_t *op, const store_res_t *res);
live_user_t *live_user(sio_socket_t *s);
/* Writes the room object of PROTOCOL.md 5 into b. */
void live_room_json(buf_t *b, const store_room_t *r);
/* The iceServers JSON array for user sub into b (TURN credentials when TURN_SECRET is set). */
void live_ice_servers(live_t *app, buf_t *b, const char *sub);
/* Registers (refreshes) a READY SFU of this node in the shared SFU registry. */
void live_sfu_beat(live_t *app, sfu_t *sfu);
/* False (and answers conflict) when the connection may not take one more room. */
bool live_room_quota(live_t *app, sio_socket_t *s, int ev, int64_t ack, const char *room);
/* Records that the user's connection is in room (local refs, channel subscription). */
void live_user_add_room(live_user_t *u, const char *room);
bool live_user_has_room(const live_user_t *u, const char *room);
void live_user_del_room(live_user_t *u, const char *room);

/* ---- live_bus.c ---- */
enum {
    LIVE_TO_MEMBERS = 'M',
    LIVE_TO_ADMINS = 'A',
    LIVE_TO_CONN = 'C'
};
/* Sends event with args (raw JSON list) to the members (or the admins) of room on every node,
 * except the socket except_id (NULL: none): published once, delivered by every node. */
void live_bus_room(live_t *app, int to, const char *room, const char *except_id, const char *event,
                   const char *args, size_t args_len);
/* Sends event to one connection, wherever it is (node: its node id, NULL when unknown). */
void live_bus_conn(live_t *app, const char *node, const char *conn, const char *room,
                   const char *event, const char *args, size_t args_len);
/* Tells every node that room's viewer count changed (to count, as far as the caller knows):
 * each node's coalescer reads it from the store and sends viewer-count to its members. */
void live_bus_count(live_t *app, const char *room, int64_t count);
/* Tells every node that the room's publisher is ready (each creates its viewers' subscribers)
 * or that a viewer connection was kicked (its node detaches it). */
void live_bus_ready(live_t *app, const char *room);
void live_bus_kicked(live_t *app, const char *node, const char *room, const char *conn);
/* Tells every node (LIVE_OWNERS_CHANNEL) that room went live under owner (a sub). */
void live_bus_owner(live_t *app, const char *room, const char *owner);
/* The store's pub/sub delivery callback. */
void live_bus_on_message(store_t *st, const char *channel, const char *data, size_t len, void *ud);
/* Local room state: get (create) / release. */
live_room_t *live_room_get(live_t *app, const char *room, bool create);
void live_room_ref(live_room_t *r);
void live_room_unref(live_room_t *r);
/* Runs fn(app, op) once this node receives room's events (its channel subscription on the
 * store is active; at once when it already is), so that a member added by fn misses nothing
 * published after its ack. The local room is created if needed and referenced for op
 * (LIVE_OP_ROOM_REF): op's completion releases it with live_room_release(). When the app is
 * closing, fn runs at once. */
void live_room_subscribed(live_t *app, const char *room, live_room_fn fn, live_op_t *op);
/* Drops op's room reference if it holds one. */
void live_room_release(live_t *app, live_op_t *op);
void live_rooms_close_all(live_t *app);

/* ---- live_room.c ---- */
void live_on_start_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_stop_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_join_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_leave_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_chat(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_get_viewers(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_kick(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_media_state(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_recording(live_t *app, sio_socket_t *s, json_t *p, int64_t ack, bool start);
/* A connection leaves room. LEAVE_EXPLICIT: leave-stream (shared state updated, admins and
 * counts told); LEAVE_DISCONNECT: the same, and a publishing owner gets the grace period;
 * LEAVE_KICKED: the shared state was already updated by the kick, only local state changes. */
enum {
    LIVE_LEAVE_EXPLICIT,
    LIVE_LEAVE_DISCONNECT,
    LIVE_LEAVE_KICKED
};
void live_member_leave(live_t *app, live_user_t *u, const char *room, int mode);
/* viewer-joined {roomId, viewer} to the room's admins, and a count change. */
void live_announce_joined(live_t *app, const char *room, const live_user_t *u, int64_t count);
/* viewer-left {roomId, viewerId} to the room's admins (conn is JSON-escaped). */
void live_announce_left(live_t *app, const char *room, const char *conn);
/* stream-ended {roomId, reason} to the room's members on every node. */
void live_announce_ended(live_t *app, const char *room, const char *reason);
/* After store_viewer_kick: each removed connection's node detaches it (kicked), the admins get
 * viewer-left per connection, and a count change when any was removed. */
void live_announce_kicked(live_t *app, const char *room, const store_res_t *res);
/* After the node re-registered (its heartbeat key had expired or vanished): its connections
 * rejoin the rooms that still exist; its broadcasts that ended meanwhile end locally too. */
void live_rooms_resync(live_t *app);
/* Ends room's broadcast with reason (publisher-left, media-failed); conn: only if it is still
 * the publishing connection (NULL: unconditionally). */
void live_end_broadcast(live_t *app, const char *room, const char *conn, const char *reason);

/* ---- live_owner.c ---- */
/* An admin connection connected: it joins "u:<sub>" and, once the store answers, the rooms its
 * user owns. */
void live_owner_connected(live_t *app, sio_socket_t *s);
/* The connection is going: drops its owner memberships (the core leaves its Socket.IO rooms). */
void live_owner_disconnected(live_user_t *u);
/* The store says room's owner is owner (NULL: no such room): this node's connections of owner
 * become members, the others that were members as owners stop being (unless they joined). The
 * room's channel must be subscribed already (or the caller holds the local room). */
void live_owner_apply(live_t *app, const char *room, const char *owner);
/* An 'O' message: room went live under owner; re-reads the owner when this node cares. */
void live_owner_changed(live_t *app, const char *room, const char *owner);
bool live_user_owns(const live_user_t *u, const char *room);

/* ---- live_media.c ---- */
void live_on_offer(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_answer(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_candidate(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
void live_on_restart_ice(live_t *app, sio_socket_t *s, json_t *p, int64_t ack);
/* Creates the SFU subscriber of a local viewer connection for a live room (sends `offer`). */
void live_media_subscribe(live_t *app, const char *room, const char *conn);
/* The same when the caller holds the room as the store just described it (a join's result):
 * no second store read. */
void live_media_subscribe_known(live_t *app, const store_room_t *r, const char *conn);
/* Subscribes every local viewer of room (its publisher became ready). */
void live_media_room_ready(live_t *app, const char *room);
/* Closes a connection's peers for room (publisher and/or subscriber). */
void live_media_close_peers(live_t *app, const char *room, const char *conn, bool publisher);
void live_media_room_closed(live_t *app, const char *room);
void live_media_on_event(sfu_t *sfu, const char *event, json_t *data, void *ud);
void live_media_on_state(sfu_t *sfu, sfu_state_t old_state, sfu_state_t new_state, json_t *resumed,
                         void *ud);
void live_media_start_stats(live_t *app, live_room_t *r);

#endif
