/* sfu/router.c: see router.h. The per-packet path: parse the header, find the track by payload
 * type (BUNDLE keeps payload types distinct per section), restore RFC 4588 retransmissions to
 * the original packet, update loss and jitter statistics, NACK gaps, cache video, then fan out:
 * one copy and one srtp_protect per subscriber on this thread, and one send per subscriber on
 * this thread or a fan-out helper (fanout.h). */
#include "router.h"
#include "../common/clock.h"
#include "../proto/rtp.h"
#include "fanout.h"
#include "forward.h"
#include "peer.h"
#include "room.h"
#include "rtcp_fb.h"
#include <glib.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

_Static_assert(ROUTER_PKT_MAX + SRTPX_SPARE <= FANOUT_SLOT, "an SRTP packet fits a fan-out slot");

static uint32_t random_ssrc(void)
{
    uint32_t v = 0;
    while (v == 0) {
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1) {
            v = g_random_int();
        }
    }
    return v;
}

pub_media_t *router_pub_new(const sdp_neg_t *neg)
{
    pub_media_t *m = g_new0(pub_media_t, 1);
    m->neg = *neg;
    m->first = -1;
    for (int i = 0; i < neg->n_media; i++) {
        const sdp_neg_media_t *nm = &neg->media[i];
        pub_track_t *t = &m->t[i];
        if (!nm->accepted) {
            continue;
        }
        if (m->first < 0) {
            m->first = i;
        }
        t->active = true;
        t->kind = nm->kind;
        t->codec = g_ascii_strcasecmp(nm->codec.name, "VP8") == 0    ? ROUTER_CODEC_VP8
                   : g_ascii_strcasecmp(nm->codec.name, "H264") == 0 ? ROUTER_CODEC_H264
                                                                     : ROUTER_CODEC_OTHER;
        t->pt = nm->codec.pt;
        t->rtx_pt = nm->codec.rtx_pt;
        t->clock = nm->codec.clock;
        t->fb = nm->codec.fb;
        t->ssrc = nm->ssrc;
        t->rtx_ssrc = nm->rtx_ssrc;
        t->out_ssrc = nm->ssrc ? nm->ssrc : random_ssrc();
        rxstats_init(&t->rx, t->clock);
        nackgen_init(&t->nack);
        if (nm->kind == SDP_KIND_VIDEO) {
            t->cache = pktcache_new(PKTCACHE_SLOTS);
        }
    }
    return m;
}

void router_pub_free(pub_media_t *m)
{
    if (!m) {
        return;
    }
    for (int i = 0; i < SDP_MAX_MEDIA; i++) {
        pktcache_free(m->t[i].cache);
    }
    g_free(m);
}

bool router_neg_same(const sdp_neg_t *a, const sdp_neg_t *b)
{
    if (a->n_media != b->n_media) {
        return false;
    }
    for (int i = 0; i < a->n_media; i++) {
        const sdp_neg_media_t *x = &a->media[i], *y = &b->media[i];
        if (x->accepted != y->accepted) {
            return false;
        }
        if (x->accepted &&
            (x->kind != y->kind || strcmp(x->mid, y->mid) != 0 || x->codec.pt != y->codec.pt ||
             x->codec.rtx_pt != y->codec.rtx_pt || strcmp(x->codec.name, y->codec.name) != 0 ||
             x->ssrc != y->ssrc || memcmp(x->ext_id, y->ext_id, sizeof x->ext_id) != 0)) {
            return false;
        }
    }
    return true;
}

int router_track_by_ssrc(const pub_media_t *m, uint32_t ssrc)
{
    for (int i = 0; i < m->neg.n_media; i++) {
        const pub_track_t *t = &m->t[i];
        if (t->active && ssrc != 0 &&
            (t->ssrc == ssrc || t->rtx_ssrc == ssrc || t->out_ssrc == ssrc)) {
            return i;
        }
    }
    return -1;
}

/* The track of payload type pt; *rtx tells whether pt is its retransmission type. */
static int track_by_pt(const pub_media_t *m, uint8_t pt, bool *rtx)
{
    for (int i = 0; i < m->neg.n_media; i++) {
        const pub_track_t *t = &m->t[i];
        if (!t->active) {
            continue;
        }
        if (t->pt == pt) {
            *rtx = false;
            return i;
        }
        if (t->rtx_pt >= 0 && t->rtx_pt == pt) {
            *rtx = true;
            return i;
        }
    }
    return -1;
}

/* RFC 4588 4: an rtx packet carries the original sequence number (OSN) before the original
 * payload. Rewrites pkt in place into the original packet. Returns the new length, or 0 for
 * a padding-only probe (nothing to restore). */
