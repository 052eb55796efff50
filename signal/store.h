/* signal/store.h: the shared state of a deployment (rooms, members, chat, kicks, nodes, SFUs,
 * cross-node pub/sub) behind ONE asynchronous interface with two backends: in-process memory
 * (REDIS_URL unset: one node) and Redis (hiredis 0.14 async on the libuv loop: many nodes).
 * docs/STATE.md describes keys, TTLs, atomicity and failure behaviour.
 *
 * Rules every operation follows:
 * - It completes through its callback exactly once, never before the call returns (STYLE 4.5):
 *   also the memory backend, also argument errors, also "Redis is down" (STORE_EUNAVAILABLE,
 *   within one loop iteration, never a hang: the Redis backend has its own connect/command
 *   timeouts). cb may be NULL when the result does not matter.
 * - Results (store_res_t and everything it points to) are valid during the callback only:
 *   copy what you keep.
 * - ud must stay valid until the callback runs. The store never cancels: a caller that may go
 *   away (a socket that disconnects) passes ids in ud (socket id, ack id) and looks them up in
 *   the callback; a miss means "gone": drop the result (STYLE 4.4).
 * - Multi-step operations are atomic across nodes (Redis: one Lua script each; memory: one
 *   call). Times stamped on records (startedAt, joinedAt, lastActive) come from opts.clock.
 * - String arguments are copied or sent before the call returns. Ids: room ids match
 *   ^[A-Za-z0-9_-]{1,64}$; node and SFU ids ^[A-Za-z0-9_.-]{1,64}$; other strings non-empty and
 *   at most STORE_MAX_STR bytes. Violations complete with STORE_EINVAL. */
#ifndef SIGNAL_STORE_H
#define SIGNAL_STORE_H
#include "../proto/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define STORE_MAX_STR     4096      /* names, titles, user ids, raw JSON fields */
#define STORE_MAX_BLOB    (1 << 20) /* chat entries and published messages */
#define STORE_CHAT_KEEP   50        /* default chat history length (PROTOCOL.md 5) */
#define STORE_KICK_BAN_MS 60000     /* default kick ban (PROTOCOL.md 5) */

/* Error codes: XX(name, value, message). STORE_OK is 0. */
#define STORE_ERRNO_MAP(XX)                                     \
    XX(ENOTFOUND, -3001, "no such room or member")              \
    XX(EFORBIDDEN, -3002, "not the owner of the room")          \
    XX(EKICKED, -3003, "kicked from the room (ban not over)")   \
    XX(ECONFLICT, -3004, "the room is live with another owner") \
    XX(EFULL, -3005, "the room is full (max viewers)")          \
    XX(EUNAVAILABLE, -3006, "state store unavailable")          \
    XX(EINVAL, -3007, "invalid argument")                       \
    XX(ECLOSED, -3008, "store closed")                          \
    XX(EINTERNAL, -3009, "unexpected reply from the state store")

enum {
    STORE_OK = 0,
#define XX(name, val, msg) STORE_##name = (val),
    STORE_ERRNO_MAP(XX)
#undef XX
};

/* A static message for a STORE_E* code. */
const char *store_strerror(int err);
/* The PROTOCOL.md code for a store error: ENOTFOUND -> not_found, EFORBIDDEN/EKICKED ->
 * forbidden, ECONFLICT/EFULL -> conflict (PROTOCOL.md 10: a full room answers conflict),
 * EUNAVAILABLE/ECLOSED -> unavailable, anything else -> internal. STORE_OK -> APP_OK. */
app_err_t store_err_app(int err);
/* Whether s is a valid id: a room id (^[A-Za-z0-9_-]{1,64}$) or, with dot, a node or SFU id
 * (^[A-Za-z0-9_.-]{1,64}$). Such ids are safe to write into JSON, log lines and channel names
 * without escaping. NULL is not valid. */
bool store_id_valid(const char *s, bool dot);

typedef struct store store_t;

/* A room (PROTOCOL.md 5 `room`, plus what the servers need). */
typedef struct store_room {
    const char *id;
    const char *title;      /* defaults to the id */
    const char *owner;      /* sub of the admin who started it */
    const char *owner_conn; /* connection id that last started it (the publisher) */
    const char *owner_node; /* node of that connection */
    bool live;
    int64_t started_at;              /* ms since the epoch; 0 when not live */
    const char *recording;           /* raw JSON object {id, startedAt, file}, or NULL */
    const char *media_state;         /* raw JSON object {audio, video}, or NULL */
    const char *sfu;                 /* placement: SFU id, or NULL */
    int64_t created_at, last_active; /* ms */
    int64_t viewers;                 /* viewer-role members now (admins excluded) */
} store_room_t;

