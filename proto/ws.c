/* proto/ws.c: RFC 6455 frame codec, message assembler, close payloads and handshake checks.
 * Section numbers in comments refer to RFC 6455. Only the assembler allocates, through a
 * buf_t capped at the configured message size. */
#include "ws.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static bool opcode_known(uint8_t op)
{
    return op == WS_OP_CONT || op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CLOSE ||
           op == WS_OP_PING || op == WS_OP_PONG;
}

ssize_t ws_frame_decode(ws_frame_t *f, uint8_t *buf, size_t len, size_t max_len, bool require_mask,
                        const char **why)
{
    if (len < 2) {
        return PROTO_EAGAIN;
    }
    bool fin = buf[0] & 0x80;
    uint8_t rsv = (buf[0] >> 4) & 0x7;
    uint8_t op = buf[0] & 0x0F;
    bool masked = buf[1] & 0x80;
    uint64_t plen = buf[1] & 0x7F;

    /* Every rule that the first two bytes decide is checked before waiting for more input. */
    if (rsv) {
        *why = "RSV bits set without a negotiated extension (RFC 6455 5.2)";
        return PROTO_EINVAL;
    }
    if (!opcode_known(op)) {
        *why = "reserved opcode (RFC 6455 5.2)";
        return PROTO_EINVAL;
    }
    if (op & 0x8) {
        if (!fin) {
            *why = "fragmented control frame (RFC 6455 5.5)";
            return PROTO_EINVAL;
        }
        if (plen > WS_MAX_CONTROL) {
            *why = "control frame payload over 125 bytes (RFC 6455 5.5)";
            return PROTO_EINVAL;
        }
    }
    if (require_mask && !masked) {
        *why = "unmasked client frame (RFC 6455 5.1)";
        return PROTO_EINVAL;
    }

    size_t hdr = 2;
    if (plen == 126) {
        if (len < 4) {
            return PROTO_EAGAIN;
        }
        plen = rd16(buf + 2);
        hdr = 4;
    } else if (plen == 127) {
        if (len < 10) {
            return PROTO_EAGAIN;
        }
        plen = rd64(buf + 2);
        hdr = 10;
        if (plen >> 63) {
            *why = "64-bit payload length with the most significant bit set (RFC 6455 5.2)";
            return PROTO_EINVAL;
        }
    }
    /* The second bound keeps header + payload representable as ssize_t. */
    if (plen > max_len || plen > (uint64_t)(SSIZE_MAX - WS_MAX_HEADER)) {
        *why = "frame payload over the size limit";
        return PROTO_ETOOBIG;
    }
    const uint8_t *mask = NULL;
    if (masked) {
        if (len < hdr + 4) {
            return PROTO_EAGAIN;
        }
        mask = buf + hdr;
        hdr += 4;
    }
    if (len - hdr < plen) {
        return PROTO_EAGAIN;
    }
    f->opcode = op;
    f->fin = fin;
    f->rsv = rsv;
    f->masked = masked;
    f->payload = buf + hdr;
    f->len = (size_t)plen;
    if (mask) {
        ws_mask(f->payload, f->len, mask, 0);
    }
    return (ssize_t)(hdr + f->len);
}

size_t ws_frame_header_encode(uint8_t out[WS_MAX_HEADER], uint8_t opcode, bool fin, size_t len,
                              const uint8_t *mask)
{
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t mbit = mask ? 0x80 : 0;
    /* 5.2: the minimal number of bytes MUST be used to encode the length. */
    if (len < 126) {
        out[1] = (uint8_t)(mbit | len);
    } else if (len <= 0xFFFF) {
        out[1] = mbit | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        uint64_t v = len;
        out[1] = mbit | 127;
        for (int i = 0; i < 8; i++) {
            out[2 + i] = (uint8_t)(v >> (56 - 8 * i));
        }
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ws_mask(uint8_t *p, size_t len, const uint8_t mask[4], size_t offset)
{
    size_t i = 0;
    /* Byte-wise until the mask phase is 0, then 8 bytes at a time with a doubled mask. */
    for (; i < len && ((offset + i) & 3); i++) {
        p[i] ^= mask[(offset + i) & 3];
    }
    uint8_t m8[8] = { mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3] };
    uint64_t mw;
    memcpy(&mw, m8, 8);
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= mw;
        memcpy(p + i, &w, 8);
    }
    for (; i < len; i++) {
        p[i] ^= mask[(offset + i) & 3];
    }
}

