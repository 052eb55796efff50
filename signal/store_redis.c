/* signal/store_redis.c: the Redis store backend on hiredis 0.14 async + its libuv adapter
 * (included from this file only: it defines static helpers, among them on_close).
 *
 * Two connections: "cmd" (Lua scripts via EVALSHA, PUBLISH, PING) and "sub" (SUBSCRIBE mode).
 * Each runs DOWN -> RESOLVING -> CONNECTING -> HANDSHAKE (AUTH, SELECT, SCRIPT LOAD) -> READY
 * and back to DOWN on any error, then reconnects with doubling backoff. hiredis 0.14 has no
 * timeouts, so one uv timer per connection enforces the connect deadline, the command deadline
 * (the oldest pending command; a late one drops the connection, which fails every pending
 * command) and the idle PING. Host names are resolved with uv_getaddrinfo (hiredis would block
 * in getaddrinfo). While a connection is not READY, operations fail on the next loop iteration
 * with STORE_EUNAVAILABLE: nothing waits for Redis to come back. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "store_impl.h"
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    C_DOWN,
    C_RESOLVING,
    C_CONNECTING,
    C_HANDSHAKE,
    C_READY
};
enum {
    R_USER,
    R_HANDSHAKE,
    R_PING
};
enum {
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

typedef struct rreq {
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
    store_t base; /* first */
    char *host, *path, *user, *pass;
    int port, db;
    char sha[STORE_OP__COUNT][41];
    rconn_t cmd, sub;
    json_t *chan_state; /* channel -> CH_* on the sub connection */
    list_t waiters;
    bool healthy;
};

static void conn_connect(rconn_t *c);
static void conn_arm(rconn_t *c);
static void conn_settle(rconn_t *c);
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *priv);

static uint64_t now_ms(const rstore_t *rs)
{
    return uv_now(rs->base.loop);
}

/* --- health and teardown --- */

static void update_health(rstore_t *rs)
{
    bool h = rs->cmd.state == C_READY && rs->sub.state == C_READY;
    if (h != rs->healthy) {
        rs->healthy = h;
        store__state(&rs->base, h);
    }
}

static void fail_waiters(rstore_t *rs, int err)
{
    while (!list_empty(&rs->waiters)) {
        waiter_t *w = list_entry(rs->waiters.next, waiter_t, link);
        list_remove(&w->link);
        store__defer(&rs->base, STORE_OP_SUBSCRIBE, w->cb, w->ud, err, NULL, NULL);
        free(w->channel);
        free(w);
    }
}

/* The connection is gone (hiredis frees or has freed its context): plan the next attempt. */
static void conn_down(rconn_t *c, const char *why)
{
    rstore_t *rs = c->rs;
    if (c->state == C_READY && !rs->base.closing) {
        rs->base.stats.disconnects++;
        LOG_W("store", "redis connection lost", "\"conn\":\"%s\",\"why\":\"%s\"", c->name,
              log_esc(why));
    } else if (!rs->base.closing) {
        /* one warning per outage; every attempt at debug level */
        rs->base.stats.connect_errors++;
        int lvl = c->failures++ == 0 ? LOG_WARN : LOG_DEBUG;
        if (log_enabled(lvl)) {
            log_write(lvl, "store", "redis connect failed",
                      "\"conn\":\"%s\",\"why\":\"%s\",\"attempt\":%u", c->name, log_esc(why),
                      c->failures);
        }
    }
    c->state = C_DOWN;
    if (c->is_sub) {
        json_object_clear(rs->chan_state);
        fail_waiters(rs, rs->base.closing ? STORE_ECLOSED : STORE_EUNAVAILABLE);
    }
    c->retry_at = now_ms(rs) + c->backoff;
    c->backoff =
        c->backoff * 2 > rs->base.o.reconnect_max_ms ? rs->base.o.reconnect_max_ms : c->backoff * 2;
    update_health(rs);
    conn_settle(c);
}

/* Drops a live context: every pending command completes with STORE_EUNAVAILABLE. */
static void conn_drop(rconn_t *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    if (ac) {
        redisAsyncFree(ac); /* runs pending callbacks with NULL; deferred inside a callback */
    }
    conn_down(c, why);
}

