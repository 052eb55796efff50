/* proto/rtp.h: RTP header codec (RFC 3550 5.1) with RFC 8285 header extensions, in-place
 * rewriting for forwarding, sequence-number arithmetic, VP8/H.264 keyframe detection and the
 * RFC 7983 first-byte demux. Pure: no I/O, no allocation, no globals; never reads past len. */
#ifndef PROTO_RTP_H
#define PROTO_RTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_MIN 12 /* fixed header */

/* A parsed header. Offsets index the packet given to rtp_hdr_parse. */
typedef struct rtp_hdr {
    uint8_t version; /* always 2 after a successful parse */
    bool padding, extension, marker;
    uint8_t cc; /* CSRC count */
    uint8_t pt;
    uint16_t seq;
    uint32_t ts, ssrc;
    uint32_t csrc[15];
    uint16_t ext_profile; /* 0xBEDE one-byte, 0x1000..0x100F two-byte, else opaque; 0 if none */
    size_t ext_off;       /* first byte of the extension elements (after the 4-byte header) */
    size_t ext_len;       /* bytes of extension elements (length field * 4) */
    size_t payload_off;   /* = header length */
    size_t payload_len;   /* without padding */
    uint8_t pad_len;      /* padding bytes at the end (0 without the P bit) */
} rtp_hdr_t;

/* Parses the header of pkt[0..len). Returns 0, or PROTO_EINVAL with *why (why may be NULL):
 * shorter than 12 bytes, version != 2, CSRCs or extension past len, padding count 0 or larger
 * than the payload. Does not check for RTCP: demux first (rtp_is_rtcp). */
int rtp_hdr_parse(rtp_hdr_t *h, const uint8_t *pkt, size_t len, const char **why);

/* Finds header extension element id (1..14 for one-byte, 1..255 for two-byte profiles) in the
 * packet parsed into h. Returns 1 and sets *off and *elen to the element data within pkt (so it can
 * be read or rewritten in place), 0 when absent or the profile is not RFC 8285, or
 * PROTO_EINVAL when the element list is malformed (an element runs past the block). */
int rtp_ext_find(const uint8_t *pkt, const rtp_hdr_t *h, uint8_t id, size_t *off, size_t *elen);

/* In-place rewrites of a header that rtp_hdr_parse accepted (the caller guarantees at least
 * RTP_HDR_MIN bytes). set_pt keeps the marker bit. */
void rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc);
void rtp_set_pt(uint8_t *pkt, uint8_t pt);
void rtp_set_seq(uint8_t *pkt, uint16_t seq);
void rtp_set_ts(uint8_t *pkt, uint32_t ts);
void rtp_set_marker(uint8_t *pkt, bool marker);

/* Sequence numbers modulo 2^16 (RFC 3550 A.1): the signed distance b - a in -32768..32767. */
static inline int16_t rtp_seq_diff(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(b - a);
}
/* True when a comes before b (wrap-around aware). */
static inline bool rtp_seq_lt(uint16_t a, uint16_t b)
{
    return rtp_seq_diff(a, b) > 0;
}
/* Timestamps modulo 2^32: true when a comes before b. */
static inline bool rtp_ts_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(uint32_t)(b - a) > 0;
}
/* Extends seq to 64 bits next to the last extended value (0 for the first packet gives
 * seq itself): the unwrapped value nearest to last. */
uint64_t rtp_seq_extend(uint64_t last, uint16_t seq);

/* RFC 7741 4.2 VP8 payload descriptor. */
typedef struct rtp_vp8 {
    bool start;         /* S: first packet of a partition */
    uint8_t pid;        /* partition index */
    bool non_ref;       /* N */
    int32_t picture_id; /* -1 when absent; 7 or 15 bits */
    bool picture_id_16; /* the M bit: picture_id has 15 bits */
    int16_t tl0picidx;  /* -1 when absent */
    int8_t tid;         /* -1 when absent */
    int8_t keyidx;      /* -1 when absent */
    size_t hdr_len;     /* descriptor bytes; the VP8 payload follows */
} rtp_vp8_t;

/* Parses the VP8 payload descriptor at payload[0..len). Returns 0 or PROTO_EINVAL. */
int rtp_vp8_parse(rtp_vp8_t *d, const uint8_t *payload, size_t len);
/* True when an RTP payload starts a VP8 key frame: S=1, PID=0 and the VP8 frame tag's P bit
 * is 0 (RFC 6386 9.1). Never reads past len; false for malformed input. */
bool rtp_vp8_is_keyframe(const uint8_t *payload, size_t len);
/* True when an H.264 RTP payload (RFC 6184) carries an IDR slice (5) or SPS (7): a single NAL
 * unit, any NAL inside a STAP-A (24), or the start fragment of an FU-A (28). */
bool rtp_h264_is_keyframe(const uint8_t *payload, size_t len);

/* RFC 7983 / RFC 5764 5.1.2 first-byte demux of one datagram on the ICE socket. */
typedef enum rtp_class {
    RTP_CLASS_UNKNOWN = 0,
    RTP_CLASS_STUN, /* 0..3 */
    RTP_CLASS_DTLS, /* 20..63 */
    RTP_CLASS_RTP,  /* 128..191, second byte not 192..223 */
    RTP_CLASS_RTCP, /* 128..191, second byte 192..223 (RFC 5761 4: PT 64..95 with marker) */
} rtp_class_t;
rtp_class_t rtp_classify(const uint8_t *pkt, size_t len);
/* True for an RTCP packet multiplexed with RTP (RFC 5761 4): version 2 and the second byte in
 * 192..223. Needs len >= 2. Works on SRTCP too (the header is in clear). */
bool rtp_is_rtcp(const uint8_t *pkt, size_t len);

/* Big-endian helpers shared by the RTP/RTCP codecs (no alignment needed). */
static inline uint16_t rtp_rd16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t rtp_rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t rtp_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void rtp_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void rtp_wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}
static inline void rtp_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
