/* sfu/api.c: the RPC methods (docs/RPC.md) and the controller session: hello first, events
 * held while a request runs and sent after its response, the grace period after the controller
 * leaves and the periodic stats event. Parameter checks happen here; rooms and peers do the
 * work. */
#include "api.h"
#include "../common/log.h"
#include "../proto/sdp.h"
#include "peer.h"
#include "room.h"
#include "rpc_server.h"
#include "rtcp_fb.h"
#include "stats.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 20

typedef struct req {
    sfu_t *s;
    const json_t *params;
    rpc_err_t *err;
    char *why;
    size_t whylen;
} req_t;

static json_t *fail(req_t *q, rpc_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *fail(req_t *q, rpc_err_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, q->whylen, fmt, ap);
    va_end(ap);
    *q->err = code;
    return NULL;
}

/* ---- events ------------------------------------------------------------------------------ */

void sfu_emit(sfu_t *s, rpc_event_t ev, json_t *data)
{
    json_t *msg = rpc_event_new(ev, data);
    if (s->deferred) {
        json_array_append_new(s->deferred, msg);
    } else if (s->hello && s->rpc) {
        rpc_server_send(s->rpc, msg);
    } else {
        json_decref(msg);
    }
}

void api_after_request(void *ud)
{
    sfu_t *s = ud;
    json_t *held = s->deferred;
    s->deferred = NULL;
    size_t i;
    json_t *msg;
    json_array_foreach(held, i, msg)
    {
        if (s->hello && s->rpc) {
            rpc_server_send(s->rpc, json_incref(msg));
        }
    }
    json_decref(held);
}

/* ---- lookups --------------------------------------------------------------------------- */

room_t *sfu_room_find(sfu_t *s, const char *id)
{
    return id ? g_hash_table_lookup(s->rooms, id) : NULL;
}

peer_t *sfu_peer_find(sfu_t *s, const char *id)
{
    return id ? g_hash_table_lookup(s->peers, id) : NULL;
}

void sfu_close_all(sfu_t *s, const char *reason)
{
    GList *rooms = g_hash_table_get_values(s->rooms);
    for (GList *l = rooms; l; l = l->next) {
        room_close(l->data, reason);
    }
    g_list_free(rooms);
    /* peers without a room cannot exist, but be thorough */
    GList *peers = g_hash_table_get_values(s->peers);
    for (GList *l = peers; l; l = l->next) {
        peer_close(l->data, reason);
    }
    g_list_free(peers);
}

/* ---- params -------------------------------------------------------------------------------- */

static const char *get_id(req_t *q, const char *key)
{
    const char *why = NULL;
    const char *v = rpc_get_id(q->params, key, &why);
    if (!v) {
        fail(q, RPC_E_INVALID_PARAMS, "%s: %s", key, why);
    }
    return v;
}

static const char *get_sdp(req_t *q)
{
    const char *why = NULL;
    const char *v = rpc_get_str(q->params, "sdp", SDP_MAX_LEN, &why);
    if (!v) {
        fail(q, RPC_E_INVALID_PARAMS, "sdp: %s", why);
    }
    return v;
}

static bool at_capacity(sfu_t *s)
{
    return g_hash_table_size(s->peers) >= (guint)s->cfg.max_peers;
}

/* ---- methods ---------------------------------------------------------------------------- */

static void grace_stop(sfu_t *s)
{
    if (s->grace_timer) {
        g_source_remove(s->grace_timer);
        s->grace_timer = 0;
    }
}

