/* signal/sfu_pool.c: RPC client connections to onair-sfu processes, spawning and supervising
 * them in spawn mode (see sfu_pool.h); membership (run-time add/remove, the watched socket
 * directory, the registry) is in sfu_pool_set.c. Ownership: the pool owns its sfu_t objects;
 * each sfu_t owns its pipe, timer and process handles and its pending calls. Pending calls are
 * answered exactly once: by a reply, by the sweep timer (timeout) or when the connection
 * drops. A removed SFU stays in the list, marked closing, until its handles have closed; the
 * public lookups skip it. */
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "../proto/rpc.h"
#include "sfu_pool_int.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_MIN_MS   50
#define RETRY_MAX_MS   2000
#define RESPAWN_MIN_MS 200
#define RESPAWN_MAX_MS 5000
#define SWEEP_MS       50

const double sfu_lat_bounds_ms[SFU_LAT_BUCKETS] = { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000 };

static void sfu_spawn(sfu_t *s);

static void on_retry_timer(uv_timer_t *t)
{
    sfu_t *s = t->data;
    if (s->removing) {
        sfu__shutdown(s);
    } else {
        sfu__connect(s);
    }
}

static void on_respawn_timer(uv_timer_t *t)
{
    sfu_spawn(t->data);
}

/* ---- calls ------------------------------------------------------------------------------- */

static void call_finish(sfu_pool_t *p, call_t *c, const char *err, const char *msg, json_t *result)
{
    list_remove(&c->node);
    double ms = (double)(clock_mono_us() - c->start_us) / 1000.0;
    if (err && !strcmp(err, "timeout")) {
        p->stats.timeouts++;
    } else if (err) {
        p->stats.errors++;
    }
    if (!err || strcmp(err, "unavailable") != 0) {
        p->stats.lat_count++;
        p->stats.lat_sum_ms += ms;
        for (int i = 0; i < SFU_LAT_BUCKETS; i++) {
            if (ms <= sfu_lat_bounds_ms[i]) {
                p->stats.lat_bucket[i]++;
            }
        }
    }
    if (c->cb) {
        c->cb(c->sfu_id, err, msg ? msg : "", result, c->ud);
    }
    free(c->sfu_id);
    free(c);
}

static void fail_all(sfu_t *s, const char *err, const char *msg)
{
    while (!list_empty(&s->pending)) {
        call_finish(s->pool, list_entry(s->pending.next, call_t, node), err, msg, NULL);
    }
}

