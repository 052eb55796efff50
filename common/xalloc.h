/* common/xalloc.h: allocation that aborts on OOM (as Redis zmalloc). Sizes coming from the
 * network are checked against their configured caps before they reach these. */
#ifndef COMMON_XALLOC_H
#define COMMON_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copies n bytes into a fresh allocation (not NUL-terminated unless the bytes are). */
void *xmemdup(const void *p, size_t n);

#endif
