/* tests/unit/test_rtp.c: proto/rtp: header parsing with CSRCs, RFC 8285 extensions and padding,
 * malformed and truncated packets, in-place rewrites, sequence arithmetic, keyframe detection
 * and the first-byte demux. */
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/rtp.h"
#include "t.h"

/* V=2 P=1 X=1 CC=2, M=1 PT=96, seq 0xfffe, ts 0x01020304, ssrc 0xdeadbeef, CSRCs 1 and 2,
 * one-byte extension block (3 words): padding byte, id 4 (mid "1"), id 2 (abs-send-time, 3
 * bytes), then padding; payload "VP8!", 4 bytes of padding. */
static const uint8_t pkt1[] = {
    0xb2, 0xe0, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef, /* fixed */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,                         /* CSRCs */
    0xbe, 0xde, 0x00, 0x03,                                                 /* ext hdr */
    0x00, 0x40, '1',  0x22, 0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x00, /* elements */
    'V',  'P',  '8',  '!',                                                  /* payload */
    0x00, 0x00, 0x00, 0x04,                                                 /* padding */
};

TEST(parse_full_header)
{
    rtp_hdr_t h;
    const char *why = NULL;
    ASSERT_EQ(rtp_hdr_parse(&h, pkt1, sizeof pkt1, &why), 0);
    ASSERT_EQ(h.version, 2);
    ASSERT(h.padding && h.extension && h.marker);
    ASSERT_EQ(h.cc, 2);
    ASSERT_EQ(h.pt, 96);
    ASSERT_EQ(h.seq, 0xfffe);
    ASSERT_UEQ(h.ts, 0x01020304u);
    ASSERT_UEQ(h.ssrc, 0xdeadbeefu);
    ASSERT_UEQ(h.csrc[0], 1);
    ASSERT_UEQ(h.csrc[1], 2);
    ASSERT_EQ(h.ext_profile, 0xBEDE);
    ASSERT_EQ(h.ext_off, 24);
    ASSERT_EQ(h.ext_len, 12);
    ASSERT_EQ(h.payload_off, 36);
    ASSERT_EQ(h.payload_len, 4);
    ASSERT_EQ(h.pad_len, 4);
    ASSERT_MEM_EQ(pkt1 + h.payload_off, h.payload_len, "VP8!", 4);

    size_t off = 0, len = 0;
    ASSERT_EQ(rtp_ext_find(pkt1, &h, 4, &off, &len), 1);
    ASSERT_EQ(len, 1);
    ASSERT_EQ(pkt1[off], '1');
    ASSERT_EQ(rtp_ext_find(pkt1, &h, 2, &off, &len), 1);
    ASSERT_EQ(len, 3);
    ASSERT_EQ(pkt1[off], 0xaa);
    ASSERT_EQ(rtp_ext_find(pkt1, &h, 3, &off, &len), 0);
    ASSERT_EQ(rtp_ext_find(pkt1, &h, 0, &off, &len), 0);
    ASSERT_EQ(rtp_ext_find(pkt1, &h, 15, &off, &len), 0);
}

TEST(minimal_header_no_extension)
{
    const uint8_t p[] = { 0x80, 0x6f, 0x00, 0x01, 0, 0, 0, 9, 0, 0, 0, 7 };
    rtp_hdr_t h;
    ASSERT_EQ(rtp_hdr_parse(&h, p, sizeof p, NULL), 0);
    ASSERT_EQ(h.pt, 111);
    ASSERT(!h.marker && !h.extension && !h.padding);
    ASSERT_EQ(h.payload_off, 12);
    ASSERT_EQ(h.payload_len, 0);
    size_t off, len;
    ASSERT_EQ(rtp_ext_find(p, &h, 1, &off, &len), 0);
}

