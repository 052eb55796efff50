/* tests/unit/test_recorder.c: the recorder's pure parts (recorder/depack.c, recorder/jitter.c):
 * VP8/H.264/Opus payloads to frames, the SPS picture size, and the reorder buffer's frames,
 * losses and resynchronisation. onair-recorder is its own binary (it alone links libav*), so
 * these two files are compiled into the test here. */
#include "../../recorder/depack.c"
#include "../../recorder/jitter.c"
#include "t.h"

/* A real Chromium 1280x720 Constrained Baseline SPS and its PPS. */
static const uint8_t sps720[] = { 0x67, 0x42, 0xc0, 0x20, 0x8c, 0x8d, 0x40, 0x28, 0x02,
                                  0xdd, 0x35, 0x06, 0x06, 0x06, 0x07, 0x84, 0x42, 0x35 };
static const uint8_t pps[] = { 0x68, 0xce, 0x3c, 0x80 };

TEST(codec_names)
{
    ASSERT_EQ(depack_codec("opus"), REC_CODEC_OPUS);
    ASSERT_EQ(depack_codec("vp8"), REC_CODEC_VP8);
    ASSERT_EQ(depack_codec("H264"), REC_CODEC_H264);
    ASSERT_EQ(depack_codec("VP9"), REC_CODEC_NONE);
    ASSERT_EQ(depack_codec(NULL), REC_CODEC_NONE);
}

TEST(vp8_key_frame_two_packets)
{
    depack_t d;
    ASSERT_EQ(depack_init(&d, REC_CODEC_VP8, 1 << 16), 0);
    /* X=1 S=1 PID=0; I=1; M=1 15-bit picture id; then the key frame tag, start code, 1280x720 */
    const uint8_t p1[] = { 0x90, 0x80, 0x81, 0x23, 0x50, 0x12, 0x00, 0x9d,
                           0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02, 0xaa };
    const uint8_t p2[] = { 0x80, 0x80, 0x81, 0x23, 0xbb, 0xcc }; /* S=0: continuation */
    depack_reset(&d);
    ASSERT_EQ(depack_add(&d, p1, sizeof p1), 0);
    ASSERT_EQ(depack_add(&d, p2, sizeof p2), 0);
    ASSERT(d.key);
    ASSERT_EQ(d.width, 1280);
    ASSERT_EQ(d.height, 720);
    const uint8_t want[] = { 0x50, 0x12, 0x00, 0x9d, 0x01, 0x2a, 0x00,
                             0x05, 0xd0, 0x02, 0xaa, 0xbb, 0xcc };
    ASSERT_MEM_EQ(d.data, d.len, want, sizeof want);
    ASSERT(depack_is_key_start(REC_CODEC_VP8, p1, sizeof p1));
    ASSERT(!depack_is_key_start(REC_CODEC_VP8, p2, sizeof p2));
    /* a frame that does not begin with partition 0's start is refused */
    depack_reset(&d);
    ASSERT_EQ(depack_add(&d, p2, sizeof p2), -1);
    ASSERT(d.bad);
    ASSERT_EQ(depack_add(&d, p1, sizeof p1), -1); /* bad sticks until the next frame */
    depack_deinit(&d);
}

