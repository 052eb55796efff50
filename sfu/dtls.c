/* sfu/dtls.c: see dtls.h. After examples/deps-smoke/dtls_srtp.c (c-deps.md 7): DTLS 1.2 only,
 * use_srtp with GCM first (the server's order picks the profile), a memory rbio fed one
 * datagram at a time and a sink wbio that turns each write into one datagram. */
#include "dtls.h"
#include "../common/log.h"
#include "srtpx.h"
#include <glib.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HELD_MAX          8
#define HANDSHAKE_TIMEOUT 30000 /* ms without completing: failed */
#define SRTP_PROFILES     "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define KM_LABEL          "EXTRACTOR-dtls_srtp"

struct dtls_ctx {
    SSL_CTX *ssl_ctx;
    EVP_PKEY *key;
    X509 *cert;
    BIO_METHOD *sink;
    char fp[EVP_MAX_MD_SIZE * 3];
};

struct dtls {
    dtls_ctx_t *ctx;
    SSL *ssl;
    dtls_cbs_t cbs;
    void *ud;
    const char *log_id;
    bool started, client, connected, dead;
    char fp_alg[16];
    char fp_value[EVP_MAX_MD_SIZE * 3 + 8];
    guint timer;    /* retransmission timer */
    guint deadline; /* handshake timeout */
    uint8_t *held[HELD_MAX];
    size_t held_len[HELD_MAX];
    int n_held;
};

/* ---- the sink BIO: every write is one datagram ------------------------------------------ */

static int sink_write(BIO *b, const char *data, int len)
{
    dtls_t *d = BIO_get_data(b);
    if (!d || d->dead || len <= 0) {
        return len;
    }
    d->cbs.send(d->ud, (const uint8_t *)data, (size_t)len);
    return len; /* a lost datagram is the retransmission timer's business */
}

static long sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return DTLS_MTU;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 28; /* IPv4 + UDP */
    default:
        return 0;
    }
}

/* ---- the process certificate -------------------------------------------------------------- */

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    uint8_t serial[8];
    if (!x || RAND_bytes(serial, sizeof serial) != 1) {
        X509_free(x);
        return NULL;
    }
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"onair-sfu", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* "AB:CD:..." of cert under md. Returns 0 or -1. */
static int fingerprint(X509 *cert, const EVP_MD *md, char *out, size_t cap)
{
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert, md, dg, &n) != 1 || cap < n * 3) {
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        snprintf(out + 3 * i, 4, "%02X%s", dg[i], i + 1 < n ? ":" : "");
    }
    return 0;
}

/* Browsers send self-signed certificates: trust comes from the SDP fingerprint, checked
 * after the handshake (verify_fingerprint). */
static int verify_any(int ok, X509_STORE_CTX *st)
{
    return 1;
}

dtls_ctx_t *dtls_ctx_new(char *err, size_t errlen)
{
    dtls_ctx_t *c = g_new0(dtls_ctx_t, 1);
    c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    c->cert = c->key ? make_cert(c->key) : NULL;
    c->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (!c->cert || !c->ssl_ctx) {
        snprintf(err, errlen, "cannot make the DTLS certificate or context");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(c->ssl_ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c->ssl_ctx, DTLS1_2_VERSION);
    if (SSL_CTX_use_certificate(c->ssl_ctx, c->cert) != 1 ||
        SSL_CTX_use_PrivateKey(c->ssl_ctx, c->key) != 1) {
        snprintf(err, errlen, "cannot load the DTLS certificate");
        goto fail;
    }
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
    /* returns 0 on success, unlike most of OpenSSL (c-deps.md 7) */
    if (SSL_CTX_set_tlsext_use_srtp(c->ssl_ctx, SRTP_PROFILES) != 0) {
        snprintf(err, errlen, "cannot enable DTLS-SRTP");
        goto fail;
    }
    c->sink = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "onair-dgram-sink");
    BIO_meth_set_write(c->sink, sink_write);
    BIO_meth_set_ctrl(c->sink, sink_ctrl);
    if (fingerprint(c->cert, EVP_sha256(), c->fp, sizeof c->fp) != 0) {
        snprintf(err, errlen, "cannot compute the certificate fingerprint");
        goto fail;
    }
    return c;
fail:
    dtls_ctx_free(c);
    return NULL;
}

