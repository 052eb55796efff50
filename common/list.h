/* common/list.h: intrusive circular doubly-linked list (libuv's QUEUE, Linux list.h).
 * An empty list is a head that points at itself. Nodes are embedded in their owners. */
#ifndef COMMON_LIST_H
#define COMMON_LIST_H
#include <stdbool.h>
#include <stddef.h>

typedef struct list {
    struct list *prev, *next;
} list_t;

#define list_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define list_foreach(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
/* Safe against removal of pos inside the body. */
#define list_foreach_safe(pos, tmp, head)                                                          \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

static inline void list_init(list_t *h)
{
    h->prev = h->next = h;
}

static inline bool list_empty(const list_t *h)
{
    return h->next == h;
}

static inline void list_insert_tail(list_t *h, list_t *n)
{
    n->next = h;
    n->prev = h->prev;
    h->prev->next = n;
    h->prev = n;
}

static inline void list_insert_head(list_t *h, list_t *n)
{
    n->prev = h;
    n->next = h->next;
    h->next->prev = n;
    h->next = n;
}

/* Unlinks n and makes it an empty list, so a second remove is harmless. */
static inline void list_remove(list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#endif
