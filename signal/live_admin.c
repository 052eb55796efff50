/* signal/live_admin.c: the operator API under /api/admin/ (docs/ONAIRCTL.md), used by onairctl.
 *
 * Every request needs `Authorization: Bearer <JWT>` with role admin (else 401); a token with a
 * `rooms` claim sees and acts on those rooms only (403 for others; SFU drain needs a token
 * without the claim). Room state comes from the shared store, so any node answers for every
 * room; SFU details come from this node's pool.
 *
 * Store and SFU calls complete later, so a request that needs one is deferred (HTTP_DEFERRED):
 * its admin_req_t watches the connection, and on_conn_closed forgets the connection when the
 * client goes away first. The completion then frees the request without touching it (the
 * pending call holds the request, never the connection: STYLE.md 4.4). */
#include "live_admin.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_PREFIX   "/api/admin/"
#define ADMIN_MAX_BODY 4096
#define ADMIN_ID_MAX   128
#define ADMIN_SEGS     4 /* rooms/ID/recording/stop */

enum {
    R_ROOMS,
    R_ROOM,
    R_VIEWERS,
    R_KICK,
    R_END,
    R_SFUS,
    R_DRAIN,
    R_NODES,
    R_RECORDINGS,
    R_REC_STOP,
};

typedef struct admin_req {
    live_t *app;
    http_conn_t *conn; /* the client's connection; NULL once it closed */
    auth_identity_t who;
    int route;
    char room[LIVE_ROOM_ID_MAX + 1];
    char arg[ADMIN_ID_MAX + 1]; /* viewer id (kick) or SFU id (drain) */
    bool on;                    /* drain: the requested state */
    json_t *out;                /* room detail: the answer being built */
} admin_req_t;

/* ---- answers --------------------------------------------------------------------------------- */

static void fill(http_res_t *res, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *t = text ? text : "{\"error\":\"internal error\"}";
    http_res_send(res, text ? status : 500, "application/json", t, strlen(t));
    http_res_header(res, "Cache-Control", "no-store");
    http_res_header(res, "X-Content-Type-Options", "nosniff");
    if (status == 401) {
        http_res_header(res, "WWW-Authenticate", "Bearer realm=\"onair-admin\"");
    }
    free(text);
    json_decref(body);
}

static json_t *err_body(const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return json_pack("{s:s}", "error", msg);
}

static void on_conn_closed(http_conn_t *c, void *ud)
{
    admin_req_t *q = ud;
    q->conn = NULL;
}

static const http_conn_ops_t conn_ops = { NULL, on_conn_closed };

static void req_free(admin_req_t *q)
{
    auth_identity_deinit(&q->who);
    json_decref(q->out);
    free(q);
}

/* Answers a deferred request with body (reference stolen) and frees q. */
static void respond(admin_req_t *q, int status, json_t *body)
{
    if (q->conn) {
        http_conn_t *c = q->conn;
        http_conn_watch(c, NULL, NULL); /* the next request on c is not ours */
        http_res_t res;
        http_res_init(&res);
        fill(&res, status, body);
        http_conn_respond(c, &res, NULL, 0);
        http_res_deinit(&res);
    } else {
        json_decref(body);
    }
    req_free(q);
}

/* Completions that arrive while the node shuts down (the store answers pending operations as
 * it closes) must not touch the SFU pool, which may be freed already: 503. */
static bool shutting_down(admin_req_t *q)
{
    if (!q->app->closing) {
        return false;
    }
    respond(q, 503, json_pack("{s:s}", "error", "the node is shutting down"));
    return true;
}

/* Answers a store failure. */
static void respond_store_err(admin_req_t *q, const store_res_t *res)
{
    int status = 500;
    const char *msg = "internal error";
    switch (res->err) {
    case STORE_ENOTFOUND:
        respond(q, 404, err_body("no such room: %s%s", q->room, NULL));
        return;
    case STORE_EUNAVAILABLE:
    case STORE_ECLOSED:
        status = 503, msg = "the state store is unavailable; try again";
        break;
    case STORE_EINVAL:
        status = 400, msg = "invalid argument";
        break;
    default:
        LOG_E("admin", "store error", "\"route\":%d,\"room\":\"%s\",\"error\":\"%s\"", q->route,
              log_esc(q->room), log_esc(res->why));
    }
    respond(q, status, json_pack("{s:s}", "error", msg));
}

