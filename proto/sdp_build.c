/* proto/sdp_build.c: the SFU's SDP output: the answer to a publisher's offer (codec and
 * feature negotiation into sdp_neg_t), the sendonly offer to a subscriber built from that
 * result, and the checks on the subscriber's answer. docs/MEDIA.md says what and why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "sdp.h"

static const char *const ext_uris[SDP_EXT_COUNT] = {
    [SDP_EXT_MID] = "urn:ietf:params:rtp-hdrext:sdes:mid",
    [SDP_EXT_ABS_SEND_TIME] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    [SDP_EXT_AUDIO_LEVEL] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
};

const char *sdp_ext_uri(sdp_ext_t e)
{
    return (unsigned)e < SDP_EXT_COUNT ? ext_uris[e] : NULL;
}

/* Output into the caller's buffer; an overflow is remembered and reported once at the end. */
typedef struct wr {
    char *p;
    size_t cap, len;
    bool over;
} wr_t;

__attribute__((format(printf, 2, 3))) static void put(wr_t *w, const char *fmt, ...)
{
    if (w->over) {
        return;
    }
    size_t room = w->cap - w->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        w->over = true;
        return;
    }
    w->len += (size_t)n;
}

static ssize_t wr_end(wr_t *w, const char **why)
{
    if (w->over) {
        if (why) {
            *why = "SDP output buffer too small";
        }
        return PROTO_ETOOBIG;
    }
    return (ssize_t)w->len;
}

static ssize_t bad(const char **why, int err, const char *msg)
{
    if (why) {
        *why = msg;
    }
    return err;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of the first n bytes (both strings at least n long). */
static bool ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!a[i] || lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

static bool ieq(const char *a, const char *b)
{
    size_t n = strlen(b);
    return strlen(a) == n && ieq_n(a, b, n);
}

/* A value that goes onto an SDP line as one token (or, with spaces_ok, as a line's rest):
 * non-empty and without line breaks, so no caller string can inject lines. */
static bool safe(const char *s, bool spaces_ok)
{
    if (!s || !*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (!spaces_ok && (*s == ' ' || *s == '\t'))) {
            return false;
        }
    }
    return true;
}

static bool copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

static bool fmtp_is(const char *fmtp, const char *key, const char *want)
{
    const char *v;
    size_t n;
    return sdp_fmtp_get(fmtp, key, &v, &n) && n == strlen(want) && strncmp(v, want, n) == 0;
}

static bool usable_opus(const sdp_codec_t *c)
{
    return ieq(c->name, "opus") && c->clock == 48000 && c->channels == 2 &&
           strlen(c->fmtp) < SDP_FMTP_MAX;
}

static bool usable_vp8(const sdp_codec_t *c)
{
    return ieq(c->name, "VP8") && c->clock == 90000 && strlen(c->fmtp) < SDP_FMTP_MAX;
}

/* RFC 6184 8.1: packetization-mode=1 (FU-A/STAP-A), the mode browsers use. */
static bool usable_h264(const sdp_codec_t *c)
{
    return ieq(c->name, "H264") && c->clock == 90000 && strlen(c->fmtp) < SDP_FMTP_MAX &&
           fmtp_is(c->fmtp, "packetization-mode", "1");
}

/* The H.264 entry to answer: the first Baseline/Constrained Baseline (profile_idc 0x42) one,
 * which every subscriber decodes, else the first usable one. Sets *first_idx to the index of
 * the first usable H.264 entry (the offerer's preference position), or -1. */
static const sdp_codec_t *pick_h264(const sdp_media_t *m, int *first_idx)
{
    const sdp_codec_t *any = NULL;
    *first_idx = -1;
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const sdp_codec_t *c = &m->codecs[i];
        if (!usable_h264(c)) {
            continue;
        }
        if (!any) {
            any = c;
            *first_idx = (int)i;
        }
        const char *v;
        size_t n;
        if (sdp_fmtp_get(c->fmtp, "profile-level-id", &v, &n) && n == 6 && ieq_n(v, "42", 2)) {
            return c;
        }
    }
    return any;
}

