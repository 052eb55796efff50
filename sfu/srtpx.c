/* sfu/srtpx.c: see srtpx.h. */
#include "srtpx.h"
#include <srtp2/srtp.h>
#include <string.h>

_Static_assert(SRTPX_SPARE >= SRTP_MAX_TRAILER_LEN + 4, "SRTPX_SPARE too small");

static srtp_t sentinel;

static void set_policy(srtp_policy_t *p, int profile)
{
    if (profile == SRTPX_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
    }
}

static srtp_t create(int profile, const uint8_t *key, bool outbound)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    set_policy(&p, profile);
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = (unsigned char *)key;
    p.window_size = 1024;
    /* the SFU resends cached packets in answer to NACKs: the same index protected again */
    p.allow_repeat_tx = outbound ? 1 : 0;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok) {
        return NULL;
    }
    return s;
}

int srtpx_global_init(void)
{
    if (srtp_init() != srtp_err_status_ok) {
        return -1;
    }
    static const uint8_t zero[30];
    sentinel = create(SRTPX_AEAD_AES_128_GCM, zero, true);
    return sentinel ? 0 : -1;
}

void srtpx_global_deinit(void)
{
    if (sentinel) {
        srtp_dealloc(sentinel);
        sentinel = NULL;
    }
    srtp_shutdown();
}

int srtpx_key_lengths(int profile, size_t *key_len, size_t *salt_len)
{
    switch (profile) {
    case SRTPX_AEAD_AES_128_GCM:
        *key_len = 16;
        *salt_len = 12;
        return 0;
    case SRTPX_AES128_CM_SHA1_80:
        *key_len = 16;
        *salt_len = 14;
        return 0;
    default:
        return -1;
    }
}

int srtpx_start(srtpx_t *s, int profile, const uint8_t *km, size_t km_len, bool dtls_client)
{
    size_t k, n;
    if (srtpx_key_lengths(profile, &k, &n) != 0 || km_len < 2 * (k + n)) {
        return -1;
    }
    /* RFC 5764 4.2: client_key | server_key | client_salt | server_salt; libsrtp: key||salt */
    uint8_t client[32], server[32];
    memcpy(client, km, k);
    memcpy(server, km + k, k);
    memcpy(client + k, km + 2 * k, n);
    memcpy(server + k, km + 2 * k + n, n);
    srtp_t in = create(profile, dtls_client ? server : client, false);
    srtp_t out = create(profile, dtls_client ? client : server, true);
    memset(client, 0, sizeof client);
    memset(server, 0, sizeof server);
    if (!in || !out) {
        if (in) {
            srtp_dealloc(in);
        }
        if (out) {
            srtp_dealloc(out);
        }
        return -1;
    }
    srtpx_stop(s);
    s->in = in;
    s->out = out;
    s->profile = profile;
    return 0;
}

void srtpx_stop(srtpx_t *s)
{
    if (s->in) {
        srtp_dealloc(s->in);
    }
    if (s->out) {
        srtp_dealloc(s->out);
    }
    s->in = s->out = NULL;
}

int srtpx_protect(srtpx_t *s, uint8_t *pkt, int *len)
{
    return -(int)srtp_protect(s->out, pkt, len);
}

int srtpx_unprotect(srtpx_t *s, uint8_t *pkt, int *len)
{
    return -(int)srtp_unprotect(s->in, pkt, len);
}

int srtpx_protect_rtcp(srtpx_t *s, uint8_t *pkt, int *len)
{
    return -(int)srtp_protect_rtcp(s->out, pkt, len);
}

int srtpx_unprotect_rtcp(srtpx_t *s, uint8_t *pkt, int *len)
{
    return -(int)srtp_unprotect_rtcp(s->in, pkt, len);
}

const char *srtpx_profile_name(int profile)
{
    switch (profile) {
    case SRTPX_AEAD_AES_128_GCM:
        return "AEAD_AES_128_GCM";
    case SRTPX_AES128_CM_SHA1_80:
        return "AES128_CM_SHA1_80";
    default:
        return "none";
    }
}
