/* signal/store_redis_ops.c: the Redis backend's operations: the REDIS_URL parser, script
 * arguments (EVALSHA with the ARGV each script in store_lua.c expects), reply decoding, and the
 * SUBSCRIBE side of pub/sub (a state per channel, so an UNSUBSCRIBE still in flight is never
 * confused with a new SUBSCRIBE: hiredis 0.14 keys its callbacks by channel name). */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "store_redis_impl.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- URL --- */

/* redis://[[user]:password@]host[:port][/db], unix:///path[?db=N], redis+unix:///path. */
int store_redis__parse_url(rstore_t *rs, const char *url, char *err, size_t errlen)
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

/* What a reply adds to the decoded result without going through JSON: the chat history as
 * bulk strings (join, chat list) and the PUBLISH receiver count. Lives on the stack of
 * store_redis__complete; the blobs point into the hiredis reply, which is freed after it returns
 * (results are valid during the callback only). */
typedef struct extra {
    store_cb cb;
    void *ud;
    const store_blob_t *chat;
    size_t nchat;
    bool has_count;
    int64_t count;
} extra_t;

static void extra_cb(store_t *st, const store_res_t *res, void *ud)
{
    const extra_t *x = ud;
    store_res_t r = *res;
    if (!r.err) {
        r.chat = x->nchat ? x->chat : NULL;
        r.nchat = x->nchat;
        if (x->has_count) {
            r.count = x->count;
        }
    }
    x->cb(st, &r, x->ud);
}

/* The result JSON of a script: a bulk string, or (join, chat list) the first element of an
 * array reply whose other elements are the chat entries. NULL when the reply has another shape. */
static json_t *reply_json(store_op_t op, const redisReply *rep)
{
    if (rep->type == REDIS_REPLY_ARRAY) {
        if (rep->elements < 1 || (op != STORE_OP_JOIN && op != STORE_OP_CHAT_LIST)) {
            return NULL;
        }
        for (size_t i = 1; i < rep->elements; i++) {
            if (rep->element[i]->type != REDIS_REPLY_STRING) {
                return NULL;
            }
        }
        rep = rep->element[0];
    }
    if (rep->type != REDIS_REPLY_STRING) {
        return NULL;
    }
    json_error_t jerr;
    json_t *res = json_loadb(rep->str, rep->len, 0, &jerr);
    if (!json_is_object(res)) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* Completes with res (reference taken) and the chat entries of an array reply. */
static void finish_with_chat(store_t *st, rreq_t *q, const redisReply *rep, json_t *res)
{
    size_t n = rep->type == REDIS_REPLY_ARRAY ? rep->elements - 1 : 0;
    if (!q->cb || n == 0) {
        store__finish(st, q->op, q->cb, q->ud, STORE_OK, NULL, res);
        return;
    }
    store_blob_t small[STORE_CHAT_KEEP];
    store_blob_t *chat = n <= STORE_CHAT_KEEP ? small : xcalloc(n, sizeof(*chat));
    for (size_t i = 0; i < n; i++) {
        chat[i].data = rep->element[i + 1]->str; /* hiredis NUL-terminates bulk strings */
        chat[i].len = rep->element[i + 1]->len;
    }
    extra_t x = { .cb = q->cb, .ud = q->ud, .chat = chat, .nchat = n };
    store__finish(st, q->op, extra_cb, &x, STORE_OK, NULL, res);
    if (chat != small) {
        free(chat);
    }
}

void store_redis__complete(rstore_t *rs, rreq_t *q, redisReply *rep)
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
            store_redis__drop(q->c, "scripts flushed"); /* the handshake reloads them */
        }
        return;
    }
    if (q->op == STORE_OP_PUBLISH && rep->type == REDIS_REPLY_INTEGER) {
        /* no JSON for an integer (the bus publishes without a callback) */
        extra_t x = { .cb = q->cb, .ud = q->ud, .has_count = true, .count = rep->integer };
        store__finish(st, q->op, q->cb ? extra_cb : NULL, &x, STORE_OK, NULL, NULL);
        return;
    }
    json_t *res = q->op == STORE_OP_PUBLISH ? NULL : reply_json(q->op, rep);
    if (!res) {
        LOG_E("store", "unexpected redis reply", "\"op\":%d,\"type\":%d", (int)q->op, rep->type);
        store__finish(st, q->op, q->cb, q->ud, STORE_EINTERNAL, NULL, NULL);
        return;
    }
    finish_with_chat(st, q, rep, res);
}

