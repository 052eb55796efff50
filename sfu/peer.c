/* sfu/peer.c: see peer.h. */
#include "peer.h"
#include "../common/log.h"
#include "room.h"
#include <stdio.h>

const char *peer_role_str(peer_role_t r)
{
    return r == PEER_PUB ? "publisher" : "subscriber";
}

const char *peer_state_str(peer_state_t s)
{
    static const char *const names[] = { "new", "connecting", "connected", "failed", "closed" };
    return s <= PEER_CLOSED ? names[s] : "?";
}

static void peer_free_rc(rc_t *rc)
{
    peer_t *p = container_of(rc, peer_t, rc);
    g_free(p->id);
    g_free(p);
}

void peer_unref(peer_t *p)
{
    rc_unref(&p->rc);
}

peer_t *peer_new(sfu_t *s, room_t *r, const char *id, peer_role_t role)
{
    peer_t *p = g_new0(peer_t, 1);
    rc_init(&p->rc, peer_free_rc);
    p->sfu = s;
    p->id = g_strdup(id);
    p->room = r;
    p->role = role;
    list_init(&p->room_link);
    g_hash_table_insert(s->peers, p->id, p);
    if (role == PEER_SUB) {
        list_insert_tail(&r->subs, &p->room_link);
        r->n_subs++;
    }
    return p;
}

char *peer_pub_offer(peer_t *p, const char *sdp, rpc_err_t *err, char *why, size_t whylen)
{
    *err = RPC_E_INTERNAL;
    snprintf(why, whylen, "media not implemented yet");
    return NULL;
}

char *peer_sub_offer(peer_t *p, bool restart, rpc_err_t *err, char *why, size_t whylen)
{
    *err = RPC_E_INTERNAL;
    snprintf(why, whylen, "media not implemented yet");
    return NULL;
}

int peer_sub_answer(peer_t *p, const char *sdp, rpc_err_t *err, char *why, size_t whylen)
{
    *err = RPC_E_INTERNAL;
    snprintf(why, whylen, "media not implemented yet");
    return -1;
}

int peer_add_candidate(peer_t *p, const json_t *cand, rpc_err_t *err, char *why, size_t whylen)
{
    return 0;
}

void peer_pub_restart(peer_t *p)
{
}

void peer_set_state(peer_t *p, peer_state_t st, const char *reason)
{
    if (p->closed || p->state == st) {
        return;
    }
    p->state = st;
    json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "peer", p->id, "room", p->room->id, "role",
                          peer_role_str(p->role), "state", peer_state_str(st));
    if (reason) {
        json_object_set_new(d, "reason", json_string(reason));
    }
    sfu_emit(p->sfu, RPC_EV_PEER_STATE, d);
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
    room_t *r = p->room;
    if (p->role == PEER_SUB) {
        list_remove(&p->room_link);
        r->n_subs--;
        r->gone_nacks += p->c.nacks_in;
    } else if (r->publisher == p) {
        r->publisher = NULL;
        r->gone_plis += p->c.plis_out;
        room_close_subscribers(r, reason && !strcmp(reason, "failed") ? "media-failed"
                                                                      : "publisher-left");
    }
    g_hash_table_remove(p->sfu->peers, p->id);
    p->room = NULL;
    peer_unref(p);
}

int peer_send(peer_t *p, const uint8_t *buf, size_t len)
{
    return -1;
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
