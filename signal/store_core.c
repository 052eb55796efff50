/* signal/store_core.c: the backend-independent half of the store: the public operations
 * (argument checks, then the backend's exec), deferred completion on an idle handle, the shared
 * decoder from a JSON result to store_res_t, the pub/sub channel table, close and counters. */
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/utf8.h"
#include "store_impl.h"
#include <stdlib.h>
#include <string.h>

enum {
    D_DONE,
    D_MESSAGE,
    D_CLOSE
};

typedef struct deferred {
    list_t link;
    int kind;
    store_op_t op;
    store_cb cb;
    void *ud;
    int err;
    const char *why;
    json_t *res;
    char *channel, *data; /* message: owned copies */
    size_t len;
} deferred_t;

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK:
        return "ok";
#define XX(name, val, msg) \
    case STORE_##name:     \
        return msg;
        STORE_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown store error";
    }
}

app_err_t store_err_app(int err)
{
    switch (err) {
    case STORE_OK:
        return APP_OK;
    case STORE_ENOTFOUND:
        return APP_ENOT_FOUND;
    case STORE_EFORBIDDEN:
    case STORE_EKICKED:
        return APP_EFORBIDDEN;
    case STORE_ECONFLICT:
    case STORE_EFULL:
        return APP_ECONFLICT;
    case STORE_EUNAVAILABLE:
    case STORE_ECLOSED:
        return APP_EUNAVAILABLE;
    default:
        return APP_EINTERNAL;
    }
}

/* --- results: JSON -> store_res_t --- */

/* Everything a decoded result points to that is not inside the JSON itself. */
typedef struct dec {
    store_res_t res;
    store_room_t room;
    store_member_t member;
    store_member_t *members;
    store_blob_t *chat;
    store_room_t *rooms;
    const char **ids, **nodes;
    store_sfu_t *sfus;
} dec_t;

static int64_t jnum(json_t *v)
{
    if (json_is_integer(v)) {
        return (int64_t)json_integer_value(v);
    }
    if (json_is_real(v)) {
        return (int64_t)json_real_value(v);
    }
    if (json_is_string(v)) {
        return strtoll(json_string_value(v), NULL, 10);
    }
    return json_is_true(v) ? 1 : 0;
}

/* A string member; "" and absent are NULL (nullable fields: recording, mediaState, sfu). */
static const char *jopt(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

/* A string member that is always there ("" when absent). */
static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Lua's cjson encodes an empty table as {}: both mean an empty list. */
static size_t jlen(json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static void room_of(json_t *o, store_room_t *r)
{
    r->id = jstr(o, "id");
    r->title = jstr(o, "title");
    r->owner = jstr(o, "owner");
    r->owner_conn = jstr(o, "ownerConn");
    r->owner_node = jstr(o, "ownerNode");
    r->live = jnum(json_object_get(o, "live")) != 0;
    r->started_at = r->live ? jnum(json_object_get(o, "startedAt")) : 0;
    r->recording = jopt(o, "recording");
    r->media_state = jopt(o, "mediaState");
    r->sfu = jopt(o, "sfu");
    r->created_at = jnum(json_object_get(o, "createdAt"));
    r->last_active = jnum(json_object_get(o, "lastActive"));
    r->viewers = jnum(json_object_get(o, "viewers"));
}

static void member_of(json_t *o, store_member_t *m)
{
    m->room_id = jstr(o, "room");
    m->id = jstr(o, "id");
    m->user_id = jstr(o, "userId");
    m->name = jstr(o, "name");
    m->role = jstr(o, "role");
    m->node = jstr(o, "node");
    m->joined_at = jnum(json_object_get(o, "joinedAt"));
}

static int member_cmp(const void *a, const void *b)
{
    const store_member_t *x = a, *y = b;
    if (x->joined_at != y->joined_at) {
        return x->joined_at < y->joined_at ? -1 : 1;
    }
    int c = strcmp(x->room_id, y->room_id);
    return c ? c : strcmp(x->id, y->id);
}

static const char **strs_of(json_t *a, size_t *n)
{
    *n = jlen(a);
    if (!*n) {
        return NULL;
    }
    const char **v = xcalloc(*n, sizeof(char *));
    for (size_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        v[i] = s ? s : "";
    }
    return v;
}

static int err_code(const char *s)
{
    static const struct {
        const char *name;
        int code;
    } map[] = { { "notfound", STORE_ENOTFOUND }, { "forbidden", STORE_EFORBIDDEN },
                { "kicked", STORE_EKICKED },     { "conflict", STORE_ECONFLICT },
                { "full", STORE_EFULL },         { "unavailable", STORE_EUNAVAILABLE },
                { "invalid", STORE_EINVAL } };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(s, map[i].name) == 0) {
            return map[i].code;
        }
    }
    return STORE_EINTERNAL;
}

