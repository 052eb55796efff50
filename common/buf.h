/* common/buf.h: a growable byte buffer with a hard cap (curl's dynbuf "toobig").
 * The cap is checked before any allocation, so input from the network can never grow a
 * buffer past its configured limit. The buffer owns data; buf_deinit frees it. After any
 * append, data[len] is a NUL, so text in a buffer can be used as a C string. */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap; /* allocated bytes */
    size_t max; /* hard cap on len; 0 means SIZE_MAX */
} buf_t;

void buf_init(buf_t *b, size_t max);
void buf_deinit(buf_t *b);
/* Empties the buffer, keeping its allocation. */
void buf_reset(buf_t *b);
/* Makes room for n more bytes (and always one spare byte after them for a NUL). Returns 0, or PROTO_ETOOBIG when len + n would pass max. */
int buf_reserve(buf_t *b, size_t n);
/* Appends n bytes. Returns 0 or PROTO_ETOOBIG (nothing appended). */
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_str(buf_t *b, const char *s);
int buf_append_byte(buf_t *b, uint8_t c);
/* printf-style append. Returns 0 or PROTO_ETOOBIG. */
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Appends s[0..n) as a JSON string literal with quotes (escapes as JSON.stringify does). */
int buf_append_json_str(buf_t *b, const char *s, size_t n);
/* Drops the first n bytes (n <= len). */
void buf_consume(buf_t *b, size_t n);
/* Hands the data to the caller (who frees it with free()) and resets the buffer to empty. */
uint8_t *buf_steal(buf_t *b, size_t *len);

#endif
