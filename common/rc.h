/* common/rc.h: an embedded, non-atomic reference count (Janus refcount.h, single thread).
 * Embed an rc_t in the object, rc_init() it with the free function, and reach the object
 * from the rc_t with container_of. The free function runs when the count reaches 0. */
#ifndef COMMON_RC_H
#define COMMON_RC_H
#include <assert.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

typedef struct rc {
    unsigned count;
    void (*free)(struct rc *rc);
} rc_t;

static inline void rc_init(rc_t *rc, void (*free_fn)(rc_t *))
{
    rc->count = 1;
    rc->free = free_fn;
}

static inline void rc_ref(rc_t *rc)
{
    assert(rc->count > 0);
    rc->count++;
}

/* Drops one reference; frees the object when it was the last. Returns 1 if freed. */
static inline int rc_unref(rc_t *rc)
{
    assert(rc->count > 0);
    if (--rc->count == 0) {
        rc->free(rc);
        return 1;
    }
    return 0;
}

#endif
