/* sfu/srtpx.h: libsrtp2 wrapper for one DTLS-SRTP connection: an inbound and an outbound
 * session keyed from the DTLS exporter (RFC 5764 4.2), SRTP and SRTCP both ways. The process
 * keeps a sentinel session alive (Debian's NSS-based libsrtp2 re-loads NSS on every create
 * otherwise, c-deps.md 7). Buffers handed to the protect calls need SRTPX_SPARE bytes of room
 * past the packet. */
#ifndef SFU_SRTPX_H
#define SFU_SRTPX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRTPX_SPARE 160 /* >= SRTP_MAX_TRAILER_LEN + 4 (SRTCP E flag and index) */

/* DTLS-SRTP protection profiles (RFC 5764 4.1.2, RFC 7714 14.2). */
#define SRTPX_AES128_CM_SHA1_80 0x0001
#define SRTPX_AEAD_AES_128_GCM  0x0007

typedef struct srtpx {
    void *in, *out; /* srtp_t; NULL until srtpx_start */
    int profile;
} srtpx_t;

/* srtp_init and the sentinel session. Returns 0 or -1. Call once per process. */
int srtpx_global_init(void);
void srtpx_global_deinit(void);

/* Key and salt lengths of a profile: returns 0 and sets them, or -1 for an unknown profile. */
int srtpx_key_lengths(int profile, size_t *key_len, size_t *salt_len);

/* Creates both sessions from the exported keying material km (2 * (key + salt) bytes in the
 * RFC 5764 layout client_key | server_key | client_salt | server_salt). The DTLS client
 * writes with the client key. Returns 0, or -1 (then s is unchanged). Restarting an already
 * keyed s replaces its sessions. */
int srtpx_start(srtpx_t *s, int profile, const uint8_t *km, size_t km_len, bool dtls_client);
/* Frees the sessions; s can be started again. */
void srtpx_stop(srtpx_t *s);

static inline bool srtpx_ready(const srtpx_t *s)
{
    return s->in != NULL;
}

/* In-place transforms; *len is updated. Return 0 or a negative libsrtp status (replay, auth
 * failure, ...). Protect writes up to SRTPX_SPARE bytes past *len. */
int srtpx_protect(srtpx_t *s, uint8_t *pkt, int *len);
int srtpx_unprotect(srtpx_t *s, uint8_t *pkt, int *len);
int srtpx_protect_rtcp(srtpx_t *s, uint8_t *pkt, int *len);
int srtpx_unprotect_rtcp(srtpx_t *s, uint8_t *pkt, int *len);

/* The profile's name ("AEAD_AES_128_GCM", "AES128_CM_SHA1_80"). */
const char *srtpx_profile_name(int profile);

#endif
