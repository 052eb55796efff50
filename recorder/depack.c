/* recorder/depack.c: see depack.h. */
#include "depack.h"
#include "../proto/rtp.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t start_code[4] = { 0, 0, 0, 1 };

rec_codec_t depack_codec(const char *name)
{
    if (!name) {
        return REC_CODEC_NONE;
    }
    if (!strcasecmp(name, "opus")) {
        return REC_CODEC_OPUS;
    }
    if (!strcasecmp(name, "VP8")) {
        return REC_CODEC_VP8;
    }
    if (!strcasecmp(name, "H264")) {
        return REC_CODEC_H264;
    }
    return REC_CODEC_NONE;
}

int depack_init(depack_t *d, rec_codec_t codec, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->codec = codec;
    d->data = malloc(cap);
    d->cap = d->data ? cap : 0;
    return d->data ? 0 : -1;
}

void depack_deinit(depack_t *d)
{
    free(d->data);
    memset(d, 0, sizeof *d);
}

void depack_reset(depack_t *d)
{
    d->len = 0;
    d->bad = false;
    d->key = false;
    d->width = d->height = 0;
    d->ps_changed = false;
}

static int append(depack_t *d, const uint8_t *p, size_t n)
{
    if (n > d->cap - d->len) {
        d->bad = true;
        return -1;
    }
    memcpy(d->data + d->len, p, n);
    d->len += n;
    return 0;
}

static int fail(depack_t *d)
{
    d->bad = true;
    return -1;
}

/* ---- VP8 (RFC 7741, RFC 6386 9.1) ----------------------------------------------------------- */

static int add_vp8(depack_t *d, const uint8_t *p, size_t len)
{
    rtp_vp8_t v;
    if (rtp_vp8_parse(&v, p, len) != 0) {
        return fail(d);
    }
    const uint8_t *f = p + v.hdr_len;
    size_t n = len - v.hdr_len;
    if (d->len == 0 && !(v.start && v.pid == 0)) {
        return fail(d); /* the frame must begin with the start of partition 0 */
    }
    if (d->len == 0 && n >= 10 && (f[0] & 1) == 0) {
        /* key frame: 3-byte tag, start code 9d 01 2a, 14-bit width and height (little endian) */
        if (f[3] == 0x9d && f[4] == 0x01 && f[5] == 0x2a) {
            d->key = true;
            d->width = (f[6] | f[7] << 8) & 0x3fff;
            d->height = (f[8] | f[9] << 8) & 0x3fff;
        }
    }
    return append(d, f, n);
}

/* ---- H.264 (RFC 6184 5.6-5.8) ---------------------------------------------------------------- */

static void keep_ps(depack_t *d, const uint8_t *nal, size_t n)
{
    uint8_t type = nal[0] & 0x1f;
    uint8_t *dst = type == 7 ? d->sps : d->pps;
    size_t *dlen = type == 7 ? &d->sps_len : &d->pps_len;
    if (n > DEPACK_PS_MAX) {
        return;
    }
    if (*dlen != n || memcmp(dst, nal, n) != 0) {
        memcpy(dst, nal, n);
        *dlen = n;
        d->ps_changed = true;
    }
}

/* One complete NAL unit, written with a start code. */
static int add_nal(depack_t *d, const uint8_t *nal, size_t n)
{
    if (n == 0) {
        return fail(d);
    }
    uint8_t type = nal[0] & 0x1f;
    if (type == 5) {
        d->key = true;
    } else if (type == 7 || type == 8) {
        keep_ps(d, nal, n);
    }
    if (append(d, start_code, sizeof start_code) != 0) {
        return -1;
    }
    return append(d, nal, n);
}

