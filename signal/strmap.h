/* signal/strmap.h: a small string-keyed hash map (separate chaining, power-of-two buckets,
 * grows at load 1). Keys are copied and owned by the map; values are borrowed pointers. Used
 * for sid -> session, socket id -> socket, room name -> room, client address -> rate bucket.
 *
 * Keys are often chosen by clients (room names, sids, addresses), so the hash is keyed:
 * SipHash-1-3 (OpenSSL's EVP_MAC "SIPHASH", 64-bit output) with a 128-bit key drawn from
 * RAND_bytes once per process. Without the key an attacker cannot compute which keys collide,
 * so chains stay short on average whatever the keys; callers still cap how many they insert.
 * Bucket order (iteration order) therefore differs from run to run. One thread only (the
 * loop's): the hash context is process-wide. */
#ifndef SIGNAL_STRMAP_H
#define SIGNAL_STRMAP_H
#include <stddef.h>

typedef struct strmap_ent {
    struct strmap_ent *next;
    void *val;
    size_t hash;
    char key[]; /* NUL-terminated copy */
} strmap_ent_t;

typedef struct strmap {
    strmap_ent_t **b;
    size_t nb, n;
} strmap_t;

void strmap_init(strmap_t *m);
/* Frees the entries (not the values). */
void strmap_deinit(strmap_t *m);
void *strmap_get(const strmap_t *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(strmap_t *m, const char *key, void *val);
/* Removes; returns the value or NULL. */
void *strmap_del(strmap_t *m, const char *key);
/* Iteration: for (strmap_ent_t *e = strmap_first(m, &i); e; e = strmap_next(m, e, &i)).
 * Deleting the current entry during iteration is not allowed: collect keys first. */
strmap_ent_t *strmap_first(const strmap_t *m, size_t *i);
strmap_ent_t *strmap_next(const strmap_t *m, strmap_ent_t *e, size_t *i);

/* The keyed hash of s used by every map. */
size_t strmap_hash(const char *s);
/* Replaces the process key (tests only: call before any map holds entries, whose stored
 * hashes would no longer match). */
void strmap_set_key(const unsigned char key[16]);

#endif