static void decode(json_t *j, dec_t *d)
{
    store_res_t *r = &d->res;
    const char *e = json_string_value(json_object_get(j, "err"));
    if (e) {
        r->err = err_code(e);
        r->why = store_strerror(r->err);
        return;
    }
    json_t *v;
    if (json_is_object(v = json_object_get(j, "room"))) {
        room_of(v, &d->room);
        r->room = &d->room;
    }
    r->changed = jnum(json_object_get(j, "changed")) != 0;
    r->count = jnum(json_object_get(j, "count"));
    if (json_is_object(v = json_object_get(j, "member"))) {
        member_of(v, &d->member);
        r->member = &d->member;
    }
    if ((r->nmembers = jlen(v = json_object_get(j, "members")))) {
        d->members = xcalloc(r->nmembers, sizeof(*d->members));
        for (size_t i = 0; i < r->nmembers; i++) {
            member_of(json_array_get(v, i), &d->members[i]);
        }
        qsort(d->members, r->nmembers, sizeof(*d->members), member_cmp);
        r->members = d->members;
    }
    if ((r->nchat = jlen(v = json_object_get(j, "chat")))) {
        d->chat = xcalloc(r->nchat, sizeof(*d->chat));
        for (size_t i = 0; i < r->nchat; i++) {
            json_t *s = json_array_get(v, i);
            d->chat[i].data = json_is_string(s) ? json_string_value(s) : "";
            d->chat[i].len = json_is_string(s) ? json_string_length(s) : 0;
        }
        r->chat = d->chat;
    }
    if ((r->nrooms = jlen(v = json_object_get(j, "rooms")))) {
        d->rooms = xcalloc(r->nrooms, sizeof(*d->rooms));
        for (size_t i = 0; i < r->nrooms; i++) {
            room_of(json_array_get(v, i), &d->rooms[i]);
        }
        r->rooms = d->rooms;
    }
    r->ids = d->ids = strs_of(json_object_get(j, "ids"), &r->nids);
    r->nodes = d->nodes = strs_of(json_object_get(j, "nodes"), &r->nnodes);
    if ((r->nsfus = jlen(v = json_object_get(j, "sfus")))) {
        d->sfus = xcalloc(r->nsfus, sizeof(*d->sfus));
        for (size_t i = 0; i < r->nsfus; i++) {
            json_t *s = json_array_get(v, i);
            d->sfus[i] = (store_sfu_t){ .id = jstr(s, "id"),
                                        .node = jstr(s, "node"),
                                        .load = jnum(json_object_get(s, "load")),
                                        .capacity = jnum(json_object_get(s, "capacity")),
                                        .info = jopt(s, "info") };
        }
        r->sfus = d->sfus;
    }
    r->sfu = jopt(j, "sfu");
}

void store__finish(store_t *st, store_op_t op, store_cb cb, void *ud, int err, const char *why,
                   json_t *result)
{
    dec_t d;
    memset(&d, 0, sizeof(d));
    if (err) {
        d.res.err = err;
        d.res.why = why ? why : store_strerror(err);
    } else if (result) {
        decode(result, &d);
    }
    st->stats.ops++;
    st->stats.pending--;
    if (d.res.err) {
        st->stats.ops_failed++;
        if (d.res.err == STORE_EUNAVAILABLE) {
            st->stats.unavailable++;
        }
    }
    (void)op;
    if (cb) {
        cb(st, &d.res, ud);
    }
    free(d.members);
    free(d.chat);
    free(d.rooms);
    free(d.ids);
    free(d.nodes);
    free(d.sfus);
    json_decref(result);
}

/* --- deferral --- */

static void maybe_finish_close(store_t *st);

