/* sfu/rxstats.h: receiver statistics of one incoming RTP stream (RFC 3550 A.1, A.3, A.8):
 * extended highest sequence number, cumulative and interval loss, interarrival jitter, and the
 * report block of a receiver report. Pure: no I/O. */
#ifndef SFU_RXSTATS_H
#define SFU_RXSTATS_H
#include "../proto/rtcp.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct rxstats {
    bool init;
    uint32_t clock; /* RTP clock rate (Hz) */
    uint16_t max_seq;
    uint32_t cycles; /* sequence number wraps, shifted left 16 */
    uint32_t base_seq;
    uint64_t received;
    uint64_t expected_prior, received_prior;
    double jitter; /* in timestamp units */
    int64_t transit;
    bool have_transit;
} rxstats_t;

void rxstats_init(rxstats_t *r, uint32_t clock);
/* One packet: its sequence number, RTP timestamp and arrival time (monotonic microseconds).
 * Retransmissions may be passed too: they count as received but are not used for jitter. */
void rxstats_update(rxstats_t *r, uint16_t seq, uint32_t rtp_ts, uint64_t arrival_us,
                    bool retransmission);
/* Packets lost so far (expected - received; never negative). */
uint64_t rxstats_lost(const rxstats_t *r);
/* Fills a report block for ssrc and starts a new interval. lsr/dlsr as RFC 3550 6.4.1. */
void rxstats_report(rxstats_t *r, uint32_t ssrc, uint32_t lsr, uint32_t dlsr, rtcp_report_t *b);

#endif
