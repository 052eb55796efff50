/* sfu/peer.c: see peer.h. Lifecycle, state events, the transport callbacks (ICE, DTLS), the
 * receive demultiplexer and browser candidates. SDP negotiation is in peer_sdp.c. */
#include "peer.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../proto/rtp.h"
#include "dtls.h"
#include "ice.h"
#include "peer_int.h"
#include "room.h"
#include "router.h"
#include "rtcp_fb.h"
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

const char *peer_role_str(peer_role_t r)
{
    return r == PEER_PUB ? "publisher" : "subscriber";
}

const char *peer_state_str(peer_state_t s)
{
    static const char *const names[] = { "new", "connecting", "connected", "failed", "closed" };
    return s <= PEER_CLOSED ? names[s] : "?";
}

/* ---- lifetime --------------------------------------------------------------------------- */

static gboolean free_idle(gpointer ud)
{
    peer_t *p = ud;
    ice_free(p->ice);
    dtls_free(p->dtls);
    srtpx_stop(&p->srtp);
    router_pub_free(p->pub);
    g_free(p->sub);
    g_ptr_array_free(p->held, TRUE);
    g_ptr_array_free(p->dtls_out, TRUE);
    g_free(p->id);
    g_free(p);
    return G_SOURCE_REMOVE;
}

/* The last reference: free on the next loop iteration, outside any callback of the agent or
 * of OpenSSL that may be running now. */
static void on_last_ref(rc_t *rc)
{
    peer_t *p = container_of(rc, peer_t, rc);
    g_idle_add(free_idle, p);
}

void peer_unref(peer_t *p)
{
    rc_unref(&p->rc);
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    while (v == 0) {
        RAND_bytes((unsigned char *)&v, sizeof v);
    }
    return v;
}

peer_t *peer_new(sfu_t *s, room_t *r, const char *id, peer_role_t role)
{
    peer_t *p = g_new0(peer_t, 1);
    rc_init(&p->rc, on_last_ref);
    p->sfu = s;
    p->id = g_strdup(id);
    p->room = r;
    p->role = role;
    p->local_ssrc = random_u32();
    p->sess_id = random_u32() & 0x7fffffff;
    p->cand_mline = -1;
    p->held = g_ptr_array_new_with_free_func(g_free);
    p->dtls_out = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    list_init(&p->room_link);
    g_hash_table_insert(s->peers, p->id, p);
    if (role == PEER_SUB) {
        list_insert_tail(&r->subs, &p->room_link);
        r->n_subs++;
        r->fan_dirty = true;
    }
    LOG_I("peer", "created", "\"peer\":\"%s\",\"room\":\"%s\",\"role\":\"%s\"", p->id, r->id,
          peer_role_str(role));
    return p;
}

void peer_set_state(peer_t *p, peer_state_t st, const char *reason)
{
    if (p->closed || p->state == st) {
        return;
    }
    p->state = st;
    LOG_I("peer", "state", "\"peer\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\"", p->id,
          peer_state_str(st), reason ? reason : "");
    json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "peer", p->id, "room", p->room->id, "role",
                          peer_role_str(p->role), "state", peer_state_str(st));
    if (reason) {
        json_object_set_new(d, "reason", json_string(reason));
    }
    sfu_emit(p->sfu, RPC_EV_PEER_STATE, d);
}

static void stop_connect_timer(peer_t *p)
{
    if (p->connect_timer) {
        g_source_remove(p->connect_timer);
        p->connect_timer = 0;
    }
}

void peer_close(peer_t *p, const char *reason)
{
    if (p->closed) {
        return;
    }
    if (reason) {
        peer_set_state(p, PEER_CLOSED, reason);
    }
    p->closed = true;
    p->state = PEER_CLOSED;
    stop_connect_timer(p);
    dtls_stop(p->dtls); /* close_notify: the browser sees the end at once */
    ice_stop(p->ice);
    room_t *r = p->room;
    if (p->role == PEER_SUB) {
        list_remove(&p->room_link);
        r->n_subs--;
        r->fan_dirty = true;
        r->gone_nacks += p->c.nacks_in;
    } else {
        r->gone_plis += p->c.plis_out;
        if (r->publisher == p) { /* a replaced publisher is not: its subscribers moved on */
            r->publisher = NULL;
            bool failed = reason && strcmp(reason, "failed") == 0;
            bool remote = reason && strcmp(reason, "remote-closed") == 0;
            long hold = p->hold_ms > 0 ? p->hold_ms : remote ? ROOM_HOLD_REMOTE_CLOSED_MS : 0;
            room_publisher_gone(r, failed ? "media-failed" : "publisher-left", hold);
        }
    }
    g_hash_table_remove(p->sfu->peers, p->id);
    p->room = NULL;
    peer_unref(p);
}

