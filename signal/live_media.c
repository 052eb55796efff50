/* signal/live_media.c: media signalling between the browsers and the SFU pool (PROTOCOL.md 5-7,
 * docs/RPC.md). The admin's offer goes to the room's SFU as publisher.offer and its answer comes
 * back as `answer`; each viewer of a live room gets a subscriber and its `offer`; candidates
 * trickle both ways. Peer ids name their connection: "P.<room>.<conn>" (publisher) and
 * "S.<room>.<conn>" (subscriber), so an SFU event finds its socket without a table walk; the
 * peers map (peer id -> SFU id) holds only this node's peers.
 *
 * Requests of one connection reach the SFU in order on one stream, and the SFU handles them in
 * order: a candidate sent right after publisher.offer finds the peer that offer created. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include "live_rec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void peer_id(char *out, char kind, const char *room, const char *conn)
{
    snprintf(out, LIVE_PEER_ID_MAX, "%c.%s.%s", kind, room, conn);
}

/* Splits a peer id into kind, room and connection (copies). Returns false when malformed. */
static bool peer_parse(const char *id, char *kind, char *room, char *conn)
{
    const char *d1 = strchr(id, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || d1 != id + 1 || (size_t)(d2 - d1 - 1) > LIVE_ROOM_ID_MAX ||
        strlen(d2 + 1) > LIVE_SOCK_ID_MAX) {
        return false;
    }
    *kind = id[0];
    memcpy(room, d1 + 1, (size_t)(d2 - d1 - 1));
    room[d2 - d1 - 1] = 0;
    strcpy(conn, d2 + 1);
    return true;
}

static void peer_set(live_t *app, const char *peer, const char *sfu)
{
    free(strmap_put(&app->peers, peer, xstrdup(sfu)));
}

static void peer_forget(live_t *app, const char *peer)
{
    free(strmap_del(&app->peers, peer));
}

static sfu_t *peer_sfu(live_t *app, const char *peer)
{
    const char *id = strmap_get(&app->peers, peer);
    return id ? sfu_pool_find(app->sfus, id) : NULL;
}

/* Maps an SFU error to the client's code. */
static void reply_sfu_err(live_op_t *op, const char *err, const char *msg)
{
    if (!strcmp(err, "invalid_params")) {
        char m[300];
        snprintf(m, sizeof m, "the media server refused the description: %s", msg);
        live_reply_err(op, APP_EINVALID_PAYLOAD, m);
    } else if (!strcmp(err, "unavailable") || !strcmp(err, "timeout") || !strcmp(err, "draining")) {
        live_reply_err(op, APP_EUNAVAILABLE, "the media server is not available; try again");
    } else if (!strcmp(err, "not_found") || !strcmp(err, "bad_state")) {
        live_reply_err(op, APP_ECONFLICT, "no media session is waiting for this");
    } else {
        LOG_E("live", "sfu error",
              "\"event\":\"%s\",\"room\":\"%s\",\"error\":\"%s\",\"msg\":\"%s\"",
              live_ev_name(op->ev), log_esc(op->room), log_esc(err), log_esc(msg));
        live_reply_err(op, APP_EINTERNAL, "the media server failed");
    }
}

/* Reads the `sdp` string (<= sdp_max bytes); answers invalid_payload and returns NULL. */
static const char *need_sdp(live_t *app, sio_socket_t *s, int ev, json_t *p, int64_t ack)
{
    json_t *j = json_object_get(p, "sdp");
    const char *sdp = json_string_value(j);
    if (!sdp || !*sdp || json_string_length(j) > (size_t)app->cfg.sdp_max ||
        strlen(sdp) != json_string_length(j)) {
        live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD, "sdp must be a session description");
        return NULL;
    }
    return sdp;
}

/* ---- publisher: offer -> answer ---------------------------------------------------------- */

/* A publisher's offer. While it waits for the store (room check, SFU placement) it is listed in
 * app->offers under its peer id, and the connection's ice-candidates queue up in cands: the
 * browser trickles them right after the offer, before the peer exists on any SFU. */
typedef struct media_op {
    live_op_t op;
    char *sdp;
    char peer[LIVE_PEER_ID_MAX];
    json_t *cands; /* queued RTCIceCandidateInit values (or null), sent after the offer */
} media_op_t;

