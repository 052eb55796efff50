/* signal/strmap.c: see strmap.h. The hash is SipHash-1-3 through OpenSSL (EVP_MAC "SIPHASH",
 * c-rounds 1, d-rounds 3, 8-byte output); one MAC context, keyed once, is re-initialised per
 * hash without a new key, which costs no allocation (about 40 ns for a 20-byte sid). */
#include "strmap.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static EVP_MAC_CTX *mac_ctx;  /* keyed SipHash-1-3, or NULL when unavailable */
static uint64_t fallback_key; /* used only if OpenSSL could not provide SipHash */
static bool keyed;

static void set_key(const unsigned char key[16])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    size_t size = 8;
    unsigned int crounds = 1, drounds = 3;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
        OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &crounds),
        OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &drounds),
        OSSL_PARAM_construct_end(),
    };
    if (ctx && EVP_MAC_init(ctx, key, 16, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    EVP_MAC_CTX_free(mac_ctx);
    mac_ctx = ctx;
    memcpy(&fallback_key, key, sizeof fallback_key);
    if (!ctx) {
        LOG_W("strmap", "SipHash unavailable, using a seeded FNV-1a", NULL);
    }
    keyed = true;
}

static void ensure_key(void)
{
    if (keyed) {
        return;
    }
    unsigned char key[16];
    if (RAND_bytes(key, sizeof key) != 1) {
        /* no CSPRNG: still better than a fixed key */
        uint64_t t = (uint64_t)(uintptr_t)&key ^ (uint64_t)rand();
        memcpy(key, &t, sizeof t);
        memcpy(key + 8, &t, sizeof t);
        LOG_W("strmap", "RAND_bytes failed: weak hash key", NULL);
    }
    set_key(key);
}

void strmap_set_key(const unsigned char key[16])
{
    set_key(key);
}

size_t strmap_hash(const char *s)
{
    ensure_key();
    size_t len = strlen(s);
    unsigned char out[8];
    size_t outl = 0;
    if (mac_ctx && EVP_MAC_init(mac_ctx, NULL, 0, NULL) == 1 &&
        EVP_MAC_update(mac_ctx, (const unsigned char *)s, len) == 1 &&
        EVP_MAC_final(mac_ctx, out, &outl, sizeof out) == 1 && outl == 8) {
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) {
            h = h << 8 | out[i]; /* SipHash's output is little-endian */
        }
        return (size_t)h;
    }
    uint64_t h = 1469598103934665603ULL ^ fallback_key;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

void strmap_init(strmap_t *m)
{
    ensure_key();
    m->nb = 16;
    m->n = 0;
    m->b = xcalloc(m->nb, sizeof(*m->b));
}

void strmap_deinit(strmap_t *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        strmap_ent_t *e = m->b[i];
        while (e) {
            strmap_ent_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

static strmap_ent_t **find(const strmap_t *m, const char *key, size_t h)
{
    strmap_ent_t **pp = &m->b[h & (m->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0)) {
        pp = &(*pp)->next;
    }
    return pp;
}

void *strmap_get(const strmap_t *m, const char *key)
{
    if (!m->b) {
        return NULL;
    }
    strmap_ent_t **pp = find(m, key, strmap_hash(key));
    return *pp ? (*pp)->val : NULL;
}

static void grow(strmap_t *m)
{
    size_t nb = m->nb * 2;
    strmap_ent_t **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nb; i++) {
        strmap_ent_t *e = m->b[i];
        while (e) {
            strmap_ent_t *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void *strmap_put(strmap_t *m, const char *key, void *val)
{
    size_t h = strmap_hash(key);
    strmap_ent_t **pp = find(m, key, h);
    if (*pp) {
        void *old = (*pp)->val;
        (*pp)->val = val;
        return old;
    }
    size_t kl = strlen(key);
    strmap_ent_t *e = xmalloc(sizeof(*e) + kl + 1);
    memcpy(e->key, key, kl + 1);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *pp = e;
    if (++m->n > m->nb) {
        grow(m);
    }
    return NULL;
}

void *strmap_del(strmap_t *m, const char *key)
{
    if (!m->b) {
        return NULL;
    }
    strmap_ent_t **pp = find(m, key, strmap_hash(key));
    strmap_ent_t *e = *pp;
    if (!e) {
        return NULL;
    }
    void *val = e->val;
    *pp = e->next;
    free(e);
    m->n--;
    return val;
}

strmap_ent_t *strmap_first(const strmap_t *m, size_t *i)
{
    for (*i = 0; *i < m->nb; (*i)++) {
        if (m->b[*i]) {
            return m->b[*i];
        }
    }
    return NULL;
}

strmap_ent_t *strmap_next(const strmap_t *m, strmap_ent_t *e, size_t *i)
{
    if (e->next) {
        return e->next;
    }
    for ((*i)++; *i < m->nb; (*i)++) {
        if (m->b[*i]) {
            return m->b[*i];
        }
    }
    return NULL;
}
