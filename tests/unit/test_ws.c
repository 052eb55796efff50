/* tests/unit/test_ws.c: proto/ws: the RFC 6455 5.7 examples, every malformed header, byte-by-
 * byte arrival, encode/decode round trips, the assembler (fragments, interleaved control
 * frames, caps, UTF-8), close payloads and the handshake (4.2.2 example). */
#include "../../proto/err.h"
#include "../../proto/ws.h"
#include "t.h"

#define NOCAP ((size_t)1 << 40)

/* Decodes a byte string literal copy; returns the decode result. */
static ssize_t dec(const char *lit, size_t n, bool require_mask, ws_frame_t *f, uint8_t *scratch,
                   const char **why)
{
    memcpy(scratch, lit, n);
    return ws_frame_decode(f, scratch, n, NOCAP, require_mask, why);
}
#define DEC(lit, req, f, why) dec(lit, sizeof(lit) - 1, req, f, scratch, why)

TEST(ws_rfc_5_7_examples)
{
    uint8_t scratch[64];
    ws_frame_t f;
    const char *why = NULL;

    /* A single-frame unmasked text message */
    ASSERT_EQ(DEC("\x81\x05\x48\x65\x6c\x6c\x6f", false, &f, &why), 7);
    ASSERT_EQ(f.opcode, WS_OP_TEXT);
    ASSERT(f.fin && !f.masked);
    ASSERT_MEM_EQ(f.payload, f.len, "Hello", 5);

    /* A single-frame masked text message */
    ASSERT_EQ(DEC("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", true, &f, &why), 11);
    ASSERT(f.fin && f.masked);
    ASSERT_MEM_EQ(f.payload, f.len, "Hello", 5);

    /* A fragmented unmasked text message */
    ASSERT_EQ(DEC("\x01\x03\x48\x65\x6c", false, &f, &why), 5);
    ASSERT(!f.fin);
    ASSERT_EQ(f.opcode, WS_OP_TEXT);
    ASSERT_MEM_EQ(f.payload, f.len, "Hel", 3);
    ASSERT_EQ(DEC("\x80\x02\x6c\x6f", false, &f, &why), 4);
    ASSERT(f.fin);
    ASSERT_EQ(f.opcode, WS_OP_CONT);
    ASSERT_MEM_EQ(f.payload, f.len, "lo", 2);

    /* Unmasked Ping, masked Pong */
    ASSERT_EQ(DEC("\x89\x05\x48\x65\x6c\x6c\x6f", false, &f, &why), 7);
    ASSERT_EQ(f.opcode, WS_OP_PING);
    ASSERT_MEM_EQ(f.payload, f.len, "Hello", 5);
    ASSERT_EQ(DEC("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", true, &f, &why), 11);
    ASSERT_EQ(f.opcode, WS_OP_PONG);
    ASSERT_MEM_EQ(f.payload, f.len, "Hello", 5);
}