/* A member of a room: one connection. */
typedef struct store_member {
    const char *room_id;
    const char *id;      /* connection (socket) id: the protocol's viewer.id */
    const char *user_id; /* token sub */
    const char *name;
    const char *role;  /* "viewer" or "admin" */
    const char *node;  /* node the connection lives on */
    int64_t joined_at; /* ms */
} store_member_t;

typedef struct store_sfu {
    const char *id;
    const char *node; /* the signal node that drives it */
    int64_t load;     /* e.g. peers now */
    int64_t capacity; /* e.g. max peers */
    const char *info; /* opaque text (raw JSON), or NULL */
} store_sfu_t;

typedef struct store_blob {
    const char *data; /* NUL-terminated too */
    size_t len;
} store_blob_t;

/* The result of an operation. err is STORE_OK or a STORE_E* code; why is a short reason for
 * the logs when err != 0. Each operation below says which other fields it sets; the rest are
 * zero/NULL. */
typedef struct store_res {
    int err;
    const char *why;
    const store_room_t *room;
    bool changed; /* see each operation */
    int64_t count;
    const store_member_t *member;
    const store_member_t *members;
    size_t nmembers;
    const store_blob_t *chat; /* oldest first */
    size_t nchat;
    const store_room_t *rooms;
    size_t nrooms;
    const char *const *ids;
    size_t nids;
    const char *const *nodes;
    size_t nnodes;
    const store_sfu_t *sfus;
    size_t nsfus;
    const char *sfu;
} store_res_t;

typedef void (*store_cb)(store_t *st, const store_res_t *res, void *ud);
/* A pub/sub message: channel is the name given to store_subscribe (without the key prefix). */
typedef void (*store_message_cb)(store_t *st, const char *channel, const char *data, size_t len,
                                 void *ud);
/* The backend became usable (up) or not. Redis: both connections ready; memory: never down. */
typedef void (*store_state_cb)(store_t *st, bool up, void *ud);
typedef void (*store_close_cb)(store_t *st, void *ud);

typedef struct store_opts {
    /* NULL, "" or "memory": in-process. "redis://[[user]:password@]host[:port][/db]" (host: a
     * numeric IP or a name, resolved with uv_getaddrinfo) or "unix:///path/redis.sock[?db=N]"
     * (also "redis+unix://"). */
    const char *url;
    const char *prefix;          /* key and channel prefix; NULL: "onair:" */
    uint32_t connect_timeout_ms; /* 0: 2000 (resolve + connect + handshake) */
    uint32_t command_timeout_ms; /* 0: 2000; a late reply drops the connection */
    uint32_t ping_interval_ms;   /* 0: 1000; heartbeat: a PUBLISH on cmd that sub must receive */
    uint32_t reconnect_min_ms;   /* 0: 100; backoff doubles up to reconnect_max_ms */
    uint32_t reconnect_max_ms;   /* 0: 2000 */
    uint32_t chat_keep;          /* 0: STORE_CHAT_KEEP */
    int64_t (*clock)(void);      /* wall-clock ms; NULL: clock_wall_ms */
    store_message_cb on_message; /* pub/sub deliveries (may be NULL) */
    store_state_cb on_state;     /* may be NULL */
    void *ud;                    /* for on_message, on_state */
} store_opts_t;

/* Creates a store on loop (copies opts and the strings in it). The memory backend is up at
 * once; the Redis backend starts connecting (on_state(up) when ready) and keeps reconnecting
 * with backoff for its whole life. Returns 0 and *out, or -1 with err filled (bad URL). */
int store_open(uv_loop_t *loop, const store_opts_t *opts, store_t **out, char *err, size_t errlen);
/* Closes the store. Pending operations complete (Redis: replies that arrive in time, else
 * STORE_ECLOSED/EUNAVAILABLE); operations started from here on complete with STORE_ECLOSED.
 * cb runs once everything is released; the loop can then be closed. Idempotent. */
void store_close(store_t *st, store_close_cb cb, void *ud);

const char *store_backend(const store_t *st); /* "memory" or "redis" */
/* For /health: memory always; Redis when both connections are ready. */
bool store_healthy(const store_t *st);

typedef struct store_stats {
    uint64_t ops, ops_failed;       /* completed operations, of which failed (any error) */
    uint64_t unavailable;           /* failed with STORE_EUNAVAILABLE */
    uint64_t timeouts;              /* Redis commands past command_timeout_ms */
    uint64_t connects, disconnects; /* Redis connections made / lost (both contexts) */
    uint64_t connect_errors;        /* failed Redis connection attempts */
    uint64_t published, received;   /* pub/sub messages */
    uint64_t pending;               /* operations in flight now */
    uint64_t channels;              /* channels subscribed through store_subscribe now */
    uint64_t subscribed;            /* of which the backend confirmed (Redis: SUBSCRIBE acked) */
} store_stats_t;
void store_stats(const store_t *st, store_stats_t *out);

