/* recorder/rec.c: see rec.h. */
#include "rec.h"
#include "../common/log.h"
#include "../proto/rtcp.h"
#include "../proto/rtp.h"
#include "../proto/sdp.h"
#include "depack.h"
#include "jitter.h"
#include "mux.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_MAX      (4 << 20)  /* largest frame kept (a 1080p key frame is far smaller) */
#define PEND_MAX_BYTES (32 << 20) /* frames held per track before the file starts */
#define PLI_EVERY_US   1000000
#define DESC_MAX       4096

enum {
    T_VIDEO,
    T_AUDIO,
    T_N
};

/* A frame waiting for the file to start. */
typedef struct pend {
    struct pend *next;
    int64_t rel; /* RTP ticks since the track's first timestamp */
    bool key;
    unsigned samples;
    size_t len;
    uint8_t data[];
} pend_t;

typedef struct track {
    const char *kind;
    bool described, disabled; /* disabled: not in this file */
    bool init;                /* jb and dp allocated */
    rec_codec_t codec;
    uint8_t pt;
    uint32_t clock;
    int channels;
    uint32_t desc_ssrc; /* as the description says */
    uint32_t ssrc;      /* of the packets now; 0 before the first */
    bool have_first;
    uint32_t first_ts; /* origin of rel */
    int64_t last_rel;  /* newest timestamp seen, unwrapped, relative to first_ts */
    /* timing */
    bool have_min;
    int64_t min_off_us; /* min over packets of (arrival - media time) */
    bool have_sr;
    uint32_t sr_rtp;
    int64_t sr_ntp_us;
    bool anchored;
    int64_t a_us; /* pts_us = a_us + media time of rel */
    jb_t jb;
    depack_t dp;
    int stream; /* mux stream index, -1 */
    bool ready; /* has its first frame (size, parameter sets) */
    int width, height;
    uint8_t extra[2 * DEPACK_PS_MAX + 8];
    size_t extra_len;
    pend_t *pend, **pend_tail;
    size_t pend_bytes;
    uint64_t last_pli_us;
    uint64_t frames, keyframes, bad_frames, written, pend_dropped;
} track_t;

struct rec {
    rec_cfg_t cfg;
    rec_send_fn send;
    void *ud;
    track_t t[T_N];
    char desc[DESC_MAX];
    size_t desc_len;
    bool have_desc;
    mux_t *mux;
    bool started, failed;
    bool sr_mode;
    int64_t t0_us; /* monotonic time of pts 0 */
    uint64_t created_us, first_pkt_us, last_rtp_us;
    bool ended;
    const char *end_why;
    uint64_t datagrams, ignored;
    uint32_t own_ssrc; /* sender ssrc of our keyframe requests */
};

static int64_t media_us(const track_t *t, int64_t rel)
{
    return rel * 1000000 / (int64_t)t->clock;
}

/* The timestamp ts unwrapped next to the newest one, relative to the first. */
static int64_t unwrap(const track_t *t, uint32_t ts)
{
    uint32_t last32 = t->first_ts + (uint32_t)t->last_rel;
    return t->last_rel + (int32_t)(ts - last32);
}

rec_t *rec_new(const rec_cfg_t *cfg, rec_send_fn send, void *ud)
{
    rec_t *r = calloc(1, sizeof *r);
    if (!r) {
        return NULL;
    }
    r->cfg = *cfg;
    r->send = send;
    r->ud = ud;
    r->own_ssrc = 0x0ca1ab1e;
    r->t[T_VIDEO].kind = "video";
    r->t[T_AUDIO].kind = "audio";
    for (int i = 0; i < T_N; i++) {
        r->t[i].stream = -1;
        r->t[i].pend_tail = &r->t[i].pend;
    }
    return r;
}

/* ---- pending frames ---------------------------------------------------------------------------
 */

