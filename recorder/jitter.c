/* recorder/jitter.c: see jitter.h. */
#include "jitter.h"
#include "../proto/rtp.h"
#include <stdlib.h>
#include <string.h>

#define JB_FORCE_SPAN (JB_SLOTS - 64) /* give up holes before the ring wraps onto them */

static jb_pkt_t *slot(const jb_t *jb, uint16_t seq)
{
    return &jb->ring[seq & (JB_SLOTS - 1)];
}

static bool has(const jb_t *jb, uint16_t seq)
{
    const jb_pkt_t *p = slot(jb, seq);
    return p->used && p->seq == seq;
}

static void drop_slot(jb_t *jb, uint16_t seq)
{
    jb_pkt_t *p = slot(jb, seq);
    if (p->used && p->seq == seq) {
        p->used = false;
        jb->count--;
    }
}

int jb_init(jb_t *jb, rec_codec_t codec, uint64_t wait_us)
{
    memset(jb, 0, sizeof *jb);
    jb->codec = codec;
    jb->video = codec == REC_CODEC_VP8 || codec == REC_CODEC_H264;
    jb->wait_us = wait_us;
    jb->ring = calloc(JB_SLOTS, sizeof *jb->ring);
    return jb->ring ? 0 : -1;
}

void jb_deinit(jb_t *jb)
{
    free(jb->ring);
    jb->ring = NULL;
}

void jb_reset(jb_t *jb)
{
    for (unsigned i = 0; i < JB_SLOTS; i++) {
        jb->ring[i].used = false;
    }
    jb->dropped += jb->count;
    jb->count = 0;
    jb->started = false;
    jb->sync = false;
    jb->gap = false;
}

void jb_put(jb_t *jb, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload, size_t len,
            uint64_t now_us)
{
    jb->received++;
    if (len > JB_PKT_MAX) {
        jb->dropped++;
        return;
    }
    if (jb->started) {
        int d = rtp_seq_diff(jb->head, seq);
        if (d < 0) {
            jb->late++;
            return;
        }
        if (d >= JB_SLOTS) {
            /* a jump past the ring: what is held belongs to the past; start over here */
            jb_reset(jb);
            jb->gap = true;
            jb->need_key = jb->video;
        }
    }
    if (!jb->started) {
        jb->started = true;
        jb->head = jb->newest = seq;
        jb->sync = !jb->video; /* video starts at a key frame */
    } else if (rtp_seq_lt(jb->newest, seq)) {
        jb->newest = seq;
    }
    jb_pkt_t *p = slot(jb, seq);
    if (p->used) {
        jb->dup++; /* the same seq (anything else in the slot is older than head: impossible) */
        return;
    }
    p->used = true;
    p->seq = seq;
    p->ts = ts;
    p->marker = marker;
    p->at_us = now_us;
    p->len = (uint16_t)len;
    memcpy(p->data, payload, len);
    jb->count++;
}

/* The first held packet after head (count > 0 guarantees one within the span). */
static const jb_pkt_t *next_held(const jb_t *jb)
{
    int span = rtp_seq_diff(jb->head, jb->newest);
    for (int i = 1; i <= span; i++) {
        uint16_t s = (uint16_t)(jb->head + i);
        if (has(jb, s)) {
            return slot(jb, s);
        }
    }
    return NULL;
}

static bool must_give_up(const jb_t *jb, uint64_t waited_since, uint64_t now_us)
{
    return now_us - waited_since >= jb->wait_us ||
           rtp_seq_diff(jb->head, jb->newest) >= JB_FORCE_SPAN;
}

static void lose_sync(jb_t *jb)
{
    jb->gap = true;
    if (jb->video) {
        jb->sync = false;
        jb->need_key = true;
    }
}

/* Video in sync: finds the frame starting at head. 1: complete (f filled), 0: wait, -1: given
 * up (head moved past the partial frame). */
static int video_frame(jb_t *jb, uint64_t now_us, jb_frame_t *f)
{
    const jb_pkt_t *first = slot(jb, jb->head);
    uint16_t s = jb->head;
    unsigned n = 0;
    for (;;) {
        if (!has(jb, s)) {
            if (!must_give_up(jb, first->at_us, now_us)) {
                return 0;
            }
            for (unsigned i = 0; i < n; i++) {
                drop_slot(jb, (uint16_t)(jb->head + i));
            }
            jb->dropped += n;
            jb->head = s;
            lose_sync(jb);
            return -1;
        }
        const jb_pkt_t *p = slot(jb, s);
        if (p->ts != first->ts) {
            break; /* the next frame began without a marker on this one */
        }
        n++;
        if (p->marker || n >= JB_FORCE_SPAN) {
            break;
        }
        s++;
    }
    *f = (jb_frame_t){ jb->head, n, first->ts, first->at_us, jb->gap };
    return 1;
}

bool jb_next(jb_t *jb, uint64_t now_us, jb_frame_t *f)
{
    for (unsigned guard = 0; guard < 4 * JB_SLOTS && jb->count > 0; guard++) {
        if (!jb->sync) {
            /* video resynchronisation: skip to a packet that starts a key frame */
            if (!has(jb, jb->head)) {
                jb->head++;
                continue;
            }
            const jb_pkt_t *p = slot(jb, jb->head);
            if (depack_is_key_start(jb->codec, p->data, p->len)) {
                jb->sync = true;
                continue;
            }
            drop_slot(jb, jb->head);
            jb->dropped++;
            jb->head++;
            jb->gap = true;
            continue;
        }
        if (!has(jb, jb->head)) {
            const jb_pkt_t *q = next_held(jb);
            if (!q) {
                return false;
            }
            if (!must_give_up(jb, q->at_us, now_us)) {
                return false;
            }
            jb->lost += (uint64_t)rtp_seq_diff(jb->head, q->seq);
            jb->head = q->seq;
            lose_sync(jb);
            continue;
        }
        if (!jb->video) {
            const jb_pkt_t *p = slot(jb, jb->head);
            *f = (jb_frame_t){ jb->head, 1, p->ts, p->at_us, jb->gap };
            return true;
        }
        int r = video_frame(jb, now_us, f);
        if (r == 1) {
            return true;
        }
        if (r == 0) {
            return false;
        }
    }
    return false;
}

const jb_pkt_t *jb_frame_pkt(const jb_t *jb, const jb_frame_t *f, unsigned i)
{
    return slot(jb, (uint16_t)(f->first + i));
}

void jb_consume(jb_t *jb, const jb_frame_t *f)
{
    for (unsigned i = 0; i < f->n; i++) {
        drop_slot(jb, (uint16_t)(f->first + i));
    }
    jb->head = (uint16_t)(f->first + f->n);
    jb->gap = false;
}
