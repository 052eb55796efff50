/* proto/sdp.h: WebRTC SDP codec for the SFU (RFC 8866 syntax, RFC 8829 JSEP, RFC 8843 BUNDLE,
 * RFC 5761 rtcp-mux, RFC 5763/5764 fingerprint and setup). Parses browser offers and answers
 * into bounded structs, builds the SFU's answer to a publisher and the SFU's offer to a
 * subscriber, and classifies ICE candidate lines. Pure: no I/O, no globals; the only
 * allocation is the one sdp_t of sdp_parse. What is negotiated and why: docs/MEDIA.md. */
#ifndef PROTO_SDP_H
#define PROTO_SDP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SDP_MAX_LEN         65536 /* input cap; the SFU's own output fits in it too */
#define SDP_MAX_MEDIA       12    /* m= sections */
#define SDP_MAX_CODECS      64    /* payload types per m= section (Chromium 120+ offers ~40) */
#define SDP_MAX_FB          8     /* a=rtcp-fb values kept per codec */
#define SDP_MAX_EXTMAPS     24    /* a=extmap per m= section */
#define SDP_MAX_SSRCS       16    /* distinct ssrcs of a=ssrc per m= section */
#define SDP_MAX_GROUPS      8     /* a=ssrc-group per m= section */
#define SDP_MAX_GROUP_SSRCS 8     /* ssrcs in one a=ssrc-group */
#define SDP_MAX_CANDS       32 /* a=candidate per m= section (extra ones are ignored, not an error) */
#define SDP_MAX_BUNDLE      SDP_MAX_MEDIA

/* Sizes of the fixed strings of sdp_neg_t / sdp_cand_t (including the NUL). */
#define SDP_MID_MAX   33  /* RFC 8843: mid is an RFC 8866 token; Chromium uses "0", "1", ... */
#define SDP_CODEC_MAX 32  /* encoding name ("opus", "VP8", "H264") */
#define SDP_FMTP_MAX  256 /* a=fmtp parameters of one codec */
#define SDP_ID_MAX    65  /* cname, msid stream id, msid track id */
#define SDP_ADDR_MAX  72  /* candidate address: IPv6 text or "<uuid>.local" */

typedef enum sdp_kind {
    SDP_KIND_OTHER = 0, /* anything else: rejected by the SFU */
    SDP_KIND_AUDIO,
    SDP_KIND_VIDEO,
    SDP_KIND_APPLICATION, /* data channels: rejected by the SFU */
} sdp_kind_t;

typedef enum sdp_dir {
    SDP_DIR_SENDRECV = 0, /* RFC 8866 6.7: the default when no attribute is given */
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE,
} sdp_dir_t;

typedef enum sdp_setup {
    SDP_SETUP_NONE = 0, /* no a=setup */
    SDP_SETUP_ACTPASS,
    SDP_SETUP_ACTIVE,
    SDP_SETUP_PASSIVE,
    SDP_SETUP_HOLDCONN,
} sdp_setup_t;

/* Known a=rtcp-fb values, as a bit mask (sdp_codec_t.fb). */
#define SDP_FB_NACK     0x01u /* "nack": RFC 4585 generic NACK */
#define SDP_FB_NACK_PLI 0x02u /* "nack pli" */
#define SDP_FB_CCM_FIR  0x04u /* "ccm fir": RFC 5104 */
#define SDP_FB_REMB     0x08u /* "goog-remb" */
#define SDP_FB_TWCC     0x10u /* "transport-cc": never answered by the SFU (no TWCC feedback) */
/* What the SFU implements and may answer or offer. */
#define SDP_FB_SFU (SDP_FB_NACK | SDP_FB_NACK_PLI | SDP_FB_CCM_FIR | SDP_FB_REMB)

