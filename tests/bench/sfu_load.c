/* tests/bench/sfu_load.c: load generator for onair-sfu (docs/BENCHMARKS.md, "SFU"). One process
 * drives the SFU's RPC (docs/RPC.md) and plays both ends of a room:
 *  - a publisher (libnice controlling, OpenSSL DTLS client, libsrtp2) offering Opus + VP8 with
 *    BUNDLE and rtcp-mux (the offer comes from proto/sdp's sdp_build_sub_offer: it writes the
 *    same sendonly/actpass shape a browser offers), paced by its own thread at a target bitrate:
 *    ~1200-byte VP8 packets (payload descriptor, frame tags, a keyframe every --gop-ms and on
 *    PLI/FIR) plus 20 ms Opus-sized packets and a sender report per track each second; every
 *    packet carries its send time (CLOCK_MONOTONIC) and a magic at the end of the payload;
 *  - N subscribers (subscriber.create; the answer from sdp_build_answer; libnice controlled;
 *    DTLS client as Chromium) on --threads GLib contexts. Each counts every packet, records
 *    its sequence numbers in a bitmap while the measurement window is open, and authenticates
 *    (srtp_unprotect) one packet in SAMPLE to check the SRTP and read the forwarding latency.
 * After a warm-up it measures one window: SFU CPU (/proc/PID/stat) per forwarded packet per
 * subscriber, loss per subscriber (sequence numbers the publisher sent in the window and the
 * subscriber never got), latency p50/p99, its own CPU, UDP drops per socket (/proc/net/udp)
 * and the SFU's own counters (RPC stats). Prints one JSON object on stdout. A benchmark tool:
 * run it in a private network namespace (unshare -n) against a SFU listening on 127.0.0.1.
 *   sfu_load --rpc PATH [--subs N] [--kbps K] [--audio 1] [--threads T] [--warmup S]
 *            [--window S] [--sfu-ports LO-HI] [--srtp gcm|cm] [--pkt BYTES] [--gop-ms MS] */
#include "../../proto/rtcp.h"
#include "../../proto/rtp.h"
#include "../../proto/sdp.h"
#include "../../sfu/srtpx.h"
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <jansson.h>
#include <nice/agent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS    8000
#define MAX_WORKERS 8
#define WIN_BITS    16384 /* sequence numbers recorded per track in the window */
#define SAMPLE      16    /* one packet in SAMPLE is authenticated (and timed) per subscriber */
#define LAT_US      2     /* latency histogram bucket */
#define LAT_N       100000
#define MAGIC       0x4f6e4172u /* "OnAr" */
#define AUDIO_PT    111
#define VIDEO_PT    96
#define AUDIO_SSRC  0x0a0d1001u
#define VIDEO_SSRC  0x0a0d1002u
#define RPC_MAX     (16u << 20)

#define LOAD(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, n) __atomic_store_n(&(x), LOAD(x) + (n), __ATOMIC_RELAXED)
#define DIE(...)   (fprintf(stderr, "sfu_load: " __VA_ARGS__), fputc('\n', stderr), exit(1))

static struct {
    const char *rpc, *room, *srtp;
    int subs, kbps, audio, threads, batch, pkt, gop_ms, port_lo, port_hi;
    double warmup, window, drain, setup_timeout;
} cfg = { .room = "bench",
          .srtp = "gcm",
          .subs = 50,
          .kbps = 2500,
          .audio = 1,
          .threads = 1,
          .batch = 20,
          .pkt = 1200,
          .gop_ms = 2000,
          .port_lo = 0,
          .port_hi = -1,
          .warmup = 3,
          .window = 10,
          .drain = 0.5,
          .setup_timeout = 0 };

enum {
    P_NEW,
    P_ICE,
    P_DTLS,
    P_UP,
    P_FAILED
};

typedef struct worker {
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *th;
    pid_t tid;
    GPtrArray *peers;  /* this context's peers (for the DTLS timer) */
    uint32_t *lat;     /* LAT_N buckets of LAT_US; written by this thread only */
    uint64_t lat_over; /* samples past the histogram */
    uint64_t lat_max;  /* ns */
} worker_t;

typedef struct peer {
    int idx; /* subscriber index, -1 for the publisher */
    char id[32];
    worker_t *w;
    NiceAgent *agent;
    guint stream;
    int state; /* P_*; written by the worker thread */
    SSL *ssl;
    char fp[EVP_MAX_MD_SIZE * 3 + 8]; /* the SFU's a=fingerprint */
    uint64_t dtls_started_ms;
    srtpx_t srtp;
    int profile;
    /* subscriber counters: written by the worker thread, read with LOAD */
    uint64_t rx_rtp, rx_rtcp, rx_other, auth_ok, auth_fail, bad_magic;
    uint64_t bits[2][WIN_BITS / 64]; /* [0] video [1] audio: seq - win.s0 seen in the window */
} peer_t;

typedef struct job {
    peer_t *p;
    char *sdp; /* in: the SFU's offer (subscriber) or answer (publisher) */
    char *out; /* out: our answer (subscriber) or offer (publisher); NULL on failure */
    char err[160];
} job_t;

static worker_t workers[MAX_WORKERS], pubw;
static peer_t *subs[MAX_SUBS], *pub;
static GAsyncQueue *done_q;
static SSL_CTX *ssl_ctx;
static BIO_METHOD *sink;
static char my_fp[EVP_MAX_MD_SIZE * 3 + 8];
static atomic_int n_up, n_failed, stop_all, kf_request;

/* The measurement window: main asks (cmd), the pacer opens and closes it at packet
 * boundaries, so s0/s1 are exact sequence numbers. */
static struct {
    atomic_int cmd;    /* main -> pacer: 1 open, 2 close */
    atomic_int active; /* pacer -> subscribers: record sequence numbers */
    atomic_int closed; /* pacer -> main: s1 is set */
    uint16_t s0[2], s1[2];
    uint64_t t0_ns, t1_ns;
} win;

static struct { /* publisher: written by the pacer (sent) or the publisher context */
    uint64_t sent[2], bytes, send_fail, keyframes, plis, firs, nacks, remb, rr, behind_max_us;
} pst;

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

/* ---- DTLS client (after examples/deps-smoke/dtls_srtp.c): memory rbio, datagram sink ----- */

static int sink_write(BIO *b, const char *data, int len)
{
    peer_t *p = BIO_get_data(b);
    nice_agent_send(p->agent, p->stream, 1, (guint)len, data);
    return len;
}