void peer__fail(peer_t *p, const char *reason)
{
    if (p->closed) {
        return;
    }
    LOG_W("peer", "failed", "\"peer\":\"%s\",\"reason\":\"%s\"", p->id, reason);
    peer_set_state(p, PEER_FAILED, reason);
    peer_close(p, "failed");
}

int peer_send(peer_t *p, const uint8_t *buf, size_t len)
{
    return p->ice && !p->closed ? ice_send(p->ice, buf, len) : -1;
}

/* ---- transport callbacks ----------------------------------------------------------------- */

static void on_ice_candidate(void *ud, const char *cand)
{
    peer_t *p = ud;
    json_t *c = json_null();
    if (cand) {
        c = json_pack("{s:s,s:s,s:i}", "candidate", cand, "sdpMid", p->cand_mid, "sdpMLineIndex",
                      p->cand_mline < 0 ? 0 : p->cand_mline);
    }
    sfu_emit(p->sfu, RPC_EV_PEER_CANDIDATE, json_pack("{s:s,s:o}", "peer", p->id, "candidate", c));
}

static void flush_dtls_out(peer_t *p);

static void start_dtls_client(peer_t *p)
{
    if (p->dtls_client && p->ice_up && p->fp_value[0] && !dtls_started(p->dtls)) {
        dtls_start(p->dtls, true, p->fp_alg, p->fp_value);
    }
}

static void on_ice_state(void *ud, ice_state_t st)
{
    peer_t *p = ud;
    if (st == ICE_CONNECTED) {
        LOG_I("peer", "ICE connected", "\"peer\":\"%s\"", p->id);
        p->ice_up = true;
        flush_dtls_out(p);
        start_dtls_client(p);
    } else if (st == ICE_FAILED) {
        p->ice_up = false;
        peer__fail(p, "ice-failed");
    }
}

/* Scratch for one incoming datagram: unprotected in place, then routed. */
static uint8_t rxbuf[ROUTER_PKT_MAX + SRTPX_SPARE];

static void on_ice_recv(void *ud, uint8_t *buf, size_t len)
{
    peer_t *p = ud;
    if (p->closed) {
        return;
    }
    /* RFC 7983: the first byte tells DTLS from SRTP/SRTCP (STUN never reaches us) */
    rtp_class_t cls = rtp_classify(buf, len);
    if (cls == RTP_CLASS_DTLS) {
        dtls_feed(p->dtls, buf, len);
        return;
    }
    if (cls != RTP_CLASS_RTP && cls != RTP_CLASS_RTCP) {
        return;
    }
    p->c.bytes_in += len;
    p->sfu->bytes_in += len;
    if (!srtpx_ready(&p->srtp) || len > ROUTER_PKT_MAX) {
        p->c.dropped++;
        return;
    }
    memcpy(rxbuf, buf, len);
    int n = (int)len;
    if (cls == RTP_CLASS_RTCP) {
        if (srtpx_unprotect_rtcp(&p->srtp, rxbuf, &n) != 0) {
            p->c.dropped++;
            return;
        }
        if (p->role == PEER_PUB) {
            rtcp_fb_on_pub_rtcp(p, rxbuf, (size_t)n);
        } else {
            rtcp_fb_on_sub_rtcp(p, rxbuf, (size_t)n);
        }
        return;
    }
    if (sfu_test_drop(p->sfu->cfg.test_loss_in)) {
        return;
    }
    if (p->role != PEER_PUB || srtpx_unprotect(&p->srtp, rxbuf, &n) != 0) {
        p->c.dropped++;
        return;
    }
    p->c.packets_in++;
    /* behind (sfu_shed_media): the packet is counted but not fanned out, so that the read
     * loop drains the socket and the main loop gets back to its timers (consent, DTLS), the
     * RPC and new peers; viewers recover with a keyframe. Not NACKed: resending what was shed
     * would only add load. */
    router_on_rtp(p, rxbuf, (size_t)n, !sfu_shed_media(p->sfu));
}

/* DTLS records written before our side of ICE has a pair (the browser may already have one
 * and send its ClientHello) wait here until it does, instead of waiting for a retransmission
 * one second later. */
static int on_dtls_send(void *ud, const uint8_t *buf, size_t len)
{
    peer_t *p = ud;
    if (p->ice_up || p->closed) {
        return peer_send(p, buf, len);
    }
    if (p->dtls_out->len < PEER_DTLS_OUT_MAX) {
        g_ptr_array_add(p->dtls_out, g_bytes_new(buf, len));
    }
    return 0;
}