TEST(ws_rfc_5_7_lengths)
{
    /* 256 bytes binary in a single unmasked frame: 0x82 0x7E 0x0100 */
    static uint8_t b[10 + 65536];
    memset(b, 'x', sizeof b);
    memcpy(b, "\x82\x7e\x01\x00", 4);
    ws_frame_t f;
    const char *why = NULL;
    ASSERT_EQ(ws_frame_decode(&f, b, 4 + 256, NOCAP, false, &why), 4 + 256);
    ASSERT_EQ(f.opcode, WS_OP_BINARY);
    ASSERT_UEQ(f.len, 256);
    ASSERT_EQ(ws_frame_decode(&f, b, 4 + 255, NOCAP, false, &why), PROTO_EAGAIN);
    /* 64 KiB binary: 0x82 0x7F 0x0000000000010000 */
    memcpy(b, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    ASSERT_EQ(ws_frame_decode(&f, b, sizeof b, NOCAP, false, &why), 10 + 65536);
    ASSERT_UEQ(f.len, 65536);
    ASSERT_EQ(ws_frame_decode(&f, b, sizeof b - 1, NOCAP, false, &why), PROTO_EAGAIN);
    /* The size limit is reported from the header alone, before the payload arrives. */
    ASSERT_EQ(ws_frame_decode(&f, b, 10, 65535, false, &why), PROTO_ETOOBIG);
    ASSERT(why != NULL);
    ASSERT_EQ(ws_frame_decode(&f, b, 10, 65536, false, &why), PROTO_EAGAIN);
}

struct bad {
    const char *name;
    const char *bytes;
    size_t len;
    bool require_mask;
    int rc;
    const char *why_has; /* substring of *why */
};
#define BADF(name, lit, req, rc, w)            \
    {                                          \
        name, lit, sizeof(lit) - 1, req, rc, w \
    }

TEST(ws_decode_malformed)
{
    static const struct bad cases[] = {
        BADF("RSV1", "\xC1\x80\0\0\0\0", true, PROTO_EINVAL, "RSV"),
        BADF("RSV2", "\xA1\x80\0\0\0\0", true, PROTO_EINVAL, "RSV"),
        BADF("RSV3", "\x91\x80\0\0\0\0", true, PROTO_EINVAL, "RSV"),
        BADF("opcode 3", "\x83\x80\0\0\0\0", true, PROTO_EINVAL, "opcode"),
        BADF("opcode 7", "\x87\x80\0\0\0\0", true, PROTO_EINVAL, "opcode"),
        BADF("opcode B", "\x8B\x80\0\0\0\0", true, PROTO_EINVAL, "opcode"),
        BADF("opcode F", "\x8F\x80\0\0\0\0", true, PROTO_EINVAL, "opcode"),
        BADF("fragmented ping", "\x09\x80\0\0\0\0", true, PROTO_EINVAL, "fragmented control"),
        BADF("fragmented close", "\x08\x80\0\0\0\0", true, PROTO_EINVAL, "fragmented control"),
        BADF("ping of 126", "\x89\xFE\x00\x7E", true, PROTO_EINVAL, "125"),
        BADF("close of 127-form", "\x88\xFF", true, PROTO_EINVAL, "125"),
        BADF("unmasked client text", "\x81\x00", true, PROTO_EINVAL, "unmasked"),
        BADF("unmasked client ping", "\x89\x00", true, PROTO_EINVAL, "unmasked"),
        BADF("64-bit MSB", "\x82\xFF\x80\0\0\0\0\0\0\0", true, PROTO_EINVAL, "most significant"),
        BADF("64-bit huge", "\x82\xFF\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF", true, PROTO_ETOOBIG,
             "limit"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad *c = &cases[i];
        uint8_t scratch[32];
        memcpy(scratch, c->bytes, c->len);
        ws_frame_t f;
        const char *why = NULL;
        ssize_t rc = ws_frame_decode(&f, scratch, c->len, NOCAP, c->require_mask, &why);
        if (rc != c->rc || !why || !strstr(why, c->why_has)) {
            T_FAIL_("case \"%s\": rc %zd want %d, why \"%s\"", c->name, rc, c->rc,
                    why ? why : "(null)");
        }
    }
}

/* Rules decided by the first two bytes are reported even when nothing else has arrived. */
TEST(ws_decode_early_errors_and_eagain)
{
    uint8_t b[16];
    ws_frame_t f;
    const char *why = NULL;
    ASSERT_EQ(ws_frame_decode(&f, b, 0, NOCAP, true, &why), PROTO_EAGAIN);
    b[0] = 0xC1;
    ASSERT_EQ(ws_frame_decode(&f, b, 1, NOCAP, true, &why), PROTO_EAGAIN);
    b[1] = 0xFE; /* masked, 16-bit length, but RSV1: error before the length bytes */
    ASSERT_EQ(ws_frame_decode(&f, b, 2, NOCAP, true, &why), PROTO_EINVAL);
    /* A well-formed masked 16-bit frame is EAGAIN at every prefix. */
    static uint8_t full[4 + 4 + 300];
    uint8_t mask[4] = { 1, 2, 3, 4 };
    size_t h = ws_frame_header_encode(full, WS_OP_BINARY, true, 300, mask);
    ASSERT_UEQ(h, 8);
    for (size_t i = 0; i < 300; i++) {
        full[h + i] = (uint8_t)i;
    }
    ws_mask(full + h, 300, mask, 0);
    static uint8_t copy[sizeof full];
    for (size_t n = 0; n < sizeof full; n++) {
        memcpy(copy, full, sizeof full);
        ASSERT_EQ(ws_frame_decode(&f, copy, n, NOCAP, true, &why), PROTO_EAGAIN);
    }
    memcpy(copy, full, sizeof full);
    ASSERT_EQ(ws_frame_decode(&f, copy, sizeof full, NOCAP, true, &why), (ssize_t)sizeof full);
    for (size_t i = 0; i < 300; i++) {
        ASSERT_EQ(f.payload[i], (uint8_t)i);
    }
}

/* Non-minimal length forms are accepted (5.2 binds the sender only; Node's ws accepts). */
TEST(ws_decode_non_minimal_lengths)
{
    uint8_t scratch[32];
    ws_frame_t f;
    const char *why = NULL;
    ASSERT_EQ(DEC("\x81\x7e\x00\x02hi", false, &f, &why), 6);
    ASSERT_MEM_EQ(f.payload, f.len, "hi", 2);
    ASSERT_EQ(DEC("\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x02hi", false, &f, &why), 12);
    ASSERT_MEM_EQ(f.payload, f.len, "hi", 2);
    /* Two frames back to back: only the first is consumed. */
    ASSERT_EQ(DEC("\x81\x02hi\x82\x01x", false, &f, &why), 4);
    /* Empty frames, and control frames of exactly 125. */
    ASSERT_EQ(DEC("\x81\x00", false, &f, &why), 2);
    ASSERT_UEQ(f.len, 0);
    static uint8_t ping[2 + 125];
    memset(ping, 'p', sizeof ping);
    ping[0] = 0x89, ping[1] = 125;
    ASSERT_EQ(ws_frame_decode(&f, ping, sizeof ping, NOCAP, false, &why), (ssize_t)sizeof ping);
}

TEST(ws_encode_header_forms)
{
    uint8_t h[WS_MAX_HEADER];
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_TEXT, true, 5, NULL), 2);
    ASSERT_MEM_EQ(h, 2, "\x81\x05", 2);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_TEXT, true, 125, NULL), 2);
    ASSERT_MEM_EQ(h, 2, "\x81\x7d", 2);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_BINARY, true, 126, NULL), 4);
    ASSERT_MEM_EQ(h, 4, "\x82\x7e\x00\x7e", 4);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_BINARY, true, 65535, NULL), 4);
    ASSERT_MEM_EQ(h, 4, "\x82\x7e\xff\xff", 4);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_BINARY, true, 65536, NULL), 10);
    ASSERT_MEM_EQ(h, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_TEXT, false, 3, NULL), 2);
    ASSERT_MEM_EQ(h, 2, "\x01\x03", 2);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_CONT, true, 2, NULL), 2);
    ASSERT_MEM_EQ(h, 2, "\x80\x02", 2);
    const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_TEXT, true, 5, mask), 6);
    ASSERT_MEM_EQ(h, 6, "\x81\x85\x37\xfa\x21\x3d", 6);
    ASSERT_UEQ(ws_frame_header_encode(h, WS_OP_BINARY, true, 70000, mask), 14);
}