static void offer_free(media_op_t *m)
{
    if (strmap_get(&m->op.app->offers, m->peer) == m) {
        strmap_del(&m->op.app->offers, m->peer);
    }
    json_decref(m->cands);
    free(m->sdp);
    free(m);
}

static void on_publisher_answer(const char *sfu_id, const char *err, const char *msg,
                                json_t *result, void *ud)
{
    media_op_t *m = ud;
    live_t *app = m->op.app;
    sio_socket_t *s = live_op_socket(&m->op);
    const char *sdp = json_string_value(json_object_get(result, "sdp"));
    if (err || !sdp) {
        peer_forget(app, m->peer);
        reply_sfu_err(&m->op, err ? err : "internal", err ? msg : "no sdp in the answer");
    } else if (s) {
        live_reply_ok(&m->op, NULL);
        buf_t b;
        buf_init(&b, 0);
        buf_printf(&b, "{\"roomId\":\"%s\",\"sdp\":", m->op.room);
        buf_append_json_str(&b, sdp, strlen(sdp));
        buf_append_byte(&b, '}');
        sio_emit(s, "answer", (const char *)b.data, b.len);
        buf_deinit(&b);
        LOG_I("live", "publisher negotiated", "\"room\":\"%s\",\"sfu\":\"%s\",\"peer\":\"%s\"",
              log_esc(m->op.room), log_esc(sfu_id), log_esc(m->peer));
    }
    offer_free(m);
}

static void send_publisher_offer(media_op_t *m, sfu_t *sfu)
{
    live_t *app = m->op.app;
    live_room_t *r = live_room_get(app, m->op.room, true);
    if (r) {
        snprintf(r->pub_sfu, sizeof r->pub_sfu, "%s", sfu_id(sfu));
        snprintf(r->pub_conn, sizeof r->pub_conn, "%s", m->op.sock);
    }
    peer_set(app, m->peer, sfu_id(sfu));
    if (strmap_get(&app->offers, m->peer) == m) {
        strmap_del(&app->offers, m->peer); /* from here on candidates go straight to the SFU */
    }
    json_t *params =
        json_pack("{s:s, s:s, s:s}", "room", m->op.room, "peer", m->peer, "sdp", m->sdp);
    json_t *cands = m->cands;
    m->cands = NULL;
    sfu_call(sfu, "publisher.offer", params, on_publisher_answer, m);
    /* the candidates that arrived meanwhile, in order, after the offer on the same stream */
    size_t i;
    json_t *c;
    json_array_foreach(cands, i, c)
    {
        sfu_call(sfu, "peer.candidate", json_pack("{s:s, s:O}", "peer", m->peer, "candidate", c),
                 NULL, NULL);
    }
    json_decref(cands);
}

static void on_placed(store_t *st, const store_res_t *res, void *ud)
{
    media_op_t *m = ud;
    sfu_t *sfu = res->err == 0 && res->sfu ? sfu_pool_find(m->op.app->sfus, res->sfu) : NULL;
    if (!live_op_socket(&m->op)) {
        offer_free(m);
        return;
    }
    if (!sfu || sfu_get_state(sfu) != SFU_READY) {
        if (res->err && res->err != STORE_EUNAVAILABLE) {
            live_reply_store_err(&m->op, res);
        } else {
            live_reply_err(&m->op, APP_EUNAVAILABLE, "no media server is available; try again");
        }
        offer_free(m);
        return;
    }
    send_publisher_offer(m, sfu);
}