/* ---- JSON of store records ------------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A raw JSON text stored by the app (recording, mediaState), or null. */
static json_t *jraw(const char *s)
{
    json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *room_json(const store_room_t *r, bool detail)
{
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:b, s:o, s:I, s:o, s:o, s:o}", "roomId", r->id, "title",
                  r->title ? r->title : r->id, "owner", jstr(r->owner), "live", r->live,
                  "startedAt", r->live && r->started_at ? json_integer(r->started_at) : json_null(),
                  "viewers", (json_int_t)r->viewers, "sfu", jstr(r->sfu), "recording",
                  jraw(r->recording), "mediaState", jraw(r->media_state));
    if (o && detail) {
        json_object_set_new(o, "createdAt", json_integer(r->created_at));
        json_object_set_new(o, "lastActive", json_integer(r->last_active));
        json_object_set_new(
            o, "publisher",
            r->live && r->owner_conn
                ? json_pack("{s:s, s:o}", "conn", r->owner_conn, "node", jstr(r->owner_node))
                : json_null());
    }
    return o;
}

static json_t *viewers_json(const store_res_t *res)
{
    json_t *a = json_array();
    for (size_t i = 0; i < res->nmembers; i++) {
        const store_member_t *m = &res->members[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:o}", "id", m->id, "userId",
                                           m->user_id, "name", m->name ? m->name : m->user_id,
                                           "joinedAt", (json_int_t)m->joined_at, "node",
                                           jstr(m->node)));
    }
    return a;
}

static int cmp_room(const void *a, const void *b)
{
    return strcmp((*(const store_room_t *const *)a)->id, (*(const store_room_t *const *)b)->id);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- rooms ----------------------------------------------------------------------------------- */

static void on_rooms(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    const store_room_t **sorted = xcalloc(res->nrooms + 1, sizeof(*sorted));
    for (size_t i = 0; i < res->nrooms; i++) {
        sorted[i] = &res->rooms[i];
    }
    qsort(sorted, res->nrooms, sizeof(*sorted), cmp_room);
    json_t *a = json_array();
    for (size_t i = 0; i < res->nrooms; i++) {
        if (auth_allows_room(&q->who, sorted[i]->id)) {
            json_array_append_new(a, room_json(sorted[i], false));
        }
    }
    free(sorted);
    respond(q, 200, a);
}

/* Room detail, step 3: the room's media from the SFU (this node drives it). */
static void on_room_stats(const char *sfu_id, const char *err, const char *msg, json_t *result,
                          void *ud)
{
    admin_req_t *q = ud;
    json_t *media = json_pack("{s:s}", "sfu", sfu_id);
    json_t *it, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(result, "rooms"), i, it)
    {
        if (json_is_string(json_object_get(it, "room")) &&
            !strcmp(json_string_value(json_object_get(it, "room")), q->room)) {
            found = it;
        }
    }
    if (err) {
        json_object_set_new(media, "error", json_string(msg && *msg ? msg : err));
    } else if (found) {
        json_t *sub = json_object_get(found, "subscribers");
        json_object_set_new(media, "publisher",
                            json_boolean(json_is_string(json_object_get(found, "publisher"))));
        json_object_set_new(media, "subscribers",
                            json_integer(json_is_array(sub) ? (json_int_t)json_array_size(sub)
                                                            : json_integer_value(sub)));
        static const char *const keys[][2] = {
            { "bitrate_in", "bitrateIn" },
            { "packets_in", "packetsIn" },
            { "packets_lost", "packetsLost" },
            { "nacks", "nacks" },
            { "plis", "plis" },
        };
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            json_object_set_new(
                media, keys[k][1],
                json_integer((json_int_t)json_number_value(json_object_get(found, keys[k][0]))));
        }
    } else {
        json_object_set_new(media, "publisher", json_false());
        json_object_set_new(media, "subscribers", json_integer(0));
        json_object_set_new(media, "bitrateIn", json_integer(0));
    }
    json_t *load = json_object_get(result, "load");
    if (json_is_object(load)) {
        json_object_set_new(
            media, "sfuBitrateOut",
            json_integer((json_int_t)json_number_value(json_object_get(load, "bitrate_out"))));
    }
    json_object_set_new(q->out, "media", media);
    json_t *out = q->out;
    q->out = NULL;
    respond(q, 200, out);
}

