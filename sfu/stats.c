/* sfu/stats.c: see stats.h. */
#include "stats.h"
#include "../common/clock.h"
#include "fanout.h"
#include "peer.h"
#include "room.h"
#include <sys/resource.h>

static uint64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void stats_init(sfu_t *s)
{
    s->last_stats_ms = clock_mono_ms();
    s->last_cpu_us = cpu_us();
}

void stats_update_rates(sfu_t *s)
{
    uint64_t now = clock_mono_ms();
    uint64_t dt = now - s->last_stats_ms;
    if (dt < 1000) {
        return;
    }
    uint64_t cpu = cpu_us();
    s->cpu = (double)(cpu - s->last_cpu_us) / ((double)dt * 1000.0);
    s->last_cpu_us = cpu;
    s->bitrate_in = (double)(s->bytes_in - s->last_bytes_in) * 8000.0 / (double)dt;
    s->bitrate_out = (double)(s->bytes_out - s->last_bytes_out) * 8000.0 / (double)dt;
    s->last_bytes_in = s->bytes_in;
    s->last_bytes_out = s->bytes_out;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->peers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        peer_t *p = v;
        p->bitrate_in = (double)(p->c.bytes_in - p->rate_bytes_in) * 8000.0 / (double)dt;
        p->bitrate_out = (double)(p->c.bytes_out - p->rate_bytes_out) * 8000.0 / (double)dt;
        p->rate_bytes_in = p->c.bytes_in;
        p->rate_bytes_out = p->c.bytes_out;
    }
    s->last_stats_ms = now;
}

json_t *stats_json(sfu_t *s, const char *room_id, bool with_peers)
{
    json_t *rooms = json_array(), *peers = json_array();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->rooms);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        room_t *r = v;
        if (room_id && strcmp(room_id, r->id) != 0) {
            continue;
        }
        json_array_append_new(rooms, room_stats_json(r));
        if (!with_peers) {
            continue;
        }
        if (r->publisher) {
            json_array_append_new(peers, peer_stats_json(r->publisher));
        }
        list_t *l;
        list_foreach(l, &r->subs)
        {
            json_array_append_new(peers, peer_stats_json(list_entry(l, peer_t, room_link)));
        }
    }
    json_t *load =
        json_pack("{s:I,s:I,s:I,s:I,s:f,s:I,s:i}", "peers", (json_int_t)g_hash_table_size(s->peers),
                  "rooms", (json_int_t)g_hash_table_size(s->rooms), "bitrate_in",
                  (json_int_t)s->bitrate_in, "bitrate_out", (json_int_t)s->bitrate_out, "cpu",
                  (double)(int)(s->cpu * 1000) / 1000.0, "overload_drops",
                  (json_int_t)s->overload_drops, "fanout_threads", fanout_helpers(s->fanout) + 1);
    if (!with_peers) {
        json_decref(peers);
        return json_pack("{s:s,s:o,s:o}", "sfu_id", s->id, "load", load, "rooms", rooms);
    }
    return json_pack("{s:s,s:o,s:o,s:o}", "sfu_id", s->id, "load", load, "rooms", rooms, "peers",
                     peers);
}
