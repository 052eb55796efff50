/* tests/bench/sfu_pub.c: the publisher of the SFU benchmark (docs/BENCHMARKS.md, "SFU
 * fan-out"), a child process of sfu_load. A real WebRTC sender on the project's libraries:
 * libnice (controlling, as a browser offering to the SFU), sfu/dtls.c as DTLS client, libsrtp2
 * through sfu/srtpx.c. The offer is Opus + VP8 with BUNDLE and rtcp-mux, written by
 * sdp_build_sub_offer (it writes the sendonly/actpass shape a browser offers) from a
 * hand-made negotiation. A pacer thread sends ~1200-byte VP8 packets at --kbps (payload
 * descriptor and frame tags, a keyframe every --gop-ms and after each PLI/FIR), 20 ms
 * Opus-sized packets and one sender report per track each second; every RTP payload ends with
 * its send time (CLOCK_REALTIME ns) and a magic, for the subscribers' latency.
 * Talks to sfu_load with JSON lines, stdin -> stdout:
 *   (start)                      -> {"ev":"offer","sdp":...}
 *   {"cmd":"answer","sdp":...}   -> {"ev":"up","srtp":...} once DTLS is up, or {"ev":"failed"}
 *   {"cmd":"window","t0":NS,"t1":NS} -> {"ev":"window","s0":[v,a],"s1":[v,a]} after t1: the
 *                                   first sequence numbers sent at/after t0 and t1
 *                                   (CLOCK_REALTIME ns)
 *   {"cmd":"stats"}              -> {"ev":"stats",...}
 *   end of stdin: exit 0.
 *   sfu_pub [--kbps 2500] [--audio 1] [--pkt 1200] [--gop-ms 2000] */
#include "../../common/log.h"
#include "../../proto/rtcp.h"
#include "../../proto/rtp.h"
#include "../../proto/sdp.h"
#include "../../sfu/dtls.h"
#include "../../sfu/srtpx.h"
#include <glib-unix.h>
#include <glib.h>
#include <jansson.h>
#include <nice/agent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUDIO_PT   111
#define VIDEO_PT   96
#define AUDIO_SSRC 0x0a0d1001u
#define VIDEO_SSRC 0x0a0d1002u
#define MAGIC      0x4f6e4172u /* "OnAr" */
#define LOAD(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, n) __atomic_store_n(&(x), LOAD(x) + (n), __ATOMIC_RELAXED)

static struct {
    int kbps, audio, pkt, gop_ms;
} cfg = { 2500, 1, 1200, 2000 };

static GMainLoop *loop;
static NiceAgent *agent;
static guint stream;
static dtls_ctx_t *dctx;
static dtls_t *dtls;
static srtpx_t srtp;
static char fp_alg[16], fp_value[160];
static bool ice_up, up;
static atomic_int kf_request, stop_pacer;
static GMutex out_lock; /* stdout: the main loop and the pacer write lines */
static struct {
    _Atomic uint64_t t0, t1; /* the window, CLOCK_REALTIME ns; 0 = none */
} win;
static struct { /* sent: written by the pacer; the rest by the main loop */
    uint64_t sent[2], bytes, send_fail, keyframes, plis, firs, nacks, remb, rr, behind_max_us;
} st;

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pacing runs on the monotonic clock; send times and the window are wall-clock time, the clock
 * of the kernel's receive timestamps (SO_TIMESTAMPNS) the subscribers compare them with. */
static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t real_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

/* Writes one JSON line (steals j). */
static void emit(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    g_mutex_lock(&out_lock);
    printf("%s\n", s);
    fflush(stdout);
    g_mutex_unlock(&out_lock);
    free(s);
    json_decref(j);
}

static void fatal(const char *why)
{
    fprintf(stderr, "sfu_pub: %s\n", why);
    emit(json_pack("{s:s,s:s}", "ev", "failed", "why", why));
    exit(1);
}

/* ---- DTLS and SRTP -------------------------------------------------------------------------- */

static int on_dtls_send(void *ud, const uint8_t *p, size_t n)
{
    return nice_agent_send(agent, stream, 1, (guint)n, (const gchar *)p) == (gint)n ? 0 : -1;
}

