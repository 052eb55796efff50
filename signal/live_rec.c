/* signal/live_rec.c: see live_rec.h. A recording's life: STARTING (socket bound, room.forward
 * asked) -> spawned, store updated -> RUNNING -> STOPPING (unforward + SIGTERM; out of the map)
 * -> the recorder exits -> its handle closes -> freed. Pending SFU and store replies hold the
 * room id and the recording id, never the pointer: a miss means the recording is gone. */
#include "live_rec.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_ID_MAX   (LIVE_ROOM_ID_MAX + 24)
#define REC_RCVBUF   (4 << 20)
#define REC_PATH_MAX 4096

enum {
    REC_STARTING,
    REC_RUNNING,
    REC_STOPPING
};

typedef struct live_rec {
    live_t *app;
    int state;
    char room[LIVE_ROOM_ID_MAX + 1];
    char id[REC_ID_MAX];       /* "<room>-<ms>": the recording id, the forward id, the file stem */
    char file[REC_ID_MAX + 8]; /* the file name in the recordings directory */
    char path[REC_PATH_MAX];
    char sfu[80]; /* where the forward is */
    int64_t started_at;
    int fd; /* the socket until the recorder has it, then -1 */
    int port;
    bool forwarded;
    uv_process_t proc;
    bool spawned;  /* proc is initialised (closed in on_proc_closed) */
    live_op_t *op; /* the start-recording waiting for its answer (STARTING) */
} live_rec_t;

/* A pending reply's key. */
typedef struct rec_ref {
    live_t *app;
    char room[LIVE_ROOM_ID_MAX + 1];
    char id[REC_ID_MAX];
    char json[REC_ID_MAX * 2 + 96]; /* stop: the recording the answer names */
    live_op_t *op;                  /* stop: the request to answer, or */
    live_rec_stop_cb done;          /* stop from the admin API: its callback */
    void *done_ud;
} rec_ref_t;

static strmap_t *recs(live_t *app)
{
    if (!app->recs.b) {
        strmap_init(&app->recs);
    }
    return &app->recs;
}

static rec_ref_t *ref_new(live_rec_t *r)
{
    rec_ref_t *x = xcalloc(1, sizeof(*x));
    x->app = r->app;
    snprintf(x->room, sizeof x->room, "%s", r->room);
    snprintf(x->id, sizeof x->id, "%s", r->id);
    return x;
}

/* The live recording a reply is about, or NULL when it is gone. */
static live_rec_t *ref_find(const rec_ref_t *x)
{
    live_rec_t *r = x->app->closing ? NULL : strmap_get(&x->app->recs, x->room);
    return r && !strcmp(r->id, x->id) ? r : NULL;
}

static void rec_json(const live_rec_t *r, char *out, size_t cap)
{
    snprintf(out, cap, "{\"id\":\"%s\",\"startedAt\":%lld,\"file\":\"%s\"}", r->id,
             (long long)r->started_at, r->file);
}

/* --recorder-bin, by default onair-recorder next to this binary; NULL when unknown. */
static const char *recorder_bin(live_t *app)
{
    static char next_to_me[REC_PATH_MAX];
    if (app->cfg.recorder_bin && *app->cfg.recorder_bin) {
        return app->cfg.recorder_bin;
    }
    size_t n = sizeof next_to_me;
    if (!next_to_me[0] && uv_exepath(next_to_me, &n) == 0) {
        char *slash = strrchr(next_to_me, '/');
        if (slash && (size_t)(slash - next_to_me) + sizeof "/onair-recorder" <= sizeof next_to_me) {
            strcpy(slash, "/onair-recorder");
        } else {
            next_to_me[0] = 0;
        }
    }
    return next_to_me[0] ? next_to_me : NULL;
}

static void reply_recording(live_op_t *op, const char *json)
{
    char extra[REC_ID_MAX * 2 + 128];
    snprintf(extra, sizeof extra, "\"recording\":%s", json ? json : "null");
    live_reply_ok(op, extra);
}