static void on_idle(uv_idle_t *h)
{
    store_t *st = h->data;
    list_t batch;
    list_init(&batch);
    /* only what is queued now: work queued by these callbacks waits for the next iteration */
    if (!list_empty(&st->deferred)) {
        batch.next = st->deferred.next;
        batch.prev = st->deferred.prev;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        list_init(&st->deferred);
    }
    while (!list_empty(&batch)) {
        deferred_t *d = list_entry(batch.next, deferred_t, link);
        list_remove(&d->link);
        if (d->kind == D_CLOSE) {
            st->vt->close(st); /* from here, never from inside a backend callback */
        } else if (d->kind == D_MESSAGE) {
            if (st->o.on_message && store__channel_refs(st, d->channel) > 0 && !st->closing) {
                st->o.on_message(st, d->channel, d->data, d->len, st->o.ud);
            }
            free(d->channel);
            free(d->data);
        } else {
            store__finish(st, d->op, d->cb, d->ud, d->err, d->why, d->res);
        }
        free(d);
    }
    if (list_empty(&st->deferred)) {
        uv_idle_stop(&st->idle);
        maybe_finish_close(st);
    }
}

static void push(store_t *st, deferred_t *d)
{
    list_insert_tail(&st->deferred, &d->link);
    if (!st->idle_closing) {
        uv_idle_start(&st->idle, on_idle);
    }
}

void store__defer(store_t *st, store_op_t op, store_cb cb, void *ud, int err, const char *why,
                  json_t *result)
{
    deferred_t *d = xcalloc(1, sizeof(*d));
    *d = (deferred_t){ .op = op, .cb = cb, .ud = ud, .err = err, .why = why, .res = result };
    push(st, d);
}

void store__message(store_t *st, const char *channel, const char *data, size_t len, bool defer)
{
    if (store__channel_refs(st, channel) <= 0) {
        return;
    }
    st->stats.received++;
    if (!defer) {
        if (st->o.on_message && !st->closing) {
            st->o.on_message(st, channel, data, len, st->o.ud);
        }
        return;
    }
    deferred_t *d = xcalloc(1, sizeof(*d));
    d->kind = D_MESSAGE;
    d->channel = xstrdup(channel);
    d->data = xmalloc(len + 1);
    memcpy(d->data, data, len);
    d->data[len] = 0;
    d->len = len;
    push(st, d);
}

int64_t store__channel_refs(const store_t *st, const char *channel)
{
    return json_integer_value(json_object_get(st->chans, channel));
}

void store__state(store_t *st, bool up)
{
    if (st->closing) {
        return;
    }
    LOG_I("store", up ? "store up" : "store down", "\"backend\":\"%s\"", st->vt->name);
    if (st->o.on_state && !st->closing) {
        st->o.on_state(st, up, st->o.ud);
    }
}

/* --- lifecycle --- */

void store__init(store_t *st, const store_vt_t *vt, uv_loop_t *loop, const store_opts_t *o)
{
    st->vt = vt;
    st->loop = loop;
    st->o = *o;
    st->url = o->url ? xstrdup(o->url) : NULL;
    st->prefix = xstrdup(o->prefix ? o->prefix : "onair:");
    st->prefix_len = strlen(st->prefix);
    st->o.url = st->url;
    st->o.prefix = st->prefix;
    if (!st->o.clock) {
        st->o.clock = clock_wall_ms;
    }
#define DEF(f, v) \
    if (!st->o.f) \
    st->o.f = (v)
    DEF(connect_timeout_ms, 2000);
    DEF(command_timeout_ms, 2000);
    DEF(ping_interval_ms, 1000);
    DEF(reconnect_min_ms, 100);
    DEF(reconnect_max_ms, 2000);
    DEF(chat_keep, STORE_CHAT_KEEP);
#undef DEF
    list_init(&st->deferred);
    uv_idle_init(loop, &st->idle);
    st->idle.data = st;
    st->chans = json_object();
}

int store_open(uv_loop_t *loop, const store_opts_t *opts, store_t **out, char *err, size_t errlen)
{
    const char *u = opts->url;
    *out = NULL;
    if (!u || !*u || strcmp(u, "memory") == 0 || strcmp(u, "memory://") == 0) {
        *out = store__mem_new(loop, opts);
    } else {
        *out = store__redis_new(loop, opts, err, errlen);
    }
    return *out ? 0 : -1;
}