static long sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
        return 1200;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 28;
    default:
        return 0;
    }
}

static int verify_any(int ok, X509_STORE_CTX *st)
{
    return 1; /* self-signed: the SDP fingerprint is checked after the handshake */
}

static void fingerprint(X509 *x, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509_digest(x, EVP_sha256(), md, &n);
    for (unsigned i = 0; i < n; i++) {
        sprintf(out + 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
    }
}

static void tls_init(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    if (!key || !x) {
        DIE("cannot make a key");
    }
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)getpid());
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"sfu-load", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, key, EVP_sha256());
    fingerprint(x, my_fp);
    ssl_ctx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_set_min_proto_version(ssl_ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ssl_ctx, DTLS1_2_VERSION);
    SSL_CTX_use_certificate(ssl_ctx, x);
    SSL_CTX_use_PrivateKey(ssl_ctx, key);
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, verify_any);
    const char *prof = strcmp(cfg.srtp, "cm") == 0 ? "SRTP_AES128_CM_SHA1_80"
                                                   : "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
    if (SSL_CTX_set_tlsext_use_srtp(ssl_ctx, prof) != 0) { /* 0 is success */
        DIE("use_srtp");
    }
    sink = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nice-sink");
    BIO_meth_set_write(sink, sink_write);
    BIO_meth_set_ctrl(sink, sink_ctrl);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void peer_fail(peer_t *p, const char *why)
{
    if (p->state != P_FAILED) {
        fprintf(stderr, "sfu_load: %s failed: %s\n", p->id, why);
        p->state = P_FAILED;
        atomic_fetch_add(&n_failed, 1);
    }
}

static void dtls_done(peer_t *p)
{
    char seen[sizeof p->fp];
    X509 *x = SSL_get1_peer_certificate(p->ssl);
    const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(p->ssl);
    if (!x || !prof) {
        X509_free(x);
        peer_fail(p, "no certificate or SRTP profile");
        return;
    }
    fingerprint(x, seen);
    X509_free(x);
    if (strcasecmp(seen, p->fp) != 0) {
        peer_fail(p, "fingerprint mismatch");
        return;
    }
    size_t k, s;
    uint8_t km[64];
    p->profile = (int)prof->id;
    if (srtpx_key_lengths(p->profile, &k, &s) != 0 ||
        SSL_export_keying_material(p->ssl, km, 2 * (k + s), "EXTRACTOR-dtls_srtp", 19, NULL, 0,
                                   0) != 1 ||
        srtpx_start(&p->srtp, p->profile, km, 2 * (k + s), true) != 0) {
        peer_fail(p, "SRTP keying");
        return;
    }
    p->state = P_UP;
    atomic_fetch_add(&n_up, 1);
}

static void dtls_step(peer_t *p)
{
    int r = SSL_do_handshake(p->ssl);
    if (r == 1) {
        dtls_done(p);
        return;
    }
    int e = SSL_get_error(p->ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        peer_fail(p, "DTLS handshake");
    }
}

