/* proto/rtcp.c: RTCP compound iteration, parsers and builders (RFC 3550 6.4-6.6, RFC 4585 6,
 * RFC 5104 4.3.1, draft-alvestrand-rmcat-remb 2.2). Parsers check every count against the
 * packet's own length; builders check cap before writing. */
#include "rtcp.h"

#include <string.h>

#include "err.h"
#include "rtp.h"

void rtcp_iter_init(rtcp_iter_t *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = len;
    it->off = 0;
    it->err = 0;
    it->why = NULL;
}

static int iter_fail(rtcp_iter_t *it, const char *why, const char **out)
{
    it->err = PROTO_EINVAL;
    it->why = why;
    if (out) {
        *out = why;
    }
    return PROTO_EINVAL;
}

int rtcp_iter_next(rtcp_iter_t *it, rtcp_pkt_t *p, const char **why)
{
    if (it->err) {
        if (why) {
            *why = it->why;
        }
        return it->err;
    }
    if (it->off >= it->len) {
        return 0;
    }
    const uint8_t *d = it->buf + it->off;
    size_t left = it->len - it->off;
    if (left < 4) {
        return iter_fail(it, "RTCP header past the datagram", why);
    }
    if ((d[0] >> 6) != 2) {
        return iter_fail(it, "RTCP version is not 2", why);
    }
    /* RFC 3550 6.4.1: length in 32-bit words minus one, header included */
    size_t plen = 4u * ((size_t)rtp_rd16(d + 2) + 1);
    if (plen > left) {
        return iter_fail(it, "RTCP length past the datagram", why);
    }
    p->pt = d[1];
    p->fmt = d[0] & 0x1f;
    p->padding = d[0] & 0x20;
    p->data = d;
    p->len = plen;
    p->body_len = plen - 4;
    if (p->padding) {
        uint8_t pad = d[plen - 1];
        if (pad == 0 || pad > p->body_len) {
            return iter_fail(it, "RTCP padding larger than the packet", why);
        }
        p->body_len -= pad;
    }
    it->off += plen;
    return 1;
}

/* RFC 3550 6.4.1 report block: 24 bytes at q. */
static void report_parse(const uint8_t *q, rtcp_report_t *r)
{
    r->ssrc = rtp_rd32(q);
    r->fraction_lost = q[4];
    uint32_t cl = rtp_rd24(q + 5);
    r->cum_lost = (cl & 0x800000) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
    r->ext_high_seq = rtp_rd32(q + 8);
    r->jitter = rtp_rd32(q + 12);
    r->lsr = rtp_rd32(q + 16);
    r->dlsr = rtp_rd32(q + 20);
}

static void report_write(uint8_t *q, const rtcp_report_t *r)
{
    rtp_wr32(q, r->ssrc);
    q[4] = r->fraction_lost;
    rtp_wr24(q + 5, (uint32_t)r->cum_lost & 0xffffff);
    rtp_wr32(q + 8, r->ext_high_seq);
    rtp_wr32(q + 12, r->jitter);
    rtp_wr32(q + 16, r->lsr);
    rtp_wr32(q + 20, r->dlsr);
}

int rtcp_sr_parse(const rtcp_pkt_t *p, rtcp_sr_t *sr)
{
    if (p->pt != RTCP_SR || p->body_len < 24 + 24u * p->fmt) {
        return PROTO_EINVAL;
    }
    const uint8_t *b = p->data + 4;
    sr->ssrc = rtp_rd32(b);
    sr->ntp_sec = rtp_rd32(b + 4);
    sr->ntp_frac = rtp_rd32(b + 8);
    sr->rtp_ts = rtp_rd32(b + 12);
    sr->pkt_count = rtp_rd32(b + 16);
    sr->octet_count = rtp_rd32(b + 20);
    sr->n_reports = p->fmt;
    for (unsigned i = 0; i < p->fmt; i++) {
        report_parse(b + 24 + 24 * i, &sr->reports[i]);
    }
    return 0;
}

int rtcp_rr_parse(const rtcp_pkt_t *p, rtcp_rr_t *rr)
{
    if (p->pt != RTCP_RR || p->body_len < 4 + 24u * p->fmt) {
        return PROTO_EINVAL;
    }
    const uint8_t *b = p->data + 4;
    rr->ssrc = rtp_rd32(b);
    rr->n_reports = p->fmt;
    for (unsigned i = 0; i < p->fmt; i++) {
        report_parse(b + 4 + 24 * i, &rr->reports[i]);
    }
    return 0;
}

