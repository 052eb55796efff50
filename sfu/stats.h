/* sfu/stats.h: the stats result/event (docs/RPC.md): process load, rooms and peers. Rates are
 * recomputed once a second from the byte counters (stats_update_rates, from the tick). */
#ifndef SFU_STATS_H
#define SFU_STATS_H
#include "sfu.h"
#include <stdbool.h>

void stats_init(sfu_t *s);
/* Recomputes bit rates and CPU use when at least a second has passed since the last time. */
void stats_update_rates(sfu_t *s);
/* The stats object for every room, or only room_id (which must exist), with the per-peer
 * entries or without ("peers" absent). New reference. */
json_t *stats_json(sfu_t *s, const char *room_id, bool with_peers);

#endif
