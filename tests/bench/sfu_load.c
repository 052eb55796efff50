/* tests/bench/sfu_load.c: load generator for onair-sfu (docs/BENCHMARKS.md, "SFU fan-out"). It
 * drives the SFU's RPC (docs/RPC.md), starts the publisher (tests/bench/sfu_pub, a child process
 * speaking JSON lines) and plays N subscribers, then measures one window:
 *  - subscribers: subscriber.create gives the SFU's offer; the answer comes from sdp_build_answer
 *    (recvonly, setup:active as Chromium, a=ice-lite with one host candidate). Each subscriber
 *    is a plain UDP socket: the SFU's agent (full ICE, controlling) checks it and libnice's STUN
 *    library (stun_usage_ice_conncheck_create_reply) answers; the nominated check's source
 *    becomes the DTLS peer (sfu/dtls.c as client) and SRTP is keyed through sfu/srtpx.c. One
 *    thread reads every socket (poll + recvmmsg every --poll-us), so the generator costs little
 *    next to the SFU on a 2-core machine and adds no per-packet wake-up to the SFU's sends (see
 *    sub_main). Every RTP packet is counted and its sequence number recorded (the SFU forwards
 *    the first publisher's numbers unchanged, sfu/rewrite.h); one packet in SAMPLE per
 *    subscriber is authenticated (srtp_unprotect), and the forwarding latency is its kernel
 *    receive timestamp (SO_TIMESTAMPNS: when the SFU's send reached our socket) minus its send
 *    time at the end of the payload (both CLOCK_REALTIME), whenever the generator reads it.
 *  - the window (after a warm-up): SFU CPU (/proc/PID/stat) per forwarded packet per
 *    subscriber, loss per subscriber (sequence numbers the publisher sent in the window and the
 *    subscriber never got), latency p50/p99, the generator's own CPU and the rest of the
 *    machine's, UDP drops per socket (/proc/net/udp), the SFU's counters (RPC stats) and the
 *    round trip of a cheap RPC (how long the SFU's one loop leaves the controller waiting).
 * Prints one JSON object on stdout ("error" set when the SFU closed the publisher). A benchmark
 * tool: run it in a private network namespace (unshare -n) against a SFU on 127.0.0.1.
 *   sfu_load --rpc PATH [--subs N] [--kbps K] [--audio 0|1] [--warmup S] [--window S]
 *            [--sfu-ports LO-HI] [--pkt B] [--gop-ms MS] [--room R] [--pub PATH]
 *            [--poll-us 2000 (0: block in poll)] */
#include "../../common/log.h"
#include "../../proto/rtp.h"
#include "../../proto/sdp.h"
#include "../../sfu/dtls.h"
#include "../../sfu/srtpx.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS   8000
#define SAMPLE     16 /* one packet in SAMPLE is authenticated (and timed) per subscriber */
#define LAT_US     2  /* latency histogram: 2 µs buckets up to 200 ms */
#define LAT_N      100000
#define MAGIC      0x4f6e4172u /* "OnAr", after the send time at the end of each payload */
#define AUDIO_PT   111
#define VIDEO_PT   96
#define RPC_MAX    (16u << 20)
#define BATCH      32
#define LOAD(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, n) __atomic_store_n(&(x), LOAD(x) + (n), __ATOMIC_RELAXED)
#define DIE(...)   (fprintf(stderr, "sfu_load: " __VA_ARGS__), fputc('\n', stderr), exit(1))

static struct {
    const char *rpc, *room, *pub;
    int subs, kbps, audio, pkt, gop_ms, port_lo, port_hi, poll_us;
    double warmup, window, drain;
} cfg = { .room = "bench",
          .subs = 50,
          .kbps = 2500,
          .audio = 1,
          .pkt = 1200,
          .gop_ms = 2000,
          .port_hi = -1,
          .poll_us = 2000,
          .warmup = 3,
          .window = 10,
          .drain = 0.5 };

enum {
    S_ICE,
    S_DTLS,
    S_UP,
    S_FAILED
};

typedef struct sub {
    int idx, fd, state; /* state: written by the subscriber thread */
    char id[16], ufrag[16], pwd[32], fp_alg[16], fp[128];
    struct sockaddr_in sfu; /* the source of the nominated check */
    uint64_t first_check_ms;
    dtls_t *dtls;
    srtpx_t srtp;
    uint64_t rx_rtp, rx_rtcp, stun, auth_ok, auth_fail, bad_payload;
    /* every sequence number seen, per track (0 video, 1 audio); the bit 32768 ahead is cleared
     * on each packet, so the map holds the last 32768 sequence numbers */
    uint64_t bits[2][65536 / 64];
} sub_t;

static sub_t *subs[MAX_SUBS];
static atomic_int n_subs, n_up, n_failed, stop_all;
static dtls_ctx_t *dctx;
static StunAgent stun;
static uint64_t tie;
static pid_t sub_tid;
static _Atomic uint64_t lat_t0, lat_t1; /* latency samples: packets sent in [t0, t1) (wall) */
static uint32_t lat[LAT_N];             /* written by the subscriber thread */
static uint64_t lat_over, lat_max;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
    return now_ns() / 1000000u;
}

/* ---- subscribers: DTLS, STUN, media (the subscriber thread) ---------------------------------- */

static void sub_fail(sub_t *s, const char *why)
{
    if (s->state != S_FAILED) {
        fprintf(stderr, "sfu_load: %s failed: %s\n", s->id, why);
        s->state = S_FAILED;
        atomic_fetch_add(&n_failed, 1);
    }
}

