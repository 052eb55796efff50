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
 * with STORE_EUNAVAILABLE: nothing waits for Redis to come back. Operations, replies, the URL
 * and pub/sub are in store_redis_ops.c. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "store_redis_impl.h"
#include <hiredis/adapters/libuv.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void conn_connect(rconn_t *c);
static void conn_settle(rconn_t *c);

uint64_t store_redis__now(const rstore_t *rs)
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
        store_redis__fail_waiters(rs, rs->base.closing ? STORE_ECLOSED : STORE_EUNAVAILABLE);
    }
    c->retry_at = store_redis__now(rs) + c->backoff;
    c->backoff =
        c->backoff * 2 > rs->base.o.reconnect_max_ms ? rs->base.o.reconnect_max_ms : c->backoff * 2;
    update_health(rs);
    conn_settle(c);
}

void store_redis__drop(rconn_t *c, const char *why)
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
    store_redis__arm(c);
}

static void conn_ready(rconn_t *c);

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    rreq_t *q = priv;
    rconn_t *c = q->c;
    redisReply *rep = reply;
    list_remove(&q->link);
    c->last_io = store_redis__now(c->rs);
    switch (q->kind) {
    case R_USER:
        store_redis__complete(c->rs, q, rep);
        break;
    case R_HANDSHAKE:
        if (!rep || c->ac != ac || c->state != C_HANDSHAKE) {
            break;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            char why[160];
            snprintf(why, sizeof(why), "handshake refused: %.*s", (int)rep->len, rep->str);
            store_redis__drop(c, why); /* logged once per outage, retried with backoff */
        } else if (--c->handshake_left == 0) {
            conn_ready(c);
        }
        break;
    default: /* R_PING: the deadline was the check */
        break;
    }
    free(q);
    if (c->ac == ac && !c->timer_closing) {
        store_redis__arm(c);
    }
}

rreq_t *store_redis__send(rconn_t *c, int kind, int argc, const char **argv, const size_t *lens)
{
    rreq_t *q = xcalloc(1, sizeof(*q));
    q->c = c;
    q->kind = kind;
    q->deadline = store_redis__now(c->rs) + c->rs->base.o.command_timeout_ms;
    list_insert_tail(&c->pending, &q->link);
    if (!c->ac || redisAsyncCommandArgv(c->ac, on_reply, q, argc, argv, lens) != REDIS_OK) {
        list_remove(&q->link);
        free(q);
        return NULL;
    }
    c->last_io = store_redis__now(c->rs);
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
        const char *argv[2] = { "SUBSCRIBE", rs->hb_channel };
        size_t lens[2] = { 9, strlen(rs->hb_channel) };
        rs->hb_subscribed = false;
        rs->hb_seen = store_redis__now(rs);
        redisAsyncCommandArgv(c->ac, store_redis__on_sub_reply, rs, 2, argv, lens);
        const char *ch;
        json_t *v;
        json_object_foreach(rs->base.chans, ch, v)
        {
            store_redis__subscribe_now(rs, ch, true);
        }
    } else {
        rs->hb_seen = store_redis__now(rs); /* the sub check was suspended while cmd was down */
        store_redis__arm(&rs->sub);
    }
    update_health(rs);
}

void store_redis__heartbeat(rstore_t *rs, bool confirmed)
{
    rs->hb_subscribed = rs->hb_subscribed || confirmed;
    rs->hb_seen = store_redis__now(rs);
    store_redis__arm(&rs->sub);
}

/* When the sub connection must have seen a heartbeat: only while cmd can publish them. */
static uint64_t hb_deadline(const rstore_t *rs)
{
    const store_opts_t *o = &rs->base.o;
    if (rs->cmd.state != C_READY || rs->sub.state != C_READY) {
        return UINT64_MAX;
    }
    return rs->hb_seen + o->command_timeout_ms + (rs->hb_subscribed ? o->ping_interval_ms : 0);
}

