/* sfu/rtcp_fb.c: see rtcp_fb.h. Every packet the SFU sends starts with a receiver report, so
 * it is a valid compound packet even to a peer that did not negotiate rtcp-rsize (RFC 5506). */
#include "rtcp_fb.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../proto/rtcp.h"
#include "fanout.h"
#include "forward.h"
#include "peer.h"
#include "room.h"
#include "router.h"
#include "stats.h"
#include <string.h>

#define RTCP_BUF 1200
_Static_assert(RTCP_BUF + SRTPX_SPARE <= FANOUT_SLOT, "an SRTCP packet fits a fan-out slot");
#define NACK_RETRY_MS 40 /* a few RTTs on a LAN; NACK_MAX_TRIES bounds the total */
#define RR_PERIOD_MS  1000
#define CACHE_AGE_MS  2000 /* older cached packets are not resent */
#define MAX_NACK_SEQS 128

static uint8_t out[RTCP_BUF + SRTPX_SPARE];

int rtcp_fb_send(peer_t *p, uint8_t *rtcp, size_t len)
{
    int n = (int)len;
    if (!srtpx_ready(&p->srtp) || srtpx_protect_rtcp(&p->srtp, rtcp, &n) != 0 ||
        peer_send(p, rtcp, (size_t)n) != 0) {
        p->c.dropped++;
        return -1;
    }
    return 0;
}

/* Sends an SRTCP packet protected for subscriber dst (fanout_send_fn; also on fan-out
 * helpers: touches only dst). */
static size_t send_protected_rtcp(void *dst, const uint8_t *buf, size_t len)
{
    peer_t *p = dst;
    if (peer_send(p, buf, len) != 0) {
        p->c.dropped++;
        return 0;
    }
    return len;
}

/* An empty receiver report: the mandatory first packet of a compound (RFC 3550 6.1). */
static size_t put_rr(const peer_t *p, uint8_t *b, size_t cap)
{
    rtcp_rr_t rr = { .ssrc = p->local_ssrc, .n_reports = 0 };
    ssize_t n = rtcp_rr_build(b, cap, &rr);
    return n > 0 ? (size_t)n : 0;
}

static bool pub_live(const peer_t *pub)
{
    return pub && !pub->closed && pub->pub && pub->state == PEER_CONNECTED;
}

/* ---- publisher side ------------------------------------------------------------------------- */

static void send_keyframe_request(peer_t *pub, int idx)
{
    pub_track_t *t = &pub->pub->t[idx];
    size_t off = put_rr(pub, out, RTCP_BUF);
    ssize_t n;
    /* RFC 5104: FIR only where it was negotiated and PLI was not */
    if ((t->fb & SDP_FB_CCM_FIR) && !(t->fb & SDP_FB_NACK_PLI)) {
        n = rtcp_fir_build(out + off, RTCP_BUF - off, pub->local_ssrc, t->ssrc, t->fir_seq++);
    } else {
        n = rtcp_pli_build(out + off, RTCP_BUF - off, pub->local_ssrc, t->ssrc);
    }
    if (n > 0 && rtcp_fb_send(pub, out, off + (size_t)n) == 0) {
        pub->c.plis_out++;
    }
}

void rtcp_fb_keyframe(peer_t *pub, peer_t *asker)
{
    if (!pub_live(pub)) {
        return; /* a publisher that is not connected yet starts with a keyframe anyway */
    }
    uint64_t now = clock_mono_ms();
    uint64_t interval = (uint64_t)pub->sfu->cfg.pli_interval_ms;
    bool sent = false;
    for (int i = 0; i < pub->pub->neg.n_media; i++) {
        pub_track_t *t = &pub->pub->t[i];
        if (t->active && t->kind == SDP_KIND_VIDEO && t->ssrc &&
            plictl_request(&t->pli, now, interval)) {
            send_keyframe_request(pub, i);
            sent = true;
        }
    }
    if (sent && asker && pub->room) {
        sfu_emit(pub->sfu, RPC_EV_TRACK_KEYFRAME_NEEDED,
                 json_pack("{s:s,s:s}", "room", pub->room->id, "peer", asker->id));
    }
}

void rtcp_fb_send_nacks(peer_t *pub, int idx, uint64_t now_ms)
{
    pub_track_t *t = &pub->pub->t[idx];
    uint16_t seqs[MAX_NACK_SEQS];
    size_t n = nackgen_collect(&t->nack, now_ms, NACK_RETRY_MS, seqs, MAX_NACK_SEQS);
    if (n == 0 || !srtpx_ready(&pub->srtp)) {
        return;
    }
    size_t off = put_rr(pub, out, RTCP_BUF);
    ssize_t k = rtcp_nack_build(out + off, RTCP_BUF - off, pub->local_ssrc, t->ssrc, seqs, n);
    if (k > 0 && rtcp_fb_send(pub, out, off + (size_t)k) == 0) {
        pub->c.nacks_out += n;
    }
}