static void pend_push(track_t *t, int64_t rel, bool key, unsigned samples, const uint8_t *data,
                      size_t len)
{
    while (t->pend && t->pend_bytes + len > PEND_MAX_BYTES) {
        pend_t *old = t->pend; /* too long a wait: the oldest go */
        t->pend = old->next;
        t->pend_bytes -= old->len;
        t->pend_dropped++;
        free(old);
    }
    if (!t->pend) {
        t->pend_tail = &t->pend;
    }
    pend_t *p = malloc(sizeof *p + len);
    if (!p) {
        return;
    }
    *p = (pend_t){ NULL, rel, key, samples, len };
    memcpy(p->data, data, len);
    *t->pend_tail = p;
    t->pend_tail = &p->next;
    t->pend_bytes += len;
}

static void pend_clear(track_t *t)
{
    while (t->pend) {
        pend_t *p = t->pend;
        t->pend = p->next;
        free(p);
    }
    t->pend_tail = &t->pend;
    t->pend_bytes = 0;
}

/* ---- writing -----------------------------------------------------------------------------------
 */

static void write_frame(rec_t *r, track_t *t, int64_t rel, bool key, unsigned samples,
                        const uint8_t *data, size_t len)
{
    if (t->stream < 0 || r->failed) {
        return;
    }
    if (!t->anchored) {
        /* a new SSRC after the start: placed by its arrival times */
        t->a_us = t->min_off_us - r->t0_us;
        t->anchored = true;
    }
    int64_t pts = t->a_us + media_us(t, rel);
    int64_t dur = samples ? (int64_t)samples * 1000000 / 48000 : 0;
    if (mux_write(r->mux, t->stream, data, len, pts < 0 ? 0 : pts, dur, key) == 0) {
        t->written++;
    }
}

static const char *codec_name(rec_codec_t c)
{
    return c == REC_CODEC_OPUS ? "opus" : c == REC_CODEC_VP8 ? "vp8" : "h264";
}

static int open_file(rec_t *r)
{
    track_t *v = &r->t[T_VIDEO], *a = &r->t[T_AUDIO];
    char err[256];
    bool webm = !v->ready || v->codec == REC_CODEC_VP8;
    size_t plen = strlen(r->cfg.path);
    const char *want = webm ? ".webm" : ".mkv";
    if (plen < strlen(want) || strcmp(r->cfg.path + plen - strlen(want), want) != 0) {
        LOG_W("rec", "file name does not match its format", "\"file\":\"%s\",\"format\":\"%s\"",
              log_esc(r->cfg.path), webm ? "webm" : "matroska");
    }
    r->mux = mux_new(r->cfg.path, webm, err, sizeof err);
    if (!r->mux) {
        goto fail;
    }
    if (v->ready) {
        v->stream = mux_add_video(r->mux, v->codec, v->width, v->height, v->extra, v->extra_len);
    }
    if (a->ready) {
        a->stream = mux_add_opus(r->mux, a->channels);
    }
    if ((v->ready && v->stream < 0) || (a->ready && a->stream < 0)) {
        snprintf(err, sizeof err, "cannot add the streams");
        goto fail;
    }
    if (mux_start(r->mux, err, sizeof err) != 0) {
        goto fail;
    }
    return 0;
fail:
    LOG_E("rec", "cannot write the file", "\"file\":\"%s\",\"error\":\"%s\"", log_esc(r->cfg.path),
          log_esc(err));
    r->failed = true;
    return -1;
}

