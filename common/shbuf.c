/* common/shbuf.c: see shbuf.h. */
#include "shbuf.h"
#include "xalloc.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

shbuf_t *shbuf_new(size_t len)
{
    shbuf_t *s = xmalloc(sizeof(*s) + len + 1);
    s->refs = 1;
    s->len = len;
    s->data[len] = 0;
    return s;
}

shbuf_t *shbuf_from(const void *p, size_t len)
{
    shbuf_t *s = shbuf_new(len);
    if (len) {
        memcpy(s->data, p, len);
    }
    return s;
}

shbuf_t *shbuf_ref(shbuf_t *s)
{
    assert(s->refs > 0);
    s->refs++;
    return s;
}

void shbuf_unref(shbuf_t *s)
{
    if (s && --s->refs == 0) {
        free(s);
    }
}
