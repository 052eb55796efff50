/* tests/fuzz/fuzz_rpc.c: proto/rpc framing + message decode on arbitrary bytes; every decoded
 * frame is re-encoded (responses and events as the SFU would build them) and decoded again. */
#include "../../common/buf.h"
#include "../../proto/rpc.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        const uint8_t *p;
        size_t plen;
        const char *why = NULL;
        ssize_t n = rpc_frame_decode(data + off, size - off, RPC_MAX_FRAME, &p, &plen, &why);
        if (n < 0) {
            /* not framed: treat the rest as one payload */
            p = data + off;
            plen = size - off;
            n = (ssize_t)plen;
        }
        off += (size_t)n;
        rpc_msg_t m;
        int rc = rpc_msg_decode(&m, p, plen, &why);
        json_t *out = rc == 0 && m.kind == RPC_KIND_REQUEST
                          ? rpc_request_new(m.id, m.method, json_incref(m.body))
                          : rpc_error_new(m.id, m.err, why);
        buf_t b;
        buf_init(&b, RPC_MAX_FRAME + 4);
        if (rpc_encode(&b, out) == 0) {
            rpc_msg_t m2;
            const uint8_t *p2;
            size_t l2;
            if (rpc_frame_decode(b.data, b.len, RPC_MAX_FRAME, &p2, &l2, &why) != (ssize_t)b.len ||
                rpc_msg_decode(&m2, p2, l2, &why) != 0) {
                abort(); /* our own output must decode */
            }
            rpc_msg_deinit(&m2);
        }
        buf_deinit(&b);
        json_decref(out);
        rpc_msg_deinit(&m);
    }
    return 0;
}
