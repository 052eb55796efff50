/* tests/fuzz/fuzz_sdp.c: proto/sdp on arbitrary text: parse; on success, build the SFU's
 * answer and a subscriber offer from it and parse both again (the SFU's output must always
 * parse and agree with the negotiation); check the input as a subscriber answer; classify it
 * as a candidate line. */
#include "../../proto/sdp.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cands[] = { "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host" };
static const sdp_local_t local = {
    .ice_ufrag = "sfuU",
    .ice_pwd = "sfupassword0123456789abcd",
    .fp_alg = "sha-256",
    .fp_value = "AA:BB:CC",
    .setup = SDP_SETUP_PASSIVE,
    .cands = cands,
    .n_cands = 1,
};
static char out[SDP_MAX_LEN];

/* The answer must parse and carry exactly the accepted sections' mids and codecs. */
static void check_answer(const sdp_t *offer, const sdp_neg_t *neg, ssize_t n)
{
    sdp_t *a = NULL;
    if (sdp_parse(&a, out, (size_t)n, NULL) != 0 || a->n_media != offer->n_media) {
        abort();
    }
    for (unsigned i = 0; i < a->n_media; i++) {
        const sdp_neg_media_t *m = &neg->media[i];
        const sdp_codec_t *c = sdp_media_codec(&a->media[i], m->codec.pt);
        if (m->accepted && (a->media[i].port == 0 || !c || (c->fb & ~SDP_FB_SFU) ||
                            strcmp(a->media[i].mid, m->mid) != 0)) {
            abort();
        }
    }
    sdp_free(a);
}

static void check_sub_offer(const sdp_neg_t *neg)
{
    sdp_sub_track_t t[SDP_MAX_MEDIA];
    size_t k = 0;
    for (unsigned i = 0; i < neg->n_media; i++) {
        if (neg->media[i].accepted) {
            t[k] = (sdp_sub_track_t){ .ssrc = 1000 + (uint32_t)k,
                                      .rtx_ssrc = 2000 + (uint32_t)k,
                                      .cname = "c",
                                      .msid_stream = "s",
                                      .msid_track = "t" };
            k++;
        }
    }
    sdp_local_t l = local;
    l.setup = SDP_SETUP_ACTPASS;
    ssize_t n = sdp_build_sub_offer(out, sizeof out, neg, &l, t, k, NULL);
    if (n < 0) {
        return;
    }
    sdp_t *o = NULL;
    if (sdp_parse(&o, out, (size_t)n, NULL) != 0 || o->n_media != k) {
        abort();
    }
    for (unsigned i = 0; i < o->n_media; i++) {
        if (sdp_media_primary_ssrc(&o->media[i], NULL) != 1000 + i) {
            abort();
        }
    }
    sdp_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sdp_cand_t c;
    sdp_cand_parse(&c, (const char *)data, size, NULL);
    sdp_t *s = NULL;
    if (sdp_parse(&s, (const char *)data, size, NULL) != 0) {
        return 0;
    }
    sdp_remote_t rt;
    sdp_remote_transport(s, &rt, NULL);
    for (unsigned i = 0; i < s->n_media; i++) {
        sdp_media_primary_ssrc(&s->media[i], NULL);
        for (unsigned j = 0; j < s->media[i].n_codecs; j++) {
            sdp_media_rtx_pt(&s->media[i], s->media[i].codecs[j].pt);
        }
    }
    for (int pref = SDP_PREFER_OFFER; pref <= SDP_PREFER_H264; pref++) {
        sdp_answer_opts_t o = { .video_pref = pref, .start_kbps = 900, .max_video = 2 };
        sdp_neg_t neg;
        ssize_t n = sdp_build_answer(out, sizeof out, s, &local, &o, &neg, NULL);
        if (n >= 0) {
            check_answer(s, &neg, n);
            /* the input checked as the answer to the offer built from itself */
            sdp_check_sub_answer(s, &neg, NULL, NULL);
            check_sub_offer(&neg);
        }
    }
    sdp_free(s);
    return 0;
}