static json_t *m_hello(req_t *q)
{
    sfu_t *s = q->s;
    json_t *v = json_object_get(q->params, "version");
    if (!json_is_integer(v)) {
        return fail(q, RPC_E_INVALID_PARAMS, "version: missing or not an integer");
    }
    if (json_integer_value(v) != RPC_VERSION) {
        return fail(q, RPC_E_INVALID_PARAMS, "version: %lld not supported (this SFU speaks %d)",
                    (long long)json_integer_value(v), RPC_VERSION);
    }
    const char *why = NULL;
    const char *node = rpc_get_str(q->params, "node", 256, &why);
    if (!node) {
        return fail(q, RPC_E_INVALID_PARAMS, "node: %s", why);
    }
    grace_stop(s);
    json_t *resumed = json_array();
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, s->rooms);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        json_array_append_new(resumed, json_string(key));
    }
    LOG_I("api", "hello", "\"node\":\"%s\",\"resumed\":%zu", log_esc(node),
          json_array_size(resumed));
    s->hello = true;
    s->had_controller = true;
    return json_pack("{s:i,s:s,s:I,s:{s:I},s:o}", "version", RPC_VERSION, "sfu_id", s->id, "pid",
                     (json_int_t)getpid(), "capacity", "max_peers", (json_int_t)s->cfg.max_peers,
                     "resumed", resumed);
}

static json_t *m_room_open(req_t *q)
{
    const char *id = get_id(q, "room");
    if (!id) {
        return NULL;
    }
    bool created = false;
    room_open(q->s, id, &created);
    return json_pack("{s:s,s:b}", "room", id, "created", created);
}

static json_t *m_room_close(req_t *q)
{
    const char *id = get_id(q, "room");
    if (!id) {
        return NULL;
    }
    room_t *r = sfu_room_find(q->s, id);
    if (!r) {
        return fail(q, RPC_E_NOT_FOUND, "no room %s", id);
    }
    room_close(r, "room-closed");
    return json_object();
}

static json_t *m_publisher_offer(req_t *q)
{
    sfu_t *s = q->s;
    const char *room_id = get_id(q, "room"), *peer_id, *sdp;
    if (!room_id || !(peer_id = get_id(q, "peer")) || !(sdp = get_sdp(q))) {
        return NULL;
    }
    peer_t *p = sfu_peer_find(s, peer_id);
    room_t *r = sfu_room_find(s, room_id);
    if (p && (p->role != PEER_PUB || p->room != r)) {
        return fail(q, RPC_E_CONFLICT, "peer %s exists as a %s of room %s", peer_id,
                    peer_role_str(p->role), p->room ? p->room->id : "?");
    }
    if (!r && s->draining) {
        return fail(q, RPC_E_DRAINING, "draining: no new rooms");
    }
    if (!p && at_capacity(s)) {
        return fail(q, RPC_E_DRAINING, "at capacity (%ld peers)", s->cfg.max_peers);
    }
    bool fresh = !p;
    if (!r) {
        r = room_open(s, room_id, NULL);
    }
    if (fresh) {
        p = peer_new(s, r, peer_id, PEER_PUB);
    }
    char *answer = peer_pub_offer(p, sdp, q->err, q->why, q->whylen);
    if (!answer) {
        if (fresh) {
            peer_close(p, NULL); /* never announced: no event */
        }
        return NULL;
    }
    if (r->publisher != p) {
        if (r->publisher) {
            LOG_I("api", "publisher replaced", "\"room\":\"%s\",\"old\":\"%s\",\"new\":\"%s\"",
                  r->id, r->publisher->id, p->id);
            peer_close(r->publisher, "replaced");
        }
        r->publisher = p;
    }
    json_t *res = json_pack("{s:s}", "sdp", answer);
    g_free(answer);
    return res;
}

static json_t *m_subscriber_create(req_t *q)
{
    sfu_t *s = q->s;
    const char *room_id = get_id(q, "room"), *peer_id;
    if (!room_id || !(peer_id = get_id(q, "peer"))) {
        return NULL;
    }
    room_t *r = sfu_room_find(s, room_id);
    peer_t *p = sfu_peer_find(s, peer_id);
    if (p && (p->role != PEER_SUB || p->room != r)) {
        return fail(q, RPC_E_CONFLICT, "peer %s exists as a %s of room %s", peer_id,
                    peer_role_str(p->role), p->room ? p->room->id : "?");
    }
    if (!p && s->draining) {
        return fail(q, RPC_E_DRAINING, "draining: no new subscribers");
    }
    if (!p && at_capacity(s)) {
        return fail(q, RPC_E_DRAINING, "at capacity (%ld peers)", s->cfg.max_peers);
    }
    if (!r) {
        return fail(q, RPC_E_NOT_FOUND, "no room %s", room_id);
    }
    if (!r->publisher || !r->publisher->pub) {
        return fail(q, RPC_E_NOT_FOUND, "room %s has no publisher with negotiated media", room_id);
    }
    bool fresh = !p;
    if (fresh) {
        p = peer_new(s, r, peer_id, PEER_SUB);
    }
    char *offer = peer_sub_offer(p, false, q->err, q->why, q->whylen);
    if (!offer) {
        if (fresh) {
            peer_close(p, NULL);
        }
        return NULL;
    }
    json_t *res = json_pack("{s:s}", "sdp", offer);
    g_free(offer);
    return res;
}