static void on_idle_closed(uv_handle_t *h)
{
    store_t *st = h->data;
    if (st->close_cb) {
        st->close_cb(st, st->close_ud);
    }
    json_decref(st->chans);
    free(st->url);
    free(st->prefix);
    st->vt->free(st);
}

static void maybe_finish_close(store_t *st)
{
    if (st->closing && st->backend_closed && list_empty(&st->deferred) && !st->idle_closing) {
        st->idle_closing = true;
        uv_close((uv_handle_t *)&st->idle, on_idle_closed);
    }
}

void store__backend_closed(store_t *st)
{
    st->backend_closed = true;
    /* let the idle callback finish the close: it runs after anything still queued */
    uv_idle_start(&st->idle, on_idle);
}

void store_close(store_t *st, store_close_cb cb, void *ud)
{
    if (st->closing) {
        return;
    }
    st->closing = true;
    st->close_cb = cb;
    st->close_ud = ud;
    deferred_t *d = xcalloc(1, sizeof(*d));
    d->kind = D_CLOSE;
    push(st, d);
}

const char *store_backend(const store_t *st)
{
    return st->vt->name;
}

bool store_healthy(const store_t *st)
{
    return !st->closing && st->vt->healthy(st);
}

void store_stats(const store_t *st, store_stats_t *out)
{
    *out = st->stats;
    out->channels = json_object_size(st->chans);
    out->subscribed = out->channels;
    if (st->vt->stats) {
        st->vt->stats(st, out);
    }
}

/* --- argument checks and dispatch --- */

bool store_id_valid(const char *s, bool dot)
{
    size_t n = 0;
    if (!s) {
        return false;
    }
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 64 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-' || (dot && c == '.'))) {
            return false;
        }
    }
    return n >= 1;
}

/* Valid UTF-8 without NUL: what Redis' cjson and our jansson decoder round-trip (RFC 3629, as
 * jansson checks it: no overlongs, surrogates or code points past U+10FFFF). No allocation:
 * chat entries and published messages reach 1 MiB. */
static bool utf8_ok(const char *s, size_t n)
{
    return !memchr(s, 0, n) && utf8_validate((const uint8_t *)s, n, NULL) == 0;
}

static bool str_ok(const char *s)
{
    size_t n = s ? strnlen(s, STORE_MAX_STR + 1) : 0;
    return n >= 1 && n <= STORE_MAX_STR && utf8_ok(s, n);
}

static bool opt_ok(const char *s)
{
    return !s || !*s || str_ok(s);
}

static void run(store_t *st, store_req_t *r, const char *bad, store_cb cb, void *ud)
{
    st->stats.pending++;
    if (st->closing) {
        store__defer(st, r->op, cb, ud, STORE_ECLOSED, NULL, NULL);
        return;
    }
    if (bad) {
        LOG_W("store", "invalid store argument", "\"op\":%d,\"why\":\"%s\"", (int)r->op, bad);
        store__defer(st, r->op, cb, ud, STORE_EINVAL, bad, NULL);
        return;
    }
    r->now = st->o.clock();
    st->vt->exec(st, r, cb, ud);
}

#define ROOM_BAD(r) (store_id_valid(r, false) ? NULL : "bad room id")

void store_room_start(store_t *st, const store_start_t *a, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_ROOM_START,
                      .room = a->room,
                      .owner = a->sub,
                      .conn = a->conn,
                      .node = a->node,
                      .title = a->title };
    const char *bad = ROOM_BAD(a->room);
    if (!bad && (!str_ok(a->sub) || !str_ok(a->conn) || !store_id_valid(a->node, true) ||
                 !opt_ok(a->title) || (a->title && !*a->title))) {
        bad = "bad start arguments";
    }
    run(st, &r, bad, cb, ud);
}

void store_room_stop(store_t *st, const char *room, const char *sub, const char *conn, store_cb cb,
                     void *ud)
{
    store_req_t r = { .op = STORE_OP_ROOM_STOP, .room = room, .owner = sub, .conn = conn };
    const char *bad = ROOM_BAD(room);
    if (!bad && ((sub && !str_ok(sub)) || (conn && !str_ok(conn)))) {
        bad = "bad stop arguments";
    }
    run(st, &r, bad, cb, ud);
}

