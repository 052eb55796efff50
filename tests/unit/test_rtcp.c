/* tests/unit/test_rtcp.c: proto/rtcp: compound iteration, each parser on hand-checked bytes,
 * build -> parse round trips, NACK packing, REMB encoding, malformed and truncated input. */
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/rtcp.h"
#include "proto/rtp.h"
#include "t.h"

/* A compound as Chromium sends it: SR with one report block, then SDES CNAME (16 chars). */
static const uint8_t sr_sdes[] = {
    /* SR, RC=1, length 12 words */
    0x81,
    0xc8,
    0x00,
    0x0c,
    0x8d,
    0x99,
    0x11,
    0x5a, /* ssrc 0x8d99115a */
    0xe9,
    0x2c,
    0x5c,
    0x2b,
    0x3a,
    0x5e,
    0x35,
    0x3f, /* NTP */
    0x00,
    0x01,
    0xe2,
    0x40,
    0x00,
    0x00,
    0x00,
    0x64, /* rtp ts 123456, 100 packets */
    0x00,
    0x00,
    0x27,
    0x10, /* 10000 octets */
    0x11,
    0x22,
    0x33,
    0x44,
    0x19,
    0xff,
    0xff,
    0xfe, /* report: ssrc, lost 25/256, -2 */
    0x00,
    0x01,
    0x00,
    0x05,
    0x00,
    0x00,
    0x00,
    0x07, /* ext seq 65541, jitter 7 */
    0x5c,
    0x2b,
    0x3a,
    0x5e,
    0x00,
    0x00,
    0x10,
    0x00, /* lsr, dlsr */
    /* SDES, SC=1, length 6 words: ssrc, CNAME "M3C70jDuhGCRhPqt", null, pad */
    0x81,
    0xca,
    0x00,
    0x06,
    0x8d,
    0x99,
    0x11,
    0x5a,
    0x01,
    0x10,
    'M',
    '3',
    'C',
    '7',
    '0',
    'j',
    'D',
    'u',
    'h',
    'G',
    'C',
    'R',
    'h',
    'P',
    'q',
    't',
    0x00,
    0x00,
};

TEST(compound_sr_sdes)
{
    rtcp_iter_t it;
    rtcp_pkt_t p;
    const char *why = NULL;
    rtcp_iter_init(&it, sr_sdes, sizeof sr_sdes);
    ASSERT_EQ(rtcp_iter_next(&it, &p, &why), 1);
    ASSERT_EQ(p.pt, RTCP_SR);
    ASSERT_EQ(p.len, 52);
    rtcp_sr_t sr;
    ASSERT_EQ(rtcp_sr_parse(&p, &sr), 0);
    ASSERT_UEQ(sr.ssrc, 0x8d99115au);
    ASSERT_UEQ(sr.ntp_sec, 0xe92c5c2bu);
    ASSERT_UEQ(sr.rtp_ts, 123456);
    ASSERT_UEQ(sr.pkt_count, 100);
    ASSERT_UEQ(sr.octet_count, 10000);
    ASSERT_EQ(sr.n_reports, 1);
    ASSERT_UEQ(sr.reports[0].ssrc, 0x11223344u);
    ASSERT_EQ(sr.reports[0].fraction_lost, 25);
    ASSERT_EQ(sr.reports[0].cum_lost, -2);
    ASSERT_UEQ(sr.reports[0].ext_high_seq, 65541);
    ASSERT_UEQ(sr.reports[0].jitter, 7);
    ASSERT_UEQ(sr.reports[0].lsr, 0x5c2b3a5eu);
    ASSERT_UEQ(sr.reports[0].dlsr, 0x1000);
    rtcp_rr_t rr;
    ASSERT_EQ(rtcp_rr_parse(&p, &rr), PROTO_EINVAL); /* wrong type */

    ASSERT_EQ(rtcp_iter_next(&it, &p, &why), 1);
    ASSERT_EQ(p.pt, RTCP_SDES);
    rtcp_sdes_t sd;
    ASSERT_EQ(rtcp_sdes_parse(&p, &sd), 0);
    ASSERT_EQ(sd.n, 1);
    ASSERT_UEQ(sd.chunks[0].ssrc, 0x8d99115au);
    ASSERT_MEM_EQ(sd.chunks[0].cname, sd.chunks[0].cname_len, "M3C70jDuhGCRhPqt", 16);
    ASSERT_EQ(rtcp_iter_next(&it, &p, &why), 0);
    ASSERT_EQ(rtcp_iter_next(&it, &p, &why), 0);
}

