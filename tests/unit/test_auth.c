/* tests/unit/test_auth.c: signal/auth.c. Verification of externally minted tokens (npm
 * jsonwebtoken 9, precomputed below with expiries in 2100), the attack table, claim rules,
 * leeway edges, token-source precedence, anonymous viewers and mint -> verify round trips. */
#include "../../signal/auth.h"
#include "t.h"
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#define SECRET "test-secret-0123456789"
#define NOW    1700000000 /* a "now" before every fixture's exp (4102444800) */

/* Minted by jsonwebtoken 9.0.3 (sign(..., {noTimestamp:true})); exp 4102444800. */
static const char *TOK_HS =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZSIsIm5hbWUiOiJab8OrIiwicm9sZSI6ImFkbWluIiwicm9vbXMiOlsicjEiLCJyMiJdLCJleHAiOj"
    "QxMDI0NDQ4MDB9.FqywEXi6eJ9mXB62vKWs5TaN94YkRl7X3dePtZLP-fA";
static const char *TOK_HS_OTHER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                  "eyJzdWIiOiJhbGljZSIsIm5hbWUiOiJab8OrIiwicm9sZSI6ImFkbWluIiwiZXhw"
                                  "Ijo0MTAyNDQ0ODAwfQ.AEghW-8Iq0dsPcVQtOckhY_WHEL9LOgL_rGlUFYQ5wg";
static const char *TOK_HS_VIEWER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                   "eyJzdWIiOiJhbGljZSIsInJvbGUiOiJ2aWV3ZXIiLCJleHAiOjQxMDI0NDQ4MDB"
                                   "9.5VYtW9sZDhquy3x1P6eGZA7biEpoUB_U5SlHCdN3R3Q";
static const char *TOK_HS512 =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.K6_jRuuVgJeGL0zJz-"
    "IxjI3EsNNCI8MA2Q_ANs3x-UxL3bcIPc6ffenv0jq9NX2ME_Noy8ssEA2jdr7A-3GlMg";
static const char *TOK_NONE = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                              "eyJzdWIiOiJtYWxsb3J5Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.";
static const char *TOK_RS =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJib2IiLCJyb2xlIjoidmlld2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.CJJbYbk8rsJNBJnGlRve-"
    "TLy3Dwe4fy-Eh-gu08WTC6M0LxQHddddOeg7YAANAKYwXWooAzwcYascwh-kpggn8OWmErxMhiuBT-"
    "w5weRrvjZVnyUhDWt7jtZM9XSIaxm0gwTLyftc-NOcHgjQiQfDNkfSRC4S2ACbpDaHbFWhSfda_"
    "IebvxgFRneCO8HQe3iu_daRxEgG0Te9bypX7aBj90UgPl3uwOg11KYsoSuHDA9sonh6rmQ0f4-rkEwXkkhbJLiIU_"
    "mKccB1b3H5s5Nn-Rg8dPFSPqhmDnF-59vAX8ztmTa2y7w4TgmFkgf2xU1aSLPWlMNHZtPuMTDv6aOaQ";
static const char *TOK_ES =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJjYXJvbCIsInJvbGUiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ."
    "wcf6GNfMI5iblX-ZCZ7mVTZdJbNYdtFONYXNzKCQ5YKbfIaE13pLm8cjKExanP1_tfZqA01IjTBY0V-hmeHeAg";

/* The keys that signed TOK_RS / TOK_ES (throw-away test keys). */
static const char *RSA_PUB = "-----BEGIN PUBLIC KEY-----\n"
                             "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1O1y9OrHC3BppLJ4e4dw\n"
                             "8AK28Z0P/VgaTrAb///1jCn2wm5HxdREZWSvn/zvwaWn49fahBmgU6WEA90TGAob\n"
                             "4It+Z6h9hbEllleaA+uomKEQBlWSVOMOkTtq5hIByLitNTtjyb5kvrYtuPi4KM3y\n"
                             "rm2LF8s++1lE7I0AfGUAaCwFP/gx9iEmRD+ii58WpDQJXUG2F68LuTSmzBBRwQzu\n"
                             "Y4oETRBKrqWuhfaqeNN6At+Y7AbUptm9ByGpwY5naQ64B1o2gJNVwSsb8KWQufve\n"
                             "yJ8gHZYRQFDKX5DnTVZdYKVq/2m1BLP5MZkNQVSdaOghA1yEFzchd83c+FdhGayI\n"
                             "pwIDAQAB\n"
                             "-----END PUBLIC KEY-----\n";
