/* tests/unit/test_strmap.c: signal/strmap.c: put/get/replace/delete, growth, iteration, and
 * the keyed hash (SipHash-1-3 through OpenSSL: a reference vector, and keys matter). */
#include "../../signal/strmap.h"
#include "t.h"
#include <stdio.h>

TEST(strmap_put_get_replace_delete)
{
    strmap_t m;
    strmap_init(&m);
    int a = 1, b = 2, c = 3;
    ASSERT(strmap_get(&m, "a") == NULL);
    ASSERT(strmap_put(&m, "a", &a) == NULL);
    ASSERT(strmap_put(&m, "", &b) == NULL); /* the empty key is a key */
    ASSERT(strmap_get(&m, "a") == &a);
    ASSERT(strmap_get(&m, "") == &b);
    ASSERT(strmap_put(&m, "a", &c) == &a); /* replace returns the old value */
    ASSERT(strmap_get(&m, "a") == &c);
    ASSERT_EQ(m.n, 2);
    ASSERT(strmap_del(&m, "a") == &c);
    ASSERT(strmap_del(&m, "a") == NULL);
    ASSERT(strmap_get(&m, "a") == NULL);
    ASSERT_EQ(m.n, 1);
    strmap_deinit(&m);
    ASSERT(strmap_get(&m, "") == NULL); /* a deinitialised map is empty */
    ASSERT(strmap_del(&m, "") == NULL);
}

TEST(strmap_grows_and_iterates)
{
    strmap_t m;
    strmap_init(&m);
    static int vals[5000];
    char k[32];
    for (int i = 0; i < 5000; i++) {
        vals[i] = i;
        snprintf(k, sizeof k, "room-%d", i);
        ASSERT(strmap_put(&m, k, &vals[i]) == NULL);
    }
    ASSERT_EQ(m.n, 5000);
    ASSERT(m.nb >= 5000);
    size_t i, seen = 0;
    long sum = 0;
    for (strmap_ent_t *e = strmap_first(&m, &i); e; e = strmap_next(&m, e, &i)) {
        seen++;
        sum += *(int *)e->val;
        ASSERT_EQ(e->hash, strmap_hash(e->key));
    }
    ASSERT_EQ(seen, 5000);
    ASSERT_EQ(sum, 4999L * 5000 / 2);
    for (int j = 0; j < 5000; j += 2) {
        snprintf(k, sizeof k, "room-%d", j);
        ASSERT(strmap_del(&m, k) == &vals[j]);
    }
    for (int j = 0; j < 5000; j++) {
        snprintf(k, sizeof k, "room-%d", j);
        ASSERT(strmap_get(&m, k) == (j % 2 ? &vals[j] : NULL));
    }
    strmap_deinit(&m);
}

TEST(strmap_hash_is_keyed_siphash13)
{
    /* the process key came from RAND_bytes: two hashes of one string agree, others differ */
    ASSERT_EQ(strmap_hash("sid-1"), strmap_hash("sid-1"));
    ASSERT(strmap_hash("sid-1") != strmap_hash("sid-2"));
    /* SipHash-1-3 reference: key 00..0f, empty message -> dc c4 0f 05 58 01 ac ab (LE) */
    unsigned char key[16];
    for (int i = 0; i < 16; i++) {
        key[i] = (unsigned char)i;
    }
    strmap_set_key(key);
    ASSERT_EQ((unsigned long long)strmap_hash(""), 0xabac0158050fc4dcULL);
    size_t h1 = strmap_hash("room");
    key[0] ^= 1; /* another key, other hashes: collisions cannot be precomputed */
    strmap_set_key(key);
    ASSERT(strmap_hash("room") != h1);
    key[0] ^= 1;
    strmap_set_key(key);
    ASSERT_EQ(strmap_hash("room"), h1);
    /* a map works with whatever key is in place when it is filled */
    strmap_t m;
    strmap_init(&m);
    int v = 7;
    strmap_put(&m, "x", &v);
    ASSERT(strmap_get(&m, "x") == &v);
    strmap_deinit(&m);
}

TEST(strmap_buckets_spread)
{
    /* keys an attacker could pick for FNV-1a (same prefix, one differing byte) spread over the
     * buckets: no bucket holds more than a handful of 4096 keys in 4096+ buckets */
    strmap_t m;
    strmap_init(&m);
    static int dummy;
    char k[16];
    for (int i = 0; i < 4096; i++) {
        snprintf(k, sizeof k, "aaaaaaaa%04x", i);
        strmap_put(&m, k, &dummy);
    }
    size_t longest = 0;
    for (size_t b = 0; b < m.nb; b++) {
        size_t n = 0;
        for (strmap_ent_t *e = m.b[b]; e; e = e->next) {
            n++;
        }
        longest = n > longest ? n : longest;
    }
    ASSERT(longest <= 12);
    strmap_deinit(&m);
}
