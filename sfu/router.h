/* sfu/router.h: the media plane. A publisher's negotiated m= sections become tracks; its RTP
 * is unprotected once (peer.c), checked, tracked for loss, cached, and then protected and sent
 * to every connected subscriber that accepted the track. A subscriber's offer is built with the
 * publisher's SSRCs and payload types; each subscriber track keeps what it negotiated, and its
 * packets are rewritten to that (SSRC, payload type) with sequence numbers and timestamps
 * continued across publisher swaps (rewrite.h): a compatible new publisher of the room feeds
 * the same subscribers. No allocation or logging per packet. */
#ifndef SFU_ROUTER_H
#define SFU_ROUTER_H
#include "../proto/sdp.h"
#include "nack.h"
#include "pktcache.h"
#include "pli.h"
#include "rewrite.h"
#include "rxstats.h"
#include "sfu.h"
#include <stdbool.h>
#include <stdint.h>

/* Room needed past the packet in every media buffer (SRTP/SRTCP trailer). */
#define ROUTER_PKT_MAX 1500

typedef enum router_codec {
    ROUTER_CODEC_OTHER = 0,
    ROUTER_CODEC_VP8,
    ROUTER_CODEC_H264,
} router_codec_t;

typedef struct pub_track {
    bool active; /* an accepted m= section */
    sdp_kind_t kind;
    router_codec_t codec; /* how keyframes are recognised */
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

/* One m= section of a subscriber: what it negotiated (kept across publisher swaps) and the
 * numbering of its outgoing stream. */
typedef struct sub_track {
    int8_t pub;    /* index of the current publisher's track it gets, -1: none */
    bool want;     /* accepted in its answer */
    uint32_t fb;   /* feedback it accepted */
    uint32_t lost; /* loss its reports state */
    sdp_kind_t kind;
    uint8_t pt; /* negotiated payload type */
    uint32_t clock;
    uint32_t ssrc; /* negotiated SSRC */
    char codec[SDP_CODEC_MAX];
    char mid[SDP_MID_MAX];
    uint8_t ext_id[SDP_EXT_COUNT];
    rtp_rw_t rw;
} sub_track_t;

struct sub_media {
    uint8_t n;                    /* m= sections of the offer */
    sub_track_t t[SDP_MAX_MEDIA]; /* by offer section */
    int8_t by_pub[SDP_MAX_MEDIA]; /* publisher track index -> offer section, -1 */
    bool answered;
};
/* Sets up tracks from a publisher's negotiation. Returns the new state (router_pub_free). */
pub_media_t *router_pub_new(const sdp_neg_t *neg);
void router_pub_free(pub_media_t *m);
/* True when b can replace a without touching subscribers: the same accepted sections with
 * the same codecs, payload types and declared SSRCs. */
bool router_neg_same(const sdp_neg_t *a, const sdp_neg_t *b);

/* Subscriber sections from the publisher's media: the first offer takes each accepted track
 * as it is (SSRC, payload type, codec); a later offer (ICE restart) keeps the SSRCs and the
 * numbering and takes the publisher's payload types. */
void router_sub_from_pub(sub_media_t *sm, const pub_media_t *pm);
/* Points the subscriber's sections at the tracks of a new publisher's media: each section it
 * accepted (or every section before its answer) needs a track of the same kind, codec name,
 * clock rate, mid and header extension ids. Returns true and switches the numbering to the new
 * source, or false (nothing changed) when the media is not compatible. */
bool router_sub_rebind(sub_media_t *sm, const pub_media_t *pm);
/* The subscriber section with this (negotiated) SSRC, or -1. */
int router_sub_by_ssrc(const sub_media_t *sm, uint32_t ssrc);
/* Resends cached packet pkt[0..len) (the publisher's numbering) to sub's section st, with its
 * numbering; nothing when it is not of the current source. Returns 0 or -1. */
int router_resend(peer_t *sub, const sub_track_t *st, const uint8_t *pkt, size_t len);

/* The publisher's track with this incoming or outgoing SSRC (ssrc, rtx_ssrc or out_ssrc), or
 * -1. */
int router_track_by_ssrc(const pub_media_t *m, uint32_t ssrc);

/* The fan-out's send function (fanout_send_fn): sends a protected packet to subscriber dst
 * (a peer_t) and counts it. Returns the bytes sent or 0. Runs on fan-out helpers too: it
 * touches only that subscriber. */
size_t router_send_protected(void *dst, const uint8_t *buf, size_t len);

/* One unprotected RTP packet from publisher p (pkt has ROUTER_PKT_MAX bytes of room). With
 * forward false (the SFU is overloaded, peer.c) it only counts as received, for the loss
 * statistics and so that it is not NACKed: it is neither cached nor sent on. */
void router_on_rtp(peer_t *p, uint8_t *pkt, size_t len, bool forward);

#endif