TEST(ws_mask_in_pieces)
{
    const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    uint8_t p[5];
    memcpy(p, "Hello", 5);
    ws_mask(p, 5, mask, 0);
    ASSERT_MEM_EQ(p, 5, "\x7f\x9f\x4d\x51\x58", 5);
    /* Masking in pieces at any offset equals masking at once; masking twice restores. */
    uint8_t a[67], b[67];
    for (size_t i = 0; i < sizeof a; i++) {
        a[i] = b[i] = (uint8_t)(i * 7);
    }
    ws_mask(a, sizeof a, mask, 0);
    for (size_t cut = 0; cut <= sizeof b; cut++) {
        uint8_t c[67];
        memcpy(c, b, sizeof c);
        ws_mask(c, cut, mask, 0);
        ws_mask(c + cut, sizeof c - cut, mask, cut);
        ASSERT_MEM_EQ(c, sizeof c, a, sizeof a);
    }
    ws_mask(a, sizeof a, mask, 0);
    ASSERT_MEM_EQ(a, sizeof a, b, sizeof b);
}

TEST(ws_round_trip_sizes)
{
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 100000 };
    static uint8_t frame[WS_MAX_HEADER + 100000];
    const uint8_t mask[4] = { 0xde, 0xad, 0xbe, 0xef };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int m = 0; m < 2; m++) {
            size_t n = sizes[i];
            size_t h = ws_frame_header_encode(frame, WS_OP_BINARY, true, n, m ? mask : NULL);
            for (size_t k = 0; k < n; k++) {
                frame[h + k] = (uint8_t)(k ^ n);
            }
            if (m) {
                ws_mask(frame + h, n, mask, 0);
            }
            ws_frame_t f;
            const char *why = NULL;
            ASSERT_EQ(ws_frame_decode(&f, frame, h + n, NOCAP, m, &why), (ssize_t)(h + n));
            ASSERT_UEQ(f.len, n);
            ASSERT_EQ(f.masked, m);
            for (size_t k = 0; k < n; k++) {
                if (f.payload[k] != (uint8_t)(k ^ n)) {
                    T_FAIL_("size %zu mask %d: byte %zu differs", n, m, k);
                }
            }
        }
    }
}