static void dtls_begin(peer_t *p)
{
    p->ssl = SSL_new(ssl_ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(sink);
    BIO_set_mem_eof_return(rb, -1);
    BIO_set_data(wb, p);
    BIO_set_init(wb, 1);
    SSL_set_options(p->ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(p->ssl, 1200);
    SSL_set_bio(p->ssl, rb, wb);
    SSL_set_connect_state(p->ssl);
    p->state = P_DTLS;
    p->dtls_started_ms = now_ms();
    dtls_step(p);
}

static void dtls_input(peer_t *p, const uint8_t *b, size_t n)
{
    if (!p->ssl) {
        return;
    }
    BIO_write(SSL_get_rbio(p->ssl), b, (int)n);
    if (p->state == P_DTLS) {
        dtls_step(p);
    } else {
        char tmp[256];
        while (SSL_read(p->ssl, tmp, sizeof tmp) > 0) {
        }
    }
}

/* Every 50 ms per context: DTLS retransmissions and the handshake deadline. */
static gboolean on_tick(gpointer ud)
{
    worker_t *w = ud;
    uint64_t t = now_ms();
    for (guint i = 0; i < w->peers->len; i++) {
        peer_t *p = g_ptr_array_index(w->peers, i);
        if (p->state == P_DTLS) {
            if (t - p->dtls_started_ms > 30000) {
                peer_fail(p, "DTLS timeout");
            } else if (DTLSv1_handle_timeout(p->ssl) < 0) {
                peer_fail(p, "DTLS retransmission");
            }
        }
    }
    return G_SOURCE_CONTINUE;
}

/* ---- ICE (libnice, as sfu/ice.c: UPnP and ICE-TCP off, 127.0.0.1 only) --------------------- */

static void on_state(NiceAgent *a, guint sid, guint cid, guint st, gpointer ud)
{
    peer_t *p = ud;
    if ((st == NICE_COMPONENT_STATE_CONNECTED || st == NICE_COMPONENT_STATE_READY) &&
        p->state == P_ICE) {
        dtls_begin(p);
    } else if (st == NICE_COMPONENT_STATE_FAILED && p->state < P_UP) {
        peer_fail(p, "ICE failed");
    }
}

static void ice_new(peer_t *p, bool controlling, NiceAgentRecvFunc recv)
{
    NiceAddress a;
    p->agent = nice_agent_new_full(p->w->ctx, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE);
    g_object_set(p->agent, "upnp", FALSE, "ice-tcp", FALSE, "controlling-mode", controlling, NULL);
    nice_address_init(&a);
    nice_address_set_from_string(&a, "127.0.0.1");
    nice_agent_add_local_address(p->agent, &a);
    p->stream = nice_agent_add_stream(p->agent, 1);
    g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(on_state), p);
    nice_agent_attach_recv(p->agent, p->stream, 1, p->w->ctx, recv, p);
    if (!nice_agent_gather_candidates(p->agent, p->stream)) {
        DIE("gather");
    }
    g_ptr_array_add(p->w->peers, p);
}

/* Fills l with our ICE credentials and candidates (strings freed by the caller with
 * g_strfreev(*cands)). */
static void local_desc(peer_t *p, sdp_local_t *l, sdp_setup_t setup, char ***cands, char **ufrag,
                       char **pwd)
{
    GSList *list = nice_agent_get_local_candidates(p->agent, p->stream, 1);
    GPtrArray *arr = g_ptr_array_new();
    for (GSList *it = list; it; it = it->next) {
        gchar *s = nice_agent_generate_local_candidate_sdp(p->agent, it->data);
        g_ptr_array_add(arr, g_strdup(strncmp(s, "a=", 2) == 0 ? s + 2 : s));
        g_free(s);
    }
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    g_ptr_array_add(arr, NULL);
    *cands = (char **)g_ptr_array_free(arr, FALSE);
    nice_agent_get_local_credentials(p->agent, p->stream, ufrag, pwd);
    *l = (sdp_local_t){ .ice_ufrag = *ufrag,
                        .ice_pwd = *pwd,
                        .fp_alg = "sha-256",
                        .fp_value = my_fp,
                        .setup = setup,
                        .sess_id = (uint64_t)p->idx + 2,
                        .sess_version = 1,
                        .cands = (const char *const *)*cands,
                        .n_cands = g_strv_length(*cands),
                        .end_of_candidates = true };
}

/* Applies the SFU's description: ICE credentials, its candidates, the fingerprint. */
static int apply_remote(peer_t *p, const sdp_t *s, char *err, size_t errlen)
{
    static const char *const types[] = { "host", "srflx", "prflx", "relay" };
    sdp_remote_t r;
    const char *why = NULL;
    if (sdp_remote_transport(s, &r, &why) != 0) {
        snprintf(err, errlen, "remote transport: %s", why);
        return -1;
    }
    snprintf(p->fp, sizeof p->fp, "%s", r.fp_value);
    nice_agent_set_remote_credentials(p->agent, p->stream, r.ice_ufrag, r.ice_pwd);
    GSList *cands = NULL;
    for (int i = 0; i < r.first->n_cands; i++) {
        const sdp_cand_t *c = &r.first->cands[i];
        char line[256];
        snprintf(line, sizeof line, "a=candidate:%s %u %s %u %s %u typ %s", c->foundation,
                 c->component, c->tcp ? "tcp" : "udp", c->priority, c->addr, c->port,
                 types[c->type]);
        NiceCandidate *nc = nice_agent_parse_remote_candidate_sdp(p->agent, p->stream, line);
        if (nc) {
            cands = g_slist_append(cands, nc);
        }
    }
    int n = cands ? nice_agent_set_remote_candidates(p->agent, p->stream, 1, cands) : 0;
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    if (n <= 0) {
        snprintf(err, errlen, "no usable SFU candidate");
        return -1;
    }
    p->state = P_ICE;
    return 0;
}

/* ---- subscribers ----------------------------------------------------------------------------- */

static void on_sub_recv(NiceAgent *a, guint sid, guint cid, guint len, gchar *buf, gpointer ud)
{
    static __thread uint8_t tmp[1500 + SRTPX_SPARE];
    peer_t *p = ud;
    const uint8_t *b = (const uint8_t *)buf;
    if (len >= 1 && b[0] >= 20 && b[0] <= 63) {
        dtls_input(p, b, len);
        return;
    }
    if (len < RTP_HDR_MIN || b[0] < 128 || b[0] > 191) {
        BUMP(p->rx_other, 1);
        return;
    }
    if (b[1] >= 192 && b[1] <= 223) {
        BUMP(p->rx_rtcp, 1); /* the SFU's re-issued sender reports */
        return;
    }
    BUMP(p->rx_rtp, 1);
    int tr = (b[1] & 0x7f) == VIDEO_PT ? 0 : (b[1] & 0x7f) == AUDIO_PT ? 1 : -1;
    uint16_t seq = rtp_rd16(b + 2);
    bool in_win = atomic_load_explicit(&win.active, memory_order_acquire) != 0;
    if (tr >= 0 && in_win) {
        uint16_t d = (uint16_t)(seq - win.s0[tr]);
        if (d < WIN_BITS) {
            uint64_t *wd = &p->bits[tr][d / 64];
            __atomic_store_n(wd, LOAD(*wd) | (1ull << (d % 64)), __ATOMIC_RELAXED);
        }
    }
    if (((seq + (unsigned)p->idx) % SAMPLE) != 0 || p->state != P_UP || len > 1500) {
        return;
    }
    int n = (int)len;
    memcpy(tmp, b, len);
    if (srtpx_unprotect(&p->srtp, tmp, &n) != 0) {
        BUMP(p->auth_fail, 1);
        return;
    }
    BUMP(p->auth_ok, 1);
    if (n < RTP_HDR_MIN + 12 || rtp_rd32(tmp + n - 4) != MAGIC) {
        BUMP(p->bad_magic, 1);
        return;
    }
    if (in_win) {
        uint64_t sent = (uint64_t)rtp_rd32(tmp + n - 12) << 32 | rtp_rd32(tmp + n - 8);
        uint64_t d = now_ns() - sent;
        worker_t *w = p->w;
        if (d / 1000 / LAT_US < LAT_N) {
            BUMP(w->lat[d / 1000 / LAT_US], 1);
        } else {
            BUMP(w->lat_over, 1);
        }
        if (d > LOAD(w->lat_max)) {
            __atomic_store_n(&w->lat_max, d, __ATOMIC_RELAXED);
        }
    }
}

/* Runs in the subscriber's context: agent, gathering, the answer to the SFU's offer. */
static gboolean sub_setup(gpointer ud)
{
    job_t *j = ud;
    peer_t *p = j->p;
    sdp_t *offer = NULL;
    const char *why = NULL;
    char **cands = NULL, *ufrag = NULL, *pwd = NULL;
    if (sdp_parse(&offer, j->sdp, strlen(j->sdp), &why) != 0) {
        snprintf(j->err, sizeof j->err, "offer: %s", why);
        goto out;
    }
    ice_new(p, false, on_sub_recv);
    if (apply_remote(p, offer, j->err, sizeof j->err) != 0) {
        goto out;
    }
    sdp_local_t l;
    local_desc(p, &l, SDP_SETUP_ACTIVE, &cands, &ufrag, &pwd); /* DTLS client, as Chromium */
    sdp_answer_opts_t opts = { 0 };
    j->out = g_malloc(SDP_MAX_LEN);
    if (sdp_build_answer(j->out, SDP_MAX_LEN, offer, &l, &opts, NULL, &why) < 0) {
        snprintf(j->err, sizeof j->err, "answer: %s", why);
        g_free(j->out);
        j->out = NULL;
    }
out:
    if (!j->out) {
        peer_fail(p, j->err);
    }
    sdp_free(offer);
    g_strfreev(cands);
    g_free(ufrag);
    g_free(pwd);
    g_async_queue_push(done_q, j);
    return G_SOURCE_REMOVE;
}

/* ---- publisher ------------------------------------------------------------------------------- */

static void on_pub_rtcp(const uint8_t *b, size_t n)
{
    rtcp_iter_t it;
    rtcp_pkt_t pk;
    rtcp_iter_init(&it, b, n);
    while (rtcp_iter_next(&it, &pk, NULL) == 1) {
        if (pk.pt == RTCP_PSFB && (pk.fmt == RTCP_FMT_PLI || pk.fmt == RTCP_FMT_FIR)) {
            BUMP(*(pk.fmt == RTCP_FMT_PLI ? &pst.plis : &pst.firs), 1);
            atomic_store(&kf_request, 1);
        } else if (pk.pt == RTCP_PSFB && pk.fmt == RTCP_FMT_AFB) {
            BUMP(pst.remb, 1);
        } else if (pk.pt == RTCP_RTPFB && pk.fmt == RTCP_FMT_NACK) {
            BUMP(pst.nacks, 1); /* not answered: the generator keeps no history */
        } else if (pk.pt == RTCP_RR) {
            BUMP(pst.rr, 1);
        }
    }
}

static void on_pub_recv(NiceAgent *a, guint sid, guint cid, guint len, gchar *buf, gpointer ud)
{
    static uint8_t tmp[1500 + SRTPX_SPARE];
    peer_t *p = ud;
    const uint8_t *b = (const uint8_t *)buf;
    if (len >= 1 && b[0] >= 20 && b[0] <= 63) {
        dtls_input(p, b, len);
    } else if (len >= 8 && len <= 1500 && b[0] >= 128 && b[0] <= 191 && b[1] >= 192 &&
               b[1] <= 223 && p->state == P_UP) {
        int n = (int)len;
        memcpy(tmp, b, len);
        if (srtpx_unprotect_rtcp(&p->srtp, tmp, &n) == 0) {
            on_pub_rtcp(tmp, (size_t)n);
        }
    }
}

/* The publisher's offer: what a browser's sendonly offer says, written by sdp_build_sub_offer
 * from a hand-made negotiation (Opus, then VP8 with nack/pli/fir/remb; no rtx, no extensions). */
static gboolean pub_offer(gpointer ud)
{
    job_t *j = ud;
    peer_t *p = j->p;
    sdp_neg_t neg;
    sdp_sub_track_t tr[2];
    const char *why = NULL;
    char **cands, *ufrag, *pwd;
    int n = 0;
    memset(&neg, 0, sizeof neg);
    if (cfg.audio) {
        neg.media[n] = (sdp_neg_media_t){ .kind = SDP_KIND_AUDIO,
                                          .mid = "0",
                                          .accepted = true,
                                          .codec = { .pt = AUDIO_PT,
                                                     .name = "opus",
                                                     .clock = 48000,
                                                     .channels = 2,
                                                     .fmtp = "minptime=10;useinbandfec=1",
                                                     .rtx_pt = -1 },
                                          .ssrc = AUDIO_SSRC };
        tr[n++] = (sdp_sub_track_t){ AUDIO_SSRC, 0, "sfu-load", "bench", "audio" };
    }
    neg.media[n] = (sdp_neg_media_t){
        .kind = SDP_KIND_VIDEO,
        .mid = "1",
        .accepted = true,
        .codec = { .pt = VIDEO_PT, .name = "VP8", .clock = 90000, .rtx_pt = -1, .fb = SDP_FB_SFU },
        .ssrc = VIDEO_SSRC
    };
    tr[n++] = (sdp_sub_track_t){ VIDEO_SSRC, 0, "sfu-load", "bench", "video" };
    neg.n_media = (uint8_t)n;
    ice_new(p, true, on_pub_recv);
    sdp_local_t l;
    local_desc(p, &l, SDP_SETUP_ACTPASS, &cands, &ufrag, &pwd);
    j->out = g_malloc(SDP_MAX_LEN);
    if (sdp_build_sub_offer(j->out, SDP_MAX_LEN, &neg, &l, tr, (size_t)n, &why) < 0) {
        DIE("publisher offer: %s", why);
    }
    g_strfreev(cands);
    g_free(ufrag);
    g_free(pwd);
    g_async_queue_push(done_q, j);
    return G_SOURCE_REMOVE;
}

static gboolean pub_answer(gpointer ud)
{
    job_t *j = ud;
    sdp_t *ans = NULL;
    const char *why = NULL;
    if (sdp_parse(&ans, j->sdp, strlen(j->sdp), &why) != 0 ||
        apply_remote(j->p, ans, j->err, sizeof j->err) != 0) {
        DIE("publisher answer: %s %s", why ? why : "", j->err);
    }
    sdp_free(ans);
    g_async_queue_push(done_q, j);
    return G_SOURCE_REMOVE;
}

/* ---- the pacer: one thread sending the publisher's RTP at the target rate ------------------ */

static void wr64(uint8_t *b, uint64_t v)
{
    rtp_wr32(b, (uint32_t)(v >> 32));
    rtp_wr32(b + 4, (uint32_t)v);
}

static void pub_send(uint8_t *b, int n, bool rtcp)
{
    if ((rtcp ? srtpx_protect_rtcp : srtpx_protect)(&pub->srtp, b, &n) != 0 ||
        nice_agent_send(pub->agent, pub->stream, 1, (guint)n, (const gchar *)b) != n) {
        BUMP(pst.send_fail, 1);
        return;
    }
    BUMP(pst.bytes, (uint64_t)n);
}

/* One RTP packet of track tr (0 video, 1 audio) with the send time at the end of the payload. */
static void send_rtp(int tr, uint16_t seq, uint32_t ts, bool marker, int vp8)
{
    static uint8_t b[1500 + SRTPX_SPARE];
    int len = tr == 0 ? cfg.pkt : 172; /* 160 bytes of Opus at 64 kbit/s */
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | (tr == 0 ? VIDEO_PT : AUDIO_PT));
    rtp_wr16(b + 2, seq);
    rtp_wr32(b + 4, ts);
    rtp_wr32(b + 8, tr == 0 ? VIDEO_SSRC : AUDIO_SSRC);
    if (tr == 0) {
        uint8_t *pl = b + RTP_HDR_MIN;
        pl[0] = vp8 ? 0x10 : 0x00; /* RFC 7741: S=1, PID 0 on a frame's first packet */
        if (vp8) {
            static const uint8_t key[] = { 0x10, 0x02, 0x00, 0x9d, 0x01,
                                           0x2a, 0x00, 0x05, 0xd0, 0x02 };
            static const uint8_t delta[] = { 0x11, 0x02, 0x00 };
            /* RFC 6386 9.1 frame tag: P=0 key frame (start code, 1280x720), P=1 inter frame */
            memcpy(pl + 1, vp8 == 2 ? key : delta, vp8 == 2 ? sizeof key : sizeof delta);
        }
    }
    wr64(b + len - 12, now_ns());
    rtp_wr32(b + len - 4, MAGIC);
    BUMP(pst.sent[tr], 1);
    pub_send(b, len, false);
}