/* Receiver report with a block per track, plus REMB so the browser raises its bitrate
 * (without transport-cc feedback, REMB is what its bandwidth estimator listens to). */
static void send_rr(peer_t *pub, uint64_t now_us)
{
    pub_media_t *m = pub->pub;
    rtcp_rr_t rr = { .ssrc = pub->local_ssrc };
    uint32_t ssrcs[SDP_MAX_MEDIA];
    size_t ns = 0;
    for (int i = 0; i < m->neg.n_media; i++) {
        pub_track_t *t = &m->t[i];
        if (!t->active || !t->ssrc || !t->rx.init) {
            continue;
        }
        /* RFC 3550 6.4.1: DLSR in 1/65536 s */
        uint32_t dlsr = t->lsr ? (uint32_t)((now_us - t->lsr_at_us) * 65536 / 1000000) : 0;
        rxstats_report(&t->rx, t->ssrc, t->lsr, dlsr, &rr.reports[rr.n_reports++]);
        ssrcs[ns++] = t->ssrc;
    }
    ssize_t n = rtcp_rr_build(out, RTCP_BUF, &rr);
    if (n <= 0) {
        return;
    }
    size_t off = (size_t)n;
    if (ns > 0) {
        n = rtcp_remb_build(out + off, RTCP_BUF - off, pub->local_ssrc,
                            (uint64_t)pub->sfu->cfg.remb_bps, ssrcs, ns);
        off += n > 0 ? (size_t)n : 0;
    }
    rtcp_fb_send(pub, out, off);
}

/* An SR (+ SDES CNAME) for ssrc into b. Returns its length, 0 on failure. */
static size_t build_sr(uint8_t *b, size_t cap, const rtcp_sr_t *in, uint32_t ssrc, uint32_t rtp_ts,
                       const char *cname)
{
    rtcp_sr_t sr = *in;
    sr.ssrc = ssrc;
    sr.rtp_ts = rtp_ts;
    sr.n_reports = 0;
    ssize_t n = rtcp_sr_build(b, cap, &sr);
    if (n <= 0) {
        return 0;
    }
    size_t len = (size_t)n;
    if (*cname) {
        n = rtcp_sdes_build(b + len, cap - len, ssrc, cname, strlen(cname));
        len += n > 0 ? (size_t)n : 0;
    }
    return len;
}

/* A publisher's SR, re-issued to each subscriber of the track (RTP/NTP mapping for lip sync)
 * with that subscriber's SSRC and timestamp numbering. */
static void forward_sr(peer_t *pub, const rtcp_sr_t *in, int idx)
{
    pub_track_t *t = &pub->pub->t[idx];
    const char *cname = pub->pub->neg.media[idx].cname;
    size_t len = build_sr(out, RTCP_BUF, in, t->out_ssrc, in->rtp_ts, cname);
    if (len > 0) {
        forward_rtcp_sr(pub->room, idx, out, len); /* lip sync for the recorder */
    }
    /* one SR per subscriber: a fan-out job like a media packet's, so that a big room's SRs
     * do not hold the loop (and the next media packet) for N sends */
    fanout_t *fo = pub->sfu->fanout;
    fanout_begin(fo, (int)pub->room->n_subs, send_protected_rtcp);
    list_t *it;
    list_foreach(it, &pub->room->subs)
    {
        peer_t *s = list_entry(it, peer_t, room_link);
        int j = s->sub ? s->sub->by_pub[idx] : -1;
        uint32_t ts;
        if (s->state != PEER_CONNECTED || j < 0 || !s->sub->t[j].want ||
            !rtp_rw_ts(&s->sub->t[j].rw, in->rtp_ts, &ts) || !srtpx_ready(&s->srtp)) {
            continue;
        }
        uint8_t *b = fanout_slot(fo);
        len = build_sr(b, RTCP_BUF, in, s->sub->t[j].ssrc, ts, cname);
        int n = (int)len;
        if (len == 0 || srtpx_protect_rtcp(&s->srtp, b, &n) != 0) {
            s->c.dropped++;
            continue;
        }
        fanout_push(fo, s, (size_t)n);
    }
    fanout_end(fo);
}

void rtcp_fb_on_pub_rtcp(peer_t *pub, uint8_t *pkt, size_t len)
{
    if (!pub->pub || !pub->room) {
        return;
    }
    rtcp_iter_t it;
    rtcp_pkt_t p;
    const char *why = NULL;
    rtcp_iter_init(&it, pkt, len);
    while (rtcp_iter_next(&it, &p, &why) == 1) {
        rtcp_sr_t sr;
        if (p.pt != RTCP_SR || rtcp_sr_parse(&p, &sr) != 0) {
            continue; /* receiver reports and SDES of a send-only peer: nothing to do */
        }
        int idx = router_track_by_ssrc(pub->pub, sr.ssrc);
        if (idx < 0) {
            continue;
        }
        pub_track_t *t = &pub->pub->t[idx];
        t->lsr = sr.ntp_sec << 16 | sr.ntp_frac >> 16;
        t->lsr_at_us = clock_mono_us();
        forward_sr(pub, &sr, idx);
    }
}

