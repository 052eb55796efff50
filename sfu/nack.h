/* sfu/nack.h: upstream loss tracking for one publisher track: sequence gaps become NACK
 * candidates (RFC 4585 generic NACK), retried a few times while the packet may still be useful,
 * then counted as lost. Pure: no I/O, no allocation (the list is fixed size). */
#ifndef SFU_NACK_H
#define SFU_NACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NACK_MAX_MISSING 256 /* sequence numbers tracked at once; older ones are given up */
#define NACK_MAX_GAP     512 /* a larger jump is a stream reset, not a loss */
#define NACK_MAX_TRIES   3
#define NACK_MAX_AGE_MS  1000 /* a retransmission later than this is useless to viewers */

typedef struct nack_entry {
    uint16_t seq;
    uint8_t tries;
    uint64_t first_ms, last_ms;
} nack_entry_t;

typedef struct nackgen {
    bool init;
    uint16_t max_seq; /* highest sequence number seen */
    uint16_t n;
    nack_entry_t e[NACK_MAX_MISSING]; /* in arrival order of the gaps (oldest first) */
    uint64_t given_up;                /* missing packets never recovered */
    uint64_t recovered;               /* missing packets that arrived later */
} nackgen_t;

void nackgen_init(nackgen_t *g);
/* Records an arriving sequence number. Returns how many numbers it revealed as missing. */
int nackgen_on_packet(nackgen_t *g, uint16_t seq, uint64_t now_ms);
/* True when seq is a missing number still tracked (a retransmission of it fills a gap). */
bool nackgen_missing(const nackgen_t *g, uint16_t seq);
/* Writes to out (at most cap) the missing numbers due for a NACK now: never asked, or asked
 * at least retry_ms ago; counts them as asked. Entries past NACK_MAX_TRIES or NACK_MAX_AGE_MS
 * are dropped into given_up. Returns the count written. */
size_t nackgen_collect(nackgen_t *g, uint64_t now_ms, uint64_t retry_ms, uint16_t *out, size_t cap);

#endif