/* A sender report + SDES CNAME for track tr (the SFU re-issues it to every subscriber). */
static void send_sr(int tr, uint32_t rtp_ts)
{
    uint8_t b[256 + SRTPX_SPARE];
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    rtcp_sr_t sr = { .ssrc = tr == 0 ? VIDEO_SSRC : AUDIO_SSRC,
                     .ntp_sec = (uint32_t)(rt.tv_sec + 2208988800u),
                     .ntp_frac = (uint32_t)(((uint64_t)rt.tv_nsec << 32) / 1000000000u),
                     .rtp_ts = rtp_ts,
                     .pkt_count = (uint32_t)LOAD(pst.sent[tr]) };
    ssize_t n = rtcp_sr_build(b, 256, &sr);
    ssize_t m = n > 0 ? rtcp_sdes_build(b + n, 256 - (size_t)n, sr.ssrc, "sfu-load", 8) : -1;
    if (m > 0) {
        pub_send(b, (int)(n + m), true);
    }
}

static void window_cmd(uint16_t vseq, uint16_t aseq)
{
    int c = atomic_load(&win.cmd);
    if (c == 1 && !atomic_load(&win.active)) {
        win.s0[0] = vseq;
        win.s0[1] = aseq;
        win.t0_ns = now_ns();
        atomic_store_explicit(&win.active, 1, memory_order_release);
    } else if (c == 2 && !atomic_load(&win.closed)) {
        win.s1[0] = vseq;
        win.s1[1] = aseq;
        win.t1_ns = now_ns();
        atomic_store_explicit(&win.closed, 1, memory_order_release);
    }
}