static void on_timer_closed(uv_handle_t *h)
{
    rconn_t *c = h->data;
    rstore_t *rs = c->rs;
    c->timer_closing = 2; /* closed */
    if (rs->cmd.timer_closing == 2 && rs->sub.timer_closing == 2) {
        store__backend_closed(&rs->base);
    }
}

/* Either arms the timer for the next deadline or, when closing and idle, closes it. */
static void conn_settle(rconn_t *c)
{
    rstore_t *rs = c->rs;
    if (rs->base.closing) {
        if (!c->ac && !c->gai_busy && !c->timer_closing) {
            c->timer_closing = 1;
            uv_close((uv_handle_t *)&c->timer, on_timer_closed);
        }
        if (c->timer_closing) {
            return;
        }
    }
    conn_arm(c);
}

/* --- replies --- */

static bool unavailable_error(const char *s)
{
    static const char *const codes[] = { "NOSCRIPT", "LOADING",  "BUSY",     "MASTERDOWN",
                                         "READONLY", "OOM",      "TRYAGAIN", "CLUSTERDOWN",
                                         "NOAUTH",   "WRONGPASS" };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strncmp(s, codes[i], strlen(codes[i])) == 0) {
            return true;
        }
    }
    return false;
}

static void complete_user(rstore_t *rs, rreq_t *q, redisReply *rep)
{
    store_t *st = &rs->base;
    if (!rep) {
        store__finish(st, q->op, q->cb, q->ud, st->closing ? STORE_ECLOSED : STORE_EUNAVAILABLE,
                      "redis connection lost", NULL);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        bool unavail = unavailable_error(rep->str);
        LOG_W("store", "redis error reply", "\"op\":%d,\"error\":\"%s\"", (int)q->op,
              log_escn(rep->str, rep->len));
        store__finish(st, q->op, q->cb, q->ud, unavail ? STORE_EUNAVAILABLE : STORE_EINTERNAL,
                      unavail ? "redis refused the command" : "redis error", NULL);
        if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && q->c->ac) {
            conn_drop(q->c, "scripts flushed"); /* the handshake reloads them */
        }
        return;
    }
    if (q->op == STORE_OP_PUBLISH && rep->type == REDIS_REPLY_INTEGER) {
        json_t *res = json_object();
        json_object_set_new(res, "count", json_integer(rep->integer));
        store__finish(st, q->op, q->cb, q->ud, STORE_OK, NULL, res);
        return;
    }
    json_t *res = NULL;
    if (rep->type == REDIS_REPLY_STRING) {
        json_error_t jerr;
        res = json_loadb(rep->str, rep->len, 0, &jerr);
    }
    if (!json_is_object(res)) {
        LOG_E("store", "unexpected redis reply", "\"op\":%d,\"type\":%d", (int)q->op, rep->type);
        json_decref(res);
        store__finish(st, q->op, q->cb, q->ud, STORE_EINTERNAL, NULL, NULL);
        return;
    }
    store__finish(st, q->op, q->cb, q->ud, STORE_OK, NULL, res);
}

static void conn_ready(rconn_t *c);

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    rreq_t *q = priv;
    rconn_t *c = q->c;
    redisReply *rep = reply;
    list_remove(&q->link);
    c->last_io = now_ms(c->rs);
    switch (q->kind) {
    case R_USER:
        complete_user(c->rs, q, rep);
        break;
    case R_HANDSHAKE:
        if (!rep || c->ac != ac || c->state != C_HANDSHAKE) {
            break;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            char why[160];
            snprintf(why, sizeof(why), "handshake refused: %.*s", (int)rep->len, rep->str);
            conn_drop(c, why); /* logged once per outage, retried with backoff */
        } else if (--c->handshake_left == 0) {
            conn_ready(c);
        }
        break;
    default: /* R_PING: the deadline was the check */
        break;
    }
    free(q);
    if (c->ac == ac && !c->timer_closing) {
        conn_arm(c);
    }
}