static const sdp_codec_t *pick_video(const sdp_media_t *m, sdp_video_pref_t pref)
{
    const sdp_codec_t *vp8 = NULL;
    int vp8_idx = -1, h264_idx;
    for (unsigned i = 0; i < m->n_codecs && !vp8; i++) {
        if (usable_vp8(&m->codecs[i])) {
            vp8 = &m->codecs[i];
            vp8_idx = (int)i;
        }
    }
    const sdp_codec_t *h264 = pick_h264(m, &h264_idx);
    if (!vp8 || !h264) {
        return vp8 ? vp8 : h264;
    }
    switch (pref) {
    case SDP_PREFER_VP8:
        return vp8;
    case SDP_PREFER_H264:
        return h264;
    default:
        return vp8_idx < h264_idx ? vp8 : h264;
    }
}

/* Which sdp_ext_t a URI is, for this kind of section; -1 when the SFU does not take it. */
static int ext_of(const char *uri, sdp_kind_t kind)
{
    for (int e = 0; e < SDP_EXT_COUNT; e++) {
        if (strcmp(uri, ext_uris[e]) == 0) {
            return (e == SDP_EXT_AUDIO_LEVEL && kind != SDP_KIND_AUDIO) ? -1 : e;
        }
    }
    return -1;
}

/* Decides one publisher m= section: fills n (accepted or not). Returns the chosen codec. */
static const sdp_codec_t *negotiate(const sdp_t *offer, const sdp_media_t *m,
                                    const sdp_answer_opts_t *o, unsigned *n_audio,
                                    unsigned *n_video, sdp_neg_media_t *n)
{
    memset(n, 0, sizeof *n);
    n->kind = m->kind;
    copy_str(n->mid, sizeof n->mid, m->mid);
    bool in_bundle = false;
    for (unsigned i = 0; i < offer->n_bundle && m->mid[0]; i++) {
        in_bundle |= strcmp(offer->bundle[i], m->mid) == 0;
    }
    bool audio = m->kind == SDP_KIND_AUDIO, video = m->kind == SDP_KIND_VIDEO;
    unsigned max = audio ? o->max_audio : o->max_video;
    if (!(audio || video) || !m->rtp || !strstr(m->proto, "SAVP") || !in_bundle || !m->rtcp_mux ||
        (m->port == 0 && !m->bundle_only) || strlen(m->mid) >= SDP_MID_MAX ||
        !safe(m->mid, false) || (m->dir != SDP_DIR_SENDONLY && m->dir != SDP_DIR_SENDRECV) ||
        (max && (audio ? *n_audio : *n_video) >= max)) {
        return NULL;
    }
    const sdp_codec_t *c = NULL;
    for (unsigned i = 0; audio && i < m->n_codecs && !c; i++) {
        c = usable_opus(&m->codecs[i]) ? &m->codecs[i] : NULL;
    }
    if (video) {
        c = pick_video(m, o->video_pref);
    }
    if (!c) {
        return NULL;
    }
    *(audio ? n_audio : n_video) += 1;
    n->accepted = true;
    n->codec.pt = c->pt;
    copy_str(n->codec.name, sizeof n->codec.name, c->name);
    n->codec.clock = c->clock;
    n->codec.channels = audio ? c->channels : 0;
    copy_str(n->codec.fmtp, sizeof n->codec.fmtp, c->fmtp);
    n->codec.rtx_pt = sdp_media_rtx_pt(m, c->pt);
    n->codec.fb = c->fb & SDP_FB_SFU;
    for (unsigned i = 0; i < m->n_extmaps; i++) {
        const sdp_extmap_t *e = &m->extmaps[i];
        int k = ext_of(e->uri, m->kind);
        /* one-byte ids only: the answer does not take a=extmap-allow-mixed (RFC 8285 4.2) */
        if (k >= 0 && e->id <= 14 && !n->ext_id[k] &&
            (e->dir == SDP_DIR_SENDRECV || e->dir == SDP_DIR_SENDONLY)) {
            n->ext_id[k] = (uint8_t)e->id;
        }
    }
    n->ssrc = sdp_media_primary_ssrc(m, &n->rtx_ssrc);
    for (unsigned i = 0; i < m->n_ssrcs; i++) {
        const sdp_ssrc_t *s = &m->ssrcs[i];
        if (s->ssrc == n->ssrc) {
            copy_str(n->cname, sizeof n->cname, s->cname);
            copy_str(n->msid_stream, sizeof n->msid_stream, s->msid_stream);
            copy_str(n->msid_track, sizeof n->msid_track, s->msid_track);
        }
    }
    if (m->msid_stream[0]) {
        copy_str(n->msid_stream, sizeof n->msid_stream, m->msid_stream);
        copy_str(n->msid_track, sizeof n->msid_track, m->msid_track);
    }
    n->rtcp_rsize = m->rtcp_rsize;
    return c;
}