/* Header extensions the SFU negotiates (RFC 8285 ids live in sdp_neg_media_t.ext_id[]). */
typedef enum sdp_ext {
    SDP_EXT_MID = 0,       /* urn:ietf:params:rtp-hdrext:sdes:mid (RFC 8843 BUNDLE demux) */
    SDP_EXT_ABS_SEND_TIME, /* http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time */
    SDP_EXT_AUDIO_LEVEL,   /* urn:ietf:params:rtp-hdrext:ssrc-audio-level (RFC 6464) */
    SDP_EXT_COUNT
} sdp_ext_t;

/* Returns the URI of a supported extension, or NULL. */
const char *sdp_ext_uri(sdp_ext_t e);

/* ---- Parsed SDP -------------------------------------------------------------------------
 * Every const char * below points into the sdp_t's own string arena: NUL-terminated, valid
 * until sdp_free. A missing optional string is "" (never NULL) unless its comment says so. */

typedef struct sdp_codec {
    uint8_t pt;       /* payload type 0..127 from the m= line */
    const char *name; /* a=rtpmap encoding name as written ("VP8", "opus"); "" if no rtpmap */
    uint32_t clock;   /* clock rate; 0 if no rtpmap */
    uint8_t channels; /* audio channels (rtpmap "/2"); 1 when absent for audio, 0 for video */
    const char *fmtp; /* a=fmtp parameters ("minptime=10;useinbandfec=1") or "" */
    int apt;          /* rtx/red-style "apt=" target payload type, or -1 */
    uint32_t fb;      /* SDP_FB_* bits of the a=rtcp-fb lines (and a=rtcp-fb:*) */
    uint8_t n_fb;     /* a=rtcp-fb values as written ("nack pli"), first SDP_MAX_FB kept */
    const char *fb_list[SDP_MAX_FB];
} sdp_codec_t;

typedef struct sdp_extmap {
    uint16_t id;     /* 1..14 one-byte, 1..255 with two-byte headers (RFC 8285) */
    sdp_dir_t dir;   /* "a=extmap:3/sendonly": the direction; SENDRECV when absent */
    const char *uri; /* as written */
} sdp_extmap_t;

typedef struct sdp_ssrc {
    uint32_t ssrc;
    const char *cname;       /* a=ssrc:N cname: or "" */
    const char *msid_stream; /* a=ssrc:N msid:<stream> <track> or "" */
    const char *msid_track;
} sdp_ssrc_t;

typedef struct sdp_ssrc_group {
    const char *semantics; /* "FID" (RFC 4588 rtx), "SIM", "FEC-FR", ... */
    uint8_t n;
    uint32_t ssrcs[SDP_MAX_GROUP_SSRCS];
} sdp_ssrc_group_t;

typedef enum sdp_cand_type {
    SDP_CAND_HOST = 0,
    SDP_CAND_SRFLX,
    SDP_CAND_PRFLX,
    SDP_CAND_RELAY,
} sdp_cand_type_t;

typedef struct sdp_cand {
    char foundation[33];
    uint16_t component; /* 1 = RTP (the only one with rtcp-mux) */
    bool tcp;           /* transport TCP (else UDP) */
    uint32_t priority;
    char addr[SDP_ADDR_MAX];
    uint16_t port;
    sdp_cand_type_t type;
    bool mdns;                /* addr ends in ".local": unresolvable for libnice, ignore it */
    char tcptype[8];          /* "active", "passive", "so" or "" */
    char raddr[SDP_ADDR_MAX]; /* "" when absent */
    uint16_t rport;
} sdp_cand_t;

