/* signal/live_http.c: the livestream app's HTTP side (PROTOCOL.md 8): /health, /metrics in the
 * Prometheus text format, POST /api/dev-token in demo mode, and the pages of signal/www/ —
 * read once at start, gzip-compressed once, served with ETag, Cache-Control and the security
 * headers (no file I/O per request). */
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include "live_admin.h"
#include "live_app.h"
#include "prom.h"
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define WWW_MAX_FILE (4u << 20)

/* Content-Security-Policy of the pages (they load scripts and styles from 'self' only). */
#define PAGE_CSP                                                                       \
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "          \
    "media-src 'self' blob:; style-src 'self'; script-src 'self'; object-src 'none'; " \
    "base-uri 'none'; frame-ancestors 'none'"

typedef struct www_file {
    char *route;
    const char *type;
    uint8_t *data, *gz;
    size_t len, gzlen;
    char etag[40];
    bool immutable_ok;
} www_file_t;

typedef struct www {
    www_file_t *files;
    size_t n;
} www_t;

static www_t www;

static void security_headers(http_res_t *res)
{
    http_res_header(res, "X-Content-Type-Options", "nosniff");
    http_res_header(res, "Referrer-Policy", "no-referrer");
    http_res_header(res, "X-Frame-Options", "DENY");
    http_res_header(res, "Content-Security-Policy", PAGE_CSP);
    http_res_header(res, "Permissions-Policy", "camera=(self), microphone=(self), geolocation=()");
}

/* ---- /health ------------------------------------------------------------------------------- */

static int on_health(http_req_t *req, http_res_t *res, void *ud)
{
    live_t *app = ud;
    size_t ready = 0, total = sfu_pool_count(app->sfus, &ready);
    bool store_ok = store_healthy(app->store);
    bool ok = store_ok && (total == 0 || ready > 0);
    sio_stats_t ss;
    sio_server_stats(app->sio, &ss);
    buf_t b;
    buf_init(&b, 0);
    buf_printf(
        &b,
        "{\"status\":\"%s\",\"node\":\"%s\",\"mode\":\"%s\",\"store\":{\"backend\":\"%s\","
        "\"up\":%s},\"sfus\":{\"total\":%zu,\"ready\":%zu},\"connections\":{\"polling\":%llu,"
        "\"websocket\":%llu},\"sockets\":%llu,\"rooms\":%zu}",
        ok ? "ok" : "degraded", app->cfg.node_id, app->cfg.production ? "production" : "demo",
        store_backend(app->store), store_ok ? "true" : "false", total, ready,
        (unsigned long long)ss.sessions_polling, (unsigned long long)ss.sessions_websocket,
        (unsigned long long)ss.sockets, app->rooms.n);
    http_res_send(res, ok ? 200 : 503, "application/json", b.data, b.len);
    http_res_header(res, "Cache-Control", "no-store");
    buf_deinit(&b);
    return HTTP_DONE;
}

/* ---- /metrics ------------------------------------------------------------------------------ */

typedef struct events_out_ctx {
    buf_t *b;
} events_out_ctx_t;

static void events_out_one(const char *event, uint64_t count, void *ud)
{
    events_out_ctx_t *c = ud;
    char l[96];
    prom_sample(c->b, "onair_events_out_total", prom_label(l, sizeof l, "event", event),
                (double)count);
}

/* Per-room gauges of the rooms this node knows: members here (viewers and admins connected to
 * this node), and, for the rooms published from this node, the publisher's bitrate and losses
 * as the SFU last reported them. Room ids are [A-Za-z0-9_-], safe as label values. */
static void metrics_rooms(live_t *app, buf_t *b)
{
    size_t i;
    char l[96], sroom[LIVE_ROOM_ID_MAX + 3];
    prom_family(b, "onair_room_members", "gauge", "members of a room connected to this node");
    for (strmap_ent_t *e = strmap_first(&app->rooms, &i); e; e = strmap_next(&app->rooms, e, &i)) {
        live_room_t *r = e->val;
        snprintf(sroom, sizeof sroom, "r:%s", r->id);
        prom_sample(b, "onair_room_members", prom_label(l, sizeof l, "room", r->id),
                    (double)sio_room_size(app->nsp, sroom));
    }
    prom_family(b, "onair_room_bitrate_in_bits", "gauge",
                "publisher bitrate of a room published from this node (bit/s, from its SFU)");
    for (strmap_ent_t *e = strmap_first(&app->rooms, &i); e; e = strmap_next(&app->rooms, e, &i)) {
        live_room_t *r = e->val;
        if (r->pub_conn[0]) {
            prom_sample(b, "onair_room_bitrate_in_bits", prom_label(l, sizeof l, "room", r->id),
                        r->bitrate_in);
        }
    }
    prom_family(b, "onair_room_packets_lost", "gauge",
                "packets the publisher of a room published from this node lost (from its SFU)");
    for (strmap_ent_t *e = strmap_first(&app->rooms, &i); e; e = strmap_next(&app->rooms, e, &i)) {
        live_room_t *r = e->val;
        if (r->pub_conn[0]) {
            prom_sample(b, "onair_room_packets_lost", prom_label(l, sizeof l, "room", r->id),
                        (double)r->packets_lost);
        }
    }
}