TEST(reduced_size_feedback)
{
    /* RFC 5506: a lone PLI, then a lone REMB as Chromium sends (1.2 Mbps for one ssrc) */
    const uint8_t pli[] = { 0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd };
    rtcp_iter_t it;
    rtcp_pkt_t p;
    rtcp_iter_init(&it, pli, sizeof pli);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_fb_t fb;
    ASSERT_EQ(rtcp_pli_parse(&p, &fb), 0);
    ASSERT_UEQ(fb.sender_ssrc, 1);
    ASSERT_UEQ(fb.media_ssrc, 0xaabbccddu);
    rtcp_fir_t fir;
    ASSERT_EQ(rtcp_fir_parse(&p, &fir), PROTO_EINVAL);

    /* exp 3, mantissa 150000 -> 1200000 */
    const uint8_t remb[] = { 0x8f, 0xce, 0x00, 0x05, 0,    0,   0,   1,    0,
                             0,    0,    0,    'R',  'E',  'M', 'B', 0x01, (3 << 2) | 0x02,
                             0x49, 0xf0, 0x12, 0x34, 0x56, 0x78 };
    rtcp_iter_init(&it, remb, sizeof remb);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_remb_t r;
    ASSERT_EQ(rtcp_remb_parse(&p, &r), 0);
    ASSERT_UEQ(r.bitrate, 1200000);
    ASSERT_EQ(r.n_ssrcs, 1);
    ASSERT_UEQ(r.ssrcs[0], 0x12345678u);
    uint8_t other[sizeof remb];
    memcpy(other, remb, sizeof remb);
    memcpy(other + 12, "TMMB", 4);
    rtcp_iter_init(&it, other, sizeof other);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    ASSERT_EQ(rtcp_remb_parse(&p, &r), PROTO_EUNSUPP);
    other[16] = 2; /* two ssrcs announced, one present */
    memcpy(other + 12, "REMB", 4);
    ASSERT_EQ(rtcp_remb_parse(&p, &r), PROTO_EINVAL);
    other[16] = 0;
    other[17] = 0xfc | 0x03; /* exp 63: saturates */
    ASSERT_EQ(rtcp_remb_parse(&p, &r), 0);
    ASSERT_UEQ(r.bitrate, UINT64_MAX);
    ASSERT_EQ(r.n_ssrcs, 0);
}