/* Sends a command on c. Returns the request, or NULL (c is not usable). */
static rreq_t *send_cmd(rconn_t *c, int kind, int argc, const char **argv, const size_t *lens)
{
    rreq_t *q = xcalloc(1, sizeof(*q));
    q->c = c;
    q->kind = kind;
    q->deadline = now_ms(c->rs) + c->rs->base.o.command_timeout_ms;
    list_insert_tail(&c->pending, &q->link);
    if (!c->ac || redisAsyncCommandArgv(c->ac, on_reply, q, argc, argv, lens) != REDIS_OK) {
        list_remove(&q->link);
        free(q);
        return NULL;
    }
    c->last_io = now_ms(c->rs);
    return q;
}

/* --- adapter shim ---
 * libuv reports POLLERR (a refused connect, a reset) to uv_poll callbacks as status UV_EBADF
 * and stops the handle; the stock adapter's callback drops any non-zero status, so hiredis
 * would never see the error (a refused connect would wait for our connect timeout, a reset
 * for the command timeout). These wrappers keep the adapter's hooks and only swap the poll
 * callback for one that lets hiredis look at the socket when libuv reports an error. */

static void shim_poll(uv_poll_t *h, int status, int events)
{
    redisLibuvEvents *p = h->data;
    if (status == 0 || !p->context) {
        redisLibuvPoll(h, status, events);
        return;
    }
    redisAsyncContext *ac = p->context;
    if (!(ac->c.flags & REDIS_CONNECTED)) {
        redisAsyncHandleWrite(ac); /* connect check: onConnect(REDIS_ERR), context freed */
    } else {
        redisAsyncHandleRead(ac); /* read() fails: disconnect, context freed */
    }
    if (p->context && p->events) { /* still alive (spurious error): watch again */
        uv_poll_start(&p->handle, p->events, shim_poll);
    }
}

static void shim_rearm(void *privdata)
{
    redisLibuvEvents *p = privdata;
    if (p->events) {
        uv_poll_start(&p->handle, p->events, shim_poll);
    }
}

static void shim_add_read(void *privdata)
{
    redisLibuvAddRead(privdata);
    shim_rearm(privdata);
}

static void shim_del_read(void *privdata)
{
    redisLibuvDelRead(privdata);
    shim_rearm(privdata);
}

static void shim_add_write(void *privdata)
{
    redisLibuvAddWrite(privdata);
    shim_rearm(privdata);
}

static void shim_del_write(void *privdata)
{
    redisLibuvDelWrite(privdata);
    shim_rearm(privdata);
}

static int attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (redisLibuvAttach(ac, loop) != REDIS_OK) {
        return REDIS_ERR;
    }
    ac->ev.addRead = shim_add_read;
    ac->ev.delRead = shim_del_read;
    ac->ev.addWrite = shim_add_write;
    ac->ev.delWrite = shim_del_write;
    return REDIS_OK;
}

/* --- connection life cycle --- */

static void subscribe_now(rstore_t *rs, const char *channel, bool on)
{
    char *full = xmalloc(rs->base.prefix_len + strlen(channel) + 1);
    strcpy(full, rs->base.prefix);
    strcat(full, channel);
    const char *argv[2] = { on ? "SUBSCRIBE" : "UNSUBSCRIBE", full };
    size_t lens[2] = { strlen(argv[0]), strlen(full) };
    if (rs->sub.ac &&
        redisAsyncCommandArgv(rs->sub.ac, on_sub_reply, rs, 2, argv, lens) == REDIS_OK) {
        json_object_set_new(rs->chan_state, channel,
                            json_integer(on ? CH_SUBSCRIBING : CH_UNSUBSCRIBING));
    }
    free(full);
}

static void conn_ready(rconn_t *c)
{
    rstore_t *rs = c->rs;
    c->state = C_READY;
    c->backoff = rs->base.o.reconnect_min_ms;
    rs->base.stats.connects++;
    LOG_I("store", "redis connected", "\"conn\":\"%s\",\"after_failures\":%u", c->name,
          c->failures);
    c->failures = 0;
    if (c->is_sub) {
        const char *ch;
        json_t *v;
        json_object_foreach(rs->base.chans, ch, v)
        {
            subscribe_now(rs, ch, true);
        }
    }
    update_health(rs);
}