/* One sample per SFU of the pool (sfu_pool_foreach callbacks; ud is the buffer). */
static void prom_sfu_sample(sfu_t *s, buf_t *b, const char *name, double v)
{
    char l[300];
    prom_sample(b, name, prom_label(l, sizeof l, "sfu", sfu_id(s)), v);
}

static void prom_sfu_cpu(sfu_t *s, void *ud)
{
    sfu_load_info_t l;
    sfu_get_load(s, &l);
    prom_sfu_sample(s, ud, "onair_sfu_cpu", l.cpu);
}

static void prom_sfu_drops(sfu_t *s, void *ud)
{
    sfu_load_info_t l;
    sfu_get_load(s, &l);
    prom_sfu_sample(s, ud, "onair_sfu_overload_drops_total", (double)l.overload_drops);
}

static int on_metrics(http_req_t *req, http_res_t *res, void *ud)
{
    live_t *app = ud;
    buf_t b;
    char l[160];
    buf_init(&b, 0);
    sio_stats_t ss;
    sio_server_stats(app->sio, &ss);
    prom_family(&b, "onair_connections", "gauge", "Engine.IO sessions open, by transport");
    prom_sample(&b, "onair_connections", "transport=\"polling\"", (double)ss.sessions_polling);
    prom_sample(&b, "onair_connections", "transport=\"websocket\"", (double)ss.sessions_websocket);
    prom_family(&b, "onair_sockets", "gauge", "Socket.IO sockets connected");
    prom_sample(&b, "onair_sockets", NULL, (double)ss.sockets);
    prom_family(&b, "onair_sessions_total", "counter", "Engine.IO sessions opened");
    prom_sample(&b, "onair_sessions_total", NULL, (double)ss.sessions_opened);
    prom_family(&b, "onair_packets_total", "counter", "Engine.IO packets, by direction");
    prom_sample(&b, "onair_packets_total", "direction=\"in\"", (double)ss.packets_in);
    prom_sample(&b, "onair_packets_total", "direction=\"out\"", (double)ss.packets_out);
    prom_family(&b, "onair_connects_refused_total", "counter", "connections refused (auth)");
    prom_sample(&b, "onair_connects_refused_total", NULL, (double)app->connects_refused);

    prom_family(&b, "onair_events_in_total", "counter", "client events received, by name");
    for (int i = 0; i < LIVE_EV_COUNT; i++) {
        prom_sample(&b, "onair_events_in_total", prom_label(l, sizeof l, "event", live_ev_name(i)),
                    (double)app->ev_in[i]);
    }
    prom_family(&b, "onair_errors_total", "counter", "errors answered to clients, by code");
    for (int i = 1; i < APP_ERR_COUNT; i++) {
        prom_sample(&b, "onair_errors_total", prom_label(l, sizeof l, "code", app_err_str(i)),
                    (double)app->errors[i]);
    }
    prom_family(&b, "onair_room_events_total", "counter", "room events published/received");
    prom_sample(&b, "onair_room_events_total", "direction=\"out\"", (double)app->bus_out);
    prom_sample(&b, "onair_room_events_total", "direction=\"in\"", (double)app->bus_in);
    prom_family(&b, "onair_local_rooms", "gauge", "rooms with members or a publisher on this node");
    prom_sample(&b, "onair_local_rooms", NULL, (double)app->rooms.n);
    metrics_rooms(app, &b);
    prom_family(&b, "onair_events_out_total", "counter",
                "events sent to clients, by name (a broadcast counts each recipient)");
    events_out_ctx_t eo = { &b };
    sio_server_events_out(app->sio, events_out_one, &eo);

    store_stats_t st;
    store_stats(app->store, &st);
    prom_family(&b, "onair_store_up", "gauge", "1 when the state store is usable");
    prom_sample(&b, "onair_store_up", prom_label(l, sizeof l, "backend", store_backend(app->store)),
                store_healthy(app->store) ? 1 : 0);
    prom_family(&b, "onair_store_ops_total", "counter", "state store operations, by result");
    prom_sample(&b, "onair_store_ops_total", "result=\"ok\"", (double)(st.ops - st.ops_failed));
    prom_sample(&b, "onair_store_ops_total", "result=\"error\"", (double)st.ops_failed);

    size_t ready = 0, total = sfu_pool_count(app->sfus, &ready);
    prom_family(&b, "onair_sfus", "gauge", "media servers known, by state");
    prom_sample(&b, "onair_sfus", "state=\"ready\"", (double)ready);
    prom_sample(&b, "onair_sfus", "state=\"down\"", (double)(total - ready));
    sfu_pool_stats_t ps;
    sfu_pool_stats(app->sfus, &ps);
    prom_family(&b, "onair_sfu_rpc_seconds", "histogram", "SFU RPC round trip");
    for (int i = 0; i < SFU_LAT_BUCKETS; i++) {
        char le[48];
        snprintf(le, sizeof le, "le=\"%g\"", sfu_lat_bounds_ms[i] / 1000.0);
        prom_sample(&b, "onair_sfu_rpc_seconds_bucket", le, (double)ps.lat_bucket[i]);
    }
    prom_sample(&b, "onair_sfu_rpc_seconds_bucket", "le=\"+Inf\"", (double)ps.lat_count);
    prom_sample(&b, "onair_sfu_rpc_seconds_sum", NULL, ps.lat_sum_ms / 1000.0);
    prom_sample(&b, "onair_sfu_rpc_seconds_count", NULL, (double)ps.lat_count);
    prom_family(&b, "onair_sfu_rpc_errors_total", "counter", "SFU RPC calls failed, by kind");
    prom_sample(&b, "onair_sfu_rpc_errors_total", "kind=\"error\"", (double)ps.errors);
    prom_sample(&b, "onair_sfu_rpc_errors_total", "kind=\"timeout\"", (double)ps.timeouts);
    prom_family(&b, "onair_sfu_restarts_total", "counter", "spawned SFU processes restarted");
    prom_sample(&b, "onair_sfu_restarts_total", NULL, (double)ps.restarts);
    prom_family(
        &b, "onair_sfu_cpu", "gauge",
        "CPU of each SFU this node drives, in cores (its last stats; fan-out threads count)");
    sfu_pool_foreach(app->sfus, prom_sfu_cpu, &b);
    prom_family(&b, "onair_sfu_overload_drops_total", "counter",
                "publisher packets each SFU shed because its loop fell behind (--media-budget-ms)");
    sfu_pool_foreach(app->sfus, prom_sfu_drops, &b);
    http_res_send(res, 200, PROM_CONTENT_TYPE, b.data, b.len);
    http_res_header(res, "Cache-Control", "no-store");
    buf_deinit(&b);
    return HTTP_DONE;
}

