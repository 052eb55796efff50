/* proto/rtp.c: RTP header parsing (RFC 3550 5.1, RFC 8285 extensions), in-place rewrites,
 * VP8 (RFC 7741) and H.264 (RFC 6184) keyframe detection, RFC 7983 demux. Every read is
 * bounds-checked against len; integers go through the big-endian helpers of rtp.h. */
#include "rtp.h"

#include "err.h"

static int fail(const char **why, const char *msg)
{
    if (why) {
        *why = msg;
    }
    return PROTO_EINVAL;
}

int rtp_hdr_parse(rtp_hdr_t *h, const uint8_t *pkt, size_t len, const char **why)
{
    if (len < RTP_HDR_MIN) {
        return fail(why, "RTP packet shorter than 12 bytes");
    }
    h->version = pkt[0] >> 6;
    if (h->version != 2) {
        return fail(why, "RTP version is not 2");
    }
    h->padding = pkt[0] & 0x20;
    h->extension = pkt[0] & 0x10;
    h->cc = pkt[0] & 0x0f;
    h->marker = pkt[1] & 0x80;
    h->pt = pkt[1] & 0x7f;
    h->seq = rtp_rd16(pkt + 2);
    h->ts = rtp_rd32(pkt + 4);
    h->ssrc = rtp_rd32(pkt + 8);
    size_t off = RTP_HDR_MIN + 4u * h->cc;
    if (off > len) {
        return fail(why, "RTP CSRC list past the packet");
    }
    for (unsigned i = 0; i < h->cc; i++) {
        h->csrc[i] = rtp_rd32(pkt + RTP_HDR_MIN + 4 * i);
    }
    h->ext_profile = 0;
    h->ext_off = h->ext_len = 0;
    if (h->extension) {
        /* RFC 3550 5.3.1: 16-bit profile, 16-bit length in 32-bit words, then the data */
        if (len - off < 4) {
            return fail(why, "RTP extension header past the packet");
        }
        h->ext_profile = rtp_rd16(pkt + off);
        size_t elen = 4u * rtp_rd16(pkt + off + 2);
        off += 4;
        if (elen > len - off) {
            return fail(why, "RTP extension past the packet");
        }
        h->ext_off = off;
        h->ext_len = elen;
        off += elen;
    }
    h->payload_off = off;
    h->payload_len = len - off;
    h->pad_len = 0;
    if (h->padding) {
        /* RFC 3550 5.1: the last octet counts the padding, itself included */
        uint8_t pad = pkt[len - 1];
        if (pad == 0 || pad > h->payload_len) {
            return fail(why, "RTP padding count is 0 or larger than the payload");
        }
        h->pad_len = pad;
        h->payload_len -= pad;
    }
    return 0;
}

int rtp_ext_find(const uint8_t *pkt, const rtp_hdr_t *h, uint8_t id, size_t *off, size_t *elen)
{
    if (!h->extension || id == 0) {
        return 0;
    }
    const uint8_t *p = pkt + h->ext_off;
    size_t n = h->ext_len, i = 0;
    if (h->ext_profile == 0xBEDE) {
        /* RFC 8285 4.2: one byte ID(4) L(4), L+1 data bytes; 0 is padding, ID 15 stops */
        if (id > 14) {
            return 0;
        }
        while (i < n) {
            uint8_t b = p[i];
            if (b == 0) {
                i++;
                continue;
            }
            uint8_t eid = b >> 4;
            size_t l = (size_t)(b & 0x0f) + 1;
            if (eid == 15) {
                return 0;
            }
            if (l > n - i - 1) {
                return PROTO_EINVAL;
            }
            if (eid == id) {
                *off = h->ext_off + i + 1;
                *elen = l;
                return 1;
            }
            i += 1 + l;
        }
        return 0;
    }
    if ((h->ext_profile & 0xFFF0) == 0x1000) {
        /* RFC 8285 4.3: ID byte, length byte, data; ID 0 is padding */
        while (i < n) {
            uint8_t eid = p[i];
            if (eid == 0) {
                i++;
                continue;
            }
            if (n - i < 2 || p[i + 1] > n - i - 2) {
                return PROTO_EINVAL;
            }
            size_t l = p[i + 1];
            if (eid == id) {
                *off = h->ext_off + i + 2;
                *elen = l;
                return 1;
            }
            i += 2 + l;
        }
    }
    return 0;
}

void rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc)
{
    rtp_wr32(pkt + 8, ssrc);
}

void rtp_set_pt(uint8_t *pkt, uint8_t pt)
{
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7f));
}

void rtp_set_seq(uint8_t *pkt, uint16_t seq)
{
    rtp_wr16(pkt + 2, seq);
}

void rtp_set_ts(uint8_t *pkt, uint32_t ts)
{
    rtp_wr32(pkt + 4, ts);
}

