/* signal/main.c: onair-signal's entry point: options (flags and environment, common/cfg.h),
 * the app table (`--app test|livestream`), the HTTP and Socket.IO servers on one libuv loop,
 * the socket.io-client bundle, and a clean shutdown on SIGINT/SIGTERM (every handle closed,
 * uv_loop_close() == 0, everything freed). */
#include "../common/cfg.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "app.h"
#include "http.h"
#include "sio.h"
#include "static.h"
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECURITY_HEADERS                  \
    "X-Content-Type-Options: nosniff\r\n" \
    "Referrer-Policy: no-referrer\r\n"    \
    "X-Frame-Options: DENY\r\n"
#define HSTS_HEADER "Strict-Transport-Security: max-age=31536000\r\n"

typedef struct core_cfg {
    long port;
    const char *host;
    long ping_interval, ping_timeout, upgrade_timeout, connect_timeout;
    size_t max_payload;
    const char *client_dir;
    const char *app;
    const char *tls_cert, *tls_key;
    const char *http_rate, *trust_proxy;
} core_cfg_t;

static core_cfg_t cfg;
static const cfg_opt_t core_opts[] = {
    { "app", "ONAIR_APP", CFG_STR, &cfg.app, "livestream", "application: test | livestream" },
    { "port", "PORT", CFG_INT, &cfg.port, "3000", "HTTP port (0: ephemeral)" },
    { "host", "HOST", CFG_STR, &cfg.host, "0.0.0.0", "address to listen on" },
    { "ping-interval", "PING_INTERVAL", CFG_INT, &cfg.ping_interval, "25000", "ms" },
    { "ping-timeout", "PING_TIMEOUT", CFG_INT, &cfg.ping_timeout, "20000", "ms" },
    { "upgrade-timeout", "UPGRADE_TIMEOUT", CFG_INT, &cfg.upgrade_timeout, "10000", "ms" },
    { "connect-timeout", "CONNECT_TIMEOUT", CFG_INT, &cfg.connect_timeout, "45000", "ms" },
    { "max-payload", "MAX_HTTP_BUFFER_SIZE", CFG_SIZE, &cfg.max_payload, "1e6",
      "maxHttpBufferSize: bytes per POST body / WebSocket message" },
    { "tls-cert", "TLS_CERT", CFG_STR, &cfg.tls_cert, NULL,
      "PEM certificate chain: serve HTTPS/WSS (with --tls-key)" },
    { "tls-key", "TLS_KEY", CFG_STR, &cfg.tls_key, NULL, "PEM private key of --tls-cert" },
    { "http-rate", "HTTP_RATE_LIMIT", CFG_STR, &cfg.http_rate, "100:200",
      "HTTP requests per second per client address[:burst] (burst default 2x; 0: off)" },
    { "trust-proxy", "TRUST_PROXY", CFG_STR, &cfg.trust_proxy, "127.0.0.1,::1",
      "reverse proxies (IPs) whose X-Forwarded-For names the client for --http-rate" },
    { "client-dir", "CLIENT_DIR", CFG_STR, &cfg.client_dir, NULL,
      "socket.io-client dist/ directory (default: signal/www/node_modules/...)" },
    { 0 },
};

static const app_t *find_app(const char *name)
{
    if (strcmp(name, "test") == 0) {
        return &app_test;
    }
    if (strcmp(name, "livestream") == 0) {
        return &app_livestream; /* NULL until the livestream app is linked in */
    }
    return NULL;
}

/* --app is needed before parsing: the app's options join the table. */
static const char *peek_app(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--app") == 0 && i + 1 < argc) {
            return argv[i + 1];
        }
        if (strncmp(argv[i], "--app=", 6) == 0) {
            return argv[i] + 6;
        }
    }
    const char *env = getenv("ONAIR_APP");
    return env ? env : "livestream";
}

static const char *default_client_dir(char *out, size_t cap)
{
    static const char rel[] = "signal/www/node_modules/socket.io-client/dist";
    if (access(rel, R_OK) == 0) {
        return rel;
    }
    /* the binary lives in <repo>/build/<mode>/: look two levels up */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
        }
        snprintf(out, cap, "%s/../../%s", exe, rel);
        if (access(out, R_OK) == 0) {
            return out;
        }
    }
    return rel;
}

