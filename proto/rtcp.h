/* proto/rtcp.h: RTCP codec (RFC 3550 6, RFC 4585 feedback, RFC 5104 FIR, RFC 5506 reduced
 * size, draft-alvestrand-rmcat-remb). Iterates compound packets and parses/builds SR, RR, SDES
 * CNAME, BYE, PLI, FIR, generic NACK and REMB. Pure: no I/O, no allocation, no globals; parsers
 * never read past len and borrow the caller's bytes; builders write into the caller's buffer. */
#ifndef PROTO_RTCP_H
#define PROTO_RTCP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Packet types (RFC 3550 12.1, RFC 4585 6.1) */
#define RTCP_SR    200
#define RTCP_RR    201
#define RTCP_SDES  202
#define RTCP_BYE   203
#define RTCP_APP   204
#define RTCP_RTPFB 205 /* transport-layer feedback: FMT 1 NACK, 15 transport-cc */
#define RTCP_PSFB  206 /* payload-specific feedback: FMT 1 PLI, 4 FIR, 15 AFB (REMB) */

#define RTCP_FMT_NACK 1
#define RTCP_FMT_TWCC 15
#define RTCP_FMT_PLI  1
#define RTCP_FMT_FIR  4
#define RTCP_FMT_AFB  15

#define RTCP_MAX_REPORTS    31 /* 5-bit count */
#define RTCP_MAX_FCI        64 /* NACK items / FIR entries parsed from one packet */
#define RTCP_MAX_REMB_SSRCS 16

/* One packet of a compound datagram. */
typedef struct rtcp_pkt {
    uint8_t pt;
    uint8_t fmt;         /* the 5-bit count / FMT field */
    bool padding;        /* P bit */
    const uint8_t *data; /* the whole packet, header included (borrows the datagram) */
    size_t len;          /* (length field + 1) * 4 */
    size_t body_len;     /* len - 4 - padding bytes */
} rtcp_pkt_t;

typedef struct rtcp_iter {
    /* private: set by rtcp_iter_init */
    const uint8_t *buf;
    size_t len, off;
    int err;
    const char *why;
} rtcp_iter_t;

/* Iterates buf[0..len) (a decrypted compound or reduced-size datagram). */
void rtcp_iter_init(rtcp_iter_t *it, const uint8_t *buf, size_t len);
/* Returns 1 and fills p with the next packet, 0 at the end, or PROTO_EINVAL with *why (why may
 * be NULL) when the rest is malformed (fewer than 4 bytes left, version != 2, length past the
 * datagram, padding larger than the packet); iteration then stops (further calls return the
 * same error). Packets before the broken one were valid and may be used. */
int rtcp_iter_next(rtcp_iter_t *it, rtcp_pkt_t *p, const char **why);

typedef struct rtcp_report {
    uint32_t ssrc;
    uint8_t fraction_lost; /* 8-bit fixed point */
    int32_t cum_lost;      /* 24-bit signed */
    uint32_t ext_high_seq, jitter, lsr, dlsr;
} rtcp_report_t;

typedef struct rtcp_sr {
    uint32_t ssrc;
    uint32_t ntp_sec, ntp_frac, rtp_ts, pkt_count, octet_count;
    uint8_t n_reports;
    rtcp_report_t reports[RTCP_MAX_REPORTS];
} rtcp_sr_t;

typedef struct rtcp_rr {
    uint32_t ssrc;
    uint8_t n_reports;
    rtcp_report_t reports[RTCP_MAX_REPORTS];
} rtcp_rr_t;

/* SDES: the CNAME of each chunk (other items skipped). cname borrows the packet, not NUL-
 * terminated; cname_len 0 when the chunk has no CNAME. */
typedef struct rtcp_sdes {
    uint8_t n;
    struct {
        uint32_t ssrc;
        const uint8_t *cname;
        uint8_t cname_len;
    } chunks[RTCP_MAX_REPORTS];
} rtcp_sdes_t;

typedef struct rtcp_bye {
    uint8_t n;
    uint32_t ssrcs[RTCP_MAX_REPORTS];
    const uint8_t *reason; /* borrowed, NULL when absent */
    uint8_t reason_len;
} rtcp_bye_t;

/* Feedback common header (RFC 4585 6.1): PLI has nothing more. */
typedef struct rtcp_fb {
    uint32_t sender_ssrc, media_ssrc;
} rtcp_fb_t;

