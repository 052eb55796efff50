/* tests/unit/t.h: the project's tiny unit-test harness (after libuv's test/task.h).
 * TEST(name) { ... } registers itself; typed asserts print both sides and fail the current
 * test (a failed assert returns from the test function). main() is provided: it runs every
 * test (or those whose name contains argv[1]) and prints "N passed, N failed".
 * Built with ASan+UBSan+LSan: a leak makes the binary exit non-zero at the end, which the
 * suite runner counts as a failure. */
#ifndef TESTS_T_H
#define TESTS_T_H
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*t_fn)(void);
struct t_case {
    const char *name;
    t_fn fn;
    struct t_case *next;
};
extern struct t_case *t__head;
extern int t__failed_now;

#define TEST(name)                                                                                 \
    static void t_##name(void);                                                                    \
    __attribute__((constructor)) static void t_reg_##name(void)                                    \
    {                                                                                              \
        static struct t_case c = { #name, t_##name, NULL };                                        \
        struct t_case **pp = &t__head;                                                             \
        while (*pp)                                                                                \
            pp = &(*pp)->next;                                                                     \
        *pp = &c;                                                                                  \
    }                                                                                              \
    static void t_##name(void)

#define T_FAIL_(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        t__failed_now = 1;                                                                         \
        return;                                                                                    \
    } while (0)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            T_FAIL_("assertion failed: %s", #cond);                                                \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                           \
        if (a_ != b_)                                                                              \
            T_FAIL_("%s == %s: %jd != %jd", #a, #b, a_, b_);                                       \
    } while (0)
#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                           \
        if (a_ == b_)                                                                              \
            T_FAIL_("%s != %s: both %jd", #a, #b, a_);                                             \
    } while (0)
#define ASSERT_UEQ(a, b)                                                                           \
    do {                                                                                           \
        uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                                        \
        if (a_ != b_)                                                                              \
            T_FAIL_("%s == %s: %ju != %ju", #a, #b, a_, b_);                                       \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)
/* Compares a (pointer, length) pair with a C string literal or buffer of known length. */
#define ASSERT_MEM_EQ(a, alen, b, blen)                                                            \
    do {                                                                                           \
        const void *a_ = (a), *b_ = (b);                                                           \
        size_t al_ = (size_t)(alen), bl_ = (size_t)(blen);                                         \
        if (al_ != bl_ || (al_ && memcmp(a_, b_, al_) != 0))                                       \
            T_FAIL_("%s == %s: \"%.*s\" (%zu) != \"%.*s\" (%zu)", #a, #b, (int)al_,                \
                    a_ ? (const char *)a_ : "", al_, (int)bl_, b_ ? (const char *)b_ : "", bl_);   \
    } while (0)
#define ASSERT_SPAN_STR(p, len, s) ASSERT_MEM_EQ(p, len, s, strlen(s))

#ifndef T_NO_MAIN
struct t_case *t__head;
int t__failed_now;

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (struct t_case *c = t__head; c; c = c->next) {
        if (argc > 1 && !strstr(c->name, argv[1])) {
            continue;
        }
        t__failed_now = 0;
        c->fn();
        if (t__failed_now) {
            fprintf(stderr, "FAIL %s\n", c->name);
            failed++;
        } else {
            if (getenv("T_VERBOSE")) {
                fprintf(stderr, "ok   %s\n", c->name);
            }
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
#endif
#endif