static void handshake(rconn_t *c)
{
    rstore_t *rs = c->rs;
    c->state = C_HANDSHAKE;
    c->handshake_left = 0;
    if (rs->pass) {
        const char *argv[3] = { "AUTH", rs->user ? rs->user : rs->pass, rs->pass };
        size_t lens[3] = { 4, strlen(argv[1]), strlen(rs->pass) };
        c->handshake_left +=
            store_redis__send(c, R_HANDSHAKE, rs->user ? 3 : 2, argv, lens) != NULL;
    }
    if (!c->is_sub && rs->db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", rs->db);
        const char *argv[2] = { "SELECT", db };
        size_t lens[2] = { 6, strlen(db) };
        c->handshake_left += store_redis__send(c, R_HANDSHAKE, 2, argv, lens) != NULL;
    }
    for (int op = 0; !c->is_sub && op < STORE_OP__COUNT; op++) {
        const char *lua = store__lua((store_op_t)op);
        if (lua) {
            const char *argv[3] = { "SCRIPT", "LOAD", lua };
            size_t lens[3] = { 6, 4, strlen(lua) };
            c->handshake_left += store_redis__send(c, R_HANDSHAKE, 3, argv, lens) != NULL;
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
    store_redis__arm(c);
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
    store_redis__arm(c);
}

static void conn_connect(rconn_t *c)
{
    rstore_t *rs = c->rs;
    if (rs->base.closing) {
        return;
    }
    if (c->gai_busy) { /* a timed-out lookup still runs: try again after it */
        c->retry_at = store_redis__now(rs) + c->backoff;
        return;
    }
    c->deadline = store_redis__now(rs) + rs->base.o.connect_timeout_ms;
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
    uint64_t now = store_redis__now(rs);
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
                store_redis__drop(c, "connect timeout");
            }
            return;
        }
    } else if (!list_empty(&c->pending) &&
               list_entry(c->pending.next, rreq_t, link)->deadline <= now) {
        rs->base.stats.timeouts++;
        store_redis__drop(c, "command timeout");
        return;
    } else if (c->is_sub && ((!list_empty(&rs->waiters) &&
                              list_entry(rs->waiters.next, waiter_t, link)->deadline <= now) ||
                             hb_deadline(rs) <= now)) {
        rs->base.stats.timeouts++;
        store_redis__drop(c, rs->hb_subscribed ? "heartbeat lost" : "subscribe timeout");
        return;
    } else if (!c->is_sub && now >= rs->hb_sent + rs->base.o.ping_interval_ms) {
        /* the keepalive of both connections: a reply for cmd, a message for sub */
        const char *argv[3] = { "PUBLISH", rs->hb_channel, "1" };
        size_t lens[3] = { 7, strlen(rs->hb_channel), 1 };
        rs->hb_sent = now;
        store_redis__send(c, R_PING, 3, argv, lens);
    }
    conn_settle(c);
}

void store_redis__arm(rconn_t *c)
{
    rstore_t *rs = c->rs;
    uint64_t now = store_redis__now(rs), next = UINT64_MAX;
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
        }
        if (!c->is_sub) {
            uint64_t hb = rs->hb_sent + rs->base.o.ping_interval_ms;
            next = hb < next ? hb : next;
        } else {
            uint64_t hb = hb_deadline(rs);
            next = hb < next ? hb : next;
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
            store_redis__drop(c, "closing");
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
    .exec = store_redis__exec,
    .sub = store_redis__sub,
    .healthy = rs_healthy,
    .close = rs_close,
    .stats = store_redis__stats,
    .free = rs_free,
};

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
    c->retry_at = store_redis__now(rs);
    store_redis__arm(
        c); /* first attempt on the next timer run: nothing happens before open returns */
}

store_t *store__redis_new(uv_loop_t *loop, const store_opts_t *o, char *err, size_t errlen)
{
    rstore_t *rs = xcalloc(1, sizeof(*rs));
    if (store_redis__parse_url(rs, o->url, err, errlen) != 0) {
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
    unsigned char rnd[8] = { 0 };
    RAND_bytes(rnd, sizeof(rnd)); /* uniqueness only; a failure leaves zeros */
    snprintf(rs->hb_channel, sizeof(rs->hb_channel), "%s__hb:%02x%02x%02x%02x%02x%02x%02x%02x",
             rs->base.prefix, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    conn_init(rs, &rs->cmd, false);
    conn_init(rs, &rs->sub, true);
    return &rs->base;
}