typedef struct sdp_media {
    sdp_kind_t kind;
    const char *media; /* the m= media token as written ("audio", "video", "application") */
    uint16_t port;     /* 0 = rejected / bundle-only */
    const char *proto; /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
    const char *fmts;  /* the m= line's format list as written ("111 63 9", "webrtc-datachannel") */
    bool rtp;          /* proto is an RTP profile (".../RTP/..."): codecs below are valid */
    const char *mid;   /* "" when absent */
    sdp_dir_t dir;
    bool bundle_only; /* a=bundle-only (RFC 8843) */
    /* Transport attributes, resolved: the media-level value or else the session-level one. */
    const char *ice_ufrag, *ice_pwd; /* "" when absent */
    const char *ice_options;         /* "trickle renomination" or "" */
    const char *fp_alg;              /* a=fingerprint hash function, lowercase ("sha-256") or "" */
    const char *fp_value;            /* "AB:CD:..." as written, or "" */
    sdp_setup_t setup;
    bool rtcp_mux, rtcp_rsize, end_of_candidates;
    const char *msid_stream, *msid_track; /* media-level a=msid (unified plan) or "" */
    uint8_t n_codecs;                     /* in m= line order (the sender's preference) */
    sdp_codec_t codecs[SDP_MAX_CODECS];
    uint8_t n_extmaps;
    sdp_extmap_t extmaps[SDP_MAX_EXTMAPS];
    uint8_t n_ssrcs;
    sdp_ssrc_t ssrcs[SDP_MAX_SSRCS];
    uint8_t n_groups;
    sdp_ssrc_group_t groups[SDP_MAX_GROUPS];
    uint8_t n_cands;
    sdp_cand_t cands[SDP_MAX_CANDS];
} sdp_media_t;

typedef struct sdp {
    /* public, read-only */
    const char *origin_user; /* o= username ("-") */
    uint64_t sess_id, sess_version;
    bool ice_lite;           /* session-level a=ice-lite */
    bool extmap_allow_mixed; /* session-level a=extmap-allow-mixed (RFC 8285 two-byte) */
    uint8_t n_bundle;        /* first a=group:BUNDLE, its mids in order */
    const char *bundle[SDP_MAX_BUNDLE];
    uint8_t n_media;
    sdp_media_t media[SDP_MAX_MEDIA];
    /* private: the string arena follows (see sdp.c) */
} sdp_t;

/* Parses text[0..len) (need not be NUL-terminated; CRLF or LF line ends). On success returns
 * 0 and *out is a new sdp_t the caller owns and frees with sdp_free. On failure returns a
 * negative PROTO_E* (PROTO_ETOOBIG over SDP_MAX_LEN or a count limit, PROTO_EINVAL malformed,
 * PROTO_ENOMEM), *out is NULL and *why (if why is not NULL) names the broken rule in a static
 * string. Rejected: a first line other than v=0, no o= line, lines not "<letter>=...", bad
 * numbers, payload types over 127 or repeated, duplicate mids, a BUNDLE mid with no m= section,
 * NUL bytes, over SDP_MAX_MEDIA/CODECS/EXTMAPS/SSRCS/GROUPS entries. Ignored: unknown attributes,
 * rtpmap/fmtp/rtcp-fb for payload types not on the m= line, candidates that do not parse or are
 * over SDP_MAX_CANDS. An SDP with no m= section parses (n_media 0). */
int sdp_parse(sdp_t **out, const char *text, size_t len, const char **why);
void sdp_free(sdp_t *s);

/* Lookups on a parsed m= section. Return NULL / -1 when absent. */
const sdp_codec_t *sdp_media_codec(const sdp_media_t *m, uint8_t pt);
/* The rtx payload type whose apt= is pt, or -1. */
int sdp_media_rtx_pt(const sdp_media_t *m, uint8_t pt);
/* The a=extmap id for uri, or 0. */
int sdp_media_extmap_id(const sdp_media_t *m, const char *uri);
/* The first m= section with this mid, or NULL. */
const sdp_media_t *sdp_find_mid(const sdp_t *s, const char *mid);
/* The primary sender ssrc of an m= section (the first ssrc of a FID group, else the first a=ssrc
 * that is not the second member of a FID group); 0 when none. *rtx_ssrc gets its FID partner or
 * 0 (rtx_ssrc may be NULL). */
uint32_t sdp_media_primary_ssrc(const sdp_media_t *m, uint32_t *rtx_ssrc);

/* Finds key in an fmtp string ("a=1;b=2", spaces around ';' allowed, keys case-insensitive).
 * Returns true and sets *val and *vlen (borrowing fmtp) when present. */
bool sdp_fmtp_get(const char *fmtp, const char *key, const char **val, size_t *vlen);

