/* sfu/peer_sdp.c: SDP negotiation of a peer (proto/sdp.h builds and checks the text): the
 * publisher's offer and our answer, the subscriber's offer and its answer, ICE restarts. DTLS
 * roles: we answer a browser's actpass with passive (we are the DTLS server, so our profile
 * order picks SRTP: GCM first) and our offers say actpass and follow the answer. */
#include "../common/log.h"
#include "../proto/err.h"
#include "dtls.h"
#include "ice.h"
#include "peer.h"
#include "peer_int.h"
#include "room.h"
#include "router.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(rpc_err_t *err, rpc_err_t code, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(rpc_err_t *err, rpc_err_t code, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    *err = code;
    return -1;
}

static void local_init(peer_t *p, sdp_local_t *l, sdp_setup_t setup, char **cands)
{
    memset(l, 0, sizeof *l);
    l->ice_ufrag = ice_local_ufrag(p->ice);
    l->ice_pwd = ice_local_pwd(p->ice);
    l->fp_alg = "sha-256";
    l->fp_value = dtls_ctx_fingerprint(p->sfu->dtls);
    l->setup = setup;
    l->sess_id = p->sess_id;
    l->sess_version = ++p->sess_version;
    l->cands = (const char *const *)cands;
    l->n_cands = cands ? g_strv_length(cands) : 0;
    l->end_of_candidates = ice_gathering_done(p->ice);
}

