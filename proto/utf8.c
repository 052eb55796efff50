/* proto/utf8.c: UTF-8 validation and counting. The validator tracks, for the next
 * continuation byte, the range Unicode table 3-7 allows; narrowing the range after the lead
 * byte rejects overlongs (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past
 * U+10FFFF (F4 90..BF) at the first byte that makes them impossible. */
#include "utf8.h"

#include "err.h"

void utf8_state_init(utf8_state_t *st)
{
    st->need = 0;
    st->lo = 0x80;
    st->hi = 0xBF;
}

/* Sets the state for lead byte c. Returns false if c cannot start a sequence
 * (a continuation byte, C0/C1 which only make overlongs, F5..FF past U+10FFFF). */
static bool lead(utf8_state_t *st, uint8_t c)
{
    st->lo = 0x80;
    st->hi = 0xBF;
    if (c < 0x80) {
        st->need = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
        st->need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        st->need = 2;
        if (c == 0xE0) {
            st->lo = 0xA0; /* below: overlong */
        } else if (c == 0xED) {
            st->hi = 0x9F; /* above: surrogates D800..DFFF */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        st->need = 3;
        if (c == 0xF0) {
            st->lo = 0x90; /* below: overlong */
        } else if (c == 0xF4) {
            st->hi = 0x8F; /* above: past U+10FFFF */
        }
    } else {
        return false;
    }
    return true;
}

/* Returns the number of bytes of s[0..len) consumed before an invalid byte (len if none). */
static size_t feed(utf8_state_t *st, const uint8_t *s, size_t len, bool *bad)
{
    size_t i = 0;
    *bad = false;
    while (i < len) {
        uint8_t c = s[i];
        if (st->need == 0) {
            /* Fast path over ASCII runs. */
            if (c < 0x80) {
                i++;
                continue;
            }
            if (!lead(st, c)) {
                *bad = true;
                return i;
            }
        } else {
            if (c < st->lo || c > st->hi) {
                *bad = true;
                return i;
            }
            st->need--;
            st->lo = 0x80;
            st->hi = 0xBF;
        }
        i++;
    }
    return i;
}

int utf8_validate(const uint8_t *s, size_t len, size_t *bad_off)
{
    utf8_state_t st;
    bool bad;
    utf8_state_init(&st);
    size_t n = feed(&st, s, len, &bad);
    if (bad || st.need != 0) {
        if (bad_off) {
            *bad_off = n;
        }
        return PROTO_EUTF8;
    }
    return 0;
}

int utf8_feed(utf8_state_t *st, const uint8_t *s, size_t len)
{
    bool bad;
    feed(st, s, len, &bad);
    return bad ? PROTO_EUTF8 : 0;
}

int utf8_finish(const utf8_state_t *st)
{
    return st->need == 0 ? 0 : PROTO_EUTF8;
}

size_t utf8_cp_count(const uint8_t *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += (s[i] & 0xC0) != 0x80;
    }
    return n;
}

size_t utf8_utf16_len(const uint8_t *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        /* A lead byte counts 1; a 4-byte lead (F0..F7) counts 2 (a surrogate pair). */
        n += ((s[i] & 0xC0) != 0x80) + (s[i] >= 0xF0);
    }
    return n;
}

/* Length of the sequence a lead byte starts (1 for anything unexpected, so the walk always
 * advances; valid input never has those). */
static size_t seq_len(uint8_t c)
{
    if (c >= 0xF0) {
        return 4;
    }
    if (c >= 0xE0) {
        return 3;
    }
    if (c >= 0xC0) {
        return 2;
    }
    return 1;
}

ssize_t utf8_utf16_offset(const uint8_t *s, size_t len, size_t units)
{
    size_t i = 0, u = 0;
    while (u < units) {
        if (i >= len) {
            return PROTO_EAGAIN;
        }
        size_t n = seq_len(s[i]);
        if (n == 4) {
            if (u + 1 == units) {
                return PROTO_EINVAL; /* the boundary splits a surrogate pair */
            }
            u += 2;
        } else {
            u++;
        }
        if (n > len - i) {
            return PROTO_EAGAIN;
        }
        i += n;
    }
    return (ssize_t)i;
}

int utf8_text_check(const uint8_t *s, size_t len, size_t min_cp, size_t max_cp, size_t *cp_count,
                    const char **why)
{
    const char *dummy;
    if (!why) {
        why = &dummy;
    }
    if (utf8_validate(s, len, NULL) != 0) {
        *why = "text is not valid UTF-8";
        return PROTO_EUTF8;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c < 0x20 && c != '\n' && c != '\t') {
            *why = "text contains a control character";
            return PROTO_EINVAL;
        }
        if (c == 0x7F) {
            *why = "text contains DEL";
            return PROTO_EINVAL;
        }
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F (valid input: i + 1 < len). */
        if (c == 0xC2 && s[i + 1] <= 0x9F) {
            *why = "text contains a C1 control character";
            return PROTO_EINVAL;
        }
        n += (c & 0xC0) != 0x80;
    }
    if (n < min_cp) {
        *why = n == 0 ? "text is empty" : "text is too short";
        return PROTO_EINVAL;
    }
    if (n > max_cp) {
        *why = "text is too long";
        return PROTO_ETOOBIG;
    }
    if (cp_count) {
        *cp_count = n;
    }
    return 0;
}