static const char *EC_PUB = "-----BEGIN PUBLIC KEY-----\n"
                            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhg26clZBhl4pvSAyHECzBrRicCc8\n"
                            "sgtOa4v04LL+2kFWKO/WPnrEPcEpgaC5KXS+JAVbvdKpZh2pWxQy1Hlkmg==\n"
                            "-----END PUBLIC KEY-----\n";
static const char *EC_PRIV = "-----BEGIN EC PRIVATE KEY-----\n"
                             "MHcCAQEEIPmqJlWqIzJNtdsSc24BoRLBTLhYFRoXH9jekPVQ+EqLoAoGCCqGSM49\n"
                             "AwEHoUQDQgAEhg26clZBhl4pvSAyHECzBrRicCc8sgtOa4v04LL+2kFWKO/WPnrE\n"
                             "PcEpgaC5KXS+JAVbvdKpZh2pWxQy1Hlkmg==\n"
                             "-----END EC PRIVATE KEY-----\n";

static auth_t *mk(const char *secret, const char *pub, bool anon)
{
    auth_cfg_t c = { .secret = secret, .public_key = pub, .allow_anonymous = anon, .leeway_s = -1 };
    auth_t *a = NULL;
    char err[256] = "";
    if (auth_new(&c, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "  auth_new: %s\n", err);
    }
    return a;
}

/* Mints a token in C with arbitrary claims (grants as JSON) and algorithm: the attack table's
 * crafted tokens. Returns a malloc'd token. */
static char *craft(jwt_alg_t alg, const char *key, const char *grants)
{
    jwt_t *j = NULL;
    if (jwt_new(&j) != 0) {
        return NULL;
    }
    if (jwt_add_grants_json(j, grants) != 0 ||
        jwt_set_alg(j, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0) != 0) {
        jwt_free(j);
        return NULL;
    }
    char *t = jwt_encode_str(j);
    jwt_free(j);
    return t;
}

/* Verifies and returns the reason (NULL on success); the identity is deinit'ed. */
static const char *why_of(const auth_t *a, const char *tok, int64_t now)
{
    auth_identity_t id;
    const char *why = NULL;
    int rc = auth_verify(a, tok, now, &id, &why);
    if (rc == 0) {
        auth_identity_deinit(&id);
        return NULL;
    }
    return why ? why : "(no reason)";
}

TEST(hs256_external_token)
{
    auth_t *a = mk(SECRET, NULL, false);
    ASSERT(a);
    auth_identity_t id;
    const char *why = "x";
    ASSERT_EQ(auth_verify(a, TOK_HS, NOW, &id, &why), 0);
    ASSERT(why == NULL);
    ASSERT_STR_EQ(id.sub, "alice");
    ASSERT_STR_EQ(id.name, "Zo\xc3\xab");
    ASSERT_EQ(id.role, AUTH_ADMIN);
    ASSERT(id.has_rooms);
    ASSERT_EQ(id.nrooms, 2);
    ASSERT_STR_EQ(id.rooms[1], "r2");
    ASSERT_EQ(id.exp, 4102444800LL);
    ASSERT(auth_allows_room(&id, "r1"));
    ASSERT(!auth_allows_room(&id, "r3"));
    ASSERT(!id.anonymous);
    auth_identity_t cp;
    auth_identity_copy(&cp, &id);
    auth_identity_deinit(&id);
    ASSERT_STR_EQ(cp.rooms[0], "r1");
    auth_identity_deinit(&cp);
    ASSERT(cp.sub == NULL);
    /* no rooms claim: every room; missing name: the sub */
    ASSERT_EQ(auth_verify(a, TOK_HS_VIEWER, NOW, &id, &why), 0);
    ASSERT_EQ(id.role, AUTH_VIEWER);
    ASSERT_STR_EQ(id.name, "alice");
    ASSERT(!id.has_rooms && auth_allows_room(&id, "anything"));
    auth_identity_deinit(&id);
    auth_free(a);
}