static int on_dtls_send(void *ud, const uint8_t *p, size_t n)
{
    sub_t *s = ud;
    return sendto(s->fd, p, n, 0, (struct sockaddr *)&s->sfu, sizeof s->sfu) == (ssize_t)n ? 0 : -1;
}

static void on_dtls_connected(void *ud, int profile, const uint8_t *km, size_t km_len, bool client)
{
    sub_t *s = ud;
    if (srtpx_start(&s->srtp, profile, km, km_len, client) != 0) {
        sub_fail(s, "SRTP keying");
        return;
    }
    s->state = S_UP;
    atomic_fetch_add(&n_up, 1);
}

static void on_dtls_failed(void *ud, const char *why)
{
    sub_fail(ud, why);
}

static void on_dtls_closed(void *ud)
{
    sub_fail(ud, "DTLS closed by the SFU");
}

static const dtls_cbs_t dtls_cbs = { on_dtls_send, on_dtls_connected, on_dtls_failed,
                                     on_dtls_closed };

static void start_dtls(sub_t *s)
{
    s->state = S_DTLS;
    s->dtls = dtls_new(dctx, &dtls_cbs, s, s->id);
    if (!s->dtls || dtls_start(s->dtls, true, s->fp_alg, s->fp) != 0) {
        sub_fail(s, "DTLS start");
    }
}

static bool validater(StunAgent *a, StunMessage *m, uint8_t *user, uint16_t ulen, uint8_t **pwd,
                      size_t *plen, void *ud)
{
    sub_t *s = ud;
    size_t n = strlen(s->ufrag);
    if (ulen <= n || memcmp(user, s->ufrag, n) != 0 || user[n] != ':') {
        return false; /* RFC 8445 7.3: USERNAME is "<our ufrag>:<their ufrag>" */
    }
    *pwd = (uint8_t *)s->pwd;
    *plen = strlen(s->pwd);
    return true;
}

/* A connectivity check (or consent check, RFC 7675) from the SFU: answer it; the first
 * nominated one (USE-CANDIDATE) fixes the SFU's address and starts DTLS. */
static void on_stun(sub_t *s, uint8_t *b, size_t n, const struct sockaddr_in *from)
{
    StunMessage req, msg;
    uint8_t out[600];
    size_t olen = sizeof out;
    bool control = false;
    struct sockaddr_storage ss;
    if (stun_agent_validate(&stun, &req, b, n, validater, s) != STUN_VALIDATION_SUCCESS ||
        stun_message_get_class(&req) != STUN_REQUEST) {
        return;
    }
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, from, sizeof *from);
    StunUsageIceReturn r =
        stun_usage_ice_conncheck_create_reply(&stun, &req, &msg, out, &olen, &ss, sizeof *from,
                                              &control, tie, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    if (olen > 0) {
        sendto(s->fd, out, olen, 0, (const struct sockaddr *)from, sizeof *from);
    }
    BUMP(s->stun, 1);
    if (r != STUN_USAGE_ICE_RETURN_SUCCESS || s->state != S_ICE) {
        return;
    }
    if (!s->first_check_ms) {
        s->first_check_ms = now_ms();
        s->sfu = *from;
    }
    if (stun_usage_ice_conncheck_use_candidate(&req)) {
        s->sfu = *from;
        start_dtls(s);
    }
}

static void on_rtp(sub_t *s, const uint8_t *b, size_t len, uint64_t rx_ns)
{
    static uint8_t tmp[1500 + SRTPX_SPARE];
    BUMP(s->rx_rtp, 1);
    uint8_t pt = b[1] & 0x7f;
    int tr = pt == VIDEO_PT ? 0 : pt == AUDIO_PT ? 1 : -1;
    uint16_t seq = rtp_rd16(b + 2), ahead = (uint16_t)(seq + 32768);
    if (tr >= 0) {
        uint64_t *w = s->bits[tr];
        __atomic_store_n(&w[seq / 64], LOAD(w[seq / 64]) | 1ull << (seq % 64), __ATOMIC_RELAXED);
        __atomic_store_n(&w[ahead / 64], LOAD(w[ahead / 64]) & ~(1ull << (ahead % 64)),
                         __ATOMIC_RELAXED);
    }
    if ((seq + (unsigned)s->idx) % SAMPLE != 0 || s->state != S_UP || len > 1500) {
        return;
    }
    int n = (int)len;
    memcpy(tmp, b, len);
    if (srtpx_unprotect(&s->srtp, tmp, &n) != 0) {
        BUMP(s->auth_fail, 1);
        return;
    }
    BUMP(s->auth_ok, 1);
    if (n < RTP_HDR_MIN + 12 || rtp_rd32(tmp + n - 4) != MAGIC) {
        BUMP(s->bad_payload, 1);
        return;
    }
    uint64_t sent = (uint64_t)rtp_rd32(tmp + n - 12) << 32 | rtp_rd32(tmp + n - 8);
    if (sent >= atomic_load(&lat_t0) && sent < atomic_load(&lat_t1)) {
        uint64_t d = rx_ns > sent ? rx_ns - sent : 0, i = d / 1000 / LAT_US;
        if (i < LAT_N) {
            BUMP(lat[i], 1);
        } else {
            BUMP(lat_over, 1);
        }
        if (d > LOAD(lat_max)) {
            __atomic_store_n(&lat_max, d, __ATOMIC_RELAXED);
        }
    }
}

/* The kernel's receive timestamp of a datagram (SO_TIMESTAMPNS), wall-clock ns, or 0. */
static uint64_t rx_time(struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        }
    }
    return 0;
}

