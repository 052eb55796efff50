/* tests/unit/test_sfu_rxstats.c: sfu/rxstats: RFC 3550 loss, wrap, jitter, report blocks. */
#include "../../sfu/rxstats.h"
#include "t.h"

TEST(rxstats_no_loss)
{
    rxstats_t r;
    rxstats_init(&r, 90000);
    for (int i = 0; i < 100; i++) {
        rxstats_update(&r, (uint16_t)(500 + i), (uint32_t)(i * 3000), (uint64_t)i * 33333, false);
    }
    ASSERT_EQ(rxstats_lost(&r), 0);
    rtcp_report_t b;
    rxstats_report(&r, 0x1234, 7, 8, &b);
    ASSERT_UEQ(b.ssrc, 0x1234);
    ASSERT_EQ(b.cum_lost, 0);
    ASSERT_EQ(b.fraction_lost, 0);
    ASSERT_UEQ(b.ext_high_seq, 599);
    ASSERT_UEQ(b.lsr, 7);
    ASSERT_UEQ(b.dlsr, 8);
    /* evenly spaced arrivals matching the timestamps: no jitter */
    ASSERT(b.jitter < 2);
}

TEST(rxstats_loss_and_fraction)
{
    rxstats_t r;
    rxstats_init(&r, 90000);
    for (int i = 0; i < 100; i++) {
        if (i % 4 == 0 && i > 0) {
            continue; /* lose a quarter */
        }
        rxstats_update(&r, (uint16_t)i, (uint32_t)(i * 3000), (uint64_t)i * 33333, false);
    }
    ASSERT_EQ(rxstats_lost(&r), 24);
    rtcp_report_t b;
    rxstats_report(&r, 1, 0, 0, &b);
    ASSERT_EQ(b.cum_lost, 24);
    ASSERT_EQ(b.fraction_lost, (24 << 8) / 100);
    /* a new interval without loss */
    for (int i = 100; i < 150; i++) {
        rxstats_update(&r, (uint16_t)i, (uint32_t)(i * 3000), (uint64_t)i * 33333, false);
    }
    rxstats_report(&r, 1, 0, 0, &b);
    ASSERT_EQ(b.fraction_lost, 0);
    ASSERT_EQ(b.cum_lost, 24);
}

TEST(rxstats_retransmission_recovers_loss)
{
    rxstats_t r;
    rxstats_init(&r, 48000);
    rxstats_update(&r, 1, 0, 0, false);
    rxstats_update(&r, 3, 960, 20000, false);
    ASSERT_EQ(rxstats_lost(&r), 1);
    rxstats_update(&r, 2, 480, 30000, true);
    ASSERT_EQ(rxstats_lost(&r), 0);
}

TEST(rxstats_wrap)
{
    rxstats_t r;
    rxstats_init(&r, 90000);
    for (uint32_t s = 65530; s < 65540; s++) {
        rxstats_update(&r, (uint16_t)s, s * 10, (uint64_t)s, false);
    }
    rtcp_report_t b;
    rxstats_report(&r, 1, 0, 0, &b);
    ASSERT_UEQ(b.ext_high_seq, 65539); /* one cycle (65536) + 3 */
    ASSERT_EQ(b.cum_lost, 0);
}

TEST(rxstats_jitter_grows_with_uneven_arrival)
{
    rxstats_t r;
    rxstats_init(&r, 90000);
    for (int i = 0; i < 200; i++) {
        uint64_t arrival = (uint64_t)i * 33333 + (i % 2 ? 10000 : 0); /* +-10 ms */
        rxstats_update(&r, (uint16_t)i, (uint32_t)(i * 3000), arrival, false);
    }
    rtcp_report_t b;
    rxstats_report(&r, 1, 0, 0, &b);
    ASSERT(b.jitter > 500); /* ~900 units = 10 ms at 90 kHz */
    ASSERT(b.jitter < 1000);
}

TEST(rxstats_empty_report)
{
    rxstats_t r;
    rxstats_init(&r, 0);
    rtcp_report_t b;
    rxstats_report(&r, 9, 0, 0, &b);
    ASSERT_UEQ(b.ssrc, 9);
    ASSERT_EQ(b.cum_lost, 0);
    ASSERT_EQ(rxstats_lost(&r), 0);
}