static json_t *m_subscriber_answer(req_t *q)
{
    const char *peer_id = get_id(q, "peer"), *sdp;
    if (!peer_id || !(sdp = get_sdp(q))) {
        return NULL;
    }
    peer_t *p = sfu_peer_find(q->s, peer_id);
    if (!p) {
        return fail(q, RPC_E_BAD_STATE, "no subscriber %s: subscriber.create first", peer_id);
    }
    if (p->role != PEER_SUB) {
        return fail(q, RPC_E_CONFLICT, "peer %s is a publisher", peer_id);
    }
    if (peer_sub_answer(p, sdp, q->err, q->why, q->whylen) != 0) {
        return NULL;
    }
    return json_object();
}

static json_t *m_peer_candidate(req_t *q)
{
    const char *peer_id = get_id(q, "peer");
    if (!peer_id) {
        return NULL;
    }
    json_t *cand = json_object_get(q->params, "candidate");
    if (!cand) {
        return fail(q, RPC_E_INVALID_PARAMS, "candidate: missing (null for end-of-candidates)");
    }
    peer_t *p = sfu_peer_find(q->s, peer_id);
    if (!p) {
        return fail(q, RPC_E_NOT_FOUND, "no peer %s", peer_id);
    }
    if (peer_add_candidate(p, cand, q->err, q->why, q->whylen) != 0) {
        return NULL;
    }
    return json_object();
}

static json_t *m_peer_restart_ice(req_t *q)
{
    const char *peer_id = get_id(q, "peer");
    if (!peer_id) {
        return NULL;
    }
    peer_t *p = sfu_peer_find(q->s, peer_id);
    if (!p) {
        return fail(q, RPC_E_NOT_FOUND, "no peer %s", peer_id);
    }
    if (p->role == PEER_PUB) {
        peer_pub_restart(p);
        return json_object();
    }
    char *offer = peer_sub_offer(p, true, q->err, q->why, q->whylen);
    if (!offer) {
        return NULL;
    }
    json_t *res = json_pack("{s:s}", "sdp", offer);
    g_free(offer);
    return res;
}

static json_t *m_peer_close(req_t *q)
{
    const char *peer_id = get_id(q, "peer");
    if (!peer_id) {
        return NULL;
    }
    peer_t *p = sfu_peer_find(q->s, peer_id);
    if (!p) {
        return fail(q, RPC_E_NOT_FOUND, "no peer %s", peer_id);
    }
    peer_close(p, "closed");
    return json_object();
}

static json_t *m_stats(req_t *q)
{
    json_t *room = json_object_get(q->params, "room");
    const char *room_id = NULL;
    if (room && !json_is_null(room)) {
        if (!(room_id = get_id(q, "room"))) {
            return NULL;
        }
        if (!sfu_room_find(q->s, room_id)) {
            return fail(q, RPC_E_NOT_FOUND, "no room %s", room_id);
        }
    }
    return stats_json(q->s, room_id);
}

static json_t *m_drain(req_t *q)
{
    json_t *on = json_object_get(q->params, "on");
    if (!json_is_boolean(on)) {
        return fail(q, RPC_E_INVALID_PARAMS, "on: missing or not a boolean");
    }
    q->s->draining = json_is_true(on);
    LOG_I("api", "drain", "\"on\":%s", q->s->draining ? "true" : "false");
    return json_pack("{s:b}", "draining", q->s->draining);
}

