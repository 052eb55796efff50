/* tests/fuzz/fuzz_eio.c: proto/eio decoders. The first byte picks the mode (v3/v4, text
 * packet, binary packet, text payload, binary payload); each decoded base64 packet is decoded
 * and re-encoded (round trip). */
#include "../../proto/eio.h"
#include "../../proto/utf8.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_b64(const eio_packet_t *p)
{
    if (!p->b64) {
        return;
    }
    uint8_t *out = malloc(EIO_B64_DEC_MAX(p->len) + 1);
    ssize_t n = eio_b64_decode((const char *)p->data, p->len, out);
    if (n >= 0) {
        char *enc = malloc(EIO_B64_ENC_LEN((size_t)n) + 1);
        uint8_t *back = malloc((size_t)n + 3);
        size_t e = eio_b64_encode(out, (size_t)n, enc);
        ssize_t m = eio_b64_decode(enc, e, back);
        if (m != n || memcmp(back, out, (size_t)n) != 0) {
            abort();
        }
        free(enc);
        free(back);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int mode = data[0] % 6, ver = data[0] & 0x80 ? 3 : 4;
    data++;
    size--;
    eio_packet_t p;
    if (mode == 0) {
        if (eio_packet_decode_text(ver, data, size, &p) == 0) {
            check_b64(&p);
        }
    } else if (mode == 1) {
        eio_packet_decode_binary(ver, data, size, &p);
    } else {
        bool bin = mode == 2;
        if (!bin && utf8_validate(data, size, NULL) != 0) {
            return 0; /* the server validates a text body before iterating it */
        }
        eio_payload_iter_t it;
        eio_payload_iter_init(&it, ver, bin, data, size);
        int n = 0;
        while (eio_payload_next(&it, &p) == 1 && n++ < 100000) {
            if (p.data + p.len > data + size || p.data < data) {
                abort();
            }
            check_b64(&p);
            if (!p.binary && utf8_validate(p.data, p.len, NULL) == 0) {
                char pre[24];
                eio_v3_text_prefix(pre, p.data, p.len);
            }
        }
    }
    return 0;
}
