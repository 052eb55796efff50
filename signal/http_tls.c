/* signal/http_tls.c: HTTPS/WSS for the HTTP server: OpenSSL on the libuv stream through two
 * memory BIOs (received bytes are written into the read BIO, whatever OpenSSL produces in the
 * write BIO is flushed with uv_write), below http.c's connection: requests, polling and
 * WebSocket frames all pass through http__conn_input() / http_conn_write() as plaintext.
 * Policy: TLS 1.2 and 1.3, ECDHE with AEAD ciphers for 1.2 (OpenSSL's defaults for 1.3), no
 * renegotiation, no compression, ALPN http/1.1 only. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "http_impl.h"
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* Mozilla's "intermediate" TLS 1.2 list (forward secrecy, AEAD only) */
#define TLS12_CIPHERS                                                                          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* The first queued OpenSSL error as text ("" when none); clears the queue. */
static const char *ssl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    out[0] = 0;
    if (e) {
        ERR_error_string_n(e, out, cap);
    }
    ERR_clear_error();
    return out;
}

/* RFC 7301 3.2: pick http/1.1 when offered; a client that offers only others is refused with
 * no_application_protocol (it would speak something we do not). */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof alpn_http11 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

int http_server_set_tls(http_server_t *srv, const char *cert_file, const char *key_file, char *err,
                        size_t errcap)
{
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errcap, "SSL_CTX_new: %s", ssl_reason(why, sizeof why));
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* idle keep-alive connections give their record buffers back */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        snprintf(err, errcap, "cipher list: %s", ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(err, errcap, "cannot load the certificate chain from %s: %s", cert_file,
                 ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        snprintf(err, errcap,
                 mismatch ? "the private key in %s does not match the certificate: %s"
                          : "cannot load the private key from %s: %s",
                 key_file, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errcap, "the private key in %s does not match the certificate in %s: %s",
                 key_file, cert_file, ssl_reason(why, sizeof why));
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    SSL_CTX_free(srv->tls);
    srv->tls = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return -1;
}

bool http_server_tls(const http_server_t *srv)
{
    return srv->tls != NULL;
}

void http__tls_server_free(http_server_t *srv)
{
    SSL_CTX_free(srv->tls);
    srv->tls = NULL;
}

int http__tls_conn_init(http_conn_t *c)
{
    c->ssl = SSL_new(c->srv->tls);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    BIO_set_mem_eof_return(rbio, -1); /* empty means "more to come", not EOF */
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(c->ssl, rbio, wbio); /* the SSL owns both now */
    SSL_set_accept_state(c->ssl);
    return 0;
}

void http__tls_conn_free(http_conn_t *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}

/* Writes what OpenSSL produced (records, alerts) to the socket. */
static int flush(http_conn_t *c)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    size_t pend = BIO_ctrl_pending(wbio);
    if (pend == 0 || c->closing) {
        return c->closing ? UV_ECANCELED : 0;
    }
    shbuf_t *b = shbuf_new(pend);
    int n = BIO_read(wbio, b->data, (int)pend);
    int rc = UV_EIO;
    if (n > 0) {
        http_part_t part = { b->data, (size_t)n, b };
        rc = http__raw_write(c, &part, 1);
    }
    shbuf_unref(b);
    return rc;
}

/* A plain-HTTP request on the TLS port: a plaintext 400 instead of a bare close. */
static void answer_plain_http(http_conn_t *c)
{
    static const char msg[] = "HTTP/1.1 400 Bad Request\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Length: 35\r\n"
                              "Connection: close\r\n\r\n"
                              "This port speaks HTTPS, not HTTP.\r\n";
    BIO_reset(SSL_get_wbio(c->ssl)); /* nothing of TLS goes out */
    http_part_t part = { (const uint8_t *)msg, sizeof msg - 1, NULL };
    if (http__raw_write(c, &part, 1) == 0) {
        http__conn_close_after_writes(c, false);
    }
}

static void fail(http_conn_t *c, int ssl_err, const char *action)
{
    char why[256];
    unsigned long e = ERR_peek_last_error();
    bool plain = ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST;
    if (ssl_err == SSL_ERROR_SYSCALL && !e) {
        snprintf(why, sizeof why, "unexpected end of stream");
    } else {
        ssl_reason(why, sizeof why);
    }
    LOG_W("http", "tls error, connection closed",
          "\"remote\":\"%s\",\"action\":\"%s\",\"err\":\"%s\"", c->remote, action, log_esc(why));
    c->tls_failed = true;
    if (plain) {
        answer_plain_http(c);
        return;
    }
    flush(c); /* the alert, if any */
    http__conn_close_after_writes(c, false);
}

void http__tls_input(http_conn_t *c, const char *data, size_t len)
{
    if (c->tls_failed) {
        return;
    }
    BIO *rbio = SSL_get_rbio(c->ssl);
    if (BIO_write(rbio, data, (int)len) != (int)len) {
        fail(c, SSL_ERROR_SSL, "buffer");
        return;
    }
    http_server_t *srv = c->srv;
    while (!c->closing && !c->tls_failed) {
        ERR_clear_error();
        bool was_ready = SSL_is_init_finished(c->ssl);
        int n = SSL_read(c->ssl, srv->tls_in, sizeof srv->tls_in);
        if (n > 0) {
            http__conn_input(c, srv->tls_in, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            flush(c); /* handshake messages, session tickets */
            return;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            flush(c); /* our close_notify in reply */
            http__conn_close_after_writes(c, false);
            return;
        }
        fail(c, e, was_ready ? "read" : "handshake");
        return;
    }
}

/* Encrypts len bytes into the write BIO. Returns 0, or -1 after failing the connection. */
static int put(http_conn_t *c, const void *p, size_t len)
{
    ERR_clear_error();
    int n = SSL_write(c->ssl, p, (int)len);
    if (n <= 0) {
        fail(c, SSL_get_error(c->ssl, n), "write");
        return -1;
    }
    return 0;
}

int http__tls_write(http_conn_t *c, const http_part_t *parts, size_t nparts)
{
    if (c->tls_failed || !SSL_is_init_finished(c->ssl)) {
        return UV_ECANCELED;
    }
    /* small parts (frame headers, separators, prefixes) are coalesced into full records */
    char *acc = c->srv->tls_out;
    size_t cap = sizeof c->srv->tls_out, used = 0;
    for (size_t i = 0; i < nparts; i++) {
        const uint8_t *p = parts[i].p;
        size_t len = parts[i].len;
        if (len == 0) {
            continue;
        }
        if (used + len > cap && used) {
            if (put(c, acc, used) != 0) {
                return UV_EIO;
            }
            used = 0;
        }
        if (len >= cap) {
            if (put(c, p, len) != 0) {
                return UV_EIO;
            }
            continue;
        }
        memcpy(acc + used, p, len);
        used += len;
    }
    if (used && put(c, acc, used) != 0) {
        return UV_EIO;
    }
    return flush(c);
}

void http__tls_shutdown(http_conn_t *c)
{
    if (c->tls_failed || !SSL_is_init_finished(c->ssl) || c->closing) {
        return;
    }
    ERR_clear_error();
    if (SSL_shutdown(c->ssl) >= 0) { /* close_notify; we do not wait for the peer's */
        flush(c);
    }
    ERR_clear_error();
}