static void on_sweep(uv_timer_t *t)
{
    sfu_pool_t *p = t->data;
    uint64_t now = clock_mono_ms();
    while (!list_empty(&p->deferred)) {
        call_t *c = list_entry(p->deferred.next, call_t, node);
        call_finish(p, c, c->err, "the media server is not available", NULL);
    }
    list_t *pos, *tmp, *sp;
    list_foreach(sp, &p->sfus)
    {
        sfu_t *s = list_entry(sp, sfu_t, node);
        list_foreach_safe(pos, tmp, &s->pending)
        {
            call_t *c = list_entry(pos, call_t, node);
            if (c->deadline_ms <= now) {
                LOG_W("sfu", "rpc call timed out", "\"sfu\":\"%s\",\"id\":%lld", log_esc(s->id),
                      (long long)c->id);
                call_finish(p, c, "timeout", "the media server did not answer in time", NULL);
            }
        }
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct wreq {
    uv_write_t req;
    uint8_t *data;
} wreq_t;

static void on_written(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    free(w->data);
    free(w);
}

static int sfu_send(sfu_t *s, json_t *msg)
{
    buf_t b;
    buf_init(&b, RPC_HDR_LEN + RPC_MAX_FRAME);
    int rc = rpc_encode(&b, msg);
    if (rc != 0) {
        buf_deinit(&b);
        return rc;
    }
    wreq_t *w = xmalloc(sizeof(*w));
    size_t len;
    w->data = buf_steal(&b, &len);
    uv_buf_t ub = uv_buf_init((char *)w->data, (unsigned)len);
    rc = uv_write(&w->req, (uv_stream_t *)&s->pipe, &ub, 1, on_written);
    if (rc != 0) {
        free(w->data);
        free(w);
    }
    return rc;
}

int sfu_call(sfu_t *s, const char *method, json_t *params, sfu_reply_cb cb, void *ud)
{
    sfu_pool_t *p = s->pool;
    call_t *c = xcalloc(1, sizeof(*c));
    c->start_us = clock_mono_us();
    c->deadline_ms = clock_mono_ms() + p->call_timeout_ms;
    c->cb = cb;
    c->ud = ud;
    c->sfu_id = xstrdup(s->id);
    p->stats.calls++;
    rpc_method_t m = rpc_method_from_str(method);
    if (s->state != SFU_READY || m == RPC_M_UNKNOWN) {
        json_decref(params);
        c->err = m == RPC_M_UNKNOWN ? "unknown_method" : "unavailable";
        list_insert_tail(&p->deferred, &c->node);
        return -1;
    }
    if (m == RPC_M_PUBLISHER_OFFER || m == RPC_M_SUBSCRIBER_CREATE) {
        s->asked++; /* placement counts it before the next stats do */
    }
    c->id = s->next_id++;
    json_t *req = rpc_request_new(c->id, m, params);
    int rc = sfu_send(s, req);
    json_decref(req);
    if (rc != 0) {
        c->err = "unavailable";
        list_insert_tail(&p->deferred, &c->node);
        return -1;
    }
    list_insert_tail(&s->pending, &c->node);
    return 0;
}

/* ---- connection state -------------------------------------------------------------------- */

static void set_state(sfu_t *s, sfu_state_t st, json_t *resumed)
{
    sfu_state_t old = s->state;
    if (old == st) {
        return;
    }
    s->state = st;
    if (st == SFU_READY) {
        LOG_I("sfu", "sfu ready", "\"sfu\":\"%s\",\"socket\":\"%s\"", log_esc(s->id),
              log_esc(s->sock_path));
    } else if (old == SFU_READY) {
        LOG_W("sfu", "sfu down", "\"sfu\":\"%s\",\"socket\":\"%s\"", log_esc(s->id),
              log_esc(s->sock_path));
    }
    if (s->pool->on_state && !s->pool->closing) {
        s->pool->on_state(s, old, st, resumed, s->pool->ud);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    sfu_t *s = h->data;
    sfu_pool_t *p = s->pool;
    if (h == (uv_handle_t *)&s->pipe) {
        s->pipe_active = false;
        buf_reset(&s->rbuf);
        if (!s->closing && !s->removing) {
            uv_timer_start(&s->retry_timer, on_retry_timer, s->retry_ms, 0);
            s->retry_ms = s->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : s->retry_ms * 2;
        }
    }
    if (h == (uv_handle_t *)&s->proc) {
        s->proc_active = false;
    }
    if (--s->handles == 0 && s->closing) {
        LOG_D("sfu", "sfu entry freed", "\"sfu\":\"%s\"", log_esc(s->id));
        list_remove(&s->node);
        buf_deinit(&s->rbuf);
        free(s->id);
        free(s->sock_path);
        free(s);
        p->handles--;
        pool__maybe_free(p);
    }
}

static void drop_connection(sfu_t *s, const char *why)
{
    if (!s->pipe_active || uv_is_closing((uv_handle_t *)&s->pipe)) {
        return;
    }
    LOG_D("sfu", "rpc connection closed", "\"sfu\":\"%s\",\"why\":\"%s\"", log_esc(s->id),
          log_esc(why));
    fail_all(s, "unavailable", "the media server went away");
    set_state(s, SFU_DOWN, NULL);
    uv_close((uv_handle_t *)&s->pipe, on_handle_closed);
}

/* Load fields of a stats result or of hello's "load". */
static void take_load(sfu_t *s, json_t *load)
{
    if (!json_is_object(load)) {
        return;
    }
    s->peers = (uint64_t)json_integer_value(json_object_get(load, "peers"));
    s->rooms = (uint64_t)json_integer_value(json_object_get(load, "rooms"));
    s->bitrate_in = (uint64_t)json_number_value(json_object_get(load, "bitrate_in"));
    s->bitrate_out = (uint64_t)json_number_value(json_object_get(load, "bitrate_out"));
    s->cpu = json_number_value(json_object_get(load, "cpu"));
    json_t *od = json_object_get(load, "overload_drops");
    if (json_is_integer(od)) {
        s->overload_drops = (uint64_t)json_integer_value(od);
    }
    json_t *max = json_object_get(load, "max_peers");
    if (json_is_integer(max)) {
        s->max_peers = (uint64_t)json_integer_value(max);
    }
    json_t *dr = json_object_get(load, "draining");
    if (json_is_boolean(dr) && s->drain_calls == 0) {
        if (s->draining != json_is_true(dr)) {
            LOG_I("sfu", "sfu drain state", "\"sfu\":\"%s\",\"draining\":%s", log_esc(s->id),
                  json_is_true(dr) ? "true" : "false");
        }
        s->draining = json_is_true(dr);
    }
    s->asked = 0;
}

static void handle_hello(sfu_t *s, rpc_msg_t *m)
{
    if (m->err != RPC_OK || !json_is_object(m->body)) {
        LOG_E("sfu", "hello refused", "\"sfu\":\"%s\",\"error\":\"%s\"", log_esc(s->id),
              log_esc(m->err_msg));
        drop_connection(s, "hello refused");
        return;
    }
    const char *id = json_string_value(json_object_get(m->body, "sfu_id"));
    if (id && *id && strcmp(id, s->id) != 0 && !s->spawned) {
        sfu_t *other = sfu_pool_find(s->pool, id);
        if (other) {
            /* the same SFU under two socket paths (a link, or the registry's and ours) */
            LOG_W("sfu", "sfu known already under another socket path: entry dropped",
                  "\"sfu\":\"%s\",\"socket\":\"%s\",\"known_socket\":\"%s\"", log_esc(id),
                  log_esc(s->sock_path), log_esc(other->sock_path));
            sfu_pool_remove(s->pool, s->id);
            return;
        }
        free(s->id);
        s->id = xstrdup(id);
    }
    s->retry_ms = RETRY_MIN_MS;
    s->respawn_ms = RESPAWN_MIN_MS;
    json_t *max = json_object_get(json_object_get(m->body, "capacity"), "max_peers");
    if (json_is_integer(max)) {
        s->max_peers = (uint64_t)json_integer_value(max);
    }
    take_load(s, json_object_get(m->body, "load"));
    json_t *dr = json_object_get(m->body, "draining");
    if (json_is_boolean(dr) && s->drain_calls == 0) {
        s->draining = json_is_true(dr);
    }
    json_t *resumed = json_object_get(m->body, "resumed");
    set_state(s, SFU_READY, json_is_array(resumed) && json_array_size(resumed) ? resumed : NULL);
}

static void handle_message(sfu_t *s, const uint8_t *payload, size_t len)
{
    rpc_msg_t m;
    const char *why = NULL;
    if (rpc_msg_decode(&m, payload, len, &why) != 0) {
        LOG_W("sfu", "bad rpc message", "\"sfu\":\"%s\",\"why\":\"%s\"", log_esc(s->id),
              log_esc(why));
        rpc_msg_deinit(&m);
        return;
    }
    if (m.kind == RPC_KIND_RESPONSE) {
        if (m.id == s->hello_id && s->state == SFU_CONNECTING) {
            handle_hello(s, &m);
        } else {
            list_t *pos;
            list_foreach(pos, &s->pending)
            {
                call_t *c = list_entry(pos, call_t, node);
                if (c->id == m.id) {
                    call_finish(s->pool, c, m.err == RPC_OK ? NULL : rpc_err_str(m.err), m.err_msg,
                                m.body);
                    break;
                }
            }
        }
    } else if (m.kind == RPC_KIND_EVENT) {
        if (m.event == RPC_EV_STATS) {
            take_load(s, json_object_get(m.body, "load"));
        }
        if (m.event == RPC_EV_ERROR) {
            LOG_W("sfu", "sfu error event", "\"sfu\":\"%s\",\"message\":\"%s\"", log_esc(s->id),
                  log_esc(json_string_value(json_object_get(m.body, "message"))));
        }
        if (s->pool->on_event && m.name) {
            s->pool->on_event(s, m.name, m.body, s->pool->ud);
        }
    }
    rpc_msg_deinit(&m);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    sfu_t *s = h->data;
    if (buf_reserve(&s->rbuf, 65536) != 0) {
        *b = uv_buf_init(NULL, 0);
        return;
    }
    *b = uv_buf_init((char *)s->rbuf.data + s->rbuf.len, 65536);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    sfu_t *s = st->data;
    if (n < 0) {
        drop_connection(s, uv_strerror((int)n));
        return;
    }
    s->rbuf.len += (size_t)n;
    size_t off = 0;
    while (s->pipe_active && !uv_is_closing((uv_handle_t *)&s->pipe)) {
        const uint8_t *payload;
        size_t plen;
        const char *why = NULL;
        ssize_t used = rpc_frame_decode(s->rbuf.data + off, s->rbuf.len - off, RPC_MAX_FRAME,
                                        &payload, &plen, &why);
        if (used == PROTO_EAGAIN) {
            break;
        }
        if (used < 0) {
            LOG_E("sfu", "rpc framing error", "\"sfu\":\"%s\",\"why\":\"%s\"", log_esc(s->id),
                  log_esc(why));
            drop_connection(s, "framing error");
            return;
        }
        handle_message(s, payload, plen);
        off += (size_t)used;
    }
    buf_consume(&s->rbuf, off);
}

static void on_connected(uv_connect_t *req, int status)
{
    sfu_t *s = req->data;
    if (status != 0) {
        LOG_D("sfu", "rpc connect failed", "\"sfu\":\"%s\",\"error\":\"%s\"", log_esc(s->id),
              uv_strerror(status));
        if (!uv_is_closing((uv_handle_t *)&s->pipe)) {
            uv_close((uv_handle_t *)&s->pipe, on_handle_closed);
        }
        return;
    }
    if (s->closing) {
        return;
    }
    uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read);
    set_state(s, SFU_CONNECTING, NULL);
    s->hello_id = s->next_id++;
    /* resume: false: this node treats a lost SFU connection as the loss of its peers there
     * (live_media_on_state forgets them), so what the SFU kept of them must go too */
    json_t *params =
        json_pack("{s:i, s:s, s:b}", "version", RPC_VERSION, "node", s->pool->node_id, "resume", 0);
    json_t *req_msg = rpc_request_new(s->hello_id, RPC_M_HELLO, params);
    if (sfu_send(s, req_msg) != 0) {
        drop_connection(s, "hello write failed");
    }
    json_decref(req_msg);
}

void sfu__connect(sfu_t *s)
{
    if (s->closing || s->pipe_active) {
        return;
    }
    uv_pipe_init(s->pool->loop, &s->pipe, 0);
    s->pipe.data = s;
    s->pipe_active = true;
    s->handles++;
    /* the pipe's close callback decrements handles again */
    s->connect_req.data = s;
    uv_pipe_connect(&s->connect_req, &s->pipe, s->sock_path, on_connected);
}

/* ---- spawn mode -------------------------------------------------------------------------- */

static void on_proc_exit(uv_process_t *proc, int64_t status, int sig)
{
    sfu_t *s = proc->data;
    s->proc_running = false;
    if (s->closing) {
        uv_close((uv_handle_t *)proc, on_handle_closed);
        return;
    }
    LOG_E("sfu", "sfu process exited", "\"sfu\":\"%s\",\"status\":%lld,\"signal\":%d",
          log_esc(s->id), (long long)status, sig);
    s->pool->stats.restarts++;
    drop_connection(s, "process exited");
    uv_close((uv_handle_t *)proc, on_handle_closed);
    /* a process that lived long was healthy: restart it quickly */
    if (clock_mono_ms() - s->started_ms > 30000) {
        s->respawn_ms = RESPAWN_MIN_MS;
    }
    uv_timer_start(&s->respawn_timer, on_respawn_timer, s->respawn_ms, 0);
    s->respawn_ms = s->respawn_ms * 2 > RESPAWN_MAX_MS ? RESPAWN_MAX_MS : s->respawn_ms * 2;
}

static void sfu_spawn(sfu_t *s)
{
    if (s->closing || s->proc_active) {
        return;
    }
    sfu_pool_t *p = s->pool;
    unlink(s->sock_path);
    char *args[] = { p->sfu_bin, "--rpc",  s->sock_path, "--ip", p->ip,
                     "--ports",  s->ports, "--id",       s->id,  NULL };
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_IGNORE },
        { .flags = UV_INHERIT_FD, .data.fd = 1 },
        { .flags = UV_INHERIT_FD, .data.fd = 2 },
    };
    uv_process_options_t o = {
        .exit_cb = on_proc_exit, .file = p->sfu_bin, .args = args, .stdio_count = 3, .stdio = stdio
    };
    s->proc.data = s;
    int rc = uv_spawn(p->loop, &s->proc, &o);
    s->proc_active = true; /* uv_spawn initialises the handle even on failure */
    s->handles++;
    if (rc != 0) {
        LOG_E("sfu", "cannot spawn sfu", "\"bin\":\"%s\",\"error\":\"%s\"", log_esc(p->sfu_bin),
              uv_strerror(rc));
        uv_close((uv_handle_t *)&s->proc, on_handle_closed);
        uv_timer_start(&s->respawn_timer, on_respawn_timer, RESPAWN_MAX_MS, 0);
        return;
    }
    s->proc_running = true;
    s->started_ms = clock_mono_ms();
    LOG_I("sfu", "sfu spawned", "\"sfu\":\"%s\",\"pid\":%d,\"socket\":\"%s\",\"ports\":\"%s\"",
          log_esc(s->id), s->proc.pid, log_esc(s->sock_path), s->ports);
    s->retry_ms = RETRY_MIN_MS;
    if (!s->pipe_active && !s->removing) {
        uv_timer_start(&s->retry_timer, on_retry_timer, RETRY_MIN_MS, 0);
    }
}