static const char *setup_str(sdp_setup_t s)
{
    switch (s) {
    case SDP_SETUP_ACTIVE:
        return "active";
    case SDP_SETUP_PASSIVE:
        return "passive";
    default:
        return "actpass";
    }
}

static bool local_ok(const sdp_local_t *l, const char **why)
{
    if (!safe(l->ice_ufrag, false) || !safe(l->ice_pwd, false) || !safe(l->fp_alg, false) ||
        !safe(l->fp_value, false)) {
        bad(why, PROTO_EINVAL, "local ICE credentials or fingerprint missing or malformed");
        return false;
    }
    for (size_t i = 0; i < l->n_cands; i++) {
        if (!safe(l->cands[i], true) || strncmp(l->cands[i], "candidate:", 10) != 0) {
            bad(why, PROTO_EINVAL, "local candidate is not a \"candidate:...\" line");
            return false;
        }
    }
    return true;
}

static void put_session(wr_t *w, const sdp_local_t *l, const sdp_neg_t *neg)
{
    put(w, "v=0\r\no=- %llu %llu IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        (unsigned long long)(l->sess_id ? l->sess_id : 1), (unsigned long long)l->sess_version);
    if (l->ice_lite) {
        put(w, "a=ice-lite\r\n");
    }
    put(w, "a=group:BUNDLE");
    for (unsigned i = 0; i < neg->n_media; i++) {
        if (neg->media[i].accepted) {
            put(w, " %s", neg->media[i].mid);
        }
    }
    put(w, "\r\na=msid-semantic: WMS\r\n");
}

/* The transport lines of an accepted section; candidates go to the first one (BUNDLE tag). */
static void put_transport(wr_t *w, const sdp_local_t *l, sdp_setup_t setup, bool first)
{
    put(w, "c=IN IP4 0.0.0.0\r\n");
    for (size_t i = 0; first && i < l->n_cands; i++) {
        put(w, "a=%s\r\n", l->cands[i]);
    }
    if (first && l->end_of_candidates) {
        put(w, "a=end-of-candidates\r\n");
    }
    put(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", l->ice_ufrag, l->ice_pwd);
    put(w, "a=fingerprint:%s %s\r\na=setup:%s\r\n", l->fp_alg, l->fp_value, setup_str(setup));
}

/* rtpmap, rtcp-fb, fmtp (with optional bitrate hints) and rtx of the one codec. */
static void put_codec(wr_t *w, const sdp_neg_codec_t *c, bool rtx, const sdp_answer_opts_t *o)
{
    put(w, "a=rtpmap:%u %s/%u", c->pt, c->name, c->clock);
    put(w, c->channels > 1 ? "/%u\r\n" : "\r\n", c->channels);
    static const struct {
        uint32_t bit;
        const char *s;
    } fbs[] = { { SDP_FB_REMB, "goog-remb" },
                { SDP_FB_CCM_FIR, "ccm fir" },
                { SDP_FB_NACK, "nack" },
                { SDP_FB_NACK_PLI, "nack pli" } };
    for (unsigned i = 0; i < sizeof fbs / sizeof fbs[0]; i++) {
        if (c->fb & fbs[i].bit) {
            put(w, "a=rtcp-fb:%u %s\r\n", c->pt, fbs[i].s);
        }
    }
    bool hints = o && c->channels == 0 && (o->start_kbps || o->min_kbps || o->max_kbps);
    if (c->fmtp[0] || hints) {
        put(w, "a=fmtp:%u %s", c->pt, c->fmtp);
        const char *sep = c->fmtp[0] ? ";" : "";
        static const char *const keys[] = { "x-google-start-bitrate", "x-google-min-bitrate",
                                            "x-google-max-bitrate" };
        uint32_t vals[] = { o ? o->start_kbps : 0, o ? o->min_kbps : 0, o ? o->max_kbps : 0 };
        for (unsigned i = 0; hints && i < 3; i++) {
            if (vals[i]) {
                put(w, "%s%s=%u", sep, keys[i], vals[i]);
                sep = ";";
            }
        }
        put(w, "\r\n");
    }
    if (rtx && c->rtx_pt >= 0) {
        put(w, "a=rtpmap:%d rtx/%u\r\na=fmtp:%d apt=%u\r\n", c->rtx_pt, c->clock, c->rtx_pt, c->pt);
    }
}

static void put_extmaps(wr_t *w, const sdp_neg_media_t *n)
{
    for (int e = 0; e < SDP_EXT_COUNT; e++) {
        if (n->ext_id[e]) {
            put(w, "a=extmap:%u %s\r\n", n->ext_id[e], ext_uris[e]);
        }
    }
}

/* RFC 8829 5.3.1: a rejected section keeps media, proto and one format, port 0. */
static void put_rejected(wr_t *w, const sdp_media_t *m)
{
    const char *f = m->fmts;
    size_t fn = strcspn(f, " \t");
    put(w, "m=%s 0 %s %.*s\r\nc=IN IP4 0.0.0.0\r\n", m->media, m->proto, (int)fn, f);
    if (m->mid[0] && safe(m->mid, false)) {
        put(w, "a=mid:%s\r\n", m->mid);
    }
    if (m->rtp) {
        put(w, "a=inactive\r\n");
    }
}

static sdp_setup_t answer_setup(sdp_setup_t offered, sdp_setup_t want)
{
    if (offered == SDP_SETUP_ACTIVE) {
        return SDP_SETUP_PASSIVE;
    }
    if (offered == SDP_SETUP_PASSIVE) {
        return SDP_SETUP_ACTIVE;
    }
    return want == SDP_SETUP_ACTIVE ? SDP_SETUP_ACTIVE : SDP_SETUP_PASSIVE;
}

ssize_t sdp_build_answer(char *out, size_t cap, const sdp_t *offer, const sdp_local_t *local,
                         const sdp_answer_opts_t *opts, sdp_neg_t *neg_out, const char **why)
{
    static const sdp_answer_opts_t defaults = { 0 };
    const sdp_answer_opts_t *o = opts ? opts : &defaults;
    sdp_neg_t tmp, *neg = neg_out ? neg_out : &tmp;
    memset(neg, 0, sizeof *neg);
    if (!local_ok(local, why)) {
        return PROTO_EINVAL;
    }
    neg->n_media = offer->n_media;
    unsigned n_audio = 0, n_video = 0;
    int first = -1;
    for (unsigned i = 0; i < offer->n_media; i++) {
        if (negotiate(offer, &offer->media[i], o, &n_audio, &n_video, &neg->media[i]) &&
            first < 0) {
            first = (int)i;
        }
    }
    if (first < 0) {
        return bad(why, PROTO_EUNSUPP,
                   "no usable audio/video codec: the SFU takes Opus, VP8 or H.264 "
                   "packetization-mode=1 in sendonly/sendrecv, BUNDLEd, rtcp-mux sections");
    }
    const sdp_media_t *tag = &offer->media[first];
    if (!safe(tag->ice_ufrag, false) || !safe(tag->ice_pwd, false)) {
        return bad(why, PROTO_EINVAL, "offer has no ICE ufrag/pwd");
    }
    if (!tag->fp_alg[0] || !tag->fp_value[0]) {
        return bad(why, PROTO_EINVAL, "offer has no DTLS fingerprint");
    }
    if (tag->setup == SDP_SETUP_HOLDCONN) {
        return bad(why, PROTO_EINVAL, "offer has a=setup:holdconn");
    }
    neg->setup = answer_setup(tag->setup, local->setup);
    wr_t w = { out, cap, 0, cap == 0 };
    put_session(&w, local, neg);
    for (unsigned i = 0; i < offer->n_media; i++) {
        const sdp_media_t *m = &offer->media[i];
        const sdp_neg_media_t *n = &neg->media[i];
        if (!n->accepted) {
            put_rejected(&w, m);
            continue;
        }
        put(&w, "m=%s 9 %s %u", m->media, m->proto, n->codec.pt);
        put(&w, n->codec.rtx_pt >= 0 ? " %d\r\n" : "\r\n", n->codec.rtx_pt);
        put_transport(&w, local, neg->setup, (int)i == first);
        put(&w, "a=mid:%s\r\n", n->mid);
        put_extmaps(&w, n);
        put(&w, "a=recvonly\r\na=rtcp-mux\r\n%s", n->rtcp_rsize ? "a=rtcp-rsize\r\n" : "");
        put_codec(&w, &n->codec, true, o);
    }
    return wr_end(&w, why);
}

static bool track_ok(const sdp_sub_track_t *t)
{
    return t->ssrc && t->rtx_ssrc != t->ssrc && safe(t->cname, false) &&
           safe(t->msid_stream, false) && safe(t->msid_track, false);
}

ssize_t sdp_build_sub_offer(char *out, size_t cap, const sdp_neg_t *pub, const sdp_local_t *local,
                            const sdp_sub_track_t *tracks, size_t n_tracks, const char **why)
{
    if (!local_ok(local, why)) {
        return PROTO_EINVAL;
    }
    size_t n_acc = 0;
    for (unsigned i = 0; i < pub->n_media; i++) {
        n_acc += pub->media[i].accepted;
    }
    if (!n_acc) {
        return bad(why, PROTO_EINVAL, "publisher has no negotiated media");
    }
    if (n_tracks != n_acc) {
        return bad(why, PROTO_EINVAL, "one sdp_sub_track_t per accepted publisher section");
    }
    for (size_t k = 0; k < n_tracks; k++) {
        if (!track_ok(&tracks[k])) {
            return bad(why, PROTO_EINVAL, "subscriber track needs ssrc, cname and msid ids");
        }
    }
    wr_t w = { out, cap, 0, cap == 0 };
    put_session(&w, local, pub);
    size_t k = 0;
    for (unsigned i = 0; i < pub->n_media; i++) {
        const sdp_neg_media_t *n = &pub->media[i];
        if (!n->accepted) {
            continue;
        }
        const sdp_sub_track_t *t = &tracks[k];
        bool rtx = t->rtx_ssrc && n->codec.rtx_pt >= 0;
        put(&w, "m=%s 9 UDP/TLS/RTP/SAVPF %u", n->kind == SDP_KIND_AUDIO ? "audio" : "video",
            n->codec.pt);
        put(&w, rtx ? " %d\r\n" : "\r\n", n->codec.rtx_pt);
        put_transport(&w, local, SDP_SETUP_ACTPASS, k == 0);
        put(&w, "a=mid:%s\r\n", n->mid);
        put_extmaps(&w, n);
        put(&w, "a=sendonly\r\na=msid:%s %s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", t->msid_stream,
            t->msid_track);
        put_codec(&w, &n->codec, rtx, NULL);
        uint32_t ssrcs[2] = { t->ssrc, t->rtx_ssrc };
        if (rtx) {
            put(&w, "a=ssrc-group:FID %u %u\r\n", t->ssrc, t->rtx_ssrc);
        }
        for (unsigned j = 0; j < (rtx ? 2u : 1u); j++) {
            put(&w, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s\r\n", ssrcs[j], t->cname, ssrcs[j],
                t->msid_stream, t->msid_track);
        }
        k++;
    }
    return wr_end(&w, why);
}

int sdp_remote_transport(const sdp_t *s, sdp_remote_t *r, const char **why)
{
    memset(r, 0, sizeof *r);
    /* RFC 8843 7.2: the BUNDLE tag (first mid of the group) carries the shared transport */
    const sdp_media_t *m = s->n_bundle ? sdp_find_mid(s, s->bundle[0]) : NULL;
    for (unsigned i = 0; !m && i < s->n_media; i++) {
        if (s->media[i].port || s->media[i].bundle_only) {
            m = &s->media[i];
        }
    }
    if (!m) {
        return (int)bad(why, PROTO_EINVAL, "no m= section with a transport");
    }
    if (!m->ice_ufrag[0] || !m->ice_pwd[0]) {
        return (int)bad(why, PROTO_EINVAL, "no ICE ufrag/pwd");
    }
    if (!m->fp_alg[0] || !m->fp_value[0]) {
        return (int)bad(why, PROTO_EINVAL, "no DTLS fingerprint");
    }
    r->ice_ufrag = m->ice_ufrag;
    r->ice_pwd = m->ice_pwd;
    r->fp_alg = m->fp_alg;
    r->fp_value = m->fp_value;
    r->setup = m->setup;
    r->first = m;
    return 0;
}

int sdp_check_sub_answer(const sdp_t *answer, const sdp_neg_t *pub, sdp_sub_result_t *res,
                         const char **why)
{
    sdp_sub_result_t tmp, *rs = res ? res : &tmp;
    memset(rs, 0, sizeof *rs);
    sdp_remote_t rt;
    if (sdp_remote_transport(answer, &rt, why) != 0) {
        return PROTO_EINVAL;
    }
    if (rt.setup != SDP_SETUP_ACTIVE && rt.setup != SDP_SETUP_PASSIVE) {
        return (int)bad(why, PROTO_EINVAL, "answer a=setup must be active or passive");
    }
    unsigned k = 0, n_ok = 0;
    for (unsigned i = 0; i < pub->n_media; i++) {
        const sdp_neg_media_t *n = &pub->media[i];
        if (!n->accepted) {
            continue;
        }
        if (k >= answer->n_media) {
            return (int)bad(why, PROTO_EINVAL, "answer has fewer m= sections than the offer");
        }
        const sdp_media_t *am = &answer->media[k++];
        if (strcmp(am->mid, n->mid) != 0) {
            return (int)bad(why, PROTO_EINVAL, "answer m= sections do not match the offer's mids");
        }
        if ((am->port == 0 && !am->bundle_only) || am->dir == SDP_DIR_INACTIVE) {
            continue; /* the subscriber declined this section */
        }
        if (am->dir != SDP_DIR_RECVONLY) {
            return (int)bad(why, PROTO_EINVAL, "answer to a sendonly section must be recvonly");
        }
        const sdp_codec_t *c = sdp_media_codec(am, n->codec.pt);
        if (!c || (c->name[0] && !ieq(c->name, n->codec.name))) {
            return (int)bad(why, PROTO_EINVAL, "answer lacks the offered payload type");
        }
        if (!am->rtcp_mux) {
            return (int)bad(why, PROTO_EINVAL, "answer lacks a=rtcp-mux");
        }
        rs->media[k - 1].accepted = true;
        rs->media[k - 1].fb = c->fb & n->codec.fb;
        rs->media[k - 1].rtx =
            n->codec.rtx_pt >= 0 && sdp_media_codec(am, (uint8_t)n->codec.rtx_pt);
        n_ok++;
    }
    if (answer->n_media != k) {
        return (int)bad(why, PROTO_EINVAL, "answer has more m= sections than the offer");
    }
    rs->n_media = (uint8_t)k;
    if (!n_ok) {
        return (int)bad(why, PROTO_EUNSUPP, "subscriber rejected every m= section");
    }
    return 0;
}