/* Fixes every ready track's time mapping (sender reports when all have one, else arrival). */
static void anchor_all(rec_t *r)
{
    int64_t a_mono[T_N] = { 0 }, c = INT64_MAX;
    r->sr_mode = true;
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        if (t->ready && (!t->have_sr || !t->have_min)) {
            r->sr_mode = false;
        }
    }
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        if (!t->ready) {
            continue;
        }
        if (r->sr_mode) {
            int64_t sr_rel = unwrap(t, t->sr_rtp);
            a_mono[i] = t->sr_ntp_us - media_us(t, sr_rel); /* NTP domain */
            if (t->min_off_us - a_mono[i] < c) {
                c = t->min_off_us - a_mono[i];
            }
        } else {
            a_mono[i] = t->min_off_us;
        }
    }
    int64_t t0 = INT64_MAX;
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        if (!t->ready) {
            continue;
        }
        if (r->sr_mode) {
            a_mono[i] += c; /* one offset for all: the reports' alignment is kept */
        }
        if (t->pend && a_mono[i] + media_us(t, t->pend->rel) < t0) {
            t0 = a_mono[i] + media_us(t, t->pend->rel);
        }
    }
    r->t0_us = t0 == INT64_MAX ? 0 : t0;
    for (int i = 0; i < T_N; i++) {
        r->t[i].a_us = a_mono[i] - r->t0_us;
        r->t[i].anchored = r->t[i].ready;
    }
}

static void try_start(rec_t *r, uint64_t now_us, bool force)
{
    if (r->started || r->failed || !r->have_desc) {
        return;
    }
    bool all = true, any = false, reports = true;
    for (int i = 0; i < T_N; i++) {
        const track_t *t = &r->t[i];
        if (t->described && !t->disabled) {
            any |= t->ready;
            all &= t->ready;
            reports &= t->have_sr;
        }
    }
    uint64_t waited = now_us - r->first_pkt_us;
    if (!any || (!force && !all && waited < r->cfg.start_wait_us) ||
        (!force && all && !reports && waited < r->cfg.sync_wait_us)) {
        return;
    }
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        if (t->described && !t->ready && !t->disabled) {
            LOG_W("rec", "track left out: no usable frame in time", "\"id\":\"%s\",\"kind\":\"%s\"",
                  log_esc(r->cfg.id), t->kind);
            t->disabled = true;
            pend_clear(t);
        }
    }
    anchor_all(r);
    r->started = true;
    if (open_file(r) != 0) {
        return;
    }
    track_t *v = &r->t[T_VIDEO], *a = &r->t[T_AUDIO];
    LOG_I("rec", "recording started",
          "\"id\":\"%s\",\"file\":\"%s\",\"video\":\"%s\",\"width\":%d,\"height\":%d,"
          "\"audio\":\"%s\",\"sync\":\"%s\",\"video_offset_ms\":%lld,\"audio_offset_ms\":%lld",
          log_esc(r->cfg.id), log_esc(r->cfg.path), v->ready ? codec_name(v->codec) : "", v->width,
          v->height, a->ready ? codec_name(a->codec) : "",
          r->sr_mode ? "sender-reports" : "arrival",
          (long long)(v->ready && v->pend ? (v->a_us + media_us(v, v->pend->rel)) / 1000 : -1),
          (long long)(a->ready && a->pend ? (a->a_us + media_us(a, a->pend->rel)) / 1000 : -1));
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        for (pend_t *p = t->pend; p; p = p->next) {
            write_frame(r, t, p->rel, p->key, p->samples, p->data, p->len);
        }
        pend_clear(t);
    }
}

/* ---- frames ------------------------------------------------------------------------------------
 */

static void want_key(track_t *t)
{
    t->jb.sync = false;
    t->jb.need_key = true;
}

/* The first video frame must be a key frame whose size (and H.264 parameter sets) we know. */
static bool video_ready(rec_t *r, track_t *t)
{
    depack_t *d = &t->dp;
    if (!d->key) {
        return false;
    }
    if (t->codec == REC_CODEC_VP8) {
        if (d->width <= 0 || d->height <= 0) {
            return false;
        }
        t->width = d->width;
        t->height = d->height;
    } else {
        t->extra_len = depack_h264_extradata(d, t->extra, sizeof t->extra);
        if (!t->extra_len || depack_h264_size(d->sps, d->sps_len, &t->width, &t->height) != 0) {
            return false;
        }
    }
    t->ready = true;
    LOG_I("rec", "first key frame", "\"id\":\"%s\",\"codec\":\"%s\",\"width\":%d,\"height\":%d",
          log_esc(r->cfg.id), codec_name(t->codec), t->width, t->height);
    return true;
}

