/* signal/strmap.c: see strmap.h. FNV-1a hashing; keys come from our own generators or are
 * bounded by the callers (room names), so no keyed hash is needed against flooding. */
#include "strmap.h"
#include "../common/xalloc.h"
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
    size_t h = (size_t)1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= (size_t)1099511628211ULL;
    }
    return h;
}

void strmap_init(strmap_t *m)
{
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
    strmap_ent_t **pp = find(m, key, hash_str(key));
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
    size_t h = hash_str(key);
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
    strmap_ent_t **pp = find(m, key, hash_str(key));
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
