/* sfu/room.c: see room.h. */
#include "room.h"
#include "../common/log.h"
#include "forward.h"
#include "peer.h"
#include "router.h"
#include "rtcp_fb.h"

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

static void hold_stop(room_t *r)
{
    if (r->hold_timer) {
        g_source_remove(r->hold_timer);
        r->hold_timer = 0;
    }
}

static gboolean on_hold_over(gpointer ud)
{
    room_t *r = ud;
    r->hold_timer = 0;
    LOG_I("room", "no new publisher: subscribers closed",
          "\"room\":\"%s\",\"subscribers\":%u,\"reason\":\"%s\"", r->id, r->n_subs, r->hold_reason);
    room_close_subscribers(r, r->hold_reason);
    return G_SOURCE_REMOVE;
}

void room_publisher_gone(room_t *r, const char *reason, long hold_ms)
{
    hold_stop(r);
    if (hold_ms <= 0 || list_empty(&r->subs)) {
        room_close_subscribers(r, reason);
        return;
    }
    LOG_I("room", "publisher gone: subscribers wait for a new one",
          "\"room\":\"%s\",\"subscribers\":%u,\"hold_ms\":%ld", r->id, r->n_subs, hold_ms);
    r->hold_reason = reason;
    r->hold_timer = g_timeout_add((guint)hold_ms, on_hold_over, r);
}

void room_set_publisher(room_t *r, peer_t *p)
{
    peer_t *old = r->publisher;
    r->publisher = p;
    if (old && old != p) {
        LOG_I("room", "publisher replaced", "\"room\":\"%s\",\"old\":\"%s\",\"new\":\"%s\"", r->id,
              old->id, p->id);
        peer_close(old, "replaced"); /* not the room's publisher any more: subscribers stay */
    }
    room_rebind_subscribers(r);
}

void room_rebind_subscribers(room_t *r)
{
    peer_t *pub = r->publisher;
    hold_stop(r);
    if (!pub || !pub->pub) {
        return;
    }
    unsigned kept = 0, closed = 0;
    list_t *it, *tmp;
    list_foreach_safe(it, tmp, &r->subs)
    {
        peer_t *s = list_entry(it, peer_t, room_link);
        if (s->sub && s->sub->n > 0 && router_sub_rebind(s->sub, pub->pub)) {
            kept++;
        } else {
            peer_close(s, "publisher-left"); /* it negotiated codecs the publisher does not send */
            closed++;
        }
    }
    if (kept || closed) {
        LOG_I("room", "subscribers moved to the publisher's new media",
              "\"room\":\"%s\",\"publisher\":\"%s\",\"kept\":%u,\"closed\":%u", r->id, pub->id,
              kept, closed);
    }
    if (kept) {
        rtcp_fb_keyframe(pub, NULL); /* now if it is connected, else when it connects */
    }
}

void room_close(room_t *r, const char *reason)
{
    LOG_I("room", "closing", "\"room\":\"%s\",\"reason\":\"%s\"", r->id, reason);
    hold_stop(r);
    room_close_subscribers(r, reason);
    if (r->publisher) {
        peer_close(r->publisher, reason);
    }
    g_hash_table_remove(r->sfu->rooms, r->id); /* frees r */
}

void room_free(room_t *r)
{
    hold_stop(r);
    forward_room_free(r);
    g_free(r->fan);
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