TEST(iterator_errors)
{
    static const struct {
        uint8_t b[16];
        size_t n;
        const char *why;
    } cases[] = {
        { { 0x80, 0xc9, 0x00 }, 3, "RTCP header past the datagram" },
        { { 0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 1 }, 8, "RTCP version is not 2" },
        { { 0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1 }, 8, "RTCP length past the datagram" },
        { { 0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0 }, 8, "RTCP padding larger than the packet" },
        { { 0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 5 }, 8, "RTCP padding larger than the packet" },
        /* a valid RR followed by 2 stray bytes */
        { { 0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1, 0x80, 0xc9 }, 10, "RTCP header past the datagram" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = malloc(cases[i].n);
        memcpy(copy, cases[i].b, cases[i].n);
        rtcp_iter_t it;
        rtcp_pkt_t p;
        const char *why = NULL;
        rtcp_iter_init(&it, copy, cases[i].n);
        int r;
        int good = 0;
        while ((r = rtcp_iter_next(&it, &p, &why)) == 1) {
            good++;
        }
        ASSERT_EQ(r, PROTO_EINVAL);
        ASSERT_STR_EQ(why, cases[i].why);
        why = NULL;
        ASSERT_EQ(rtcp_iter_next(&it, &p, &why), PROTO_EINVAL); /* sticky */
        ASSERT_STR_EQ(why, cases[i].why);
        ASSERT_EQ(good, i == 5 ? 1 : 0);
        free(copy);
    }
    /* padding inside the packet is removed from body_len */
    const uint8_t pad[] = { 0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4 };
    rtcp_iter_t it;
    rtcp_pkt_t p;
    rtcp_iter_init(&it, pad, sizeof pad);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    ASSERT_EQ(p.body_len, 4);
    rtcp_rr_t rr;
    ASSERT_EQ(rtcp_rr_parse(&p, &rr), 0);
    ASSERT_EQ(rr.n_reports, 0);
}

/* Wraps one packet in an iterator and returns it (for the parsers). */
static int one(const uint8_t *b, size_t n, rtcp_pkt_t *p)
{
    rtcp_iter_t it;
    rtcp_iter_init(&it, b, n);
    return rtcp_iter_next(&it, p, NULL);
}

TEST(parsers_reject_counts_past_the_packet)
{
    rtcp_pkt_t p;
    /* RR claiming 2 report blocks with room for 1 */
    uint8_t rrb[32] = { 0x82, 0xc9, 0x00, 0x07 };
    ASSERT_EQ(one(rrb, sizeof rrb, &p), 1);
    rtcp_rr_t rr;
    ASSERT_EQ(rtcp_rr_parse(&p, &rr), PROTO_EINVAL);
    /* SR claiming 1 block with none */
    uint8_t srb[28] = { 0x81, 0xc8, 0x00, 0x06 };
    ASSERT_EQ(one(srb, sizeof srb, &p), 1);
    rtcp_sr_t sr;
    ASSERT_EQ(rtcp_sr_parse(&p, &sr), PROTO_EINVAL);
    /* BYE with 3 ssrcs announced, 1 present */
    uint8_t bye[8] = { 0x83, 0xcb, 0x00, 0x01 };
    ASSERT_EQ(one(bye, sizeof bye, &p), 1);
    rtcp_bye_t b;
    ASSERT_EQ(rtcp_bye_parse(&p, &b), PROTO_EINVAL);
    /* BYE reason longer than the packet */
    uint8_t bye2[12] = { 0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 9, 5, 'a', 'b', 'c' };
    ASSERT_EQ(one(bye2, sizeof bye2, &p), 1);
    ASSERT_EQ(rtcp_bye_parse(&p, &b), PROTO_EINVAL);
    bye2[8] = 3;
    ASSERT_EQ(rtcp_bye_parse(&p, &b), 0);
    ASSERT_MEM_EQ(b.reason, b.reason_len, "abc", 3);
    /* SDES item running past the packet, and a chunk without its null octet */
    uint8_t sd[12] = { 0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 1, 9, 'x', 'y' };
    ASSERT_EQ(one(sd, sizeof sd, &p), 1);
    rtcp_sdes_t s;
    ASSERT_EQ(rtcp_sdes_parse(&p, &s), PROTO_EINVAL);
    sd[9] = 2;
    ASSERT_EQ(rtcp_sdes_parse(&p, &s), PROTO_EINVAL);
    sd[9] = 1; /* "x", then a null octet */
    sd[11] = 0;
    ASSERT_EQ(rtcp_sdes_parse(&p, &s), 0);
    ASSERT_MEM_EQ(s.chunks[0].cname, s.chunks[0].cname_len, "x", 1);
    sd[0] = 0x82; /* two chunks announced */
    ASSERT_EQ(one(sd, sizeof sd, &p), 1);
    ASSERT_EQ(rtcp_sdes_parse(&p, &s), PROTO_EINVAL);
    /* NACK and FIR without FCI */
    uint8_t nk[12] = { 0x81, 0xcd, 0x00, 0x02 };
    ASSERT_EQ(one(nk, sizeof nk, &p), 1);
    rtcp_nack_t n;
    ASSERT_EQ(rtcp_nack_parse(&p, &n), PROTO_EINVAL);
    uint8_t fr[12] = { 0x84, 0xce, 0x00, 0x02 };
    ASSERT_EQ(one(fr, sizeof fr, &p), 1);
    rtcp_fir_t f;
    ASSERT_EQ(rtcp_fir_parse(&p, &f), PROTO_EINVAL);
    /* PLI shorter than its two ssrcs */
    uint8_t pl[8] = { 0x81, 0xce, 0x00, 0x01 };
    ASSERT_EQ(one(pl, sizeof pl, &p), 1);
    rtcp_fb_t fb;
    ASSERT_EQ(rtcp_pli_parse(&p, &fb), PROTO_EINVAL);
}

TEST(sdes_items_and_chunks)
{
    /* two chunks: (ssrc 1: NAME "ab", CNAME "cd", null + pad) (ssrc 2: TOOL "x", null) */
    const uint8_t b[] = { 0x82, 0xca, 0x00, 0x06, 0, 0, 0, 1, 2, 2, 'a', 'b', 1,   2,
                          'c',  'd',  0,    0,    0, 0, 0, 0, 0, 2, 6,   1,   'x', 0 };
    rtcp_pkt_t p;
    ASSERT_EQ(one(b, sizeof b, &p), 1);
    rtcp_sdes_t s;
    ASSERT_EQ(rtcp_sdes_parse(&p, &s), 0);
    ASSERT_EQ(s.n, 2);
    ASSERT_MEM_EQ(s.chunks[0].cname, s.chunks[0].cname_len, "cd", 2);
    ASSERT_UEQ(s.chunks[1].ssrc, 2);
    ASSERT(s.chunks[1].cname == NULL);
}

TEST(builders_round_trip)
{
    uint8_t buf[1500];
    size_t off = 0;
    rtcp_sr_t sr = { .ssrc = 7,
                     .ntp_sec = 1,
                     .ntp_frac = 2,
                     .rtp_ts = 3,
                     .pkt_count = 4,
                     .octet_count = 5,
                     .n_reports = 2 };
    sr.reports[0] = (rtcp_report_t){ 9, 12, -5, 70000, 33, 44, 55 };
    sr.reports[1] = (rtcp_report_t){ 10, 0, 0x7fffff, 1, 2, 3, 4 };
    ssize_t r = rtcp_sr_build(buf + off, sizeof buf - off, &sr);
    ASSERT_EQ(r, 76);
    off += (size_t)r;
    rtcp_rr_t rr = { .ssrc = 8, .n_reports = 1 };
    rr.reports[0] = (rtcp_report_t){ 11, 255, -8388608, 5, 6, 7, 8 };
    off += (size_t)rtcp_rr_build(buf + off, sizeof buf - off, &rr);
    r = rtcp_sdes_build(buf + off, sizeof buf - off, 7, "sfu-cname", 9);
    ASSERT_EQ(r, 20);
    off += (size_t)r;
    off += (size_t)rtcp_pli_build(buf + off, sizeof buf - off, 7, 0x1234);
    off += (size_t)rtcp_fir_build(buf + off, sizeof buf - off, 7, 0x5678, 3);
    const uint16_t seqs[] = { 100, 101, 105, 116, 117, 200, 65535, 0, 3 };
    r = rtcp_nack_build(buf + off, sizeof buf - off, 7, 0x9abc, seqs, 9);
    ASSERT_EQ(r, 12 + 4 * 4);
    off += (size_t)r;
    const uint32_t remb_ssrcs[] = { 0x1234, 0x5678 };
    off += (size_t)rtcp_remb_build(buf + off, sizeof buf - off, 7, 2500000, remb_ssrcs, 2);
    const uint32_t bye_ssrcs[] = { 7 };
    r = rtcp_bye_build(buf + off, sizeof buf - off, bye_ssrcs, 1, "left");
    ASSERT_EQ(r, 16);
    off += (size_t)r;

    rtcp_iter_t it;
    rtcp_pkt_t p;
    rtcp_iter_init(&it, buf, off);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_sr_t sr2;
    ASSERT_EQ(rtcp_sr_parse(&p, &sr2), 0);
    ASSERT_UEQ(sr2.reports[0].ssrc, 9);
    ASSERT_EQ(sr2.reports[0].fraction_lost, 12);
    ASSERT_EQ(sr2.reports[0].cum_lost, -5);
    ASSERT_UEQ(sr2.reports[0].ext_high_seq, 70000);
    ASSERT_UEQ(sr2.reports[0].jitter, 33);
    ASSERT_UEQ(sr2.reports[0].lsr, 44);
    ASSERT_UEQ(sr2.reports[0].dlsr, 55);
    ASSERT_EQ(sr2.reports[1].cum_lost, 0x7fffff);
    ASSERT_UEQ(sr2.octet_count, 5);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_rr_t rr2;
    ASSERT_EQ(rtcp_rr_parse(&p, &rr2), 0);
    ASSERT_EQ(rr2.reports[0].cum_lost, -8388608);
    ASSERT_EQ(rr2.reports[0].fraction_lost, 255);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_sdes_t sd;
    ASSERT_EQ(rtcp_sdes_parse(&p, &sd), 0);
    ASSERT_MEM_EQ(sd.chunks[0].cname, sd.chunks[0].cname_len, "sfu-cname", 9);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_fb_t fb;
    ASSERT_EQ(rtcp_pli_parse(&p, &fb), 0);
    ASSERT_UEQ(fb.media_ssrc, 0x1234);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_fir_t fir;
    ASSERT_EQ(rtcp_fir_parse(&p, &fir), 0);
    ASSERT_EQ(fir.n, 1);
    ASSERT_UEQ(fir.entries[0].ssrc, 0x5678);
    ASSERT_EQ(fir.entries[0].seq, 3);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_nack_t nk;
    ASSERT_EQ(rtcp_nack_parse(&p, &nk), 0);
    ASSERT_UEQ(nk.media_ssrc, 0x9abc);
    ASSERT_EQ(nk.n, 4);
    ASSERT_EQ(nk.items[0].pid, 100);
    ASSERT_EQ(nk.items[0].blp, (1 << 0) | (1 << 4) | (1 << 15));
    uint16_t out[64];
    size_t n = rtcp_nack_expand(&nk, out, 64);
    ASSERT_EQ(n, 9);
    ASSERT_MEM_EQ(out, n * 2, seqs, sizeof seqs);
    ASSERT_EQ(rtcp_nack_expand(&nk, out, 3), 3);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_remb_t remb;
    ASSERT_EQ(rtcp_remb_parse(&p, &remb), 0);
    ASSERT(remb.bitrate <= 2500000 && remb.bitrate > 2490000);
    ASSERT_EQ(remb.n_ssrcs, 2);
    ASSERT_UEQ(remb.ssrcs[1], 0x5678);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 1);
    rtcp_bye_t bye;
    ASSERT_EQ(rtcp_bye_parse(&p, &bye), 0);
    ASSERT_EQ(bye.n, 1);
    ASSERT_MEM_EQ(bye.reason, bye.reason_len, "left", 4);
    ASSERT_EQ(rtcp_iter_next(&it, &p, NULL), 0);
}