/* ---- POST /api/dev-token (demo mode only) ---------------------------------------------------- */

static int on_dev_token(http_req_t *req, http_res_t *res, void *ud)
{
    live_t *app = ud;
    json_error_t jerr;
    json_t *body = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *role = json_string_value(json_object_get(body, "role"));
    res->cors = true;
    if (!json_is_object(body) || !role || (strcmp(role, "admin") && strcmp(role, "viewer")) ||
        (name && (!*name || strlen(name) > 100))) {
        const char *m = "{\"error\":\"body must be {\\\"name\\\": string, \\\"role\\\": "
                        "\\\"admin\\\"|\\\"viewer\\\"}\"}";
        http_res_send(res, 400, "application/json", m, strlen(m));
        json_decref(body);
        return HTTP_DONE;
    }
    unsigned char rnd[6];
    RAND_bytes(rnd, sizeof rnd);
    char sub[32];
    snprintf(sub, sizeof sub, "dev-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5]);
    auth_mint_t m = { .secret = app->cfg.jwt_secret,
                      .sub = sub,
                      .name = name ? name : sub,
                      .role = strcmp(role, "admin") ? AUTH_VIEWER : AUTH_ADMIN,
                      .now_s = clock_wall_ms() / 1000,
                      .ttl_s = 3600 };
    const char *why = NULL;
    char *tok = auth_mint(&m, &why);
    if (!tok) {
        const char *e = "{\"error\":\"this server cannot mint tokens (no JWT_SECRET)\"}";
        http_res_send(res, 503, "application/json", e, strlen(e));
    } else {
        buf_t b;
        buf_init(&b, 0);
        buf_append_str(&b, "{\"token\":");
        buf_append_json_str(&b, tok, strlen(tok));
        buf_append_byte(&b, '}');
        http_res_send(res, 200, "application/json", b.data, b.len);
        buf_deinit(&b);
        LOG_I("live", "dev token minted", "\"sub\":\"%s\",\"role\":\"%s\",\"addr\":\"%s\"", sub,
              role, log_esc(req->remote_addr));
    }
    http_res_header(res, "Cache-Control", "no-store");
    free(tok);
    json_decref(body);
    return HTTP_DONE;
}

/* ---- static pages -----------------------------------------------------------------------------
 */

static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    static const char *const map[][2] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".json", "application/json" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".webmanifest", "application/manifest+json" },
    };
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++) {
        if (!strcmp(dot, map[i][0])) {
            return map[i][1];
        }
    }
    return "application/octet-stream";
}