/* ---- assembler ---- */

/* Builds an unmasked frame in b (as ws_frame_decode would hand it over). */
static ws_frame_t mk(uint8_t op, bool fin, const char *s, size_t n)
{
    ws_frame_t f = { .opcode = op, .fin = fin, .payload = (uint8_t *)s, .len = n };
    return f;
}
#define MK(op, fin, lit) mk(op, fin, lit, sizeof(lit) - 1)

TEST(ws_asm_unfragmented_is_zero_copy)
{
    ws_asm_t a;
    ws_asm_init(&a, 100);
    ws_msg_t m;
    const char *why = NULL;
    char text[] = "hello";
    ws_frame_t f = mk(WS_OP_TEXT, true, text, 5);
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_EQ(m.opcode, WS_OP_TEXT);
    ASSERT(m.data == (const uint8_t *)text);
    ASSERT_MEM_EQ(m.data, m.len, "hello", 5);
    f = MK(WS_OP_BINARY, true, "\xff\x00");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_EQ(m.opcode, WS_OP_BINARY);
    ASSERT_UEQ(m.len, 2);
    f = MK(WS_OP_TEXT, true, "");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_UEQ(m.len, 0);
    ASSERT(m.data != NULL);
    ws_asm_deinit(&a);
}

TEST(ws_asm_fragments_with_interleaved_control)
{
    ws_asm_t a;
    ws_asm_init(&a, 100);
    ws_msg_t m;
    const char *why = NULL;
    ws_frame_t f = MK(WS_OP_TEXT, false, "Hel");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_PING, true, "p1");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_CONTROL);
    ASSERT_EQ(m.opcode, WS_OP_PING);
    ASSERT_MEM_EQ(m.data, m.len, "p1", 2);
    f = MK(WS_OP_CONT, false, "");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_PONG, true, "");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_CONTROL);
    f = MK(WS_OP_CONT, true, "lo");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_EQ(m.opcode, WS_OP_TEXT);
    ASSERT_MEM_EQ(m.data, m.len, "Hello", 5);
    /* The next message starts cleanly. */
    f = MK(WS_OP_BINARY, false, "\x01");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, true, "\x02");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_EQ(m.opcode, WS_OP_BINARY);
    ASSERT_MEM_EQ(m.data, m.len, "\x01\x02", 2);
    /* Empty fragments only: an empty message. */
    f = MK(WS_OP_TEXT, false, "");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, true, "");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_UEQ(m.len, 0);
    ASSERT(m.data != NULL);
    ws_asm_deinit(&a);
}