static void handshake(rconn_t *c)
{
    rstore_t *rs = c->rs;
    c->state = C_HANDSHAKE;
    c->handshake_left = 0;
    if (rs->pass) {
        const char *argv[3] = { "AUTH", rs->user ? rs->user : rs->pass, rs->pass };
        size_t lens[3] = { 4, strlen(argv[1]), strlen(rs->pass) };
        c->handshake_left += send_cmd(c, R_HANDSHAKE, rs->user ? 3 : 2, argv, lens) != NULL;
    }
    if (!c->is_sub && rs->db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", rs->db);
        const char *argv[2] = { "SELECT", db };
        size_t lens[2] = { 6, strlen(db) };
        c->handshake_left += send_cmd(c, R_HANDSHAKE, 2, argv, lens) != NULL;
    }
    for (int op = 0; !c->is_sub && op < STORE_OP__COUNT; op++) {
        const char *lua = store__lua((store_op_t)op);
        if (lua) {
            const char *argv[3] = { "SCRIPT", "LOAD", lua };
            size_t lens[3] = { 6, 4, strlen(lua) };
            c->handshake_left += send_cmd(c, R_HANDSHAKE, 3, argv, lens) != NULL;
        }
    }
    if (c->handshake_left == 0) {
        conn_ready(c);
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rconn_t *c = ac->data;
    if (!c || c->ac != ac) {
        return;
    }
    if (status != REDIS_OK) {
        c->ac = NULL; /* hiredis frees it after this callback */
        conn_down(c, ac->errstr);
        return;
    }
    handshake(c);
    conn_arm(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rconn_t *c = ac->data;
    if (!c || c->ac != ac) {
        return; /* we dropped it ourselves */
    }
    c->ac = NULL;
    conn_down(c, status == REDIS_OK ? "closed" : ac->errstr);
}

static void connect_addr(rconn_t *c, const char *ip)
{
    rstore_t *rs = c->rs;
    redisAsyncContext *ac =
        rs->path ? redisAsyncConnectUnix(rs->path) : redisAsyncConnect(ip, rs->port);
    char why[128] = "out of memory";
    if (ac && ac->err) {
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        ac = NULL;
    }
    if (ac) {
        ac->data = c;
        if (attach(ac, rs->base.loop) != REDIS_OK) {
            redisAsyncFree(ac);
            ac = NULL;
            snprintf(why, sizeof(why), "cannot watch the socket");
        }
    }
    if (!ac) {
        conn_down(c, why);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (!rs->path) {
        redisEnableKeepAlive(&ac->c);
    }
    c->ac = ac;
    c->state = C_CONNECTING;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    rconn_t *c = req->data;
    c->gai_busy = false;
    if (c->state != C_RESOLVING || c->rs->base.closing) {
        uv_freeaddrinfo(res);
        conn_settle(c);
        return;
    }
    /* the first IPv4 address, else the first IPv6 one ("localhost" is often ::1 first while
     * redis binds 127.0.0.1) */
    char ip[64] = "";
    for (struct addrinfo *a = res; status == 0 && a && !*ip; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)a->ai_addr, ip, sizeof(ip));
        }
    }
    for (struct addrinfo *a = res; status == 0 && a && !*ip; a = a->ai_next) {
        if (a->ai_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, ip, sizeof(ip));
        }
    }
    uv_freeaddrinfo(res);
    if (!*ip) {
        conn_down(c, status ? uv_strerror(status) : "no address");
        return;
    }
    connect_addr(c, ip);
    conn_arm(c);
}

