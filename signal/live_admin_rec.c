/* signal/live_admin_rec.c: GET /api/admin/recordings and POST /api/admin/rooms/ID/recording/stop
 * (docs/ONAIRCTL.md), see live_admin.h.
 *
 * Three asynchronous steps, none blocking the loop: the store's rooms (their room.recording is
 * what is being written now, on any node), uv_fs_scandir of the recordings directory (in
 * libuv's thread pool), then one uv_fs_lstat per recording file, one at a time. Bounded: at
 * most REC_SCAN_MAX files are looked at and REC_LIST_MAX listed, newest first. Only names a
 * recording can have are listed ([A-Za-z0-9_.-], not hidden, .webm or .mkv), so nothing else
 * in the directory (or reached through a symbolic link) is ever shown. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include "live_admin.h"
#include "live_rec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REC_LIST_MAX 1000  /* entries in an answer */
#define REC_SCAN_MAX 10000 /* recording files looked at (stat) */
#define REC_NAME_MAX 255

typedef struct rec_item {
    char *name;
    int64_t size, mtime_ms;
    bool ok; /* a regular file (lstat) */
} rec_item_t;

typedef struct rec_list {
    live_t *app;
    const auth_identity_t *who; /* the caller's, valid until done runs */
    live_admin_rec_cb done;
    void *ud;
    uv_fs_t req;
    json_t *active; /* file name -> {roomId, recording} of the store's rooms */
    rec_item_t *items;
    size_t n, next; /* items[next] is being stat-ed */
    size_t found;   /* recording files in the directory (may exceed n) */
    char path[4096 + REC_NAME_MAX + 2];
} rec_list_t;

bool live_admin_rec_name_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    if (n == 0 || n > REC_NAME_MAX || s[n] || s[0] == '.' || s[0] == '-') {
        return false;
    }
    const char *dot = strrchr(s, '.');
    return dot && dot > s && (!strcmp(dot, ".webm") || !strcmp(dot, ".mkv"));
}

/* "<room>-<ms>.<ext>" (live_rec.c's names): the room id and start time, or false. */
static bool parse_name(const char *name, char room[LIVE_ROOM_ID_MAX + 1], int64_t *started)
{
    const char *dot = strrchr(name, '.'), *dash = NULL;
    for (const char *p = name; p < dot; p++) {
        dash = *p == '-' ? p : dash;
    }
    size_t rl = dash ? (size_t)(dash - name) : 0, dl = dash ? (size_t)(dot - dash - 1) : 0;
    if (rl == 0 || rl > LIVE_ROOM_ID_MAX || dl == 0 || dl > 18 ||
        strspn(dash + 1, "0123456789") < dl || memchr(name, '.', rl)) {
        return false;
    }
    memcpy(room, name, rl);
    room[rl] = 0;
    *started = strtoll(dash + 1, NULL, 10);
    return true;
}

static void list_free(rec_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
    }
    free(l->items);
    json_decref(l->active);
    free(l);
}

static void finish_err(rec_list_t *l, int status, const char *msg)
{
    l->done(status, json_pack("{s:s}", "error", msg), l->ud);
    list_free(l);
}

static int cmp_item(const void *a, const void *b)
{
    const rec_item_t *x = a, *y = b;
    if (x->mtime_ms != y->mtime_ms) {
        return x->mtime_ms > y->mtime_ms ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* One entry; NULL when the caller's token does not allow its room. */
static json_t *entry(rec_list_t *l, const char *name, const rec_item_t *it)
{
    json_t *act = json_object_get(l->active, name);
    char room[LIVE_ROOM_ID_MAX + 1];
    int64_t started = 0;
    const char *rid = json_string_value(json_object_get(act, "roomId"));
    bool parsed = parse_name(name, room, &started);
    if (!rid && parsed) {
        rid = room;
    }
    json_t *rec = json_object_get(act, "recording");
    if (json_is_integer(json_object_get(rec, "startedAt"))) {
        started = json_integer_value(json_object_get(rec, "startedAt"));
    }
    if (l->who->has_rooms && (!rid || !auth_allows_room(l->who, rid))) {
        return NULL;
    }
    json_t *id = json_object_get(rec, "id");
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o}", "name", name, "roomId",
                     rid ? json_string(rid) : json_null(), "size",
                     it ? json_integer(it->size) : json_null(), "modifiedAt",
                     it ? json_integer(it->mtime_ms) : json_null(), "startedAt",
                     started > 0 ? json_integer(started) : json_null(), "live", act != NULL,
                     "recordingId", json_is_string(id) ? json_incref(id) : json_null());
}