/* ---- pool ---------------------------------------------------------------------------------- */

sfu_t *sfu__new(sfu_pool_t *p, const char *id, const char *path, sfu_origin_t origin)
{
    sfu_t *s = xcalloc(1, sizeof(*s));
    s->pool = p;
    s->id = xstrdup(id);
    s->sock_path = xstrdup(path);
    s->origin = origin;
    s->spawned = origin == SFU_SPAWNED;
    s->next_id = 1;
    s->retry_ms = RETRY_MIN_MS;
    s->respawn_ms = RESPAWN_MIN_MS;
    buf_init(&s->rbuf, RPC_HDR_LEN + RPC_MAX_FRAME + 65536);
    list_init(&s->pending);
    uv_timer_init(p->loop, &s->retry_timer);
    uv_timer_init(p->loop, &s->respawn_timer);
    s->retry_timer.data = s->respawn_timer.data = s;
    s->handles = 2;
    list_insert_tail(&p->sfus, &s->node);
    p->handles++;
    LOG_I("sfu", "sfu added", "\"sfu\":\"%s\",\"socket\":\"%s\",\"origin\":\"%s\"", log_esc(id),
          log_esc(path), sfu_origin_str(origin));
    return s;
}

void sfu__remove_later(sfu_t *s)
{
    s->removing = true;
    uv_timer_stop(&s->respawn_timer);
    uv_timer_start(&s->retry_timer, on_retry_timer, 0, 0);
}

