/* signal/store_redis_impl.h: private to store_redis.c (connections, timers, the libuv adapter)
 * and store_redis_ops.c (URL, operations, replies, pub/sub). Not the adapter header: that one
 * defines static functions and is included by store_redis.c only. */
#ifndef SIGNAL_STORE_REDIS_IMPL_H
#define SIGNAL_STORE_REDIS_IMPL_H
#include "store_impl.h"
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

enum { /* connection states */
    C_DOWN,
    C_RESOLVING,
    C_CONNECTING,
    C_HANDSHAKE,
    C_READY
};
enum { /* what a pending command is */
    R_USER,
    R_HANDSHAKE,
    R_PING
};
enum { /* a channel on the sub connection */
    CH_NONE,
    CH_SUBSCRIBING,
    CH_SUBSCRIBED,
    CH_UNSUBSCRIBING
};

typedef struct rstore rstore_t;

typedef struct rconn {
    rstore_t *rs;
    bool is_sub;
    const char *name;
    redisAsyncContext *ac; /* NULL unless CONNECTING..READY */
    int state;
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    bool gai_busy;
    int timer_closing; /* 0 open, 1 closing, 2 closed */
    list_t pending;    /* rreq_t in send order (deadlines ascending) */
    uint64_t deadline; /* connect + handshake deadline (loop ms) */
    uint64_t retry_at;
    uint32_t backoff;
    uint64_t last_io; /* last command sent or reply received */
    int handshake_left;
    unsigned failures; /* failed attempts since the last READY */
} rconn_t;

typedef struct rreq { /* one command in flight; hiredis privdata */
    list_t link;
    rconn_t *c;
    int kind;
    store_op_t op;
    store_cb cb;
    void *ud;
    uint64_t deadline;
} rreq_t;

typedef struct waiter { /* a store_subscribe waiting for its confirmation */
    list_t link;
    char *channel;
    store_cb cb;
    void *ud;
    uint64_t deadline;
} waiter_t;

struct rstore {
    store_t base;                    /* first */
    char *host, *path, *user, *pass; /* owned, from the URL */
    int port, db;
    char sha[STORE_OP__COUNT][41]; /* SHA-1 of each script, for EVALSHA */
    rconn_t cmd, sub;
    json_t *chan_state; /* channel -> CH_* on the sub connection */
    list_t waiters;     /* waiter_t, deadlines ascending */
    bool healthy;
    /* Liveness of the sub connection, which cannot PING (hiredis 0.14 misroutes the reply in
     * subscribe mode): cmd PUBLISHes on hb_channel every ping interval, sub must receive it. */
    char hb_channel[96]; /* prefix + "__hb:" + 16 random hex digits */
    uint64_t hb_sent;    /* cmd: last heartbeat published */
    uint64_t hb_seen;    /* sub: last heartbeat received, or when checking (re)started */
    bool hb_subscribed;  /* sub: SUBSCRIBE hb_channel confirmed */
};

/* store_redis.c */
uint64_t store_redis__now(const rstore_t *rs);
/* Sends a command on c (argv as hiredis takes it). Returns the request (the caller fills op,
 * cb, ud), or NULL when c cannot send. */
rreq_t *store_redis__send(rconn_t *c, int kind, int argc, const char **argv, const size_t *lens);
/* Drops c's context: pending commands complete with STORE_EUNAVAILABLE; reconnects later. */
void store_redis__drop(rconn_t *c, const char *why);
/* Re-arms c's timer for its next deadline. */
void store_redis__arm(rconn_t *c);
/* A message or confirmation on the heartbeat channel reached the sub connection. */
void store_redis__heartbeat(rstore_t *rs, bool confirmed);

/* store_redis_ops.c */
int store_redis__parse_url(rstore_t *rs, const char *url, char *err, size_t errlen);
void store_redis__exec(store_t *st, const store_req_t *r, store_cb cb, void *ud);
/* Completes a user command from its reply (NULL: the connection went away). */
void store_redis__complete(rstore_t *rs, rreq_t *q, redisReply *rep);
void store_redis__sub(store_t *st, const char *channel, bool on, store_cb cb, void *ud);
/* Sends SUBSCRIBE (on) or UNSUBSCRIBE for channel on the sub connection. */
void store_redis__subscribe_now(rstore_t *rs, const char *channel, bool on);
/* The hiredis callback of every SUBSCRIBE/UNSUBSCRIBE (privdata: the store). */
void store_redis__on_sub_reply(redisAsyncContext *ac, void *reply, void *priv);
void store_redis__fail_waiters(rstore_t *rs, int err);
void store_redis__stats(const store_t *st, store_stats_t *out);

#endif