/* Reads everything queued on s's socket (RFC 7983 demux by the first byte). */
static void sub_drain(sub_t *s)
{
    static uint8_t bufs[BATCH][1600];
    static struct sockaddr_in from[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr m[BATCH];
    static union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(struct timespec))];
    } ctl[BATCH];
    int n;
    do {
        for (int k = 0; k < BATCH; k++) {
            iov[k] = (struct iovec){ bufs[k], sizeof bufs[k] };
            m[k].msg_hdr = (struct msghdr){ .msg_name = &from[k],
                                            .msg_namelen = sizeof from[k],
                                            .msg_iov = &iov[k],
                                            .msg_iovlen = 1,
                                            .msg_control = ctl[k].b,
                                            .msg_controllen = sizeof ctl[k].b };
        }
        n = recvmmsg(s->fd, m, BATCH, MSG_DONTWAIT, NULL);
        for (int k = 0; k < n; k++) {
            uint8_t *b = bufs[k];
            size_t len = m[k].msg_len;
            if (len >= 20 && b[0] < 4) {
                on_stun(s, b, len, &from[k]);
            } else if (len > 0 && b[0] >= 20 && b[0] <= 63) {
                if (s->dtls) {
                    dtls_feed(s->dtls, b, len);
                }
            } else if (len >= RTP_HDR_MIN && b[0] >= 128 && b[0] <= 191) {
                if (b[1] >= 192 && b[1] <= 223) {
                    BUMP(s->rx_rtcp, 1); /* the SFU's re-issued sender reports */
                } else {
                    on_rtp(s, b, len, rx_time(&m[k].msg_hdr));
                }
            }
        }
    } while (n == BATCH);
}

/* The subscriber thread: every --poll-us, one poll() over all the sockets and recvmmsg on the
 * ready ones. It naps rather than sleeping in poll(): a socket with no waiter costs the SFU's
 * send nothing more (with a waiter, or an epoll entry, each send on loopback also runs the wake-up
 * path under the socket's wait-queue lock, which a send towards a network card would not). */
static void *sub_main(void *ud)
{
    struct pollfd *pf = g_new0(struct pollfd, MAX_SUBS);
    sub_t **who = g_new0(sub_t *, MAX_SUBS);
    int npf = 0, known = 0;
    uint64_t last_glib = 0, last_tick = 0;
    sub_tid = (pid_t)syscall(SYS_gettid);
    g_main_context_acquire(NULL); /* sfu/dtls.c's timers run on the default context */
    while (!atomic_load(&stop_all)) {
        for (int k = atomic_load(&n_subs); known < k; known++) {
            if (subs[known]->fd >= 0) {
                pf[npf] = (struct pollfd){ subs[known]->fd, POLLIN, 0 };
                who[npf++] = subs[known];
            }
        }
        int n = poll(pf, (nfds_t)npf, cfg.poll_us ? 0 : 10);
        for (int i = 0; i < npf && n > 0; i++) {
            if (pf[i].revents) {
                sub_drain(who[i]);
                n--;
            }
        }
        if (cfg.poll_us) {
            struct timespec nap = { 0, cfg.poll_us * 1000L };
            nanosleep(&nap, NULL);
        }
        uint64_t t = now_ms();
        if (t - last_glib >= 5) {
            last_glib = t;
            while (g_main_context_iteration(NULL, FALSE)) {
            }
        }
        if (t - last_tick >= 100) { /* no nomination 500 ms after the first check: use it */
            last_tick = t;
            for (int i = 0; i < known; i++) {
                sub_t *s = subs[i];
                if (s->state == S_ICE && s->first_check_ms && t - s->first_check_ms > 500) {
                    start_dtls(s);
                }
            }
        }
    }
    return NULL;
}

/* ---- subscribers: creation (main thread) ------------------------------------------------------
 */

static void random_token(char *out, size_t n)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint8_t r[64];
    RAND_bytes(r, (int)n);
    for (size_t i = 0; i < n; i++) {
        out[i] = abc[r[i] % (sizeof abc - 1)];
    }
    out[n] = 0;
}

/* The answer to the SFU's offer for s (g_free), or NULL with the reason on stderr. */
static char *sub_answer(sub_t *s, const char *offer_text)
{
    sdp_t *offer = NULL;
    sdp_remote_t r;
    const char *why = NULL;
    char cand[96], *out = NULL;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (sdp_parse(&offer, offer_text, strlen(offer_text), &why) != 0 ||
        sdp_remote_transport(offer, &r, &why) != 0) {
        goto out;
    }
    snprintf(s->fp_alg, sizeof s->fp_alg, "%s", r.fp_alg);
    snprintf(s->fp, sizeof s->fp, "%s", r.fp_value);
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0) {
        why = strerror(errno);
        goto out;
    }
    int on = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    random_token(s->ufrag, 8);
    random_token(s->pwd, 24);
    snprintf(cand, sizeof cand, "candidate:1 1 udp 2130706431 127.0.0.1 %u typ host",
             ntohs(a.sin_port));
    const char *cands[] = { cand };
    sdp_local_t l = { .ice_ufrag = s->ufrag,
                      .ice_pwd = s->pwd,
                      .fp_alg = "sha-256",
                      .fp_value = dtls_ctx_fingerprint(dctx),
                      .setup = SDP_SETUP_ACTIVE, /* DTLS client, as Chromium answers */
                      .ice_lite = true,
                      .sess_id = (uint64_t)s->idx + 2,
                      .sess_version = 1,
                      .cands = cands,
                      .n_cands = 1,
                      .end_of_candidates = true };
    sdp_answer_opts_t opts = { 0 };
    out = g_malloc(SDP_MAX_LEN);
    if (sdp_build_answer(out, SDP_MAX_LEN, offer, &l, &opts, NULL, &why) < 0) {
        g_free(out);
        out = NULL;
    }