TEST(rs256_and_es256_external_tokens)
{
    auth_t *rs = mk(NULL, RSA_PUB, false);
    ASSERT(rs);
    ASSERT(why_of(rs, TOK_RS, NOW) == NULL);
    ASSERT_STR_EQ(why_of(rs, TOK_ES, NOW), "bad signature or malformed token");
    ASSERT_STR_EQ(why_of(rs, TOK_HS, NOW), "bad signature or malformed token");
    auth_free(rs);

    /* the public key from a file path */
    char path[] = "/tmp/onair-test-ecpub-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, EC_PUB, strlen(EC_PUB)), (ssize_t)strlen(EC_PUB));
    close(fd);
    auth_t *es = mk(NULL, path, false);
    unlink(path);
    ASSERT(es);
    auth_identity_t id;
    const char *why;
    ASSERT_EQ(auth_verify(es, TOK_ES, NOW, &id, &why), 0);
    ASSERT_STR_EQ(id.sub, "carol");
    ASSERT_EQ(id.role, AUTH_ADMIN);
    auth_identity_deinit(&id);
    ASSERT_STR_EQ(why_of(es, TOK_ES, 1700000000 - 31), "not yet valid (nbf)");
    ASSERT_STR_EQ(why_of(es, TOK_RS, NOW), "bad signature or malformed token");
    auth_free(es);

    /* a one-line environment value with literal \n sequences */
    char oneline[1024];
    size_t j = 0;
    for (const char *p = EC_PUB; *p && j + 2 < sizeof(oneline); p++) {
        if (*p == '\n') {
            oneline[j++] = '\\';
            oneline[j++] = 'n';
        } else {
            oneline[j++] = *p;
        }
    }
    oneline[j] = 0;
    ASSERT(strchr(oneline, '\n') == NULL);
    es = mk(NULL, oneline, false);
    ASSERT(es);
    ASSERT(why_of(es, TOK_ES, NOW) == NULL);
    auth_free(es);
}

TEST(config_refusals)
{
    auth_cfg_t c = { .secret = "", .leeway_s = -1 };
    auth_t *a = (auth_t *)1;
    char err[256] = "";
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), -1); /* libjwt skips checks with key_len 0 */
    ASSERT(a == NULL);
    ASSERT(strstr(err, "empty"));
    c = (auth_cfg_t){ .leeway_s = -1 };
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), -1);
    c = (auth_cfg_t){ .public_key = "/nonexistent/key.pem", .leeway_s = -1 };
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), -1);
    ASSERT(strstr(err, "/nonexistent/key.pem"));
    c = (auth_cfg_t){ .public_key =
                          "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n",
                      .leeway_s = -1 };
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), -1);
    c = (auth_cfg_t){ .public_key = EC_PRIV, .leeway_s = -1 }; /* a private key is not a pubkey */
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), -1);
    /* RSA under 2048 bits (RFC 7518 3.3) */
    EVP_PKEY *small = EVP_RSA_gen(1024);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, small);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    char *small_pub = strndup(pem, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(small);
    c = (auth_cfg_t){ .public_key = small_pub, .leeway_s = -1 };
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), -1);
    free(small_pub);
    ASSERT(strstr(err, "2048"));
    c = (auth_cfg_t){ .allow_anonymous = true, .leeway_s = -1 };
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), 0);
    ASSERT(auth_anonymous_allowed(a));
    ASSERT_STR_EQ(why_of(a, TOK_HS, NOW), "bad signature or malformed token");
    auth_free(a);
}

/* Splices the payload of `from` between the header and signature of `into`. */
static char *splice_payload(const char *into, const char *from)
{
    const char *d1 = strchr(into, '.'), *d2 = strrchr(into, '.');
    const char *f1 = strchr(from, '.'), *f2 = strrchr(from, '.');
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(d1 - into), into, (int)(f2 - f1), f1, d2);
    return buf;
}