static void on_frame(rec_t *r, track_t *t, const jb_frame_t *f)
{
    depack_t *d = &t->dp;
    depack_reset(d);
    for (unsigned i = 0; i < f->n; i++) {
        const jb_pkt_t *p = jb_frame_pkt(&t->jb, f, i);
        depack_add(d, p->data, p->len);
    }
    jb_consume(&t->jb, f);
    if (d->len == 0 && !d->bad) {
        return; /* padding packets only */
    }
    if (d->bad) {
        t->bad_frames++;
        if (t->jb.video) {
            want_key(t);
        }
        return;
    }
    int64_t rel = unwrap(t, f->ts);
    bool video = t->jb.video;
    unsigned samples = video ? 0 : depack_opus_samples(d->data, d->len);
    t->frames++;
    t->keyframes += d->key;
    if (!t->ready) {
        if (video && !video_ready(r, t)) {
            want_key(t);
            return;
        }
        t->ready = true;
    }
    if (!r->started) {
        pend_push(t, rel, video ? d->key : true, samples, d->data, d->len);
    } else {
        write_frame(r, t, rel, video ? d->key : true, samples, d->data, d->len);
    }
}

/* ---- input ----------------------------------------------------------------------------------- */

static track_t *track_by_pt(rec_t *r, uint8_t pt)
{
    for (int i = 0; i < T_N; i++) {
        if (r->t[i].described && r->t[i].pt == pt) {
            return &r->t[i];
        }
    }
    return NULL;
}

static void describe_track(rec_t *r, track_t *t, const sdp_media_t *m)
{
    const sdp_codec_t *c = m->n_codecs ? &m->codecs[0] : NULL;
    rec_codec_t codec = c ? depack_codec(c->name) : REC_CODEC_NONE;
    bool video = t == &r->t[T_VIDEO];
    if (!c || codec == REC_CODEC_NONE || (codec == REC_CODEC_OPUS) == video || c->clock == 0) {
        return; /* not a codec this recorder writes */
    }
    uint32_t ssrc = sdp_media_primary_ssrc(m, NULL);
    if (t->described) {
        if (codec != t->codec && !t->disabled) {
            LOG_W("rec", "codec changed: track no longer recorded",
                  "\"id\":\"%s\",\"kind\":\"%s\",\"was\":\"%s\",\"now\":\"%s\"", log_esc(r->cfg.id),
                  t->kind, codec_name(t->codec), codec_name(codec));
            t->disabled = true;
            pend_clear(t);
        }
        t->pt = c->pt;
        t->desc_ssrc = ssrc;
        return;
    }
    t->described = true;
    t->codec = codec;
    t->pt = c->pt;
    t->clock = c->clock;
    t->channels = c->channels ? c->channels : 2;
    t->desc_ssrc = ssrc;
    if (jb_init(&t->jb, codec, r->cfg.jitter_us) != 0 ||
        depack_init(&t->dp, codec, video ? FRAME_MAX : 4096) != 0) {
        t->disabled = true;
        return;
    }
    t->init = true;
    if (r->started) {
        LOG_W("rec", "track appeared after the file started: not recorded",
              "\"id\":\"%s\",\"kind\":\"%s\"", log_esc(r->cfg.id), t->kind);
        t->disabled = true;
    }
}