static void conn_connect(rconn_t *c)
{
    rstore_t *rs = c->rs;
    if (rs->base.closing) {
        return;
    }
    if (c->gai_busy) { /* a timed-out lookup still runs: try again after it */
        c->retry_at = now_ms(rs) + c->backoff;
        return;
    }
    c->deadline = now_ms(rs) + rs->base.o.connect_timeout_ms;
    struct in6_addr a6;
    struct in_addr a4;
    if (rs->path || uv_inet_pton(AF_INET, rs->host, &a4) == 0 ||
        uv_inet_pton(AF_INET6, rs->host, &a6) == 0) {
        connect_addr(c, rs->host);
        return;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    c->gai.data = c;
    if (uv_getaddrinfo(rs->base.loop, &c->gai, on_resolved, rs->host, NULL, &hints) != 0) {
        conn_down(c, "cannot start resolving");
        return;
    }
    c->gai_busy = true;
    c->state = C_RESOLVING;
}

static void on_timer(uv_timer_t *t)
{
    rconn_t *c = t->data;
    rstore_t *rs = c->rs;
    uint64_t now = now_ms(rs);
    if (c->state == C_DOWN) {
        if (now >= c->retry_at) {
            conn_connect(c);
        }
    } else if (c->state != C_READY) {
        if (now >= c->deadline) {
            rs->base.stats.timeouts++;
            if (c->state == C_RESOLVING) {
                uv_cancel((uv_req_t *)&c->gai); /* on_resolved ignores a late answer */
                conn_down(c, "resolve timeout");
            } else {
                conn_drop(c, "connect timeout");
            }
            return;
        }
    } else if (!list_empty(&c->pending) &&
               list_entry(c->pending.next, rreq_t, link)->deadline <= now) {
        rs->base.stats.timeouts++;
        conn_drop(c, "command timeout");
        return;
    } else if (c->is_sub && !list_empty(&rs->waiters) &&
               list_entry(rs->waiters.next, waiter_t, link)->deadline <= now) {
        rs->base.stats.timeouts++;
        conn_drop(c, "subscribe timeout");
        return;
    } else if (!c->is_sub && list_empty(&c->pending) &&
               now >= c->last_io + rs->base.o.ping_interval_ms) {
        const char *argv[1] = { "PING" };
        size_t lens[1] = { 4 };
        send_cmd(c, R_PING, 1, argv, lens);
    }
    conn_settle(c);
}

static void conn_arm(rconn_t *c)
{
    rstore_t *rs = c->rs;
    uint64_t now = now_ms(rs), next = UINT64_MAX;
    if (c->timer_closing) {
        return;
    }
    if (c->state == C_DOWN) {
        next = rs->base.closing ? UINT64_MAX : c->retry_at;
    } else if (c->state != C_READY) {
        next = c->deadline;
    } else {
        if (!list_empty(&c->pending)) {
            next = list_entry(c->pending.next, rreq_t, link)->deadline;
        } else if (!c->is_sub) {
            next = c->last_io + rs->base.o.ping_interval_ms;
        }
        if (c->is_sub && !list_empty(&rs->waiters)) {
            uint64_t w = list_entry(rs->waiters.next, waiter_t, link)->deadline;
            next = w < next ? w : next;
        }
    }
    if (next == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, on_timer, next > now ? next - now : 0, 0);
}

/* --- pub/sub --- */

static void complete_waiters(rstore_t *rs, const char *channel)
{
    list_t *p, *tmp;
    list_foreach_safe(p, tmp, &rs->waiters)
    {
        waiter_t *w = list_entry(p, waiter_t, link);
        if (strcmp(w->channel, channel) == 0) {
            list_remove(&w->link);
            store__finish(&rs->base, STORE_OP_SUBSCRIBE, w->cb, w->ud, STORE_OK, NULL, NULL);
            free(w->channel);
            free(w);
        }
    }
}

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    rstore_t *rs = priv;
    redisReply *rep = reply;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_STRING || rs->sub.ac != ac) {
        return; /* NULL: the context is being freed */
    }
    const char *kind = rep->element[0]->str, *full = rep->element[1]->str;
    if (strncmp(full, rs->base.prefix, rs->base.prefix_len) != 0) {
        return;
    }
    const char *ch = full + rs->base.prefix_len;
    rs->sub.last_io = now_ms(rs);
    if (strcmp(kind, "message") == 0 && rep->element[2]->type == REDIS_REPLY_STRING) {
        store__message(&rs->base, ch, rep->element[2]->str, rep->element[2]->len, false);
    } else if (strcmp(kind, "subscribe") == 0) {
        json_object_set_new(rs->chan_state, ch, json_integer(CH_SUBSCRIBED));
        complete_waiters(rs, ch);
        if (store__channel_refs(&rs->base, ch) <= 0) {
            subscribe_now(rs, ch, false); /* dropped while subscribing */
        }
    } else if (strcmp(kind, "unsubscribe") == 0) {
        json_object_del(rs->chan_state, ch);
        if (store__channel_refs(&rs->base, ch) > 0) {
            subscribe_now(rs, ch, true); /* wanted again while unsubscribing */
        }
    }
    if (rs->sub.ac == ac) {
        conn_arm(&rs->sub);
    }
}

