/* common/clock.h: monotonic and wall-clock time in milliseconds/microseconds. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps on the wire. */
int64_t clock_wall_ms(void);
/* Monotonic milliseconds and microseconds (CLOCK_MONOTONIC): for intervals and timeouts. */
uint64_t clock_mono_ms(void);
uint64_t clock_mono_us(void);

#endif
