/* signal/auth.c: JWT verification and minting on libjwt 1.10, token-source selection and
 * anonymous identities. See auth.h for the rules; c-deps.md 5 for what libjwt does not check. */
#include "auth.h"
#include "../common/xalloc.h"
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PEM_MAX (64 * 1024)

struct auth {
    unsigned char *secret; /* owned, NULL when unset */
    size_t secret_len;
    unsigned char *pub; /* owned PEM text, NULL when unset */
    size_t pub_len;
    jwt_alg_t pub_alg; /* RS256 or ES256, from the key type */
    bool allow_anonymous;
    int leeway_s;
};

void auth_identity_deinit(auth_identity_t *id)
{
    free(id->sub);
    free(id->name);
    for (size_t i = 0; i < id->nrooms; i++) {
        free(id->rooms[i]);
    }
    free(id->rooms);
    memset(id, 0, sizeof(*id));
}

void auth_identity_copy(auth_identity_t *dst, const auth_identity_t *src)
{
    *dst = *src;
    dst->sub = src->sub ? xstrdup(src->sub) : NULL;
    dst->name = src->name ? xstrdup(src->name) : NULL;
    dst->rooms = NULL;
    if (src->nrooms) {
        dst->rooms = xcalloc(src->nrooms, sizeof(char *));
        for (size_t i = 0; i < src->nrooms; i++) {
            dst->rooms[i] = xstrdup(src->rooms[i]);
        }
    }
}

bool auth_allows_room(const auth_identity_t *id, const char *room_id)
{
    if (!id->has_rooms) {
        return true;
    }
    for (size_t i = 0; i < id->nrooms; i++) {
        if (strcmp(id->rooms[i], room_id) == 0) {
            return true;
        }
    }
    return false;
}

const char *auth_role_str(auth_role_t r)
{
    return r == AUTH_ADMIN ? "admin" : "viewer";
}

const char *auth_src_str(auth_src_t s)
{
    switch (s) {
    case AUTH_SRC_PAYLOAD:
        return "payload";
    case AUTH_SRC_HEADER:
        return "header";
    case AUTH_SRC_QUERY:
        return "query";
    default:
        return "none";
    }
}

/* --- keys --- */

/* Reads a PEM value: inline text (contains "-----BEGIN") or a file path. Inline text from a
 * one-line environment variable may carry literal "\n" sequences: they become newlines. */
static int load_pem(const char *value, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    char *pem;
    if (strstr(value, "-----BEGIN")) {
        size_t n = strlen(value);
        if (n > PEM_MAX) {
            snprintf(err, errlen, "PEM key text over %d bytes", PEM_MAX);
            return -1;
        }
        pem = xmalloc(n + 1);
        size_t j = 0;
        bool real_nl = strchr(value, '\n') != NULL;
        for (size_t i = 0; i < n; i++) {
            if (!real_nl && value[i] == '\\' && value[i + 1] == 'n') {
                pem[j++] = '\n';
                i++;
            } else {
                pem[j++] = value[i];
            }
        }
        pem[j] = 0;
        *len = j;
    } else {
        FILE *f = fopen(value, "rb");
        if (!f) {
            snprintf(err, errlen, "cannot open key file %s: %s", value, strerror(errno));
            return -1;
        }
        pem = xmalloc(PEM_MAX + 1);
        size_t n = fread(pem, 1, PEM_MAX + 1, f);
        fclose(f);
        if (n == 0 || n > PEM_MAX) {
            free(pem);
            snprintf(err, errlen, "key file %s is empty or over %d bytes", value, PEM_MAX);
            return -1;
        }
        pem[n] = 0;
        *len = n;
    }
    *out = (unsigned char *)pem;
    return 0;
}

/* Maps a PEM key to the one algorithm it may verify/sign: RSA -> RS256, EC P-256 -> ES256.
 * Returns JWT_ALG_INVAL for anything else or a key that does not parse. */
static jwt_alg_t pem_alg(const unsigned char *pem, size_t len, bool private_key)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        return JWT_ALG_INVAL;
    }
    EVP_PKEY *k = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                              : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k) {
        return JWT_ALG_INVAL;
    }
    jwt_alg_t alg = JWT_ALG_INVAL;
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        /* RFC 7518 3.3: a key of 2048 bits or larger MUST be used with RS256 */
        alg = EVP_PKEY_get_bits(k) >= 2048 ? JWT_ALG_RS256 : JWT_ALG_INVAL;
    } else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        char group[64] = "";
        if (EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) == 1 &&
            (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)) {
            alg = JWT_ALG_ES256;
        }
    }
    EVP_PKEY_free(k);
    return alg;
}