static void flush_dtls_out(peer_t *p)
{
    for (guint i = 0; i < p->dtls_out->len; i++) {
        gsize n;
        const uint8_t *d = g_bytes_get_data(g_ptr_array_index(p->dtls_out, i), &n);
        peer_send(p, d, n);
    }
    g_ptr_array_set_size(p->dtls_out, 0);
}

static void on_dtls_connected(void *ud, int profile, const uint8_t *km, size_t km_len, bool client)
{
    peer_t *p = ud;
    if (srtpx_start(&p->srtp, profile, km, km_len, client) != 0) {
        peer__fail(p, "srtp-failed");
        return;
    }
    stop_connect_timer(p);
    p->connected_ms = clock_mono_ms();
    peer_set_state(p, PEER_CONNECTED, NULL);
    if (p->role == PEER_SUB && p->room) {
        /* a new viewer needs a keyframe to start decoding */
        rtcp_fb_keyframe(p->room->publisher, p);
    } else if (p->room && p->room->publisher == p && !list_empty(&p->room->subs)) {
        /* a new publisher (or connection) feeding kept subscribers: a keyframe at once */
        rtcp_fb_keyframe(p, NULL);
    }
}

static void on_dtls_failed(void *ud, const char *why)
{
    peer__fail(ud, "dtls-failed");
}

static void on_dtls_closed(void *ud)
{
    peer_close(ud, "remote-closed");
}

/* The old transport of a replaced connection: freed on the next loop iteration, outside any
 * callback of its agent or SSL object. */
typedef struct old_transport {
    ice_t *ice;
    dtls_t *dtls;
} old_transport_t;

static gboolean free_old_transport(gpointer ud)
{
    old_transport_t *o = ud;
    ice_free(o->ice);
    dtls_free(o->dtls);
    g_free(o);
    return G_SOURCE_REMOVE;
}

void peer__transport_reset(peer_t *p)
{
    LOG_I("peer", "transport replaced (a new connection with the same peer id)", "\"peer\":\"%s\"",
          p->id);
    stop_connect_timer(p);
    dtls_stop(p->dtls); /* close_notify on the old path, while p->ice is still the old agent */
    ice_stop(p->ice);
    old_transport_t *o = g_new0(old_transport_t, 1);
    o->ice = p->ice;
    o->dtls = p->dtls;
    g_idle_add(free_old_transport, o);
    p->ice = NULL;
    p->dtls = NULL;
    srtpx_stop(&p->srtp);
    memset(&p->srtp, 0, sizeof p->srtp);
    g_ptr_array_set_size(p->held, 0);
    g_ptr_array_set_size(p->dtls_out, 0);
    p->have_remote = p->ice_up = p->remote_done = false;
    p->remote_ufrag[0] = p->fp_alg[0] = p->fp_value[0] = 0;
    p->state = PEER_NEW; /* silently: the next apply_remote announces connecting again */
}

int peer__transport_new(peer_t *p, bool controlling, char *why, size_t whylen)
{
    static const ice_cbs_t ice_cbs = {
        .on_candidate = on_ice_candidate,
        .on_state = on_ice_state,
        .on_recv = on_ice_recv,
    };
    static const dtls_cbs_t dtls_cbs = {
        .send = on_dtls_send,
        .on_connected = on_dtls_connected,
        .on_failed = on_dtls_failed,
        .on_closed = on_dtls_closed,
    };
    p->ice = ice_new(p->sfu, controlling, &ice_cbs, p, p->id, why, whylen);
    if (!p->ice) {
        return -1;
    }
    p->dtls = dtls_new(p->sfu->dtls, &dtls_cbs, p, p->id);
    if (!p->dtls) {
        snprintf(why, whylen, "cannot create the DTLS state");
        return -1;
    }
    return 0;
}

/* ---- remote candidates -------------------------------------------------------------------- */

static void add_remote(peer_t *p, const char *cand)
{
    if (ice_add_remote_candidate(p->ice, cand) <= 0) {
        LOG_D("peer", "candidate not usable", "\"peer\":\"%s\",\"candidate\":\"%s\"", p->id,
              log_esc(cand));
    }
}

static void add_sdp_candidates(peer_t *p, const sdp_media_t *m)
{
    static const char *const types[] = { "host", "srflx", "prflx", "relay" };
    for (int i = 0; m && i < m->n_cands; i++) {
        const sdp_cand_t *c = &m->cands[i];
        if (c->mdns || c->tcp || c->component != 1) {
            continue;
        }
        char line[512];
        int n = snprintf(line, sizeof line, "candidate:%s %u udp %u %s %u typ %s", c->foundation,
                         c->component, c->priority, c->addr, c->port, types[c->type]);
        if (n > 0 && (size_t)n < sizeof line && c->raddr[0]) {
            snprintf(line + n, sizeof line - (size_t)n, " raddr %s rport %u", c->raddr, c->rport);
        }
        add_remote(p, line);
    }
}

