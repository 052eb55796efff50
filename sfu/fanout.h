/* sfu/fanout.h: one publisher packet to N subscribers, on several threads. Each subscriber
 * costs an SRTP protect (~1.1 µs) and a UDP send (~3 µs): on one thread the last of 600
 * subscribers waits ~3 ms and the process saturates at one core.
 *
 * Pipeline: the main thread protects every subscriber's copy into a slot of the job (the
 * cipher stays on one thread: Debian's libsrtp2 runs on NSS, which takes process-wide locks
 * per packet, and threads that interleave in it contend and bounce those locks' cache lines),
 * and the helper threads send the slots as they become ready; once the main thread has
 * protected the last one, it sends too. fanout_end returns when every slot is sent. Nothing
 * else runs on the main thread meanwhile, so the rest of the SFU stays single threaded: the
 * send function may touch only the state of its own destination, and each destination is in
 * one slot. Helpers that wake late find nothing left and cost nothing; small jobs, or a pool
 * without helpers, send each slot at once on the main thread. */
#ifndef SFU_FANOUT_H
#define SFU_FANOUT_H
#include <stddef.h>
#include <stdint.h>

typedef struct fanout fanout_t;

/* Room of one slot: a protected RTP packet. */
#define FANOUT_SLOT 1664

/* Sends slot buf[0..len) to dst; returns the bytes sent (0: dropped). Runs on any thread. */
typedef size_t (*fanout_send_fn)(void *dst, const uint8_t *buf, size_t len);

/* A pool of `helpers` threads (0: everything inline) used for jobs of at least min_parallel
 * slots (smaller ones run inline: waking a helper costs more than it saves). Returns NULL when
 * a thread cannot be started (the caller may run without). */
fanout_t *fanout_new(int helpers, int min_parallel);
/* Stops and joins the helpers. NULL is ignored. */
void fanout_free(fanout_t *f);
int fanout_helpers(const fanout_t *f);

/* Starts a job of at most n slots, each to be sent with send (main thread; jobs do not
 * nest). */
void fanout_begin(fanout_t *f, int n, fanout_send_fn send);
/* The next slot's buffer (FANOUT_SLOT bytes), valid until fanout_push or fanout_end. */
uint8_t *fanout_slot(fanout_t *f);
/* The slot from fanout_slot holds len bytes for dst: it may be sent from now on. */
void fanout_push(fanout_t *f, void *dst, size_t len);
/* Sends what is left, waits until every slot is sent and returns the bytes sent. */
uint64_t fanout_end(fanout_t *f);

#endif