TEST(extension_elements)
{
    uint8_t p[64];
    static const struct {
        uint16_t profile;
        uint8_t words;
        uint8_t data[12];
        uint8_t id;
        int want;
        size_t off, len; /* relative to the element block */
    } cases[] = {
        /* one-byte: id 1 len 2 */
        { 0xBEDE, 1, { 0x11, 0xaa, 0xbb, 0x00 }, 1, 1, 1, 2 },
        /* one-byte: id 15 stops the walk before id 1 */
        { 0xBEDE, 1, { 0xf0, 0x10, 0xaa, 0x00 }, 1, 0, 0, 0 },
        /* one-byte: element runs past the block */
        { 0xBEDE, 1, { 0x00, 0x00, 0x13, 0xaa }, 1, PROTO_EINVAL, 0, 0 },
        /* one-byte: a 16-byte element (L=15) in a 4-byte block */
        { 0xBEDE, 1, { 0x2f, 0, 0, 0 }, 2, PROTO_EINVAL, 0, 0 },
        /* two-byte: padding, id 20 len 3 */
        { 0x1000, 2, { 0x00, 0x14, 0x03, 1, 2, 3, 0, 0 }, 20, 1, 3, 3 },
        /* two-byte: zero-length element then id 5 */
        { 0x1001, 1, { 0x07, 0x00, 0x05, 0x01 }, 5, PROTO_EINVAL, 0, 0 },
        { 0x1001, 2, { 0x07, 0x00, 0x05, 0x01, 0x99, 0, 0, 0 }, 5, 1, 4, 1 },
        /* two-byte: length past the block */
        { 0x1000, 1, { 0x09, 0x09, 0x00, 0x00 }, 9, PROTO_EINVAL, 0, 0 },
        /* two-byte: a lone id at the end */
        { 0x1000, 1, { 0x00, 0x00, 0x00, 0x09 }, 9, PROTO_EINVAL, 0, 0 },
        /* some other profile: opaque */
        { 0xABCD, 1, { 0x11, 0xaa, 0xbb, 0x00 }, 1, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t fixed[] = { 0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2 };
        memcpy(p, fixed, 12);
        rtp_wr16(p + 12, cases[i].profile);
        rtp_wr16(p + 14, cases[i].words);
        memcpy(p + 16, cases[i].data, 4u * cases[i].words);
        size_t n = 16 + 4u * cases[i].words;
        rtp_hdr_t h;
        ASSERT_EQ(rtp_hdr_parse(&h, p, n, NULL), 0);
        size_t off = 0, len = 0;
        int r = rtp_ext_find(p, &h, cases[i].id, &off, &len);
        if (r != cases[i].want) {
            fprintf(stderr, "  case %zu\n", i);
        }
        ASSERT_EQ(r, cases[i].want);
        if (r == 1) {
            ASSERT_EQ(off, 16 + cases[i].off);
            ASSERT_EQ(len, cases[i].len);
        }
    }
}

TEST(malformed_headers)
{
    static const struct {
        uint8_t b[20];
        size_t n;
        const char *why;
    } cases[] = {
        { { 0x80, 0x60 }, 2, "RTP packet shorter than 12 bytes" },
        { { 0x40, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2 }, 12, "RTP version is not 2" },
        { { 0xc0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2 }, 12, "RTP version is not 2" },
        { { 0x82, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1 },
          16,
          "RTP CSRC list past the packet" },
        { { 0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde },
          14,
          "RTP extension header past the packet" },
        { { 0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 1, 0x10 },
          17,
          "RTP extension past the packet" },
        { { 0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 0 },
          16,
          "RTP padding count is 0 or larger than the payload" },
        { { 0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 5 },
          16,
          "RTP padding count is 0 or larger than the payload" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = malloc(cases[i].n); /* exact size: ASan catches a read past n */
        memcpy(copy, cases[i].b, cases[i].n);
        rtp_hdr_t h;
        const char *why = NULL;
        int r = rtp_hdr_parse(&h, copy, cases[i].n, &why);
        free(copy);
        ASSERT_EQ(r, PROTO_EINVAL);
        ASSERT_STR_EQ(why, cases[i].why);
    }
    /* padding that eats the whole payload is fine */
    const uint8_t ok[] = { 0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4 };
    rtp_hdr_t h;
    ASSERT_EQ(rtp_hdr_parse(&h, ok, sizeof ok, NULL), 0);
    ASSERT_EQ(h.payload_len, 0);
}

TEST(every_truncation_is_safe)
{
    for (size_t n = 0; n <= sizeof pkt1; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, pkt1, n);
        rtp_hdr_t h;
        if (rtp_hdr_parse(&h, copy, n, NULL) == 0) {
            size_t off, len;
            for (int id = 0; id < 16; id++) {
                rtp_ext_find(copy, &h, (uint8_t)id, &off, &len);
            }
            ASSERT(h.payload_off + h.payload_len + h.pad_len == n);
        }
        free(copy);
    }
}

TEST(rewrite_in_place)
{
    uint8_t p[sizeof pkt1];
    memcpy(p, pkt1, sizeof p);
    rtp_set_ssrc(p, 0x01020304);
    rtp_set_pt(p, 100);
    rtp_set_seq(p, 7);
    rtp_set_ts(p, 0xfffffff0);
    rtp_hdr_t h;
    ASSERT_EQ(rtp_hdr_parse(&h, p, sizeof p, NULL), 0);
    ASSERT_UEQ(h.ssrc, 0x01020304);
    ASSERT_EQ(h.pt, 100);
    ASSERT(h.marker); /* kept */
    ASSERT_EQ(h.seq, 7);
    ASSERT_UEQ(h.ts, 0xfffffff0u);
    rtp_set_marker(p, false);
    ASSERT_EQ(rtp_hdr_parse(&h, p, sizeof p, NULL), 0);
    ASSERT(!h.marker);
    ASSERT_EQ(h.pt, 100);
    ASSERT_MEM_EQ(p + 12, sizeof p - 12, pkt1 + 12, sizeof pkt1 - 12);
}

TEST(sequence_arithmetic)
{
    ASSERT_EQ(rtp_seq_diff(65535, 0), 1);
    ASSERT_EQ(rtp_seq_diff(0, 65535), -1);
    ASSERT_EQ(rtp_seq_diff(100, 90), -10);
    ASSERT(rtp_seq_lt(65530, 3));
    ASSERT(!rtp_seq_lt(3, 65530));
    ASSERT(!rtp_seq_lt(5, 5));
    ASSERT(rtp_ts_lt(0xfffffff0u, 0x10));
    ASSERT(!rtp_ts_lt(0x10, 0xfffffff0u));
    ASSERT_UEQ(rtp_seq_extend(0, 40000), 40000);
    ASSERT_UEQ(rtp_seq_extend(0, 65535), 65535);
    ASSERT_UEQ(rtp_seq_extend(65535, 0), 65536);
    ASSERT_UEQ(rtp_seq_extend(65536, 65535), 65535);
    ASSERT_UEQ(rtp_seq_extend(131070, 2), 131074);
    ASSERT_UEQ(rtp_seq_extend(70000, (uint16_t)(70000 - 5)), 69995);
    uint64_t ext = 0;
    for (uint32_t i = 0; i < 200000; i += 1000) {
        ext = rtp_seq_extend(ext, (uint16_t)i);
        ASSERT_UEQ(ext, i);
    }
}

TEST(vp8_keyframes)
{
    static const struct {
        uint8_t b[8];
        size_t n;
        bool key;
    } cases[] = {
        { { 0x10, 0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a }, 7, true }, /* S=1 PID=0, P=0 */
        { { 0x10, 0x51 }, 2, false },                              /* inter frame */
        { { 0x00, 0x50 }, 2, false },                              /* not a start */
        { { 0x11, 0x50 }, 2, false },                              /* partition 1 */
        { { 0x90, 0x80, 0x05, 0x50 }, 4, true },                   /* X, I, 7-bit id */
        { { 0x90, 0x80, 0x81, 0x23, 0x50 }, 5, true },             /* 15-bit id */
        { { 0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, 0x50 }, 7, true }, /* I L T K */
        { { 0x90, 0xf0, 0x81, 0x23, 0x07, 0x40 }, 6, false },      /* no payload */
        { { 0x90, 0x80, 0x81 }, 3, false },                        /* truncated id */
        { { 0x90 }, 1, false },
        { { 0 }, 0, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = malloc(cases[i].n ? cases[i].n : 1);
        memcpy(copy, cases[i].b, cases[i].n);
        bool key = rtp_vp8_is_keyframe(copy, cases[i].n);
        free(copy);
        if (key != cases[i].key) {
            fprintf(stderr, "  case %zu\n", i);
        }
        ASSERT_EQ(key, cases[i].key);
    }
    rtp_vp8_t d;
    const uint8_t ext[] = { 0xb0, 0xf0, 0x81, 0x23, 0x07, 0x9f, 0x50 };
    ASSERT_EQ(rtp_vp8_parse(&d, ext, sizeof ext), 0);
    ASSERT(d.start && d.non_ref);
    ASSERT_EQ(d.picture_id, 0x0123);
    ASSERT(d.picture_id_16);
    ASSERT_EQ(d.tl0picidx, 7);
    ASSERT_EQ(d.tid, 2);
    ASSERT_EQ(d.keyidx, 0x1f);
    ASSERT_EQ(d.hdr_len, 6);
    ASSERT_EQ(rtp_vp8_parse(&d, ext, 0), PROTO_EINVAL);
}

TEST(h264_keyframes)
{
    static const struct {
        uint8_t b[16];
        size_t n;
        bool key;
    } cases[] = {
        { { 0x65, 0x88 }, 2, true },                                /* IDR */
        { { 0x67, 0x42 }, 2, true },                                /* SPS */
        { { 0x68, 0xce }, 2, false },                               /* PPS */
        { { 0x41, 0x9a }, 2, false },                               /* P slice */
        { { 0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce }, 9, true },  /* STAP-A SPS PPS */
        { { 0x78, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88 }, 9, true },  /* STAP-A PPS IDR */
        { { 0x78, 0, 2, 0x68, 0xce, 0, 2, 0x41, 0x9a }, 9, false }, /* no key NAL */
        { { 0x78, 0, 9, 0x67, 0x42 }, 5, false },                   /* size past end */
        { { 0x78, 0, 0, 0x67 }, 4, false },                         /* size 0 */
        { { 0x78, 0 }, 2, false },                                  /* truncated size */
        { { 0x7c, 0x85, 0x88 }, 3, true },                          /* FU-A start IDR */
        { { 0x7c, 0x05, 0x88 }, 3, false },                         /* FU-A middle */
        { { 0x7c, 0x45, 0x88 }, 3, false },                         /* FU-A end */
        { { 0x5c, 0x81, 0x9a }, 3, false },                         /* FU-A start P */
        { { 0x7c }, 1, false },                                     /* FU-A truncated */
        { { 0x79, 0x00 }, 2, false },                               /* STAP-B: ignored */
        { { 0 }, 0, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = malloc(cases[i].n ? cases[i].n : 1);
        memcpy(copy, cases[i].b, cases[i].n);
        bool key = rtp_h264_is_keyframe(copy, cases[i].n);
        free(copy);
        if (key != cases[i].key) {
            fprintf(stderr, "  case %zu\n", i);
        }
        ASSERT_EQ(key, cases[i].key);
    }
}

TEST(demux)
{
    static const struct {
        uint8_t b[2];
        size_t n;
        rtp_class_t c;
    } cases[] = {
        { { 0x00, 0x01 }, 2, RTP_CLASS_STUN },    /* binding request */
        { { 0x01, 0x01 }, 2, RTP_CLASS_STUN },    /* binding response */
        { { 0x16, 0xfe }, 2, RTP_CLASS_DTLS },    /* handshake */
        { { 0x17, 0xfe }, 2, RTP_CLASS_DTLS },    /* application data */
        { { 0x80, 0x60 }, 2, RTP_CLASS_RTP },     /* PT 96 */
        { { 0x80, 0xe0 }, 2, RTP_CLASS_RTP },     /* PT 96 + marker */
        { { 0x80, 0xc8 }, 2, RTP_CLASS_RTCP },    /* SR */
        { { 0x81, 0xcd }, 2, RTP_CLASS_RTCP },    /* NACK */
        { { 0x8f, 0xce }, 2, RTP_CLASS_RTCP },    /* REMB */
        { { 0x80, 0xdf }, 2, RTP_CLASS_RTCP },    /* 223 */
        { { 0x40, 0x00 }, 2, RTP_CLASS_UNKNOWN }, /* TURN channel */
        { { 0x80 }, 1, RTP_CLASS_UNKNOWN },       { { 0 }, 0, RTP_CLASS_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ASSERT_EQ(rtp_classify(cases[i].b, cases[i].n), cases[i].c);
    }
    const uint8_t rtcp[] = { 0x80, 0xc9 }, rtp[] = { 0x80, 0x6f }, v1[] = { 0x40, 0xc9 };
    ASSERT(rtp_is_rtcp(rtcp, 2));
    ASSERT(!rtp_is_rtcp(rtcp, 1));
    ASSERT(!rtp_is_rtcp(rtp, 2));
    ASSERT(!rtp_is_rtcp(v1, 2));
}