static gpointer pacer_main(gpointer ud)
{
    const double vpps = cfg.kbps * 1000.0 / 8 / cfg.pkt, fps = 30;
    const uint64_t gop = (uint64_t)(cfg.gop_ms * fps / 1000);
    uint64_t t0 = now_ns(), nv = 0, na = 0, next_sr = t0 + 1000000000u, frame = UINT64_MAX;
    uint16_t vseq = 1000, aseq = 5000;
    uint32_t vts0 = 0x1000, ats0 = 0x2000;
    while (!atomic_load(&stop_all)) {
        uint64_t tv = t0 + (uint64_t)(nv * 1e9 / vpps), ta = t0 + na * 20000000u;
        uint64_t t = tv < next_sr ? tv : next_sr;
        if (cfg.audio && ta < t) {
            t = ta;
        }
        uint64_t now = now_ns();
        if (t > now) {
            struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        } else if (now - t > LOAD(pst.behind_max_us) * 1000) {
            __atomic_store_n(&pst.behind_max_us, (now - t) / 1000, __ATOMIC_RELAXED);
        }
        window_cmd(vseq, aseq);
        if (t == tv) {
            uint64_t f = (uint64_t)(nv * fps / vpps), fnext = (uint64_t)((nv + 1) * fps / vpps);
            int vp8 = 0;
            if (f != frame) { /* first packet of frame f */
                frame = f;
                bool key = f % gop == 0 || atomic_exchange(&kf_request, 0);
                vp8 = key ? 2 : 1;
                BUMP(pst.keyframes, key ? 1 : 0);
            }
            send_rtp(0, vseq++, vts0 + (uint32_t)(f * 3000), fnext != f, vp8);
            nv++;
        } else if (t == ta && cfg.audio) {
            send_rtp(1, aseq++, ats0 + (uint32_t)na * 960, false, 0);
            na++;
        } else {
            send_sr(0, vts0 + (uint32_t)((t - t0) / 1000000u * 90));
            if (cfg.audio) {
                send_sr(1, ats0 + (uint32_t)((t - t0) / 1000000u * 48));
            }
            next_sr += 1000000000u;
        }
    }
    return NULL;
}

/* ---- worker threads -------------------------------------------------------------------------- */

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static gpointer worker_main(gpointer ud)
{
    worker_t *w = ud;
    w->tid = gettid_();
    g_main_context_push_thread_default(w->ctx);
    g_main_loop_run(w->loop);
    return NULL;
}

static void worker_start(worker_t *w, const char *name)
{
    w->ctx = g_main_context_new();
    w->loop = g_main_loop_new(w->ctx, FALSE);
    w->peers = g_ptr_array_new();
    w->lat = g_new0(uint32_t, LAT_N);
    GSource *t = g_timeout_source_new(50);
    g_source_set_callback(t, on_tick, w, NULL);
    g_source_attach(t, w->ctx);
    g_source_unref(t);
    w->th = g_thread_new(name, worker_main, w);
}

static job_t *run_job(worker_t *w, GSourceFunc fn, peer_t *p, char *sdp)
{
    job_t *j = g_new0(job_t, 1);
    j->p = p;
    j->sdp = sdp;
    g_main_context_invoke(w->ctx, fn, j);
    return j;
}

/* ---- the RPC (docs/RPC.md: 4-byte big-endian length + JSON), blocking, main thread only ---- */

static int rpc_fd = -1, rpc_next_id = 1;
static struct {
    int connected, failed, closed;
} ev_subs;