out:
    if (!out) {
        fprintf(stderr, "sfu_load: %s: %s\n", s->id, why ? why : "no answer");
    }
    sdp_free(offer);
    return out;
}

/* ---- the publisher (child process, JSON lines) and the RPC (main thread) --------------------- */

static pid_t pub_pid;
static int pub_in = -1, pub_out = -1; /* its stdin (we write), its stdout (we read) */
static struct {
    char *offer;
    bool has_offer, up, window;
    char failed[160], srtp[32];
    json_t *s0, *s1, *stats;
} pubst;
static int rpc_fd = -1, rpc_next_id = 1;
static char pub_closed[64]; /* the SFU closed the publisher: its reason */
static uint64_t pub_closed_ms, start_ms;

static void pub_cmd(json_t *m)
{
    char *s = json_dumps(m, JSON_COMPACT);
    size_t n = strlen(s);
    if (write(pub_in, s, n) != (ssize_t)n || write(pub_in, "\n", 1) != 1) {
        DIE("publisher pipe");
    }
    free(s);
    json_decref(m);
}

static void pub_spawn(const char *self)
{
    int in[2], out[2];
    char path[4096], kbps[16], audio[4], pkt[16], gop[16];
    if (cfg.pub) {
        snprintf(path, sizeof path, "%s", cfg.pub);
    } else {
        char *dir = g_path_get_dirname(self);
        snprintf(path, sizeof path, "%s/sfu_pub", dir);
        g_free(dir);
    }
    snprintf(kbps, sizeof kbps, "%d", cfg.kbps);
    snprintf(audio, sizeof audio, "%d", cfg.audio);
    snprintf(pkt, sizeof pkt, "%d", cfg.pkt);
    snprintf(gop, sizeof gop, "%d", cfg.gop_ms);
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || (pub_pid = fork()) < 0) {
        DIE("fork: %s", strerror(errno));
    }
    if (pub_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(path, path, "--kbps", kbps, "--audio", audio, "--pkt", pkt, "--gop-ms", gop,
              (char *)NULL);
        fprintf(stderr, "sfu_load: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    pub_in = in[1];
    pub_out = out[0];
}

static void on_pub_line(const char *line)
{
    json_t *m = json_loads(line, 0, NULL);
    const char *ev = json_string_value(json_object_get(m, "ev"));
    if (!ev) {
        json_decref(m);
        return;
    }
    if (strcmp(ev, "offer") == 0) {
        pubst.offer = g_strdup(json_string_value(json_object_get(m, "sdp")));
        pubst.has_offer = pubst.offer != NULL;
    } else if (strcmp(ev, "up") == 0) {
        snprintf(pubst.srtp, sizeof pubst.srtp, "%s",
                 json_string_value(json_object_get(m, "srtp")) ?: "");
        pubst.up = true;
    } else if (strcmp(ev, "failed") == 0) {
        snprintf(pubst.failed, sizeof pubst.failed, "%s",
                 json_string_value(json_object_get(m, "why")) ?: "?");
    } else if (strcmp(ev, "window") == 0) {
        pubst.s0 = json_incref(json_object_get(m, "s0"));
        pubst.s1 = json_incref(json_object_get(m, "s1"));
        pubst.window = true;
    } else if (strcmp(ev, "stats") == 0) {
        pubst.stats = json_incref(m);
    }
    json_decref(m);
}

static void pub_read(void)
{
    static char buf[1 << 17];
    static size_t have;
    ssize_t k = read(pub_out, buf + have, sizeof buf - 1 - have);
    if (k <= 0) {
        DIE("the publisher process ended%s%s", pubst.failed[0] ? ": " : "", pubst.failed);
    }
    have += (size_t)k;
    buf[have] = 0;
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        on_pub_line(line);
        line = nl + 1;
    }
    have -= (size_t)(line - buf);
    memmove(buf, line, have);
    if (have == sizeof buf - 1) {
        DIE("publisher line too long");
    }
}

static void read_full(void *buf, size_t n)
{
    uint8_t *b = buf;
    while (n > 0) {
        ssize_t k = read(rpc_fd, b, n);
        if (k <= 0 && !(k < 0 && errno == EINTR)) {
            DIE("RPC connection lost");
        }
        b += k > 0 ? k : 0;
        n -= k > 0 ? (size_t)k : 0;
    }
}

/* Reads one message (new reference). */
static json_t *rpc_read(void)
{
    uint8_t h[4];
    read_full(h, 4);
    uint32_t n = rtp_rd32(h);
    if (n == 0 || n > RPC_MAX) {
        DIE("RPC frame of %u bytes", n);
    }
    char *b = g_malloc(n);
    read_full(b, n);
    json_t *m = json_loadb(b, n, 0, NULL);
    g_free(b);
    if (!m) {
        DIE("RPC: bad JSON");
    }
    return m;
}

