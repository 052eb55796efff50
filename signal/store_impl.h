/* signal/store_impl.h: private to signal/store_*.c. The store base object each backend embeds
 * first, the backend vtable, the request bag, and the core helpers: deferred completion (no
 * callback before return), one result decoder shared by both backends (each backend produces a
 * JSON result of the same shape; docs/STATE.md "Result shape"), and the channel table. */
#ifndef SIGNAL_STORE_IMPL_H
#define SIGNAL_STORE_IMPL_H
#include "../common/list.h"
#include "store.h"
#include <jansson.h>

typedef enum store_op {
    STORE_OP_ROOM_START,
    STORE_OP_ROOM_STOP,
    STORE_OP_ROOM_GET,
    STORE_OP_ROOM_UPDATE,
    STORE_OP_ROOM_LIST,
    STORE_OP_ROOMS_EXPIRE,
    STORE_OP_SFU_CLAIM,
    STORE_OP_JOIN,
    STORE_OP_LEAVE,
    STORE_OP_MEMBER_GET,
    STORE_OP_VIEWERS,
    STORE_OP_KICK,
    STORE_OP_CHAT_APPEND,
    STORE_OP_CHAT_LIST,
    STORE_OP_NODE_BEAT,
    STORE_OP_NODES_LIST,
    STORE_OP_NODES_REAP, /* node != NULL: leave of that node (forced) */
    STORE_OP_SFU_BEAT,
    STORE_OP_SFU_REMOVE,
    STORE_OP_SFU_LIST,
    STORE_OP_PUBLISH,
    STORE_OP_SUBSCRIBE,
    STORE_OP__COUNT
} store_op_t;

/* Arguments of one operation, borrowed for the duration of vt->exec. Which fields an op uses is
 * documented in store.h; unused ones are NULL/0. */
typedef struct store_req {
    store_op_t op;
    const char *room, *conn, *user, *name, *role, *node, *title, *owner, *sfu, *info, *self;
    const char *data; /* chat JSON, published bytes, channel (publish) */
    size_t len;
    const char *channel;
    int64_t now; /* opts.clock() at the call */
    int64_t n;   /* max_viewers (join), ban_ms (kick), idle_ms (expire), chat_keep (append) */
    int64_t ttl; /* ms: node and SFU beats */
    int64_t load, capacity;
    bool flag; /* force (claim), live_only (update) */
    const store_patch_t *patch;
} store_req_t;

typedef struct store_vt {
    const char *name;
    /* Runs one operation; completes through store__defer/store__finish exactly once. */
    void (*exec)(store_t *st, const store_req_t *r, store_cb cb, void *ud);
    /* on: a reference was added (cb completes when the subscription is active, at once if it
     * is already); off: the last reference went. */
    void (*sub)(store_t *st, const char *channel, bool on, store_cb cb, void *ud);
    bool (*healthy)(const store_t *st);
    /* Starts closing; the backend calls store__backend_closed() once its handles are gone. */
    void (*close)(store_t *st);
    /* Adds backend counters to out (may be NULL). */
    void (*stats)(const store_t *st, store_stats_t *out);
    /* Frees the backend object (last step, after the close callback). */
    void (*free)(store_t *st);
} store_vt_t;

struct store {
    const store_vt_t *vt;
    uv_loop_t *loop;
    store_opts_t o; /* url/prefix point at the owned copies below */
    char *url, *prefix;
    size_t prefix_len;
    list_t deferred; /* deferred_t, completed from the idle handle */
    uv_idle_t idle;
    json_t *chans; /* channel -> integer reference count */
    store_stats_t stats;
    bool closing, backend_closed, idle_closing;
    store_close_cb close_cb;
    void *close_ud;
};

/* Initialises the base (copies opts, starts nothing). */
void store__init(store_t *st, const store_vt_t *vt, uv_loop_t *loop, const store_opts_t *o);
/* Completes an operation now: only from a callback that runs after the operation returned.
 * result (may be NULL) is a JSON result; its reference is taken. err != 0 wins over the "err"
 * member of result. */
void store__finish(store_t *st, store_op_t op, store_cb cb, void *ud, int err, const char *why,
                   json_t *result);
/* The same, on the next loop iteration. why must be static. */
void store__defer(store_t *st, store_op_t op, store_cb cb, void *ud, int err, const char *why,
                  json_t *result);
/* Delivers a pub/sub message to opts.on_message if channel (unprefixed) is subscribed; copies
 * the bytes and waits for the next iteration when defer. */
void store__message(store_t *st, const char *channel, const char *data, size_t len, bool defer);
/* Reference count of a channel (0: not subscribed). */
int64_t store__channel_refs(const store_t *st, const char *channel);
void store__backend_closed(store_t *st);
/* Reports a change of health to opts.on_state. */
void store__state(store_t *st, bool up);

/* Backends. Return NULL with err filled on a bad URL. */
store_t *store__mem_new(uv_loop_t *loop, const store_opts_t *o);
store_t *store__redis_new(uv_loop_t *loop, const store_opts_t *o, char *err, size_t errlen);

/* The Lua scripts of the Redis backend (store_lua.c): one per op that touches keys. NULL for
 * ops without a script (publish). Each returns cjson.encode(result) in the shape above, except
 * join and chat list, which return an array: that JSON first, then each stored chat message as a
 * bulk string (the raw JSON the app stored; handed to the callback without parsing). */
const char *store__lua(store_op_t op);

#endif