static void read_full(void *buf, size_t n)
{
    uint8_t *b = buf;
    while (n > 0) {
        ssize_t k = read(rpc_fd, b, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            DIE("RPC connection lost");
        }
        b += k;
        n -= (size_t)k;
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
    const char *ev = json_string_value(json_object_get(m, "event"));
    json_t *d = json_object_get(m, "data");
    const char *role = json_string_value(json_object_get(d, "role"));
    const char *st = json_string_value(json_object_get(d, "state"));
    if (!ev || strcmp(ev, "peer.state") != 0 || !role || !st) {
        return;
    }
    if (strcmp(role, "publisher") == 0 && strcmp(st, "closed") == 0) {
        DIE("the SFU closed the publisher: %s",
            json_string_value(json_object_get(d, "reason")) ?: "?");
    }
    ev_subs.connected += strcmp(st, "connected") == 0;
    ev_subs.failed += strcmp(st, "failed") == 0;
    ev_subs.closed += strcmp(st, "closed") == 0;
}

/* Reads and handles events for up to ms milliseconds. */
static void rpc_pump(int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    for (;;) {
        uint64_t t = now_ms();
        struct pollfd pf = { rpc_fd, POLLIN, 0 };
        if (t >= end || poll(&pf, 1, (int)(end - t)) <= 0) {
            return;
        }
        json_t *m = rpc_read();
        on_event(m);
        json_decref(m);
    }
}

/* Sends a request (steals params) and returns its result (new reference); DIEs on an error
 * response unless soft, then returns NULL. */
static json_t *rpc_call(const char *method, json_t *params, bool soft)
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
        json_t *m = rpc_read();
        json_t *jid = json_object_get(m, "id");
        if (!json_is_integer(jid) || json_integer_value(jid) != id) {
            on_event(m);
            json_decref(m);
            continue;
        }
        json_t *r = json_incref(json_object_get(m, "result"));
        if (!r) {
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
    rpc_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(rpc_fd, (struct sockaddr *)&a, sizeof a) != 0) {
        DIE("connect %s: %s", cfg.rpc, strerror(errno));
    }
}

/* ---- measurements -------------------------------------------------------------------------- */

/* utime + stime of /proc/<path>/stat in clock ticks, or -1. */
static long cpu_ticks(const char *path)
{
    char b[1024];
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

static long pid_ticks(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    return cpu_ticks(path);
}

static long tid_ticks(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    return cpu_ticks(path);
}

/* UDP receive-buffer drops in this namespace (/proc/net/udp): [0] on the SFU's ports, [1] on
 * the others (ours). */
static void udp_drops(uint64_t out[2])
{
    char line[512];
    FILE *f = fopen("/proc/net/udp", "r");
    out[0] = out[1] = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned port;
        unsigned long long drops = 0;
        char *tok, *save = NULL, *last = NULL;
        if (sscanf(line, " %*d: %*x:%x", &port) != 1) {
            continue; /* the header line */
        }
        for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
            last = tok; /* the last column is "drops" */
        }
        if (last && sscanf(last, "%llu", &drops) == 1) {
            out[(int)port >= cfg.port_lo && (int)port <= cfg.port_hi ? 0 : 1] += drops;
        }
    }
    if (f) {
        fclose(f);
    }
}

/* The SFU's counters: [0] publisher packets_in, [1] sum of subscribers' packets_out. */
static void sfu_counters(uint64_t out[2])
{
    json_t *r = rpc_call("stats", json_pack("{s:s}", "room", cfg.room), false);
    json_t *peers = json_object_get(r, "peers"), *p;
    size_t i;
    out[0] = out[1] = 0;
    json_array_foreach(peers, i, p)
    {
        const char *role = json_string_value(json_object_get(p, "role"));
        bool is_pub = role && strcmp(role, "publisher") == 0;
        out[is_pub ? 0 : 1] +=
            (uint64_t)json_integer_value(json_object_get(p, is_pub ? "packets_in" : "packets_out"));
    }
    json_decref(r);
}

static uint64_t lat_pct(const uint32_t *h, uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int i = 0; i < LAT_N; i++) {
        acc += h[i];
        if (acc > want) {
            return (uint64_t)(i + 1) * LAT_US;
        }
    }
    return (uint64_t)LAT_N * LAT_US;
}

/* ---- setup ------------------------------------------------------------------------------------
 */

static peer_t *peer_new(int idx, worker_t *w)
{
    peer_t *p = g_new0(peer_t, 1);
    p->idx = idx;
    p->w = w;
    if (idx < 0) {
        snprintf(p->id, sizeof p->id, "pub");
    } else {
        snprintf(p->id, sizeof p->id, "sub%d", idx);
    }
    return p;
}

static void wait_until(atomic_int *v, int want, double secs, const char *what)
{
    uint64_t end = now_ms() + (uint64_t)(secs * 1000);
    while (atomic_load(v) < want && atomic_load(&n_failed) == 0) {
        if (now_ms() > end) {
            DIE("%s: timeout", what);
        }
        rpc_pump(10);
    }
}

static void setup_publisher(void)
{
    pub = peer_new(-1, &pubw);
    job_t *j = run_job(&pubw, pub_offer, pub, NULL);
    g_async_queue_pop(done_q);
    json_t *r = rpc_call(
        "publisher.offer",
        json_pack("{s:s,s:s,s:s}", "room", cfg.room, "peer", pub->id, "sdp", j->out), false);
    char *ans = g_strdup(json_string_value(json_object_get(r, "sdp")));
    json_decref(r);
    g_free(j->out);
    g_free(j);
    j = run_job(&pubw, pub_answer, pub, ans);
    g_async_queue_pop(done_q);
    g_free(ans);
    g_free(j);
    wait_until(&n_up, 1, 10, "publisher connected");
    if (atomic_load(&n_failed)) {
        DIE("the publisher failed");
    }
}

/* Creates the subscribers in batches: subscriber.create for a batch, their answers built in
 * their contexts, then subscriber.answer for each. Returns the seconds until all are up. */
static double setup_subscribers(void)
{
    uint64_t t0 = now_ms();
    job_t *jobs[256];
    for (int i = 0; i < cfg.subs; i += cfg.batch) {
        int n = cfg.subs - i < cfg.batch ? cfg.subs - i : cfg.batch;
        for (int k = 0; k < n; k++) {
            peer_t *p = subs[i + k] = peer_new(i + k, &workers[(i + k) % cfg.threads]);
            json_t *r = rpc_call("subscriber.create",
                                 json_pack("{s:s,s:s}", "room", cfg.room, "peer", p->id), false);
            jobs[k] =
                run_job(p->w, sub_setup, p, g_strdup(json_string_value(json_object_get(r, "sdp"))));
            json_decref(r);
        }
        for (int k = 0; k < n; k++) {
            g_async_queue_pop(done_q);
        }
        for (int k = 0; k < n; k++) {
            job_t *j = jobs[k];
            if (j->out) {
                json_decref(rpc_call("subscriber.answer",
                                     json_pack("{s:s,s:s}", "peer", j->p->id, "sdp", j->out),
                                     true));
            }
            g_free(j->sdp);
            g_free(j->out);
            g_free(j);
        }
    }
    double limit = cfg.setup_timeout > 0 ? cfg.setup_timeout : 20 + cfg.subs / 20.0;
    uint64_t end = t0 + (uint64_t)(limit * 1000);
    while (atomic_load(&n_up) + atomic_load(&n_failed) < cfg.subs + 1 && now_ms() < end) {
        rpc_pump(20);
    }
    return (double)(now_ms() - t0) / 1000;
}

