/* signal/ratelimit.h: a sliding-window rate limiter in 16 bytes (the two-window estimate:
 * the previous fixed window's count weighted by how much of it still overlaps the sliding
 * window, plus the current one). PROTOCOL.md section 4: an event over a limit is refused and
 * still counts toward the window, so every attempt is counted. */
#ifndef SIGNAL_RATELIMIT_H
#define SIGNAL_RATELIMIT_H
#include <stdbool.h>
#include <stdint.h>

typedef struct ratelimit {
    uint64_t window_start_ms; /* start of the current fixed window */
    uint32_t cur, prev;       /* attempts in the current and the previous window */
} ratelimit_t;

/* Counts one attempt at now_ms. Returns true when it is within `limit` attempts per
 * `window_ms`, false when over (the attempt is counted either way). A zero-initialised
 * ratelimit_t is valid. limit 0 means unlimited. */
bool ratelimit_hit(ratelimit_t *r, uint64_t now_ms, uint32_t limit, uint32_t window_ms);

#endif