static void answer(rec_list_t *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) { /* keep the regular files */
        if (l->items[i].ok) {
            l->items[n++] = l->items[i];
        } else {
            free(l->items[i].name);
        }
    }
    l->n = n;
    qsort(l->items, n, sizeof(*l->items), cmp_item);
    json_t *a = json_array(), *v;
    const char *file;
    bool truncated = l->found > REC_SCAN_MAX;
    /* being written but not (yet, or not on this node's disk) in the directory: first */
    json_object_foreach(l->active, file, v)
    {
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++) {
            listed = !strcmp(l->items[i].name, file);
        }
        json_t *e = listed ? NULL : entry(l, file, NULL);
        if (e) {
            json_array_append_new(a, e);
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = entry(l, l->items[i].name, &l->items[i]);
        if (e && json_array_size(a) >= REC_LIST_MAX) {
            json_decref(e);
            truncated = true;
            break;
        }
        if (e) {
            json_array_append_new(a, e);
        }
    }
    l->done(200,
            json_pack("{s:s, s:o, s:b}", "dir", l->app->cfg.recordings_dir, "recordings", a,
                      "truncated", truncated),
            l->ud);
    list_free(l);
}

static void stat_next(rec_list_t *l);

static void on_stat(uv_fs_t *req)
{
    rec_list_t *l = req->data;
    rec_item_t *it = &l->items[l->next];
    if (req->result == 0 && S_ISREG(req->statbuf.st_mode)) {
        it->ok = true;
        it->size = (int64_t)req->statbuf.st_size;
        it->mtime_ms =
            (int64_t)req->statbuf.st_mtim.tv_sec * 1000 + req->statbuf.st_mtim.tv_nsec / 1000000;
    }
    uv_fs_req_cleanup(req);
    l->next++;
    stat_next(l);
}

static void stat_next(rec_list_t *l)
{
    if (l->app->closing) {
        finish_err(l, 503, "the node is shutting down");
        return;
    }
    if (l->next == l->n) {
        answer(l);
        return;
    }
    snprintf(l->path, sizeof l->path, "%s/%s", l->app->cfg.recordings_dir, l->items[l->next].name);
    l->req.data = l;
    int rc = uv_fs_lstat(l->app->loop, &l->req, l->path, on_stat);
    if (rc != 0) {
        l->req.result = rc;
        on_stat(&l->req);
    }
}

static void on_scandir(uv_fs_t *req)
{
    rec_list_t *l = req->data;
    uv_dirent_t ent;
    if (req->result < 0 && req->result != UV_ENOENT) {
        LOG_W("admin", "cannot read the recordings directory", "\"dir\":\"%s\",\"error\":\"%s\"",
              log_esc(l->app->cfg.recordings_dir), uv_strerror((int)req->result));
        uv_fs_req_cleanup(req);
        finish_err(l, 500, "the recordings directory cannot be read");
        return;
    }
    size_t cap = 0;
    while (req->result > 0 && uv_fs_scandir_next(req, &ent) == 0) {
        if ((ent.type != UV_DIRENT_FILE && ent.type != UV_DIRENT_UNKNOWN) ||
            !live_admin_rec_name_ok(ent.name)) {
            continue;
        }
        if (l->found++ >= REC_SCAN_MAX) {
            continue;
        }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 64;
            l->items = xrealloc(l->items, cap * sizeof(*l->items));
        }
        l->items[l->n++] = (rec_item_t){ .name = xstrdup(ent.name) };
    }
    uv_fs_req_cleanup(req); /* no entries (ENOENT: not created yet): an empty list */
    stat_next(l);
}