static void rs_sub(store_t *st, const char *channel, bool on, store_cb cb, void *ud)
{
    rstore_t *rs = (rstore_t *)st;
    int state = (int)json_integer_value(json_object_get(rs->chan_state, channel));
    if (!on) {
        if (state == CH_SUBSCRIBED && rs->sub.state == C_READY) {
            subscribe_now(rs, channel, false);
        }
        return;
    }
    if (rs->sub.state != C_READY) {
        /* registered in the core's table: subscribed on the next READY */
        store__defer(st, STORE_OP_SUBSCRIBE, cb, ud, STORE_EUNAVAILABLE, "redis not connected",
                     NULL);
        return;
    }
    if (state == CH_SUBSCRIBED) {
        store__defer(st, STORE_OP_SUBSCRIBE, cb, ud, STORE_OK, NULL, NULL);
        return;
    }
    if (state == CH_NONE) {
        subscribe_now(rs, channel, true);
    }
    waiter_t *w = xcalloc(1, sizeof(*w));
    w->channel = xstrdup(channel);
    w->cb = cb;
    w->ud = ud;
    w->deadline = now_ms(rs) + st->o.command_timeout_ms;
    list_insert_tail(&rs->waiters, &w->link);
    conn_arm(&rs->sub);
}

/* --- operations --- */

#define MAXARG 16

typedef struct args {
    int n;
    const char *v[MAXARG];
    size_t len[MAXARG];
    char num[6][24];
    int nnum;
} args_t;

static void add(args_t *a, const char *s)
{
    a->v[a->n] = s ? s : "";
    a->len[a->n++] = s ? strlen(s) : 0;
}

static void addn(args_t *a, const char *s, size_t n)
{
    a->v[a->n] = s;
    a->len[a->n++] = n;
}

static void addi(args_t *a, int64_t x)
{
    char *b = a->num[a->nnum++];
    snprintf(b, sizeof(a->num[0]), "%" PRId64, x);
    add(a, b);
}

