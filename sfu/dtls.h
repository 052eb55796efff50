/* sfu/dtls.h: DTLS 1.2 for DTLS-SRTP (RFC 5763/5764) with OpenSSL. One ECDSA P-256 certificate
 * per process (dtls_ctx_t); one dtls_t per peer connection. Records go out through a sink BIO,
 * one datagram per write (MTU 1200), and come in one datagram at a time. Retransmission timers
 * run on the GLib main context. The peer's certificate is checked against the a=fingerprint of
 * its SDP once the handshake ends; then on_connected gets the SRTP keying material. */
#ifndef SFU_DTLS_H
#define SFU_DTLS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTLS_MTU 1200

typedef struct dtls_ctx dtls_ctx_t;
typedef struct dtls dtls_t;

/* Makes the certificate and SSL_CTX. Returns it, or NULL with a message in err. */
dtls_ctx_t *dtls_ctx_new(char *err, size_t errlen);
void dtls_ctx_free(dtls_ctx_t *c);
/* The certificate's SHA-256 fingerprint, "AB:CD:..." (a=fingerprint:sha-256 ...). */
const char *dtls_ctx_fingerprint(const dtls_ctx_t *c);

typedef struct dtls_cbs {
    /* Sends one datagram. Returns 0 or -1. */
    int (*send)(void *ud, const uint8_t *p, size_t n);
    /* Handshake done and fingerprint verified: km holds the RFC 5764 keying material of the
     * negotiated profile (SRTPX_*); client tells which DTLS role this side had. */
    void (*on_connected)(void *ud, int profile, const uint8_t *km, size_t km_len, bool client);
    /* Handshake failure, fingerprint mismatch, timeout or fatal alert. */
    void (*on_failed)(void *ud, const char *why);
    /* close_notify received. */
    void (*on_closed)(void *ud);
} dtls_cbs_t;
/* Each callback may close the peer; dtls.c touches nothing after one returns except through
 * a fresh call. log_id names the peer in logs (borrowed for the life of d). */
dtls_t *dtls_new(dtls_ctx_t *c, const dtls_cbs_t *cbs, void *ud, const char *log_id);
/* Stops timers and frees. NULL is ignored. */
void dtls_free(dtls_t *d);

/* Starts the handshake once the remote fingerprint is known: client sends the ClientHello,
 * a server answers any ClientHello held so far. fp_alg is the a=fingerprint hash ("sha-256").
 * Returns 0, or -1 for an unsupported hash. A second call with the same role only updates the
 * expected fingerprint (before the handshake ends). */
int dtls_start(dtls_t *d, bool client, const char *fp_alg, const char *fp_value);
/* One received DTLS datagram. Before dtls_start a few are held (a ClientHello can arrive
 * before the SDP that carries the fingerprint); after a failure they are dropped. */
void dtls_feed(dtls_t *d, const uint8_t *p, size_t n);
/* Sends close_notify when connected and stops: no more callbacks. */
void dtls_stop(dtls_t *d);

/* True when alg names a hash usable for a=fingerprint (sha-1, sha-256, sha-384, sha-512). */
bool dtls_fingerprint_alg_ok(const char *alg);

bool dtls_started(const dtls_t *d);
bool dtls_connected(const dtls_t *d);

#endif