TEST(h264_stap_a_and_fu_a)
{
    depack_t d;
    ASSERT_EQ(depack_init(&d, REC_CODEC_H264, 1 << 16), 0);
    uint8_t stap[64];
    size_t n = 0;
    stap[n++] = 0x78; /* STAP-A, NRI 3 */
    stap[n++] = 0;
    stap[n++] = sizeof sps720;
    memcpy(stap + n, sps720, sizeof sps720);
    n += sizeof sps720;
    stap[n++] = 0;
    stap[n++] = sizeof pps;
    memcpy(stap + n, pps, sizeof pps);
    n += sizeof pps;
    const uint8_t fu1[] = { 0x7c, 0x85, 0xaa, 0xbb }; /* FU-A, S=1, IDR */
    const uint8_t fu2[] = { 0x7c, 0x05, 0xcc };       /* middle */
    const uint8_t fu3[] = { 0x7c, 0x45, 0xdd };       /* E=1 */
    depack_reset(&d);
    ASSERT(depack_is_key_start(REC_CODEC_H264, stap, n));
    ASSERT(depack_is_key_start(REC_CODEC_H264, fu1, sizeof fu1));
    ASSERT(!depack_is_key_start(REC_CODEC_H264, fu2, sizeof fu2));
    ASSERT_EQ(depack_add(&d, stap, n), 0);
    ASSERT_EQ(depack_add(&d, fu1, sizeof fu1), 0);
    ASSERT_EQ(depack_add(&d, fu2, sizeof fu2), 0);
    ASSERT_EQ(depack_add(&d, fu3, sizeof fu3), 0);
    ASSERT(d.key);
    ASSERT(d.ps_changed);
    uint8_t want[64];
    size_t w = 0;
    memcpy(want + w, "\0\0\0\1", 4), w += 4;
    memcpy(want + w, sps720, sizeof sps720), w += sizeof sps720;
    memcpy(want + w, "\0\0\0\1", 4), w += 4;
    memcpy(want + w, pps, sizeof pps), w += sizeof pps;
    memcpy(want + w, "\0\0\0\1\x65\xaa\xbb\xcc\xdd", 9), w += 9;
    ASSERT_MEM_EQ(d.data, d.len, want, w);
    uint8_t extra[600];
    size_t elen = depack_h264_extradata(&d, extra, sizeof extra);
    ASSERT_MEM_EQ(extra, elen, want, 8 + sizeof sps720 + sizeof pps);
    /* the same parameter sets again are no change */
    depack_reset(&d);
    ASSERT_EQ(depack_add(&d, stap, n), 0);
    ASSERT(!d.ps_changed);
    /* a continuation without its start, a STAP-A whose size runs over, FU-B: refused */
    depack_reset(&d);
    ASSERT_EQ(depack_add(&d, fu2, sizeof fu2), -1);
    depack_reset(&d);
    stap[1] = 0xff;
    ASSERT_EQ(depack_add(&d, stap, n), -1);
    depack_reset(&d);
    const uint8_t fub[] = { 0x7d, 0x85, 0, 0, 0xaa };
    ASSERT_EQ(depack_add(&d, fub, sizeof fub), -1);
    depack_deinit(&d);
}

