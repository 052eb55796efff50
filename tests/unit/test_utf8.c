/* tests/unit/test_utf8.c: proto/utf8: Autobahn-style (case 6.x) valid and invalid sequences,
 * fail-fast incremental validation, an exhaustive cross-check against a reference decoder,
 * UTF-16 counting for Engine.IO v3 and the chat text rule. */
#include "../../proto/err.h"
#include "../../proto/utf8.h"
#include "t.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

struct vcase {
    const char *name;
    const char *s;
    size_t len;
    size_t bad_off; /* first offending byte; len when truncated; SIZE_MAX when valid */
};
#define OK(name, lit)                        \
    {                                        \
        name, lit, sizeof(lit) - 1, SIZE_MAX \
    }
#define BAD(name, lit, off)             \
    {                                   \
        name, lit, sizeof(lit) - 1, off \
    }

static const struct vcase cases[] = {
    OK("empty", ""),
    OK("ascii", "Hello-2-World"),
    OK("nul", "a\0b"),
    OK("kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"),
    OK("U+0080", "\xC2\x80"),
    OK("U+07FF", "\xDF\xBF"),
    OK("U+0800", "\xE0\xA0\x80"),
    OK("U+D7FF", "\xED\x9F\xBF"),
    OK("U+E000", "\xEE\x80\x80"),
    OK("U+FFFD", "\xEF\xBF\xBD"),
    OK("U+FFFE noncharacter", "\xEF\xBF\xBE"),
    OK("U+FFFF noncharacter", "\xEF\xBF\xBF"),
    OK("U+10000", "\xF0\x90\x80\x80"),
    OK("U+10FFFF", "\xF4\x8F\xBF\xBF"),
    OK("emoji", "\xF0\x9F\x98\x80"),
    BAD("lone continuation 80", "\x80", 0),
    BAD("lone continuation BF", "\xBF", 0),
    BAD("continuations 80 BF 80", "\x80\xBF\x80", 0),
    BAD("ascii then continuation", "ab\x80", 2),
    BAD("5-byte form", "\xF8\x88\x80\x80\x80", 0),
    BAD("6-byte form", "\xFC\x84\x80\x80\x80\x80", 0),
    BAD("U+110000", "\xF4\x90\x80\x80", 1),
    BAD("F5 lead", "\xF5\x80\x80\x80", 0),
    BAD("F7 BF BF BF", "\xF7\xBF\xBF\xBF", 0),
    BAD("FE", "\xFE", 0),
    BAD("FF", "\xFF", 0),
    BAD("FE FE FF FF", "\xFE\xFE\xFF\xFF", 0),
    BAD("2-byte lead then space", "\xC2\x20", 1),
    BAD("3-byte lead then space", "\xE1\x20", 1),
    BAD("4-byte lead then space", "\xF1\x20", 1),
    BAD("2-byte truncated", "\xDF", 1),
    BAD("3-byte truncated 1", "\xEF", 1),
    BAD("3-byte truncated 2", "\xEF\xBF", 2),
    BAD("4-byte truncated 3", "\xF3\xBF\xBF", 3),
    BAD("truncated then ascii",
        "\xEF\xBF"
        "a",
        2),
    BAD("overlong / C0 AF", "\xC0\xAF", 0),
    BAD("overlong / E0 80 AF", "\xE0\x80\xAF", 1),
    BAD("overlong / F0 80 80 AF", "\xF0\x80\x80\xAF", 1),
    BAD("max overlong C1 BF", "\xC1\xBF", 0),
    BAD("max overlong E0 9F BF", "\xE0\x9F\xBF", 1),
    BAD("max overlong F0 8F BF BF", "\xF0\x8F\xBF\xBF", 1),
    BAD("overlong NUL C0 80", "\xC0\x80", 0),
    BAD("overlong NUL E0 80 80", "\xE0\x80\x80", 1),
    BAD("surrogate D800", "\xED\xA0\x80", 1),
    BAD("surrogate DB7F", "\xED\xAD\xBF", 1),
    BAD("surrogate DB80", "\xED\xAE\x80", 1),
    BAD("surrogate DBFF", "\xED\xAF\xBF", 1),
    BAD("surrogate DC00", "\xED\xB0\x80", 1),
    BAD("surrogate DF80", "\xED\xBE\x80", 1),
    BAD("surrogate DFFF", "\xED\xBF\xBF", 1),
    BAD("surrogate pair", "\xED\xA0\x80\xED\xB0\x80", 1),
    BAD("autobahn 6.3.1", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80\x65\x64", 12),
    BAD("autobahn 6.4.1", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80", 12),
    BAD("autobahn 6.4.3", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x8F\xBF\xBF\x80", 15),
    BAD("cut 4-byte then 2-byte lead", "\xF0\x9F\x98\xC2\x80", 3),
};

TEST(utf8_validate_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct vcase *c = &cases[i];
        size_t off = 12345;
        int rc = utf8_validate((const uint8_t *)c->s, c->len, &off);
        if (c->bad_off == SIZE_MAX) {
            if (rc != 0) {
                T_FAIL_("case \"%s\": rejected at %zu", c->name, off);
            }
        } else if (rc != PROTO_EUTF8 || off != c->bad_off) {
            T_FAIL_("case \"%s\": rc %d off %zu, want off %zu", c->name, rc, off, c->bad_off);
        }
    }
}

/* Fed one byte at a time, an invalid input fails exactly at its offending byte (Autobahn
 * 6.4 "fail fast"), and a truncated one only at utf8_finish. */
TEST(utf8_incremental_fail_fast)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct vcase *c = &cases[i];
        utf8_state_t st;
        utf8_state_init(&st);
        size_t failed_at = SIZE_MAX;
        for (size_t j = 0; j < c->len; j++) {
            if (utf8_feed(&st, (const uint8_t *)c->s + j, 1) != 0) {
                failed_at = j;
                break;
            }
        }
        if (failed_at == SIZE_MAX && utf8_finish(&st) != 0) {
            failed_at = c->len;
        }
        if (failed_at != c->bad_off) {
            T_FAIL_("case \"%s\": failed at %zu, want %zu", c->name, failed_at, c->bad_off);
        }
    }
}