TEST(ws_asm_sequence_errors)
{
    ws_asm_t a;
    ws_msg_t m;
    const char *why = NULL;
    ws_asm_init(&a, 100);
    ws_frame_t f = MK(WS_OP_CONT, true, "x");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "continuation"));
    ws_asm_deinit(&a);

    ws_asm_init(&a, 100);
    f = MK(WS_OP_TEXT, false, "a");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_TEXT, true, "b");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "fragmented"));
    ws_asm_deinit(&a);

    ws_asm_init(&a, 100);
    f = MK(WS_OP_BINARY, false, "a");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_BINARY, false, "b");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_EINVAL);
    ws_asm_deinit(&a);
}

TEST(ws_asm_size_cap)
{
    ws_asm_t a;
    ws_msg_t m;
    const char *why = NULL;
    ws_asm_init(&a, 5);
    ws_frame_t f = MK(WS_OP_TEXT, true, "12345");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    f = MK(WS_OP_TEXT, true, "123456");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_ETOOBIG);
    ASSERT_EQ(ws_close_code_for(PROTO_ETOOBIG), 1009);
    ws_asm_deinit(&a);

    ws_asm_init(&a, 5);
    f = MK(WS_OP_BINARY, false, "123");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, false, "45");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, true, "6");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_ETOOBIG);
    ws_asm_deinit(&a);

    /* A big reassembled message does not pin its buffer after delivery. */
    static char big[40000];
    memset(big, 'b', sizeof big);
    ws_asm_init(&a, sizeof big);
    f = mk(WS_OP_BINARY, false, big, 20000);
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = mk(WS_OP_CONT, true, big, 20000);
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_UEQ(m.len, 40000);
    f = MK(WS_OP_TEXT, true, "x");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT(a.frag.data == NULL);
    ws_asm_deinit(&a);
}

TEST(ws_asm_utf8)
{
    ws_asm_t a;
    ws_msg_t m;
    const char *why = NULL;
    /* Invalid UTF-8 in a single frame: 1007. */
    ws_asm_init(&a, 100);
    ws_frame_t f = MK(WS_OP_TEXT, true, "\xCE\xBA\xED\xA0\x80");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_EUTF8);
    ASSERT_EQ(ws_close_code_for(PROTO_EUTF8), 1007);
    ws_asm_deinit(&a);
    /* Binary is never checked. */
    ws_asm_init(&a, 100);
    f = MK(WS_OP_BINARY, true, "\xff\xfe");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ws_asm_deinit(&a);
    /* A code point split across fragments is fine. */
    ws_asm_init(&a, 100);
    f = MK(WS_OP_TEXT, false, "\xF0\x9F");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, true, "\x98\x80");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MESSAGE);
    ASSERT_MEM_EQ(m.data, m.len, "\xF0\x9F\x98\x80", 4);
    /* Fail fast: the first fragment with an impossible byte fails, before FIN. */
    f = MK(WS_OP_TEXT, false, "\xCE\xBA\xF4");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, false, "\x90");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_EUTF8);
    ws_asm_deinit(&a);
    /* A message that ends inside a sequence fails at FIN. */
    ws_asm_init(&a, 100);
    f = MK(WS_OP_TEXT, false, "ab");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), WS_ASM_MORE);
    f = MK(WS_OP_CONT, true, "\xE2\x82");
    ASSERT_EQ(ws_asm_feed(&a, &f, &m, &why), PROTO_EUTF8);
    ASSERT_EQ(ws_close_code_for(PROTO_EINVAL), 1002);
    ws_asm_deinit(&a);
}