static void parse_args(int argc, char **argv)
{
    static const struct option o[] = {
        { "rpc", 1, 0, 'r' },    { "subs", 1, 0, 'n' },          { "kbps", 1, 0, 'k' },
        { "audio", 1, 0, 'a' },  { "threads", 1, 0, 't' },       { "warmup", 1, 0, 'w' },
        { "window", 1, 0, 'W' }, { "sfu-ports", 1, 0, 'p' },     { "srtp", 1, 0, 's' },
        { "pkt", 1, 0, 'P' },    { "gop-ms", 1, 0, 'g' },        { "batch", 1, 0, 'b' },
        { "room", 1, 0, 'R' },   { "setup-timeout", 1, 0, 'T' }, { 0, 0, 0, 0 }
    };
    int c;
    while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (c) {
        case 'r':
            cfg.rpc = optarg;
            break;
        case 'n':
            cfg.subs = atoi(optarg);
            break;
        case 'k':
            cfg.kbps = atoi(optarg);
            break;
        case 'a':
            cfg.audio = atoi(optarg);
            break;
        case 't':
            cfg.threads = atoi(optarg);
            break;
        case 'w':
            cfg.warmup = atof(optarg);
            break;
        case 'W':
            cfg.window = atof(optarg);
            break;
        case 'p':
            sscanf(optarg, "%d-%d", &cfg.port_lo, &cfg.port_hi);
            break;
        case 's':
            cfg.srtp = optarg;
            break;
        case 'P':
            cfg.pkt = atoi(optarg);
            break;
        case 'g':
            cfg.gop_ms = atoi(optarg);
            break;
        case 'b':
            cfg.batch = atoi(optarg);
            break;
        case 'R':
            cfg.room = optarg;
            break;
        case 'T':
            cfg.setup_timeout = atof(optarg);
            break;
        default:
            exit(2);
        }
    }
    double vpps = cfg.kbps * 1000.0 / 8 / cfg.pkt;
    if (!cfg.rpc || cfg.subs < 1 || cfg.subs > MAX_SUBS || cfg.kbps < 10 || cfg.threads < 1 ||
        cfg.threads > MAX_WORKERS || cfg.pkt < 64 || cfg.pkt > 1400 || cfg.batch < 1 ||
        cfg.batch > 256 || cfg.window <= 0 || vpps * cfg.window >= WIN_BITS - 64 ||
        cfg.gop_ms < 100) {
        fprintf(stderr, "usage: sfu_load --rpc PATH [--subs N] [--kbps K] [--audio 0|1] "
                        "[--threads T] [--warmup S] [--window S] [--sfu-ports LO-HI] "
                        "[--srtp gcm|cm] [--pkt B] [--gop-ms MS] [--batch N] [--room R]\n");
        exit(2);
    }
}

/* ---- the window and the result ----------------------------------------------------------- */

typedef struct snap {
    long sfu, self, pacer, pubctx, subs, busy; /* busy: the whole machine (/proc/stat) */
    uint64_t drops[2], sfu_c[2];
} snap_t;

static pid_t pacer_tid;

/* Busy clock ticks of all CPUs (user nice system irq softirq steal), or -1. */
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

static gpointer pacer_thread(gpointer ud)
{
    pacer_tid = gettid_();
    return pacer_main(ud);
}

static void snapshot(snap_t *s, long sfu_pid)
{
    s->sfu = pid_ticks(sfu_pid);
    s->self = cpu_ticks("/proc/self/stat");
    s->busy = machine_busy();
    s->pacer = tid_ticks(pacer_tid);
    s->pubctx = tid_ticks(pubw.tid);
    s->subs = 0;
    for (int i = 0; i < cfg.threads; i++) {
        s->subs += tid_ticks(workers[i].tid);
    }
    udp_drops(s->drops);
}