static void on_desc(rec_t *r, const uint8_t *buf, size_t len)
{
    if (len == r->desc_len && memcmp(buf, r->desc, len) == 0) {
        return;
    }
    if (len >= sizeof r->desc) {
        r->ignored++;
        return;
    }
    sdp_t *s = NULL;
    const char *why = NULL;
    if (sdp_parse(&s, (const char *)buf, len, &why) != 0) {
        LOG_W("rec", "bad description", "\"id\":\"%s\",\"why\":\"%s\"", log_esc(r->cfg.id),
              log_esc(why));
        r->ignored++;
        return;
    }
    memcpy(r->desc, buf, len);
    r->desc_len = len;
    bool seen[T_N] = { false, false };
    for (int i = 0; i < s->n_media; i++) {
        const sdp_media_t *m = &s->media[i];
        int k = m->kind == SDP_KIND_VIDEO ? T_VIDEO : m->kind == SDP_KIND_AUDIO ? T_AUDIO : -1;
        if (k >= 0 && !seen[k] && m->rtp) {
            seen[k] = true;
            describe_track(r, &r->t[k], m);
        }
    }
    LOG_I("rec", "description", "\"id\":\"%s\",\"version\":%llu,\"video\":\"%s\",\"audio\":\"%s\"",
          log_esc(r->cfg.id), (unsigned long long)s->sess_version,
          r->t[T_VIDEO].described ? codec_name(r->t[T_VIDEO].codec) : "",
          r->t[T_AUDIO].described ? codec_name(r->t[T_AUDIO].codec) : "");
    sdp_free(s);
    r->have_desc = r->t[T_VIDEO].described || r->t[T_AUDIO].described;
}

static void on_rtcp(rec_t *r, const uint8_t *buf, size_t len)
{
    rtcp_iter_t it;
    rtcp_pkt_t p;
    const char *why = NULL;
    rtcp_iter_init(&it, buf, len);
    while (rtcp_iter_next(&it, &p, &why) == 1) {
        rtcp_sr_t sr;
        if (p.pt == RTCP_BYE) {
            r->ended = true;
            r->end_why = "forward ended";
        } else if (p.pt == RTCP_SR && rtcp_sr_parse(&p, &sr) == 0) {
            for (int i = 0; i < T_N; i++) {
                track_t *t = &r->t[i];
                if (t->described && (t->ssrc ? t->ssrc : t->desc_ssrc) == sr.ssrc) {
                    t->have_sr = true;
                    t->sr_rtp = sr.rtp_ts;
                    t->sr_ntp_us = (int64_t)sr.ntp_sec * 1000000 +
                                   (int64_t)(((uint64_t)sr.ntp_frac * 1000000) >> 32);
                }
            }
        }
    }
}

/* The publisher's stream restarted under a new SSRC (it came back, or renegotiated). */
static void new_ssrc(rec_t *r, track_t *t, uint32_t ssrc)
{
    if (t->ssrc) {
        LOG_I("rec", "new ssrc", "\"id\":\"%s\",\"kind\":\"%s\",\"ssrc\":%u", log_esc(r->cfg.id),
              t->kind, ssrc);
        jb_reset(&t->jb);
        t->have_first = t->have_min = t->anchored = false;
        if (t->have_sr && t->desc_ssrc != ssrc) {
            t->have_sr = false;
        }
        if (!r->started) {
            pend_clear(t); /* their times were relative to the old stream */
            t->ready = false;
        }
    }
    t->ssrc = ssrc;
}

void rec_on_datagram(rec_t *r, const uint8_t *buf, size_t len, uint64_t now_us)
{
    r->datagrams++;
    if (len > 0 && buf[0] == 'v') {
        on_desc(r, buf, len);
        return;
    }
    if (len >= 8 && rtp_is_rtcp(buf, len)) {
        on_rtcp(r, buf, len);
        return;
    }
    rtp_hdr_t h;
    track_t *t;
    if (rtp_hdr_parse(&h, buf, len, NULL) != 0 || !(t = track_by_pt(r, h.pt)) || t->disabled ||
        !t->init) {
        r->ignored++;
        return;
    }
    if (t->ssrc != h.ssrc) {
        new_ssrc(r, t, h.ssrc);
    }
    if (!t->have_first) {
        t->have_first = true;
        t->first_ts = h.ts;
        t->last_rel = 0;
    }
    int64_t rel = unwrap(t, h.ts);
    if (rel > t->last_rel) {
        t->last_rel = rel;
    }
    int64_t off = (int64_t)now_us - media_us(t, rel);
    if (!t->have_min || off < t->min_off_us) {
        t->min_off_us = off;
        t->have_min = true;
    }
    if (!r->first_pkt_us) {
        r->first_pkt_us = now_us;
    }
    r->last_rtp_us = now_us;
    jb_put(&t->jb, h.seq, h.ts, h.marker, buf + h.payload_off, h.payload_len, now_us);
}