static void on_offer_room(store_t *st, const store_res_t *res, void *ud)
{
    media_op_t *m = ud;
    live_t *app = m->op.app;
    const store_room_t *r = res->room;
    app_err_t code = APP_OK;
    const char *msg = NULL;
    if (res->err) {
        live_reply_store_err(&m->op, res);
        goto done;
    }
    if (!live_op_socket(&m->op)) {
        goto done; /* the publisher left meanwhile: no peer for nobody */
    }
    if (!r->owner || strcmp(r->owner, m->op.sub) != 0) {
        code = APP_EFORBIDDEN, msg = "you do not own this room";
    } else if (!r->live || !r->owner_conn || strcmp(r->owner_conn, m->op.sock) != 0) {
        code = APP_ECONFLICT, msg = "start the stream on this connection before sending an offer";
    }
    if (code) {
        live_reply_err(&m->op, code, msg);
        goto done;
    }
    /* the room's placement, when that SFU is up here and takes new peers; otherwise claim the
     * least loaded, by force: a placement that is unknown here, down or draining (a rolling
     * restart) is given up, and the room moves */
    sfu_t *placed = r->sfu ? sfu_pool_find(app->sfus, r->sfu) : NULL;
    if (placed && sfu_get_state(placed) == SFU_READY && !sfu_draining(placed)) {
        send_publisher_offer(m, placed);
        return;
    }
    sfu_t *pick = sfu_pool_pick(app->sfus);
    if (!pick) {
        live_reply_err(&m->op, APP_EUNAVAILABLE, "no media server is available; try again");
        goto done;
    }
    if (r->sfu) {
        LOG_I("live", "room moves to another media server",
              "\"room\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"why\":\"%s\"", log_esc(m->op.room),
              log_esc(r->sfu), log_esc(sfu_id(pick)),
              !placed                              ? "unknown here"
              : sfu_get_state(placed) != SFU_READY ? "down"
                                                   : "draining");
    }
    store_room_sfu_claim(app->store, m->op.room, sfu_id(pick), r->sfu != NULL, on_placed, m);
    return;
done:
    offer_free(m);
}

void live_on_offer(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_OFFER;
    const char *room = live_need_room(app, s, ev, p, ack);
    const char *sdp = room ? need_sdp(app, s, ev, p, ack) : NULL;
    if (!sdp || !live_allowed(app, s, ev, ack, room, true)) {
        return;
    }
    media_op_t *m = xcalloc(1, sizeof(*m));
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    m->op = *op;
    free(op);
    m->sdp = xstrdup(sdp);
    peer_id(m->peer, 'P', room, m->op.sock);
    /* a renegotiation of a connected publisher goes straight to its SFU */
    sfu_t *sfu = peer_sfu(app, m->peer);
    if (sfu && sfu_get_state(sfu) == SFU_READY) {
        send_publisher_offer(m, sfu);
        return;
    }
    if (strmap_get(&app->offers, m->peer)) {
        live_reply_err(&m->op, APP_ECONFLICT, "an offer of this connection is being processed");
        free(m->sdp);
        free(m);
        return;
    }
    m->cands = json_array();
    strmap_put(&app->offers, m->peer, m);
    store_room_get(app->store, room, on_offer_room, m);
}

/* ---- subscribers ----------------------------------------------------------------------------- */

static void emit_offer(live_t *app, const char *room, const char *conn, const char *sdp)
{
    sio_socket_t *s = sio_socket_find(app->nsp, conn);
    if (!s) {
        return;
    }
    buf_t b;
    buf_init(&b, 0);
    buf_printf(&b, "{\"roomId\":\"%s\",\"sdp\":", room);
    buf_append_json_str(&b, sdp, strlen(sdp));
    buf_append_byte(&b, '}');
    sio_emit(s, "offer", (const char *)b.data, b.len);
    buf_deinit(&b);
}

static void on_subscriber_offer(const char *sfu_id, const char *err, const char *msg,
                                json_t *result, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    const char *sdp = json_string_value(json_object_get(result, "sdp"));
    if (err || !sdp) {
        /* not_found: the publisher's media is not up yet; the room-ready message will retry */
        peer_forget(app, op->arg);
        if (err && strcmp(err, "not_found") != 0) {
            LOG_W("live", "subscriber not created",
                  "\"room\":\"%s\",\"sock\":\"%s\",\"error\":\"%s\"", log_esc(op->room),
                  log_esc(op->sock), log_esc(err));
        }
    } else if (live_op_socket(op)) {
        emit_offer(app, op->room, op->sock, sdp);
    } else {
        sfu_t *sfu = sfu_pool_find(app->sfus, sfu_id);
        if (sfu) {
            sfu_call(sfu, "peer.close", json_pack("{s:s}", "peer", op->arg), NULL, NULL);
        }
        peer_forget(app, op->arg);
    }
    /* the reply to a restart-ice waits for the new offer */
    if (op->ev == LIVE_EV_RESTART_ICE) {
        if (err) {
            reply_sfu_err(op, err, msg);
        } else {
            live_reply_ok(op, NULL);
        }
    }
    free(op);
}

/* Creates the subscriber of conn for room on sfu; op (NULL: a new one) is answered by
 * on_subscriber_offer when it is a restart-ice. */
