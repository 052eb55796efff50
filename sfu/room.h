/* sfu/room.h: a room is one publisher (or none yet) and its subscribers. Rooms are owned by
 * sfu->rooms; peers are owned by sfu->peers and linked into their room. */
#ifndef SFU_ROOM_H
#define SFU_ROOM_H
#include "../common/list.h"
#include "sfu.h"
#include <stdint.h>

struct room {
    char *id; /* owned */
    sfu_t *sfu;
    peer_t *publisher; /* borrowed; NULL when none */
    list_t subs;       /* subscribers, via peer_t.room_link */
    unsigned n_subs;
    GQuark owner; /* node id of the controller that opened it or published last (api.c) */
    /* counters of peers that have left, so the room's totals never go backwards: NACKs of
     * subscribers, keyframe requests sent to publishers */
    uint64_t gone_nacks, gone_plis;
    struct fwd_room *fwd; /* owned: forwarding targets and cached reports (forward.c) */
};

/* Returns the room with this id, creating it when absent (*created tells which). */
room_t *room_open(sfu_t *s, const char *id, bool *created);
/* Closes every peer of the room (each emits peer.state closed with reason) and frees it. */
void room_close(room_t *r, const char *reason);
/* Frees a room that has no peers left (the sfu->rooms value destructor). */
void room_free(room_t *r);

/* Closes every subscriber of the room with reason (publisher-left, media-failed). */
void room_close_subscribers(room_t *r, const char *reason);

/* The room's entry of the stats result. New reference. */
json_t *room_stats_json(room_t *r);

#endif