/* Room detail, step 2: the viewers; then the SFU when this node drives the room's. */
static void on_room_viewers(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (shutting_down(q)) {
        return;
    }
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    json_object_set_new(q->out, "viewers", viewers_json(res));
    json_t *room = json_object_get(q->out, "room");
    const char *sfu = json_string_value(json_object_get(room, "sfu"));
    sfu_t *s = sfu ? sfu_pool_find(q->app->sfus, sfu) : NULL;
    if (s && json_is_true(json_object_get(room, "live")) && sfu_get_state(s) == SFU_READY) {
        sfu_call(s, "stats", json_pack("{s:s}", "room", q->room), on_room_stats, q);
        return;
    }
    json_object_set_new(q->out, "media", json_null());
    json_t *out = q->out;
    q->out = NULL;
    respond(q, 200, out);
}

/* Room detail, step 1: the room. */
static void on_room(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    q->out = json_pack("{s:o}", "room", room_json(res->room, true));
    store_viewers_list(q->app->store, q->room, on_room_viewers, q);
}

static void on_viewers(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    respond(q, 200, viewers_json(res));
}

/* ---- kick and end (as kick-viewer and stop-stream do, without the owner check) --------------- */

static void on_kicked(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    live_t *app = q->app;
    if (res->err == STORE_ENOTFOUND) {
        respond(q, 404, err_body("no viewer %s in room %s", q->arg, q->room));
        return;
    }
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    json_t *conns = json_array();
    live_announce_kicked(app, q->room, res); /* kicked, viewer-left per connection, count */
    for (size_t i = 0; i < res->nmembers; i++) {
        json_array_append_new(conns, json_string(res->members[i].id));
    }
    const char *user = res->nmembers ? res->members[0].user_id : NULL;
    LOG_I("admin", "viewer kicked",
          "\"room\":\"%s\",\"viewer\":\"%s\",\"user\":\"%s\",\"by\":\"%s\",\"conns\":%zu",
          log_esc(q->room), log_esc(q->arg), log_esc(user), log_esc(q->who.sub), res->nmembers);
    respond(q, 200,
            json_pack("{s:b, s:s, s:s, s:o, s:o, s:I}", "ok", 1, "roomId", q->room, "viewerId",
                      q->arg, "userId", jstr(user), "kicked", conns, "viewers",
                      (json_int_t)res->count));
}

/* Kick, step 1: tell "no such room" from "no such viewer". */
static void on_kick_room(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    store_viewer_kick(q->app->store, q->room, q->arg, NULL, 0, on_kicked, q);
}

static void on_ended(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    live_t *app = q->app;
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    if (res->changed) {
        live_announce_ended(app, q->room, "stopped");
        LOG_I("admin", "stream ended", "\"room\":\"%s\",\"by\":\"%s\",\"reason\":\"stopped\"",
              log_esc(q->room), log_esc(q->who.sub));
    }
    if (res->changed && !app->closing) { /* shutting down: the SFU pool may be gone */
        /* the SFU room: live_media_room_closed closes it when this node published it; a
         * placement on another of this node's SFUs is closed here */
        live_room_t *lr = live_room_get(app, q->room, false);
        const char *sfu = res->room->sfu;
        bool covered = lr && lr->pub_sfu[0] && sfu && !strcmp(lr->pub_sfu, sfu);
        live_media_room_closed(app, q->room);
        sfu_t *s = sfu && !covered ? sfu_pool_find(app->sfus, sfu) : NULL;
        if (s && sfu_get_state(s) == SFU_READY) {
            sfu_call(s, "room.close", json_pack("{s:s}", "room", q->room), NULL, NULL);
        }
    }
    respond(q, 200,
            json_pack("{s:b, s:s, s:b, s:o}", "ok", 1, "roomId", q->room, "wasLive", res->changed,
                      "room", room_json(res->room, false)));
}

/* ---- SFUs and nodes -------------------------------------------------------------------------- */

static const char *state_str(sfu_state_t s)
{
    return s == SFU_READY ? "ready" : s == SFU_CONNECTING ? "connecting" : "down";
}

static void add_local_sfu(sfu_t *s, void *ud)
{
    json_t *a = ud;
    sfu_load_info_t l;
    sfu_get_load(s, &l);
    json_array_append_new(
        a, json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:f, s:I, s:b}", "id", sfu_id(s),
                     "socket", sfu_socket_path(s), "state", state_str(sfu_get_state(s)), "draining",
                     sfu_draining(s), "peers", (json_int_t)l.peers, "bitrateIn",
                     (json_int_t)l.bitrate_in, "bitrateOut", (json_int_t)l.bitrate_out, "cpu",
                     l.cpu, "overloadDrops", (json_int_t)l.overload_drops, "local", 1));
}

