/* signal/auth.h: who is connecting (PROTOCOL.md sections 2 and 10). Verifies JWTs with libjwt
 * 1.10 (HS256 with a shared secret; RS256 or ES256 with a PEM public key), picks the token out
 * of the three places a client may put it, makes anonymous viewers, and mints tokens for the CLI
 * and the demo-mode POST /api/dev-token.
 *
 * libjwt 1.10 checks only the signature: it ignores exp/nbf, accepts any algorithm the key can
 * verify (HS512 with the HS256 secret; HS256 with a PEM public key as the HMAC secret) and with a
 * zero-length key skips verification altogether. This module pins the algorithm to the key that
 * verified it, refuses empty secrets, and checks every claim itself (c-deps.md 5).
 *
 * Failure reasons ("why") are static strings for the logs; clients only ever see "unauthorized".
 * Nothing here does I/O after auth_new() (which may read a key file: startup only). */
#ifndef SIGNAL_AUTH_H
#define SIGNAL_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_LEEWAY_S   30   /* default exp/nbf leeway (PROTOCOL.md 2) */
#define AUTH_MAX_TOKEN  8192 /* longer tokens are refused before parsing */
#define AUTH_MAX_CLAIM  1024 /* sub, name and each room id: at most this many bytes */
#define AUTH_MAX_ROOMS  1024 /* entries of the rooms claim */
#define AUTH_MIN_SECRET 1    /* an empty secret disables libjwt's check: refused */

typedef enum auth_role {
    AUTH_VIEWER = 0,
    AUTH_ADMIN = 1,
} auth_role_t;

/* The verified identity of one connection. Embeddable: auth_identity_deinit() frees what it owns
 * (sub, name, rooms and their strings). A zeroed struct is a valid empty identity. */
typedef struct auth_identity {
    char *sub;  /* owned; the user id (token `sub`, or "anon-<hex>" for anonymous viewers) */
    char *name; /* owned; token `name`, else the sub; anonymous: "Guest NNNN" */
    auth_role_t role;
    bool anonymous;
    bool has_rooms; /* false: no `rooms` claim, every room is allowed */
    char **rooms;   /* owned array of owned strings (nrooms entries) when has_rooms */
    size_t nrooms;  /* 0 with has_rooms: `rooms: []`, no room is allowed */
    int64_t exp;    /* seconds since the epoch; 0 for anonymous viewers */
} auth_identity_t;

void auth_identity_deinit(auth_identity_t *id);
/* Deep copy of src into dst (dst is overwritten, not freed first). */
void auth_identity_copy(auth_identity_t *dst, const auth_identity_t *src);
/* True when the identity may act on room_id: no rooms claim, or the claim lists room_id. */
bool auth_allows_room(const auth_identity_t *id, const char *room_id);
/* "admin" or "viewer". */
const char *auth_role_str(auth_role_t r);

/* --- configuration and verification --- */
typedef struct auth_cfg {
    const char *secret; /* JWT_SECRET: HS256 key; NULL when unset. "" is refused by auth_new. */
    /* JWT_PUBLIC_KEY: either PEM text (it contains "-----BEGIN"; literal "\n" sequences of a
     * one-line environment value are turned into newlines) or the path of a PEM file, read once
     * by auth_new. An RSA key (>= 2048 bits) enables RS256, an EC P-256 key ES256. NULL when
     * unset. */
    const char *public_key;
    bool allow_anonymous; /* ALLOW_ANONYMOUS_VIEWERS=1 */
    int leeway_s;         /* exp/nbf leeway; < 0 means AUTH_LEEWAY_S */
} auth_cfg_t;

typedef struct auth auth_t;

/* Builds a verifier. At least one of secret/public_key must be set (or allow_anonymous, for a
 * server that only admits anonymous viewers). Returns 0 and *out, or -1 with a message in err
 * (empty secret, unreadable key file, key that is not an RSA or P-256 public key). */
int auth_new(const auth_cfg_t *cfg, auth_t **out, char *err, size_t errlen);
void auth_free(auth_t *a);
bool auth_anonymous_allowed(const auth_t *a);

/* Verifies token at time now_s (seconds since the epoch). On success returns 0 and fills *out
 * (the caller deinits it). On failure returns -1, sets *why and leaves *out zeroed. Refused:
 * malformed or over AUTH_MAX_TOKEN, bad signature, an algorithm other than the one bound to the
 * verifying key (HS256 for the secret; RS256 or ES256 for the public key), a header `typ`
 * other than "JWT" (libjwt 1.10 refuses it; an absent typ is fine), missing or
 * non-numeric exp, exp + leeway <= now, nbf > now + leeway (or non-numeric), missing or empty
 * sub, role other than "admin"/"viewer", rooms present but not an array of strings. */
int auth_verify(const auth_t *a, const char *token, int64_t now_s, auth_identity_t *out,
                const char **why);

/* --- token sources (PROTOCOL.md 2, 10) --- */
typedef enum auth_src {
    AUTH_SRC_NONE = 0,
    AUTH_SRC_PAYLOAD, /* Socket.IO CONNECT auth payload {"token": "..."} */
    AUTH_SRC_HEADER,  /* Authorization: Bearer <token> */
    AUTH_SRC_QUERY,   /* ?token=<url-encoded> */
} auth_src_t;

/* Picks the token: auth payload `token` (a non-empty JSON string) wins, then the Authorization
 * header (scheme "Bearer", case-insensitive, non-empty token), then the query parameter `token`
 * (the first one; percent-decoded, '+' is a space; non-empty). Each input may be NULL. query is
 * the raw query string without '?'. Returns the source and sets *token to a malloc'd copy
 * (caller frees), or returns AUTH_SRC_NONE with *token = NULL. */
auth_src_t auth_pick_token(const char *auth_json, size_t auth_len, const char *authorization,
                           const char *query, char **token);
const char *auth_src_str(auth_src_t s);

/* The connect decision in one call: pick the token; none at all -> an anonymous viewer when
 * allowed, else refused ("no token"); a token -> auth_verify (an invalid token is refused even
 * when anonymous viewers are allowed). Returns 0 with *out filled, or -1 with *why. *src (may be
 * NULL) tells where the token came from. */
int auth_connect(const auth_t *a, const char *auth_json, size_t auth_len, const char *authorization,
                 const char *query, int64_t now_s, auth_identity_t *out, auth_src_t *src,
                 const char **why);

/* Fills *out with a fresh anonymous viewer: sub "anon-<16 hex>", name "Guest NNNN" (random). */
void auth_anonymous(auth_identity_t *out);

/* --- minting --- */
typedef struct auth_mint {
    const char *secret;      /* HS256 key, or NULL */
    const char *private_key; /* or a PEM private key (text, or a file path): RSA -> RS256,
                                EC P-256 -> ES256. Used when secret is NULL. */
    const char *sub;         /* required */
    const char *name;        /* optional */
    auth_role_t role;
    const char *const *rooms; /* with has_rooms: the rooms claim (nrooms may be 0) */
    size_t nrooms;
    bool has_rooms;
    int64_t now_s; /* iat; exp = now_s + ttl_s */
    int64_t ttl_s; /* > 0 */
} auth_mint_t;

/* Returns a malloc'd compact JWT (caller frees with free()), or NULL with *why set. */
char *auth_mint(const auth_mint_t *m, const char **why);

#endif
