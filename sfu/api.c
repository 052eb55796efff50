/* sfu/api.c: the RPC methods (docs/RPC.md) and the controller sessions: several controllers
 * (one per signal node, named by the node id of its hello), each owning the peers and rooms it
 * created; events held while a request runs and sent after its response, to the owner of the
 * peer they name; a grace period per controller after its connection drops, resumed by a hello
 * with the same node id; the periodic stats event to every controller. Parameter checks happen
 * here; rooms and peers do the work. */
#include "api.h"
#include "../common/log.h"
#include "../proto/sdp.h"
#include "forward.h"
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

/* A controller: a signal node, connected or within its grace period. */
typedef struct ctl {
    sfu_t *s;
    GQuark node;
    unsigned conn;     /* its RPC connection, 0 while disconnected */
    guint grace_timer; /* GSource id or 0 */
} ctl_t;

/* An event held during a request: to one node (0: every controller). */
typedef struct held {
    GQuark to;
    json_t *msg;
} held_t;

typedef struct req {
    sfu_t *s;
    unsigned conn;
    GQuark owner; /* the caller's node (0 before hello) */
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

/* Sends msg (stolen) to node to's connection, or to every controller when to is 0. */
static void route(sfu_t *s, GQuark to, json_t *msg)
{
    if (s->quiet || !s->rpc || !s->conns) {
        json_decref(msg);
        return;
    }
    if (to) {
        ctl_t *c = g_hash_table_lookup(s->ctls, GUINT_TO_POINTER(to));
        if (c && c->conn) {
            rpc_server_send(s->rpc, c->conn, msg);
        } else {
            json_decref(msg);
        }
        return;
    }
    /* a failed send closes its connection, which changes s->conns: collect the ids first */
    GList *ids = g_hash_table_get_keys(s->conns);
    for (GList *l = ids; l; l = l->next) {
        rpc_server_send(s->rpc, GPOINTER_TO_UINT(l->data), json_incref(msg));
    }
    g_list_free(ids);
    json_decref(msg);
}

void sfu_emit(sfu_t *s, rpc_event_t ev, json_t *data)
{
    GQuark to = 0;
    const char *pid = ev != RPC_EV_STATS ? json_string_value(json_object_get(data, "peer")) : NULL;
    peer_t *p = pid ? sfu_peer_find(s, pid) : NULL;
    if (p) {
        to = p->owner;
    }
    json_t *msg = rpc_event_new(ev, data);
    if (s->deferred) {
        held_t h = { to, msg };
        g_array_append_val(s->deferred, h);
    } else {
        route(s, to, msg);
    }
}

void api_after_request(void *ud, unsigned conn)
{
    sfu_t *s = ud;
    GArray *held = s->deferred;
    s->deferred = NULL;
    if (!held) {
        return;
    }
    for (guint i = 0; i < held->len; i++) {
        held_t *h = &g_array_index(held, held_t, i);
        route(s, h->to, h->msg);
    }
    g_array_free(held, TRUE);
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

static void grace_stop(ctl_t *c)
{
    if (c->grace_timer) {
        g_source_remove(c->grace_timer);
        c->grace_timer = 0;
    }
}

/* The stats result with the SFU-wide fields the signal side places rooms by. */
static json_t *api_stats(sfu_t *s, const char *room, bool with_peers)
{
    json_t *st = stats_json(s, room, with_peers);
    json_t *load = json_object_get(st, "load");
    json_object_set_new(load, "draining", json_boolean(s->draining));
    json_object_set_new(load, "max_peers", json_integer(s->cfg.max_peers));
    return st;
}

static bool room_has_peer_of(room_t *r, GQuark node)
{
    if (r->owner == node || (r->publisher && r->publisher->owner == node)) {
        return true;
    }
    list_t *l;
    list_foreach(l, &r->subs)
    {
        if (list_entry(l, peer_t, room_link)->owner == node) {
            return true;
        }
    }
    return false;
}

/* Closes node's rooms (with every peer in them, whoever owns it), then its other peers.
 * Counts what it closed into *nrooms / *npeers. */
static void drop_node(sfu_t *s, GQuark node, const char *reason, unsigned *nrooms, unsigned *npeers)
{
    *nrooms = *npeers = 0;
    GList *rooms = g_hash_table_get_values(s->rooms);
    for (GList *l = rooms; l; l = l->next) {
        room_t *r = l->data;
        if (r->owner == node) {
            room_close(r, reason);
            (*nrooms)++;
        }
    }
    g_list_free(rooms);
    GList *peers = g_hash_table_get_values(s->peers);
    for (GList *l = peers; l; l = l->next) {
        peer_t *p = l->data;
        if (p->owner == node && !p->closed) {
            peer_close(p, reason);
            (*npeers)++;
        }
    }
    g_list_free(peers);
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
    if (!node || !*node) {
        return fail(q, RPC_E_INVALID_PARAMS, "node: %s", node ? "empty" : why);
    }
    json_t *rj = json_object_get(q->params, "resume");
    if (rj && !json_is_boolean(rj)) {
        return fail(q, RPC_E_INVALID_PARAMS, "resume: not a boolean");
    }
    bool resume = !rj || json_is_true(rj);
    GQuark nq = g_quark_from_string(node);
    ctl_t *cur = g_hash_table_lookup(s->conns, GUINT_TO_POINTER(q->conn));
    if (cur && cur->node != nq) {
        return fail(q, RPC_E_CONFLICT, "this connection is node %s", g_quark_to_string(cur->node));
    }
    ctl_t *c = g_hash_table_lookup(s->ctls, GUINT_TO_POINTER(nq));
    if (!c) {
        c = g_new0(ctl_t, 1);
        c->s = s;
        c->node = nq;
        g_hash_table_insert(s->ctls, GUINT_TO_POINTER(nq), c);
    }
    if (c->conn && c->conn != q->conn) {
        /* the node reconnected before we saw its old connection go: the new one takes over */
        unsigned old = c->conn;
        g_hash_table_remove(s->conns, GUINT_TO_POINTER(old));
        c->conn = 0;
        LOG_W("api", "controller replaced by a new connection of the same node",
              "\"node\":\"%s\",\"old_conn\":%u,\"conn\":%u", log_esc(node), old, q->conn);
        rpc_server_close_conn(s->rpc, old, "replaced by a new connection of the same node");
    }
    grace_stop(c);
    if (!resume && c->conn != q->conn) {
        /* the node starts afresh: what it left behind goes now, its own events unsent */
        unsigned nr, np;
        drop_node(s, nq, "controller-lost", &nr, &np);
        for (guint i = s->deferred ? s->deferred->len : 0; i-- > 0;) {
            held_t *h = &g_array_index(s->deferred, held_t, i);
            if (h->to == nq) {
                json_decref(h->msg);
                g_array_remove_index(s->deferred, i);
            }
        }
        if (nr || np) {
            LOG_I("api", "hello without resume: the node's earlier rooms and peers closed",
                  "\"node\":\"%s\",\"rooms\":%u,\"peers\":%u", log_esc(node), nr, np);
        }
    }
    c->conn = q->conn;
    g_hash_table_insert(s->conns, GUINT_TO_POINTER(q->conn), c);
    json_t *resumed = json_array();
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, s->rooms);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        if (room_has_peer_of(val, nq)) {
            json_array_append_new(resumed, json_string(key));
        }
    }
    LOG_I("api", "hello", "\"node\":\"%s\",\"conn\":%u,\"resumed\":%zu,\"controllers\":%u",
          log_esc(node), q->conn, json_array_size(resumed), g_hash_table_size(s->conns));
    json_t *st = api_stats(s, NULL, false);
    json_t *load = json_incref(json_object_get(st, "load"));
    json_decref(st);
    return json_pack("{s:i,s:s,s:I,s:{s:I},s:o,s:b,s:o}", "version", RPC_VERSION, "sfu_id", s->id,
                     "pid", (json_int_t)getpid(), "capacity", "max_peers",
                     (json_int_t)s->cfg.max_peers, "resumed", resumed, "draining", s->draining,
                     "load", load);
}