static int cmp_sfu(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    return strcmp(x ? x : "", y ? y : "");
}

static void on_sfus(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (shutting_down(q)) {
        return;
    }
    json_t *a = json_array(), *it;
    size_t i;
    sfu_pool_foreach(q->app->sfus, add_local_sfu, a);
    json_array_foreach(a, i, it)
    {
        json_object_set_new(it, "node", json_string(q->app->cfg.node_id));
    }
    if (res->err) {
        LOG_W("admin", "SFU registry unavailable", "\"error\":\"%s\"", store_strerror(res->err));
    }
    /* registered SFUs that this node does not drive */
    for (size_t k = 0; !res->err && k < res->nsfus; k++) {
        const store_sfu_t *s = &res->sfus[k];
        if (sfu_pool_find(q->app->sfus, s->id)) {
            continue;
        }
        json_t *o =
            json_pack("{s:s, s:n, s:s, s:b, s:I, s:I, s:I, s:b, s:o, s:I}", "id", s->id, "socket",
                      "state", "registered", "draining", 0, "peers", (json_int_t)s->load,
                      "bitrateIn", (json_int_t)0, "bitrateOut", (json_int_t)0, "local", 0, "node",
                      jstr(s->node), "capacity", (json_int_t)s->capacity);
        json_array_append_new(a, o);
    }
    size_t n = json_array_size(a);
    json_t **items = xcalloc(n + 1, sizeof(*items));
    for (i = 0; i < n; i++) {
        items[i] = json_incref(json_array_get(a, i));
    }
    qsort(items, n, sizeof(*items), cmp_sfu);
    json_array_clear(a);
    for (i = 0; i < n; i++) {
        json_array_append_new(a, items[i]);
    }
    free(items);
    respond(q, 200, a);
}

/* Drain of an SFU this node does not drive: is it another node's? */
static void on_drain_lookup(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    for (size_t k = 0; !res->err && k < res->nsfus; k++) {
        if (!strcmp(res->sfus[k].id, q->arg)) {
            respond(
                q, 409,
                err_body("SFU %s is driven by node %s: ask that node", q->arg, res->sfus[k].node));
            return;
        }
    }
    respond(q, 404, err_body("no such SFU: %s%s", q->arg, NULL));
}

static void on_nodes(store_t *st, const store_res_t *res, void *ud)
{
    admin_req_t *q = ud;
    if (res->err) {
        respond_store_err(q, res);
        return;
    }
    const char **ids = xcalloc(res->nids + 1, sizeof(*ids));
    for (size_t i = 0; i < res->nids; i++) {
        ids[i] = res->ids[i];
    }
    qsort(ids, res->nids, sizeof(*ids), cmp_str);
    json_t *a = json_array();
    for (size_t i = 0; i < res->nids; i++) {
        json_array_append_new(
            a, json_pack("{s:s, s:b}", "id", ids[i], "self", !strcmp(ids[i], q->app->cfg.node_id)));
    }
    free(ids);
    respond(q, 200, a);
}

/* ---- recordings ------------------------------------------------------------------------------ */

/* The answer of live_admin_rec.c (list or stop). */
static void on_recordings(int status, json_t *body, void *ud)
{
    respond(ud, status, body);
}

/* ---- the handler ----------------------------------------------------------------------------- */

static bool room_id_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    return n > 0 && n <= LIVE_ROOM_ID_MAX && s[n] == 0;
}

/* Splits the path after the prefix into at most ADMIN_SEGS segments (a trailing '/' is ignored).
 * Returns the count, or -1 for an empty segment or too many/too long ones. */
static int split_path(const char *p, char seg[ADMIN_SEGS][ADMIN_ID_MAX * 3 + 1])
{
    int n = 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len > ADMIN_ID_MAX * 3 || n == ADMIN_SEGS) {
            return -1;
        }
        memcpy(seg[n], p, len);
        seg[n++][len] = 0;
        p += len + (slash ? 1 : 0);
    }
    return n;
}