static void on_event(json_t *m)
{
    json_t *d = json_object_get(m, "data");
    const char *ev = json_string_value(json_object_get(m, "event"));
    const char *role = json_string_value(json_object_get(d, "role"));
    const char *st = json_string_value(json_object_get(d, "state"));
    static char failed[48]; /* the reason of the publisher's "failed" state (ice-failed, ...) */
    if (!ev || strcmp(ev, "peer.state") != 0 || !role || !st || strcmp(role, "publisher") != 0) {
        return;
    }
    const char *why = json_string_value(json_object_get(d, "reason")) ?: "?";
    if (strcmp(st, "failed") == 0) {
        snprintf(failed, sizeof failed, "%s", why);
    } else if (strcmp(st, "closed") == 0 && !pub_closed[0]) {
        snprintf(pub_closed, sizeof pub_closed, "%s", failed[0] ? failed : why);
        pub_closed_ms = now_ms();
    }
}

/* Handles RPC events and publisher lines until deadline (CLOCK_MONOTONIC ns). */
static void pump_until(uint64_t deadline)
{
    for (;;) {
        uint64_t t = now_ns();
        struct pollfd pf[2] = { { rpc_fd, POLLIN, 0 }, { pub_out, POLLIN, 0 } };
        int ms = t >= deadline ? 0 : (int)((deadline - t + 999999) / 1000000);
        if (poll(pf, 2, ms) <= 0) {
            return;
        }
        if (pf[0].revents) {
            json_t *m = rpc_read();
            on_event(m);
            json_decref(m);
        }
        if (pf[1].revents) {
            pub_read();
        }
    }
}

static void pump(int ms)
{
    pump_until(now_ns() + (uint64_t)ms * 1000000u);
}

/* Sends a request (steals params); returns its result (new reference), or NULL after an error
 * response when soft (1: reported on stderr, 2: silently), else exits. */
static json_t *rpc_call(const char *method, json_t *params, int soft)
{
    int id = rpc_next_id++;
    json_t *req = json_pack("{s:i,s:s,s:o}", "id", id, "method", method, "params", params);
    char *s = json_dumps(req, JSON_COMPACT);
    uint32_t n = (uint32_t)strlen(s);
    uint8_t h[4];
    rtp_wr32(h, n);
    if (write(rpc_fd, h, 4) != 4 || write(rpc_fd, s, n) != (ssize_t)n) {
        DIE("RPC write");
    }
    free(s);
    json_decref(req);
    for (;;) {
        json_t *m = rpc_read(), *jid = json_object_get(m, "id");
        if (!json_is_integer(jid) || json_integer_value(jid) != id) {
            on_event(m);
            json_decref(m);
            continue;
        }
        json_t *r = json_incref(json_object_get(m, "result"));
        if (!r && soft != 2) {
            json_t *e = json_object_get(m, "error");
            fprintf(stderr, "sfu_load: %s: %s: %s\n", method,
                    json_string_value(json_object_get(e, "code")),
                    json_string_value(json_object_get(e, "message")));
            if (!soft) {
                exit(1);
            }
        }
        json_decref(m);
        return r;
    }
}

static void rpc_connect(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", cfg.rpc);
    rpc_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(rpc_fd, (struct sockaddr *)&a, sizeof a) != 0) {
        DIE("connect %s: %s", cfg.rpc, strerror(errno));
    }
}

/* ---- measurements -------------------------------------------------------------------------- */

/* utime + stime of a /proc/.../stat file in clock ticks, or -1. */
static long cpu_ticks(const char *fmt, long id)
{
    char path[64], b[1024];
    snprintf(path, sizeof path, fmt, id);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    b[n] = 0;
    char *p = strrchr(b, ')');
    long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2) {
        return -1;
    }
    return ut + st;
}

/* Busy clock ticks of the whole machine (/proc/stat: user nice system irq softirq steal). */
static long machine_busy(void)
{
    long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    int n = f ? fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f) {
        fclose(f);
    }
    return n == 8 ? (long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) : -1;
}

static unsigned pub_sfu_port; /* the SFU's socket for the publisher (its answer's candidate) */

/* UDP receive-buffer drops in this namespace (/proc/net/udp, last column): [0] the SFU's socket
 * of the publisher, [1] the SFU's other sockets (its --ports), [2] ours. */
static void udp_drops(uint64_t out[3])
{
    char line[512];
    FILE *f = fopen("/proc/net/udp", "r");
    out[0] = out[1] = out[2] = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned port;
        unsigned long long drops = 0;
        char *tok, *save = NULL, *last = NULL;
        if (sscanf(line, " %*d: %*x:%x", &port) != 1) {
            continue; /* the header */
        }
        for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
            last = tok;
        }
        if (last && sscanf(last, "%llu", &drops) == 1) {
            bool sfu = (int)port >= cfg.port_lo && (int)port <= cfg.port_hi;
            out[port == pub_sfu_port ? 0 : sfu ? 1 : 2] += drops;
        }
    }
    if (f) {
        fclose(f);
    }
}

/* The SFU's counters for the room: [0] the publisher's packets_in, [1] the subscribers'
 * packets_out summed. */
static void sfu_counters(uint64_t out[2])
{
    json_t *r = rpc_call("stats", json_pack("{s:s}", "room", cfg.room), false), *p;
    size_t i;
    out[0] = out[1] = 0;
    json_array_foreach(json_object_get(r, "peers"), i, p)
    {
        const char *role = json_string_value(json_object_get(p, "role"));
        bool is_pub = role && strcmp(role, "publisher") == 0;
        out[is_pub ? 0 : 1] +=
            (uint64_t)json_integer_value(json_object_get(p, is_pub ? "packets_in" : "packets_out"));
    }
    json_decref(r);
}

typedef struct snap {
    long sfu, self, pub, subs, busy;
    uint64_t drops[3], sfu_c[2];
} snap_t;

static long sfu_pid;

