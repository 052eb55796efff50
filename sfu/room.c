/* sfu/room.c: see room.h. */
#include "room.h"
#include "../common/log.h"
#include "forward.h"
#include "peer.h"

room_t *room_open(sfu_t *s, const char *id, bool *created)
{
    room_t *r = sfu_room_find(s, id);
    if (created) {
        *created = !r;
    }
    if (r) {
        return r;
    }
    r = g_new0(room_t, 1);
    r->id = g_strdup(id);
    r->sfu = s;
    list_init(&r->subs);
    g_hash_table_insert(s->rooms, r->id, r);
    LOG_I("room", "opened", "\"room\":\"%s\"", r->id);
    return r;
}

void room_close_subscribers(room_t *r, const char *reason)
{
    while (!list_empty(&r->subs)) {
        peer_t *p = list_entry(r->subs.next, peer_t, room_link);
        peer_close(p, reason); /* unlinks p */
    }
}

void room_close(room_t *r, const char *reason)
{
    LOG_I("room", "closing", "\"room\":\"%s\",\"reason\":\"%s\"", r->id, reason);
    room_close_subscribers(r, reason);
    if (r->publisher) {
        peer_close(r->publisher, reason);
    }
    g_hash_table_remove(r->sfu->rooms, r->id); /* frees r */
}

void room_free(room_t *r)
{
    forward_room_free(r);
    g_free(r->id);
    g_free(r);
}

json_t *room_stats_json(room_t *r)
{
    uint64_t nacks = r->gone_nacks, plis = r->gone_plis, packets_in = 0, lost = 0;
    double bitrate_in = 0;
    peer_t *pub = r->publisher;
    if (pub) {
        packets_in = pub->c.packets_in;
        lost = pub->c.packets_lost;
        bitrate_in = pub->bitrate_in;
        plis += pub->c.plis_out; /* keyframe requests sent to the publisher */
    }
    list_t *it;
    list_foreach(it, &r->subs)
    {
        peer_t *p = list_entry(it, peer_t, room_link);
        nacks += p->c.nacks_in; /* NACKs from subscribers, answered from the cache */
    }
    return json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "room", r->id, "publisher",
                     pub ? json_string(pub->id) : json_null(), "subscribers", (json_int_t)r->n_subs,
                     "bitrate_in", (json_int_t)bitrate_in, "packets_in", (json_int_t)packets_in,
                     "packets_lost", (json_int_t)lost, "nacks", (json_int_t)nacks, "plis",
                     (json_int_t)plis, "forwards", forward_stats_json(r));
}
