/* tests/unit/test_sfu_rewrite.c: sfu/rewrite: outgoing RTP numbering that stays continuous
 * across a change of source (a publisher swap). */
#include "../../sfu/rewrite.h"
#include "t.h"

TEST(rw_first_source_passes_unchanged)
{
    rtp_rw_t rw;
    rtp_rw_init(&rw);
    uint16_t s;
    uint32_t ts;
    ASSERT(rtp_rw_map(&rw, 1000, 90000, 90000, 1000000, &s, &ts));
    ASSERT_EQ(s, 1000);
    ASSERT_EQ(ts, 90000);
    ASSERT(rtp_rw_map(&rw, 1001, 93000, 90000, 1033000, &s, &ts));
    ASSERT_EQ(s, 1001);
    ASSERT_EQ(ts, 93000);
    /* a switch before anything was sent changes nothing */
    rtp_rw_t fresh;
    rtp_rw_init(&fresh);
    rtp_rw_switch(&fresh);
    ASSERT(rtp_rw_map(&fresh, 7, 8, 90000, 0, &s, &ts));
    ASSERT_EQ(s, 7);
    ASSERT_EQ(ts, 8);
}

TEST(rw_switch_continues_seq_and_jumps_ts_by_wall_time)
{
    rtp_rw_t rw;
    rtp_rw_init(&rw);
    uint16_t s;
    uint32_t ts;
    ASSERT(rtp_rw_map(&rw, 65534, 4294967000u, 90000, 1000000, &s, &ts));
    ASSERT(rtp_rw_map(&rw, 65535, 4294967000u, 90000, 1000000, &s, &ts));
    rtp_rw_switch(&rw);
    /* the new source starts at seq 123, ts 5000, 500 ms later: 45000 ticks at 90 kHz */
    ASSERT(rtp_rw_map(&rw, 123, 5000, 90000, 1500000, &s, &ts));
    ASSERT_EQ(s, 0); /* 65535 + 1, wrapped */
    ASSERT_EQ(ts, (uint32_t)(4294967000u + 45000u));
    ASSERT(rtp_rw_map(&rw, 124, 8000, 90000, 1533000, &s, &ts));
    ASSERT_EQ(s, 1);
    ASSERT_EQ(ts, (uint32_t)(4294967000u + 45000u + 3000u));
    /* a reordered packet of the new source from before its first one is dropped */
    ASSERT(!rtp_rw_map(&rw, 122, 2000, 90000, 1534000, &s, &ts));
    /* a late packet within the new source is mapped, not counted as newest */
    ASSERT(rtp_rw_map(&rw, 126, 9000, 90000, 1540000, &s, &ts));
    ASSERT_EQ(s, 3);
    ASSERT(rtp_rw_map(&rw, 125, 9000, 90000, 1541000, &s, &ts));
    ASSERT_EQ(s, 2);
    ASSERT_EQ(rw.last_seq, 3);
}

TEST(rw_switch_at_once_still_moves_ts_forward)
{
    rtp_rw_t rw;
    rtp_rw_init(&rw);
    uint16_t s;
    uint32_t ts;
    ASSERT(rtp_rw_map(&rw, 10, 480, 48000, 2000, &s, &ts));
    rtp_rw_switch(&rw);
    ASSERT(rtp_rw_map(&rw, 9000, 77, 48000, 2000, &s, &ts));
    ASSERT_EQ(s, 11);
    ASSERT_EQ(ts, 481u); /* at least one tick: a new frame, never the same timestamp */
    ASSERT(!rtp_rw_map(&rw, 8999, 77, 48000, 2000, &s, &ts));
}

TEST(rw_nack_and_retransmission_map_back)
{
    rtp_rw_t rw;
    rtp_rw_init(&rw);
    uint16_t s, in;
    uint32_t ts;
    for (uint16_t i = 0; i < 10; i++) {
        ASSERT(rtp_rw_map(&rw, (uint16_t)(500 + i), 1000, 90000, 0, &s, &ts));
    }
    rtp_rw_switch(&rw);
    ASSERT(!rtp_rw_unmap_seq(&rw, 505, &in)); /* nothing of the new source yet */
    ASSERT(!rtp_rw_ts(&rw, 1, &ts));
    for (uint16_t i = 0; i < 10; i++) {
        ASSERT(rtp_rw_map(&rw, (uint16_t)(40000 + i), 7000, 90000, 100000, &s, &ts));
    }
    ASSERT_EQ(s, 519);
    ASSERT(rtp_rw_unmap_seq(&rw, 515, &in));
    ASSERT_EQ(in, 40005);
    ASSERT(!rtp_rw_unmap_seq(&rw, 509, &in)); /* the old source's packets are gone */
    ASSERT(!rtp_rw_unmap_seq(&rw, 520, &in)); /* never sent */
    uint16_t o;
    uint32_t ots;
    ASSERT(rtp_rw_remap(&rw, 40005, 7000, &o, &ots));
    ASSERT_EQ(o, 515);
    ASSERT(rtp_rw_ts(&rw, 7000, &ts));
    ASSERT_EQ(ots, ts);
    ASSERT(!rtp_rw_remap(&rw, 39999, 7000, &o, &ots));
}

TEST(rw_base_follows_a_long_stream)
{
    rtp_rw_t rw;
    rtp_rw_init(&rw);
    uint16_t s;
    uint32_t ts;
    for (uint32_t i = 0; i < 200000; i++) {
        ASSERT(rtp_rw_map(&rw, (uint16_t)i, i * 10, 90000, i, &s, &ts));
    }
    /* 40000 packets later (past half the sequence space) the stream still flows */
    ASSERT_EQ(s, (uint16_t)199999);
    ASSERT(rtp_rw_map(&rw, (uint16_t)(199999 - 100), 0, 90000, 200000, &s, &ts));
}