typedef struct rtcp_fir {
    uint32_t sender_ssrc;
    uint8_t n;
    struct {
        uint32_t ssrc;
        uint8_t seq;
    } entries[RTCP_MAX_FCI];
} rtcp_fir_t;

typedef struct rtcp_nack {
    uint32_t sender_ssrc, media_ssrc;
    uint8_t n; /* items kept (first RTCP_MAX_FCI) */
    struct {
        uint16_t pid, blp;
    } items[RTCP_MAX_FCI];
} rtcp_nack_t;

typedef struct rtcp_remb {
    uint32_t sender_ssrc;
    uint64_t bitrate; /* bits per second: mantissa << exp */
    uint8_t n_ssrcs;  /* kept (first RTCP_MAX_REMB_SSRCS) */
    uint32_t ssrcs[RTCP_MAX_REMB_SSRCS];
} rtcp_remb_t;

/* Parsers: each takes a packet from rtcp_iter_next of the matching pt (and fmt for feedback)
 * and returns 0 or PROTO_EINVAL (wrong type, counts past the packet). */
int rtcp_sr_parse(const rtcp_pkt_t *p, rtcp_sr_t *sr);
int rtcp_rr_parse(const rtcp_pkt_t *p, rtcp_rr_t *rr);
int rtcp_sdes_parse(const rtcp_pkt_t *p, rtcp_sdes_t *s);
int rtcp_bye_parse(const rtcp_pkt_t *p, rtcp_bye_t *b);
int rtcp_pli_parse(const rtcp_pkt_t *p, rtcp_fb_t *fb);   /* PSFB FMT 1 */
int rtcp_fir_parse(const rtcp_pkt_t *p, rtcp_fir_t *fir); /* PSFB FMT 4 */
int rtcp_nack_parse(const rtcp_pkt_t *p, rtcp_nack_t *n); /* RTPFB FMT 1 */
/* PSFB FMT 15 with the "REMB" identifier; PROTO_EUNSUPP for another AFB message. */
int rtcp_remb_parse(const rtcp_pkt_t *p, rtcp_remb_t *r);

/* Expands the NACK items to the lost sequence numbers (PID, then each BLP bit), writing at most
 * cap of them to seqs in item order. Returns the number written. */
size_t rtcp_nack_expand(const rtcp_nack_t *n, uint16_t *seqs, size_t cap);

/* Builders: each writes one packet to out[0..cap) and returns its length (a multiple of 4), or
 * PROTO_ETOOBIG when cap is too small (nothing useful written), or PROTO_EINVAL for bad
 * arguments (too many reports, empty lists, cname over 255 bytes). Concatenate them for a
 * compound packet. */
ssize_t rtcp_sr_build(uint8_t *out, size_t cap, const rtcp_sr_t *sr);
ssize_t rtcp_rr_build(uint8_t *out, size_t cap, const rtcp_rr_t *rr);
/* One chunk: ssrc with CNAME cname[0..cname_len). */
ssize_t rtcp_sdes_build(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                        size_t cname_len);
/* reason may be NULL. */
ssize_t rtcp_bye_build(uint8_t *out, size_t cap, const uint32_t *ssrcs, size_t n,
                       const char *reason);
ssize_t rtcp_pli_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* One FCI entry asking media_ssrc for a decoder refresh (the common header's media source is 0
 * as RFC 5104 4.3.1.2 says); the caller increments seq for each new request (4.3.1.1). */
ssize_t rtcp_fir_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       uint8_t seq);
/* Packs seqs[0..n) into PID+BLP items (RFC 4585 6.2.1): a sequence number within 1..16 after
 * the current item's PID sets a BLP bit, any other starts a new item (so sorted input packs
 * best; duplicates are harmless). At most RTCP_MAX_FCI items: later sequence numbers that need
 * a new item are dropped. PROTO_EINVAL for n == 0. */
ssize_t rtcp_nack_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                        const uint16_t *seqs, size_t n);
/* bitrate in bits per second, encoded as 18-bit mantissa and 6-bit exponent (rounded down);
 * 1..RTCP_MAX_REMB_SSRCS ssrcs. The parser saturates decoded values at UINT64_MAX. */
ssize_t rtcp_remb_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                        const uint32_t *ssrcs, size_t n);

#endif
