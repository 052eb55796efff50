/* sfu/rewrite.h: per-subscriber RTP numbering across publisher swaps. A subscriber keeps its
 * negotiated SSRC and payload types when the room's publisher is replaced; its outgoing
 * sequence numbers and timestamps must stay continuous although the new publisher numbers its
 * packets from anywhere. Each outgoing stream keeps offsets (out = in + offset, mod 2^16 /
 * 2^32): zero for the first source (packets pass unchanged), recomputed at the first packet of
 * each new source so that its sequence numbers continue +1 from the last sent and its
 * timestamps jump forward by the wall time elapsed since then (in the stream's clock rate).
 * Pure: no I/O, no allocation. */
#ifndef SFU_REWRITE_H
#define SFU_REWRITE_H
#include <stdbool.h>
#include <stdint.h>

typedef struct rtp_rw {
    bool started;      /* a packet went out */
    bool resync;       /* a new source: offsets are set at its next packet */
    uint16_t seq_off;  /* out seq = in seq + seq_off */
    uint32_t ts_off;   /* out ts = in ts + ts_off */
    uint16_t base;     /* outgoing seq of the current source's first packet (moves up with it) */
    uint16_t last_seq; /* highest outgoing seq sent */
    uint32_t last_ts;  /* its timestamp */
    uint64_t last_us;  /* when it went out */
} rtp_rw_t;

/* A stream that has sent nothing: offsets 0. */
void rtp_rw_init(rtp_rw_t *rw);
/* The next packet comes from another source (a new publisher). */
void rtp_rw_switch(rtp_rw_t *rw);
/* A new packet (seq, ts) of the current source at now_us, clock Hz. Returns true with the
 * outgoing *oseq and *ots, or false when the packet is older than the current source's first
 * one (it would reuse numbers already sent: drop it). */
bool rtp_rw_map(rtp_rw_t *rw, uint16_t seq, uint32_t ts, uint32_t clock, uint64_t now_us,
                uint16_t *oseq, uint32_t *ots);
/* A retransmission: the outgoing numbers of an incoming (seq, ts) of the current source, no
 * state change. False before the first packet of the current source. */
bool rtp_rw_remap(const rtp_rw_t *rw, uint16_t seq, uint32_t ts, uint16_t *oseq, uint32_t *ots);
/* A NACK: the incoming seq of outgoing oseq. False when oseq was not sent from the current
 * source (before its first packet, or nothing sent yet). */
bool rtp_rw_unmap_seq(const rtp_rw_t *rw, uint16_t oseq, uint16_t *seq);
/* The outgoing timestamp of an incoming one (sender reports). False until the current source
 * has sent a packet. */
bool rtp_rw_ts(const rtp_rw_t *rw, uint32_t ts, uint32_t *ots);

#endif
