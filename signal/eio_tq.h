/* signal/eio_tq.h: timer queues: many one-shot deadlines on one uv_timer_t.
 *
 * A per-connection uv_timer_t costs ~150 bytes plus a handle in the loop; Engine.IO sessions
 * and Socket.IO clients need several deadlines each. Here every deadline kind is a FIFO list
 * with a fixed duration (so it stays sorted by deadline), and one timer per tq_t fires at the
 * earliest head. An entry (tq_ent_t, 24 bytes) is in at most one list; starting it again moves
 * it to the tail of the given list. Deadlines are in loop time (uv_now), ms-accurate.
 * Callbacks run on the loop with the entry already removed; they may start/stop any entry
 * (and free the object holding theirs). */
#ifndef SIGNAL_EIO_TQ_H
#define SIGNAL_EIO_TQ_H
#include "../common/list.h"
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define TQ_MAX_LISTS 8

typedef struct tq_ent {
    list_t link;
    uint64_t due;
} tq_ent_t;

typedef struct tq tq_t;
typedef struct tq_list {
    list_t head; /* tq_ent_t.link, earliest first */
    uint64_t dur_ms;
    void (*cb)(tq_ent_t *e);
    tq_t *tq;
} tq_list_t;

struct tq {
    uv_timer_t timer;
    tq_list_t *lists[TQ_MAX_LISTS];
    unsigned nlists;
    uint64_t armed_due; /* valid while armed */
    bool armed, closed;
};

/* Initialises q's timer on loop. */
void tq_init(tq_t *q, uv_loop_t *loop);
/* Adds a list of deadlines dur_ms (>= 1 is used) after their start; cb runs at each. */
void tq_list_init(tq_t *q, tq_list_t *l, uint64_t dur_ms, void (*cb)(tq_ent_t *));
static inline void tq_ent_init(tq_ent_t *e)
{
    list_init(&e->link);
}
static inline bool tq_active(const tq_ent_t *e)
{
    return !list_empty(&e->link);
}
/* (Re)starts e on list l: due dur_ms from now. */
void tq_start(tq_list_t *l, tq_ent_t *e);
/* Stops e (no-op when not started). */
void tq_stop(tq_ent_t *e);
/* Closes the timer; close_cb(handle) as uv_close's. Entries still pending never fire: the
 * owner stops or drains them (tq_pop_all). */
void tq_close(tq_t *q, uv_close_cb close_cb);
/* Removes and returns the first entry of l, or NULL. */
tq_ent_t *tq_pop(tq_list_t *l);

#endif
