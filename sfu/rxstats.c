/* sfu/rxstats.c: see rxstats.h. */
#include "rxstats.h"
#include "../proto/rtp.h"
#include <string.h>

void rxstats_init(rxstats_t *r, uint32_t clock)
{
    memset(r, 0, sizeof *r);
    r->clock = clock ? clock : 90000;
}

void rxstats_update(rxstats_t *r, uint16_t seq, uint32_t rtp_ts, uint64_t arrival_us,
                    bool retransmission)
{
    if (!r->init) {
        r->init = true;
        r->max_seq = seq;
        r->base_seq = seq;
        r->received = 1;
        r->transit = (int64_t)(arrival_us * r->clock / 1000000u) - (int64_t)rtp_ts;
        r->have_transit = true;
        return;
    }
    int d = rtp_seq_diff(r->max_seq, seq);
    if (d > 0) {
        if (seq < r->max_seq) {
            r->cycles += 1u << 16; /* wrapped */
        }
        r->max_seq = seq;
    } else if (d < -3000) {
        /* RFC 3550 A.1: a large jump back is a restarted sender: start over */
        rxstats_init(r, r->clock);
        rxstats_update(r, seq, rtp_ts, arrival_us, retransmission);
        return;
    }
    r->received++;
    if (retransmission || d <= 0) {
        return; /* late packets say nothing about the network's jitter now */
    }
    /* RFC 3550 A.8 */
    int64_t arrival = (int64_t)(arrival_us * r->clock / 1000000u);
    int64_t transit = arrival - (int64_t)rtp_ts;
    if (r->have_transit) {
        int64_t dd = transit - r->transit;
        if (dd < 0) {
            dd = -dd;
        }
        r->jitter += ((double)dd - r->jitter) / 16.0;
    }
    r->transit = transit;
    r->have_transit = true;
}

static uint64_t expected(const rxstats_t *r)
{
    uint64_t ext_max = (uint64_t)r->cycles + r->max_seq;
    return ext_max - r->base_seq + 1;
}

uint64_t rxstats_lost(const rxstats_t *r)
{
    if (!r->init) {
        return 0;
    }
    uint64_t e = expected(r);
    return e > r->received ? e - r->received : 0;
}

void rxstats_report(rxstats_t *r, uint32_t ssrc, uint32_t lsr, uint32_t dlsr, rtcp_report_t *b)
{
    memset(b, 0, sizeof *b);
    b->ssrc = ssrc;
    b->lsr = lsr;
    b->dlsr = dlsr;
    if (!r->init) {
        return;
    }
    uint64_t e = expected(r);
    int64_t lost = (int64_t)e - (int64_t)r->received;
    /* 24-bit signed field (RFC 3550 6.4.1): clamp */
    if (lost > 0x7fffff) {
        lost = 0x7fffff;
    } else if (lost < -0x800000) {
        lost = -0x800000;
    }
    b->cum_lost = (int32_t)lost;
    uint64_t e_int = e - r->expected_prior;
    uint64_t r_int = r->received - r->received_prior;
    r->expected_prior = e;
    r->received_prior = r->received;
    int64_t lost_int = (int64_t)e_int - (int64_t)r_int;
    int64_t frac = e_int == 0 || lost_int <= 0 ? 0 : (lost_int << 8) / (int64_t)e_int;
    b->fraction_lost = (uint8_t)(frac > 255 ? 255 : frac);
    b->ext_high_seq = (uint32_t)((uint64_t)r->cycles + r->max_seq);
    b->jitter = (uint32_t)r->jitter;
}