/* --- rooms --- */
typedef struct store_start {
    const char *room;  /* required */
    const char *sub;   /* owner-to-be (token sub), required */
    const char *conn;  /* the publishing connection id, required */
    const char *node;  /* its node id, required */
    const char *title; /* NULL: keep (same owner) or the room id */
} store_start_t;

/* start-stream, atomically: a new room is created live, owned by sub; a live room of sub is
 * idempotent (title updated when given; owner_conn/owner_node move to this connection); a live
 * room of another owner: STORE_ECONFLICT; a room that is not live is taken over by sub and goes
 * live (title: given, else kept when the owner is the same, else the room id; mediaState and
 * recording reset). res: room (after), changed = it went live now (send stream-started), count
 * = viewers. */
void store_room_start(store_t *st, const store_start_t *a, store_cb cb, void *ud);

/* stop-stream / publisher-left / media-failed: ends the broadcast (live=0, startedAt, mediaState
 * and recording cleared; members, chat and placement stay). sub != NULL: only the owner may
 * (else STORE_EFORBIDDEN, checked before liveness). conn != NULL: only when the room's
 * owner_conn is still conn (a publisher that came back on a new connection is not stopped).
 * STORE_ENOTFOUND for an unknown room. res: room (after), changed = it was live and stopped now. */
void store_room_stop(store_t *st, const char *room, const char *sub, const char *conn, store_cb cb,
                     void *ud);

/* res: room, count = viewers; STORE_ENOTFOUND. */
void store_room_get(store_t *st, const char *room, store_cb cb, void *ud);

/* Which fields store_room_update sets. A NULL value with its bit set clears the field. */
enum {
    STORE_SET_TITLE = 1 << 0,
    STORE_SET_MEDIA_STATE = 1 << 1, /* raw JSON {audio, video} */
    STORE_SET_RECORDING = 1 << 2,   /* raw JSON {id, startedAt, file} */
    STORE_SET_SFU = 1 << 3,         /* unconditional placement; see store_room_sfu_claim */
};
typedef struct store_patch {
    unsigned set;
    const char *title, *media_state, *recording, *sfu;
} store_patch_t;

/* Updates fields atomically (last_active too). owner != NULL: only when the room's owner is
 * owner (else STORE_EFORBIDDEN). live_only: only while the room is live; otherwise nothing is
 * written and changed=false (so a late media-state cannot outlive its broadcast). res: room
 * (after), changed = written. STORE_ENOTFOUND for an unknown room. */
void store_room_update(store_t *st, const char *room, const char *owner, bool live_only,
                       const store_patch_t *p, store_cb cb, void *ud);

/* res: rooms (every room, any order). For onairctl and /health counts; O(rooms). */
void store_room_list(store_t *st, store_cb cb, void *ud);
/* res: rooms whose owner (the sub that started them last) is owner, any order; STORE_EINVAL for
 * an empty or bad owner. For the owner's other connections (PROTOCOL.md 10); O(rooms). */
void store_rooms_owned(store_t *st, const char *owner, store_cb cb, void *ud);

/* Deletes rooms idle for idle_ms: not live, no members, last_active older than now - idle_ms
 * (PROTOCOL.md 5: 24 h). Deletes their members, chat and kicks. Call it from a timer (e.g. once
 * a minute) on any node; idempotent. res: ids = deleted room ids. O(rooms). */
void store_rooms_expire(store_t *st, int64_t idle_ms, store_cb cb, void *ud);

/* SFU placement, compare-and-set: when the room has a placement on a live SFU (registered, not
 * expired) and !force, that one stays; otherwise sfu (which must be live, else
 * STORE_EUNAVAILABLE) becomes the placement. res: sfu = the placement now, changed = sfu won,
 * room. STORE_ENOTFOUND for an unknown room. */
void store_room_sfu_claim(store_t *st, const char *room, const char *sfu, bool force, store_cb cb,
                          void *ud);

/* --- members --- */
typedef struct store_join {
    const char *room, *conn, *user, *name, *node; /* required */
    const char *role;                             /* "viewer" or "admin" */
    uint32_t max_viewers; /* 0: unlimited; counts viewer-role members only */
} store_join_t;

/* join-stream, atomically, in PROTOCOL.md 3 order: unknown room -> STORE_ENOTFOUND; conn already
 * a member -> ok with changed=false (no second viewer-joined); user kicked less than the ban ago
 * -> STORE_EKICKED; a viewer over max_viewers -> STORE_EFULL; else added. res: room (after),
 * changed = added now, count = viewers after, member = the record, chat = the history (oldest
 * first) for the ack. */