static json_t *m_room_open(req_t *q)
{
    const char *id = get_id(q, "room");
    if (!id) {
        return NULL;
    }
    bool created = false;
    room_t *r = room_open(q->s, id, &created);
    if (created) {
        r->owner = q->owner;
    }
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
        r->owner = q->owner;
    }
    if (fresh) {
        p = peer_new(s, r, peer_id, PEER_PUB);
    }
    p->owner = q->owner; /* who negotiates it gets its events */
    char *answer = peer_pub_offer(p, sdp, q->err, q->why, q->whylen);
    if (!answer) {
        if (fresh) {
            peer_close(p, NULL); /* never announced: no event */
        }
        return NULL;
    }
    if (r->publisher != p) {
        room_set_publisher(r, p); /* closes the old one; compatible subscribers move to p */
    }
    r->owner = p->owner; /* a room belongs to its publisher's node */
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
    p->owner = q->owner;
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
    json_t *hold = json_object_get(q->params, "hold_ms");
    if (hold && (!json_is_integer(hold) || json_integer_value(hold) < 0 ||
                 json_integer_value(hold) > 600000)) {
        return fail(q, RPC_E_INVALID_PARAMS, "hold_ms: not an integer of 0-600000");
    }
    peer_t *p = sfu_peer_find(q->s, peer_id);
    if (!p) {
        return fail(q, RPC_E_NOT_FOUND, "no peer %s", peer_id);
    }
    if (hold) {
        p->hold_ms = (long)json_integer_value(hold); /* a publisher's subscribers wait this long */
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
    return api_stats(q->s, room_id, true);
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

json_t *api_on_request(void *ud, unsigned conn, const rpc_msg_t *m, rpc_err_t *err, char *why,
                       size_t whylen)
{
    sfu_t *s = ud;
    ctl_t *c = g_hash_table_lookup(s->conns, GUINT_TO_POINTER(conn));
    req_t q = { s, conn, c ? c->node : 0, m->body, err, why, whylen };
    if (!s->deferred) {
        s->deferred = g_array_new(FALSE, FALSE, sizeof(held_t));
    }
    if (!c && m->method != RPC_M_HELLO) {
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
    case RPC_M_ROOM_FORWARD:
    case RPC_M_ROOM_UNFORWARD:
        return forward_rpc(s, m->method, m->body, err, why, whylen); /* forward.c */
    default:
        return fail(&q, RPC_E_UNKNOWN_METHOD, "unknown method");
    }
}

/* ---- session ------------------------------------------------------------------------------- */

static bool owns_anything(sfu_t *s, GQuark node)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->rooms);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (room_has_peer_of(v, node)) {
            return true;
        }
    }
    return false;
}

