/* tests/unit/test_sfu_pli.c: sfu/pli: keyframe requests coalesced to one per interval. */
#include "../../sfu/pli.h"
#include "t.h"

TEST(pli_first_request_goes_out)
{
    plictl_t c = { 0 };
    ASSERT(plictl_request(&c, 0, 500));
    ASSERT(!c.pending);
}

TEST(pli_burst_is_coalesced)
{
    plictl_t c = { 0 };
    ASSERT(plictl_request(&c, 1000, 500));
    for (int i = 1; i < 50; i++) { /* 49 subscribers asking within 100 ms */
        ASSERT(!plictl_request(&c, 1000 + (uint64_t)i * 2, 500));
    }
    ASSERT(c.pending);
    ASSERT(!plictl_poll(&c, 1200, 500));
    ASSERT(plictl_poll(&c, 1500, 500)); /* exactly one more, at the interval */
    ASSERT(!plictl_poll(&c, 1600, 500));
    ASSERT(!c.pending);
}

TEST(pli_keyframe_satisfies_pending)
{
    plictl_t c = { 0 };
    ASSERT(plictl_request(&c, 0, 500));
    ASSERT(!plictl_request(&c, 100, 500));
    plictl_keyframe(&c);
    ASSERT(!plictl_poll(&c, 600, 500));
}

TEST(pli_after_interval_goes_out_at_once)
{
    plictl_t c = { 0 };
    ASSERT(plictl_request(&c, 0, 500));
    ASSERT(plictl_request(&c, 500, 500));
    ASSERT(plictl_request(&c, 1100, 500));
    ASSERT(!plictl_poll(&c, 5000, 500)); /* nothing pending */
}

TEST(pli_zero_interval_never_coalesces)
{
    plictl_t c = { 0 };
    ASSERT(plictl_request(&c, 10, 0));
    ASSERT(plictl_request(&c, 10, 0));
}