/* Parses one ICE candidate: "candidate:..." as in RTCIceCandidate.candidate, optionally with
 * "a=" in front and trailing CR/LF. Extensions after the standard fields (generation, ufrag,
 * network-id, network-cost) are skipped. Returns 0, or PROTO_EINVAL with *why. Pure classify:
 * no resolution. */
int sdp_cand_parse(sdp_cand_t *c, const char *s, size_t len, const char **why);

/* ---- Negotiated media (self-contained copies; outlive the sdp_t they came from) --------- */

typedef struct sdp_neg_codec {
    uint8_t pt;
    char name[SDP_CODEC_MAX]; /* as offered ("opus", "VP8", "H264") */
    uint32_t clock;
    uint8_t channels;        /* 2 for opus, 0 for video */
    char fmtp[SDP_FMTP_MAX]; /* answered fmtp without the SFU's bitrate hints; "" if none */
    int rtx_pt;              /* -1 when no rtx was negotiated */
    uint32_t fb;             /* SDP_FB_* negotiated for this codec (subset of SDP_FB_SFU) */
} sdp_neg_codec_t;

typedef struct sdp_neg_media {
    sdp_kind_t kind;
    char mid[SDP_MID_MAX];
    bool accepted;                 /* false: answered with port 0 (fields below unset) */
    sdp_neg_codec_t codec;         /* the one codec the SFU accepted */
    uint8_t ext_id[SDP_EXT_COUNT]; /* negotiated id per sdp_ext_t, 0 = not negotiated */
    uint32_t ssrc, rtx_ssrc;       /* the sender's ssrcs as it declared them; 0 if undeclared */
    char cname[SDP_ID_MAX];
    char msid_stream[SDP_ID_MAX], msid_track[SDP_ID_MAX];
    bool rtcp_rsize;
} sdp_neg_media_t;

typedef struct sdp_neg {
    sdp_setup_t
        setup;       /* the SFU's DTLS role in the answer: ACTIVE = DTLS client, PASSIVE = server */
    uint8_t n_media; /* = number of m= sections of the offer, in order */
    sdp_neg_media_t media[SDP_MAX_MEDIA];
} sdp_neg_t;

/* Transport identity of the SFU's side of one peer connection (all strings borrowed). */
typedef struct sdp_local {
    const char *ice_ufrag, *ice_pwd; /* RFC 8839: ufrag 4..256 chars, pwd 22..256 */
    const char *fp_alg;              /* "sha-256" */
    const char *fp_value;            /* "AB:CD:..." of the SFU's DTLS certificate */
    sdp_setup_t setup;               /* answer: ACTIVE or PASSIVE; offers always say actpass */
    bool ice_lite;                   /* add session-level a=ice-lite */
    uint64_t sess_id, sess_version;  /* o= line; sess_id 0 picks 1 (never random: pure) */
    const char *const *cands;        /* optional "candidate:..." strings (no "a=") or NULL */
    size_t n_cands;
    bool end_of_candidates; /* add a=end-of-candidates (gathering finished) */
} sdp_local_t;

typedef enum sdp_video_pref {
    SDP_PREFER_OFFER = 0, /* first of VP8 / H.264 in the offer's order */
    SDP_PREFER_VP8,       /* VP8 when offered, else H.264 */
    SDP_PREFER_H264,      /* H.264 (packetization-mode=1) when offered, else VP8 */
} sdp_video_pref_t;

typedef struct sdp_answer_opts {
    sdp_video_pref_t video_pref;
    uint8_t max_audio, max_video; /* sections of each kind accepted (in order); 0 = no limit */
    uint32_t start_kbps, min_kbps, max_kbps; /* x-google-{start,min,max}-bitrate; 0 = omit */
} sdp_answer_opts_t;