/* ---- ending ---------------------------------------------------------------------------------- */

static void on_proc_closed(uv_handle_t *h)
{
    free(h->data);
}

static void rec_free(live_rec_t *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r->op) {
        free(r->op);
        r->op = NULL;
    }
    if (r->spawned) {
        uv_close((uv_handle_t *)&r->proc, on_proc_closed); /* frees r */
    } else {
        free(r);
    }
}

/* Takes r out of the map and ends its forward (the recorder sees the RTCP BYE). */
static void detach(live_rec_t *r, const char *why)
{
    live_t *app = r->app;
    if (strmap_get(&app->recs, r->room) == r) {
        strmap_del(&app->recs, r->room);
    }
    r->state = REC_STOPPING;
    sfu_t *sfu = r->forwarded ? sfu_pool_find(app->sfus, r->sfu) : NULL;
    if (sfu && sfu_get_state(sfu) == SFU_READY && !app->closing) {
        sfu_call(sfu, "room.unforward", json_pack("{s:s,s:s}", "room", r->room, "id", r->id), NULL,
                 NULL);
    }
    LOG_I("rec", "recording stopping", "\"room\":\"%s\",\"id\":\"%s\",\"why\":\"%s\"", r->room,
          r->id, why);
}

/* detach, then SIGTERM: the recorder finishes its file and exits; r is freed after that. */
static void rec_stop(live_rec_t *r, const char *why)
{
    detach(r, why);
    if (r->spawned && uv_is_active((uv_handle_t *)&r->proc)) {
        uv_process_kill(&r->proc, SIGTERM);
        return; /* on_proc_exit frees r */
    }
    rec_free(r);
}

static void on_proc_exit(uv_process_t *proc, int64_t status, int sig)
{
    live_rec_t *r = proc->data;
    live_t *app = r->app;
    LOG_I("rec", "recorder exited", "\"room\":\"%s\",\"id\":\"%s\",\"status\":%lld,\"signal\":%d",
          r->room, r->id, (long long)status, sig);
    if (r->state != REC_STOPPING && !app->closing) {
        /* it ended by itself (its input stopped, or it failed): the room is not recording */
        if (r->op) {
            live_reply_err(r->op, APP_EINTERNAL, "the recorder stopped");
        }
        bool was_running = r->state == REC_RUNNING;
        detach(r, "recorder exited");
        if (was_running) {
            store_patch_t patch = { .set = STORE_SET_RECORDING, .recording = NULL };
            store_room_update(app->store, r->room, NULL, true, &patch, NULL, NULL);
        }
    }
    rec_free(r); /* the handle is inactive now: uv_close, then free */
}

/* ---- starting -------------------------------------------------------------------------------- */

static void start_failed(live_rec_t *r, app_err_t code, const char *msg)
{
    if (r->op) {
        live_reply_err(r->op, code, msg);
    }
    rec_stop(r, msg);
}

static void on_stored(store_t *st, const store_res_t *res, void *ud)
{
    rec_ref_t *x = ud;
    live_rec_t *r = ref_find(x);
    live_t *app = x->app;
    if (!r && res->err == 0 && res->changed && !app->closing && !strmap_get(&app->recs, x->room)) {
        /* the recorder died before this write landed: the room is not recording */
        store_patch_t patch = { .set = STORE_SET_RECORDING, .recording = NULL };
        store_room_update(app->store, x->room, NULL, true, &patch, NULL, NULL);
    }
    free(x);
    if (!r) {
        return; /* stopped meanwhile; its request was answered then */
    }
    if (res->err) {
        live_reply_store_err(r->op, res);
        rec_stop(r, "store refused");
        return;
    }
    if (!res->changed) {
        start_failed(r, APP_ECONFLICT, "the stream is not live");
        return;
    }
    r->state = REC_RUNNING;
    char json[REC_ID_MAX * 2 + 96];
    rec_json(r, json, sizeof json);
    reply_recording(r->op, json);
    free(r->op);
    r->op = NULL;
    LOG_I("rec", "recording", "\"room\":\"%s\",\"id\":\"%s\",\"file\":\"%s\",\"pid\":%d", r->room,
          r->id, log_esc(r->path), r->proc.pid);
}

