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
    /* the subscribers as an array for the fan-out (router.c), rebuilt from subs when dirty
     * (a subscriber joined or left): borrowed pointers, owned array */
    peer_t **fan;
    unsigned fan_n, fan_cap;
    bool fan_dirty;
    GQuark owner; /* node id of the controller that opened it or published last (api.c) */
    /* counters of peers that have left, so the room's totals never go backwards: NACKs of
     * subscribers, keyframe requests sent to publishers */
    uint64_t gone_nacks, gone_plis;
    struct fwd_room *fwd;    /* owned: forwarding targets and cached reports (forward.c) */
    guint hold_timer;        /* subscribers waiting for a new publisher (GSource id or 0) */
    const char *hold_reason; /* static: their close reason when the wait is over */
};

/* How long subscribers wait for a new publisher when theirs closed its connection
 * (remote-closed); peer.close may ask for another wait (hold_ms). */
#define ROOM_HOLD_REMOTE_CLOSED_MS 3000

/* Returns the room with this id, creating it when absent (*created tells which). */
room_t *room_open(sfu_t *s, const char *id, bool *created);
/* Closes every peer of the room (each emits peer.state closed with reason) and frees it. */
void room_close(room_t *r, const char *reason);
/* Frees a room that has no peers left (the sfu->rooms value destructor). */
void room_free(room_t *r);

/* Closes every subscriber of the room with reason (publisher-left, media-failed). */
void room_close_subscribers(room_t *r, const char *reason);

/* The room's publisher left (peer_close has unset r->publisher). With hold_ms > 0 and
 * subscribers, they stay (no event) and wait that long for a new publisher, then are closed
 * with reason; otherwise they are closed now. reason is a static string. */
void room_publisher_gone(room_t *r, const char *reason, long hold_ms);

/* p (its media negotiated) becomes the room's publisher: the previous one, if any, is closed
 * ("replaced") without closing the subscribers, and they move to p
 * (room_rebind_subscribers). */
void room_set_publisher(room_t *r, peer_t *p);

/* The room's publisher has new media (a new publisher, or the same one with new SSRCs or a new
 * connection): each subscriber whose negotiated codecs it can feed is kept (same SSRCs and
 * payload types for it, its numbering continued) and the others are closed with
 * publisher-left; a keyframe is asked for at once. Stops a wait of room_publisher_gone. */
void room_rebind_subscribers(room_t *r);

/* The room's entry of the stats result. New reference. */
json_t *room_stats_json(room_t *r);

#endif