/* ARGV of each script after the prefix: see the comments in store_lua.c. */
static void build_args(rstore_t *rs, const store_req_t *r, args_t *a)
{
    switch (r->op) {
    case STORE_OP_ROOM_START:
        add(a, r->room), add(a, r->owner), add(a, r->conn), add(a, r->node), add(a, r->title);
        addi(a, r->now);
        break;
    case STORE_OP_ROOM_STOP:
        add(a, r->room), add(a, r->owner), add(a, r->conn), addi(a, r->now);
        break;
    case STORE_OP_ROOM_UPDATE: {
        const store_patch_t *p = r->patch;
        add(a, r->room), add(a, r->owner), add(a, r->flag ? "1" : "0"), addi(a, r->now);
        if (p->set & STORE_SET_TITLE) {
            add(a, "title"), add(a, p->title);
        }
        if (p->set & STORE_SET_MEDIA_STATE) {
            add(a, "mediaState"), add(a, p->media_state);
        }
        if (p->set & STORE_SET_RECORDING) {
            add(a, "recording"), add(a, p->recording);
        }
        if (p->set & STORE_SET_SFU) {
            add(a, "sfu"), add(a, p->sfu);
        }
        break;
    }
    case STORE_OP_ROOMS_EXPIRE:
        addi(a, r->n), addi(a, r->now);
        break;
    case STORE_OP_SFU_CLAIM:
        add(a, r->room), add(a, r->sfu), add(a, r->flag ? "1" : "0"), addi(a, r->now);
        break;
    case STORE_OP_JOIN:
        add(a, r->room), add(a, r->conn), add(a, r->user), add(a, r->name), add(a, r->role);
        add(a, r->node), addi(a, r->n), addi(a, r->now);
        break;
    case STORE_OP_LEAVE:
        add(a, r->room), add(a, r->conn), addi(a, r->now);
        break;
    case STORE_OP_MEMBER_GET:
        add(a, r->room), add(a, r->conn);
        break;
    case STORE_OP_KICK:
        add(a, r->room), add(a, r->conn), add(a, r->owner), addi(a, r->n), addi(a, r->now);
        break;
    case STORE_OP_CHAT_APPEND:
        add(a, r->room), addn(a, r->data, r->len), addi(a, r->n), addi(a, r->now);
        break;
    case STORE_OP_NODE_BEAT:
        add(a, r->node), addi(a, r->ttl), add(a, r->info);
        break;
    case STORE_OP_NODES_REAP:
        add(a, r->self), add(a, r->node), addi(a, r->now);
        break;
    case STORE_OP_SFU_BEAT:
        add(a, r->sfu), add(a, r->node), addi(a, r->load), addi(a, r->capacity);
        add(a, r->info), addi(a, r->ttl);
        break;
    case STORE_OP_SFU_REMOVE:
        add(a, r->sfu);
        break;
    default: /* ROOM_GET, VIEWERS, CHAT_LIST: the room; the lists: nothing */
        if (r->room) {
            add(a, r->room);
        }
        break;
    }
}

static void rs_exec(store_t *st, const store_req_t *r, store_cb cb, void *ud)
{
    rstore_t *rs = (rstore_t *)st;
    rconn_t *c = &rs->cmd;
    if (c->state != C_READY) {
        store__defer(st, r->op, cb, ud, STORE_EUNAVAILABLE, "redis not connected", NULL);
        return;
    }
    args_t a = { 0 };
    char *chan = NULL;
    if (r->op == STORE_OP_PUBLISH) {
        chan = xmalloc(st->prefix_len + strlen(r->channel) + 1);
        strcpy(chan, st->prefix);
        strcat(chan, r->channel);
        add(&a, "PUBLISH"), add(&a, chan), addn(&a, r->data ? r->data : "", r->len);
    } else {
        add(&a, "EVALSHA"), add(&a, rs->sha[r->op]), add(&a, "0"), add(&a, st->prefix);
        build_args(rs, r, &a);
    }
    rreq_t *q = send_cmd(c, R_USER, a.n, a.v, a.len);
    free(chan);
    if (!q) {
        store__defer(st, r->op, cb, ud, STORE_EUNAVAILABLE, "redis not connected", NULL);
        return;
    }
    q->op = r->op;
    q->cb = cb;
    q->ud = ud;
    conn_arm(c);
}

static bool rs_healthy(const store_t *st)
{
    return ((const rstore_t *)st)->healthy;
}

static void conn_close(rconn_t *c)
{
    if (c->gai_busy) {
        uv_cancel((uv_req_t *)&c->gai);
    }
    if (c->ac) {
        if (!c->is_sub && c->state == C_READY) {
            redisAsyncDisconnect(c->ac); /* replies still due arrive first; the timer stays */
        } else {
            conn_drop(c, "closing");
            return;
        }
    }
    conn_settle(c);
}

static void rs_close(store_t *st)
{
    rstore_t *rs = (rstore_t *)st;
    conn_close(&rs->sub);
    conn_close(&rs->cmd);
}

static void rs_stats(const store_t *st, store_stats_t *out)
{
    const rstore_t *rs = (const rstore_t *)st;
    const char *ch;
    json_t *v;
    out->subscribed = 0;
    json_object_foreach(rs->chan_state, ch, v)
    {
        out->subscribed += json_integer_value(v) == CH_SUBSCRIBED;
    }
}

