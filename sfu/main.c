/* sfu/main.c: onair-sfu entry point. Parses the configuration, sets up the process-wide DTLS
 * certificate and SRTP library, opens the RPC socket and runs the GLib main loop until SIGINT
 * or SIGTERM, then closes everything (LeakSanitizer clean) and exits 0. Exit 2: bad config;
 * exit 1: a start-up failure (socket, certificate). */
#include "../common/cfg.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "api.h"
#include "dtls.h"
#include "fanout.h"
#include "rpc_server.h"
#include "sfu.h"
#include "srtpx.h"
#include <glib-unix.h>
#include <inttypes.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define EXIT_CONFIG 2

static int parse_ips(sfu_cfg_t *c, char *err, size_t errlen)
{
    const char *p = c->ips;
    if (!p || !*p) {
        snprintf(err, errlen, "--ip is required (e.g. --ip 127.0.0.1)");
        return -1;
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (c->n_ips == SFU_MAX_IPS || n == 0 || n >= sizeof c->ip[0]) {
            snprintf(err, errlen, "--ip: at most %d comma-separated addresses", SFU_MAX_IPS);
            return -1;
        }
        memcpy(c->ip[c->n_ips], p, n);
        c->ip[c->n_ips][n] = 0;
        if (!g_hostname_is_ip_address(c->ip[c->n_ips])) {
            snprintf(err, errlen, "--ip: '%s' is not an IP address", c->ip[c->n_ips]);
            return -1;
        }
        c->n_ips++;
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return 0;
}

static int parse_ports(sfu_cfg_t *c, char *err, size_t errlen)
{
    unsigned lo = 0, hi = 0;
    char extra;
    if (!c->ports || sscanf(c->ports, "%u-%u%c", &lo, &hi, &extra) != 2 || lo == 0 || hi > 65535 ||
        lo > hi) {
        snprintf(err, errlen, "--ports must be LOW-HIGH within 1-65535 (e.g. 40000-40999)");
        return -1;
    }
    c->port_min = lo;
    c->port_max = hi;
    return 0;
}

static int parse_config(sfu_cfg_t *c, int argc, char **argv, char *err, size_t errlen)
{
    const cfg_opt_t opts[] = {
        { "rpc", "SFU_RPC", CFG_STR, &c->rpc_path, NULL, "RPC Unix socket path (required)" },
        { "ip", "SFU_IP", CFG_STR, &c->ips, NULL, "ICE addresses, comma-separated (required)" },
        { "ports", "SFU_PORTS", CFG_STR, &c->ports, "40000-40999", "UDP port range LOW-HIGH" },
        { "id", "SFU_ID", CFG_STR, &c->id, NULL, "SFU id (default sfu-<pid>)" },
        { "grace-ms", "SFU_GRACE_MS", CFG_INT, &c->grace_ms, "10000",
          "keep peers this long without a controller" },
        { "stats-ms", "SFU_STATS_MS", CFG_INT, &c->stats_ms, "2000",
          "stats event period (0: off)" },
        { "pli-interval-ms", "SFU_PLI_INTERVAL_MS", CFG_INT, &c->pli_interval_ms, "500",
          "at most one upstream keyframe request per interval" },
        { "max-peers", "SFU_MAX_PEERS", CFG_INT, &c->max_peers, "1000", "peer capacity" },
        { "remb-bps", "SFU_REMB_BPS", CFG_INT, &c->remb_bps, "4000000",
          "bitrate the SFU advertises to publishers (REMB)" },
        { "start-kbps", "SFU_START_KBPS", CFG_INT, &c->start_kbps, "1000",
          "publishers' start bitrate hint (x-google-start-bitrate; 0: none)" },
        { "fanout-threads", "SFU_FANOUT_THREADS", CFG_INT, &c->fanout_threads, "-1",
          "fan-out helper threads besides the main one (-1: one per extra CPU)" },
        { "fanout-min", "SFU_FANOUT_MIN", CFG_INT, &c->fanout_min, "250",
          "use the fan-out threads from this many subscribers of a room" },
        { "media-budget-ms", "SFU_MEDIA_BUDGET_MS", CFG_INT, &c->media_budget_ms, "250",
          "drop publisher media once one loop iteration runs longer (0: never)" },
        { "test-loss-in", NULL, CFG_INT, &c->test_loss_in, "0",
          "testing only: drop this % of incoming RTP" },
        { "test-loss-out", NULL, CFG_INT, &c->test_loss_out, "0",
          "testing only: drop this % of outgoing RTP" },
        { 0 },
    };
    int rc = cfg_parse(opts, argc, argv, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (!c->rpc_path || !*c->rpc_path) {
        snprintf(err, errlen, "--rpc PATH is required");
        return -1;
    }
    if (strlen(c->rpc_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "--rpc PATH must be shorter than %zu bytes (sun_path)",
                 sizeof(((struct sockaddr_un *)0)->sun_path));
        return -1;
    }
    if (parse_ips(c, err, errlen) != 0 || parse_ports(c, err, errlen) != 0) {
        return -1;
    }
    if (c->grace_ms < 0 || c->stats_ms < 0 || c->pli_interval_ms < 0 || c->max_peers < 1 ||
        c->remb_bps < 10000 || c->start_kbps < 0 || c->start_kbps > 100000) {
        snprintf(err, errlen,
                 "--grace-ms, --stats-ms, --pli-interval-ms must be >= 0, "
                 "--max-peers >= 1, --remb-bps >= 10000, --start-kbps 0..100000");
        return -1;
    }
    if (c->fanout_threads < -1 || c->fanout_threads > 64 || c->fanout_min < 1 ||
        c->media_budget_ms < 0) {
        snprintf(err, errlen,
                 "--fanout-threads must be -1..64, --fanout-min >= 1, --media-budget-ms >= 0");
        return -1;
    }
    if (c->test_loss_in < 0 || c->test_loss_in > 50 || c->test_loss_out < 0 ||
        c->test_loss_out > 50) {
        snprintf(err, errlen, "--test-loss-in and --test-loss-out must be 0..50");
        return -1;
    }
    if (c->id && !rpc_id_valid(c->id, strlen(c->id))) {
        snprintf(err, errlen, "--id must be 1-128 bytes of [A-Za-z0-9_.:-]");
        return -1;
    }
    return 0;
}

/* The loop's wake-up mark: a source that is never ready, whose prepare and check run at
 * every iteration of the main context (before and after its poll). */
typedef struct loop_mark {
    GSource src;
    sfu_t *s;
} loop_mark_t;

static gboolean mark_prepare(GSource *src, gint *timeout)
{
    ((loop_mark_t *)src)->s->loop_mark_us = clock_mono_us();
    *timeout = -1;
    return FALSE;
}

static gboolean mark_check(GSource *src)
{
    ((loop_mark_t *)src)->s->loop_mark_us = clock_mono_us();
    return FALSE;
}

static GSourceFuncs mark_funcs = { .prepare = mark_prepare, .check = mark_check };

bool sfu_shed_media(sfu_t *s)
{
    if (s->cfg.media_budget_ms <= 0 ||
        clock_mono_us() - s->loop_mark_us <= (uint64_t)s->cfg.media_budget_ms * 1000) {
        return false;
    }
    s->overload_drops++;
    uint64_t now = clock_mono_us();
    if (now - s->overload_logged_us >= 5000000) {
        s->overload_logged_us = now;
        LOG_W("sfu", "overloaded: publisher media dropped until the loop catches up",
              "\"budget_ms\":%ld,\"dropped_total\":%" PRIu64, s->cfg.media_budget_ms,
              s->overload_drops);
    }
    return true;
}

static gboolean on_signal(gpointer ud)
{
    sfu_t *s = ud;
    LOG_I("sfu", "shutting down", NULL);
    g_main_loop_quit(s->loop);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    static sfu_t sfu;
    sfu_t *s = &sfu;
    char err[8192]; /* also holds the --help text */
    log_set_proc("sfu");
    log_init();
    int rc = parse_config(&s->cfg, argc, argv, err, sizeof err);
    if (rc == 1) {
        fputs(err, stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "onair-sfu: %s\n", err);
        LOG_E("sfu", "bad configuration", "\"error\":\"%s\"", log_esc(err));
        return EXIT_CONFIG;
    }
    signal(SIGPIPE, SIG_IGN);
    if (s->cfg.id) {
        snprintf(s->id, sizeof s->id, "%s", s->cfg.id);
    } else {
        snprintf(s->id, sizeof s->id, "sfu-%ld", (long)getpid());
    }
    s->ctx = g_main_context_default();
    s->loop = g_main_loop_new(s->ctx, FALSE);
    int status = 1;
    GSource *mark = NULL; /* owned */
    if (srtpx_global_init() != 0) {
        LOG_E("sfu", "libsrtp init failed", NULL);
        goto out;
    }
    s->dtls = dtls_ctx_new(err, sizeof err);
    if (!s->dtls) {
        LOG_E("sfu", "DTLS setup failed", "\"error\":\"%s\"", log_esc(err));
        goto out;
    }
    long helpers = s->cfg.fanout_threads;
    if (helpers < 0) {
        helpers = (long)g_get_num_processors() - 1;
    }
    if (!(s->fanout = fanout_new((int)helpers, (int)s->cfg.fanout_min))) {
        LOG_W("sfu", "cannot start the fan-out threads: fanning out on the main thread only",
              "\"threads\":%ld", helpers);
        s->fanout = fanout_new(0, 1);
    }
    mark = g_source_new(&mark_funcs, sizeof(loop_mark_t));
    ((loop_mark_t *)mark)->s = s;
    g_source_attach(mark, s->ctx);
    api_init(s);
    static const rpc_server_cbs_t cbs = {
        .on_request = api_on_request,
        .after_request = api_after_request,
        .on_disconnect = api_on_disconnect,
    };
    s->rpc = rpc_server_new(s->cfg.rpc_path, &cbs, s, err, sizeof err);
    if (!s->rpc) {
        LOG_E("sfu", "cannot open the RPC socket", "\"error\":\"%s\"", log_esc(err));
        goto out;
    }
    guint sig_int = g_unix_signal_add(SIGINT, on_signal, s);
    guint sig_term = g_unix_signal_add(SIGTERM, on_signal, s);
    if (s->cfg.test_loss_in || s->cfg.test_loss_out) {
        LOG_W("sfu", "test loss enabled: media is dropped on purpose",
              "\"in_pct\":%ld,\"out_pct\":%ld", s->cfg.test_loss_in, s->cfg.test_loss_out);
    }
    LOG_I("sfu", "listening",
          "\"rpc\":\"%s\",\"id\":\"%s\",\"ips\":\"%s\",\"ports\":\"%u-%u\","
          "\"fanout_threads\":%d,\"media_budget_ms\":%ld",
          log_esc(s->cfg.rpc_path), log_esc(s->id), log_esc(s->cfg.ips), s->cfg.port_min,
          s->cfg.port_max, fanout_helpers(s->fanout), s->cfg.media_budget_ms);
    g_main_loop_run(s->loop);
    g_source_remove(sig_int);
    g_source_remove(sig_term);
    status = 0;
out:
    api_deinit(s);
    rpc_server_free(s->rpc);
    s->rpc = NULL;
    /* let deferred frees (peers, GIO's accept task) run before the libraries go away */
    for (int i = 0; i < 100 && g_main_context_iteration(s->ctx, FALSE); i++) {
    }
    fanout_free(s->fanout);
    s->fanout = NULL;
    if (mark) {
        g_source_destroy(mark);
        g_source_unref(mark);
    }
    dtls_ctx_free(s->dtls);
    srtpx_global_deinit();
    g_main_loop_unref(s->loop);
    LOG_I("sfu", "stopped", "\"status\":%d", status);
    return status;
}