/* Every split of a valid string into two feeds validates. */
TEST(utf8_incremental_splits)
{
    static const char s[] = "a\xCE\xBA\xE1\xBD\xB9\xF0\x9F\x98\x80z\xF4\x8F\xBF\xBF";
    size_t len = sizeof s - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        utf8_state_t st;
        utf8_state_init(&st);
        ASSERT_EQ(utf8_feed(&st, (const uint8_t *)s, cut), 0);
        ASSERT_EQ(utf8_feed(&st, (const uint8_t *)s + cut, len - cut), 0);
        ASSERT_EQ(utf8_finish(&st), 0);
    }
    utf8_state_t st;
    utf8_state_init(&st);
    ASSERT_EQ(utf8_feed(&st, S("\xF0\x9F")), 0);
    ASSERT_EQ(utf8_finish(&st), PROTO_EUTF8);
    ASSERT_EQ(utf8_feed(&st, S("\x98")), 0);
    ASSERT_EQ(utf8_feed(&st, S("\x28")), PROTO_EUTF8);
}

/* Reference: decode by arithmetic (RFC 3629), independent of the validator's range table. */
static bool ref_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i < n) {
            return false;
        }
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n;
    }
    return true;
}

TEST(utf8_exhaustive_1_to_3_bytes)
{
    uint8_t b[3];
    for (uint32_t v = 0; v < 256; v++) {
        b[0] = (uint8_t)v;
        ASSERT_EQ(utf8_validate(b, 1, NULL) == 0, ref_valid(b, 1));
    }
    for (uint32_t v = 0; v < 65536; v++) {
        b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
        if ((utf8_validate(b, 2, NULL) == 0) != ref_valid(b, 2)) {
            T_FAIL_("mismatch on %02X %02X", b[0], b[1]);
        }
    }
    /* Three bytes: every lead 0xC0..0xFF with every pair after it. */
    for (uint32_t v = 0xC00000; v < 0x1000000; v++) {
        b[0] = (uint8_t)(v >> 16), b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)v;
        if ((utf8_validate(b, 3, NULL) == 0) != ref_valid(b, 3)) {
            T_FAIL_("mismatch on %02X %02X %02X", b[0], b[1], b[2]);
        }
    }
}

TEST(utf8_random_4_bytes)
{
    uint32_t x = 2463534242u; /* xorshift32: deterministic */
    uint8_t b[4];
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        memcpy(b, &x, 4);
        b[0] |= 0xE0; /* mostly 3- and 4-byte leads and the invalid F5..FF */
        if ((utf8_validate(b, 4, NULL) == 0) != ref_valid(b, 4)) {
            T_FAIL_("mismatch on %02X %02X %02X %02X", b[0], b[1], b[2], b[3]);
        }
    }
    /* Every 4-byte lead with every second byte, then valid continuations. */
    for (uint32_t l = 0xF0; l <= 0xFF; l++) {
        for (uint32_t s2 = 0; s2 < 256; s2++) {
            b[0] = (uint8_t)l, b[1] = (uint8_t)s2, b[2] = 0x80, b[3] = 0xBF;
            ASSERT_EQ(utf8_validate(b, 4, NULL) == 0, ref_valid(b, 4));
        }
    }
}

TEST(utf8_counts)
{
    ASSERT_UEQ(utf8_cp_count(S("")), 0);
    ASSERT_UEQ(utf8_cp_count(S("abc")), 3);
    ASSERT_UEQ(utf8_cp_count(S("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80")), 3);
    ASSERT_UEQ(utf8_utf16_len(S("")), 0);
    ASSERT_UEQ(utf8_utf16_len(S("abc")), 3);
    ASSERT_UEQ(utf8_utf16_len(S("\xC3\xA9")), 1);             /* e-acute */
    ASSERT_UEQ(utf8_utf16_len(S("\xE2\x82\xAC")), 1);         /* euro sign */
    ASSERT_UEQ(utf8_utf16_len(S("\xF0\x9F\x98\x80")), 2);     /* emoji: a surrogate pair */
    ASSERT_UEQ(utf8_utf16_len(S("\xF4\x8F\xBF\xBF")), 2);     /* U+10FFFF */
    ASSERT_UEQ(utf8_utf16_len(S("4hi\xF0\x9F\x98\x80!")), 6); /* "4hi😀!" */
}