static void create_subscriber(live_t *app, sfu_t *sfu, const char *room, const char *conn,
                              live_op_t *op)
{
    if (!op) {
        op = live_op_new(app, LIVE_EV_OTHER, NULL, -1, room);
    }
    snprintf(op->sock, sizeof op->sock, "%s", conn);
    peer_id(op->arg, 'S', room, conn);
    sfu_t *old = peer_sfu(app, op->arg);
    if (old) {
        sfu_call(old, "peer.close", json_pack("{s:s}", "peer", op->arg), NULL, NULL);
    }
    peer_set(app, op->arg, sfu_id(sfu));
    sfu_call(sfu, "subscriber.create", json_pack("{s:s, s:s}", "room", room, "peer", op->arg),
             on_subscriber_offer, op);
}

/* Creates the subscriber of a local connection for room r (as the store last described it). */
static void subscribe_in(live_t *app, const store_room_t *r, const char *room, const char *conn)
{
    if (!r->live || !r->sfu || !sio_socket_find(app->nsp, conn)) {
        return;
    }
    sfu_t *sfu = sfu_pool_find(app->sfus, r->sfu);
    if (sfu && sfu_get_state(sfu) == SFU_READY) {
        create_subscriber(app, sfu, room, conn, NULL);
    } else {
        LOG_W("live", "room's media server not reachable from this node",
              "\"room\":\"%s\",\"sfu\":\"%s\"", log_esc(room), log_esc(r->sfu));
    }
}

static void on_subscribe_room(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err == 0) {
        subscribe_in(op->app, res->room, op->room, op->sock);
    }
    free(op);
}

void live_media_subscribe(live_t *app, const char *room, const char *conn)
{
    live_op_t *op = live_op_new(app, LIVE_EV_OTHER, NULL, -1, room);
    snprintf(op->sock, sizeof op->sock, "%s", conn);
    store_room_get(app->store, room, on_subscribe_room, op);
}

void live_media_subscribe_known(live_t *app, const store_room_t *r, const char *conn)
{
    subscribe_in(app, r, r->id, conn);
}

typedef struct ready_ctx {
    live_t *app;
    const char *room;
    char **conns;
    size_t n;
} ready_ctx_t;

static void collect_viewer(sio_socket_t *s, void *ud)
{
    ready_ctx_t *c = ud;
    live_user_t *u = live_user(s);
    char peer[LIVE_PEER_ID_MAX];
    if (!u || u->who.role != AUTH_VIEWER) {
        return;
    }
    peer_id(peer, 'S', c->room, u->sock_id);
    if (strmap_get(&c->app->peers, peer)) {
        return; /* already has a subscriber */
    }
    c->conns = xrealloc(c->conns, (c->n + 1) * sizeof(*c->conns));
    c->conns[c->n++] = xstrdup(u->sock_id);
}

void live_media_room_ready(live_t *app, const char *room)
{
    char sroom[LIVE_ROOM_ID_MAX + 3];
    snprintf(sroom, sizeof sroom, "r:%s", room);
    ready_ctx_t c = { app, room, NULL, 0 };
    sio_room_foreach(app->nsp, sroom, collect_viewer, &c);
    for (size_t i = 0; i < c.n; i++) {
        live_media_subscribe(app, room, c.conns[i]);
        free(c.conns[i]);
    }
    free(c.conns);
}

/* ---- answer, candidates, ICE restart --------------------------------------------------------- */

static void on_simple_reply(const char *sfu_id, const char *err, const char *msg, json_t *result,
                            void *ud)
{
    live_op_t *op = ud;
    if (err) {
        reply_sfu_err(op, err, msg);
    } else {
        live_reply_ok(op, NULL);
    }
    free(op);
}

/* Membership check for media events from a connection that is not in the room. */
static void on_not_member(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err) {
        live_reply_store_err(op, res);
    } else if (res->room->owner && !strcmp(res->room->owner, op->sub)) {
        /* PROTOCOL.md 10: every connection of the owner is a member; this one has no media
         * session (the publishing connection is another) */
        if (op->ev == LIVE_EV_ICE_CANDIDATE) {
            live_reply_ok(op, NULL);
        } else {
            live_reply_err(op, APP_ECONFLICT, "no media session on this connection");
        }
    } else {
        live_reply_err(op, APP_EFORBIDDEN, "you are not a member of this room");
    }
    free(op);
}

static bool need_member(live_t *app, sio_socket_t *s, int ev, int64_t ack, const char *room)
{
    if (live_user_has_room(live_user(s), room)) {
        return true;
    }
    store_room_get(app->store, room, on_not_member, live_op_new(app, ev, s, ack, room));
    return false;
}