static void send_pli(rec_t *r, track_t *t, uint64_t now_us)
{
    uint8_t buf[64];
    rtcp_rr_t rr = { .ssrc = r->own_ssrc, .n_reports = 0 };
    ssize_t a = rtcp_rr_build(buf, sizeof buf, &rr);
    ssize_t b = a > 0 ? rtcp_pli_build(buf + a, sizeof buf - (size_t)a, r->own_ssrc, t->ssrc) : -1;
    if (b > 0 && r->send) {
        r->send(r->ud, buf, (size_t)(a + b));
    }
    t->last_pli_us = now_us;
}

bool rec_tick(rec_t *r, uint64_t now_us)
{
    if (!r->created_us) {
        r->created_us = now_us;
    }
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        if (!t->init || t->disabled) {
            continue;
        }
        jb_frame_t f;
        while (jb_next(&t->jb, now_us, &f)) {
            on_frame(r, t, &f);
        }
        if (t->jb.video && t->ssrc && (t->jb.need_key || !t->ready) &&
            now_us - t->last_pli_us >= PLI_EVERY_US) {
            send_pli(r, t, now_us);
            t->jb.need_key = false;
        }
    }
    try_start(r, now_us, false);
    uint64_t last = r->last_rtp_us ? r->last_rtp_us : r->created_us;
    if (!r->ended && now_us - last >= r->cfg.idle_us) {
        r->ended = true;
        r->end_why = r->last_rtp_us ? "input stopped" : "no input";
    }
    return r->ended || r->failed; /* a file that cannot be written: exit, signal sees it */
}

int rec_finish(rec_t *r)
{
    /* what is complete goes in: holes are not waited for any more */
    uint64_t late = r->last_rtp_us + r->cfg.jitter_us + 1;
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        jb_frame_t f;
        while (t->init && !t->disabled && jb_next(&t->jb, late, &f)) {
            on_frame(r, t, &f);
        }
    }
    try_start(r, late, true);
    int64_t dur = 0;
    int rc = r->failed ? -1 : 0;
    if (r->mux && mux_finish(r->mux, &dur) != 0) {
        LOG_E("rec", "cannot finish the file", "\"file\":\"%s\"", log_esc(r->cfg.path));
        rc = -1;
    }
    const track_t *v = &r->t[T_VIDEO], *a = &r->t[T_AUDIO];
    LOG_I("rec", r->mux ? "recording finished" : "nothing recorded",
          "\"id\":\"%s\",\"file\":\"%s\",\"why\":\"%s\",\"duration_ms\":%lld,"
          "\"video_frames\":%llu,\"keyframes\":%llu,\"audio_frames\":%llu,\"lost\":%llu,"
          "\"bad_frames\":%llu,\"ignored\":%llu",
          log_esc(r->cfg.id), r->mux ? log_esc(r->cfg.path) : "",
          r->end_why ? r->end_why : "stopped", (long long)(dur / 1000),
          (unsigned long long)v->written, (unsigned long long)v->keyframes,
          (unsigned long long)a->written, (unsigned long long)(v->jb.lost + a->jb.lost),
          (unsigned long long)(v->bad_frames + a->bad_frames), (unsigned long long)r->ignored);
    return rc;
}

void rec_free(rec_t *r)
{
    if (!r) {
        return;
    }
    for (int i = 0; i < T_N; i++) {
        track_t *t = &r->t[i];
        pend_clear(t);
        if (t->init) {
            jb_deinit(&t->jb);
            depack_deinit(&t->dp);
        }
    }
    mux_free(r->mux);
    free(r);
}