int auth_new(const auth_cfg_t *cfg, auth_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->secret && strlen(cfg->secret) < AUTH_MIN_SECRET) {
        /* libjwt with key_len 0 skips the signature check (c-deps.md 5) */
        snprintf(err, errlen, "JWT_SECRET is set but empty");
        return -1;
    }
    if (!cfg->secret && !cfg->public_key && !cfg->allow_anonymous) {
        snprintf(err, errlen, "no JWT_SECRET or JWT_PUBLIC_KEY: no token could be verified");
        return -1;
    }
    auth_t *a = xcalloc(1, sizeof(*a));
    a->allow_anonymous = cfg->allow_anonymous;
    a->leeway_s = cfg->leeway_s < 0 ? AUTH_LEEWAY_S : cfg->leeway_s;
    if (cfg->secret) {
        a->secret_len = strlen(cfg->secret);
        a->secret = xmemdup(cfg->secret, a->secret_len + 1);
    }
    if (cfg->public_key) {
        if (load_pem(cfg->public_key, &a->pub, &a->pub_len, err, errlen) != 0) {
            goto fail;
        }
        a->pub_alg = pem_alg(a->pub, a->pub_len, false);
        if (a->pub_alg == JWT_ALG_INVAL) {
            snprintf(err, errlen,
                     "JWT_PUBLIC_KEY is not a PEM public key (BEGIN PUBLIC KEY) of type RSA "
                     "(2048 bits or more) or EC P-256");
            goto fail;
        }
    }
    *out = a;
    return 0;
fail:
    auth_free(a);
    return -1;
}

void auth_free(auth_t *a)
{
    if (!a) {
        return;
    }
    if (a->secret) {
        OPENSSL_cleanse(a->secret, a->secret_len);
    }
    free(a->secret);
    free(a->pub);
    free(a);
}

bool auth_anonymous_allowed(const auth_t *a)
{
    return a->allow_anonymous;
}

/* --- verification --- */

/* Decodes with one key and accepts the result only when the token's algorithm is the one bound
 * to that key (alg pinning: stops HS384/HS512 with the secret and HS256 signed with the PEM
 * public key as an HMAC secret). Returns the jwt or NULL; *why is updated with the most
 * specific failure seen so far. */
static jwt_t *decode_with(const char *token, const unsigned char *key, size_t len, jwt_alg_t want,
                          const char **why)
{
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, key, (int)len) != 0 || !jwt) {
        jwt_free(jwt);
        return NULL;
    }
    if (jwt_get_alg(jwt) != want) {
        *why = "algorithm not allowed";
        jwt_free(jwt);
        return NULL;
    }
    return jwt;
}

