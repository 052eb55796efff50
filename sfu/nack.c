/* sfu/nack.c: see nack.h. */
#include "nack.h"
#include "../proto/rtp.h"
#include <string.h>

void nackgen_init(nackgen_t *g)
{
    memset(g, 0, sizeof *g);
}

static void drop_at(nackgen_t *g, size_t i)
{
    memmove(&g->e[i], &g->e[i + 1], (g->n - i - 1) * sizeof g->e[0]);
    g->n--;
}

static void add_missing(nackgen_t *g, uint16_t seq, uint64_t now_ms)
{
    if (g->n == NACK_MAX_MISSING) {
        drop_at(g, 0); /* the oldest is the least likely to be worth asking for */
        g->given_up++;
    }
    g->e[g->n++] = (nack_entry_t){ .seq = seq, .tries = 0, .first_ms = now_ms, .last_ms = 0 };
}

int nackgen_on_packet(nackgen_t *g, uint16_t seq, uint64_t now_ms)
{
    if (!g->init) {
        g->init = true;
        g->max_seq = seq;
        return 0;
    }
    int d = rtp_seq_diff(g->max_seq, seq);
    if (d == 0) {
        return 0; /* duplicate of the newest */
    }
    if (d < 0) {
        if (d < -NACK_MAX_GAP) {
            /* far behind: the sender restarted its numbering */
            g->n = 0;
            g->max_seq = seq;
            return 0;
        }
        for (size_t i = 0; i < g->n; i++) {
            if (g->e[i].seq == seq) {
                drop_at(g, i);
                g->recovered++;
                break;
            }
        }
        return 0;
    }
    if (d > NACK_MAX_GAP) {
        g->n = 0;
        g->max_seq = seq;
        return 0;
    }
    int missing = d - 1;
    for (int i = 1; i < d; i++) {
        add_missing(g, (uint16_t)(g->max_seq + i), now_ms);
    }
    g->max_seq = seq;
    return missing;
}

bool nackgen_missing(const nackgen_t *g, uint16_t seq)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->e[i].seq == seq) {
            return true;
        }
    }
    return false;
}

size_t nackgen_collect(nackgen_t *g, uint64_t now_ms, uint64_t retry_ms, uint16_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n;) {
        nack_entry_t *e = &g->e[i];
        if (e->tries >= NACK_MAX_TRIES || now_ms - e->first_ms > NACK_MAX_AGE_MS) {
            drop_at(g, i);
            g->given_up++;
            continue;
        }
        if (n < cap && (e->tries == 0 || now_ms - e->last_ms >= retry_ms)) {
            out[n++] = e->seq;
            e->tries++;
            e->last_ms = now_ms;
        }
        i++;
    }
    return n;
}