void sfu__shutdown(sfu_t *s)
{
    if (s->closing) {
        return;
    }
    s->closing = true;
    fail_all(s, "unavailable", s->pool->closing ? "shutting down" : "the media server was removed");
    set_state(s, SFU_DOWN, NULL);
    if (s->pipe_active && !uv_is_closing((uv_handle_t *)&s->pipe)) {
        uv_close((uv_handle_t *)&s->pipe, on_handle_closed);
    }
    if (s->proc_active && s->proc_running) {
        uv_process_kill(&s->proc, SIGTERM); /* on_proc_exit closes the handle */
    } else if (s->proc_active && !uv_is_closing((uv_handle_t *)&s->proc)) {
        uv_close((uv_handle_t *)&s->proc, on_handle_closed);
    }
    uv_close((uv_handle_t *)&s->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->respawn_timer, on_handle_closed);
}

sfu_pool_t *sfu_pool_new(uv_loop_t *loop, const sfu_pool_config_t *cfg, sfu_event_cb on_event,
                         sfu_state_cb on_state, void *ud, const char **err)
{
    if (cfg->spawn > 0 && (!cfg->sfu_bin || !cfg->sock_dir || !cfg->ip)) {
        *err = "spawn mode needs the SFU binary, a socket directory and an IP";
        return NULL;
    }
    if (cfg->spawn > 0 && (cfg->port_low <= 0 || cfg->port_high > 65535 ||
                           cfg->port_high - cfg->port_low + 1 < 2 * cfg->spawn)) {
        *err = "the SFU UDP port range is invalid or too small for the SFUs spawned";
        return NULL;
    }
    sfu_pool_t *p = xcalloc(1, sizeof(*p));
    p->loop = loop;
    list_init(&p->sfus);
    list_init(&p->deferred);
    p->node_id = xstrdup(cfg->node_id ? cfg->node_id : "signal");
    p->sfu_bin = cfg->sfu_bin ? xstrdup(cfg->sfu_bin) : NULL;
    p->ip = cfg->ip ? xstrdup(cfg->ip) : NULL;
    p->call_timeout_ms = cfg->call_timeout_ms ? cfg->call_timeout_ms : 5000;
    p->on_event = on_event;
    p->on_state = on_state;
    p->ud = ud;
    uv_timer_init(loop, &p->sweep);
    p->sweep.data = p;
    p->handles = 1;
    uv_timer_start(&p->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_unref((uv_handle_t *)&p->sweep);

    int span = cfg->spawn > 0 ? (cfg->port_high - cfg->port_low + 1) / cfg->spawn : 0;
    char dir[SFU_SOCK_PATH_MAX + 1] = "";
    if (cfg->spawn > 0 && sfu__abs_path(cfg->sock_dir, dir, sizeof dir) != 0) {
        *err = "the SFU socket directory path is too long";
        sfu_pool_close(p);
        return NULL;
    }
    for (int i = 0; i < cfg->spawn; i++) {
        char id[160], path[4096];
        snprintf(id, sizeof id, "%s-sfu%d", p->node_id, i + 1);
        snprintf(path, sizeof path, "%s/%s.sock", dir, id);
        if (strlen(path) > 100) {
            *err = "the SFU socket path is too long for a Unix socket (max 100 bytes)";
            sfu_pool_close(p);
            return NULL;
        }
        sfu_t *s = sfu__new(p, id, path, SFU_SPAWNED);
        snprintf(s->ports, sizeof s->ports, "%d-%d", cfg->port_low + i * span,
                 cfg->port_low + (i + 1) * span - 1);
        sfu_spawn(s);
    }
    int w = cfg->sockets && *cfg->sockets ? pool__watch_init(p, cfg->sockets, err) : 0;
    if (w < 0) {
        sfu_pool_close(p);
        return NULL;
    }
    if (w == 0 && cfg->sockets && *cfg->sockets) {
        char *list = xstrdup(cfg->sockets), *save = NULL;
        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char path[SFU_SOCK_PATH_MAX + 1];
            if (!*tok) {
                continue;
            }
            if (sfu__abs_path(tok, path, sizeof path) != 0) {
                *err = "an --sfu-sockets path is too long for a Unix socket";
                free(list);
                sfu_pool_close(p);
                return NULL;
            }
            if (!sfu__find_path(p, path)) {
                sfu__connect(sfu__new(p, path, path, SFU_CONFIGURED));
            }
        }
        free(list);
    }
    return p;
}