/* ---- subscriber side ---------------------------------------------------------------------- */

static void on_sub_nack(peer_t *sub, peer_t *pub, const rtcp_nack_t *nk)
{
    int j = router_sub_by_ssrc(sub->sub, nk->media_ssrc);
    const sub_track_t *st = j >= 0 ? &sub->sub->t[j] : NULL;
    if (!st || !st->want || st->pub < 0 || !pub->pub->t[st->pub].cache) {
        return;
    }
    uint16_t seqs[RTCP_MAX_FCI * 17];
    size_t n = rtcp_nack_expand(nk, seqs, sizeof seqs / sizeof seqs[0]);
    uint64_t now = clock_mono_ms();
    sub->c.nacks_in += n;
    for (size_t i = 0; i < n; i++) {
        /* the subscriber names its own numbering; the cache holds the publisher's */
        uint16_t seq;
        const uint8_t *cached;
        size_t clen;
        if (rtp_rw_unmap_seq(&st->rw, seqs[i], &seq) &&
            (clen = pktcache_get(pub->pub->t[st->pub].cache, seq, now, CACHE_AGE_MS, &cached)) >
                0) {
            router_resend(sub, st, cached, clen);
        }
    }
}

static void on_sub_rr(peer_t *sub, const rtcp_report_t *rb, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int j = router_sub_by_ssrc(sub->sub, rb[i].ssrc);
        if (j >= 0) {
            sub->sub->t[j].lost = rb[i].cum_lost > 0 ? (uint32_t)rb[i].cum_lost : 0;
        }
    }
    uint64_t total = 0;
    for (int j = 0; j < sub->sub->n; j++) {
        total += sub->sub->t[j].lost;
    }
    sub->c.packets_lost = total;
}

void rtcp_fb_on_sub_rtcp(peer_t *sub, uint8_t *pkt, size_t len)
{
    peer_t *pub = sub->room ? sub->room->publisher : NULL;
    if (!sub->sub || !pub || !pub->pub) {
        return;
    }
    rtcp_iter_t it;
    rtcp_pkt_t p;
    const char *why = NULL;
    rtcp_iter_init(&it, pkt, len);
    while (rtcp_iter_next(&it, &p, &why) == 1) {
        if (p.pt == RTCP_RR) {
            rtcp_rr_t rr;
            if (rtcp_rr_parse(&p, &rr) == 0) {
                on_sub_rr(sub, rr.reports, rr.n_reports);
            }
        } else if (p.pt == RTCP_SR) {
            rtcp_sr_t sr;
            if (rtcp_sr_parse(&p, &sr) == 0) {
                on_sub_rr(sub, sr.reports, sr.n_reports);
            }
        } else if (p.pt == RTCP_PSFB && (p.fmt == RTCP_FMT_PLI || p.fmt == RTCP_FMT_FIR)) {
            sub->c.plis_in++;
            rtcp_fb_keyframe(pub, sub);
        } else if (p.pt == RTCP_RTPFB && p.fmt == RTCP_FMT_NACK) {
            rtcp_nack_t nk;
            if (rtcp_nack_parse(&p, &nk) == 0) {
                on_sub_nack(sub, pub, &nk);
            }
        }
    }
}

/* ---- periodic ------------------------------------------------------------------------------- */

static void tick_publisher(peer_t *pub, uint64_t now_ms, uint64_t now_us)
{
    pub_media_t *m = pub->pub;
    uint64_t interval = (uint64_t)pub->sfu->cfg.pli_interval_ms;
    uint64_t lost = 0;
    for (int i = 0; i < m->neg.n_media; i++) {
        pub_track_t *t = &m->t[i];
        if (!t->active) {
            continue;
        }
        if (t->fb & SDP_FB_NACK) {
            rtcp_fb_send_nacks(pub, i, now_ms);
        }
        if (plictl_poll(&t->pli, now_ms, interval)) {
            send_keyframe_request(pub, i);
        }
        lost += rxstats_lost(&t->rx);
    }
    pub->c.packets_lost = lost;
    if (now_ms - m->last_rr_ms >= RR_PERIOD_MS) {
        m->last_rr_ms = now_ms;
        send_rr(pub, now_us);
    }
}

void rtcp_fb_tick(sfu_t *s)
{
    stats_update_rates(s);
    uint64_t now_us = clock_mono_us(), now_ms = now_us / 1000;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->rooms);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        room_t *r = v;
        if (pub_live(r->publisher)) {
            tick_publisher(r->publisher, now_ms, now_us);
        }
    }
}