static int add_h264(depack_t *d, const uint8_t *p, size_t len)
{
    if (len < 1) {
        return fail(d);
    }
    uint8_t type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) {
        return add_nal(d, p, len);
    }
    if (type == 24) { /* STAP-A: [size16][NAL]... */
        size_t off = 1;
        while (off + 2 <= len) {
            size_t n = rtp_rd16(p + off);
            off += 2;
            if (n == 0 || n > len - off || add_nal(d, p + off, n) != 0) {
                return fail(d);
            }
            off += n;
        }
        return off == len ? 0 : fail(d);
    }
    if (type == 28) { /* FU-A: indicator, header (S E R type), fragment */
        if (len < 3) {
            return fail(d);
        }
        bool start = p[1] & 0x80;
        uint8_t nal_type = p[1] & 0x1f;
        if (start) {
            uint8_t hdr = (uint8_t)((p[0] & 0xe0) | nal_type);
            if (nal_type == 5) {
                d->key = true;
            }
            if (append(d, start_code, sizeof start_code) != 0 || append(d, &hdr, 1) != 0) {
                return -1;
            }
        } else if (d->len == 0) {
            return fail(d); /* a continuation without its start */
        }
        /* SPS/PPS are never fragmented in practice (they are tiny): not collected here */
        return append(d, p + 2, len - 2);
    }
    return fail(d); /* STAP-B, MTAP16/24, FU-B: interleaved mode only */
}

int depack_add(depack_t *d, const uint8_t *payload, size_t len)
{
    if (d->bad) {
        return -1;
    }
    if (len == 0) {
        return 0; /* padding only (RFC 3550 5.1): it holds a sequence number, nothing else */
    }
    switch (d->codec) {
    case REC_CODEC_VP8:
        return add_vp8(d, payload, len);
    case REC_CODEC_H264:
        return add_h264(d, payload, len);
    case REC_CODEC_OPUS:
        return len > 0 ? append(d, payload, len) : fail(d);
    default:
        return fail(d);
    }
}

bool depack_is_key_start(rec_codec_t codec, const uint8_t *payload, size_t len)
{
    if (codec == REC_CODEC_VP8) {
        return rtp_vp8_is_keyframe(payload, len);
    }
    if (codec == REC_CODEC_H264) {
        if (len < 2) {
            return false;
        }
        uint8_t type = payload[0] & 0x1f;
        /* an FU-A fragment that is not the first cannot start anything */
        if (type == 28 && !(payload[1] & 0x80)) {
            return false;
        }
        return rtp_h264_is_keyframe(payload, len);
    }
    return codec == REC_CODEC_OPUS;
}

unsigned depack_opus_samples(const uint8_t *p, size_t len)
{
    if (len < 1) {
        return 0;
    }
    /* RFC 6716 3.1: config (5 bits) gives the frame size, c (2 bits) the frame count */
    unsigned config = p[0] >> 3, c = p[0] & 3, per;
    if (config < 12) { /* SILK: 10, 20, 40, 60 ms */
        static const unsigned silk[4] = { 480, 960, 1920, 2880 };
        per = silk[config & 3];
    } else if (config < 16) { /* hybrid: 10, 20 ms */
        per = (config & 1) ? 960 : 480;
    } else { /* CELT: 2.5, 5, 10, 20 ms */
        static const unsigned celt[4] = { 120, 240, 480, 960 };
        per = celt[config & 3];
    }
    unsigned frames = c == 0 ? 1 : c == 3 ? (len >= 2 ? (p[1] & 0x3f) : 0) : 2;
    unsigned total = per * frames;
    return total <= 5760 ? total : 0; /* at most 120 ms per packet */
}

size_t depack_h264_extradata(const depack_t *d, uint8_t *out, size_t cap)
{
    size_t n = 8 + d->sps_len + d->pps_len;
    if (!d->sps_len || !d->pps_len || n > cap) {
        return 0;
    }
    memcpy(out, start_code, 4);
    memcpy(out + 4, d->sps, d->sps_len);
    memcpy(out + 4 + d->sps_len, start_code, 4);
    memcpy(out + 8 + d->sps_len, d->pps, d->pps_len);
    return n;
}

/* ---- H.264 SPS (ITU-T H.264 7.3.2.1.1) ------------------------------------------------------ */

typedef struct bits {
    uint8_t buf[DEPACK_PS_MAX]; /* RBSP: emulation prevention bytes removed */
    size_t len, pos;            /* pos in bits */
    bool err;
} bits_t;

static unsigned get_bit(bits_t *b)
{
    if (b->pos >= b->len * 8) {
        b->err = true;
        return 0;
    }
    unsigned v = (b->buf[b->pos / 8] >> (7 - b->pos % 8)) & 1;
    b->pos++;
    return v;
}