/* Matches the route; sets *method (the one it needs) or returns -1 (no such endpoint). */
static int match_route(char seg[ADMIN_SEGS][ADMIN_ID_MAX * 3 + 1], int n, const char **method)
{
    *method = "GET";
    if (n == 1 && !strcmp(seg[0], "rooms")) {
        return R_ROOMS;
    }
    if (n == 1 && !strcmp(seg[0], "sfus")) {
        return R_SFUS;
    }
    if (n == 1 && !strcmp(seg[0], "nodes")) {
        return R_NODES;
    }
    if (n == 1 && !strcmp(seg[0], "recordings")) {
        return R_RECORDINGS; /* no recordings/NAME: files are not served (docs/ONAIRCTL.md) */
    }
    if (n == 4 && !strcmp(seg[0], "rooms") && !strcmp(seg[2], "recording") &&
        !strcmp(seg[3], "stop")) {
        *method = "POST";
        return R_REC_STOP;
    }
    if (n == 2 && !strcmp(seg[0], "rooms")) {
        return R_ROOM;
    }
    if (n == 3 && !strcmp(seg[0], "rooms")) {
        if (!strcmp(seg[2], "viewers")) {
            return R_VIEWERS;
        }
        *method = "POST";
        return !strcmp(seg[2], "kick") ? R_KICK : !strcmp(seg[2], "end") ? R_END : -1;
    }
    if (n == 3 && !strcmp(seg[0], "sfus") && !strcmp(seg[2], "drain")) {
        *method = "POST";
        return R_DRAIN;
    }
    return -1;
}

/* Checks the bearer token: 0 with q->who filled, or -1 with res filled (401). */
static int authenticate(live_t *app, http_req_t *req, http_res_t *res, admin_req_t *q)
{
    char *tok = NULL;
    const char *why = "no bearer token";
    const char *msg = "unauthorized: send Authorization: Bearer <admin token>";
    if (auth_pick_token(NULL, 0, http_req_header(req, "Authorization"), NULL, &tok) ==
        AUTH_SRC_HEADER) {
        msg = "unauthorized: invalid or expired token";
        if (auth_verify(app->auth, tok, clock_wall_ms() / 1000, &q->who, &why) == 0) {
            if (q->who.role == AUTH_ADMIN) {
                free(tok);
                return 0;
            }
            why = "not an admin";
            msg = "unauthorized: an admin token is needed";
        }
    }
    free(tok);
    LOG_I("admin", "request refused", "\"addr\":\"%s\",\"path\":\"%s\",\"why\":\"%s\"",
          log_esc(req->remote_addr), log_esc(req->path), log_esc(why));
    fill(res, 401, json_pack("{s:s}", "error", msg));
    return -1;
}

/* Reads the JSON object body of a POST (an empty body is {}). NULL with res filled (400). */
static json_t *body_object(http_req_t *req, http_res_t *res)
{
    if (req->body_len == 0) {
        return json_object();
    }
    json_t *b = json_loadb((const char *)req->body, req->body_len, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        fill(res, 400, json_pack("{s:s}", "error", "the body must be a JSON object"));
        return NULL;
    }
    return b;
}

/* Reads the POST bodies of kick and drain into q. Returns 0, or -1 with res filled (400). */
static int read_body(admin_req_t *q, http_req_t *req, http_res_t *res)
{
    if (q->route != R_KICK && q->route != R_DRAIN) {
        return 0;
    }
    json_t *b = body_object(req, res);
    if (!b) {
        return -1;
    }
    int rc = 0;
    if (q->route == R_KICK) {
        const char *v = json_string_value(json_object_get(b, "viewerId"));
        if (!v || !*v || strlen(v) > LIVE_SOCK_ID_MAX) {
            fill(res, 400, json_pack("{s:s}", "error", "body must be {\"viewerId\": string}"));
            rc = -1;
        } else {
            snprintf(q->arg, sizeof q->arg, "%s", v);
        }
    } else {
        json_t *on = json_object_get(b, "on");
        if (on && !json_is_boolean(on)) {
            fill(res, 400, json_pack("{s:s}", "error", "body must be {\"on\": true|false}"));
            rc = -1;
        }
        q->on = !on || json_is_true(on); /* no "on": drain */
    }
    json_decref(b);
    return rc;
}

/* SFU drain of one of this node's SFUs is answered at once. */
static void drain_local(admin_req_t *q, sfu_t *s, http_res_t *res)
{
    sfu_set_draining(s, q->on);
    LOG_I("admin", "sfu drain", "\"sfu\":\"%s\",\"draining\":%s,\"by\":\"%s\"", log_esc(sfu_id(s)),
          q->on ? "true" : "false", log_esc(q->who.sub));
    fill(res, 200,
         json_pack("{s:b, s:s, s:b, s:s}", "ok", 1, "id", sfu_id(s), "draining", q->on, "state",
                   state_str(sfu_get_state(s))));
}

