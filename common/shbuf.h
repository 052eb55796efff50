/* common/shbuf.h: a refcounted immutable byte buffer, to encode a broadcast once and hand
 * the same bytes to N sockets (h2o_mem_alloc_shared). Each pending write holds a reference. */
#ifndef COMMON_SHBUF_H
#define COMMON_SHBUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct shbuf {
    unsigned refs;
    size_t len;
    uint8_t data[]; /* len bytes, plus a NUL so text can be used as a C string */
} shbuf_t;

/* Allocates a buffer of len bytes (uninitialised, NUL after them) with one reference. */
shbuf_t *shbuf_new(size_t len);
/* Allocates and copies p[0..len). One reference. */
shbuf_t *shbuf_from(const void *p, size_t len);
shbuf_t *shbuf_ref(shbuf_t *s);
/* Drops a reference; frees at zero. NULL is ignored. */
void shbuf_unref(shbuf_t *s);

#endif
