/* tests/fuzz/fuzz_sio.c: proto/sio packet decoder and JSON scanner; a decoded EVENT is split,
 * its name unescaped, and re-encoded, and the re-encoded packet must decode to the same
 * arguments byte for byte (round trip). */
#include "../../proto/sio.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    sio_packet_t p;
    if (sio_packet_decode(s, size, NULL, &p, NULL) != 0) {
        sio_json_validate(s, size, 0);
        return 0;
    }
    if (p.data && (p.data < s || p.data + p.data_len > s + size)) {
        abort();
    }
    if (p.type != SIO_EVENT && p.type != SIO_BINARY_EVENT) {
        return 0;
    }
    const char *name, *args;
    size_t nl, al;
    if (sio_event_split(p.data, p.data_len, &name, &nl, &args, &al) != 0) {
        abort(); /* decode accepted it, so it must split */
    }
    if (name[0] != '"') {
        return 0;
    }
    buf_t n, enc;
    buf_init(&n, 0);
    buf_init(&enc, 0);
    if (sio_json_unescape(name, nl, &n) != 0) {
        abort();
    }
    buf_append_byte(&n, 0);
    if (memchr(n.data, 0, n.len - 1) == NULL) {
        sio_encode_event(&enc, "/", 1, (const char *)n.data, args, al, p.nattach);
        sio_packet_t q;
        const char *a2, *n2;
        size_t al2, nl2;
        if (sio_packet_decode((const char *)enc.data, enc.len, NULL, &q, NULL) != 0 ||
            sio_event_split(q.data, q.data_len, &n2, &nl2, &a2, &al2) != 0 || al2 != al ||
            memcmp(a2, args, al) != 0) {
            abort();
        }
    }
    buf_deinit(&n);
    buf_deinit(&enc);
    return 0;
}