/* Builds the SFU's answer to a publisher's offer (sendonly or sendrecv m= sections) into
 * out[0..cap) and NUL-terminates it. Per m= section: audio takes Opus (fmtp kept), video takes
 * VP8 or H.264 packetization-mode=1 (profile-level-id kept) per opts->video_pref, each with
 * its rtx when offered; rtcp-fb is the offered subset of SDP_FB_SFU; extmaps are the offered
 * sdp_ext_t with ids 1..14; direction recvonly. Anything else (data channels, audio/video
 * sections past opts->max_audio/max_video, sections offered recvonly/inactive, no usable codec,
 * no mid, no rtcp-mux) is rejected with port 0. Accepted mids form a=group:BUNDLE.
 * neg (may be NULL) receives the negotiated media for sdp_build_sub_offer and the router.
 * Returns the text length, or a negative PROTO_E* with *why: PROTO_EUNSUPP when no m= section
 * is accepted ("no usable audio/video codec"), PROTO_EINVAL for an offer without ICE
 * credentials / fingerprint / actpass-capable setup, PROTO_ETOOBIG when cap is too small. */
ssize_t sdp_build_answer(char *out, size_t cap, const sdp_t *offer, const sdp_local_t *local,
                         const sdp_answer_opts_t *opts, sdp_neg_t *neg, const char **why);

/* The SFU's sender identity for one m= section of a subscriber offer (strings borrowed). */
typedef struct sdp_sub_track {
    uint32_t ssrc;     /* the SFU's ssrc for this m= section (required, non-zero) */
    uint32_t rtx_ssrc; /* 0 = no rtx offered (retransmissions then reuse ssrc) */
    const char *cname; /* required */
    const char *msid_stream, *msid_track; /* required: MediaStream id and track id */
} sdp_sub_track_t;

/* Builds a subscriber's sendonly offer from the publisher's negotiated media: one m= section per
 * accepted pub->media entry, in order, same mid, codec and payload types (so RTP needs no PT
 * rewrite), rtx only when pub has it and tracks[i].rtx_ssrc != 0, rtcp-fb = pub's codec fb,
 * extmaps with pub's ids, a=setup:actpass, BUNDLE, rtcp-mux, rtcp-rsize. tracks[] has one entry
 * per accepted pub->media entry (n_tracks must match). Returns the length written (NUL-
 * terminated) or a negative PROTO_E* with *why (PROTO_EINVAL: nothing accepted in pub, bad
 * n_tracks or missing track fields; PROTO_ETOOBIG: cap too small). */
ssize_t sdp_build_sub_offer(char *out, size_t cap, const sdp_neg_t *pub, const sdp_local_t *local,
                            const sdp_sub_track_t *tracks, size_t n_tracks, const char **why);

/* Checks a subscriber's parsed answer against the offer built from pub: the same mids in the
 * same order, each not rejected, direction recvonly (or inactive: rejected), the offered PT
 * present, ICE credentials and fingerprint present, setup active or passive (not actpass).
 * On success returns 0 and fills res (may be NULL) with, per offered m= section, the rtcp-fb
 * the subscriber accepted and whether it accepted rtx. Returns PROTO_EINVAL with *why
 * otherwise. A subscriber that rejects one m= section (e.g. no audio output) is accepted:
 * its res entry says accepted=false; PROTO_EUNSUPP when it rejected every section. */
typedef struct sdp_sub_result {
    uint8_t n_media;
    struct {
        bool accepted;
        uint32_t fb; /* SDP_FB_* the subscriber accepted for the codec */
        bool rtx;
    } media[SDP_MAX_MEDIA];
} sdp_sub_result_t;
int sdp_check_sub_answer(const sdp_t *answer, const sdp_neg_t *pub, sdp_sub_result_t *res,
                         const char **why);

/* Transport attributes of the first usable (non-rejected) m= section of a parsed remote
 * description: what the ICE and DTLS layers need. Pointers borrow s. Returns 0, or
 * PROTO_EINVAL with *why when ufrag, pwd or fingerprint is missing. */
typedef struct sdp_remote {
    const char *ice_ufrag, *ice_pwd, *fp_alg, *fp_value;
    sdp_setup_t setup;
    const sdp_media_t *first; /* the m= section they came from */
} sdp_remote_t;
int sdp_remote_transport(const sdp_t *s, sdp_remote_t *r, const char **why);

#endif
