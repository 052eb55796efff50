/* tests/fuzz/fuzz_rtp.c: proto/rtp on arbitrary datagrams: header parse, every extension id,
 * in-place rewrite -> reparse round trip, VP8/H.264 keyframe detection, demux. */
#include "../../proto/rtp.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtp_classify(data, size);
    rtp_is_rtcp(data, size);
    rtp_vp8_t d;
    rtp_vp8_parse(&d, data, size);
    rtp_vp8_is_keyframe(data, size);
    rtp_h264_is_keyframe(data, size);
    rtp_hdr_t h;
    if (rtp_hdr_parse(&h, data, size, NULL) != 0) {
        return 0;
    }
    if (h.payload_off + h.payload_len + h.pad_len != size) {
        abort();
    }
    for (int id = 0; id < 256; id++) {
        size_t off, len;
        if (rtp_ext_find(data, &h, (uint8_t)id, &off, &len) == 1 &&
            (off < h.ext_off || off + len > h.ext_off + h.ext_len)) {
            abort();
        }
    }
    rtp_vp8_is_keyframe(data + h.payload_off, h.payload_len);
    rtp_h264_is_keyframe(data + h.payload_off, h.payload_len);
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    rtp_set_ssrc(copy, ~h.ssrc);
    rtp_set_pt(copy, (uint8_t)(h.pt ^ 0x55));
    rtp_set_seq(copy, (uint16_t)(h.seq + 1));
    rtp_set_ts(copy, h.ts + 90000);
    rtp_hdr_t h2;
    if (rtp_hdr_parse(&h2, copy, size, NULL) != 0 || h2.ssrc != ~h.ssrc ||
        h2.pt != ((h.pt ^ 0x55) & 0x7f) || h2.seq != (uint16_t)(h.seq + 1) ||
        h2.ts != h.ts + 90000 || h2.marker != h.marker || h2.payload_len != h.payload_len ||
        rtp_seq_diff(h.seq, h2.seq) != 1 || !rtp_seq_lt(h.seq, h2.seq)) {
        abort();
    }
    free(copy);
    return 0;
}
