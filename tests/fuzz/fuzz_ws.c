/* tests/fuzz/fuzz_ws.c: proto/ws. Byte 0 picks the limits and mode; the rest is a stream of
 * frames decoded one after another into the assembler (close payloads parsed and rebuilt),
 * then the same bytes go through an encode -> decode round trip as one frame's payload. */
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/ws.h"

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_close(const ws_msg_t *m)
{
    uint16_t code;
    const uint8_t *reason;
    size_t rlen;
    const char *why = NULL;
    if (ws_close_parse(m->data, m->len, &code, &reason, &rlen, &why) != 0) {
        CHECK(why != NULL);
        return;
    }
    uint8_t out[WS_MAX_CONTROL];
    size_t n =
        ws_close_build(out, code == WS_CLOSE_NO_STATUS ? 0 : code, (const char *)reason, rlen);
    CHECK(n == m->len && (n == 0 || memcmp(out, m->data, n) == 0));
}

static void decode_stream(uint8_t *buf, size_t n, size_t max_len, bool require_mask)
{
    ws_asm_t a;
    ws_asm_init(&a, max_len);
    size_t off = 0;
    for (;;) {
        ws_frame_t f;
        ws_msg_t m;
        const char *why = NULL;
        ssize_t r = ws_frame_decode(&f, buf + off, n - off, max_len, require_mask, &why);
        if (r < 0) {
            CHECK(r == PROTO_EAGAIN || why != NULL);
            break;
        }
        CHECK((size_t)r <= n - off && f.payload + f.len == buf + off + r && f.len <= max_len);
        int k = ws_asm_feed(&a, &f, &m, &why);
        if (k < 0) {
            CHECK(why != NULL && ws_close_code_for(k) >= 1002);
            break;
        }
        if (k == WS_ASM_MESSAGE && m.opcode == WS_OP_TEXT) {
            CHECK(utf8_validate(m.data, m.len, NULL) == 0);
        }
        if (k == WS_ASM_CONTROL && m.opcode == WS_OP_CLOSE) {
            check_close(&m);
        }
        CHECK(k != WS_ASM_MESSAGE || m.len <= max_len);
        off += (size_t)r;
    }
    ws_asm_deinit(&a);
}

static void round_trip(const uint8_t *p, size_t n, uint8_t flags)
{
    static const uint8_t ops[] = { WS_OP_CONT,  WS_OP_TEXT, WS_OP_BINARY,
                                   WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG };
    uint8_t op = ops[(flags >> 2) % sizeof ops];
    bool fin = (op & 0x8) || (flags & 0x40);
    const uint8_t mask[4] = { flags, 0x5a, (uint8_t)n, 0xa5 };
    const uint8_t *mp = (flags & 0x80) ? mask : NULL;
    uint8_t *frame = malloc(WS_MAX_HEADER + n);
    size_t h = ws_frame_header_encode(frame, op, fin, n, mp);
    memcpy(frame + h, p, n);
    if (mp) {
        ws_mask(frame + h, n, mask, 0);
    }
    ws_frame_t f;
    const char *why = NULL;
    ssize_t r = ws_frame_decode(&f, frame, h + n, n, mp != NULL, &why);
    if ((op & 0x8) && n > WS_MAX_CONTROL) {
        CHECK(r == PROTO_EINVAL);
    } else {
        CHECK(r == (ssize_t)(h + n) && f.opcode == op && f.fin == fin && f.len == n);
        CHECK(n == 0 || memcmp(f.payload, p, n) == 0);
        CHECK(ws_frame_decode(&f, frame, h + n - 1, n, mp != NULL, &why) == PROTO_EAGAIN);
    }
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    size_t n = size - 1;
    /* An exact-size copy: ASan catches any read past the input. */
    uint8_t *buf = malloc(n ? n : 1);
    memcpy(buf, data + 1, n);
    decode_stream(buf, n, (flags & 1) ? 64 : 1 << 20, flags & 2);
    free(buf);
    round_trip(data + 1, n, flags);
    char accept[WS_ACCEPT_SIZE];
    if (ws_accept_key((const char *)data + 1, n, accept) == 0) {
        CHECK(strlen(accept) == WS_ACCEPT_LEN);
    }
    return 0;
}