static void on_dtls_connected(void *ud, int profile, const uint8_t *km, size_t km_len, bool client)
{
    if (srtpx_start(&srtp, profile, km, km_len, client) != 0) {
        fatal("SRTP keying failed");
    }
    up = true;
    emit(json_pack("{s:s,s:s}", "ev", "up", "srtp", srtpx_profile_name(profile)));
}

static void on_dtls_failed(void *ud, const char *why)
{
    fatal(why);
}

static void on_dtls_closed(void *ud)
{
    fatal("DTLS closed by the SFU");
}

static const dtls_cbs_t dtls_cbs = { on_dtls_send, on_dtls_connected, on_dtls_failed,
                                     on_dtls_closed };

static void maybe_start_dtls(void)
{
    if (ice_up && fp_value[0] && !dtls_started(dtls) && dtls_start(dtls, true, fp_alg, fp_value)) {
        fatal("unsupported fingerprint");
    }
}

/* ---- RTCP from the SFU: receiver reports, REMB, NACK, keyframe requests -------------------- */

static void on_rtcp(const uint8_t *b, size_t n)
{
    rtcp_iter_t it;
    rtcp_pkt_t pk;
    rtcp_iter_init(&it, b, n);
    while (rtcp_iter_next(&it, &pk, NULL) == 1) {
        if (pk.pt == RTCP_PSFB && (pk.fmt == RTCP_FMT_PLI || pk.fmt == RTCP_FMT_FIR)) {
            BUMP(*(pk.fmt == RTCP_FMT_PLI ? &st.plis : &st.firs), 1);
            atomic_store(&kf_request, 1);
        } else if (pk.pt == RTCP_PSFB && pk.fmt == RTCP_FMT_AFB) {
            BUMP(st.remb, 1);
        } else if (pk.pt == RTCP_RTPFB && pk.fmt == RTCP_FMT_NACK) {
            BUMP(st.nacks, 1); /* not answered: the generator keeps no history */
        } else if (pk.pt == RTCP_RR) {
            BUMP(st.rr, 1);
        }
    }
}

static void on_recv(NiceAgent *a, guint sid, guint cid, guint len, gchar *buf, gpointer ud)
{
    static uint8_t tmp[1500 + SRTPX_SPARE];
    const uint8_t *b = (const uint8_t *)buf;
    rtp_class_t c = rtp_classify(b, len);
    if (c == RTP_CLASS_DTLS) {
        dtls_feed(dtls, b, len);
    } else if (c == RTP_CLASS_RTCP && up && len <= 1500) {
        int n = (int)len;
        memcpy(tmp, b, len);
        if (srtpx_unprotect_rtcp(&srtp, tmp, &n) == 0) {
            on_rtcp(tmp, (size_t)n);
        }
    }
}

static void on_state(NiceAgent *a, guint sid, guint cid, guint state, gpointer ud)
{
    if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
        ice_up = true;
        maybe_start_dtls();
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        fatal("ICE failed");
    }
}

/* ---- SDP ------------------------------------------------------------------------------------- */

static void offer(void)
{
    sdp_neg_t neg;
    sdp_sub_track_t tr[2];
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

    gchar *ufrag = NULL, *pwd = NULL;
    nice_agent_get_local_credentials(agent, stream, &ufrag, &pwd);
    GSList *list = nice_agent_get_local_candidates(agent, stream, 1);
    GPtrArray *cands = g_ptr_array_new_with_free_func(g_free);
    for (GSList *it = list; it; it = it->next) {
        gchar *s = nice_agent_generate_local_candidate_sdp(agent, it->data);
        g_ptr_array_add(cands, g_strdup(s + (strncmp(s, "a=", 2) == 0 ? 2 : 0)));
        g_free(s);
    }
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    sdp_local_t l = { .ice_ufrag = ufrag,
                      .ice_pwd = pwd,
                      .fp_alg = "sha-256",
                      .fp_value = dtls_ctx_fingerprint(dctx),
                      .setup = SDP_SETUP_ACTPASS,
                      .sess_id = 1,
                      .sess_version = 1,
                      .cands = (const char *const *)cands->pdata,
                      .n_cands = cands->len,
                      .end_of_candidates = true };
    char *out = g_malloc(SDP_MAX_LEN);
    const char *why = NULL;
    if (sdp_build_sub_offer(out, SDP_MAX_LEN, &neg, &l, tr, (size_t)n, &why) < 0) {
        fatal(why);
    }
    emit(json_pack("{s:s,s:s}", "ev", "offer", "sdp", out));
    g_free(out);
    g_ptr_array_free(cands, TRUE);
    g_free(ufrag);
    g_free(pwd);
}