void rtp_set_marker(uint8_t *pkt, bool marker)
{
    pkt[1] = (uint8_t)((pkt[1] & 0x7f) | (marker ? 0x80 : 0));
}

uint64_t rtp_seq_extend(uint64_t last, uint16_t seq)
{
    int64_t d = rtp_seq_diff((uint16_t)last, seq);
    if (d < 0 && (uint64_t)-d > last) {
        return last + (uint64_t)(d + 65536); /* before the first cycle: wrap forward */
    }
    return d < 0 ? last - (uint64_t)-d : last + (uint64_t)d;
}

int rtp_vp8_parse(rtp_vp8_t *d, const uint8_t *p, size_t len)
{
    /* RFC 7741 4.2: X R N S R PID | I L T K RSV | M PictureID (7/15) | TL0PICIDX | TID Y KEYIDX */
    if (len < 1) {
        return PROTO_EINVAL;
    }
    d->start = p[0] & 0x10;
    d->pid = p[0] & 0x07;
    d->non_ref = p[0] & 0x20;
    d->picture_id = -1;
    d->picture_id_16 = false;
    d->tl0picidx = -1;
    d->tid = d->keyidx = -1;
    size_t i = 1;
    if (p[0] & 0x80) {
        if (len < 2) {
            return PROTO_EINVAL;
        }
        uint8_t x = p[1];
        i = 2;
        if (x & 0x80) {
            if (i >= len) {
                return PROTO_EINVAL;
            }
            if (p[i] & 0x80) {
                if (i + 1 >= len) {
                    return PROTO_EINVAL;
                }
                d->picture_id = (int32_t)(rtp_rd16(p + i) & 0x7fff);
                d->picture_id_16 = true;
                i += 2;
            } else {
                d->picture_id = p[i] & 0x7f;
                i += 1;
            }
        }
        if (x & 0x40) {
            if (i >= len) {
                return PROTO_EINVAL;
            }
            d->tl0picidx = p[i++];
        }
        if (x & 0x30) {
            if (i >= len) {
                return PROTO_EINVAL;
            }
            if (x & 0x20) {
                d->tid = (int8_t)(p[i] >> 6);
            }
            if (x & 0x10) {
                d->keyidx = (int8_t)(p[i] & 0x1f);
            }
            i++;
        }
    }
    d->hdr_len = i;
    return 0;
}

bool rtp_vp8_is_keyframe(const uint8_t *payload, size_t len)
{
    rtp_vp8_t d;
    if (rtp_vp8_parse(&d, payload, len) != 0 || !d.start || d.pid != 0 || d.hdr_len >= len) {
        return false;
    }
    /* RFC 6386 9.1: frame tag bit 0 is the inverse key frame flag */
    return (payload[d.hdr_len] & 0x01) == 0;
}

static bool h264_key_nal(uint8_t type)
{
    return type == 5 || type == 7; /* IDR slice, SPS */
}

bool rtp_h264_is_keyframe(const uint8_t *p, size_t len)
{
    if (len < 1) {
        return false;
    }
    uint8_t type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) {
        return h264_key_nal(type);
    }
    if (type == 24) {
        /* RFC 6184 5.7.1 STAP-A: (16-bit size, NAL unit)... after the STAP-A header */
        size_t i = 1;
        while (len - i >= 2) {
            size_t sz = rtp_rd16(p + i);
            i += 2;
            if (sz == 0 || sz > len - i) {
                return false;
            }
            if (h264_key_nal(p[i] & 0x1f)) {
                return true;
            }
            i += sz;
        }
        return false;
    }
    if (type == 28) {
        /* RFC 6184 5.8 FU-A: FU indicator, FU header S E R Type */
        return len >= 2 && (p[1] & 0x80) && h264_key_nal(p[1] & 0x1f);
    }
    return false;
}

rtp_class_t rtp_classify(const uint8_t *pkt, size_t len)
{
    if (len < 1) {
        return RTP_CLASS_UNKNOWN;
    }
    uint8_t b = pkt[0];
    if (b <= 3) {
        return RTP_CLASS_STUN;
    }
    if (b >= 20 && b <= 63) {
        return RTP_CLASS_DTLS;
    }
    if (b >= 128 && b <= 191) {
        if (len < 2) {
            return RTP_CLASS_UNKNOWN;
        }
        return rtp_is_rtcp(pkt, len) ? RTP_CLASS_RTCP : RTP_CLASS_RTP;
    }
    return RTP_CLASS_UNKNOWN;
}

bool rtp_is_rtcp(const uint8_t *pkt, size_t len)
{
    return len >= 2 && (pkt[0] >> 6) == 2 && pkt[1] >= 192 && pkt[1] <= 223;
}