/* ---- message assembler ---- */

/* A fragment buffer that grew past this is freed once its message is delivered, so an idle
 * connection does not keep a maxPayload-sized allocation. */
#define ASM_KEEP_CAP 16384

void ws_asm_init(ws_asm_t *a, size_t max_len)
{
    buf_init(&a->frag, max_len ? max_len : 1);
    a->max_len = max_len;
    a->opcode = 0;
    utf8_state_init(&a->utf8);
}

void ws_asm_deinit(ws_asm_t *a)
{
    buf_deinit(&a->frag);
    a->opcode = 0;
}

static int fail(const char **why, const char *msg, int err)
{
    *why = msg;
    return err;
}

/* Appends a data fragment of the message in progress, checking size and UTF-8. */
static int absorb(ws_asm_t *a, const ws_frame_t *f, const char **why)
{
    if (f->len > a->max_len - a->frag.len) {
        return fail(why, "message over the size limit", PROTO_ETOOBIG);
    }
    if (a->opcode == WS_OP_TEXT && utf8_feed(&a->utf8, f->payload, f->len) != 0) {
        return fail(why, "text message is not valid UTF-8 (RFC 6455 8.1)", PROTO_EUTF8);
    }
    if (f->len && buf_append(&a->frag, f->payload, f->len) != 0) {
        return fail(why, "message over the size limit", PROTO_ETOOBIG);
    }
    return 0;
}

int ws_asm_feed(ws_asm_t *a, const ws_frame_t *f, ws_msg_t *out, const char **why)
{
    static const uint8_t empty[1];
    if (f->opcode & 0x8) {
        out->opcode = f->opcode;
        out->data = f->len ? f->payload : empty;
        out->len = f->len;
        return WS_ASM_CONTROL;
    }
    if (a->opcode == 0 && a->frag.len) {
        /* The previous reassembled message has been consumed by now. */
        if (a->frag.cap > ASM_KEEP_CAP) {
            buf_deinit(&a->frag);
        } else {
            buf_reset(&a->frag);
        }
    }
    if (f->opcode == WS_OP_CONT) {
        if (a->opcode == 0) {
            return fail(why, "continuation frame without a message in progress (RFC 6455 5.4)",
                        PROTO_EINVAL);
        }
    } else {
        if (a->opcode != 0) {
            return fail(why, "new data frame inside a fragmented message (RFC 6455 5.4)",
                        PROTO_EINVAL);
        }
        if (f->len > a->max_len) {
            return fail(why, "message over the size limit", PROTO_ETOOBIG);
        }
        if (f->fin) {
            /* Unfragmented: deliver the frame's own bytes, no copy. */
            if (f->opcode == WS_OP_TEXT && utf8_validate(f->payload, f->len, NULL) != 0) {
                return fail(why, "text message is not valid UTF-8 (RFC 6455 8.1)", PROTO_EUTF8);
            }
            out->opcode = f->opcode;
            out->data = f->len ? f->payload : empty;
            out->len = f->len;
            return WS_ASM_MESSAGE;
        }
        a->opcode = f->opcode;
        utf8_state_init(&a->utf8);
    }
    int rc = absorb(a, f, why);
    if (rc != 0) {
        return rc;
    }
    if (!f->fin) {
        return WS_ASM_MORE;
    }
    if (a->opcode == WS_OP_TEXT && utf8_finish(&a->utf8) != 0) {
        return fail(why, "text message ends inside a UTF-8 sequence (RFC 6455 8.1)", PROTO_EUTF8);
    }
    out->opcode = a->opcode;
    out->data = a->frag.len ? a->frag.data : empty;
    out->len = a->frag.len;
    a->opcode = 0;
    return WS_ASM_MESSAGE;
}

uint16_t ws_close_code_for(int err)
{
    switch (err) {
    case PROTO_EUTF8:
        return WS_CLOSE_BAD_DATA;
    case PROTO_ETOOBIG:
        return WS_CLOSE_TOO_BIG;
    default:
        return WS_CLOSE_PROTOCOL;
    }
}

/* ---- close frames ---- */