static void answer(const char *text)
{
    static const char *const types[] = { "host", "srflx", "prflx", "relay" };
    sdp_t *s = NULL;
    sdp_remote_t r;
    const char *why = NULL;
    if (sdp_parse(&s, text, strlen(text), &why) != 0 || sdp_remote_transport(s, &r, &why) != 0) {
        fatal(why ? why : "bad answer");
    }
    if (r.setup != SDP_SETUP_PASSIVE) {
        fatal("the SFU did not answer setup:passive (this publisher is a DTLS client only)");
    }
    snprintf(fp_alg, sizeof fp_alg, "%s", r.fp_alg);
    snprintf(fp_value, sizeof fp_value, "%s", r.fp_value);
    nice_agent_set_remote_credentials(agent, stream, r.ice_ufrag, r.ice_pwd);
    GSList *list = NULL;
    for (int i = 0; i < r.first->n_cands; i++) {
        const sdp_cand_t *c = &r.first->cands[i];
        char line[256];
        snprintf(line, sizeof line, "a=candidate:%s %u udp %u %s %u typ %s", c->foundation,
                 c->component, c->priority, c->addr, c->port, types[c->type]);
        NiceCandidate *nc = nice_agent_parse_remote_candidate_sdp(agent, stream, line);
        if (nc) {
            list = g_slist_append(list, nc);
        }
    }
    if (!list || nice_agent_set_remote_candidates(agent, stream, 1, list) <= 0) {
        fatal("no usable SFU candidate");
    }
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    sdp_free(s);
    maybe_start_dtls();
}

/* ---- the pacer ---------------------------------------------------------------------------------
 */

static void wr64(uint8_t *b, uint64_t v)
{
    rtp_wr32(b, (uint32_t)(v >> 32));
    rtp_wr32(b + 4, (uint32_t)v);
}

static void send_srtp(uint8_t *b, int n, bool rtcp)
{
    if ((rtcp ? srtpx_protect_rtcp : srtpx_protect)(&srtp, b, &n) != 0 ||
        nice_agent_send(agent, stream, 1, (guint)n, (const gchar *)b) != n) {
        BUMP(st.send_fail, 1);
        return;
    }
    BUMP(st.bytes, (uint64_t)n);
}

/* One RTP packet of track tr (0 video, 1 audio); vp8: 0 continuation, 1 first packet of an
 * inter frame, 2 of a key frame. The send time goes at the end of the payload. */
static void send_rtp(int tr, uint16_t seq, uint32_t ts, bool marker, int vp8)
{
    static uint8_t b[1500 + SRTPX_SPARE];
    static const uint8_t key[] = { 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02 };
    static const uint8_t inter[] = { 0x11, 0x02, 0x00 };
    int len = tr == 0 ? cfg.pkt : 172; /* 160 bytes of Opus at 64 kbit/s */
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | (tr == 0 ? VIDEO_PT : AUDIO_PT));
    rtp_wr16(b + 2, seq);
    rtp_wr32(b + 4, ts);
    rtp_wr32(b + 8, tr == 0 ? VIDEO_SSRC : AUDIO_SSRC);
    if (tr == 0) {
        uint8_t *pl = b + RTP_HDR_MIN;
        pl[0] = vp8 ? 0x10 : 0x00; /* RFC 7741 4.2: S=1 and PID 0 on a frame's first packet */
        if (vp8) {
            /* RFC 6386 9.1 frame tag: P=0 key frame (+ start code, 1280x720), P=1 inter */
            memcpy(pl + 1, vp8 == 2 ? key : inter, vp8 == 2 ? sizeof key : sizeof inter);
        }
    }
    wr64(b + len - 12, real_ns());
    rtp_wr32(b + len - 4, MAGIC);
    BUMP(st.sent[tr], 1);
    send_srtp(b, len, false);
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
                     .pkt_count = (uint32_t)LOAD(st.sent[tr]) };
    ssize_t n = rtcp_sr_build(b, 256, &sr);
    ssize_t m = n > 0 ? rtcp_sdes_build(b + n, 256 - (size_t)n, sr.ssrc, "sfu-load", 8) : -1;
    if (m > 0) {
        send_srtp(b, (int)(n + m), true);
    }
}