static int parse(const char *text, sdp_t **out, sdp_remote_t *rem, rpc_err_t *err, char *why,
                 size_t whylen)
{
    const char *w = NULL;
    if (sdp_parse(out, text, strlen(text), &w) != 0) {
        return fail(err, RPC_E_INVALID_PARAMS, why, whylen, "sdp: %s", w ? w : "malformed");
    }
    if (sdp_remote_transport(*out, rem, &w) != 0) {
        sdp_free(*out);
        *out = NULL;
        return fail(err, RPC_E_INVALID_PARAMS, why, whylen, "sdp: %s", w ? w : "no transport");
    }
    if (!dtls_fingerprint_alg_ok(rem->fp_alg)) {
        fail(err, RPC_E_INVALID_PARAMS, why, whylen, "sdp: unsupported fingerprint hash '%s'",
             rem->fp_alg);
        sdp_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int same_fingerprint(const peer_t *p, const sdp_remote_t *rem)
{
    return !p->fp_value[0] || strcasecmp(p->fp_value, rem->fp_value) == 0;
}

/* ---- publisher ------------------------------------------------------------------------------ */

static ssize_t build_answer(peer_t *p, const sdp_t *offer, char **cands, char *out, sdp_neg_t *neg,
                            const char **w)
{
    sdp_local_t l;
    local_init(p, &l, p->dtls_client ? SDP_SETUP_ACTIVE : SDP_SETUP_PASSIVE, cands);
    sdp_answer_opts_t opts = {
        .video_pref = SDP_PREFER_OFFER,
        .max_audio = 1,
        .max_video = 1,
        /* x-google-start-bitrate: Chromium would begin at 300 kbps and climb slowly */
        .start_kbps = (uint32_t)p->sfu->cfg.start_kbps,
    };
    return sdp_build_answer(out, SDP_MAX_LEN, offer, &l, &opts, neg, w);
}

char *peer_pub_offer(peer_t *p, const char *text, rpc_err_t *err, char *why, size_t whylen)
{
    sdp_t *offer = NULL;
    sdp_remote_t rem;
    if (parse(text, &offer, &rem, err, why, whylen) != 0) {
        return NULL;
    }
    char *out = g_malloc(SDP_MAX_LEN);
    char **cands = NULL;
    sdp_neg_t neg;
    const char *w = NULL;
    bool fresh = p->ice == NULL, changed = false;
    /* A new DTLS identity (fingerprint, or a setup that gives us the other role) is a new
     * RTCPeerConnection of the same publisher: it replaces the transport. The offer is checked
     * against the old transport first, so a refused one leaves the peer as it was. */
    bool replace = !fresh && (!same_fingerprint(p, &rem) ||
                              (rem.setup == SDP_SETUP_PASSIVE) != p->dtls_client);
    if (replace) {
        ssize_t k = build_answer(p, offer, NULL, out, &neg, &w);
        if (k < 0) {
            fail(err, k == PROTO_ETOOBIG ? RPC_E_INTERNAL : RPC_E_INVALID_PARAMS, why, whylen,
                 "sdp: %s", w ? w : "cannot answer");
            goto fail;
        }
        peer__transport_reset(p);
        fresh = true;
    }
    if (fresh) {
        /* RFC 5763 5: the offerer said actpass (or active): we are passive, the DTLS server */
        p->dtls_client = rem.setup == SDP_SETUP_PASSIVE;
        if (peer__transport_new(p, false, why, whylen) != 0) {
            *err = RPC_E_INTERNAL;
            goto fail;
        }
    } else if (strcmp(rem.ice_ufrag, p->remote_ufrag) != 0) {
        LOG_I("peer", "ICE restart", "\"peer\":\"%s\"", p->id);
        ice_restart(p->ice); /* new local credentials go into this answer */
    }
    cands = fresh ? NULL : ice_local_candidates(p->ice);
    ssize_t n = build_answer(p, offer, cands, out, &neg, &w);
    if (n < 0) {
        fail(err, n == PROTO_ETOOBIG ? RPC_E_INTERNAL : RPC_E_INVALID_PARAMS, why, whylen,
             "sdp: %s", w ? w : "cannot answer");
        goto fail;
    }
    if (p->pub && !router_neg_same(&p->pub->neg, &neg)) {
        /* new SSRCs, payload types or codecs: the subscribers move to the new media when they
         * can (room_rebind_subscribers, once the answer is made) */
        LOG_I("peer", "publisher media changed", "\"peer\":\"%s\"", p->id);
        router_pub_free(p->pub);
        p->pub = NULL;
        changed = true;
    }
    if (!p->pub) {
        p->pub = router_pub_new(&neg);
        snprintf(p->cand_mid, sizeof p->cand_mid, "%s", neg.media[p->pub->first].mid);
        p->cand_mline = p->pub->first;
    } else {
        p->pub->neg = neg;
    }
    if (fresh) {
        if (ice_gather(p->ice, why, whylen) != 0) {
            *err = RPC_E_INTERNAL;
            goto fail;
        }
        /* the answer carries what was gathered; the same candidates also trickle as events */
        cands = ice_local_candidates(p->ice);
        n = build_answer(p, offer, cands, out, &neg, &w);
        if (n < 0) {
            fail(err, RPC_E_INTERNAL, why, whylen, "sdp: %s", w ? w : "cannot answer");
            goto fail;
        }
    }
    if (peer__apply_remote(p, &rem, p->dtls_client, why, whylen) != 0) {
        *err = RPC_E_INVALID_PARAMS;
        goto fail;
    }
    if (changed && p->room->publisher == p) {
        room_rebind_subscribers(p->room);
    }
    g_strfreev(cands);
    sdp_free(offer);
    return out;
fail:
    if (replace) {
        peer_close(p, "failed"); /* its old transport is gone already */
    } else if (changed && p->room->publisher == p) {
        room_rebind_subscribers(p->room); /* they must not point into the media it replaced */
    }
    g_strfreev(cands);
    sdp_free(offer);
    g_free(out);
    return NULL;
}

void peer_pub_restart(peer_t *p)
{
    /* Nothing to do yet: the browser's next offer carries a new ufrag, which restarts ICE
     * (peer_pub_offer). Logged so operators can match it with that offer. */
    LOG_I("peer", "ICE restart requested", "\"peer\":\"%s\"", p->id);
}

/* ---- subscriber ------------------------------------------------------------------------------ */

static ssize_t build_sub_offer(peer_t *p, const pub_media_t *pm, const char *room_id, char **cands,
                               char *out, const char **w)
{
    sdp_sub_track_t tracks[SDP_MAX_MEDIA];
    sub_media_t *sm = p->sub;
    router_sub_from_pub(sm, pm);
    size_t n = sm->n;
    for (size_t j = 0; j < n; j++) {
        const sdp_neg_media_t *nm = &pm->neg.media[sm->t[j].pub];
        tracks[j] = (sdp_sub_track_t){
            .ssrc = sm->t[j].ssrc, /* what it negotiated first, across publisher swaps */
            .rtx_ssrc = 0,         /* retransmissions reuse the media SSRC */
            .cname = nm->cname[0] ? nm->cname : "onair",
            .msid_stream = nm->msid_stream[0] ? nm->msid_stream : room_id,
            .msid_track = nm->msid_track[0] ? nm->msid_track : nm->mid,
        };
    }
    sdp_local_t l;
    local_init(p, &l, SDP_SETUP_ACTPASS, cands);
    return sdp_build_sub_offer(out, SDP_MAX_LEN, &pm->neg, &l, tracks, n, w);
}

char *peer_sub_offer(peer_t *p, bool restart, rpc_err_t *err, char *why, size_t whylen)
{
    peer_t *pub = p->room ? p->room->publisher : NULL;
    if (!pub || !pub->pub) {
        fail(err, RPC_E_NOT_FOUND, why, whylen, "the room has no publisher with negotiated media");
        return NULL;
    }
    bool fresh = p->ice == NULL;
    if (fresh && peer__transport_new(p, true, why, whylen) != 0) {
        *err = RPC_E_INTERNAL;
        return NULL;
    }
    if (!p->sub) {
        p->sub = g_new0(sub_media_t, 1);
    }
    if (restart && !fresh) {
        LOG_I("peer", "ICE restart", "\"peer\":\"%s\"", p->id);
        ice_restart(p->ice);
        p->have_remote = false; /* candidates wait for the answer with the new credentials */
    }
    if (fresh && ice_gather(p->ice, why, whylen) != 0) {
        *err = RPC_E_INTERNAL;
        return NULL;
    }
    /* candidate events name our first m= section */
    snprintf(p->cand_mid, sizeof p->cand_mid, "%s", pub->pub->neg.media[pub->pub->first].mid);
    p->cand_mline = 0;
    char *out = g_malloc(SDP_MAX_LEN);
    char **cands = ice_local_candidates(p->ice);
    const char *w = NULL;
    ssize_t n = build_sub_offer(p, pub->pub, p->room->id, cands, out, &w);
    g_strfreev(cands);
    if (n < 0) {
        fail(err, RPC_E_INTERNAL, why, whylen, "sdp: %s", w ? w : "cannot build the offer");
        g_free(out);
        return NULL;
    }
    return out;
}

int peer_sub_answer(peer_t *p, const char *text, rpc_err_t *err, char *why, size_t whylen)
{
    peer_t *pub = p->room ? p->room->publisher : NULL;
    if (!p->sub || p->sub->n == 0) {
        return fail(err, RPC_E_BAD_STATE, why, whylen, "no offer was made: subscriber.create");
    }
    if (!pub || !pub->pub) {
        return fail(err, RPC_E_BAD_STATE, why, whylen, "the room has no publisher");
    }
    sdp_t *ans = NULL;
    sdp_remote_t rem;
    if (parse(text, &ans, &rem, err, why, whylen) != 0) {
        return -1;
    }
    sdp_sub_result_t res;
    const char *w = NULL;
    int rc = -1;
    if (sdp_check_sub_answer(ans, &pub->pub->neg, &res, &w) != 0) {
        fail(err, RPC_E_INVALID_PARAMS, why, whylen, "sdp: %s", w ? w : "not an answer");
        goto out;
    }
    if (!same_fingerprint(p, &rem)) {
        fail(err, RPC_E_INVALID_PARAMS, why, whylen, "sdp: the DTLS fingerprint changed");
        goto out;
    }
    sub_media_t *sm = p->sub;
    for (int j = 0; j < res.n_media && j < sm->n; j++) {
        sm->t[j].want = res.media[j].accepted;
        sm->t[j].fb = res.media[j].fb;
    }
    /* their setup:active makes us the DTLS server; setup:passive makes us the client */
    bool client = rem.setup == SDP_SETUP_PASSIVE;
    if (peer__apply_remote(p, &rem, client, why, whylen) != 0) {
        *err = RPC_E_INVALID_PARAMS;
        goto out;
    }
    sm->answered = true;
    rc = 0;
out:
    sdp_free(ans);
    return rc;
}