void live_on_answer(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_ANSWER;
    const char *room = live_need_room(app, s, ev, p, ack);
    const char *sdp = room ? need_sdp(app, s, ev, p, ack) : NULL;
    if (!sdp || !live_allowed(app, s, ev, ack, room, false) ||
        !need_member(app, s, ev, ack, room)) {
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    peer_id(op->arg, 'S', room, op->sock);
    sfu_t *sfu = peer_sfu(app, op->arg);
    if (!sfu) {
        live_reply_err(op, APP_ECONFLICT, "no offer is waiting for an answer");
        free(op);
        return;
    }
    sfu_call(sfu, "subscriber.answer", json_pack("{s:s, s:s}", "peer", op->arg, "sdp", sdp),
             on_simple_reply, op);
}

/* The peer of this connection in room: admins publish, viewers subscribe. */
static void conn_peer(live_user_t *u, const char *room, char *out)
{
    peer_id(out, u->who.role == AUTH_ADMIN ? 'P' : 'S', room, u->sock_id);
}

/* The RTCIceCandidateInit the SFU gets (docs/RPC.md: {candidate, sdpMid, sdpMLineIndex}, or
 * null): a new object with only those members, so nothing else the client put in it travels on,
 * and sdpMid bounded like the candidate. Returns a new reference, or NULL when c is not one. */
static json_t *candidate_init(json_t *c, size_t max)
{
    if (json_is_null(c)) {
        return json_null();
    }
    json_t *cand = json_object_get(c, "candidate");
    json_t *mid = json_object_get(c, "sdpMid"), *idx = json_object_get(c, "sdpMLineIndex");
    if (!json_is_object(c) || !json_is_string(cand) || json_string_length(cand) > max ||
        (mid && !json_is_null(mid) && (!json_is_string(mid) || json_string_length(mid) > max)) ||
        (idx && !json_is_null(idx) &&
         (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
          json_integer_value(idx) > 65535))) {
        return NULL;
    }
    json_t *o = json_object();
    json_object_set(o, "candidate", cand);
    if (json_is_string(mid)) {
        json_object_set(o, "sdpMid", mid);
    }
    if (json_is_integer(idx)) {
        json_object_set(o, "sdpMLineIndex", idx);
    }
    return o;
}

void live_on_candidate(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_ICE_CANDIDATE;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room) {
        return;
    }
    json_t *jc = json_object_get(p, "candidate");
    json_t *c = jc ? candidate_init(jc, (size_t)app->cfg.candidate_max) : NULL;
    if (!c) {
        live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD,
                  "candidate must be an RTCIceCandidateInit (candidate <= 1 KiB) or null");
        return;
    }
    if (!live_allowed(app, s, ev, ack, room, false) || !need_member(app, s, ev, ack, room)) {
        json_decref(c);
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    conn_peer(live_user(s), room, op->arg);
    media_op_t *pending = strmap_get(&app->offers, op->arg);
    if (pending) {
        /* held until the offer reaches the SFU; a browser gathers a handful per transport */
        if (json_array_size(pending->cands) >= LIVE_OFFER_CANDS_MAX) {
            live_reply_err(op, APP_ERATE_LIMITED, "too many candidates before the answer");
        } else {
            json_array_append(pending->cands, c);
            live_reply_ok(op, NULL);
        }
        json_decref(c);
        free(op);
        return;
    }
    sfu_t *sfu = peer_sfu(app, op->arg);
    if (!sfu) {
        /* no media session (ended, or not started): a late candidate is harmless */
        live_reply_ok(op, NULL);
        json_decref(c);
        free(op);
        return;
    }
    json_t *params = json_pack("{s:s, s:o}", "peer", op->arg, "candidate", c);
    sfu_call(sfu, "peer.candidate", params, on_simple_reply, op);
}

static void on_restart_reply(const char *sfu_id, const char *err, const char *msg, json_t *result,
                             void *ud)
{
    live_op_t *op = ud;
    const char *sdp = json_string_value(json_object_get(result, "sdp"));
    if (!err && sdp && op->arg[0] == 'S') {
        emit_offer(op->app, op->room, op->sock, sdp);
    }
    on_simple_reply(sfu_id, err, msg, result, ud);
}

