/* signal/live_stats.c: stream-stats (PROTOCOL.md 6): every STATS_INTERVAL_MS while a room is
 * live, the node that publishes it asks the room's SFU for its counters and sends
 * {roomId, viewers, bitrateIn, packetsLost, recording} to the room's admins on every node. */
#include "../common/xalloc.h"
#include "live.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stream-stats (PROTOCOL.md 6: to the room's admins every 2 s while live) -------------- */

typedef struct stats_op {
    live_t *app;
    char room[LIVE_ROOM_ID_MAX + 1];
    double bitrate_in;
    int64_t lost;
} stats_op_t;

static void on_stats_room(store_t *st, const store_res_t *res, void *ud)
{
    stats_op_t *o = ud;
    if (res->err == 0 && res->room->live) {
        char args[512];
        int n = snprintf(args, sizeof args,
                         "{\"roomId\":\"%s\",\"viewers\":%lld,\"bitrateIn\":%.0f,"
                         "\"packetsLost\":%lld,\"recording\":%s}",
                         o->room, (long long)res->room->viewers, o->bitrate_in, (long long)o->lost,
                         res->room->recording ? "true" : "false");
        if (n > 0 && (size_t)n < sizeof args) {
            live_bus_room(o->app, LIVE_TO_ADMINS, o->room, NULL, "stream-stats", args, (size_t)n);
        }
    }
    free(o);
}

static void on_sfu_stats(const char *sfu_id, const char *err, const char *msg, json_t *result,
                         void *ud)
{
    stats_op_t *o = ud;
    json_t *rooms = json_object_get(result, "rooms"), *it;
    size_t i;
    json_array_foreach(rooms, i, it)
    {
        const char *id = json_string_value(json_object_get(it, "room"));
        if (id && !strcmp(id, o->room)) {
            o->bitrate_in = json_number_value(json_object_get(it, "bitrate_in"));
            o->lost = json_integer_value(json_object_get(it, "packets_lost"));
            live_room_t *r = live_room_get(o->app, o->room, false);
            if (r) { /* for /metrics */
                r->bitrate_in = o->bitrate_in;
                r->packets_lost = o->lost;
            }
        }
    }
    if (o->app->closing) {
        free(o);
        return;
    }
    store_room_get(o->app->store, o->room, on_stats_room, o);
}

static void on_stats_timer(uv_timer_t *t)
{
    live_room_t *r = t->data;
    live_t *app = r->app;
    sfu_t *sfu = r->pub_sfu[0] ? sfu_pool_find(app->sfus, r->pub_sfu) : NULL;
    stats_op_t *o = xcalloc(1, sizeof(*o));
    o->app = app;
    snprintf(o->room, sizeof o->room, "%s", r->id);
    if (sfu && sfu_get_state(sfu) == SFU_READY) {
        sfu_call(sfu, "stats", json_pack("{s:s}", "room", r->id), on_sfu_stats, o);
    } else {
        store_room_get(app->store, o->room, on_stats_room, o);
    }
}

void live_media_start_stats(live_t *app, live_room_t *r)
{
    if (!uv_is_active((uv_handle_t *)&r->stats_timer)) {
        uv_timer_start(&r->stats_timer, on_stats_timer, (uint64_t)app->cfg.stats_interval_ms,
                       (uint64_t)app->cfg.stats_interval_ms);
    }
}
