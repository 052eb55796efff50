/* sfu/router.h: the media plane. A publisher's negotiated m= sections become tracks; its RTP
 * is unprotected once (peer.c), checked, tracked for loss, cached, and then protected and sent
 * to every connected subscriber that accepted the track. Subscribers keep the publisher's SSRCs
 * and payload types (their offer is built with them), so forwarding rewrites nothing but the
 * SSRC of a track whose publisher declared none. No allocation or logging per packet. */
#ifndef SFU_ROUTER_H
#define SFU_ROUTER_H
#include "../proto/sdp.h"
#include "nack.h"
#include "pktcache.h"
#include "pli.h"
#include "rxstats.h"
#include "sfu.h"
#include <stdbool.h>
#include <stdint.h>

/* Room needed past the packet in every media buffer (SRTP/SRTCP trailer). */
#define ROUTER_PKT_MAX 1500

typedef struct pub_track {
    bool active; /* an accepted m= section */
    sdp_kind_t kind;
    uint8_t pt;
    int rtx_pt; /* -1: no rtx */
    uint32_t clock;
    uint32_t fb;       /* SDP_FB_* negotiated with the publisher */
    uint32_t ssrc;     /* the publisher's (declared, else learned from the first packet) */
    uint32_t rtx_ssrc; /* 0 until known */
    uint32_t out_ssrc; /* what subscribers see */
    pktcache_t *cache; /* video: answers subscribers' NACKs; NULL for audio */
    rxstats_t rx;
    nackgen_t nack;
    plictl_t pli;
    uint8_t fir_seq;
    uint32_t lsr;       /* middle 32 bits of the last SR's NTP time, 0 before one */
    uint64_t lsr_at_us; /* when it arrived */
    uint64_t keyframes;
} pub_track_t;

struct pub_media {
    sdp_neg_t neg;
    pub_track_t t[SDP_MAX_MEDIA]; /* indexed like neg.media */
    uint64_t last_rr_ms;
    int first; /* index of the first accepted m= section (candidate events name it) */
};

struct sub_media {
    uint8_t n;                    /* m= sections of the offer */
    uint8_t map[SDP_MAX_MEDIA];   /* offer section -> publisher track index */
    bool want[SDP_MAX_MEDIA];     /* by publisher track index: accepted by the subscriber */
    uint32_t fb[SDP_MAX_MEDIA];   /* by publisher track index: feedback it accepted */
    uint32_t lost[SDP_MAX_MEDIA]; /* by publisher track index: loss its reports state */
    bool answered;
};

/* Sets up tracks from a publisher's negotiation. Returns the new state (router_pub_free). */
pub_media_t *router_pub_new(const sdp_neg_t *neg);
void router_pub_free(pub_media_t *m);
/* True when b can replace a without touching subscribers: the same accepted sections with
 * the same codecs, payload types and declared SSRCs. */
bool router_neg_same(const sdp_neg_t *a, const sdp_neg_t *b);

/* The publisher's track with this incoming or outgoing SSRC (ssrc, rtx_ssrc or out_ssrc), or
 * -1. */
int router_track_by_ssrc(const pub_media_t *m, uint32_t ssrc);

/* One unprotected RTP packet from publisher p (pkt has ROUTER_PKT_MAX bytes of room). */
void router_on_rtp(peer_t *p, uint8_t *pkt, size_t len);

/* Protects a copy of the plain RTP packet pkt[0..len) with sub's keys and sends it. Returns 0,
 * or -1 (counted as dropped). */
int router_send_rtp(peer_t *sub, const uint8_t *pkt, size_t len);

#endif
