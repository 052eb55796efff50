/* sfu/pktcache.c: see pktcache.h. */
#include "pktcache.h"
#include <glib.h>
#include <string.h>

typedef struct slot {
    uint64_t at_ms;
    uint16_t seq;
    uint16_t len; /* 0: empty */
    uint8_t data[PKTCACHE_SLOT_MAX];
} slot_t;

struct pktcache {
    size_t mask;
    slot_t *slots;
};

pktcache_t *pktcache_new(size_t slots)
{
    if (slots < 16 || (slots & (slots - 1)) != 0 || slots > 65536) {
        return NULL;
    }
    pktcache_t *c = g_new0(pktcache_t, 1);
    c->mask = slots - 1;
    c->slots = g_new0(slot_t, slots);
    return c;
}

void pktcache_free(pktcache_t *c)
{
    if (c) {
        g_free(c->slots);
        g_free(c);
    }
}

int pktcache_put(pktcache_t *c, uint16_t seq, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
    if (len == 0 || len > PKTCACHE_SLOT_MAX) {
        return -1;
    }
    slot_t *s = &c->slots[seq & c->mask];
    s->seq = seq;
    s->len = (uint16_t)len;
    s->at_ms = now_ms;
    memcpy(s->data, pkt, len);
    return 0;
}

size_t pktcache_get(const pktcache_t *c, uint16_t seq, uint64_t now_ms, uint64_t max_age_ms,
                    const uint8_t **pkt)
{
    const slot_t *s = &c->slots[seq & c->mask];
    if (s->len == 0 || s->seq != seq || now_ms - s->at_ms > max_age_ms) {
        return 0;
    }
    *pkt = s->data;
    return s->len;
}

void pktcache_clear(pktcache_t *c)
{
    for (size_t i = 0; i <= c->mask; i++) {
        c->slots[i].len = 0;
    }
}