/* Starts the route's store operation (q is its ud). Returns HTTP_DEFERRED, or HTTP_DONE after
 * answering in res (then q is freed by the caller). */
static int start(admin_req_t *q, http_res_t *res)
{
    live_t *app = q->app;
    store_t *st = app->store;
    switch (q->route) {
    case R_ROOMS:
        store_room_list(st, on_rooms, q);
        break;
    case R_ROOM:
        store_room_get(st, q->room, on_room, q);
        break;
    case R_VIEWERS:
        store_viewers_list(st, q->room, on_viewers, q);
        break;
    case R_KICK:
        store_room_get(st, q->room, on_kick_room, q);
        break;
    case R_END:
        store_room_stop(st, q->room, NULL, NULL, on_ended, q);
        break;
    case R_SFUS:
        store_sfu_list(st, on_sfus, q);
        break;
    case R_NODES:
        store_nodes_list(st, on_nodes, q);
        break;
    case R_RECORDINGS:
        live_admin_recordings(app, &q->who, on_recordings, q);
        break;
    case R_REC_STOP:
        live_admin_rec_stop(app, q->room, &q->who, on_recordings, q);
        break;
    case R_DRAIN: {
        sfu_t *s = sfu_pool_find(app->sfus, q->arg);
        if (s) {
            drain_local(q, s, res);
            return HTTP_DONE;
        }
        store_sfu_list(st, on_drain_lookup, q);
        break;
    }
    default:
        return HTTP_DONE;
    }
    return HTTP_DEFERRED;
}

static int on_admin(http_req_t *req, http_res_t *res, void *ud)
{
    live_t *app = ud;
    if (req->too_big) {
        fill(res, 413, json_pack("{s:s}", "error", "request body too large"));
        return HTTP_DONE;
    }
    admin_req_t *q = xcalloc(1, sizeof(*q));
    q->app = app;
    char seg[ADMIN_SEGS][ADMIN_ID_MAX * 3 + 1];
    const char *need = NULL;
    int n = split_path(req->path + strlen(ADMIN_PREFIX), seg);
    int rc = HTTP_DONE;
    if (authenticate(app, req, res, q) != 0) {
        goto done;
    }
    q->route = n < 0 ? -1 : match_route(seg, n, &need);
    if (q->route < 0) {
        fill(res, 404, json_pack("{s:s}", "error", "no such admin endpoint"));
        goto done;
    }
    if (strcmp(req->method, need) != 0 && !(!strcmp(need, "GET") && !strcmp(req->method, "HEAD"))) {
        http_res_header(res, "Allow", need);
        fill(res, 405, err_body("use %s for this endpoint%s", need, NULL));
        goto done;
    }
    if (q->route == R_DRAIN) {
        if (q->who.has_rooms) {
            fill(res, 403,
                 json_pack("{s:s}", "error", "a token limited to rooms cannot drain an SFU"));
            goto done;
        }
        /* the SFU id is percent-decoded (an operator-run SFU names itself) */
        char qs[sizeof seg[1] + 3];
        snprintf(qs, sizeof qs, "k=%s", seg[1]);
        if (http_query_get(qs, "k", q->arg, sizeof q->arg) <= 0) {
            fill(res, 400, json_pack("{s:s}", "error", "invalid SFU id"));
            goto done;
        }
    }
    if (n >= 2 && !strcmp(seg[0], "rooms")) {
        if (!room_id_ok(seg[1])) {
            fill(res, 400,
                 json_pack("{s:s}", "error", "room ids are 1-64 characters of A-Z a-z 0-9 _ -"));
            goto done;
        }
        memcpy(q->room, seg[1], strlen(seg[1]) + 1); /* room_id_ok: at most 64 bytes */
        if (!auth_allows_room(&q->who, q->room)) {
            fill(res, 403, err_body("your token does not allow room %s%s", q->room, NULL));
            goto done;
        }
    }
    if (read_body(q, req, res) != 0) {
        goto done;
    }
    if (app->closing) {
        fill(res, 503, json_pack("{s:s}", "error", "the node is shutting down"));
        goto done;
    }
    rc = start(q, res);
    if (rc == HTTP_DEFERRED) {
        q->conn = req->conn;
        http_conn_watch(req->conn, &conn_ops, q);
        return rc;
    }
done:
    req_free(q);
    return HTTP_DONE;
}

void live_admin_routes(live_t *app)
{
    http_route(app->http, NULL, ADMIN_PREFIX, HTTP_MATCH_PREFIX, ADMIN_MAX_BODY, on_admin, app);
}