typedef struct mainctx {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    http_server_t *http;
    sio_server_t *sio;
    static_client_t *bundle;
    const app_t *app;
    void *app_state;
    bool app_started, stopping;
} mainctx_t;

static void on_http_closed(http_server_t *srv, void *ud)
{
    (void)srv;
    (void)ud;
}

static void shutdown_all(mainctx_t *m)
{
    if (m->stopping) {
        return;
    }
    m->stopping = true;
    LOG_I("main", "shutting down", NULL);
    if (m->app_started && m->app->stop) {
        m->app->stop(m->app_state);
    }
    sio_server_close(m->sio);
    http_server_close(m->http, on_http_closed, m);
    uv_close((uv_handle_t *)&m->sigint, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
}

/* HTTPS when TLS_CERT and TLS_KEY are set (PROTOCOL.md 8). Returns 0, or -1 after logging
 * why (the process then exits 2). */
static int setup_tls(http_server_t *http)
{
    const char *cert = cfg.tls_cert && *cfg.tls_cert ? cfg.tls_cert : NULL;
    const char *key = cfg.tls_key && *cfg.tls_key ? cfg.tls_key : NULL;
    if (!cert && !key) {
        return 0;
    }
    if (!cert || !key) {
        LOG_E("main", "TLS needs both a certificate and a key",
              "\"hint\":\"set TLS_CERT and TLS_KEY (--tls-cert, --tls-key)\"");
        return -1;
    }
    char err[1024];
    if (http_server_set_tls(http, cert, key, err, sizeof err) != 0) {
        LOG_E("main", "cannot set up TLS", "\"err\":\"%s\"", log_esc(err));
        return -1;
    }
    return 0;
}

/* --http-rate "R" or "R:B" and --trust-proxy. Returns 0, or -1 after logging why. */
static int setup_rate_limit(http_server_t *http)
{
    char *end;
    double rate = strtod(cfg.http_rate, &end), burst = 2 * rate;
    if (end != cfg.http_rate && *end == ':') {
        const char *b = end + 1;
        burst = strtod(b, &end);
        if (end == b) {
            end = (char *)b - 1; /* "R:" without a burst */
        }
    }
    if (end == cfg.http_rate || *end != 0 ||
        http_server_set_rate_limit(http, rate, burst, 0) != 0) {
        LOG_E("main", "bad --http-rate / HTTP_RATE_LIMIT",
              "\"value\":\"%s\",\"hint\":\"requests per second[:burst], 0 = off\"",
              log_esc(cfg.http_rate));
        return -1;
    }
    if (http_server_set_trusted_proxies(http, cfg.trust_proxy) != 0) {
        LOG_E("main", "bad --trust-proxy / TRUST_PROXY",
              "\"value\":\"%s\",\"hint\":\"comma-separated IP addresses\"",
              log_esc(cfg.trust_proxy));
        return -1;
    }
    return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
    shutdown_all(h->data);
}

static cfg_opt_t *merge_opts(const app_t *app)
{
    size_t nc = 0, na = 0;
    while (core_opts[nc].flag || core_opts[nc].env) {
        nc++;
    }
    while (app && app->opts && (app->opts[na].flag || app->opts[na].env)) {
        na++;
    }
    cfg_opt_t *all = xcalloc(nc + na + 1, sizeof(*all));
    memcpy(all, core_opts, nc * sizeof(*all));
    if (na) {
        memcpy(all + nc, app->opts, na * sizeof(*all));
    }
    return all;
}

int main(int argc, char **argv)
{
    log_init();
    log_set_proc("signal");
    signal(SIGPIPE, SIG_IGN);
    const char *app_name = peek_app(argc, argv);
    const app_t *app = find_app(app_name);
    cfg_opt_t *opts = merge_opts(app);
    char err[32768]; /* also holds the --help text of every option */
    int rc = cfg_parse(opts, argc, argv, err, sizeof err);
    free(opts);
    if (rc != 0) {
        fprintf(rc > 0 ? stdout : stderr, "%s\n", err);
        return rc > 0 ? 0 : 2;
    }
    if (!app) {
        LOG_E("main", "unknown or unavailable app", "\"app\":\"%s\",\"hint\":\"%s\"",
              log_esc(app_name),
              strcmp(app_name, "livestream") == 0
                  ? "the livestream app is not built into this binary yet; use --app test"
                  : "use --app test or --app livestream");
        return 2;
    }
    mainctx_t m;
    memset(&m, 0, sizeof m);
    m.app = app;
    uv_loop_init(&m.loop);
    /* A listed origin is echoed with Allow-Credentials, as Node's cors({origin, credentials:
     * true}) does: socket.io-client 2.x sends credentialed XHRs (withCredentials defaults to
     * true), which a browser refuses without it. "*" can never carry credentials. */
    const char *origin = app->cors_origin ? app->cors_origin() : NULL;
    http_cors_t cors = { origin, origin && strcmp(origin, "*") != 0 };
    m.http = http_server_new(&m.loop, NULL, &cors);
    if (setup_tls(m.http) != 0 || setup_rate_limit(m.http) != 0) {
        http_server_close(m.http, on_http_closed, &m);
        uv_run(&m.loop, UV_RUN_DEFAULT);
        http_server_free(m.http);
        uv_loop_close(&m.loop);
        return 2;
    }
    /* PROTOCOL.md 8: security headers on every response (pages add their own CSP) */
    http_server_set_default_headers(m.http, http_server_tls(m.http) ? SECURITY_HEADERS HSTS_HEADER
                                                                    : SECURITY_HEADERS);
    sio_config_t sc = { (unsigned)cfg.ping_interval,
                        (unsigned)cfg.ping_timeout,
                        (unsigned)cfg.upgrade_timeout,
                        cfg.max_payload,
                        (unsigned)cfg.connect_timeout,
                        0,
                        0,
                        0 };
    m.sio = sio_server_new(m.http, "/socket.io/", &sc);
    char dirbuf[PATH_MAX + 64];
    const char *dir = cfg.client_dir ? cfg.client_dir : default_client_dir(dirbuf, sizeof dirbuf);
    m.bundle = static_client_load(m.http, dir, "/socket.io/");
    app_env_t env = { &m.loop, m.http, m.sio, &sc, dir };
    uv_signal_init(&m.loop, &m.sigint);
    uv_signal_init(&m.loop, &m.sigterm);
    m.sigint.data = m.sigterm.data = &m;
    uv_signal_start(&m.sigint, on_signal, SIGINT);
    uv_signal_start(&m.sigterm, on_signal, SIGTERM);
    int exit_code = 0;
    if (app->start(&env, &m.app_state) != 0) {
        LOG_E("main", "app failed to start", "\"app\":\"%s\"", app->name);
        exit_code = 1;
        shutdown_all(&m);
    } else {
        m.app_started = true;
        rc = http_server_listen(m.http, cfg.host, (int)cfg.port);
        if (rc != 0) {
            LOG_E("main", "listen failed", "\"host\":\"%s\",\"port\":%ld,\"err\":\"%s\"",
                  log_esc(cfg.host), cfg.port, uv_strerror(rc));
            exit_code = 1;
            shutdown_all(&m);
        } else {
            LOG_I("main", "listening", "\"port\":%d,\"host\":\"%s\",\"app\":\"%s\",\"tls\":%s",
                  http_server_port(m.http), log_esc(cfg.host), app->name,
                  http_server_tls(m.http) ? "true" : "false");
        }
    }
    uv_run(&m.loop, UV_RUN_DEFAULT);
    if (m.app_started && app->free) {
        app->free(m.app_state);
    }
    sio_server_free(m.sio);
    http_server_free(m.http);
    static_client_free(m.bundle);
    rc = uv_loop_close(&m.loop);
    if (rc != 0) {
        LOG_E("main", "loop not clean at exit", "\"err\":\"%s\"", uv_strerror(rc));
        return 1;
    }
    LOG_I("main", "stopped", NULL);
    return exit_code;
}
