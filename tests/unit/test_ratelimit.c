/* tests/unit/test_ratelimit.c: signal/ratelimit.c, the sliding-window limiter. */
#include "../../signal/ratelimit.h"
#include "t.h"

TEST(ratelimit_allows_up_to_limit_then_refuses)
{
    ratelimit_t r = { 0 };
    uint64_t t = 1000000;
    for (int i = 0; i < 5; i++) {
        ASSERT(ratelimit_hit(&r, t + (uint64_t)i, 5, 5000));
    }
    ASSERT(!ratelimit_hit(&r, t + 10, 5, 5000));
}

TEST(ratelimit_refused_attempts_still_count)
{
    ratelimit_t r = { 0 };
    uint64_t t = 2000000; /* window-aligned */
    for (int i = 0; i < 10; i++) {
        ratelimit_hit(&r, t, 5, 5000);
    }
    /* 10 attempts in the previous window; 1 s into the next, 80% of them still weigh */
    ASSERT(!ratelimit_hit(&r, t + 6000, 5, 5000));
    /* two windows later everything is forgotten */
    ASSERT(ratelimit_hit(&r, t + 20000, 5, 5000));
}

TEST(ratelimit_sliding_not_fixed)
{
    ratelimit_t r = { 0 };
    uint64_t t = 3000000;
    for (int i = 0; i < 5; i++) {
        ASSERT(ratelimit_hit(&r, t + 4900, 5, 5000)); /* burst at the end of a window */
    }
    /* a fixed window would allow 5 more at t+5000; the sliding one refuses */
    ASSERT(!ratelimit_hit(&r, t + 5100, 5, 5000));
    ASSERT(ratelimit_hit(&r, t + 9990, 5, 5000));
}

TEST(ratelimit_zero_limit_is_unlimited)
{
    ratelimit_t r = { 0 };
    for (int i = 0; i < 1000; i++) {
        ASSERT(ratelimit_hit(&r, 5, 0, 1000));
    }
}