TEST(h264_frame_over_capacity_is_bad)
{
    depack_t d;
    ASSERT_EQ(depack_init(&d, REC_CODEC_H264, 16), 0);
    depack_reset(&d);
    const uint8_t nal[] = { 0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    ASSERT_EQ(depack_add(&d, nal, sizeof nal), -1);
    ASSERT(d.bad);
    depack_deinit(&d);
}

TEST(h264_sps_size)
{
    int w = 0, h = 0;
    ASSERT_EQ(depack_h264_size(sps720, sizeof sps720, &w, &h), 0);
    ASSERT_EQ(w, 1280);
    ASSERT_EQ(h, 720);
    for (size_t n = 0; n < 8; n++) { /* truncated: never a size */
        ASSERT_EQ(depack_h264_size(sps720, n, &w, &h), -1);
    }
    ASSERT_EQ(depack_h264_size(pps, sizeof pps, &w, &h), -1); /* not an SPS */
}

TEST(opus_samples)
{
    const uint8_t hybrid20[] = { 0x78, 0 }, celt20x3[] = { 0xfb, 0x03 }, silk60[] = { 0x18 };
    ASSERT_EQ(depack_opus_samples(hybrid20, 2), 960);
    ASSERT_EQ(depack_opus_samples(celt20x3, 2), 2880);
    ASSERT_EQ(depack_opus_samples(silk60, 1), 2880);
    ASSERT_EQ(depack_opus_samples(celt20x3, 1), 0); /* code 3 without its count byte */
    ASSERT_EQ(depack_opus_samples(NULL, 0), 0);
}

/* ---- jitter buffer ----------------------------------------------------------------------------
 */

static void put(jb_t *jb, uint16_t seq, uint32_t ts, bool marker, uint8_t byte, uint64_t now)
{
    jb_put(jb, seq, ts, marker, &byte, 1, now);
}

/* Pops one frame and returns its first sequence number and packet count (n = 0: none). */
static unsigned pop(jb_t *jb, uint64_t now, uint16_t *first)
{
    jb_frame_t f;
    if (!jb_next(jb, now, &f)) {
        return 0;
    }
    *first = f.first;
    jb_consume(jb, &f);
    return f.n;
}

TEST(jb_audio_reorder_loss_late_dup)
{
    jb_t jb;
    uint16_t first = 0;
    ASSERT_EQ(jb_init(&jb, REC_CODEC_OPUS, 100), 0);
    put(&jb, 10, 0, true, 1, 0);
    put(&jb, 12, 1920, true, 3, 0); /* 11 is late */
    ASSERT_EQ(pop(&jb, 0, &first), 1);
    ASSERT_EQ(first, 10);
    ASSERT_EQ(pop(&jb, 50, &first), 0); /* waiting for 11 */
    put(&jb, 11, 960, true, 2, 60);
    put(&jb, 11, 960, true, 2, 60); /* duplicate */
    ASSERT_EQ(jb.dup, 1);
    ASSERT_EQ(pop(&jb, 60, &first), 1);
    ASSERT_EQ(first, 11);
    ASSERT_EQ(pop(&jb, 60, &first), 1);
    ASSERT_EQ(first, 12);
    put(&jb, 11, 960, true, 2, 70); /* behind head: late */
    ASSERT_EQ(jb.late, 1);
    put(&jb, 15, 4800, true, 6, 100); /* 13, 14 lost */
    ASSERT_EQ(pop(&jb, 150, &first), 0);
    ASSERT_EQ(pop(&jb, 200, &first), 1); /* given up after wait_us */
    ASSERT_EQ(first, 15);
    ASSERT_EQ(jb.lost, 2);
    ASSERT_EQ(jb.count, 0);
    jb_deinit(&jb);
}

TEST(jb_sequence_wraps)
{
    jb_t jb;
    uint16_t first = 0;
    ASSERT_EQ(jb_init(&jb, REC_CODEC_OPUS, 100), 0);
    put(&jb, 65534, 0, true, 1, 0);
    put(&jb, 0, 1920, true, 3, 0);
    put(&jb, 65535, 960, true, 2, 0);
    ASSERT_EQ(pop(&jb, 0, &first), 1);
    ASSERT_EQ(first, 65534);
    ASSERT_EQ(pop(&jb, 0, &first), 1);
    ASSERT_EQ(first, 65535);
    ASSERT_EQ(pop(&jb, 0, &first), 1);
    ASSERT_EQ(first, 0);
    jb_deinit(&jb);
}

/* VP8 payloads: a key frame start, a delta frame start, a continuation. */
static const uint8_t vp8_key[] = { 0x10, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02 };
static const uint8_t vp8_delta[] = { 0x10, 0x01, 0x00, 0x00 };
static const uint8_t vp8_cont[] = { 0x00, 0xee };

static void vput(jb_t *jb, uint16_t seq, uint32_t ts, bool marker, const uint8_t *p, size_t n,
                 uint64_t now)
{
    jb_put(jb, seq, ts, marker, p, n, now);
}

TEST(jb_video_frames_wait_for_key_and_completion)
{
    jb_t jb;
    uint16_t first = 0;
    ASSERT_EQ(jb_init(&jb, REC_CODEC_VP8, 100), 0);
    /* a delta frame first: dropped until a key frame starts */
    vput(&jb, 1, 0, true, vp8_delta, sizeof vp8_delta, 0);
    ASSERT_EQ(pop(&jb, 0, &first), 0);
    ASSERT_EQ(jb.count, 0);
    /* key frame of three packets, arriving 2, 4, 3 */
    vput(&jb, 2, 3000, false, vp8_key, sizeof vp8_key, 10);
    vput(&jb, 4, 3000, true, vp8_cont, sizeof vp8_cont, 10);
    ASSERT_EQ(pop(&jb, 10, &first), 0); /* 3 missing: wait */
    vput(&jb, 3, 3000, false, vp8_cont, sizeof vp8_cont, 20);
    ASSERT_EQ(pop(&jb, 20, &first), 3);
    ASSERT_EQ(first, 2);
    /* a frame that ends without a marker: the next timestamp closes it */
    vput(&jb, 5, 6000, false, vp8_delta, sizeof vp8_delta, 30);
    vput(&jb, 6, 9000, true, vp8_delta, sizeof vp8_delta, 30);
    ASSERT_EQ(pop(&jb, 30, &first), 1);
    ASSERT_EQ(first, 5);
    ASSERT_EQ(pop(&jb, 30, &first), 1);
    ASSERT_EQ(first, 6);
    ASSERT(!jb.need_key);
    jb_deinit(&jb);
}

TEST(jb_video_loss_inside_a_frame_resyncs_at_a_key_frame)
{
    jb_t jb;
    uint16_t first = 0;
    ASSERT_EQ(jb_init(&jb, REC_CODEC_VP8, 100), 0);
    vput(&jb, 10, 0, true, vp8_key, sizeof vp8_key, 0);
    ASSERT_EQ(pop(&jb, 0, &first), 1);
    vput(&jb, 11, 3000, false, vp8_delta, sizeof vp8_delta, 0); /* 12 never comes */
    vput(&jb, 13, 3000, true, vp8_cont, sizeof vp8_cont, 0);
    vput(&jb, 14, 6000, true, vp8_delta, sizeof vp8_delta, 0);
    ASSERT_EQ(pop(&jb, 50, &first), 0);
    ASSERT_EQ(pop(&jb, 100, &first), 0); /* given up: no key frame yet */
    ASSERT(jb.need_key);
    ASSERT_EQ(jb.count, 0);
    vput(&jb, 15, 9000, true, vp8_key, sizeof vp8_key, 110);
    ASSERT_EQ(pop(&jb, 110, &first), 1);
    ASSERT_EQ(first, 15);
    jb_frame_t f;
    ASSERT(!jb_next(&jb, 110, &f));
    jb_deinit(&jb);
}

TEST(jb_jump_past_the_ring_starts_over)
{
    jb_t jb;
    uint16_t first = 0;
    ASSERT_EQ(jb_init(&jb, REC_CODEC_VP8, 100), 0);
    vput(&jb, 100, 0, true, vp8_key, sizeof vp8_key, 0);
    vput(&jb, 102, 3000, true, vp8_delta, sizeof vp8_delta, 0); /* 101 missing, held */
    ASSERT_EQ(pop(&jb, 0, &first), 1);
    vput(&jb, 100 + JB_SLOTS + 5, 9000, true, vp8_key, sizeof vp8_key, 1);
    ASSERT(jb.need_key);
    ASSERT_EQ(pop(&jb, 1, &first), 1);
    ASSERT_EQ(first, 100 + JB_SLOTS + 5);
    ASSERT_EQ(jb.count, 0);
    jb_deinit(&jb);
}

TEST(jb_oversized_payload_dropped)
{
    jb_t jb;
    static uint8_t big[JB_PKT_MAX + 1];
    ASSERT_EQ(jb_init(&jb, REC_CODEC_OPUS, 100), 0);
    jb_put(&jb, 1, 0, true, big, sizeof big, 0);
    ASSERT_EQ(jb.dropped, 1);
    ASSERT_EQ(jb.count, 0);
    jb_deinit(&jb);
}

TEST(padding_only_payloads_add_nothing)
{
    depack_t d;
    ASSERT_EQ(depack_init(&d, REC_CODEC_VP8, 64), 0);
    depack_reset(&d);
    ASSERT_EQ(depack_add(&d, NULL, 0), 0);
    ASSERT(!d.bad);
    ASSERT_EQ(d.len, 0);
    depack_deinit(&d);
}
