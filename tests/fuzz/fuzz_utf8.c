/* tests/fuzz/fuzz_utf8.c: proto/utf8. Whole and split incremental validation must agree;
 * on valid input the counts, the UTF-16 offsets and the text rule must be consistent. */
#include <stdlib.h>

#include "proto/err.h"
#include "proto/utf8.h"

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_valid(const uint8_t *s, size_t n)
{
    size_t cps = utf8_cp_count(s, n), units = utf8_utf16_len(s, n);
    CHECK(cps <= n && units >= cps && units <= 2 * cps);
    CHECK(utf8_utf16_offset(s, n, units) == (ssize_t)n);
    CHECK(utf8_utf16_offset(s, n, units + 1) == PROTO_EAGAIN);
    size_t prev = 0;
    for (size_t u = 0; u <= units && u < 512; u++) {
        ssize_t off = utf8_utf16_offset(s, n, u);
        if (off == PROTO_EINVAL) {
            continue; /* inside a surrogate pair */
        }
        CHECK(off >= 0 && (size_t)off >= prev && (size_t)off <= n);
        CHECK(utf8_utf16_len(s, (size_t)off) == u && utf8_validate(s, (size_t)off, NULL) == 0);
        prev = (size_t)off;
    }
    size_t tc = 0;
    const char *why = NULL;
    int rc = utf8_text_check(s, n, 1, 64, &tc, &why);
    CHECK(rc == 0 ? (tc == cps && cps >= 1 && cps <= 64) : why != NULL && rc != PROTO_EUTF8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bad = 0;
    int whole = utf8_validate(data, size, &bad);
    CHECK(whole == 0 || (whole == PROTO_EUTF8 && bad <= size));
    /* The prefix before the first bad byte never contains an invalid byte. */
    if (whole != 0) {
        utf8_state_t st;
        utf8_state_init(&st);
        CHECK(utf8_feed(&st, data, bad) == 0);
    }
    /* Split in two at a position chosen by the data: same verdict. */
    size_t cut = size ? data[0] % (size + 1) : 0;
    utf8_state_t st;
    utf8_state_init(&st);
    int inc = utf8_feed(&st, data, cut);
    if (inc == 0) {
        inc = utf8_feed(&st, data + cut, size - cut);
    }
    if (inc == 0) {
        inc = utf8_finish(&st);
    }
    CHECK((inc == 0) == (whole == 0));
    if (whole == 0) {
        check_valid(data, size);
    } else {
        CHECK(utf8_text_check(data, size, 0, SIZE_MAX, NULL, NULL) == PROTO_EUTF8);
    }
    return 0;
}