int rtcp_sdes_parse(const rtcp_pkt_t *p, rtcp_sdes_t *s)
{
    if (p->pt != RTCP_SDES) {
        return PROTO_EINVAL;
    }
    const uint8_t *d = p->data;
    size_t end = 4 + p->body_len, pos = 4;
    s->n = 0;
    for (unsigned c = 0; c < p->fmt; c++) {
        /* RFC 3550 6.5: SSRC, items (type, length, text), a null octet, pad to 32 bits */
        if (end - pos < 4) {
            return PROTO_EINVAL;
        }
        s->chunks[c].ssrc = rtp_rd32(d + pos);
        s->chunks[c].cname = NULL;
        s->chunks[c].cname_len = 0;
        pos += 4;
        for (;;) {
            if (pos >= end) {
                return PROTO_EINVAL; /* no terminating null octet */
            }
            uint8_t type = d[pos];
            if (type == 0) {
                pos = (pos + 4) & ~(size_t)3;
                break;
            }
            if (end - pos < 2 || d[pos + 1] > end - pos - 2) {
                return PROTO_EINVAL;
            }
            if (type == 1) {
                s->chunks[c].cname = d + pos + 2;
                s->chunks[c].cname_len = d[pos + 1];
            }
            pos += 2 + (size_t)d[pos + 1];
        }
        if (pos > end) {
            pos = end; /* the final padding may be cut by a padded packet's body_len */
        }
        s->n = (uint8_t)(c + 1);
    }
    return 0;
}

int rtcp_bye_parse(const rtcp_pkt_t *p, rtcp_bye_t *b)
{
    if (p->pt != RTCP_BYE || p->body_len < 4u * p->fmt) {
        return PROTO_EINVAL;
    }
    const uint8_t *d = p->data + 4;
    b->n = p->fmt;
    for (unsigned i = 0; i < p->fmt; i++) {
        b->ssrcs[i] = rtp_rd32(d + 4 * i);
    }
    b->reason = NULL;
    b->reason_len = 0;
    size_t off = 4u * p->fmt;
    if (p->body_len > off) {
        uint8_t rl = d[off];
        if (rl > p->body_len - off - 1) {
            return PROTO_EINVAL;
        }
        b->reason = rl ? d + off + 1 : NULL;
        b->reason_len = rl;
    }
    return 0;
}

static int fb_parse(const rtcp_pkt_t *p, uint8_t pt, uint8_t fmt, size_t min, rtcp_fb_t *fb)
{
    if (p->pt != pt || p->fmt != fmt || p->body_len < 8 + min) {
        return PROTO_EINVAL;
    }
    fb->sender_ssrc = rtp_rd32(p->data + 4);
    fb->media_ssrc = rtp_rd32(p->data + 8);
    return 0;
}

int rtcp_pli_parse(const rtcp_pkt_t *p, rtcp_fb_t *fb)
{
    return fb_parse(p, RTCP_PSFB, RTCP_FMT_PLI, 0, fb);
}

int rtcp_fir_parse(const rtcp_pkt_t *p, rtcp_fir_t *fir)
{
    rtcp_fb_t fb;
    if (fb_parse(p, RTCP_PSFB, RTCP_FMT_FIR, 8, &fb) != 0) {
        return PROTO_EINVAL;
    }
    fir->sender_ssrc = fb.sender_ssrc;
    size_t n = (p->body_len - 8) / 8;
    fir->n = (uint8_t)(n < RTCP_MAX_FCI ? n : RTCP_MAX_FCI);
    for (unsigned i = 0; i < fir->n; i++) {
        const uint8_t *q = p->data + 12 + 8 * i;
        fir->entries[i].ssrc = rtp_rd32(q);
        fir->entries[i].seq = q[4];
    }
    return 0;
}

int rtcp_nack_parse(const rtcp_pkt_t *p, rtcp_nack_t *nk)
{
    rtcp_fb_t fb;
    if (fb_parse(p, RTCP_RTPFB, RTCP_FMT_NACK, 4, &fb) != 0) {
        return PROTO_EINVAL;
    }
    nk->sender_ssrc = fb.sender_ssrc;
    nk->media_ssrc = fb.media_ssrc;
    size_t n = (p->body_len - 8) / 4;
    nk->n = (uint8_t)(n < RTCP_MAX_FCI ? n : RTCP_MAX_FCI);
    for (unsigned i = 0; i < nk->n; i++) {
        const uint8_t *q = p->data + 12 + 4 * i;
        nk->items[i].pid = rtp_rd16(q);
        nk->items[i].blp = rtp_rd16(q + 2);
    }
    return 0;
}

