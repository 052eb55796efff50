/* sfu/rewrite.c: see rewrite.h. Sequence numbers are compared in serial arithmetic (RFC 1982):
 * a is before b when (int16_t)(a - b) < 0. */
#include "rewrite.h"
#include <string.h>

#define BASE_WINDOW 0x4000 /* base trails the newest seq by at most this much */

void rtp_rw_init(rtp_rw_t *rw)
{
    memset(rw, 0, sizeof *rw);
}

void rtp_rw_switch(rtp_rw_t *rw)
{
    rw->resync = rw->started;
}

static bool before(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(a - b) < 0;
}

bool rtp_rw_map(rtp_rw_t *rw, uint16_t seq, uint32_t ts, uint32_t clock, uint64_t now_us,
                uint16_t *oseq, uint32_t *ots)
{
    if (!rw->started) {
        rw->started = true;
        rw->base = seq + rw->seq_off;
        rw->last_seq = rw->base;
        rw->last_ts = ts + rw->ts_off;
        rw->last_us = now_us;
    } else if (rw->resync) {
        rw->resync = false;
        uint64_t dt = now_us > rw->last_us ? now_us - rw->last_us : 0;
        uint32_t jump = (uint32_t)(dt * clock / 1000000);
        uint16_t next = rw->last_seq + 1;
        rw->seq_off = (uint16_t)(next - seq);
        rw->ts_off = rw->last_ts + (jump ? jump : 1) - ts;
        rw->base = next;
        rw->last_seq = next;
        rw->last_ts = ts + rw->ts_off;
        rw->last_us = now_us;
    }
    uint16_t o = seq + rw->seq_off;
    if (before(o, rw->base)) {
        return false;
    }
    *oseq = o;
    *ots = ts + rw->ts_off;
    if (before(rw->last_seq, o)) {
        rw->last_seq = o;
        rw->last_ts = *ots;
        rw->last_us = now_us;
        if ((uint16_t)(o - rw->base) > BASE_WINDOW) {
            rw->base = o - BASE_WINDOW;
        }
    }
    return true;
}

bool rtp_rw_remap(const rtp_rw_t *rw, uint16_t seq, uint32_t ts, uint16_t *oseq, uint32_t *ots)
{
    uint16_t o = seq + rw->seq_off;
    if (!rw->started || rw->resync || before(o, rw->base) || before(rw->last_seq, o)) {
        return false;
    }
    *oseq = o;
    *ots = ts + rw->ts_off;
    return true;
}

bool rtp_rw_unmap_seq(const rtp_rw_t *rw, uint16_t oseq, uint16_t *seq)
{
    if (!rw->started || rw->resync || before(oseq, rw->base) || before(rw->last_seq, oseq)) {
        return false;
    }
    *seq = oseq - rw->seq_off;
    return true;
}

bool rtp_rw_ts(const rtp_rw_t *rw, uint32_t ts, uint32_t *ots)
{
    if (!rw->started || rw->resync) {
        return false;
    }
    *ots = ts + rw->ts_off;
    return true;
}