static int on_page(http_req_t *req, http_res_t *res, void *ud)
{
    const www_file_t *f = ud;
    security_headers(res);
    http_res_header(res, "ETag", f->etag);
    http_res_header(res, "Cache-Control", "no-cache");
    http_res_header(res, "Vary", "Accept-Encoding");
    const char *inm = http_req_header(req, "If-None-Match");
    res->no_compress = true;
    if (inm && strstr(inm, f->etag)) {
        res->status = 304;
        return HTTP_DONE;
    }
    if (f->gz && http_req_accepts(req, "gzip")) {
        http_res_header(res, "Content-Encoding", "gzip");
        http_res_send(res, 200, f->type, f->gz, f->gzlen);
    } else {
        http_res_send(res, 200, f->type, f->data, f->len);
    }
    return HTTP_DONE;
}

static uint8_t *gzip_once(const uint8_t *p, size_t n, size_t *out_len)
{
    z_stream z = { 0 };
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return NULL;
    }
    size_t cap = deflateBound(&z, n) + 32;
    uint8_t *out = xmalloc(cap);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || *out_len >= n) {
        free(out);
        return NULL;
    }
    return out;
}

static void www_add(const char *path, const char *route)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > WWW_MAX_FILE) {
        fclose(fp);
        return;
    }
    www_file_t f = { 0 };
    f.len = (size_t)st.st_size;
    f.data = xmalloc(f.len);
    if (fread(f.data, 1, f.len, fp) != f.len) {
        fclose(fp);
        free(f.data);
        return;
    }
    fclose(fp);
    f.route = xstrdup(route);
    f.type = mime_of(path);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(f.data, f.len, md, &mdlen, EVP_sha1(), NULL);
    snprintf(f.etag, sizeof f.etag, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1], md[2],
             md[3], md[4], md[5], md[6], md[7]);
    if (strncmp(f.type, "image/png", 9) != 0 && f.len >= 256) {
        f.gz = gzip_once(f.data, f.len, &f.gzlen);
    }
    www.files = xrealloc(www.files, (www.n + 1) * sizeof(*www.files));
    www.files[www.n++] = f;
}

/* Loads dir recursively (skipping node_modules and dotfiles) under the URL prefix. */
static void www_load(const char *dir, const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && depth < 4) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules") ||
            !strncmp(e->d_name, "package", 7)) {
            continue;
        }
        char path[1024], route[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(route, sizeof route, "%s/%s", prefix, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            www_load(path, route, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            www_add(path, route);
        }
    }
    if (d) {
        closedir(d);
    }
}

static const char *www_dir(void)
{
    const char *env = getenv("WWW_DIR");
    if (env && *env) {
        return env;
    }
    static char buf[1100];
    if (access("signal/www/index.html", R_OK) == 0) {
        return "signal/www";
    }
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
        }
        snprintf(buf, sizeof buf, "%s/../../signal/www", exe);
        return buf;
    }
    return "signal/www";
}

void live_app_routes(live_t *app)
{
    http_route(app->http, "GET", "/health", HTTP_MATCH_EXACT, 0, on_health, app);
    http_route(app->http, "GET", "/metrics", HTTP_MATCH_EXACT, 0, on_metrics, app);
    live_admin_routes(app);
    if (!app->cfg.production) {
        http_route(app->http, "POST", "/api/dev-token", HTTP_MATCH_EXACT, 4096, on_dev_token, app);
    }
    const char *dir = www_dir();
    if (!www.n) {
        www_load(dir, "", 0);
    }
    for (size_t i = 0; i < www.n; i++) {
        www_file_t *f = &www.files[i];
        http_route(app->http, "GET", f->route, HTTP_MATCH_EXACT, 0, on_page, f);
        /* the pages' short names: / /admin /viewer */
        if (!strcmp(f->route, "/index.html")) {
            http_route(app->http, "GET", "/", HTTP_MATCH_EXACT, 0, on_page, f);
        } else if (!strcmp(f->route, "/admin.html")) {
            http_route(app->http, "GET", "/admin", HTTP_MATCH_EXACT, 0, on_page, f);
        } else if (!strcmp(f->route, "/viewer.html")) {
            http_route(app->http, "GET", "/viewer", HTTP_MATCH_EXACT, 0, on_page, f);
        }
    }
    LOG_I("live", "pages loaded", "\"dir\":\"%s\",\"files\":%zu", log_esc(dir), www.n);
}

void live_app_routes_free(void)
{
    for (size_t i = 0; i < www.n; i++) {
        free(www.files[i].route);
        free(www.files[i].data);
        free(www.files[i].gz);
    }
    free(www.files);
    www.files = NULL;
    www.n = 0;
}