void dtls_ctx_free(dtls_ctx_t *c)
{
    if (!c) {
        return;
    }
    SSL_CTX_free(c->ssl_ctx);
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    if (c->sink) {
        BIO_meth_free(c->sink);
    }
    g_free(c);
}

const char *dtls_ctx_fingerprint(const dtls_ctx_t *c)
{
    return c->fp;
}

/* ---- one connection ---------------------------------------------------------------------- */

dtls_t *dtls_new(dtls_ctx_t *c, const dtls_cbs_t *cbs, void *ud, const char *log_id)
{
    dtls_t *d = g_new0(dtls_t, 1);
    d->ctx = c;
    d->cbs = *cbs;
    d->ud = ud;
    d->log_id = log_id;
    d->ssl = SSL_new(c->ssl_ctx);
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(c->sink);
    if (!d->ssl || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(d->ssl);
        g_free(d);
        return NULL;
    }
    BIO_set_mem_eof_return(rbio, -1); /* empty means "retry", not EOF */
    BIO_set_data(wbio, d);
    BIO_set_init(wbio, 1);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(d->ssl, DTLS_MTU);
    SSL_set_bio(d->ssl, rbio, wbio); /* the SSL owns both */
    return d;
}

static void clear_timers(dtls_t *d)
{
    if (d->timer) {
        g_source_remove(d->timer);
        d->timer = 0;
    }
    if (d->deadline) {
        g_source_remove(d->deadline);
        d->deadline = 0;
    }
}

static void drop_held(dtls_t *d)
{
    for (int i = 0; i < d->n_held; i++) {
        g_free(d->held[i]);
    }
    d->n_held = 0;
}

void dtls_free(dtls_t *d)
{
    if (!d) {
        return;
    }
    clear_timers(d);
    drop_held(d);
    BIO *wbio = SSL_get_wbio(d->ssl);
    if (wbio) {
        BIO_set_data(wbio, NULL);
    }
    SSL_free(d->ssl);
    g_free(d);
}

static void fail(dtls_t *d, const char *why)
{
    if (d->dead) {
        return;
    }
    unsigned long e = ERR_peek_last_error();
    char ebuf[256] = "";
    if (e) {
        ERR_error_string_n(e, ebuf, sizeof ebuf);
    }
    ERR_clear_error();
    LOG_W("dtls", "handshake failed", "\"peer\":\"%s\",\"error\":\"%s\",\"ssl\":\"%s\"", d->log_id,
          why, log_esc(ebuf));
    d->dead = true;
    clear_timers(d);
    d->cbs.on_failed(d->ud, why);
}

static int verify_fingerprint(dtls_t *d)
{
    X509 *peer = SSL_get1_peer_certificate(d->ssl);
    if (!peer) {
        return -1;
    }
    const EVP_MD *md = EVP_get_digestbyname(d->fp_alg);
    char fp[EVP_MAX_MD_SIZE * 3];
    int rc = md && fingerprint(peer, md, fp, sizeof fp) == 0 && strcasecmp(fp, d->fp_value) == 0
                 ? 0
                 : -1;
    X509_free(peer);
    return rc;
}

static void arm_timer(dtls_t *d);

static void handshake_done(dtls_t *d)
{
    clear_timers(d);
    if (verify_fingerprint(d) != 0) {
        fail(d, "certificate does not match the SDP fingerprint");
        return;
    }
    SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
    size_t k, s;
    if (!prof || srtpx_key_lengths((int)prof->id, &k, &s) != 0) {
        fail(d, "no SRTP profile negotiated");
        return;
    }
    uint8_t km[64];
    size_t km_len = 2 * (k + s);
    if (SSL_export_keying_material(d->ssl, km, km_len, KM_LABEL, strlen(KM_LABEL), NULL, 0, 0) !=
        1) {
        fail(d, "keying material export failed");
        return;
    }
    d->connected = true;
    LOG_I("dtls", "connected", "\"peer\":\"%s\",\"role\":\"%s\",\"cipher\":\"%s\",\"srtp\":\"%s\"",
          d->log_id, d->client ? "client" : "server", SSL_get_cipher_name(d->ssl),
          srtpx_profile_name((int)prof->id));
    d->cbs.on_connected(d->ud, (int)prof->id, km, km_len, d->client);
    OPENSSL_cleanse(km, sizeof km);
}

