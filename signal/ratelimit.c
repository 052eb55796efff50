/* signal/ratelimit.c: see ratelimit.h. */
#include "ratelimit.h"

bool ratelimit_hit(ratelimit_t *r, uint64_t now_ms, uint32_t limit, uint32_t window_ms)
{
    if (limit == 0 || window_ms == 0) {
        return true;
    }
    if (r->window_start_ms == 0 || now_ms >= r->window_start_ms + 2ull * window_ms) {
        r->window_start_ms = now_ms - now_ms % window_ms;
        r->prev = 0;
        r->cur = 0;
    } else if (now_ms >= r->window_start_ms + window_ms) {
        r->window_start_ms += window_ms;
        r->prev = r->cur;
        r->cur = 0;
    }
    if (r->cur < UINT32_MAX) {
        r->cur++;
    }
    /* weight of the previous window still inside the sliding window, in 1/1000ths */
    uint64_t elapsed = now_ms - r->window_start_ms;
    uint64_t weight = 1000 - (elapsed * 1000) / window_ms;
    uint64_t estimate = (uint64_t)r->prev * weight + (uint64_t)r->cur * 1000;
    return estimate <= (uint64_t)limit * 1000;
}