void store_room_get(store_t *st, const char *room, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_ROOM_GET, .room = room };
    run(st, &r, ROOM_BAD(room), cb, ud);
}

void store_room_update(store_t *st, const char *room, const char *owner, bool live_only,
                       const store_patch_t *p, store_cb cb, void *ud)
{
    store_req_t r = {
        .op = STORE_OP_ROOM_UPDATE, .room = room, .owner = owner, .flag = live_only, .patch = p
    };
    const char *bad = ROOM_BAD(room);
    if (!bad && (!p || (owner && !str_ok(owner)) || !opt_ok(p->title) || !opt_ok(p->media_state) ||
                 !opt_ok(p->recording) || ((p->set & STORE_SET_TITLE) && !str_ok(p->title)) ||
                 ((p->set & STORE_SET_SFU) && p->sfu && !store_id_valid(p->sfu, true)))) {
        bad = "bad update arguments";
    }
    run(st, &r, bad, cb, ud);
}

void store_room_list(store_t *st, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_ROOM_LIST };
    run(st, &r, NULL, cb, ud);
}

void store_rooms_owned(store_t *st, const char *owner, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_ROOM_LIST, .owner = owner };
    run(st, &r, str_ok(owner) ? NULL : "bad owner", cb, ud);
}

void store_rooms_expire(store_t *st, int64_t idle_ms, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_ROOMS_EXPIRE, .n = idle_ms };
    run(st, &r, idle_ms < 0 ? "negative idle time" : NULL, cb, ud);
}

void store_room_sfu_claim(store_t *st, const char *room, const char *sfu, bool force, store_cb cb,
                          void *ud)
{
    store_req_t r = { .op = STORE_OP_SFU_CLAIM, .room = room, .sfu = sfu, .flag = force };
    const char *bad = ROOM_BAD(room);
    if (!bad && !store_id_valid(sfu, true)) {
        bad = "bad sfu id";
    }
    run(st, &r, bad, cb, ud);
}

void store_member_join(store_t *st, const store_join_t *j, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_JOIN,
                      .room = j->room,
                      .conn = j->conn,
                      .user = j->user,
                      .name = j->name,
                      .role = j->role,
                      .node = j->node,
                      .n = j->max_viewers };
    const char *bad = ROOM_BAD(j->room);
    if (!bad && (!str_ok(j->conn) || !str_ok(j->user) || !str_ok(j->name) ||
                 !store_id_valid(j->node, true) || !j->role ||
                 (strcmp(j->role, "viewer") != 0 && strcmp(j->role, "admin") != 0))) {
        bad = "bad join arguments";
    }
    run(st, &r, bad, cb, ud);
}

void store_member_leave(store_t *st, const char *room, const char *conn, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_LEAVE, .room = room, .conn = conn };
    const char *bad = ROOM_BAD(room);
    run(st, &r, bad ? bad : str_ok(conn) ? NULL : "bad connection id", cb, ud);
}

void store_member_get(store_t *st, const char *room, const char *conn, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_MEMBER_GET, .room = room, .conn = conn };
    const char *bad = ROOM_BAD(room);
    run(st, &r, bad ? bad : str_ok(conn) ? NULL : "bad connection id", cb, ud);
}

void store_viewers_list(store_t *st, const char *room, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_VIEWERS, .room = room };
    run(st, &r, ROOM_BAD(room), cb, ud);
}

void store_viewer_kick(store_t *st, const char *room, const char *viewer_conn, const char *owner,
                       uint32_t ban_ms, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_KICK,
                      .room = room,
                      .conn = viewer_conn,
                      .owner = owner,
                      .n = ban_ms ? ban_ms : STORE_KICK_BAN_MS };
    const char *bad = ROOM_BAD(room);
    if (!bad && (!str_ok(viewer_conn) || (owner && !str_ok(owner)))) {
        bad = "bad kick arguments";
    }
    run(st, &r, bad, cb, ud);
}