static void snapshot(snap_t *s)
{
    s->sfu = cpu_ticks("/proc/%ld/stat", sfu_pid);
    s->self = cpu_ticks("/proc/%ld/stat", (long)getpid());
    s->pub = cpu_ticks("/proc/%ld/stat", (long)pub_pid);
    s->subs = cpu_ticks("/proc/self/task/%ld/stat", (long)sub_tid);
    s->busy = machine_busy();
    udp_drops(s->drops);
}

/* The SFU's responsiveness: a cheap RPC (stats of a room that does not exist) every 250 ms until
 * deadline; its round trip shows how long the SFU's one loop leaves the controller waiting. */
static struct {
    uint64_t n, sum_us, max_us;
} probe;

static void probe_until(uint64_t deadline)
{
    while (now_ns() < deadline && !pub_closed[0]) {
        uint64_t next = now_ns() + 250000000u;
        pump_until(next < deadline ? next : deadline);
        uint64_t t = now_ns();
        json_decref(rpc_call("stats", json_pack("{s:s}", "room", "-probe-"), 2));
        uint64_t us = (now_ns() - t) / 1000;
        probe.n++;
        probe.sum_us += us;
        probe.max_us = us > probe.max_us ? us : probe.max_us;
    }
}

static uint64_t lat_pct(uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int i = 0; i < LAT_N; i++) {
        acc += LOAD(lat[i]);
        if (acc > want) {
            return (uint64_t)(i + 1) * LAT_US;
        }
    }
    return (uint64_t)LAT_N * LAT_US;
}

/* ---- setup --------------------------------------------------------------------------------------
 */

static void wait_pub(bool *flag, const char *what)
{
    uint64_t end = now_ns() + 15000000000u;
    while (!*flag && !pubst.failed[0] && !pub_closed[0] && now_ns() < end) {
        pump(10);
    }
    if (!*flag) {
        DIE("publisher: no %s (%s)", what, pubst.failed[0] ? pubst.failed : "timeout");
    }
}

/* The publisher's offer goes to publisher.offer, the SFU's answer back to it; waits until its
 * DTLS is up. */
static void setup_publisher(void)
{
    wait_pub(&pubst.has_offer, "offer");
    json_t *r = rpc_call(
        "publisher.offer",
        json_pack("{s:s,s:s,s:s}", "room", cfg.room, "peer", "pub", "sdp", pubst.offer), false);
    const char *ans = json_string_value(json_object_get(r, "sdp"));
    sdp_t *sdp = NULL;
    sdp_remote_t rem;
    if (ans && sdp_parse(&sdp, ans, strlen(ans), NULL) == 0 &&
        sdp_remote_transport(sdp, &rem, NULL) == 0 && rem.first->n_cands > 0) {
        pub_sfu_port = rem.first->cands[0].port;
    }
    sdp_free(sdp);
    pub_cmd(json_pack("{s:s,s:s}", "cmd", "answer", "sdp", ans ? ans : ""));
    json_decref(r);
    wait_pub(&pubst.up, "DTLS connection");
}

/* subscriber.create, our answer, subscriber.answer for each; then waits until all are up
 * (or failed, or a timeout). Returns the seconds it took. */
static double setup_subscribers(void)
{
    uint64_t t0 = now_ms();
    for (int i = 0; i < cfg.subs && !pub_closed[0]; i++) {
        sub_t *s = subs[i] = g_new0(sub_t, 1);
        s->idx = i;
        s->fd = -1;
        snprintf(s->id, sizeof s->id, "sub%d", i);
        json_t *r = rpc_call("subscriber.create",
                             json_pack("{s:s,s:s}", "room", cfg.room, "peer", s->id), true);
        char *ans = r ? sub_answer(s, json_string_value(json_object_get(r, "sdp")) ?: "") : NULL;
        json_decref(r);
        if (!ans) {
            s->state = S_FAILED;
            atomic_fetch_add(&n_failed, 1);
            atomic_store(&n_subs, i + 1);
            continue;
        }
        atomic_store(&n_subs, i + 1);
        json_decref(
            rpc_call("subscriber.answer", json_pack("{s:s,s:s}", "peer", s->id, "sdp", ans), true));
        g_free(ans);
        if (i % 50 == 49) {
            pump(0);
        }
    }
    uint64_t end = t0 + (uint64_t)((20 + cfg.subs / 20.0) * 1000);
    while (atomic_load(&n_up) + atomic_load(&n_failed) < cfg.subs && now_ms() < end &&
           !pub_closed[0]) {
        pump(20);
    }
    return (double)(now_ms() - t0) / 1000;
}

/* When the SFU closed the publisher (its ICE failed: consent lost under overload, or another
 * reason) the run ends here with one JSON object saying when, and the drops so far. */
static void check_pub(const char *phase, const uint64_t drops0[3])
{
    if (!pub_closed[0]) {
        return;
    }
    uint64_t d[3];
    udp_drops(d);
    json_t *r =
        json_pack("{s:i,s:i,s:s++,s:s,s:f,s:i,s:I,s:I,s:I}", "subs", cfg.subs, "kbps", cfg.kbps,
                  "error", "the SFU closed the publisher: ", pub_closed, "", "phase", phase, "t_s",
                  (double)(pub_closed_ms - start_ms) / 1000, "connected", atomic_load(&n_up),
                  "udp_drops_sfu_pub", (json_int_t)(d[0] - drops0[0]), "udp_drops_sfu",
                  (json_int_t)(d[1] - drops0[1]), "udp_drops_load", (json_int_t)(d[2] - drops0[2]));
    char *txt = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", txt);
    fflush(stdout);
    fprintf(stderr, "sfu_load: the SFU closed the publisher (%s) during the %s\n", pub_closed,
            phase);
    kill(pub_pid, SIGTERM);
    _exit(0);
}