void store_redis__fail_waiters(rstore_t *rs, int err)
{
    while (!list_empty(&rs->waiters)) {
        waiter_t *w = list_entry(rs->waiters.next, waiter_t, link);
        list_remove(&w->link);
        store__defer(&rs->base, STORE_OP_SUBSCRIBE, w->cb, w->ud, err, NULL, NULL);
        free(w->channel);
        free(w);
    }
}

void store_redis__subscribe_now(rstore_t *rs, const char *channel, bool on)
{
    char *full = xmalloc(rs->base.prefix_len + strlen(channel) + 1);
    strcpy(full, rs->base.prefix);
    strcat(full, channel);
    const char *argv[2] = { on ? "SUBSCRIBE" : "UNSUBSCRIBE", full };
    size_t lens[2] = { strlen(argv[0]), strlen(full) };
    if (rs->sub.ac && redisAsyncCommandArgv(rs->sub.ac, store_redis__on_sub_reply, rs, 2, argv,
                                            lens) == REDIS_OK) {
        json_object_set_new(rs->chan_state, channel,
                            json_integer(on ? CH_SUBSCRIBING : CH_UNSUBSCRIBING));
    }
    free(full);
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

void store_redis__on_sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    rstore_t *rs = priv;
    redisReply *rep = reply;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_STRING || rs->sub.ac != ac) {
        return; /* NULL: the context is being freed */
    }
    const char *kind = rep->element[0]->str, *full = rep->element[1]->str;
    if (strcmp(full, rs->hb_channel) == 0) {
        store_redis__heartbeat(rs, strcmp(kind, "subscribe") == 0);
        return;
    }
    if (strncmp(full, rs->base.prefix, rs->base.prefix_len) != 0) {
        return;
    }
    const char *ch = full + rs->base.prefix_len;
    rs->sub.last_io = store_redis__now(rs);
    if (strcmp(kind, "message") == 0 && rep->element[2]->type == REDIS_REPLY_STRING) {
        store__message(&rs->base, ch, rep->element[2]->str, rep->element[2]->len, false);
    } else if (strcmp(kind, "subscribe") == 0) {
        json_object_set_new(rs->chan_state, ch, json_integer(CH_SUBSCRIBED));
        complete_waiters(rs, ch);
        if (store__channel_refs(&rs->base, ch) <= 0) {
            store_redis__subscribe_now(rs, ch, false); /* dropped while subscribing */
        }
    } else if (strcmp(kind, "unsubscribe") == 0) {
        json_object_del(rs->chan_state, ch);
        if (store__channel_refs(&rs->base, ch) > 0) {
            store_redis__subscribe_now(rs, ch, true); /* wanted again while unsubscribing */
        }
    }
    if (rs->sub.ac == ac) {
        store_redis__arm(&rs->sub);
    }
}

void store_redis__sub(store_t *st, const char *channel, bool on, store_cb cb, void *ud)
{
    rstore_t *rs = (rstore_t *)st;
    int state = (int)json_integer_value(json_object_get(rs->chan_state, channel));
    if (!on) {
        if (state == CH_SUBSCRIBED && rs->sub.state == C_READY) {
            store_redis__subscribe_now(rs, channel, false);
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
        store_redis__subscribe_now(rs, channel, true);
    }
    waiter_t *w = xcalloc(1, sizeof(*w));
    w->channel = xstrdup(channel);
    w->cb = cb;
    w->ud = ud;
    w->deadline = store_redis__now(rs) + st->o.command_timeout_ms;
    list_insert_tail(&rs->waiters, &w->link);
    store_redis__arm(&rs->sub);
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
    case STORE_OP_ROOM_LIST:
        add(a, r->owner); /* "": every room */
        break;
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

void store_redis__exec(store_t *st, const store_req_t *r, store_cb cb, void *ud)
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
    rreq_t *q = store_redis__send(c, R_USER, a.n, a.v, a.len);
    free(chan);
    if (!q) {
        store__defer(st, r->op, cb, ud, STORE_EUNAVAILABLE, "redis not connected", NULL);
        return;
    }
    q->op = r->op;
    q->cb = cb;
    q->ud = ud;
    store_redis__arm(c);
}

void store_redis__stats(const store_t *st, store_stats_t *out)
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
