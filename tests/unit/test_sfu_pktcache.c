/* tests/unit/test_sfu_pktcache.c: sfu/pktcache: storage keyed by sequence number, wrap-around,
 * slot reuse, age limit, size limits. */
#include "../../sfu/pktcache.h"
#include "t.h"

TEST(pktcache_sizes)
{
    ASSERT(pktcache_new(0) == NULL);
    ASSERT(pktcache_new(100) == NULL); /* not a power of two */
    ASSERT(pktcache_new(8) == NULL);   /* too small */
    pktcache_t *c = pktcache_new(16);
    ASSERT(c != NULL);
    pktcache_free(c);
    pktcache_free(NULL);
}

TEST(pktcache_put_get)
{
    pktcache_t *c = pktcache_new(PKTCACHE_SLOTS);
    uint8_t pkt[1200];
    for (int i = 0; i < 1200; i++) {
        pkt[i] = (uint8_t)i;
    }
    ASSERT_EQ(pktcache_put(c, 1000, pkt, sizeof pkt, 50), 0);
    const uint8_t *got = NULL;
    ASSERT_EQ(pktcache_get(c, 1000, 60, 1000, &got), 1200);
    ASSERT_MEM_EQ(got, 1200, pkt, 1200);
    ASSERT_EQ(pktcache_get(c, 1001, 60, 1000, &got), 0);   /* never stored */
    ASSERT_EQ(pktcache_get(c, 1000, 2000, 1000, &got), 0); /* too old */
    pktcache_clear(c);
    ASSERT_EQ(pktcache_get(c, 1000, 60, 1000, &got), 0);
    pktcache_free(c);
}

TEST(pktcache_limits)
{
    pktcache_t *c = pktcache_new(16);
    static uint8_t big[PKTCACHE_SLOT_MAX + 1];
    ASSERT_EQ(pktcache_put(c, 1, big, 0, 0), -1);
    ASSERT_EQ(pktcache_put(c, 1, big, sizeof big, 0), -1);
    ASSERT_EQ(pktcache_put(c, 1, big, PKTCACHE_SLOT_MAX, 0), 0);
    pktcache_free(c);
}

TEST(pktcache_slot_reuse_and_wrap)
{
    pktcache_t *c = pktcache_new(16);
    uint8_t a = 'a', b = 'b';
    const uint8_t *got;
    /* 65530..65545 wraps through 0: all 16 fit */
    for (uint32_t s = 65530; s < 65530 + 16; s++) {
        uint8_t v = (uint8_t)s;
        ASSERT_EQ(pktcache_put(c, (uint16_t)s, &v, 1, 0), 0);
    }
    for (uint32_t s = 65530; s < 65530 + 16; s++) {
        ASSERT_EQ(pktcache_get(c, (uint16_t)s, 0, 100, &got), 1);
        ASSERT_EQ(got[0], (uint8_t)s);
    }
    /* seq 5 and seq 21 share a slot: the newer wins, the older is gone (no stale match) */
    ASSERT_EQ(pktcache_put(c, 5, &a, 1, 0), 0);
    ASSERT_EQ(pktcache_put(c, 21, &b, 1, 0), 0);
    ASSERT_EQ(pktcache_get(c, 5, 0, 100, &got), 0);
    ASSERT_EQ(pktcache_get(c, 21, 0, 100, &got), 1);
    ASSERT_EQ(got[0], 'b');
    pktcache_free(c);
}

TEST(pktcache_one_second_of_video)
{
    /* 1080p at ~4 Mbit/s is ~450 packets/s: PKTCACHE_SLOTS must hold more than a second */
    pktcache_t *c = pktcache_new(PKTCACHE_SLOTS);
    uint8_t p[1200] = { 0 };
    for (uint32_t i = 0; i < 900; i++) {
        ASSERT_EQ(pktcache_put(c, (uint16_t)(60000 + i), p, sizeof p, i), 0);
    }
    const uint8_t *got;
    ASSERT_EQ(pktcache_get(c, 60000, 999, 1000, &got), 1200);
    ASSERT_EQ(pktcache_get(c, (uint16_t)(60000 + 899), 999, 1000, &got), 1200);
    pktcache_free(c);
}
