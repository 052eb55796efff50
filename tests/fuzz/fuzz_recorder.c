/* tests/fuzz/fuzz_recorder.c: the recorder's pure parts (recorder/depack.c, recorder/jitter.c)
 * on arbitrary packet streams. Input: a codec byte, then records [flags][len16][payload] where
 * flags give the marker bit, a sequence step (reordering, gaps, repeats) and a timestamp step.
 * Every packet goes through the jitter buffer with a growing clock; every frame it hands out
 * is depacketized; SPS sizes and Opus durations are read from the payloads as well. */
#include "../../recorder/depack.c"
#include "../../recorder/jitter.c"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(jb_t *jb, depack_t *d, uint64_t now)
{
    jb_frame_t f;
    while (jb_next(jb, now, &f)) {
        if (f.n == 0 || f.n > JB_SLOTS) {
            abort();
        }
        depack_reset(d);
        for (unsigned i = 0; i < f.n; i++) {
            const jb_pkt_t *p = jb_frame_pkt(jb, &f, i);
            if (!p->used || p->seq != (uint16_t)(f.first + i)) {
                abort(); /* a frame is made of held, consecutive packets */
            }
            depack_add(d, p->data, p->len);
        }
        if (d->len > d->cap) {
            abort();
        }
        jb_consume(jb, &f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static jb_t jbs[3];
    static depack_t dps[3];
    static bool init;
    static const rec_codec_t codecs[3] = { REC_CODEC_OPUS, REC_CODEC_VP8, REC_CODEC_H264 };
    if (!init) {
        for (int i = 0; i < 3; i++) {
            if (jb_init(&jbs[i], codecs[i], 1000) != 0 || depack_init(&dps[i], codecs[i], 4096)) {
                abort();
            }
        }
        init = true;
    }
    if (size < 1) {
        return 0;
    }
    int k = data[0] % 3;
    jb_t *jb = &jbs[k];
    depack_t *d = &dps[k];
    jb_reset(jb);
    jb->need_key = false;
    uint16_t seq = 1000;
    uint32_t ts = 0;
    uint64_t now = 0;
    size_t off = 1;
    while (off + 3 <= size) {
        uint8_t fl = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off) {
            len = size - off;
        }
        const uint8_t *p = data + off;
        off += len;
        seq = (uint16_t)(seq + (int8_t)((fl >> 1) & 7) - 2); /* -2..+5: repeats, reorder, gaps */
        ts += (fl & 0x10) ? 3000 : 0;
        now += (fl & 0x20) ? 600 : 10;
        jb_put(jb, seq, ts, fl & 1, p, len, now);
        int w, h;
        depack_h264_size(p, len, &w, &h);
        depack_opus_samples(p, len);
        depack_is_key_start(codecs[k], p, len);
        drain(jb, d, now);
        if (jb->count > JB_SLOTS) {
            abort();
        }
    }
    drain(jb, d, now + 10000);
    return 0;
}