static void rs_free(store_t *st)
{
    rstore_t *rs = (rstore_t *)st;
    json_decref(rs->chan_state);
    free(rs->host);
    free(rs->path);
    free(rs->user);
    free(rs->pass);
    free(rs);
}

static const store_vt_t redis_vt = {
    .name = "redis",
    .exec = rs_exec,
    .sub = rs_sub,
    .healthy = rs_healthy,
    .close = rs_close,
    .stats = rs_stats,
    .free = rs_free,
};

/* --- URL --- */

/* redis://[[user]:password@]host[:port][/db], unix:///path[?db=N], redis+unix:///path. */
static int parse_url(rstore_t *rs, const char *url, char *err, size_t errlen)
{
    rs->port = 6379;
    const char *p;
    if (strncmp(url, "unix://", 7) == 0 || strncmp(url, "redis+unix://", 13) == 0) {
        p = strstr(url, "://") + 3;
        size_t n = strcspn(p, "?");
        if (n == 0 || p[0] != '/') {
            snprintf(err, errlen, "REDIS_URL: unix socket path must be absolute");
            return -1;
        }
        rs->path = xstrndup(p, n);
        if (strncmp(p + n, "?db=", 4) == 0) {
            rs->db = atoi(p + n + 4);
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "REDIS_URL must start with redis:// or unix://");
        return -1;
    }
    p = url + 8;
    size_t auth = strcspn(p, "@/");
    if (p[auth] == '@') {
        size_t colon = strcspn(p, ":@");
        if (p[colon] == ':') {
            rs->user = colon ? xstrndup(p, colon) : NULL;
            rs->pass = xstrndup(p + colon + 1, auth - colon - 1);
        }
        p += auth + 1;
    }
    size_t hlen;
    if (*p == '[') { /* [ipv6]:port */
        hlen = strcspn(p, "]");
        if (p[hlen] != ']') {
            snprintf(err, errlen, "REDIS_URL: unterminated [ipv6] host");
            return -1;
        }
        rs->host = xstrndup(p + 1, hlen - 1);
        p += hlen + 1;
    } else {
        hlen = strcspn(p, ":/");
        rs->host = xstrndup(p, hlen);
        p += hlen;
    }
    if (!*rs->host) {
        snprintf(err, errlen, "REDIS_URL: no host");
        return -1;
    }
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (port <= 0 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "REDIS_URL: bad port");
            return -1;
        }
        rs->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (db < 0 || db > 1000 || *end) {
            snprintf(err, errlen, "REDIS_URL: bad database number");
            return -1;
        }
        rs->db = (int)db;
    }
    return 0;
}

static void sha1_hex(const char *s, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < n && i < 20; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void conn_init(rstore_t *rs, rconn_t *c, bool is_sub)
{
    c->rs = rs;
    c->is_sub = is_sub;
    c->name = is_sub ? "sub" : "cmd";
    c->backoff = rs->base.o.reconnect_min_ms;
    list_init(&c->pending);
    uv_timer_init(rs->base.loop, &c->timer);
    c->timer.data = c;
    c->retry_at = now_ms(rs);
    conn_arm(c); /* first attempt on the next timer run: nothing happens before open returns */
}

store_t *store__redis_new(uv_loop_t *loop, const store_opts_t *o, char *err, size_t errlen)
{
    rstore_t *rs = xcalloc(1, sizeof(*rs));
    if (parse_url(rs, o->url, err, errlen) != 0) {
        free(rs->host);
        free(rs->path);
        free(rs->user);
        free(rs->pass);
        free(rs);
        return NULL;
    }
    store__init(&rs->base, &redis_vt, loop, o);
    for (int op = 0; op < STORE_OP__COUNT; op++) {
        if (store__lua((store_op_t)op)) {
            sha1_hex(store__lua((store_op_t)op), rs->sha[op]);
        }
    }
    rs->chan_state = json_object();
    list_init(&rs->waiters);
    conn_init(rs, &rs->cmd, false);
    conn_init(rs, &rs->sub, true);
    return &rs->base;
}
