/* tests/unit/test_sfu_nack.c: sfu/nack: gap detection, retries, recovery, give-up, resets. */
#include "../../sfu/nack.h"
#include "t.h"

TEST(nack_no_gap_no_nack)
{
    nackgen_t g;
    nackgen_init(&g);
    for (uint16_t s = 100; s < 200; s++) {
        ASSERT_EQ(nackgen_on_packet(&g, s, s), 0);
    }
    uint16_t out[16];
    ASSERT_EQ(nackgen_collect(&g, 300, 40, out, 16), 0);
    ASSERT_EQ(g.given_up, 0);
}

TEST(nack_gap_then_retry_then_give_up)
{
    nackgen_t g;
    nackgen_init(&g);
    uint16_t out[16];
    ASSERT_EQ(nackgen_on_packet(&g, 10, 0), 0);
    ASSERT_EQ(nackgen_on_packet(&g, 14, 0), 3); /* 11, 12, 13 missing */
    ASSERT_EQ(nackgen_collect(&g, 0, 40, out, 16), 3);
    ASSERT_EQ(out[0], 11);
    ASSERT_EQ(out[2], 13);
    ASSERT_EQ(nackgen_collect(&g, 20, 40, out, 16), 0);  /* too early for a retry */
    ASSERT_EQ(nackgen_collect(&g, 40, 40, out, 16), 3);  /* second try */
    ASSERT_EQ(nackgen_collect(&g, 80, 40, out, 16), 3);  /* third try */
    ASSERT_EQ(nackgen_collect(&g, 120, 40, out, 16), 0); /* NACK_MAX_TRIES reached */
    ASSERT_EQ(g.given_up, 3);
    ASSERT_EQ(g.n, 0);
}

TEST(nack_recovered_packets_are_not_asked_again)
{
    nackgen_t g;
    nackgen_init(&g);
    uint16_t out[16];
    nackgen_on_packet(&g, 1, 0);
    ASSERT_EQ(nackgen_on_packet(&g, 5, 0), 3);
    ASSERT_EQ(nackgen_collect(&g, 0, 40, out, 16), 3);
    ASSERT_EQ(nackgen_on_packet(&g, 3, 10), 0); /* retransmission of 3 */
    ASSERT_EQ(g.recovered, 1);
    ASSERT_EQ(nackgen_collect(&g, 50, 40, out, 16), 2);
    ASSERT_EQ(out[0], 2);
    ASSERT_EQ(out[1], 4);
}

TEST(nack_wraparound)
{
    nackgen_t g;
    nackgen_init(&g);
    uint16_t out[16];
    nackgen_on_packet(&g, 65534, 0);
    ASSERT_EQ(nackgen_on_packet(&g, 1, 0), 2); /* 65535 and 0 */
    ASSERT_EQ(nackgen_collect(&g, 0, 40, out, 16), 2);
    ASSERT_EQ(out[0], 65535);
    ASSERT_EQ(out[1], 0);
    ASSERT_EQ(g.max_seq, 1);
}

TEST(nack_age_limit_and_cap)
{
    nackgen_t g;
    nackgen_init(&g);
    uint16_t out[4];
    nackgen_on_packet(&g, 0, 0);
    ASSERT_EQ(nackgen_on_packet(&g, 11, 0), 10);
    ASSERT_EQ(nackgen_collect(&g, 0, 40, out, 4), 4); /* capped by the output */
    ASSERT_EQ(nackgen_collect(&g, 1, 40, out, 4), 4); /* the rest, never asked before */
    ASSERT_EQ(nackgen_collect(&g, NACK_MAX_AGE_MS + 1, 40, out, 4), 0);
    ASSERT_EQ(g.given_up, 10);
}

TEST(nack_big_jump_is_a_reset)
{
    nackgen_t g;
    nackgen_init(&g);
    uint16_t out[16];
    nackgen_on_packet(&g, 100, 0);
    ASSERT_EQ(nackgen_on_packet(&g, 100 + NACK_MAX_GAP + 1, 0), 0);
    ASSERT_EQ(nackgen_collect(&g, 0, 40, out, 16), 0);
    ASSERT_EQ(nackgen_on_packet(&g, 30000, 0), 0); /* far behind: reset too */
    ASSERT_EQ(g.max_seq, 30000);
}

TEST(nack_list_is_bounded)
{
    nackgen_t g;
    nackgen_init(&g);
    nackgen_on_packet(&g, 0, 0);
    ASSERT_EQ(nackgen_on_packet(&g, 301, 0), 300);
    ASSERT_EQ(g.n, NACK_MAX_MISSING);
    ASSERT_EQ(g.given_up, 300 - NACK_MAX_MISSING);
    ASSERT_EQ(g.e[0].seq, 300 - NACK_MAX_MISSING + 1); /* the oldest were dropped */
}

TEST(nack_missing_lookup)
{
    nackgen_t g;
    nackgen_init(&g);
    nackgen_on_packet(&g, 10, 0);
    nackgen_on_packet(&g, 13, 0);
    ASSERT(nackgen_missing(&g, 11));
    ASSERT(nackgen_missing(&g, 12));
    ASSERT(!nackgen_missing(&g, 10)); /* received */
    ASSERT(!nackgen_missing(&g, 14)); /* not yet due */
    nackgen_on_packet(&g, 11, 1);
    ASSERT(!nackgen_missing(&g, 11)); /* recovered */
}