static size_t unwrap_rtx(pub_track_t *t, uint8_t *pkt, size_t len, rtp_hdr_t *h)
{
    if (h->payload_len < 2) {
        return 0;
    }
    uint16_t osn = rtp_rd16(pkt + h->payload_off);
    t->rtx_ssrc = h->ssrc;
    memmove(pkt + h->payload_off, pkt + h->payload_off + 2, len - h->payload_off - 2);
    len -= 2;
    rtp_set_seq(pkt, osn);
    rtp_set_pt(pkt, t->pt);
    rtp_set_ssrc(pkt, t->ssrc);
    h->seq = osn;
    h->payload_len -= 2;
    h->ssrc = t->ssrc;
    h->pt = t->pt;
    return len;
}

static bool is_keyframe(const pub_track_t *t, const uint8_t *payload, size_t len)
{
    switch (t->codec) {
    case ROUTER_CODEC_VP8:
        return rtp_vp8_is_keyframe(payload, len);
    case ROUTER_CODEC_H264:
        return rtp_h264_is_keyframe(payload, len);
    default:
        return false;
    }
}

/* Writes the plain RTP packet pkt[0..len) into buf with sub's numbering of section st (SSRC,
 * payload type, oseq, ots) and protects it with sub's keys. Returns the protected length, or 0
 * (counted as dropped, or a test drop). Touches only sub's own state. */
static size_t protect_for(peer_t *sub, const sub_track_t *st, const uint8_t *pkt, size_t len,
                          uint16_t oseq, uint32_t ots, uint8_t *buf)
{
    int n = (int)len;
    if (len > ROUTER_PKT_MAX || !srtpx_ready(&sub->srtp)) {
        sub->c.dropped++;
        return 0;
    }
    if (sfu_test_drop(sub->sfu->cfg.test_loss_out)) {
        return 0;
    }
    memcpy(buf, pkt, len);
    rtp_set_ssrc(buf, st->ssrc);
    rtp_set_pt(buf, st->pt);
    rtp_set_seq(buf, oseq);
    rtp_set_ts(buf, ots);
    if (srtpx_protect(&sub->srtp, buf, &n) != 0) {
        sub->c.dropped++;
        return 0;
    }
    return (size_t)n;
}

size_t router_send_protected(void *dst, const uint8_t *buf, size_t len)
{
    peer_t *sub = dst;
    if (peer_send(sub, buf, len) != 0) {
        sub->c.dropped++;
        return 0;
    }
    sub->c.packets_out++;
    sub->c.bytes_out += (uint64_t)len;
    return len;
}

/* The room's subscribers as an array, rebuilt after a join or a leave. */
static peer_t **room_fan(room_t *r)
{
    if (r->fan_dirty) {
        if (r->fan_cap < r->n_subs) {
            r->fan_cap = r->n_subs + r->n_subs / 2 + 8;
            r->fan = g_renew(peer_t *, r->fan, r->fan_cap);
        }
        r->fan_n = 0;
        list_t *it;
        list_foreach(it, &r->subs)
        {
            r->fan[r->fan_n++] = list_entry(it, peer_t, room_link);
        }
        r->fan_dirty = false;
    }
    return r->fan;
}

void router_on_rtp(peer_t *p, uint8_t *pkt, size_t len, bool forward)
{
    pub_media_t *m = p->pub;
    rtp_hdr_t h;
    bool rtx = false;
    int idx;
    if (!m || !p->room || rtp_hdr_parse(&h, pkt, len, NULL) != 0 ||
        (idx = track_by_pt(m, h.pt, &rtx)) < 0) {
        p->c.dropped++;
        return;
    }
    pub_track_t *t = &m->t[idx];
    if (rtx) {
        if (t->ssrc == 0 || (len = unwrap_rtx(t, pkt, len, &h)) == 0) {
            return; /* a bandwidth probe, or rtx before any media */
        }
        if (!nackgen_missing(&t->nack, h.seq)) {
            /* Chromium probes bandwidth by resending recent packets over rtx: subscribers
             * have them already, and only answers to our NACKs fill gaps */
            return;
        }
    } else if (t->ssrc != h.ssrc) {
        /* first packet of an undeclared SSRC, or the sender changed it: start over */
        t->ssrc = h.ssrc;
        rxstats_init(&t->rx, t->clock);
        nackgen_init(&t->nack);
        if (t->cache) {
            pktcache_clear(t->cache);
        }
    }
    uint64_t now_us = clock_mono_us(), now_ms = now_us / 1000;
    rxstats_update(&t->rx, h.seq, h.ts, now_us, rtx);
    if (nackgen_on_packet(&t->nack, h.seq, now_ms) > 0 && (t->fb & SDP_FB_NACK) && forward) {
        rtcp_fb_send_nacks(p, idx, now_ms);
    }
    if (!forward) {
        p->c.dropped++;
        return;
    }
    if (t->kind == SDP_KIND_VIDEO && !rtx && is_keyframe(t, pkt + h.payload_off, h.payload_len)) {
        t->keyframes++;
        plictl_keyframe(&t->pli);
    }
    rtp_set_ssrc(pkt, t->out_ssrc);
    if (t->cache) {
        pktcache_put(t->cache, h.seq, pkt, len, now_ms);
    }
    forward_rtp(p->room, p, pkt, len); /* plain RTP to local receivers (recorder) */
    room_t *r = p->room;
    peer_t **subs = room_fan(r);
    fanout_t *fo = p->sfu->fanout;
    fanout_begin(fo, (int)r->fan_n, router_send_protected);
    for (unsigned i = 0; i < r->fan_n; i++) {
        peer_t *s = subs[i];
        int j = s->sub ? s->sub->by_pub[idx] : -1;
        if (s->state != PEER_CONNECTED || j < 0 || !s->sub->t[j].want) {
            continue;
        }
        sub_track_t *st = &s->sub->t[j];
        uint16_t oseq;
        uint32_t ots;
        if (!rtp_rw_map(&st->rw, h.seq, h.ts, st->clock, now_us, &oseq, &ots)) {
            continue;
        }
        uint8_t *buf = fanout_slot(fo);
        size_t n = protect_for(s, st, pkt, len, oseq, ots, buf);
        if (n > 0) {
            fanout_push(fo, s, n);
        }
    }
    p->sfu->bytes_out += fanout_end(fo);
}