TEST(attack_table)
{
    auth_t *a = mk(SECRET, NULL, true); /* anonymous allowed must not rescue a bad token */
    ASSERT(a);
    char *hs512 =
        craft(JWT_ALG_HS512, SECRET, "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":4102444800}");
    char *hs384 =
        craft(JWT_ALG_HS384, SECRET, "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":4102444800}");
    char *none = craft(JWT_ALG_NONE, NULL, "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":4102444800}");
    ASSERT(hs512 && hs384 && none);
    char longtok[AUTH_MAX_TOKEN + 2];
    memset(longtok, 'a', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = 0;
    struct {
        const char *name, *tok, *why;
    } cases[] = {
        { "alg none (jsonwebtoken)", TOK_NONE, "bad signature or malformed token" },
        { "alg none (libjwt)", none, "bad signature or malformed token" },
        { "HS512 with the HS256 secret", TOK_HS512, "algorithm not allowed" },
        { "HS512 (libjwt)", hs512, "algorithm not allowed" },
        { "HS384 (libjwt)", hs384, "algorithm not allowed" },
        { "other secret", TOK_HS_OTHER, "bad signature or malformed token" },
        { "tampered payload", splice_payload(TOK_HS_VIEWER, TOK_HS_OTHER),
          "bad signature or malformed token" },
        { "RS256 token, HS secret as key", TOK_RS, "bad signature or malformed token" },
        { "ES256 token, HS secret as key", TOK_ES, "bad signature or malformed token" },
        { "garbage", "not.a.jwt", "bad signature or malformed token" },
        { "two parts", "abc.def", "bad signature or malformed token" },
        { "five parts", "a.b.c.d.e", "bad signature or malformed token" },
        { "no dots", "eyJhbGciOiJIUzI1NiJ9", "bad signature or malformed token" },
        { "binary", "\x01\x02\xff.\xfe.\x80", "bad signature or malformed token" },
        { "empty", "", "empty token" },
        { "too long", longtok, "token too long" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = why_of(a, cases[i].tok, NOW);
        if (!why || strcmp(why, cases[i].why) != 0) {
            fprintf(stderr, "  case '%s': got '%s', want '%s'\n", cases[i].name,
                    why ? why : "(accepted)", cases[i].why);
            t__failed_now = 1;
        }
    }
    /* and through auth_connect: refused, never anonymous */
    auth_identity_t id;
    const char *why;
    char auth_json[256];
    snprintf(auth_json, sizeof(auth_json), "{\"token\":\"%s\"}", TOK_NONE);
    ASSERT_EQ(auth_connect(a, auth_json, strlen(auth_json), NULL, NULL, NOW, &id, NULL, &why), -1);
    ASSERT(id.sub == NULL);
    free(hs512);
    free(hs384);
    free(none);
    auth_free(a);
}

TEST(key_confusion)
{
    /* HS256 signed with the RSA public key's PEM text as the HMAC secret: libjwt verifies it
     * with that "key" (rc 0, alg HS256); the pin to RS256 must refuse it. */
    char *forged =
        craft(JWT_ALG_HS256, RSA_PUB, "{\"sub\":\"evil\",\"role\":\"admin\",\"exp\":4102444800}");
    ASSERT(forged);
    jwt_t *j = NULL;
    ASSERT_EQ(jwt_decode(&j, forged, (const unsigned char *)RSA_PUB, (int)strlen(RSA_PUB)), 0);
    jwt_free(j);
    auth_t *rs = mk(NULL, RSA_PUB, false);
    ASSERT(rs);
    ASSERT_STR_EQ(why_of(rs, forged, NOW), "algorithm not allowed");
    auth_free(rs);
    /* both keys configured: each algorithm only with its own key */
    auth_t *both = mk(SECRET, RSA_PUB, false);
    ASSERT(both);
    ASSERT_STR_EQ(why_of(both, forged, NOW), "algorithm not allowed");
    ASSERT(why_of(both, TOK_RS, NOW) == NULL);
    ASSERT(why_of(both, TOK_HS, NOW) == NULL);
    ASSERT_STR_EQ(why_of(both, TOK_ES, NOW), "bad signature or malformed token");
    ASSERT_STR_EQ(why_of(both, TOK_HS512, NOW), "algorithm not allowed");
    auth_free(both);
    free(forged);
}

TEST(claims_table)
{
    auth_t *a = mk(SECRET, NULL, false);
    ASSERT(a);
    struct {
        const char *grants, *why; /* why NULL: accepted */
    } cases[] = {
        { "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":1699999000}", "expired" },
        { "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":4102444800,\"nbf\":1700000100}",
          "not yet valid (nbf)" },
        { "{\"sub\":\"u\",\"exp\":4102444800}", "missing role" },
        { "{\"role\":\"admin\",\"exp\":4102444800}", "missing sub" },
        { "{\"sub\":\"u\",\"role\":\"root\",\"exp\":4102444800}", "role is not admin or viewer" },
        { "{\"sub\":\"u\",\"role\":\"Admin\",\"exp\":4102444800}", "role is not admin or viewer" },
        { "{\"sub\":\"u\",\"role\":[\"admin\"],\"exp\":4102444800}",
          "role is not admin or viewer" },
        { "{\"sub\":\"\",\"role\":\"admin\",\"exp\":4102444800}", "sub is not a non-empty string" },
        { "{\"sub\":42,\"role\":\"admin\",\"exp\":4102444800}", "sub is not a non-empty string" },
        { "{\"sub\":\"u\",\"role\":\"admin\"}", "missing exp" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":\"4102444800\"}", "exp is not a number" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":null}", "exp is not a number" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800,\"nbf\":\"0\"}",
          "nbf is not a number" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800,\"rooms\":\"r1\"}",
          "rooms is not an array of strings" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800,\"rooms\":[\"r1\",1]}",
          "rooms is not an array of strings" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800,\"rooms\":null}",
          "rooms is not an array of strings" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800,\"rooms\":{\"r1\":true}}",
          "rooms is not an array of strings" },
        { "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800.5,\"rooms\":[]}", NULL },
        { "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":4102444800,\"name\":\"\"}", NULL },
        { "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":4102444800,\"name\":7}", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *tok = craft(JWT_ALG_HS256, SECRET, cases[i].grants);
        ASSERT(tok);
        const char *why = why_of(a, tok, NOW);
        free(tok);
        if ((why == NULL) != (cases[i].why == NULL) || (why && strcmp(why, cases[i].why) != 0)) {
            fprintf(stderr, "  %s: got '%s', want '%s'\n", cases[i].grants,
                    why ? why : "(accepted)", cases[i].why ? cases[i].why : "(accepted)");
            t__failed_now = 1;
        }
    }
    /* rooms: [] allows no room; a missing/empty/non-string name is the sub */
    char *tok =
        craft(JWT_ALG_HS256, SECRET,
              "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":4102444800,\"rooms\":[],\"name\":7}");
    auth_identity_t id;
    const char *why;
    ASSERT_EQ(auth_verify(a, tok, NOW, &id, &why), 0);
    free(tok);
    ASSERT(id.has_rooms);
    ASSERT_EQ(id.nrooms, 0);
    ASSERT(!auth_allows_room(&id, "r1"));
    ASSERT_STR_EQ(id.name, "u");
    auth_identity_deinit(&id);
    auth_free(a);
}

TEST(leeway_edges)
{
    auth_t *a = mk(SECRET, NULL, false);
    ASSERT(a);
    const int64_t T = 1800000000;
    char g[256];
    snprintf(g, sizeof(g), "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)T, (long long)(T - 1000));
    char *tok = craft(JWT_ALG_HS256, SECRET, g);
    ASSERT(why_of(a, tok, T - 1) == NULL);
    ASSERT(why_of(a, tok, T) == NULL);      /* past exp, inside the 30 s leeway */
    ASSERT(why_of(a, tok, T + 29) == NULL); /* last accepted second */
    ASSERT_STR_EQ(why_of(a, tok, T + 30), "expired");
    ASSERT_STR_EQ(why_of(a, tok, T + 3600), "expired");
    free(tok);
    snprintf(g, sizeof(g), "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)(T + 3600), (long long)T);
    tok = craft(JWT_ALG_HS256, SECRET, g);
    ASSERT(why_of(a, tok, T) == NULL);
    ASSERT(why_of(a, tok, T - 30) == NULL); /* nbf up to 30 s ahead is fine */
    ASSERT_STR_EQ(why_of(a, tok, T - 31), "not yet valid (nbf)");
    free(tok);
    auth_free(a);
    /* a configured leeway of 0 */
    auth_cfg_t c = { .secret = SECRET, .leeway_s = 0 };
    char err[128];
    ASSERT_EQ(auth_new(&c, &a, err, sizeof(err)), 0);
    snprintf(g, sizeof(g), "{\"sub\":\"u\",\"role\":\"viewer\",\"exp\":%lld}", (long long)T);
    tok = craft(JWT_ALG_HS256, SECRET, g);
    ASSERT(why_of(a, tok, T - 1) == NULL);
    ASSERT_STR_EQ(why_of(a, tok, T), "expired");
    free(tok);
    auth_free(a);
}

TEST(token_source_precedence)
{
    char *t = NULL;
    ASSERT_EQ(auth_pick_token("{\"token\":\"P\"}", 13, "Bearer H", "token=Q", &t),
              AUTH_SRC_PAYLOAD);
    ASSERT_STR_EQ(t, "P");
    free(t);
    /* an empty or non-string payload token is not present */
    ASSERT_EQ(auth_pick_token("{\"token\":\"\"}", 12, "Bearer H", "token=Q", &t), AUTH_SRC_HEADER);
    ASSERT_STR_EQ(t, "H");
    free(t);
    ASSERT_EQ(auth_pick_token("{\"token\":5}", 11, NULL, "token=Q", &t), AUTH_SRC_QUERY);
    ASSERT_STR_EQ(t, "Q");
    free(t);
    ASSERT_EQ(auth_pick_token("[1,2]", 5, "bearer  \tH2  ", NULL, &t), AUTH_SRC_HEADER);
    ASSERT_STR_EQ(t, "H2");
    free(t);
    ASSERT_EQ(auth_pick_token("{bad json", 9, "Basic abc", "a=1&token=x%2By+z%3d&token=2", &t),
              AUTH_SRC_QUERY);
    ASSERT_STR_EQ(t, "x+y z=");
    free(t);
    ASSERT_EQ(auth_pick_token(NULL, 0, "Bearer", "token=&x=1", &t), AUTH_SRC_NONE);
    ASSERT(t == NULL);
    ASSERT_EQ(auth_pick_token(NULL, 0, "Bearer   ", "tok=1&tokens=2&token", &t), AUTH_SRC_NONE);
    ASSERT_EQ(auth_pick_token(NULL, 0, "BearerX", NULL, &t), AUTH_SRC_NONE);
    ASSERT_EQ(auth_pick_token(NULL, 0, NULL, "EIO=4&transport=polling&token=a%zz%00b%4", &t),
              AUTH_SRC_QUERY);
    ASSERT_STR_EQ(t, "a%zz%00b%4"); /* malformed escapes and %00 stay literal */
    free(t);
    ASSERT_EQ(auth_pick_token(NULL, 0, NULL, "?token=abc", &t), AUTH_SRC_QUERY);
    ASSERT_STR_EQ(t, "abc");
    free(t);
    ASSERT_EQ(auth_pick_token("null", 4, "", "", &t), AUTH_SRC_NONE);
    ASSERT_STR_EQ(auth_src_str(AUTH_SRC_HEADER), "header");
}

TEST(connect_and_anonymous)
{
    auth_t *a = mk(SECRET, NULL, true);
    auth_t *strict = mk(SECRET, NULL, false);
    ASSERT(a && strict);
    auth_identity_t id, id2;
    auth_src_t src;
    const char *why;
    ASSERT_EQ(auth_connect(a, NULL, 0, NULL, "EIO=4", NOW, &id, &src, &why), 0);
    ASSERT_EQ(src, AUTH_SRC_NONE);
    ASSERT(id.anonymous);
    ASSERT_EQ(id.role, AUTH_VIEWER);
    ASSERT(strncmp(id.sub, "anon-", 5) == 0 && strlen(id.sub) == 21);
    ASSERT(strncmp(id.name, "Guest ", 6) == 0 && strlen(id.name) == 10);
    ASSERT(!id.has_rooms);
    ASSERT_EQ(auth_connect(a, "{}", 2, "", "token=", NOW, &id2, &src, &why), 0);
    ASSERT(strcmp(id.sub, id2.sub) != 0); /* server-made, unique */
    auth_identity_deinit(&id);
    auth_identity_deinit(&id2);
    ASSERT_EQ(auth_connect(strict, NULL, 0, NULL, NULL, NOW, &id, &src, &why), -1);
    ASSERT_STR_EQ(why, "no token");
    /* the header token is used when the payload has none; an invalid one is refused */
    char hdr[600];
    snprintf(hdr, sizeof(hdr), "Bearer %s", TOK_HS_VIEWER);
    ASSERT_EQ(auth_connect(a, "{}", 2, hdr, "token=garbage", NOW, &id, &src, &why), 0);
    ASSERT_EQ(src, AUTH_SRC_HEADER);
    ASSERT_STR_EQ(id.sub, "alice");
    auth_identity_deinit(&id);
    ASSERT_EQ(auth_connect(a, "{\"token\":\"garbage\"}", 19, hdr, NULL, NOW, &id, &src, &why), -1);
    ASSERT_EQ(src, AUTH_SRC_PAYLOAD);
    ASSERT_STR_EQ(why, "bad signature or malformed token");
    auth_free(a);
    auth_free(strict);
}

static char *rsa_private_pem(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    if (!k) {
        return NULL;
    }
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = strndup(p, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
}

static char *public_pem_of(const char *priv)
{
    BIO *b = BIO_new_mem_buf(priv, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = strndup(p, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
}

TEST(mint_round_trips)
{
    const char *rooms[] = { "r1", "live_2" };
    auth_mint_t m = { .secret = SECRET,
                      .sub = "alice",
                      .name = "Al\xc3\xad"
                              "ce",
                      .role = AUTH_ADMIN,
                      .rooms = rooms,
                      .nrooms = 2,
                      .has_rooms = true,
                      .now_s = NOW,
                      .ttl_s = 3600 };
    const char *why = NULL;
    char *tok = auth_mint(&m, &why);
    ASSERT(tok);
    auth_t *a = mk(SECRET, NULL, false);
    auth_identity_t id;
    ASSERT_EQ(auth_verify(a, tok, NOW + 10, &id, &why), 0);
    ASSERT_STR_EQ(id.sub, "alice");
    ASSERT_STR_EQ(id.name, "Al\xc3\xad"
                           "ce");
    ASSERT_EQ(id.role, AUTH_ADMIN);
    ASSERT_EQ(id.exp, NOW + 3600);
    ASSERT(id.has_rooms && id.nrooms == 2 && auth_allows_room(&id, "live_2"));
    auth_identity_deinit(&id);
    ASSERT_STR_EQ(why_of(a, tok, NOW + 3600 + 30), "expired");
    free(tok);
    /* rooms: [] survives the round trip */
    m = (auth_mint_t){ .secret = SECRET,
                       .sub = "v",
                       .role = AUTH_VIEWER,
                       .has_rooms = true,
                       .now_s = NOW,
                       .ttl_s = 60 };
    tok = auth_mint(&m, &why);
    ASSERT_EQ(auth_verify(a, tok, NOW, &id, &why), 0);
    ASSERT(id.has_rooms && id.nrooms == 0 && !auth_allows_room(&id, "r1"));
    ASSERT_STR_EQ(id.name, "v");
    auth_identity_deinit(&id);
    free(tok);
    auth_free(a);
    /* refusals */
    m = (auth_mint_t){ .secret = SECRET, .role = AUTH_VIEWER, .now_s = NOW, .ttl_s = 60 };
    ASSERT(auth_mint(&m, &why) == NULL);
    ASSERT_STR_EQ(why, "sub is required");
    m.sub = "x";
    m.ttl_s = 0;
    ASSERT(auth_mint(&m, &why) == NULL);
    m = (auth_mint_t){ .sub = "x", .now_s = NOW, .ttl_s = 60 };
    ASSERT(auth_mint(&m, &why) == NULL);
    m.sub = "\xff\xfe"; /* not UTF-8 */
    m.secret = SECRET;
    ASSERT(auth_mint(&m, &why) == NULL);
    /* ES256 with the fixture's private key, verified with its public key */
    m = (auth_mint_t){
        .private_key = EC_PRIV, .sub = "es", .role = AUTH_VIEWER, .now_s = NOW, .ttl_s = 60
    };
    tok = auth_mint(&m, &why);
    ASSERT(tok);
    auth_t *es = mk(NULL, EC_PUB, false);
    ASSERT(why_of(es, tok, NOW) == NULL);
    auth_free(es);
    free(tok);
    /* RS256 with a fresh key */
    char *priv = rsa_private_pem();
    ASSERT(priv);
    char *pub = public_pem_of(priv);
    m = (auth_mint_t){
        .private_key = priv, .sub = "rs", .role = AUTH_ADMIN, .now_s = NOW, .ttl_s = 60
    };
    tok = auth_mint(&m, &why);
    auth_t *rs = mk(NULL, pub, false);
    ASSERT(tok && rs);
    ASSERT(why_of(rs, tok, NOW) == NULL);
    auth_t *wrong = mk(NULL, RSA_PUB, false);
    ASSERT_STR_EQ(why_of(wrong, tok, NOW), "bad signature or malformed token");
    auth_free(wrong);
    auth_free(rs);
    free(tok);
    free(pub);
    free(priv);
}
