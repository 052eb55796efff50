/* sfu/peer.h: one browser peer connection, publisher or subscriber: SDP negotiation, the ICE
 * agent, DTLS, SRTP and the state events. Media handling lives in router.c and rtcp_fb.c.
 *
 * Lifetime: peer_new registers the peer in sfu->peers (which holds one reference) and in its
 * room. peer_close stops all I/O, unlinks it and drops that reference; the memory goes when the
 * last reference does, always from an idle callback, so a close inside a libnice, OpenSSL or
 * GLib callback never frees the object that is running. */
#ifndef SFU_PEER_H
#define SFU_PEER_H
#include "../common/list.h"
#include "../common/rc.h"
#include "../proto/sdp.h"
#include "sfu.h"
#include "srtpx.h"
#include <stdint.h>

typedef enum peer_role {
    PEER_PUB = 0,
    PEER_SUB,
} peer_role_t;

typedef enum peer_state {
    PEER_NEW = 0, /* created, no remote description yet (subscriber waiting for its answer) */
    PEER_CONNECTING,
    PEER_CONNECTED,
    PEER_FAILED,
    PEER_CLOSED,
} peer_state_t;

typedef struct peer_counters {
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    uint64_t packets_lost; /* publisher: upstream losses; subscriber: as its reports say */
    uint64_t nacks_in, nacks_out, plis_in, plis_out;
    uint64_t dropped; /* media that could not be protected or sent */
} peer_counters_t;

typedef struct ice ice_t;
typedef struct dtls dtls_t;

struct peer {
    rc_t rc;
    sfu_t *sfu;
    char *id;         /* owned */
    room_t *room;     /* borrowed; NULL once closed */
    list_t room_link; /* subscribers: in room->subs */
    peer_role_t role;
    peer_state_t state;
    bool closed;
    GQuark owner; /* node id of the controller that created it: its events go there (api.c) */
    uint32_t local_ssrc; /* sender ssrc of the RTCP the SFU sends on this connection */
    ice_t *ice;          /* owned */
    dtls_t *dtls;        /* owned */
    srtpx_t srtp;
    bool have_remote;    /* the remote description is applied (candidates can go in) */
    GPtrArray *held;     /* owned candidate strings ("a=candidate:...") until then */
    GPtrArray *dtls_out; /* owned GBytes: DTLS records waiting for ICE to come up */
    char remote_ufrag[260];
    char fp_alg[16];
    char fp_value[200];
    bool ice_up;                /* ICE has a working pair */
    bool dtls_client;           /* our DTLS role, fixed by the first negotiation */
    bool remote_done;           /* end-of-candidates arrived before the remote description */
    guint connect_timer;        /* fails the peer when not connected in time */
    char cand_mid[SDP_MID_MAX]; /* sdpMid / sdpMLineIndex of our candidate events */
    int cand_mline;
    uint64_t sess_id, sess_version; /* o= line of our descriptions */
    pub_media_t *pub;               /* publisher media state (owned) */
    sub_media_t *sub;               /* subscriber media state (owned) */
    peer_counters_t c;
    uint64_t rate_bytes_in, rate_bytes_out; /* byte counters at the last rate update */
    double bitrate_in, bitrate_out;
    uint64_t connected_ms;
    long hold_ms; /* publisher: how long its subscribers wait for a new one after a peer.close */
};

const char *peer_role_str(peer_role_t r);
const char *peer_state_str(peer_state_t s);

/* Creates a peer of room r and registers it. Returns it (borrowed: sfu->peers owns it). */
peer_t *peer_new(sfu_t *s, room_t *r, const char *id, peer_role_t role);

/* Publisher: applies the browser's offer (first one or a renegotiation, ICE restart when the
 * ufrag changed). Returns the answer SDP (g_free) or NULL with *err and why set. */
char *peer_pub_offer(peer_t *p, const char *sdp, rpc_err_t *err, char *why, size_t whylen);

/* Subscriber: builds the sendonly offer from the room publisher's negotiated media (restart:
 * new ICE credentials first). Returns the SDP (g_free) or NULL with *err and why set. */
char *peer_sub_offer(peer_t *p, bool restart, rpc_err_t *err, char *why, size_t whylen);
/* Subscriber: applies the browser's answer. Returns 0 or -1 with *err and why set. */
int peer_sub_answer(peer_t *p, const char *sdp, rpc_err_t *err, char *why, size_t whylen);

/* A browser candidate (RTCIceCandidateInit object, or JSON null for end-of-candidates).
 * Held until the remote description is applied; .local and TCP candidates are ignored.
 * Returns 0 or -1 with *err and why set (malformed candidate). */
int peer_add_candidate(peer_t *p, const json_t *cand, rpc_err_t *err, char *why, size_t whylen);

/* Publisher: prepares for the browser's next offer with new ICE credentials. */
void peer_pub_restart(peer_t *p);

/* Sets the state and emits peer.state (reason may be NULL). No-op when unchanged or closed. */
void peer_set_state(peer_t *p, peer_state_t st, const char *reason);

/* Closes the peer: stops I/O, emits peer.state closed with reason, unlinks it from its room
 * and sfu->peers. The subscribers of a room's publisher are closed too (reason
 * "publisher-left", or "media-failed" when reason is "failed"), at once, or after a wait for a
 * new publisher (room_publisher_gone): p->hold_ms when set, ROOM_HOLD_REMOTE_CLOSED_MS when
 * the browser closed the connection ("remote-closed"). Idempotent. */
void peer_close(peer_t *p, const char *reason);

/* Sends one datagram (already protected) on the peer's ICE transport. Returns 0 or -1. */
int peer_send(peer_t *p, const uint8_t *buf, size_t len);

/* The peer's entry of the stats result. New reference. */
json_t *peer_stats_json(const peer_t *p);

static inline void peer_ref(peer_t *p)
{
    rc_ref(&p->rc);
}
void peer_unref(peer_t *p);

#endif