/* Spawns onair-recorder with the socket as fd 3. Returns 0 or -1 (logged). */
static int spawn(live_rec_t *r)
{
    live_t *app = r->app;
    char *bin = (char *)recorder_bin(app);
    char *args[] = { bin, "--fd", "3", "--out", r->path, "--id", r->id, NULL };
    uv_stdio_container_t stdio[4] = {
        { .flags = UV_IGNORE },
        { .flags = UV_INHERIT_FD, .data.fd = 1 },
        { .flags = UV_INHERIT_FD, .data.fd = 2 },
        { .flags = UV_INHERIT_FD, .data.fd = r->fd },
    };
    uv_process_options_t o = {
        .exit_cb = on_proc_exit, .file = bin, .args = args, .stdio_count = 4, .stdio = stdio
    };
    r->proc.data = r;
    int rc = uv_spawn(app->loop, &r->proc, &o);
    r->spawned = true; /* initialised even on failure */
    close(r->fd);      /* the recorder has its copy */
    r->fd = -1;
    if (rc != 0) {
        LOG_E("rec", "cannot spawn the recorder", "\"bin\":\"%s\",\"error\":\"%s\"", log_esc(bin),
              uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void on_forwarded(const char *sfu_id, const char *err, const char *msg, json_t *result,
                         void *ud)
{
    rec_ref_t *x = ud;
    live_rec_t *r = ref_find(x);
    live_t *app = x->app;
    char room[LIVE_ROOM_ID_MAX + 1], id[REC_ID_MAX];
    snprintf(room, sizeof room, "%s", x->room);
    snprintf(id, sizeof id, "%s", x->id);
    free(x);
    const char *sdp = json_string_value(json_object_get(result, "sdp"));
    if (!r) {
        /* stopped before the SFU answered: take back a forward nobody reads */
        sfu_t *sfu = !err && !app->closing ? sfu_pool_find(app->sfus, sfu_id) : NULL;
        if (sfu && sfu_get_state(sfu) == SFU_READY) {
            sfu_call(sfu, "room.unforward", json_pack("{s:s,s:s}", "room", room, "id", id), NULL,
                     NULL);
        }
        return;
    }
    if (err || !sdp) {
        bool nomedia = err && !strcmp(err, "not_found");
        LOG_W("rec", "forward refused", "\"room\":\"%s\",\"error\":\"%s\",\"msg\":\"%s\"", r->room,
              log_esc(err ? err : "no sdp"), log_esc(msg));
        start_failed(r, nomedia ? APP_ECONFLICT : APP_EUNAVAILABLE,
                     nomedia ? "the stream has no media yet; publish first"
                             : "the media server cannot record now; try again");
        return;
    }
    r->forwarded = true;
    /* the container follows the video codec: Matroska for H.264, WebM otherwise */
    bool h264 = strstr(sdp, " H264/90000") != NULL;
    snprintf(r->file, sizeof r->file, "%s.%s", r->id, h264 ? "mkv" : "webm");
    snprintf(r->path, sizeof r->path, "%s/%s", app->cfg.recordings_dir, r->file);
    if (spawn(r) != 0) {
        start_failed(r, APP_EINTERNAL, "the recorder could not be started");
        return;
    }
    char json[REC_ID_MAX * 2 + 96];
    rec_json(r, json, sizeof json);
    store_patch_t patch = { .set = STORE_SET_RECORDING, .recording = json };
    store_room_update(app->store, r->room, r->op->sub, true, &patch, on_stored, ref_new(r));
}

/* mkdir -p of the recordings directory. Returns 0 or -1 with errno. */
static int make_dir(const char *dir)
{
    char p[REC_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *c = p + 1; *c; c++) {
        if (*c == '/') {
            *c = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *c = '/';
        }
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks. Returns the fd or -1. */
static int bind_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    int sz = REC_RCVBUF; /* the recorder may pause on its disk writes: let the kernel hold */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void start(live_op_t *op, const store_room_t *room)
{
    live_t *app = op->app;
    live_rec_t *cur = strmap_get(recs(app), op->room);
    if (!room->live) {
        live_reply_err(op, APP_ECONFLICT, "the stream is not live");
    } else if (cur && cur->state == REC_RUNNING) {
        char json[REC_ID_MAX * 2 + 96];
        rec_json(cur, json, sizeof json);
        reply_recording(op, json); /* already recording: the same recording */
    } else if (cur) {
        live_reply_err(op, APP_ECONFLICT, "the recording is being started");
    } else if (!recorder_bin(app) || access(recorder_bin(app), X_OK) != 0) {
        live_reply_err(op, APP_EUNAVAILABLE, "recording is not available on this server");
    } else {
        sfu_t *sfu = room->sfu ? sfu_pool_find(app->sfus, room->sfu) : NULL;
        if (!sfu || sfu_get_state(sfu) != SFU_READY) {
            live_reply_err(op, APP_EUNAVAILABLE,
                           "the room's media server is not reachable from this server node");
        } else if (make_dir(app->cfg.recordings_dir) != 0) {
            LOG_E("rec", "cannot create the recordings directory",
                  "\"dir\":\"%s\",\"error\":\"%s\"", log_esc(app->cfg.recordings_dir),
                  strerror(errno));
            live_reply_err(op, APP_EINTERNAL, "the recordings directory cannot be created");
        } else {
            live_rec_t *r = xcalloc(1, sizeof(*r));
            r->app = app;
            r->state = REC_STARTING;
            snprintf(r->room, sizeof r->room, "%s", op->room);
            r->started_at = clock_wall_ms();
            snprintf(r->id, sizeof r->id, "%s-%lld", op->room, (long long)r->started_at);
            snprintf(r->sfu, sizeof r->sfu, "%s", sfu_id(sfu));
            if ((r->fd = bind_socket(&r->port)) < 0) {
                LOG_E("rec", "cannot bind a recording socket", "\"error\":\"%s\"", strerror(errno));
                live_reply_err(op, APP_EINTERNAL, "the recording could not be set up");
                free(r);
                free(op);
                return;
            }
            r->op = op;
            strmap_put(&app->recs, r->room, r);
            json_t *params = json_pack("{s:s,s:s,s:s,s:i}", "room", r->room, "id", r->id, "host",
                                       "127.0.0.1", "port", r->port);
            sfu_call(sfu, "room.forward", params, on_forwarded, ref_new(r));
            return; /* on_forwarded, then on_stored answer op */
        }
    }
    free(op);
}

/* ---- stopping -------------------------------------------------------------------------------- */

/* Answers a stop: the socket's ack (op, freed) or the admin API's callback. */
static void stop_answer(live_t *app, live_op_t *op, live_rec_stop_cb done, void *ud, app_err_t err,
                        const char *msg, const char *json)
{
    if (op) {
        if (err) {
            live_reply_err(op, err, msg);
        } else {
            reply_recording(op, json);
        }
        free(op);
    } else {
        done(app, err, msg, json, ud);
    }
}

static void on_cleared(store_t *st, const store_res_t *res, void *ud)
{
    rec_ref_t *x = ud;
    if (res->err && x->op) {
        live_reply_store_err(x->op, res);
        free(x->op);
    } else if (res->err) {
        x->done(x->app, store_err_app(res->err), store_strerror(res->err), NULL, x->done_ud);
    } else {
        stop_answer(x->app, x->op, x->done, x->done_ud, APP_OK, NULL, x->json);
    }
    free(x);
}

/* Stops room's recording for op (stop-recording: sub owns the room) or for the admin API (done,
 * no owner check). */
static void stop(live_t *app, const store_room_t *room, live_op_t *op, live_rec_stop_cb done,
                 void *ud)
{
    live_rec_t *cur = strmap_get(recs(app), room->id);
    if (cur && cur->state == REC_STARTING) {
        stop_answer(app, op, done, ud, APP_ECONFLICT, "the recording is being started; try again",
                    NULL);
        return;
    }
    if (!cur && !room->recording) {
        stop_answer(app, op, done, ud, APP_OK, NULL, NULL); /* not recording: nothing to stop */
        return;
    }
    if (!cur && room->owner_node && strcmp(room->owner_node, app->cfg.node_id) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "the recording runs on node %s: ask that node", room->owner_node);
        /* stop-recording: unavailable (PROTOCOL.md); the admin API: conflict, with the node */
        stop_answer(app, op, done, ud, op ? APP_EUNAVAILABLE : APP_ECONFLICT,
                    op ? "the recording runs on another server node" : msg, NULL);
        return;
    }
    rec_ref_t *x = xcalloc(1, sizeof(*x));
    x->app = app;
    x->op = op;
    x->done = done;
    x->done_ud = ud;
    if (cur) {
        rec_json(cur, x->json, sizeof x->json);
        rec_stop(cur, op ? "stop-recording" : "admin stop");
    } else {
        /* a recording this node no longer runs (it restarted): clear the stale state */
        snprintf(x->json, sizeof x->json, "%s", room->recording);
    }
    store_patch_t patch = { .set = STORE_SET_RECORDING, .recording = NULL };
    store_room_update(app->store, room->id, op ? op->sub : NULL, false, &patch, on_cleared, x);
}

void live_rec_stop_admin(live_t *app, const store_room_t *room, live_rec_stop_cb done, void *ud)
{
    if (app->closing) {
        done(app, APP_EUNAVAILABLE, "the node is shutting down", NULL, ud);
    } else {
        stop(app, room, NULL, done, ud);
    }
}

void live_rec_request(live_op_t *op, const store_room_t *room, bool start_it)
{
    if (op->app->closing) {
        free(op);
    } else if (start_it) {
        start(op, room);
    } else {
        stop(op->app, room, op, NULL, NULL);
    }
}

void live_rec_room_ended(live_t *app, const char *room)
{
    live_rec_t *r = app->recs.b ? strmap_get(&app->recs, room) : NULL;
    if (!r) {
        return;
    }
    if (r->op) {
        live_reply_err(r->op, APP_ECONFLICT, "the stream ended");
        free(r->op);
        r->op = NULL;
    }
    rec_stop(r, "broadcast ended");
}

void live_rec_close_all(live_t *app)
{
    if (!app->recs.b) {
        return;
    }
    size_t i, n = 0;
    live_rec_t **all = xcalloc(app->recs.n + 1, sizeof(*all));
    for (strmap_ent_t *e = strmap_first(&app->recs, &i); e; e = strmap_next(&app->recs, e, &i)) {
        all[n++] = e->val;
    }
    for (size_t k = 0; k < n; k++) {
        live_rec_t *r = all[k];
        if (r->op) {
            live_reply_err(r->op, APP_EUNAVAILABLE, "the server is shutting down");
        }
        strmap_del(&app->recs, r->room);
        if (r->spawned && uv_is_active((uv_handle_t *)&r->proc)) {
            /* it finishes its file on its own; the loop must not wait for it */
            uv_process_kill(&r->proc, SIGTERM);
        }
        LOG_I("rec", "recording stopping", "\"room\":\"%s\",\"id\":\"%s\",\"why\":\"shutdown\"",
              r->room, r->id);
        rec_free(r);
    }
    free(all);
    strmap_deinit(&app->recs);
}