int router_resend(peer_t *sub, const sub_track_t *st, const uint8_t *pkt, size_t len)
{
    uint16_t oseq;
    uint32_t ots;
    if (len < 12 || !rtp_rw_remap(&st->rw, rtp_rd16(pkt + 2), rtp_rd32(pkt + 4), &oseq, &ots)) {
        return -1;
    }
    uint8_t buf[ROUTER_PKT_MAX + SRTPX_SPARE];
    size_t n = protect_for(sub, st, pkt, len, oseq, ots, buf);
    if (n == 0 || (n = router_send_protected(sub, buf, n)) == 0) {
        return -1;
    }
    sub->sfu->bytes_out += n;
    return 0;
}

/* ---- subscriber sections ----------------------------------------------------------------- */

void router_sub_from_pub(sub_media_t *sm, const pub_media_t *pm)
{
    bool again = sm->n > 0;
    uint8_t n = 0;
    for (int i = 0; i < SDP_MAX_MEDIA; i++) {
        sm->by_pub[i] = -1;
    }
    for (int i = 0; i < pm->neg.n_media && n < SDP_MAX_MEDIA; i++) {
        const sdp_neg_media_t *nm = &pm->neg.media[i];
        if (!nm->accepted) {
            continue;
        }
        sub_track_t *st = &sm->t[n];
        if (!again || n >= sm->n) {
            memset(st, 0, sizeof *st);
            st->ssrc = pm->t[i].out_ssrc;
            rtp_rw_init(&st->rw);
        }
        st->pub = (int8_t)i;
        st->kind = nm->kind;
        st->pt = nm->codec.pt;
        st->clock = nm->codec.clock;
        snprintf(st->codec, sizeof st->codec, "%s", nm->codec.name);
        snprintf(st->mid, sizeof st->mid, "%s", nm->mid);
        memcpy(st->ext_id, nm->ext_id, sizeof st->ext_id);
        sm->by_pub[i] = (int8_t)n;
        n++;
    }
    sm->n = n;
}

static bool compatible(const sub_track_t *st, const sdp_neg_media_t *nm)
{
    return nm->accepted && nm->kind == st->kind && nm->codec.clock == st->clock &&
           g_ascii_strcasecmp(nm->codec.name, st->codec) == 0 && strcmp(nm->mid, st->mid) == 0 &&
           memcmp(nm->ext_id, st->ext_id, sizeof st->ext_id) == 0;
}

bool router_sub_rebind(sub_media_t *sm, const pub_media_t *pm)
{
    int8_t match[SDP_MAX_MEDIA];
    bool used[SDP_MAX_MEDIA] = { false };
    for (int j = 0; j < sm->n; j++) {
        const sub_track_t *st = &sm->t[j];
        match[j] = -1;
        for (int i = 0; i < pm->neg.n_media; i++) {
            if (!used[i] && compatible(st, &pm->neg.media[i])) {
                match[j] = (int8_t)i;
                used[i] = true;
                break;
            }
        }
        if (match[j] < 0 && (st->want || !sm->answered)) {
            return false;
        }
    }
    for (int i = 0; i < SDP_MAX_MEDIA; i++) {
        sm->by_pub[i] = -1;
    }
    for (int j = 0; j < sm->n; j++) {
        sub_track_t *st = &sm->t[j];
        st->pub = match[j];
        if (match[j] >= 0) {
            sm->by_pub[match[j]] = (int8_t)j; /* its payload type and SSRC stay as negotiated */
        }
        rtp_rw_switch(&st->rw);
    }
    return true;
}

int router_sub_by_ssrc(const sub_media_t *sm, uint32_t ssrc)
{
    for (int j = 0; j < sm->n; j++) {
        if (sm->t[j].ssrc == ssrc && ssrc != 0) {
            return j;
        }
    }
    return -1;
}