void store_member_join(store_t *st, const store_join_t *j, store_cb cb, void *ud);

/* leave-stream / disconnect. res: changed = conn was a member (then member = the removed
 * record), count = viewers after. STORE_ENOTFOUND for an unknown room. */
void store_member_leave(store_t *st, const char *room, const char *conn, store_cb cb, void *ud);

/* res: member; STORE_ENOTFOUND when the room or the member does not exist. */
void store_member_get(store_t *st, const char *room, const char *conn, store_cb cb, void *ud);

/* get-viewers: res: members = viewer-role members, oldest join first; count = how many.
 * STORE_ENOTFOUND for an unknown room. */
void store_viewers_list(store_t *st, const char *room, store_cb cb, void *ud);

/* kick-viewer, atomically: unknown room or viewer_conn not a viewer of it -> STORE_ENOTFOUND;
 * owner != NULL and not the room's owner -> STORE_EFORBIDDEN; else every viewer connection of
 * that viewer's user leaves the room and the user is banned from joining for ban_ms (0:
 * STORE_KICK_BAN_MS). res: members = the removed connections (with their nodes: tell them),
 * count = viewers after. */
void store_viewer_kick(store_t *st, const char *room, const char *viewer_conn, const char *owner,
                       uint32_t ban_ms, store_cb cb, void *ud);

/* --- chat --- */
/* Appends one message (the complete raw JSON the clients get, id included: the app makes ids
 * unique, e.g. "<node>-<counter>") and keeps the last opts.chat_keep. res: count = history
 * length. STORE_ENOTFOUND for an unknown room. */
void store_chat_append(store_t *st, const char *room, const char *json, size_t len, store_cb cb,
                       void *ud);
/* res: chat (oldest first). STORE_ENOTFOUND for an unknown room. */
void store_chat_list(store_t *st, const char *room, store_cb cb, void *ud);

/* --- nodes --- */
/* Heartbeat: node:{id} with a TTL of ttl_ms and opaque info text (may be NULL). Beat every
 * ttl/3 or so. res: changed = the key was absent (first beat, or this node had expired: its
 * members may have been reaped by a survivor; re-join its connections). */
void store_node_beat(store_t *st, const char *node, uint32_t ttl_ms, const char *info, store_cb cb,
                     void *ud);
/* res: ids = live nodes. */
void store_nodes_list(store_t *st, store_cb cb, void *ud);
/* Cleans up after dead nodes (registered, heartbeat expired; never self): removes their
 * connections from every room and ends the broadcasts they published (owner_node). Run it from
 * a timer on every node; idempotent, the work is done once. res: nodes = the dead nodes
 * cleaned, members = removed connections (room_id set), ids = rooms whose broadcast ended (send
 * stream-ended {reason:"publisher-left"}). */
void store_nodes_reap(store_t *st, const char *self, store_cb cb, void *ud);
/* Clean shutdown of node: deletes its heartbeat and reaps it at once. res as store_nodes_reap. */
void store_node_leave(store_t *st, const char *node, store_cb cb, void *ud);

/* --- SFU registry --- */
/* Registers/refreshes sfu:{id} (node, load, capacity, info) with a TTL of ttl_ms. res: changed =
 * it was absent. */
void store_sfu_beat(store_t *st, const store_sfu_t *s, uint32_t ttl_ms, store_cb cb, void *ud);
/* res: changed = it existed. */
void store_sfu_remove(store_t *st, const char *id, store_cb cb, void *ud);
/* res: sfus = live SFUs (any order). */
void store_sfu_list(store_t *st, store_cb cb, void *ud);

/* --- pub/sub (cross-node broadcast) --- */
/* Publishes data on channel (prefixed like keys). res: count = receivers (Redis: subscribed
 * connections of all nodes, the sender's own included; memory: 1 when subscribed locally, else
 * 0). Delivery is at most once and in order per channel; nothing is delivered while Redis is
 * down. */
void store_publish(store_t *st, const char *channel, const void *data, size_t len, store_cb cb,
                   void *ud);
/* Subscribes this store to channel: opts.on_message gets every message published on it (by any
 * node, this one included: memory loopback). Reference-counted per channel. cb (may be NULL)
 * completes when the subscription is active (STORE_EUNAVAILABLE while Redis is down: the
 * subscription stays registered and is re-established on every reconnect). */
void store_subscribe(store_t *st, const char *channel, store_cb cb, void *ud);
/* Drops one reference; at zero, messages stop (and Redis UNSUBSCRIBEs). Returns 0, or
 * STORE_EINVAL when the channel was not subscribed. Synchronous. */
int store_unsubscribe(store_t *st, const char *channel);

#endif