/* Drives the handshake or reads records after it. Returns after any callback. */
static void advance(dtls_t *d)
{
    if (!d->connected) {
        int r = SSL_do_handshake(d->ssl);
        if (r == 1) {
            handshake_done(d);
            return;
        }
        int e = SSL_get_error(d->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            fail(d, "handshake error");
            return;
        }
        arm_timer(d);
        return;
    }
    /* after the handshake: a retransmitted last flight, alerts, application data (ignored) */
    uint8_t buf[DTLS_MTU * 2];
    for (;;) {
        int r = SSL_read(d->ssl, buf, sizeof buf);
        if (r > 0) {
            continue;
        }
        int e = SSL_get_error(d->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            LOG_I("dtls", "close_notify received", "\"peer\":\"%s\"", d->log_id);
            d->dead = true;
            d->cbs.on_closed(d->ud);
            return;
        }
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            LOG_D("dtls", "record dropped", "\"peer\":\"%s\",\"ssl_error\":%d", d->log_id, e);
        }
        return;
    }
}

static gboolean on_retransmit(gpointer ud)
{
    dtls_t *d = ud;
    d->timer = 0;
    if (d->dead || d->connected) {
        return G_SOURCE_REMOVE;
    }
    if (DTLSv1_handle_timeout(d->ssl) < 0) {
        fail(d, "retransmission limit");
        return G_SOURCE_REMOVE;
    }
    arm_timer(d);
    return G_SOURCE_REMOVE;
}

static gboolean on_deadline(gpointer ud)
{
    dtls_t *d = ud;
    d->deadline = 0;
    fail(d, "handshake timeout");
    return G_SOURCE_REMOVE;
}

static void arm_timer(dtls_t *d)
{
    struct timeval tv;
    if (d->timer) {
        g_source_remove(d->timer);
        d->timer = 0;
    }
    if (DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        guint ms = (guint)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
        d->timer = g_timeout_add(ms ? ms : 1, on_retransmit, d);
    }
}

int dtls_start(dtls_t *d, bool client, const char *fp_alg, const char *fp_value)
{
    if (d->dead) {
        return -1;
    }
    if (!EVP_get_digestbyname(fp_alg) || strlen(fp_alg) >= sizeof d->fp_alg ||
        strlen(fp_value) >= sizeof d->fp_value) {
        return -1;
    }
    snprintf(d->fp_alg, sizeof d->fp_alg, "%s", fp_alg);
    snprintf(d->fp_value, sizeof d->fp_value, "%s", fp_value);
    if (d->started) {
        return 0;
    }
    d->started = true;
    d->client = client;
    if (client) {
        SSL_set_connect_state(d->ssl);
    } else {
        SSL_set_accept_state(d->ssl);
    }
    d->deadline = g_timeout_add(HANDSHAKE_TIMEOUT, on_deadline, d);
    if (client) {
        drop_held(d); /* a client expects no ClientHello */
        advance(d);
        return 0;
    }
    /* answer what arrived before the fingerprint, one datagram at a time */
    int n = d->n_held;
    d->n_held = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *p = d->held[i];
        if (!d->dead) {
            BIO_write(SSL_get_rbio(d->ssl), p, (int)d->held_len[i]);
            advance(d);
        }
        g_free(p);
    }
    return 0;
}

void dtls_feed(dtls_t *d, const uint8_t *p, size_t n)
{
    if (d->dead || n == 0 || n > 65535) {
        return;
    }
    if (!d->started) {
        if (d->n_held < HELD_MAX) {
            d->held[d->n_held] = g_memdup2(p, n);
            d->held_len[d->n_held++] = n;
        }
        return;
    }
    BIO_write(SSL_get_rbio(d->ssl), p, (int)n);
    advance(d);
}

void dtls_stop(dtls_t *d)
{
    if (!d || d->dead) {
        return;
    }
    if (d->connected) {
        SSL_shutdown(d->ssl); /* close_notify: the browser sees the transport close at once */
    }
    d->dead = true;
    clear_timers(d);
    drop_held(d);
}

bool dtls_fingerprint_alg_ok(const char *alg)
{
    static const char *const ok[] = { "sha-1", "sha-224", "sha-256", "sha-384", "sha-512" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (strcasecmp(alg, ok[i]) == 0) {
            return EVP_get_digestbyname(alg) != NULL;
        }
    }
    return false;
}

bool dtls_started(const dtls_t *d)
{
    return d->started;
}

bool dtls_connected(const dtls_t *d)
{
    return d->connected;
}