bool ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int ws_close_parse(const uint8_t *p, size_t len, uint16_t *code, const uint8_t **reason,
                   size_t *reason_len, const char **why)
{
    *reason = NULL;
    *reason_len = 0;
    if (len == 0) {
        *code = WS_CLOSE_NO_STATUS;
        return 0;
    }
    if (len == 1) {
        return fail(why, "close payload of 1 byte (RFC 6455 5.5.1)", PROTO_EINVAL);
    }
    if (len > WS_MAX_CONTROL) {
        return fail(why, "close payload over 125 bytes (RFC 6455 5.5)", PROTO_EINVAL);
    }
    uint16_t c = rd16(p);
    if (!ws_close_code_valid(c)) {
        return fail(why, "invalid close status code (RFC 6455 7.4)", PROTO_EINVAL);
    }
    if (utf8_validate(p + 2, len - 2, NULL) != 0) {
        return fail(why, "close reason is not valid UTF-8 (RFC 6455 5.5.1)", PROTO_EUTF8);
    }
    *code = c;
    *reason = p + 2;
    *reason_len = len - 2;
    return 0;
}

size_t ws_close_build(uint8_t out[WS_MAX_CONTROL], uint16_t code, const char *reason,
                      size_t reason_len)
{
    if (code == 0) {
        return 0;
    }
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? reason_len : 0;
    if (n > WS_MAX_CONTROL - 2) {
        n = WS_MAX_CONTROL - 2;
        /* Back off to a character boundary: never cut a UTF-8 sequence. */
        while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (n) {
        memcpy(out + 2, reason, n);
    }
    return 2 + n;
}

/* ---- opening handshake ---- */

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_ows(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_ows((*s)[*len - 1])) {
        (*len)--;
    }
}

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int ws_accept_key(const char *client_key, size_t len, char out[WS_ACCEPT_SIZE])
{
    trim(&client_key, &len);
    /* 4.2.1: the base64 of a 16-byte value: 22 alphabet characters and "==". */
    if (len != 24 || client_key[22] != '=' || client_key[23] != '=') {
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < 22; i++) {
        if (!is_b64(client_key[i])) {
            return PROTO_EINVAL;
        }
    }
    unsigned char raw[24];
    if (EVP_DecodeBlock(raw, (const unsigned char *)client_key, 24) != 18) {
        return PROTO_EINVAL;
    }
    char cat[24 + sizeof WS_GUID];
    memcpy(cat, client_key, 24);
    memcpy(cat + 24, WS_GUID, sizeof WS_GUID - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(cat, 24 + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
        return PROTO_EINVAL;
    }
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != WS_ACCEPT_LEN) {
        return PROTO_EINVAL;
    }
    return 0;
}

bool ws_header_has_token(const char *value, size_t len, const char *token)
{
    size_t tlen = strlen(token);
    size_t i = 0;
    while (value && i <= len) {
        size_t j = i;
        while (j < len && value[j] != ',') {
            j++;
        }
        const char *el = value + i;
        size_t elen = j - i;
        trim(&el, &elen);
        if (elen == tlen && strncasecmp(el, token, tlen) == 0) {
            return true;
        }
        i = j + 1;
    }
    return false;
}

int ws_handshake_check(const ws_handshake_t *h, char accept[WS_ACCEPT_SIZE], const char **why)
{
    if (!ws_header_has_token(h->upgrade, h->upgrade_len, "websocket")) {
        return fail(why, "Upgrade header does not name websocket (RFC 6455 4.2.1)", PROTO_EINVAL);
    }
    if (!ws_header_has_token(h->connection, h->connection_len, "upgrade")) {
        return fail(why, "Connection header has no Upgrade token (RFC 6455 4.2.1)", PROTO_EINVAL);
    }
    const char *v = h->version;
    size_t vlen = h->version_len;
    if (v) {
        trim(&v, &vlen);
    }
    if (!v || vlen != 2 || memcmp(v, "13", 2) != 0) {
        return fail(why, "Sec-WebSocket-Version is not 13 (RFC 6455 4.2.1)", PROTO_EUNSUPP);
    }
    if (!h->key || ws_accept_key(h->key, h->key_len, accept) != 0) {
        return fail(why, "missing or invalid Sec-WebSocket-Key (RFC 6455 4.2.1)", PROTO_EINVAL);
    }
    return 0;
}

ssize_t ws_handshake_response(char *out, size_t cap, const char accept[WS_ACCEPT_SIZE])
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.28s\r\n"
                     "\r\n",
                     accept);
    if (n < 0 || (size_t)n >= cap) {
        return PROTO_ETOOBIG;
    }
    return n;
}
