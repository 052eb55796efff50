/* recorder/depack.h: RTP payload formats to media frames. VP8 (RFC 7741): the payload
 * descriptors are stripped and the partitions joined. H.264 (RFC 6184, packetization-mode 1):
 * single NAL units, STAP-A and FU-A become one Annex B access unit (start codes), and the last
 * SPS/PPS are kept for the container's codec private data. Opus (RFC 7587): one packet is one
 * frame. Pure: no I/O, no allocation past depack_init; never reads past a payload. */
#ifndef RECORDER_DEPACK_H
#define RECORDER_DEPACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rec_codec {
    REC_CODEC_NONE = 0,
    REC_CODEC_OPUS,
    REC_CODEC_VP8,
    REC_CODEC_H264,
} rec_codec_t;

/* The codec of an rtpmap encoding name ("opus", "VP8", "H264", any case), or NONE. */
rec_codec_t depack_codec(const char *name);

#define DEPACK_PS_MAX 256 /* an SPS or PPS kept for extradata */

/* One frame being assembled. */
typedef struct depack {
    rec_codec_t codec;
    uint8_t *data; /* owned, cap bytes */
    size_t len, cap;
    bool bad;          /* a payload did not parse or the frame outgrew cap: drop the frame */
    bool key;          /* VP8 key frame / H.264 IDR (or SPS) seen in this frame */
    int width, height; /* VP8 key frame size (0 when unknown) */
    /* H.264: the last parameter sets (NAL units without start code) */
    uint8_t sps[DEPACK_PS_MAX], pps[DEPACK_PS_MAX];
    size_t sps_len, pps_len;
    bool ps_changed; /* a different SPS/PPS arrived with this frame */
} depack_t;

/* Sets up d with a frame buffer of cap bytes. Returns 0 or -1 (allocation). */
int depack_init(depack_t *d, rec_codec_t codec, size_t cap);
void depack_deinit(depack_t *d);
/* Starts a new frame (keeps the parameter sets). */
void depack_reset(depack_t *d);
/* Adds one RTP payload of the current frame, in sequence order (an empty one, a padding-only
 * packet, adds nothing). Returns 0, or -1 when the payload is malformed or unsupported (STAP-B,
 * MTAP, FU-B, an FU-A continuation without its start): d->bad is then set. */
int depack_add(depack_t *d, const uint8_t *payload, size_t len);

/* True when an RTP payload may start a key frame (VP8: S=1, PID=0, P=0; H.264: an SPS or IDR in
 * a single NAL, a STAP-A or the first FU-A fragment): where the recorder resynchronises. */
bool depack_is_key_start(rec_codec_t codec, const uint8_t *payload, size_t len);

/* The samples (at 48 kHz) of one Opus packet from its TOC byte (RFC 6716 3.1), 0 if malformed. */
unsigned depack_opus_samples(const uint8_t *payload, size_t len);

/* The picture size an H.264 SPS (NAL unit without start code, header byte included) describes,
 * cropping applied (ITU-T H.264 7.3.2.1.1). Returns 0, or -1 when it does not parse. */
int depack_h264_size(const uint8_t *sps, size_t len, int *width, int *height);

/* H.264 Annex B extradata (start code + SPS + start code + PPS) into out[0..cap). Returns the
 * length, 0 when either set is missing or cap is too small. */
size_t depack_h264_extradata(const depack_t *d, uint8_t *out, size_t cap);

#endif