static gboolean on_connect_timeout(gpointer ud)
{
    peer_t *p = ud;
    p->connect_timer = 0;
    peer__fail(p, "timeout");
    return G_SOURCE_REMOVE;
}

int peer__apply_remote(peer_t *p, const sdp_remote_t *rem, bool dtls_client, char *why,
                       size_t whylen)
{
    if (ice_set_remote(p->ice, rem->ice_ufrag, rem->ice_pwd) != 0) {
        snprintf(why, whylen, "sdp: ICE credentials refused");
        return -1;
    }
    snprintf(p->remote_ufrag, sizeof p->remote_ufrag, "%s", rem->ice_ufrag);
    snprintf(p->fp_alg, sizeof p->fp_alg, "%s", rem->fp_alg);
    snprintf(p->fp_value, sizeof p->fp_value, "%s", rem->fp_value);
    p->have_remote = true;
    add_sdp_candidates(p, rem->first);
    for (guint i = 0; i < p->held->len; i++) {
        add_remote(p, g_ptr_array_index(p->held, i));
    }
    g_ptr_array_set_size(p->held, 0);
    if (p->remote_done || rem->first->end_of_candidates) {
        ice_remote_done(p->ice);
    }
    if (!dtls_started(p->dtls)) {
        p->dtls_client = dtls_client;
        if (!dtls_client && dtls_start(p->dtls, false, p->fp_alg, p->fp_value) != 0) {
            snprintf(why, whylen, "sdp: unsupported fingerprint hash %s", p->fp_alg);
            return -1;
        }
        start_dtls_client(p);
    }
    if (p->state != PEER_CONNECTED && !p->connect_timer) {
        p->connect_timer = g_timeout_add(PEER_CONNECT_TIMEOUT_MS, on_connect_timeout, p);
    }
    if (p->state == PEER_NEW) {
        peer_set_state(p, PEER_CONNECTING, NULL);
    }
    return 0;
}

int peer_add_candidate(peer_t *p, const json_t *cand, rpc_err_t *err, char *why, size_t whylen)
{
    const char *text = "";
    if (!json_is_null(cand)) {
        const char *w = NULL;
        if (!json_is_object(cand)) {
            *err = RPC_E_INVALID_PARAMS;
            snprintf(why, whylen, "candidate: not an object or null");
            return -1;
        }
        if (!(text = rpc_get_str(cand, "candidate", 1024, &w))) {
            *err = RPC_E_INVALID_PARAMS;
            snprintf(why, whylen, "candidate.candidate: %s", w);
            return -1;
        }
    }
    if (!*text) { /* null or "": end-of-candidates */
        if (p->have_remote) {
            ice_remote_done(p->ice);
        } else {
            p->remote_done = true;
        }
        return 0;
    }
    sdp_cand_t c;
    const char *w = NULL;
    if (sdp_cand_parse(&c, text, strlen(text), &w) != 0) {
        *err = RPC_E_INVALID_PARAMS;
        snprintf(why, whylen, "candidate: %s", w ? w : "malformed");
        return -1;
    }
    if (c.mdns || c.tcp || c.component != 1) {
        /* libnice cannot resolve .local names; peer-reflexive candidates cover them */
        LOG_D("peer", "candidate ignored", "\"peer\":\"%s\",\"candidate\":\"%s\"", p->id,
              log_esc(text));
        return 0;
    }
    if (!p->have_remote) {
        if (p->held->len < PEER_HELD_MAX) {
            g_ptr_array_add(p->held, g_strdup(text));
        }
        return 0;
    }
    add_remote(p, text);
    return 0;
}

json_t *peer_stats_json(const peer_t *p)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "peer", p->id, "room",
                     p->room ? p->room->id : "", "role", peer_role_str(p->role), "state",
                     peer_state_str(p->state), "packets_in", (json_int_t)p->c.packets_in,
                     "packets_out", (json_int_t)p->c.packets_out, "bytes_in",
                     (json_int_t)p->c.bytes_in, "bytes_out", (json_int_t)p->c.bytes_out,
                     "packets_lost", (json_int_t)p->c.packets_lost, "nacks_in",
                     (json_int_t)p->c.nacks_in, "nacks_out", (json_int_t)p->c.nacks_out, "plis_in",
                     (json_int_t)p->c.plis_in, "plis_out", (json_int_t)p->c.plis_out);
}