size_t rtcp_nack_expand(const rtcp_nack_t *nk, uint16_t *seqs, size_t cap)
{
    size_t n = 0;
    for (unsigned i = 0; i < nk->n && n < cap; i++) {
        uint16_t pid = nk->items[i].pid, blp = nk->items[i].blp;
        seqs[n++] = pid;
        for (unsigned b = 0; b < 16 && n < cap; b++) {
            if (blp & (1u << b)) {
                seqs[n++] = (uint16_t)(pid + b + 1);
            }
        }
    }
    return n;
}

int rtcp_remb_parse(const rtcp_pkt_t *p, rtcp_remb_t *r)
{
    rtcp_fb_t fb;
    if (fb_parse(p, RTCP_PSFB, RTCP_FMT_AFB, 8, &fb) != 0) {
        return PROTO_EINVAL;
    }
    const uint8_t *q = p->data + 12;
    if (memcmp(q, "REMB", 4) != 0) {
        return PROTO_EUNSUPP;
    }
    /* Num SSRC (8) | BR Exp (6) | BR Mantissa (18) | SSRC feedback ... */
    size_t num = q[4];
    if (p->body_len - 16 < 4 * num) {
        return PROTO_EINVAL;
    }
    unsigned exp = q[5] >> 2;
    uint64_t mant = ((uint64_t)(q[5] & 0x03) << 16) | rtp_rd16(q + 6);
    r->sender_ssrc = fb.sender_ssrc;
    /* mant < 2^18, so mant << exp fits 64 bits up to exp 46 */
    r->bitrate = (exp > 46 && mant) ? UINT64_MAX : mant << exp;
    r->n_ssrcs = (uint8_t)(num < RTCP_MAX_REMB_SSRCS ? num : RTCP_MAX_REMB_SSRCS);
    for (unsigned i = 0; i < r->n_ssrcs; i++) {
        r->ssrcs[i] = rtp_rd32(q + 8 + 4 * i);
    }
    return 0;
}

/* ---- builders ---- */

static void put_hdr(uint8_t *o, uint8_t count, uint8_t pt, size_t len)
{
    o[0] = (uint8_t)(0x80 | (count & 0x1f));
    o[1] = pt;
    rtp_wr16(o + 2, (uint16_t)(len / 4 - 1));
}

ssize_t rtcp_sr_build(uint8_t *out, size_t cap, const rtcp_sr_t *sr)
{
    if (sr->n_reports > RTCP_MAX_REPORTS) {
        return PROTO_EINVAL;
    }
    size_t len = 28 + 24u * sr->n_reports;
    if (cap < len) {
        return PROTO_ETOOBIG;
    }
    put_hdr(out, sr->n_reports, RTCP_SR, len);
    rtp_wr32(out + 4, sr->ssrc);
    rtp_wr32(out + 8, sr->ntp_sec);
    rtp_wr32(out + 12, sr->ntp_frac);
    rtp_wr32(out + 16, sr->rtp_ts);
    rtp_wr32(out + 20, sr->pkt_count);
    rtp_wr32(out + 24, sr->octet_count);
    for (unsigned i = 0; i < sr->n_reports; i++) {
        report_write(out + 28 + 24 * i, &sr->reports[i]);
    }
    return (ssize_t)len;
}

ssize_t rtcp_rr_build(uint8_t *out, size_t cap, const rtcp_rr_t *rr)
{
    if (rr->n_reports > RTCP_MAX_REPORTS) {
        return PROTO_EINVAL;
    }
    size_t len = 8 + 24u * rr->n_reports;
    if (cap < len) {
        return PROTO_ETOOBIG;
    }
    put_hdr(out, rr->n_reports, RTCP_RR, len);
    rtp_wr32(out + 4, rr->ssrc);
    for (unsigned i = 0; i < rr->n_reports; i++) {
        report_write(out + 8 + 24 * i, &rr->reports[i]);
    }
    return (ssize_t)len;
}

