/* proto/sdp_int.h: helpers shared by proto/sdp*.c only (not part of the SDP API): spans of
 * the input text and their tokenizing. Nothing here reads past a span's end. */
#ifndef PROTO_SDP_INT_H
#define PROTO_SDP_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct span {
    const char *p;
    size_t n;
} span_t;

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static inline span_t trim(span_t t)
{
    while (t.n && is_space(t.p[0])) {
        t.p++, t.n--;
    }
    while (t.n && is_space(t.p[t.n - 1])) {
        t.n--;
    }
    return t;
}

/* Splits the next whitespace-separated token off *rest. Returns false when none is left. */
static inline bool next_tok(span_t *rest, span_t *tok)
{
    *rest = trim(*rest);
    if (!rest->n) {
        return false;
    }
    size_t i = 0;
    while (i < rest->n && !is_space(rest->p[i])) {
        i++;
    }
    tok->p = rest->p;
    tok->n = i;
    rest->p += i;
    rest->n -= i;
    return true;
}

static inline bool span_eq(span_t t, const char *lit)
{
    size_t n = strlen(lit);
    return t.n == n && memcmp(t.p, lit, n) == 0;
}

static inline bool span_ieq(span_t t, const char *lit)
{
    size_t n = strlen(lit);
    if (t.n != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(t.p[i]) != lower(lit[i])) {
            return false;
        }
    }
    return true;
}

/* Decimal digits only (no sign, no spaces), 1..20 of them, value <= max. */
static inline bool span_u64(span_t t, uint64_t max, uint64_t *out)
{
    if (t.n == 0 || t.n > 20) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9') {
            return false;
        }
        unsigned d = (unsigned)(t.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

#endif
