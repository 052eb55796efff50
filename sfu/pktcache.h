/* sfu/pktcache.h: per-track cache of recent plain RTP packets, to answer subscribers' NACKs
 * without going upstream. A ring of fixed slots keyed by sequence number (slot = seq mod
 * capacity), allocated once when the track is set up: storing a packet never allocates. Pure:
 * no I/O. */
#ifndef SFU_PKTCACHE_H
#define SFU_PKTCACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKTCACHE_SLOTS    2048 /* power of two: >= 1 s of 1080p video (~500-900 packets/s) */
#define PKTCACHE_SLOT_MAX 1500 /* larger packets are not cached */

typedef struct pktcache pktcache_t;

/* Allocates a cache of `slots` slots (a power of two, >= 16). Returns NULL for a bad size. */
pktcache_t *pktcache_new(size_t slots);
void pktcache_free(pktcache_t *c);

/* Stores pkt[0..len) as sequence number seq, replacing whatever held its slot. Returns 0, or -1
 * when len is 0 or over PKTCACHE_SLOT_MAX (not stored). */
int pktcache_put(pktcache_t *c, uint16_t seq, const uint8_t *pkt, size_t len, uint64_t now_ms);

/* Finds seq. Returns the stored length and sets *pkt (borrowed until the next put), or 0 when
 * the packet is not held or is older than max_age_ms. */
size_t pktcache_get(const pktcache_t *c, uint16_t seq, uint64_t now_ms, uint64_t max_age_ms,
                    const uint8_t **pkt);

/* Forgets everything (an SSRC change). */
void pktcache_clear(pktcache_t *c);

#endif