static json_t *result(const snap_t *a, const snap_t *b, double setup_s)
{
    const double tck = (double)sysconf(_SC_CLK_TCK);
    double secs = (double)(win.t1_ns - win.t0_ns) / 1e9;
    uint64_t expect[2] = { (uint16_t)(win.s1[0] - win.s0[0]), (uint16_t)(win.s1[1] - win.s0[1]) };
    uint64_t got = 0, want = 0, auth_ok = 0, auth_fail = 0, bad = 0, lat_n = 0, over = 0;
    uint64_t lat_max = 0;
    int up = 0, over_05 = 0;
    double worst = 0;
    static uint32_t lat[LAT_N];
    for (int i = 0; i < cfg.subs; i++) {
        peer_t *p = subs[i];
        if (!p || p->state != P_UP) {
            continue;
        }
        uint64_t g = 0, e = 0;
        for (int tr = 0; tr < 2; tr++) {
            for (uint64_t d = 0; d < expect[tr]; d++) {
                g += (LOAD(p->bits[tr][d / 64]) >> (d % 64)) & 1;
            }
            e += expect[tr];
        }
        double loss = e ? 1.0 - (double)g / (double)e : 1;
        worst = loss > worst ? loss : worst;
        over_05 += loss >= 0.005;
        up++;
        got += g;
        want += e;
        auth_ok += LOAD(p->auth_ok);
        auth_fail += LOAD(p->auth_fail);
        bad += LOAD(p->bad_magic);
    }
    for (int w = 0; w < cfg.threads; w++) {
        for (int i = 0; i < LAT_N; i++) {
            lat[i] += LOAD(workers[w].lat[i]);
            lat_n += LOAD(workers[w].lat[i]);
        }
        over += LOAD(workers[w].lat_over);
        lat_max = LOAD(workers[w].lat_max) > lat_max ? LOAD(workers[w].lat_max) : lat_max;
    }
    uint64_t pkts_in = expect[0] + expect[1];
    double sfu_s = (double)(b->sfu - a->sfu) / tck;
    json_t *r = json_object();
    json_object_set_new(r, "subs", json_integer(cfg.subs));
    json_object_set_new(r, "kbps", json_integer(cfg.kbps));
    json_object_set_new(r, "audio", json_integer(cfg.audio));
    json_object_set_new(r, "threads", json_integer(cfg.threads));
    json_object_set_new(r, "srtp", json_string(srtpx_profile_name(pub->profile)));
    json_object_set_new(r, "connected", json_integer(up));
    json_object_set_new(r, "failed", json_integer(atomic_load(&n_failed)));
    json_object_set_new(r, "setup_s", json_real(setup_s));
    json_object_set_new(r, "window_s", json_real(secs));
    json_object_set_new(r, "pkts_in", json_integer((json_int_t)pkts_in));
    json_object_set_new(r, "video_pkts", json_integer((json_int_t)expect[0]));
    json_object_set_new(r, "audio_pkts", json_integer((json_int_t)expect[1]));
    json_object_set_new(r, "expected", json_integer((json_int_t)want));
    json_object_set_new(r, "received", json_integer((json_int_t)got));
    json_object_set_new(r, "loss_pct", json_real(want ? 100.0 * (1 - (double)got / want) : 100));
    json_object_set_new(r, "subs_loss_over_0_5", json_integer(over_05));
    json_object_set_new(r, "worst_sub_loss_pct", json_real(100 * worst));
    json_object_set_new(r, "sfu_cpu_s", json_real(sfu_s));
    json_object_set_new(r, "sfu_cpu_pct", json_real(100 * sfu_s / secs));
    json_object_set_new(r, "sfu_us_per_pkt_sub",
                        json_real(pkts_in && up ? sfu_s * 1e6 / ((double)pkts_in * up) : 0));
    json_object_set_new(r, "load_cpu_pct",
                        json_real(100 * (double)(b->self - a->self) / tck / secs));
    /* what the rest of the machine used meanwhile (other tenants, kernel threads) */
    json_object_set_new(
        r, "others_cpu_pct",
        json_real(100 * (double)((b->busy - a->busy) - (b->sfu - a->sfu) - (b->self - a->self)) /
                  tck / secs));
    json_object_set_new(r, "load_subs_cpu_pct",
                        json_real(100 * (double)(b->subs - a->subs) / tck / secs));
    json_object_set_new(
        r, "load_pub_cpu_pct",
        json_real(100 * (double)(b->pacer - a->pacer + b->pubctx - a->pubctx) / tck / secs));
    json_object_set_new(
        r, "load_us_per_pkt_sub",
        json_real(want ? (double)(b->subs - a->subs) / tck * 1e6 / (double)want : 0));
    json_object_set_new(r, "lat_samples", json_integer((json_int_t)lat_n));
    json_object_set_new(r, "lat_p50_us",
                        json_integer((json_int_t)lat_pct(lat, lat_n + over, 0.50)));
    json_object_set_new(r, "lat_p99_us",
                        json_integer((json_int_t)lat_pct(lat, lat_n + over, 0.99)));
    json_object_set_new(r, "lat_max_us", json_integer((json_int_t)(lat_max / 1000)));
    json_object_set_new(r, "auth_ok", json_integer((json_int_t)auth_ok));
    json_object_set_new(r, "auth_fail", json_integer((json_int_t)auth_fail));
    json_object_set_new(r, "bad_payload", json_integer((json_int_t)bad));
    json_object_set_new(r, "udp_drops_sfu", json_integer((json_int_t)(b->drops[0] - a->drops[0])));
    json_object_set_new(r, "udp_drops_load", json_integer((json_int_t)(b->drops[1] - a->drops[1])));
    json_object_set_new(r, "sfu_pub_pkts_in",
                        json_integer((json_int_t)(b->sfu_c[0] - a->sfu_c[0])));
    json_object_set_new(r, "sfu_sub_pkts_out",
                        json_integer((json_int_t)(b->sfu_c[1] - a->sfu_c[1])));
    json_object_set_new(r, "pub_keyframes", json_integer((json_int_t)LOAD(pst.keyframes)));
    json_object_set_new(r, "pub_plis", json_integer((json_int_t)(LOAD(pst.plis) + LOAD(pst.firs))));
    json_object_set_new(r, "pub_nacks", json_integer((json_int_t)LOAD(pst.nacks)));
    json_object_set_new(r, "pub_send_fail", json_integer((json_int_t)LOAD(pst.send_fail)));
    json_object_set_new(r, "pacer_behind_max_us",
                        json_integer((json_int_t)LOAD(pst.behind_max_us)));
    return r;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (srtpx_global_init() != 0) {
        DIE("srtp_init");
    }
    tls_init();
    done_q = g_async_queue_new();
    worker_start(&pubw, "pub");
    for (int i = 0; i < cfg.threads; i++) {
        worker_start(&workers[i], "subs");
    }
    rpc_connect();
    json_t *h = rpc_call("hello", json_pack("{s:i,s:s}", "version", 1, "node", "sfu-load"), false);
    long sfu_pid = (long)json_integer_value(json_object_get(h, "pid"));
    json_decref(h);
    setup_publisher();
    GThread *pacer = g_thread_new("pacer", pacer_thread, NULL);
    double setup_s = setup_subscribers();
    fprintf(stderr, "sfu_load: %d/%d subscribers up in %.1f s (%d failed); warm-up %.0f s\n",
            atomic_load(&n_up) - 1, cfg.subs, setup_s, atomic_load(&n_failed), cfg.warmup);
    rpc_pump((int)(cfg.warmup * 1000));
    snap_t a, b;
    sfu_counters(a.sfu_c);
    atomic_store(&win.cmd, 1);
    while (!atomic_load(&win.active)) {
        usleep(200);
    }
    snapshot(&a, sfu_pid);
    rpc_pump((int)(cfg.window * 1000));
    atomic_store(&win.cmd, 2);
    while (!atomic_load(&win.closed)) {
        usleep(200);
    }
    snapshot(&b, sfu_pid);
    sfu_counters(b.sfu_c);
    rpc_pump((int)(cfg.drain * 1000)); /* packets still on their way count */
    atomic_store(&win.active, 0);
    usleep(50000);
    json_t *r = result(&a, &b, setup_s);
    char *s = json_dumps(r, JSON_COMPACT);
    printf("%s\n", s);
    fflush(stdout);
    atomic_store(&stop_all, 1);
    g_thread_join(pacer);
    /* The SFU is stopped by whoever started it; our sockets close with the process. */
    _exit(0);
}