void store_chat_append(store_t *st, const char *room, const char *json, size_t len, store_cb cb,
                       void *ud)
{
    store_req_t r = {
        .op = STORE_OP_CHAT_APPEND, .room = room, .data = json, .len = len, .n = st->o.chat_keep
    };
    const char *bad = ROOM_BAD(room);
    if (!bad && (!json || len == 0 || len > STORE_MAX_BLOB || !utf8_ok(json, len))) {
        bad = "bad chat entry (empty, too long, NUL or not UTF-8)";
    }
    run(st, &r, bad, cb, ud);
}

void store_chat_list(store_t *st, const char *room, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_CHAT_LIST, .room = room };
    run(st, &r, ROOM_BAD(room), cb, ud);
}

void store_node_beat(store_t *st, const char *node, uint32_t ttl_ms, const char *info, store_cb cb,
                     void *ud)
{
    store_req_t r = { .op = STORE_OP_NODE_BEAT, .node = node, .ttl = ttl_ms, .info = info };
    bool ok = store_id_valid(node, true) && ttl_ms > 0 && opt_ok(info);
    run(st, &r, ok ? NULL : "bad node beat arguments", cb, ud);
}

void store_nodes_list(store_t *st, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_NODES_LIST };
    run(st, &r, NULL, cb, ud);
}

void store_nodes_reap(store_t *st, const char *self, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_NODES_REAP, .self = self };
    run(st, &r, store_id_valid(self, true) ? NULL : "bad node id", cb, ud);
}

void store_node_leave(store_t *st, const char *node, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_NODES_REAP, .self = node, .node = node };
    run(st, &r, store_id_valid(node, true) ? NULL : "bad node id", cb, ud);
}

void store_sfu_beat(store_t *st, const store_sfu_t *s, uint32_t ttl_ms, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_SFU_BEAT,
                      .sfu = s->id,
                      .node = s->node,
                      .load = s->load,
                      .capacity = s->capacity,
                      .info = s->info,
                      .ttl = ttl_ms };
    bool ok = store_id_valid(s->id, true) && store_id_valid(s->node, true) && ttl_ms > 0 &&
              opt_ok(s->info);
    run(st, &r, ok ? NULL : "bad sfu beat arguments", cb, ud);
}

void store_sfu_remove(store_t *st, const char *id, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_SFU_REMOVE, .sfu = id };
    run(st, &r, store_id_valid(id, true) ? NULL : "bad sfu id", cb, ud);
}

void store_sfu_list(store_t *st, store_cb cb, void *ud)
{
    store_req_t r = { .op = STORE_OP_SFU_LIST };
    run(st, &r, NULL, cb, ud);
}

void store_publish(store_t *st, const char *channel, const void *data, size_t len, store_cb cb,
                   void *ud)
{
    store_req_t r = { .op = STORE_OP_PUBLISH, .channel = channel, .data = data, .len = len };
    bool ok = str_ok(channel) && strlen(channel) <= 256 && (data || !len) && len <= STORE_MAX_BLOB;
    if (ok) {
        st->stats.published++;
    }
    run(st, &r, ok ? NULL : "bad publish arguments", cb, ud);
}

void store_subscribe(store_t *st, const char *channel, store_cb cb, void *ud)
{
    st->stats.pending++;
    if (st->closing) {
        store__defer(st, STORE_OP_SUBSCRIBE, cb, ud, STORE_ECLOSED, NULL, NULL);
        return;
    }
    if (!str_ok(channel) || strlen(channel) > 256) {
        store__defer(st, STORE_OP_SUBSCRIBE, cb, ud, STORE_EINVAL, "bad channel", NULL);
        return;
    }
    int64_t refs = store__channel_refs(st, channel);
    json_object_set_new(st->chans, channel, json_integer(refs + 1));
    /* also for a second reference: the answer says whether the subscription is active now */
    st->vt->sub(st, channel, true, cb, ud);
}

int store_unsubscribe(store_t *st, const char *channel)
{
    int64_t refs = channel ? store__channel_refs(st, channel) : 0;
    if (refs <= 0) {
        return STORE_EINVAL;
    }
    if (refs > 1) {
        json_object_set_new(st->chans, channel, json_integer(refs - 1));
        return 0;
    }
    json_object_del(st->chans, channel);
    if (!st->closing) {
        st->vt->sub(st, channel, false, NULL, NULL);
    }
    return 0;
}