/* restart-ice of a viewer without a subscriber: a new one on the room's media server. */
static void on_restart_room(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    sfu_t *sfu = res->err == 0 && res->room->sfu ? sfu_pool_find(app->sfus, res->room->sfu) : NULL;
    if (res->err) {
        live_reply_store_err(op, res);
    } else if (!res->room->live) {
        live_reply_err(op, APP_ECONFLICT, "the room is not live");
    } else if (!sfu || sfu_get_state(sfu) != SFU_READY) {
        live_reply_err(op, APP_EUNAVAILABLE, "no media server is available; try again");
    } else if (live_op_socket(op)) {
        create_subscriber(app, sfu, op->room, op->sock, op);
        return; /* on_subscriber_offer replies */
    }
    free(op);
}

void live_on_restart_ice(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_RESTART_ICE;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, false) ||
        !need_member(app, s, ev, ack, room)) {
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    conn_peer(live_user(s), room, op->arg);
    sfu_t *sfu = peer_sfu(app, op->arg);
    if (sfu && sfu_get_state(sfu) == SFU_READY) {
        sfu_call(sfu, "peer.restart_ice", json_pack("{s:s}", "peer", op->arg), on_restart_reply,
                 op);
        return;
    }
    if (op->arg[0] == 'S') {
        /* no subscriber (its SFU went away, or it was never made): make a fresh one; the reply
         * waits for its offer */
        store_room_get(app->store, room, on_restart_room, op);
        return;
    }
    live_reply_err(op, APP_ECONFLICT, "no media session to restart; send an offer");
    free(op);
}

/* ---- closing peers -----------------------------------------------------------------------------
 */

/* Closes a peer on its SFU. hold_ms > 0 (a publisher): its subscribers wait that long for a
 * new publisher of the room, which then feeds them without a new offer (docs/SFU.md). */
static void close_peer(live_t *app, const char *peer, long hold_ms)
{
    sfu_t *sfu = peer_sfu(app, peer);
    if (sfu) {
        json_t *params = json_pack("{s:s}", "peer", peer);
        if (hold_ms > 0) {
            json_object_set_new(params, "hold_ms", json_integer(hold_ms));
        }
        sfu_call(sfu, "peer.close", params, NULL, NULL);
    }
    peer_forget(app, peer);
}

void live_media_close_peers(live_t *app, const char *room, const char *conn, bool publisher)
{
    char peer[LIVE_PEER_ID_MAX];
    peer_id(peer, 'S', room, conn);
    close_peer(app, peer, 0);
    if (publisher) {
        /* the owner's connection dropped: the viewers keep their connections through the
         * publisher grace period, so an owner back in time feeds them again unchanged */
        peer_id(peer, 'P', room, conn);
        close_peer(app, peer, app->cfg.publisher_grace_ms + 1000);
    }
}

void live_media_room_closed(live_t *app, const char *room)
{
    live_rec_room_ended(app, room); /* the recorder finishes the file */
    live_room_t *r = live_room_get(app, room, false);
    sfu_t *sfu = r && r->pub_sfu[0] ? sfu_pool_find(app->sfus, r->pub_sfu) : NULL;
    if (sfu) {
        sfu_call(sfu, "room.close", json_pack("{s:s}", "room", room), NULL, NULL);
    }
    /* forget this node's peers of the room: the SFU closed them */
    size_t i, n = 0, len = strlen(room);
    char **drop = xcalloc(app->peers.n + 1, sizeof(*drop));
    for (strmap_ent_t *e = strmap_first(&app->peers, &i); e; e = strmap_next(&app->peers, e, &i)) {
        if (!strncmp(e->key + 2, room, len) && e->key[2 + len] == '.') {
            drop[n++] = xstrdup(e->key);
        }
    }
    for (size_t k = 0; k < n; k++) {
        peer_forget(app, drop[k]);
        free(drop[k]);
    }
    free(drop);
    if (r) {
        r->pub_ready = false;
        r->pub_sfu[0] = 0;
        r->pub_conn[0] = 0; /* the broadcast is over: no grace period for its publisher */
        uv_timer_stop(&r->stats_timer);
    }
}

/* ---- SFU events --------------------------------------------------------------------------------
 */