/* ---- close ---- */

TEST(ws_close_codes)
{
    static const unsigned valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                      1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
    static const unsigned invalid[] = { 0,    1,    999,  1004, 1005, 1006, 1015,
                                        1016, 1100, 2000, 2999, 5000, 65535 };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        if (!ws_close_code_valid(valid[i])) {
            T_FAIL_("%u should be valid", valid[i]);
        }
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (ws_close_code_valid(invalid[i])) {
            T_FAIL_("%u should be invalid", invalid[i]);
        }
    }
}

TEST(ws_close_parse)
{
    uint16_t code = 0;
    const uint8_t *r = NULL;
    size_t rl = 99;
    const char *why = NULL;
    ASSERT_EQ(ws_close_parse((const uint8_t *)"", 0, &code, &r, &rl, &why), 0);
    ASSERT_EQ(code, WS_CLOSE_NO_STATUS);
    ASSERT_UEQ(rl, 0);
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x03", 1, &code, &r, &rl, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "1 byte"));
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x03\xe8", 2, &code, &r, &rl, &why), 0);
    ASSERT_EQ(code, 1000);
    ASSERT_UEQ(rl, 0);
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x0f\xa0"
                                              "bye \xCE\xBA",
                             8, &code, &r, &rl, &why),
              0);
    ASSERT_EQ(code, 4000);
    ASSERT_MEM_EQ(r, rl, "bye \xCE\xBA", 6);
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x03\xed", 2, &code, &r, &rl, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "status code"));
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x03\xee", 2, &code, &r, &rl, &why), PROTO_EINVAL);
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x00\x00", 2, &code, &r, &rl, &why), PROTO_EINVAL);
    ASSERT_EQ(ws_close_parse((const uint8_t *)"\x03\xe8\xED\xA0\x80", 5, &code, &r, &rl, &why),
              PROTO_EUTF8);
    static uint8_t big[126] = { 0x03, 0xe8 };
    memset(big + 2, 'a', sizeof big - 2);
    ASSERT_EQ(ws_close_parse(big, 126, &code, &r, &rl, &why), PROTO_EINVAL);
    ASSERT_EQ(ws_close_parse(big, 125, &code, &r, &rl, &why), 0);
    ASSERT_UEQ(rl, 123);
}

TEST(ws_close_build)
{
    uint8_t out[WS_MAX_CONTROL];
    ASSERT_UEQ(ws_close_build(out, 0, "x", 1), 0);
    ASSERT_UEQ(ws_close_build(out, 1000, NULL, 0), 2);
    ASSERT_MEM_EQ(out, 2, "\x03\xe8", 2);
    ASSERT_UEQ(ws_close_build(out, 1009, "too big", 7), 9);
    ASSERT_MEM_EQ(out, 9, "\x03\xf1too big", 9);
    /* 61 two-byte characters = 122 bytes, then a 3-byte one: cut before it, not inside. */
    char r[200];
    size_t n = 0;
    for (int i = 0; i < 61; i++) {
        r[n++] = (char)0xCE, r[n++] = (char)0xBA;
    }
    memcpy(r + n, "\xE2\x82\xAC", 3);
    n += 3;
    size_t len = ws_close_build(out, 1000, r, n);
    ASSERT_UEQ(len, 2 + 122);
    uint16_t code;
    const uint8_t *rr;
    size_t rl;
    const char *why = NULL;
    ASSERT_EQ(ws_close_parse(out, len, &code, &rr, &rl, &why), 0);
    /* Plain ASCII is cut at exactly 123 bytes. */
    memset(r, 'a', sizeof r);
    ASSERT_UEQ(ws_close_build(out, 1000, r, sizeof r), 125);
}