TEST(utf8_utf16_offset)
{
    /* "a😀b€" = 61 | F0 9F 98 80 | 62 | E2 82 AC: units 1 + 2 + 1 + 1 */
    static const char s[] = "a\xF0\x9F\x98\x80"
                            "b\xE2\x82\xAC";
    const uint8_t *p = (const uint8_t *)s;
    size_t n = sizeof s - 1;
    ASSERT_EQ(utf8_utf16_offset(p, n, 0), 0);
    ASSERT_EQ(utf8_utf16_offset(p, n, 1), 1);
    ASSERT_EQ(utf8_utf16_offset(p, n, 2), PROTO_EINVAL); /* splits the emoji */
    ASSERT_EQ(utf8_utf16_offset(p, n, 3), 5);
    ASSERT_EQ(utf8_utf16_offset(p, n, 4), 6);
    ASSERT_EQ(utf8_utf16_offset(p, n, 5), 9);
    ASSERT_EQ(utf8_utf16_offset(p, n, 6), PROTO_EAGAIN);
    ASSERT_EQ(utf8_utf16_offset(p, 0, 0), 0);
    ASSERT_EQ(utf8_utf16_offset(p, 0, 1), PROTO_EAGAIN);
    /* A truncated sequence at the end is "more input needed", never a read past len. */
    ASSERT_EQ(utf8_utf16_offset(p, 3, 3), PROTO_EAGAIN);
    ASSERT_EQ(utf8_utf16_offset(p, 7, 5), PROTO_EAGAIN);
    /* A v3 payload "6:4hi😀!": the prefix counts UTF-16 units. */
    static const char v3[] = "4hi\xF0\x9F\x98\x80!2:40";
    ASSERT_EQ(utf8_utf16_offset((const uint8_t *)v3, sizeof v3 - 1, 6), 8);
}

struct tcase {
    const char *name;
    const char *s;
    size_t len;
    int rc;
};
#define T(name, lit, rc)               \
    {                                  \
        name, lit, sizeof(lit) - 1, rc \
    }

TEST(utf8_text_check)
{
    static const struct tcase tc[] = {
        T("plain", "hello", 0),
        T("newline and tab", "a\nb\tc", 0),
        T("emoji", "\xF0\x9F\x98\x80", 0),
        T("U+00A0 after C1 range", "\xC2\xA0", 0),
        T("U+00FF", "\xC3\xBF", 0),
        T("empty", "", PROTO_EINVAL),
        T("NUL", "a\0b", PROTO_EINVAL),
        T("CR", "a\rb", PROTO_EINVAL),
        T("ESC", "\x1b[31m", PROTO_EINVAL),
        T("0x1F", "\x1f", PROTO_EINVAL),
        T("DEL", "a\x7f", PROTO_EINVAL),
        T("C1 U+0080", "\xC2\x80", PROTO_EINVAL),
        T("C1 U+0085 NEL", "x\xC2\x85y", PROTO_EINVAL),
        T("C1 U+009F", "\xC2\x9F", PROTO_EINVAL),
        T("invalid UTF-8", "\xC3\x28", PROTO_EUTF8),
        T("surrogate", "\xED\xA0\x80", PROTO_EUTF8),
        T("six code points", "abcdef", PROTO_ETOOBIG),
        T("five emoji",
          "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
          "\xF0\x9F\x98\x80",
          0),
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        const char *why = NULL;
        size_t cps = 0;
        int rc = utf8_text_check((const uint8_t *)tc[i].s, tc[i].len, 1, 5, &cps, &why);
        if (rc != tc[i].rc) {
            T_FAIL_("case \"%s\": rc %d want %d (%s)", tc[i].name, rc, tc[i].rc, why ? why : "-");
        }
        if (rc != 0 && !why) {
            T_FAIL_("case \"%s\": no reason", tc[i].name);
        }
    }
    size_t cps = 0;
    ASSERT_EQ(utf8_text_check(S("\xF0\x9F\x98\x80x\xC3\xA9"), 1, 500, &cps, NULL), 0);
    ASSERT_UEQ(cps, 3);
    const char *why = NULL;
    ASSERT_EQ(utf8_text_check(S("ab"), 3, 10, NULL, &why), PROTO_EINVAL);
    ASSERT_STR_EQ(why, "text is too short");
    ASSERT_EQ(utf8_text_check(S(""), 1, 10, NULL, &why), PROTO_EINVAL);
    ASSERT_STR_EQ(why, "text is empty");
}