/* A NumericDate (RFC 7519 2): any JSON number. */
static int claim_time(json_t *c, const char *name, bool required, double *out, const char **why)
{
    json_t *v = json_object_get(c, name);
    if (!v) {
        if (required) {
            *why = "missing exp";
            return -1;
        }
        return 1;
    }
    if (!json_is_number(v)) {
        *why = strcmp(name, "exp") == 0 ? "exp is not a number" : "nbf is not a number";
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static int claim_str(json_t *c, const char *name, char **out, const char **why, const char *missing,
                     const char *bad)
{
    json_t *v = json_object_get(c, name);
    if (!v) {
        *why = missing;
        return -1;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > AUTH_MAX_CLAIM) {
        *why = bad;
        return -1;
    }
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int claim_rooms(json_t *c, auth_identity_t *out, const char **why)
{
    json_t *v = json_object_get(c, "rooms");
    if (!v) {
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > AUTH_MAX_ROOMS) {
        *why = "rooms is not an array of strings";
        return -1;
    }
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(v, i);
        if (!json_is_string(r) || json_string_length(r) > AUTH_MAX_CLAIM) {
            *why = "rooms is not an array of strings";
            return -1;
        }
    }
    out->has_rooms = true;
    out->rooms = n ? xcalloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++) {
        out->rooms[i] = xstrdup(json_string_value(json_array_get(v, i)));
        out->nrooms++;
    }
    return 0;
}

static int check_claims(const auth_t *a, json_t *c, int64_t now_s, auth_identity_t *out,
                        const char **why)
{
    double exp = 0, nbf = 0, now = (double)now_s, leeway = a->leeway_s;
    if (claim_time(c, "exp", true, &exp, why) != 0) {
        return -1;
    }
    /* as jsonwebtoken: expired when now >= exp + leeway; not active when nbf > now + leeway */
    if (now >= exp + leeway) {
        *why = "expired";
        return -1;
    }
    int r = claim_time(c, "nbf", false, &nbf, why);
    if (r < 0) {
        return -1;
    }
    if (r == 0 && nbf > now + leeway) {
        *why = "not yet valid (nbf)";
        return -1;
    }
    if (claim_str(c, "sub", &out->sub, why, "missing sub", "sub is not a non-empty string") != 0) {
        return -1;
    }
    json_t *role = json_object_get(c, "role");
    if (!role) {
        *why = "missing role";
        return -1;
    }
    if (json_is_string(role) && strcmp(json_string_value(role), "admin") == 0) {
        out->role = AUTH_ADMIN;
    } else if (json_is_string(role) && strcmp(json_string_value(role), "viewer") == 0) {
        out->role = AUTH_VIEWER;
    } else {
        *why = "role is not admin or viewer";
        return -1;
    }
    json_t *name = json_object_get(c, "name");
    if (json_is_string(name) && json_string_length(name) > AUTH_MAX_CLAIM) {
        *why = "name too long";
        return -1;
    }
    /* a missing (or empty, or non-string) name defaults to the sub (PROTOCOL.md 10) */
    out->name = xstrdup(
        json_is_string(name) && json_string_length(name) > 0 ? json_string_value(name) : out->sub);
    if (claim_rooms(c, out, why) != 0) {
        return -1;
    }
    out->exp = exp >= 9.2e18 ? INT64_MAX : (int64_t)exp;
    return 0;
}

int auth_verify(const auth_t *a, const char *token, int64_t now_s, auth_identity_t *out,
                const char **why)
{
    memset(out, 0, sizeof(*out));
    if (!token || !*token) {
        *why = "empty token";
        return -1;
    }
    if (strlen(token) > AUTH_MAX_TOKEN) {
        *why = "token too long";
        return -1;
    }
    *why = "bad signature or malformed token";
    jwt_t *jwt = NULL;
    if (a->secret) {
        jwt = decode_with(token, a->secret, a->secret_len, JWT_ALG_HS256, why);
    }
    if (!jwt && a->pub) {
        jwt = decode_with(token, a->pub, a->pub_len, a->pub_alg, why);
    }
    if (!jwt) {
        return -1;
    }
    char *grants = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    json_t *c = grants ? json_loads(grants, 0, NULL) : NULL;
    free(grants);
    if (!json_is_object(c)) {
        json_decref(c);
        *why = "claims are not a JSON object";
        return -1;
    }
    int rc = check_claims(a, c, now_s, out, why);
    json_decref(c);
    if (rc != 0) {
        auth_identity_deinit(out);
        return -1;
    }
    *why = NULL;
    return 0;
}

/* --- token sources --- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* application/x-www-form-urlencoded decoding of s[0..n) into a fresh string. A malformed escape
 * stays literal (as Node's querystring does); so does %00, which could not live in a C string. */
static char *form_decode(const char *s, size_t n)
{
    char *o = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            o[j++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
                   (lo = hexval(s[i + 2])) >= 0 && (hi | lo) != 0) {
            o[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            o[j++] = s[i];
        }
    }
    o[j] = 0;
    return o;
}

static char *token_from_payload(const char *auth_json, size_t auth_len)
{
    if (!auth_json || auth_len == 0) {
        return NULL;
    }
    json_t *o = json_loadb(auth_json, auth_len, 0, NULL);
    char *tok = NULL;
    json_t *t = json_object_get(o, "token"); /* NULL-safe for non-objects */
    if (json_is_string(t) && json_string_length(t) > 0) {
        tok = xstrdup(json_string_value(t));
    }
    json_decref(o);
    return tok;
}

static char *token_from_header(const char *h)
{
    if (!h) {
        return NULL;
    }
    while (*h == ' ' || *h == '\t') {
        h++;
    }
    if (strncasecmp(h, "bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        return NULL;
    }
    h += 6;
    while (*h == ' ' || *h == '\t') {
        h++;
    }
    size_t n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t')) {
        n--;
    }
    return n ? xstrndup(h, n) : NULL;
}

static char *token_from_query(const char *q)
{
    if (!q) {
        return NULL;
    }
    if (*q == '?') {
        q++;
    }
    while (*q) {
        size_t n = strcspn(q, "&");
        size_t klen = strcspn(q, "=&");
        char *key = form_decode(q, klen);
        bool match = strcmp(key, "token") == 0;
        free(key);
        if (match) {
            /* the first token parameter decides, as URLSearchParams.get() */
            char *v = klen < n ? form_decode(q + klen + 1, n - klen - 1) : xstrdup("");
            if (!*v) {
                free(v);
                return NULL;
            }
            return v;
        }
        q += n;
        if (*q == '&') {
            q++;
        }
    }
    return NULL;
}

auth_src_t auth_pick_token(const char *auth_json, size_t auth_len, const char *authorization,
                           const char *query, char **token)
{
    if ((*token = token_from_payload(auth_json, auth_len))) {
        return AUTH_SRC_PAYLOAD;
    }
    if ((*token = token_from_header(authorization))) {
        return AUTH_SRC_HEADER;
    }
    if ((*token = token_from_query(query))) {
        return AUTH_SRC_QUERY;
    }
    return AUTH_SRC_NONE;
}

void auth_anonymous(auth_identity_t *out)
{
    unsigned char rnd[10];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        /* the CSPRNG failing is not an input error: keep going with a counter */
        static unsigned n;
        memset(rnd, 0, sizeof(rnd));
        memcpy(rnd, &n, sizeof(n));
        n++;
    }
    char sub[5 + 16 + 1], name[16];
    snprintf(sub, sizeof(sub), "anon-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    snprintf(name, sizeof(name), "Guest %u", 1000u + ((unsigned)rnd[8] << 8 | rnd[9]) % 9000u);
    memset(out, 0, sizeof(*out));
    out->sub = xstrdup(sub);
    out->name = xstrdup(name);
    out->role = AUTH_VIEWER;
    out->anonymous = true;
}

int auth_connect(const auth_t *a, const char *auth_json, size_t auth_len, const char *authorization,
                 const char *query, int64_t now_s, auth_identity_t *out, auth_src_t *src,
                 const char **why)
{
    char *tok = NULL;
    auth_src_t s = auth_pick_token(auth_json, auth_len, authorization, query, &tok);
    if (src) {
        *src = s;
    }
    if (s == AUTH_SRC_NONE) {
        memset(out, 0, sizeof(*out));
        if (!a->allow_anonymous) {
            *why = "no token";
            return -1;
        }
        auth_anonymous(out);
        *why = NULL;
        return 0;
    }
    int rc = auth_verify(a, tok, now_s, out, why);
    free(tok);
    return rc;
}

/* --- minting --- */

static int mint_grants(jwt_t *jwt, const auth_mint_t *m)
{
    if (jwt_add_grant(jwt, "sub", m->sub) || jwt_add_grant(jwt, "role", auth_role_str(m->role)) ||
        jwt_add_grant_int(jwt, "iat", (long)m->now_s) ||
        jwt_add_grant_int(jwt, "exp", (long)(m->now_s + m->ttl_s))) {
        return -1;
    }
    if (m->name && *m->name && jwt_add_grant(jwt, "name", m->name)) {
        return -1;
    }
    if (m->has_rooms) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "rooms", arr);
        for (size_t i = 0; i < m->nrooms; i++) {
            json_array_append_new(arr, json_string(m->rooms[i])); /* NULL: not UTF-8 */
        }
        bool complete = json_array_size(arr) == m->nrooms;
        char *s = complete ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        int rc = s ? jwt_add_grants_json(jwt, s) : -1;
        free(s);
        if (rc) {
            return -1;
        }
    }
    return 0;
}