static void on_rooms(store_t *st, const store_res_t *res, void *ud)
{
    rec_list_t *l = ud;
    if (res->err) {
        finish_err(l, res->err == STORE_EUNAVAILABLE || res->err == STORE_ECLOSED ? 503 : 500,
                   "the state store is unavailable; try again");
        return;
    }
    for (size_t i = 0; i < res->nrooms; i++) {
        const store_room_t *r = &res->rooms[i];
        json_t *rec = r->recording ? json_loads(r->recording, 0, NULL) : NULL;
        const char *file = json_string_value(json_object_get(rec, "file"));
        if (file && live_admin_rec_name_ok(file)) {
            json_object_set_new(l->active, file,
                                json_pack("{s:s, s:O}", "roomId", r->id, "recording", rec));
        }
        json_decref(rec);
    }
    if (l->app->closing) {
        finish_err(l, 503, "the node is shutting down");
        return;
    }
    l->req.data = l;
    int rc = uv_fs_scandir(l->app->loop, &l->req, l->app->cfg.recordings_dir, 0, on_scandir);
    if (rc != 0) {
        l->req.result = rc;
        on_scandir(&l->req);
    }
}

void live_admin_recordings(live_t *app, const auth_identity_t *who, live_admin_rec_cb done,
                           void *ud)
{
    rec_list_t *l = xcalloc(1, sizeof(*l));
    l->app = app;
    l->who = who;
    l->done = done;
    l->ud = ud;
    l->active = json_object();
    store_room_list(app->store, on_rooms, l);
}

/* ---- stop ------------------------------------------------------------------------------------ */

typedef struct rec_stop {
    live_t *app;
    const auth_identity_t *who;
    live_admin_rec_cb done;
    void *ud;
    char room[LIVE_ROOM_ID_MAX + 1];
} rec_stop_t;

static void on_stopped(live_t *app, app_err_t err, const char *msg, const char *recording, void *ud)
{
    rec_stop_t *x = ud;
    if (err) {
        int status = err == APP_ECONFLICT      ? 409
                     : err == APP_ENOT_FOUND   ? 404
                     : err == APP_EUNAVAILABLE ? 503
                                               : 500;
        x->done(status, json_pack("{s:s}", "error", msg ? msg : "internal error"), x->ud);
        free(x);
        return;
    }
    json_t *rec = recording ? json_loads(recording, 0, NULL) : NULL;
    if (recording) {
        LOG_I("admin", "recording stopped", "\"room\":\"%s\",\"recording\":%s,\"by\":\"%s\"",
              x->room, rec ? recording : "null", log_esc(x->who->sub));
    }
    x->done(200,
            json_pack("{s:b, s:s, s:b, s:o}", "ok", 1, "roomId", x->room, "stopped",
                      recording != NULL, "recording", rec ? rec : json_null()),
            x->ud);
    free(x);
}

static void on_stop_room(store_t *st, const store_res_t *res, void *ud)
{
    rec_stop_t *x = ud;
    if (res->err) {
        bool gone = res->err == STORE_ENOTFOUND;
        char msg[LIVE_ROOM_ID_MAX + 32];
        snprintf(msg, sizeof msg, "no such room: %s", x->room);
        x->done(
            gone ? 404 : 503,
            json_pack("{s:s}", "error", gone ? msg : "the state store is unavailable; try again"),
            x->ud);
        free(x);
        return;
    }
    live_rec_stop_admin(x->app, res->room, on_stopped, x); /* answers at once when closing */
}

void live_admin_rec_stop(live_t *app, const char *room, const auth_identity_t *who,
                         live_admin_rec_cb done, void *ud)
{
    rec_stop_t *x = xcalloc(1, sizeof(*x));
    x->app = app;
    x->who = who;
    x->done = done;
    x->ud = ud;
    snprintf(x->room, sizeof x->room, "%s", room);
    store_room_get(app->store, room, on_stop_room, x);
}