static unsigned get_bits(bits_t *b, int n)
{
    unsigned v = 0;
    while (n-- > 0) {
        v = v << 1 | get_bit(b);
    }
    return v;
}

static unsigned get_ue(bits_t *b)
{
    int zeros = 0;
    while (!b->err && get_bit(b) == 0) {
        if (++zeros > 31) {
            b->err = true;
            return 0;
        }
    }
    return (unsigned)((1ull << zeros) - 1 + get_bits(b, zeros));
}

static int get_se(bits_t *b)
{
    unsigned k = get_ue(b);
    return k & 1 ? (int)((k + 1) / 2) : -(int)(k / 2);
}

static void skip_scaling_list(bits_t *b, int size)
{
    int last = 8, next = 8;
    for (int j = 0; j < size && !b->err; j++) {
        if (next != 0) {
            next = (last + get_se(b) + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

int depack_h264_size(const uint8_t *sps, size_t len, int *width, int *height)
{
    bits_t b = { .len = 0 };
    for (size_t i = 1, zeros = 0; i < len && b.len < sizeof b.buf; i++) {
        if (zeros >= 2 && sps[i] == 3) {
            zeros = 0; /* emulation prevention byte */
            continue;
        }
        zeros = sps[i] == 0 ? zeros + 1 : 0;
        b.buf[b.len++] = sps[i];
    }
    if (len < 4 || (sps[0] & 0x1f) != 7) {
        return -1;
    }
    unsigned profile = get_bits(&b, 8);
    get_bits(&b, 16); /* constraint flags, level */
    get_ue(&b);       /* seq_parameter_set_id */
    unsigned chroma = 1, separate = 0;
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
        profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
        profile == 139 || profile == 134 || profile == 135) {
        chroma = get_ue(&b);
        if (chroma == 3) {
            separate = get_bit(&b);
        }
        get_ue(&b);  /* bit_depth_luma_minus8 */
        get_ue(&b);  /* bit_depth_chroma_minus8 */
        get_bit(&b); /* qpprime_y_zero_transform_bypass_flag */
        if (get_bit(&b)) {
            for (int i = 0; i < (chroma != 3 ? 8 : 12) && !b.err; i++) {
                if (get_bit(&b)) {
                    skip_scaling_list(&b, i < 6 ? 16 : 64);
                }
            }
        }
    }
    get_ue(&b); /* log2_max_frame_num_minus4 */
    unsigned poc_type = get_ue(&b);
    if (poc_type == 0) {
        get_ue(&b);
    } else if (poc_type == 1) {
        get_bit(&b);
        get_se(&b);
        get_se(&b);
        unsigned n = get_ue(&b);
        for (unsigned i = 0; i < n && i < 256 && !b.err; i++) {
            get_se(&b);
        }
    }
    get_ue(&b);  /* max_num_ref_frames */
    get_bit(&b); /* gaps_in_frame_num_value_allowed_flag */
    unsigned w_mbs = get_ue(&b) + 1, h_units = get_ue(&b) + 1;
    unsigned frame_mbs_only = get_bit(&b);
    if (!frame_mbs_only) {
        get_bit(&b); /* mb_adaptive_frame_field_flag */
    }
    get_bit(&b); /* direct_8x8_inference_flag */
    unsigned cl = 0, cr = 0, ct = 0, cb = 0;
    if (get_bit(&b)) {
        cl = get_ue(&b);
        cr = get_ue(&b);
        ct = get_ue(&b);
        cb = get_ue(&b);
    }
    if (b.err || w_mbs > 1024 || h_units > 1024) {
        return -1;
    }
    /* Table 6-1: crop units in luma samples */
    unsigned fm = 2 - frame_mbs_only;
    unsigned cux = 1, cuy = fm;
    if (chroma != 0 && !separate) {
        cux = chroma == 3 ? 1 : 2;
        cuy = (chroma == 1 ? 2 : 1) * fm;
    }
    long w = (long)w_mbs * 16 - (long)cux * (cl + cr);
    long h = (long)fm * h_units * 16 - (long)cuy * (ct + cb);
    if (w <= 0 || h <= 0) {
        return -1;
    }
    *width = (int)w;
    *height = (int)h;
    return 0;
}