/* Window bookkeeping at a packet boundary (now: this packet's send time). */
static void window_at(uint64_t now, const uint16_t seq[2])
{
    static uint16_t s0[2];
    static int phase; /* 0 waiting for t0, 1 open, 2 reported */
    uint64_t t0 = atomic_load(&win.t0), t1 = atomic_load(&win.t1);
    if (!t0) {
        phase = 0;
        return;
    }
    if (phase == 0 && now >= t0) {
        memcpy(s0, seq, sizeof s0);
        phase = 1;
    }
    if (phase == 1 && now >= t1) {
        emit(json_pack("{s:s,s:[i,i],s:[i,i]}", "ev", "window", "s0", s0[0], s0[1], "s1", seq[0],
                       seq[1]));
        phase = 2;
        atomic_store(&win.t0, 0);
    }
}

static gpointer pacer_main(gpointer ud)
{
    const double vpps = cfg.kbps * 1000.0 / 8 / cfg.pkt, fps = 30;
    const uint64_t gop = (uint64_t)(cfg.gop_ms * fps / 1000);
    uint64_t t0 = now_ns(), nv = 0, na = 0, next_sr = t0 + 1000000000u, frame = UINT64_MAX;
    uint16_t seq[2] = { 1000, 5000 };
    const uint32_t vts0 = 0x1000, ats0 = 0x2000;
    while (!atomic_load(&stop_pacer)) {
        uint64_t tv = t0 + (uint64_t)((double)nv * 1e9 / vpps), ta = t0 + na * 20000000u;
        uint64_t t = tv < next_sr ? tv : next_sr;
        t = cfg.audio && ta < t ? ta : t;
        uint64_t now = now_ns();
        if (t > now) {
            struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        } else if ((now - t) / 1000 > LOAD(st.behind_max_us)) {
            __atomic_store_n(&st.behind_max_us, (now - t) / 1000, __ATOMIC_RELAXED);
        }
        window_at(real_ns(), seq);
        if (t == tv) {
            uint64_t f = (uint64_t)((double)nv * fps / vpps);
            uint64_t fnext = (uint64_t)((double)(nv + 1) * fps / vpps);
            int vp8 = 0;
            if (f != frame) { /* the first packet of frame f */
                frame = f;
                bool key = f % gop == 0 || atomic_exchange(&kf_request, 0);
                vp8 = key ? 2 : 1;
                BUMP(st.keyframes, key ? 1 : 0);
            }
            send_rtp(0, seq[0]++, vts0 + (uint32_t)(f * 3000), fnext != f, vp8);
            nv++;
        } else if (t == ta && cfg.audio) {
            send_rtp(1, seq[1]++, ats0 + (uint32_t)na * 960, false, 0);
            na++;
        } else {
            uint64_t ms = (t - t0) / 1000000u;
            send_sr(0, vts0 + (uint32_t)(ms * 90));
            if (cfg.audio) {
                send_sr(1, ats0 + (uint32_t)(ms * 48));
            }
            next_sr += 1000000000u;
        }
    }
    return NULL;
}

/* ---- control: JSON lines on stdin --------------------------------------------------------------
 */