/* ---- the result ---------------------------------------------------------------------------------
 */

#define SET(k, v)  json_object_set_new(r, k, v)
#define SETI(k, v) SET(k, json_integer((json_int_t)(v)))
#define SETR(k, v) SET(k, json_real(round((v)*1000) / 1000))

static json_t *result(const snap_t *a, const snap_t *b, double setup_s)
{
    const double tck = (double)sysconf(_SC_CLK_TCK), secs = cfg.window;
    uint16_t s0[2], n[2];
    for (int tr = 0; tr < 2; tr++) {
        s0[tr] = (uint16_t)json_integer_value(json_array_get(pubst.s0, (size_t)tr));
        n[tr] =
            (uint16_t)((uint16_t)json_integer_value(json_array_get(pubst.s1, (size_t)tr)) - s0[tr]);
    }
    uint64_t got = 0, want = 0, auth_ok = 0, auth_fail = 0, bad = 0, lat_n = LOAD(lat_over);
    int up = 0, over = 0;
    double worst = 0;
    for (int i = 0; i < atomic_load(&n_subs); i++) {
        sub_t *s = subs[i];
        if (LOAD(s->state) != S_UP) {
            continue;
        }
        uint64_t g = 0;
        for (int tr = 0; tr < 2; tr++) {
            for (uint16_t d = 0; d < n[tr]; d++) {
                uint16_t q = (uint16_t)(s0[tr] + d);
                g += LOAD(s->bits[tr][q / 64]) >> (q % 64) & 1;
            }
        }
        uint64_t e = (uint64_t)n[0] + n[1];
        double loss = e ? 1.0 - (double)g / (double)e : 1;
        worst = loss > worst ? loss : worst;
        over += loss >= 0.005;
        up++;
        got += g;
        want += e;
        auth_ok += LOAD(s->auth_ok);
        auth_fail += LOAD(s->auth_fail);
        bad += LOAD(s->bad_payload);
    }
    for (int i = 0; i < LAT_N; i++) {
        lat_n += LOAD(lat[i]);
    }
    uint64_t pkts = (uint64_t)n[0] + n[1];
    double sfu_s = (double)(b->sfu - a->sfu) / tck;
    json_t *r = json_object(), *ps = pubst.stats;
    SETI("subs", cfg.subs);
    SETI("kbps", cfg.kbps);
    SETI("audio", cfg.audio);
    SET("srtp", json_string(pubst.srtp));
    SETI("connected", up);
    SETI("failed", atomic_load(&n_failed));
    SETR("setup_s", setup_s);
    SETR("window_s", secs);
    SETI("pkts_in", pkts);
    SETI("video_pkts", n[0]);
    SETI("audio_pkts", n[1]);
    SETI("expected", want);
    SETI("received", got);
    SETR("loss_pct", want ? 100.0 * (1 - (double)got / (double)want) : 100);
    SETI("subs_loss_over_0_5", over);
    SETR("worst_sub_loss_pct", 100 * worst);
    SETR("sfu_cpu_s", sfu_s);
    SETR("sfu_cpu_pct", 100 * sfu_s / secs);
    SETR("sfu_us_per_pkt_sub", pkts && up ? sfu_s * 1e6 / ((double)pkts * up) : 0);
    SETR("load_cpu_pct", 100 * (double)(b->self - a->self) / tck / secs);
    SETR("load_subs_cpu_pct", 100 * (double)(b->subs - a->subs) / tck / secs);
    SETR("load_pub_cpu_pct", 100 * (double)(b->pub - a->pub) / tck / secs);
    SETR("load_us_per_pkt_sub", want ? (double)(b->subs - a->subs) / tck * 1e6 / (double)want : 0);
    /* what the rest of the machine used meanwhile (other tenants, kernel threads) */
    SETR("others_cpu_pct", 100 *
                               (double)((b->busy - a->busy) - (b->sfu - a->sfu) -
                                        (b->self - a->self) - (b->pub - a->pub)) /
                               tck / secs);
    SETI("lat_samples", lat_n);
    SETI("lat_p50_us", lat_pct(lat_n, 0.50));
    SETI("lat_p99_us", lat_pct(lat_n, 0.99));
    SETI("lat_max_us", LOAD(lat_max) / 1000);
    SETI("auth_ok", auth_ok);
    SETI("auth_fail", auth_fail);
    SETI("bad_payload", bad);
    SETI("udp_drops_sfu_pub", b->drops[0] - a->drops[0]);
    SETI("udp_drops_sfu", b->drops[1] - a->drops[1]);
    SETI("udp_drops_load", b->drops[2] - a->drops[2]);
    SETI("sfu_pub_pkts_in", b->sfu_c[0] - a->sfu_c[0]);
    SETI("sfu_sub_pkts_out", b->sfu_c[1] - a->sfu_c[1]);
    SETI("rpc_probe_avg_us", probe.n ? probe.sum_us / probe.n : 0);
    SETI("rpc_probe_max_us", probe.max_us);
    static const char *const keys[] = { "keyframes", "plis",      "firs",
                                        "nacks",     "send_fail", "behind_max_us" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char k[32];
        snprintf(k, sizeof k, "pub_%s", keys[i]);
        SET(k, json_incref(json_object_get(ps, keys[i]) ?: json_null()));
    }
    return r;
}