/* ---- handshake ---- */

TEST(ws_accept_key_rfc_example)
{
    char out[WS_ACCEPT_SIZE];
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    ASSERT_EQ(ws_accept_key(key, sizeof key - 1, out), 0);
    ASSERT_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ASSERT_EQ(ws_accept_key(" dGhlIHNhbXBsZSBub25jZQ==\t", 26, out), 0);
    ASSERT_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    static const char *const bad[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 */
        "dGhlIHNhbXBsZSBub25jZQ===", /* 25 */
        "dGhlIHNhbXBsZSBub25jZQAA",  /* no padding: 18 bytes */
        "dGhlIHNhbXBsZSBub25j*Q==",  /* not base64 */
        "dGhlIHNhbXBsZSBub25jZ===",  /* '=' too early */
        "dGhlIHNhbX BsZSBub25jZQ==", /* inner space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ws_accept_key(bad[i], strlen(bad[i]), out) != PROTO_EINVAL) {
            T_FAIL_("key \"%s\" accepted", bad[i]);
        }
    }
}

TEST(ws_header_tokens)
{
    ASSERT(ws_header_has_token("Upgrade", 7, "upgrade"));
    ASSERT(ws_header_has_token("keep-alive, Upgrade", 19, "upgrade"));
    ASSERT(ws_header_has_token(" keep-alive ,\tUPGRADE\t", 22, "upgrade"));
    ASSERT(!ws_header_has_token("keep-alive", 10, "upgrade"));
    ASSERT(!ws_header_has_token("upgrades", 8, "upgrade"));
    ASSERT(!ws_header_has_token("xupgrade", 8, "upgrade"));
    ASSERT(!ws_header_has_token("", 0, "upgrade"));
    ASSERT(!ws_header_has_token(NULL, 0, "upgrade"));
    ASSERT(ws_header_has_token("WebSocket", 9, "websocket"));
    /* Only the first len bytes count. */
    ASSERT(!ws_header_has_token("keep-alive, Upgrade", 11, "upgrade"));
}

#define H(s) s, sizeof(s) - 1

TEST(ws_handshake_check)
{
    char accept[WS_ACCEPT_SIZE];
    const char *why = NULL;
    ws_handshake_t h = { H("websocket"), H("Upgrade"), H("13"), H("dGhlIHNhbXBsZSBub25jZQ==") };
    ASSERT_EQ(ws_handshake_check(&h, accept, &why), 0);
    ASSERT_STR_EQ(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char resp[160];
    ssize_t n = ws_handshake_response(resp, sizeof resp, accept);
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                               "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    ASSERT_MEM_EQ(resp, n, want, sizeof want - 1);
    ASSERT_EQ(ws_handshake_response(resp, 20, accept), PROTO_ETOOBIG);

    ws_handshake_t b = h;
    b.upgrade = NULL, b.upgrade_len = 0;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "Upgrade"));
    b = h;
    b.upgrade = "h2c", b.upgrade_len = 3;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EINVAL);
    b = h;
    b.connection = "keep-alive", b.connection_len = 10;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "Connection"));
    b = h;
    b.version = "8", b.version_len = 1;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EUNSUPP);
    b.version = NULL, b.version_len = 0;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EUNSUPP);
    b = h;
    b.key = NULL, b.key_len = 0;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EINVAL);
    ASSERT(strstr(why, "Key"));
    b.key = "short==", b.key_len = 7;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), PROTO_EINVAL);
    /* Case and list forms clients send. */
    b = h;
    b.upgrade = "WebSocket", b.connection = "keep-alive, upgrade", b.connection_len = 19;
    b.version = " 13 ", b.version_len = 4;
    ASSERT_EQ(ws_handshake_check(&b, accept, &why), 0);
}
