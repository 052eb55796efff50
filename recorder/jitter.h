/* recorder/jitter.h: a reorder buffer for one RTP stream that hands out complete frames in
 * sequence order. Packets wait in a ring indexed by sequence number; a frame is complete when
 * every packet from its first to the one with the marker bit (video) is there, and an audio
 * frame is one packet. A hole that stays open for wait_us (or a ring about to overflow) is a
 * loss: the packets before it are given up and, for video, everything is dropped until the next
 * packet that can start a key frame (the caller asks the sender for one: jb_t.need_key).
 * Pure logic, no I/O; the ring is allocated once. */
#ifndef RECORDER_JITTER_H
#define RECORDER_JITTER_H
#include "depack.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JB_SLOTS   1024 /* power of two */
#define JB_PKT_MAX 1500

typedef struct jb_pkt {
    bool used;
    bool marker;
    uint16_t seq;
    uint16_t len; /* payload bytes */
    uint32_t ts;
    uint64_t at_us; /* arrival */
    uint8_t data[JB_PKT_MAX];
} jb_pkt_t;

typedef struct jb {
    rec_codec_t codec;
    bool video;
    uint64_t wait_us;
    jb_pkt_t *ring; /* owned, JB_SLOTS entries */
    bool started;
    uint16_t head;   /* the next sequence number to hand out or give up */
    uint16_t newest; /* the highest sequence number seen */
    unsigned count;  /* packets held */
    bool sync;       /* head starts a frame (video: after a key frame start) */
    bool need_key;   /* video lost sync: a key frame is needed (cleared by the caller) */
    bool gap;        /* packets were given up before the next frame */
    /* counters */
    uint64_t received, lost, late, dup, dropped;
} jb_t;

/* A complete frame: n packets from seq first, all with timestamp ts. */
typedef struct jb_frame {
    uint16_t first;
    unsigned n;
    uint32_t ts;
    uint64_t at_us; /* arrival of its first packet */
    bool after_gap; /* packets were lost (or dropped) before it */
} jb_frame_t;

/* Returns 0, or -1 when the ring cannot be allocated. */
int jb_init(jb_t *jb, rec_codec_t codec, uint64_t wait_us);
void jb_deinit(jb_t *jb);
/* Forgets every packet and starts over (a new SSRC). */
void jb_reset(jb_t *jb);

/* Stores one packet's payload. Late packets (before head), duplicates and payloads over
 * JB_PKT_MAX are counted and dropped; a jump of a whole ring ahead starts over there. */
void jb_put(jb_t *jb, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload, size_t len,
            uint64_t now_us);

/* Hands out the next complete frame at now_us: returns true and fills f. The frame's packets
 * stay readable with jb_frame_pkt until jb_consume(jb, f). */
bool jb_next(jb_t *jb, uint64_t now_us, jb_frame_t *f);
const jb_pkt_t *jb_frame_pkt(const jb_t *jb, const jb_frame_t *f, unsigned i);
void jb_consume(jb_t *jb, const jb_frame_t *f);

#endif