static void on_cmd(json_t *m)
{
    const char *cmd = json_string_value(json_object_get(m, "cmd"));
    if (!cmd) {
        return;
    }
    if (strcmp(cmd, "answer") == 0) {
        answer(json_string_value(json_object_get(m, "sdp")) ?: "");
    } else if (strcmp(cmd, "window") == 0) {
        atomic_store(&win.t1, (uint64_t)json_integer_value(json_object_get(m, "t1")));
        atomic_store(&win.t0, (uint64_t)json_integer_value(json_object_get(m, "t0")));
    } else if (strcmp(cmd, "stats") == 0) {
        emit(json_pack("{s:s,s:[I,I],s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ev", "stats", "sent",
                       (json_int_t)LOAD(st.sent[0]), (json_int_t)LOAD(st.sent[1]), "bytes",
                       (json_int_t)LOAD(st.bytes), "send_fail", (json_int_t)LOAD(st.send_fail),
                       "keyframes", (json_int_t)LOAD(st.keyframes), "plis", (json_int_t)st.plis,
                       "firs", (json_int_t)st.firs, "nacks", (json_int_t)st.nacks, "remb",
                       (json_int_t)st.remb, "rr", (json_int_t)st.rr, "behind_max_us",
                       (json_int_t)LOAD(st.behind_max_us)));
    }
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer ud)
{
    gchar *line = NULL;
    gsize len = 0;
    GIOStatus s = g_io_channel_read_line(ch, &line, &len, NULL, NULL);
    if (s == G_IO_STATUS_NORMAL && line) {
        json_t *m = json_loads(line, 0, NULL);
        if (m) {
            on_cmd(m);
            json_decref(m);
        }
    }
    g_free(line);
    if (s == G_IO_STATUS_EOF || s == G_IO_STATUS_ERROR) {
        g_main_loop_quit(loop);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_up_check(gpointer ud)
{
    static GThread *pacer;
    if (up && !pacer) {
        pacer = g_thread_new("pacer", pacer_main, NULL);
    }
    if (!g_main_loop_is_running(loop) && pacer) {
        atomic_store(&stop_pacer, 1);
        g_thread_join(pacer);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) { /* --name value pairs */
        int *v = strcmp(argv[i], "--kbps") == 0     ? &cfg.kbps
                 : strcmp(argv[i], "--audio") == 0  ? &cfg.audio
                 : strcmp(argv[i], "--pkt") == 0    ? &cfg.pkt
                 : strcmp(argv[i], "--gop-ms") == 0 ? &cfg.gop_ms
                                                    : NULL;
        if (!v) {
            cfg.kbps = 0; /* reported below */
            break;
        }
        *v = atoi(argv[i + 1]);
    }
    if (argc % 2 == 0 || cfg.kbps < 10 || cfg.pkt < 64 || cfg.pkt > 1400 || cfg.gop_ms < 100) {
        fprintf(stderr, "usage: sfu_pub [--kbps K] [--audio 0|1] [--pkt B] [--gop-ms MS]\n");
        return 2;
    }
    log_set_level("warn");
    char err[128];
    if (srtpx_global_init() != 0 || !(dctx = dtls_ctx_new(err, sizeof err))) {
        fatal("SRTP or DTLS init failed");
    }
    loop = g_main_loop_new(NULL, FALSE);
    agent = nice_agent_new_full(NULL, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE);
    /* as sfu/ice.c: Debian's libnice has UPnP on by default */
    g_object_set(agent, "upnp", FALSE, "ice-tcp", FALSE, "controlling-mode", TRUE, NULL);
    NiceAddress a;
    nice_address_init(&a);
    nice_address_set_from_string(&a, "127.0.0.1");
    nice_agent_add_local_address(agent, &a);
    stream = nice_agent_add_stream(agent, 1);
    g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_state), NULL);
    nice_agent_attach_recv(agent, stream, 1, NULL, on_recv, NULL);
    if (!stream || !nice_agent_gather_candidates(agent, stream)) {
        fatal("cannot gather");
    }
    dtls = dtls_new(dctx, &dtls_cbs, NULL, "pub");
    offer();
    GIOChannel *in = g_io_channel_unix_new(0);
    g_io_add_watch(in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
    g_timeout_add(20, on_up_check, NULL);
    g_main_loop_run(loop);
    on_up_check(NULL); /* stops the pacer */
    return 0;
}