char *auth_mint(const auth_mint_t *m, const char **why)
{
    if (!m->sub || !*m->sub) {
        *why = "sub is required";
        return NULL;
    }
    if (m->ttl_s <= 0) {
        *why = "ttl must be positive";
        return NULL;
    }
    unsigned char *key = NULL;
    size_t key_len = 0;
    jwt_alg_t alg = JWT_ALG_HS256;
    if (m->secret && *m->secret) {
        key = (unsigned char *)xstrdup(m->secret);
        key_len = strlen(m->secret);
    } else if (m->private_key) {
        char err[256];
        if (load_pem(m->private_key, &key, &key_len, err, sizeof(err)) != 0) {
            *why = "cannot read the private key";
            return NULL;
        }
        alg = pem_alg(key, key_len, true);
        if (alg == JWT_ALG_INVAL) {
            free(key);
            *why = "private key is not an RSA (>= 2048 bits) or EC P-256 PEM key";
            return NULL;
        }
    } else {
        *why = "no secret or private key";
        return NULL;
    }
    jwt_t *jwt = NULL;
    char *tok = NULL;
    *why = "libjwt could not encode the token";
    if (jwt_new(&jwt) != 0) {
        goto out;
    }
    if (mint_grants(jwt, m) != 0) {
        *why = "invalid claim (not UTF-8?)";
        goto out;
    }
    if (jwt_set_alg(jwt, alg, key, (int)key_len) != 0) {
        goto out;
    }
    tok = jwt_encode_str(jwt); /* malloc'd by libjwt's default allocator: free() */
    if (tok) {
        *why = NULL;
    }
out:
    jwt_free(jwt);
    OPENSSL_cleanse(key, key_len);
    free(key);
    return tok;
}