TEST(builder_limits)
{
    uint8_t buf[64];
    ASSERT_EQ(rtcp_pli_build(buf, 11, 1, 2), PROTO_ETOOBIG);
    ASSERT_EQ(rtcp_fir_build(buf, 19, 1, 2, 0), PROTO_ETOOBIG);
    ASSERT_EQ(rtcp_sdes_build(buf, sizeof buf, 1, "", 0), PROTO_EINVAL);
    ASSERT_EQ(rtcp_sdes_build(buf, 15, 1, "abcd", 4), PROTO_ETOOBIG);
    ASSERT_EQ(rtcp_sdes_build(buf, 16, 1, "abcd", 4), 16);
    ASSERT_EQ(rtcp_sdes_build(buf, 16, 1, "abcde", 5), 16);
    ASSERT_EQ(rtcp_sdes_build(buf, 16, 1, "abcdef", 6), PROTO_ETOOBIG);
    ASSERT_EQ(rtcp_bye_build(buf, sizeof buf, NULL, 0, NULL), PROTO_EINVAL);
    const uint16_t s = 5;
    ASSERT_EQ(rtcp_nack_build(buf, sizeof buf, 1, 2, &s, 0), PROTO_EINVAL);
    ASSERT_EQ(rtcp_nack_build(buf, 15, 1, 2, &s, 1), PROTO_ETOOBIG);
    const uint32_t ss = 1;
    ASSERT_EQ(rtcp_remb_build(buf, sizeof buf, 1, 1, &ss, 0), PROTO_EINVAL);
    ASSERT_EQ(rtcp_remb_build(buf, 23, 1, 1, &ss, 1), PROTO_ETOOBIG);
    rtcp_rr_t rr = { .n_reports = 32 };
    ASSERT_EQ(rtcp_rr_build(buf, sizeof buf, &rr), PROTO_EINVAL);
    rr.n_reports = 3;
    ASSERT_EQ(rtcp_rr_build(buf, sizeof buf, &rr), PROTO_ETOOBIG);
    /* NACK: more than RTCP_MAX_FCI items worth of seqs are cut at RTCP_MAX_FCI items */
    uint16_t many[200];
    for (int i = 0; i < 200; i++) {
        many[i] = (uint16_t)(i * 100);
    }
    uint8_t big[1024];
    ssize_t r = rtcp_nack_build(big, sizeof big, 1, 2, many, 200);
    ASSERT_EQ(r, 12 + 4 * RTCP_MAX_FCI);
    /* REMB exponent choice: exact below 2^18, rounded down above */
    uint64_t rates[] = { 0, 1, 262143, 262144, 1000000, 3000001, 10000000000ull, UINT64_MAX };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        ASSERT_EQ(rtcp_remb_build(big, sizeof big, 1, rates[i], &ss, 1), 24);
        rtcp_pkt_t p;
        ASSERT_EQ(one(big, 24, &p), 1);
        rtcp_remb_t rb;
        ASSERT_EQ(rtcp_remb_parse(&p, &rb), 0);
        ASSERT(rb.bitrate <= rates[i]);
        ASSERT(rates[i] - rb.bitrate <= rates[i] / 131072); /* mantissa >= 2^17 */
    }
}

TEST(every_truncation_is_safe)
{
    for (size_t n = 0; n <= sizeof sr_sdes; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, sr_sdes, n);
        rtcp_iter_t it;
        rtcp_pkt_t p;
        rtcp_iter_init(&it, copy, n);
        int r;
        while ((r = rtcp_iter_next(&it, &p, NULL)) == 1) {
            rtcp_sr_t sr;
            rtcp_sdes_t sd;
            rtcp_sr_parse(&p, &sr);
            rtcp_sdes_parse(&p, &sd);
        }
        ASSERT(r == 0 || r == PROTO_EINVAL);
        ASSERT_EQ(r == 0, n == 0 || n == 52 || n == sizeof sr_sdes);
        free(copy);
    }
}