ssize_t rtcp_sdes_build(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                        size_t cname_len)
{
    if (cname_len == 0 || cname_len > 255) {
        return PROTO_EINVAL;
    }
    /* header, SSRC, CNAME item, at least one null octet, padded to 32 bits */
    size_t len = (4 + 4 + 2 + cname_len + 1 + 3) & ~(size_t)3;
    if (cap < len) {
        return PROTO_ETOOBIG;
    }
    memset(out, 0, len);
    put_hdr(out, 1, RTCP_SDES, len);
    rtp_wr32(out + 4, ssrc);
    out[8] = 1;
    out[9] = (uint8_t)cname_len;
    memcpy(out + 10, cname, cname_len);
    return (ssize_t)len;
}

ssize_t rtcp_bye_build(uint8_t *out, size_t cap, const uint32_t *ssrcs, size_t n,
                       const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (n == 0 || n > RTCP_MAX_REPORTS || rl > 255) {
        return PROTO_EINVAL;
    }
    size_t len = 4 + 4 * n + (rl ? (1 + rl + 3) & ~(size_t)3 : 0);
    if (cap < len) {
        return PROTO_ETOOBIG;
    }
    memset(out, 0, len);
    put_hdr(out, (uint8_t)n, RTCP_BYE, len);
    for (size_t i = 0; i < n; i++) {
        rtp_wr32(out + 4 + 4 * i, ssrcs[i]);
    }
    if (rl) {
        out[4 + 4 * n] = (uint8_t)rl;
        memcpy(out + 5 + 4 * n, reason, rl);
    }
    return (ssize_t)len;
}

static ssize_t fb_build(uint8_t *out, size_t cap, uint8_t pt, uint8_t fmt, size_t len,
                        uint32_t sender, uint32_t media)
{
    if (cap < len) {
        return PROTO_ETOOBIG;
    }
    memset(out, 0, len);
    put_hdr(out, fmt, pt, len);
    rtp_wr32(out + 4, sender);
    rtp_wr32(out + 8, media);
    return (ssize_t)len;
}

ssize_t rtcp_pli_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    return fb_build(out, cap, RTCP_PSFB, RTCP_FMT_PLI, 12, sender_ssrc, media_ssrc);
}

ssize_t rtcp_fir_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       uint8_t seq)
{
    ssize_t r = fb_build(out, cap, RTCP_PSFB, RTCP_FMT_FIR, 20, sender_ssrc, 0);
    if (r > 0) {
        rtp_wr32(out + 12, media_ssrc);
        out[16] = seq;
    }
    return r;
}

ssize_t rtcp_nack_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                        const uint16_t *seqs, size_t n)
{
    if (n == 0) {
        return PROTO_EINVAL;
    }
    uint16_t pid[RTCP_MAX_FCI], blp[RTCP_MAX_FCI];
    size_t items = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t d = items ? (uint16_t)(seqs[i] - pid[items - 1]) : 0;
        if (items && d == 0) {
            continue;
        }
        if (items && d <= 16) {
            blp[items - 1] |= (uint16_t)(1u << (d - 1));
        } else if (items < RTCP_MAX_FCI) {
            pid[items] = seqs[i];
            blp[items++] = 0;
        }
    }
    size_t len = 12 + 4 * items;
    ssize_t r = fb_build(out, cap, RTCP_RTPFB, RTCP_FMT_NACK, len, sender_ssrc, media_ssrc);
    for (size_t i = 0; r > 0 && i < items; i++) {
        rtp_wr16(out + 12 + 4 * i, pid[i]);
        rtp_wr16(out + 14 + 4 * i, blp[i]);
    }
    return r;
}

ssize_t rtcp_remb_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                        const uint32_t *ssrcs, size_t n)
{
    if (n == 0 || n > RTCP_MAX_REMB_SSRCS) {
        return PROTO_EINVAL;
    }
    unsigned exp = 0;
    while ((bitrate >> exp) > 0x3ffff) {
        exp++;
    }
    uint32_t mant = (uint32_t)(bitrate >> exp);
    size_t len = 20 + 4 * n;
    ssize_t r = fb_build(out, cap, RTCP_PSFB, RTCP_FMT_AFB, len, sender_ssrc, 0);
    if (r < 0) {
        return r;
    }
    memcpy(out + 12, "REMB", 4);
    out[16] = (uint8_t)n;
    out[17] = (uint8_t)((exp << 2) | (mant >> 16));
    rtp_wr16(out + 18, (uint16_t)mant);
    for (size_t i = 0; i < n; i++) {
        rtp_wr32(out + 20 + 4 * i, ssrcs[i]);
    }
    return r;
}
