/* proto/utf8.h: UTF-8 validation (whole and incremental), code-point and UTF-16 counting for
 * Engine.IO v3 length prefixes, and the text rule PROTOCOL.md applies to chat and titles.
 * Pure: no I/O, no allocation, no globals. Validation follows Unicode 15 table 3-7
 * (RFC 3629): overlongs, surrogates U+D800..U+DFFF and code points past U+10FFFF are invalid. */
#ifndef PROTO_UTF8_H
#define PROTO_UTF8_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Incremental validator state for input that arrives in pieces (WebSocket fragments).
 * Zero-initialised (or utf8_state_init) means "at a character boundary". */
typedef struct utf8_state {
    /* private */
    uint8_t need; /* continuation bytes still expected */
    uint8_t lo;   /* allowed range of the next continuation byte */
    uint8_t hi;
} utf8_state_t;

/* Returns 0 if s[0..len) is valid UTF-8, else PROTO_EUTF8; *bad_off (if not NULL) gets the
 * offset of the first byte that cannot start or continue a valid sequence (len when the input
 * ends inside a sequence). */
int utf8_validate(const uint8_t *s, size_t len, size_t *bad_off);

void utf8_state_init(utf8_state_t *st);

/* Feeds s[0..len) to the incremental validator. Returns 0 (valid so far, possibly inside a
 * sequence) or PROTO_EUTF8 as soon as a byte makes the input invalid (fail fast: "\xF4\x90" is
 * rejected at its second byte). After an error the state is undefined until re-initialised. */
int utf8_feed(utf8_state_t *st, const uint8_t *s, size_t len);

/* Returns 0 if the input fed so far ends on a character boundary, else PROTO_EUTF8. */
int utf8_finish(const utf8_state_t *st);

/* Number of code points in s[0..len). The input must be valid UTF-8 (counts lead bytes). */
size_t utf8_cp_count(const uint8_t *s, size_t len);

/* Number of UTF-16 code units s[0..len) would take, which is what a JavaScript string's
 * .length says (Engine.IO v3 payload length prefixes): 1 per code point, 2 for code points
 * past U+FFFF ("\xF0\x9F\x98\x80" counts 2). The input must be valid UTF-8. */
size_t utf8_utf16_len(const uint8_t *s, size_t len);

/* Byte offset in s[0..len) that lies after `units` UTF-16 code units, for slicing a v3
 * payload "<units>:<packet>". The input must be valid UTF-8. Returns the offset (<= len),
 * PROTO_EAGAIN if the input holds fewer than `units` units, or PROTO_EINVAL if the boundary
 * falls between the two halves of a surrogate pair (a split emoji). */
ssize_t utf8_utf16_offset(const uint8_t *s, size_t len, size_t units);

/* The text rule for chat messages and titles (PROTOCOL.md): valid UTF-8 of min_cp..max_cp
 * code points, without C0 controls other than \n and \t, without DEL (U+007F) and without C1
 * controls (U+0080..U+009F). Returns 0 and stores the code-point count in *cp_count (if not
 * NULL), or a negative code with *why (if not NULL) set to a static reason:
 * PROTO_EUTF8 (invalid UTF-8), PROTO_EINVAL (too short / empty, or a control character),
 * PROTO_ETOOBIG (more than max_cp code points). */
int utf8_text_check(const uint8_t *s, size_t len, size_t min_cp, size_t max_cp, size_t *cp_count,
                    const char **why);

#endif