static void on_sweep_closed(uv_handle_t *h)
{
    sfu_pool_t *p = h->data;
    p->handles--;
    pool__maybe_free(p);
}

void pool__maybe_free(sfu_pool_t *p)
{
    if (!p->closing || p->handles > 0) {
        return;
    }
    free(p->node_id);
    free(p->sfu_bin);
    free(p->ip);
    free(p->watch_dir);
    free(p);
}

void sfu_pool_close(sfu_pool_t *p)
{
    if (p->closing) {
        return;
    }
    p->closing = true;
    while (!list_empty(&p->deferred)) {
        call_t *c = list_entry(p->deferred.next, call_t, node);
        call_finish(p, c, c->err, "the media server is not available", NULL);
    }
    pool__watch_close(p);
    list_t *pos, *tmp;
    list_foreach_safe(pos, tmp, &p->sfus)
    {
        sfu__shutdown(list_entry(pos, sfu_t, node));
    }
    uv_close((uv_handle_t *)&p->sweep, on_sweep_closed);
}

static void on_drain_reply(const char *id, const char *err, const char *msg, json_t *result,
                           void *ud)
{
    sfu_pool_t *p = ud;
    sfu_t *s = p->closing ? NULL : sfu_pool_find(p, id);
    if (s && s->drain_calls > 0) {
        s->drain_calls--;
    }
    if (err) {
        LOG_W("sfu", "drain failed", "\"sfu\":\"%s\",\"error\":\"%s\"", log_esc(id), err);
    } else {
        bool on = json_is_true(json_object_get(result, "draining"));
        LOG_I("sfu", "drain set", "\"sfu\":\"%s\",\"draining\":%s", log_esc(id),
              on ? "true" : "false");
        if (s && s->drain_calls == 0) {
            s->draining = on;
        }
    }
}

void sfu_set_draining(sfu_t *s, bool on)
{
    s->draining = on;
    if (sfu_call(s, "drain", json_pack("{s:b}", "on", on), on_drain_reply, s->pool) == 0) {
        s->drain_calls++;
    }
}

void sfu_pool_stats(const sfu_pool_t *p, sfu_pool_stats_t *out)
{
    *out = p->stats;
}