json_t *api_on_request(void *ud, const rpc_msg_t *m, rpc_err_t *err, char *why, size_t whylen)
{
    sfu_t *s = ud;
    req_t q = { s, m->body, err, why, whylen };
    if (!s->deferred) {
        s->deferred = json_array();
    }
    if (!s->hello && m->method != RPC_M_HELLO) {
        return fail(&q, RPC_E_BAD_STATE, "hello first");
    }
    switch (m->method) {
    case RPC_M_HELLO:
        return m_hello(&q);
    case RPC_M_ROOM_OPEN:
        return m_room_open(&q);
    case RPC_M_ROOM_CLOSE:
        return m_room_close(&q);
    case RPC_M_PUBLISHER_OFFER:
        return m_publisher_offer(&q);
    case RPC_M_SUBSCRIBER_CREATE:
        return m_subscriber_create(&q);
    case RPC_M_SUBSCRIBER_ANSWER:
        return m_subscriber_answer(&q);
    case RPC_M_PEER_CANDIDATE:
        return m_peer_candidate(&q);
    case RPC_M_PEER_RESTART_ICE:
        return m_peer_restart_ice(&q);
    case RPC_M_PEER_CLOSE:
        return m_peer_close(&q);
    case RPC_M_STATS:
        return m_stats(&q);
    case RPC_M_DRAIN:
        return m_drain(&q);
    default:
        return fail(&q, RPC_E_UNKNOWN_METHOD, "unknown method");
    }
}

/* ---- session ------------------------------------------------------------------------------- */

static gboolean on_grace_expired(gpointer ud)
{
    sfu_t *s = ud;
    s->grace_timer = 0;
    LOG_W("api", "no controller within the grace period: closing everything",
          "\"rooms\":%u,\"peers\":%u", g_hash_table_size(s->rooms), g_hash_table_size(s->peers));
    sfu_close_all(s, "controller-lost");
    return G_SOURCE_REMOVE;
}

void api_on_disconnect(void *ud)
{
    sfu_t *s = ud;
    bool had = s->hello;
    s->hello = false;
    if (!had || s->grace_timer) {
        return;
    }
    if (g_hash_table_size(s->rooms) == 0 && g_hash_table_size(s->peers) == 0) {
        return;
    }
    LOG_I("api", "controller gone: grace period", "\"grace_ms\":%ld", s->cfg.grace_ms);
    s->grace_timer = g_timeout_add((guint)s->cfg.grace_ms, on_grace_expired, s);
}

static gboolean on_stats_timer(gpointer ud)
{
    sfu_t *s = ud;
    if (s->hello) {
        sfu_emit(s, RPC_EV_STATS, stats_json(s, NULL));
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_tick(gpointer ud)
{
    rtcp_fb_tick(ud);
    return G_SOURCE_CONTINUE;
}

void api_init(sfu_t *s)
{
    s->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)room_free);
    s->peers = g_hash_table_new(g_str_hash, g_str_equal);
    stats_init(s);
    if (s->cfg.stats_ms > 0) {
        s->stats_timer = g_timeout_add((guint)s->cfg.stats_ms, on_stats_timer, s);
    }
    s->tick_timer = g_timeout_add(TICK_MS, on_tick, s);
}

void api_deinit(sfu_t *s)
{
    if (!s->rooms) {
        return;
    }
    bool hello = s->hello;
    s->hello = false; /* no events during shutdown */
    sfu_close_all(s, "shutdown");
    s->hello = hello;
    grace_stop(s);
    if (s->stats_timer) {
        g_source_remove(s->stats_timer);
        s->stats_timer = 0;
    }
    if (s->tick_timer) {
        g_source_remove(s->tick_timer);
        s->tick_timer = 0;
    }
    g_hash_table_destroy(s->rooms);
    g_hash_table_destroy(s->peers);
    s->rooms = s->peers = NULL;
    json_decref(s->deferred);
    s->deferred = NULL;
}