static void on_peer_candidate(live_t *app, json_t *data)
{
    char kind, room[LIVE_ROOM_ID_MAX + 1], conn[LIVE_SOCK_ID_MAX + 1];
    const char *peer = json_string_value(json_object_get(data, "peer"));
    if (!peer || !peer_parse(peer, &kind, room, conn) || !strmap_get(&app->peers, peer)) {
        return;
    }
    sio_socket_t *s = sio_socket_find(app->nsp, conn);
    if (!s) {
        return;
    }
    char *cand = json_dumps(json_object_get(data, "candidate"), JSON_COMPACT | JSON_ENCODE_ANY);
    buf_t b;
    buf_init(&b, 0);
    buf_printf(&b, "{\"roomId\":\"%s\",\"candidate\":%s}", room, cand ? cand : "null");
    sio_emit(s, "ice-candidate", (const char *)b.data, b.len);
    buf_deinit(&b);
    free(cand);
}

static void on_peer_state(live_t *app, json_t *data)
{
    char kind, room[LIVE_ROOM_ID_MAX + 1], conn[LIVE_SOCK_ID_MAX + 1];
    const char *peer = json_string_value(json_object_get(data, "peer"));
    const char *state = json_string_value(json_object_get(data, "state"));
    if (!peer || !state || !peer_parse(peer, &kind, room, conn) || !strmap_get(&app->peers, peer)) {
        return;
    }
    LOG_I("live", "peer state", "\"peer\":\"%s\",\"state\":\"%s\"", log_esc(peer), log_esc(state));
    live_room_t *r = live_room_get(app, room, false);
    if (kind == 'P' && !strcmp(state, "connected")) {
        if (r && !strcmp(r->pub_conn, conn)) {
            r->pub_ready = true;
            live_bus_ready(app, room);
        }
    } else if (kind == 'P' && !strcmp(state, "failed")) {
        peer_forget(app, peer);
        live_end_broadcast(app, room, conn, "media-failed");
    } else if (!strcmp(state, "closed") || (kind == 'S' && !strcmp(state, "failed"))) {
        peer_forget(app, peer);
    }
}

void live_media_on_event(sfu_t *sfu, const char *event, json_t *data, void *ud)
{
    live_t *app = ud;
    if (app->closing) {
        return;
    }
    if (!strcmp(event, "peer.candidate")) {
        on_peer_candidate(app, data);
    } else if (!strcmp(event, "peer.state")) {
        on_peer_state(app, data);
    }
}

void live_media_on_state(sfu_t *sfu, sfu_state_t old_state, sfu_state_t new_state, json_t *resumed,
                         void *ud)
{
    live_t *app = ud;
    if (app->closing) {
        return;
    }
    if (new_state == SFU_READY) {
        live_sfu_beat(app, sfu); /* placeable at once, not at the next heartbeat */
        /* local viewers without a subscriber (e.g. their room went live on this SFU before
         * this node could reach it) get one now */
        size_t i, n = 0;
        char **ids = xcalloc(app->rooms.n + 1, sizeof(*ids));
        for (strmap_ent_t *e = strmap_first(&app->rooms, &i); e;
             e = strmap_next(&app->rooms, e, &i)) {
            ids[n++] = xstrdup(e->key);
        }
        for (size_t k = 0; k < n; k++) {
            live_media_room_ready(app, ids[k]);
            free(ids[k]);
        }
        free(ids);
        return;
    }
    if (old_state != SFU_READY) {
        return;
    }
    if (!sfu_discovered(sfu)) { /* a discovered SFU is another node's to register */
        store_sfu_remove(app->store, sfu_id(sfu), NULL, NULL);
    }
    /* the SFU is gone with every peer on it: end the broadcasts this node published there
     * (viewers get stream-ended; the admin page publishes again, on another SFU) */
    const char *id = sfu_id(sfu);
    size_t i;
    for (strmap_ent_t *e = strmap_first(&app->rooms, &i); e; e = strmap_next(&app->rooms, e, &i)) {
        live_room_t *r = e->val;
        if (r->pub_conn[0] && !strcmp(r->pub_sfu, id)) {
            live_end_broadcast(app, r->id, r->pub_conn, "media-failed");
        }
    }
    size_t n = 0;
    char **drop = xcalloc(app->peers.n + 1, sizeof(*drop));
    for (strmap_ent_t *e = strmap_first(&app->peers, &i); e; e = strmap_next(&app->peers, e, &i)) {
        if (!strcmp(e->val, id)) {
            drop[n++] = xstrdup(e->key);
        }
    }
    for (size_t k = 0; k < n; k++) {
        peer_forget(app, drop[k]);
        free(drop[k]);
    }
    free(drop);
}