static void ctl_free(gpointer p)
{
    ctl_t *c = p;
    grace_stop(c);
    g_free(c);
}

static gboolean on_grace_expired(gpointer ud)
{
    ctl_t *c = ud;
    sfu_t *s = c->s;
    GQuark node = c->node;
    c->grace_timer = 0;
    /* first the rooms it published (their subscribers of other nodes hear of it), then its
     * peers in the rooms of other nodes */
    unsigned nrooms, npeers;
    drop_node(s, node, "controller-lost", &nrooms, &npeers);
    LOG_W("api", "controller not back within the grace period: its rooms and peers closed",
          "\"node\":\"%s\",\"rooms\":%u,\"peers\":%u", log_esc(g_quark_to_string(node)), nrooms,
          npeers);
    g_hash_table_remove(s->ctls, GUINT_TO_POINTER(node)); /* frees c */
    return G_SOURCE_REMOVE;
}

void api_on_disconnect(void *ud, unsigned conn)
{
    sfu_t *s = ud;
    if (!s->conns) {
        return; /* shutting down */
    }
    ctl_t *c = g_hash_table_lookup(s->conns, GUINT_TO_POINTER(conn));
    if (!c) {
        return; /* never said hello, or replaced */
    }
    g_hash_table_remove(s->conns, GUINT_TO_POINTER(conn));
    c->conn = 0;
    const char *node = g_quark_to_string(c->node);
    if (!owns_anything(s, c->node)) {
        LOG_I("api", "controller gone", "\"node\":\"%s\",\"conn\":%u", log_esc(node), conn);
        g_hash_table_remove(s->ctls, GUINT_TO_POINTER(c->node));
        return;
    }
    LOG_I("api", "controller gone: grace period", "\"node\":\"%s\",\"conn\":%u,\"grace_ms\":%ld",
          log_esc(node), conn, s->cfg.grace_ms);
    c->grace_timer = g_timeout_add((guint)s->cfg.grace_ms, on_grace_expired, c);
}

static gboolean on_stats_timer(gpointer ud)
{
    sfu_t *s = ud;
    if (g_hash_table_size(s->conns) > 0) {
        /* without the per-peer list: a thousand peers' entries every 2 s held the loop (and
         * the media behind it) for ~4 ms; a controller that wants them calls stats */
        sfu_emit(s, RPC_EV_STATS, api_stats(s, NULL, false));
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
    s->ctls = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, ctl_free);
    s->conns = g_hash_table_new(g_direct_hash, g_direct_equal);
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
    s->quiet = true; /* no events during shutdown */
    sfu_close_all(s, "shutdown");
    if (s->stats_timer) {
        g_source_remove(s->stats_timer);
        s->stats_timer = 0;
    }
    if (s->tick_timer) {
        g_source_remove(s->tick_timer);
        s->tick_timer = 0;
    }
    g_hash_table_destroy(s->conns);
    g_hash_table_destroy(s->ctls); /* stops the grace timers */
    g_hash_table_destroy(s->rooms);
    g_hash_table_destroy(s->peers);
    s->rooms = s->peers = s->ctls = s->conns = NULL;
    if (s->deferred) {
        for (guint i = 0; i < s->deferred->len; i++) {
            json_decref(g_array_index(s->deferred, held_t, i).msg);
        }
        g_array_free(s->deferred, TRUE);
        s->deferred = NULL;
    }
}