/* --name value pairs into cfg; "ports" is LO-HI. Exits 2 on anything else. */
static void parse_args(int argc, char **argv)
{
    static const struct {
        const char *name;
        char type; /* s string, i int, d double, r range */
        void *p;
    } o[] = { { "rpc", 's', &cfg.rpc },       { "subs", 'i', &cfg.subs },
              { "kbps", 'i', &cfg.kbps },     { "audio", 'i', &cfg.audio },
              { "warmup", 'd', &cfg.warmup }, { "window", 'd', &cfg.window },
              { "pkt", 'i', &cfg.pkt },       { "sfu-ports", 'r', &cfg.port_lo },
              { "gop-ms", 'i', &cfg.gop_ms }, { "room", 's', &cfg.room },
              { "pub", 's', &cfg.pub },       { "poll-us", 'i', &cfg.poll_us } };
    bool ok = true;
    for (int i = 1; ok && i < argc; i += 2) {
        size_t k = 0;
        while (k < sizeof o / sizeof o[0] &&
               !(strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, o[k].name) == 0)) {
            k++;
        }
        ok = k < sizeof o / sizeof o[0] && i + 1 < argc;
        if (!ok) {
            break;
        }
        const char *v = argv[i + 1];
        switch (o[k].type) {
        case 's':
            *(const char **)o[k].p = v;
            break;
        case 'i':
            *(int *)o[k].p = atoi(v);
            break;
        case 'd':
            *(double *)o[k].p = atof(v);
            break;
        default:
            ok = sscanf(v, "%d-%d", &cfg.port_lo, &cfg.port_hi) == 2;
        }
    }
    double pps = cfg.kbps * 1000.0 / 8 / cfg.pkt + 50;
    if (!ok || !cfg.rpc || cfg.subs < 1 || cfg.subs > MAX_SUBS || cfg.kbps < 10 ||
        cfg.window <= 0 || cfg.warmup < 0 || pps * cfg.window > 30000 || cfg.poll_us < 0 ||
        cfg.poll_us > 100000) {
        fprintf(stderr, "usage: sfu_load --rpc PATH [--subs N] [--kbps K] [--audio 0|1] "
                        "[--warmup S] [--window S] [--sfu-ports LO-HI] [--pkt B] [--gop-ms MS] "
                        "[--room R] [--pub PATH] [--poll-us US]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    log_set_level("warn");
    signal(SIGPIPE, SIG_IGN);
    char err[128];
    static const uint16_t known[] = { STUN_ATTRIBUTE_USERNAME,
                                      STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
                                      STUN_ATTRIBUTE_PRIORITY,
                                      STUN_ATTRIBUTE_USE_CANDIDATE,
                                      STUN_ATTRIBUTE_ICE_CONTROLLED,
                                      STUN_ATTRIBUTE_ICE_CONTROLLING,
                                      0 };
    stun_agent_init(&stun, known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    RAND_bytes((unsigned char *)&tie, sizeof tie);
    if (srtpx_global_init() != 0 || !(dctx = dtls_ctx_new(err, sizeof err))) {
        DIE("init: %s", err);
    }
    pthread_t th;
    pthread_create(&th, NULL, sub_main, NULL);
    start_ms = now_ms();
    pub_spawn(argv[0]);
    rpc_connect();
    json_t *h = rpc_call("hello", json_pack("{s:i,s:s}", "version", 1, "node", "sfu-load"), false);
    sfu_pid = (long)json_integer_value(json_object_get(h, "pid"));
    json_decref(h);
    setup_publisher();
    uint64_t drops0[3];
    udp_drops(drops0);
    double setup_s = setup_subscribers();
    fprintf(stderr, "sfu_load: %d/%d subscribers up in %.1f s (%d failed); warm-up %.0f s\n",
            atomic_load(&n_up), cfg.subs, setup_s, atomic_load(&n_failed), cfg.warmup);
    check_pub("setup", drops0);
    pump((int)(cfg.warmup * 1000));
    check_pub("warm-up", drops0);

    /* the window: [t0, t1) by the publisher's send times */
    snap_t a, b;
    uint64_t t0 = now_ns() + 300000000u, t1 = t0 + (uint64_t)(cfg.window * 1e9);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t wall = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec - now_ns();
    atomic_store(&lat_t0, t0 + wall);
    atomic_store(&lat_t1, t1 + wall);
    pub_cmd(json_pack("{s:s,s:I,s:I}", "cmd", "window", "t0", (json_int_t)(t0 + wall), "t1",
                      (json_int_t)(t1 + wall)));
    pump_until(t0 - 100000000u);
    sfu_counters(a.sfu_c);
    pump_until(t0);
    snapshot(&a);
    probe_until(t1);
    pump_until(t1);
    snapshot(&b);
    sfu_counters(b.sfu_c);
    check_pub("window", drops0);
    wait_pub(&pubst.window, "window");
    pump((int)(cfg.drain * 1000)); /* packets still on their way count */
    pub_cmd(json_pack("{s:s}", "cmd", "stats"));
    uint64_t end = now_ns() + 5000000000u;
    while (!pubst.stats && now_ns() < end) {
        pump(10);
    }
    json_t *r = result(&a, &b, setup_s);
    char *s = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", s);
    fflush(stdout);
    /* the publisher ends at the end of its stdin; the SFU is stopped by whoever started it */
    close(pub_in);
    for (int i = 0; i < 100 && waitpid(pub_pid, NULL, WNOHANG) == 0; i++) {
        usleep(20000);
    }
    if (waitpid(pub_pid, NULL, WNOHANG) == 0) {
        kill(pub_pid, SIGKILL);
        waitpid(pub_pid, NULL, 0);
    }
    _exit(0);
}
