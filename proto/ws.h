/* proto/ws.h: RFC 6455 WebSocket codec: frame decode/encode, the message assembler
 * (fragmentation, size cap, incremental UTF-8 check of text), close payloads and the opening
 * handshake checks. Pure codec: no I/O, no globals; only the assembler allocates (capped). */
#ifndef PROTO_WS_H
#define PROTO_WS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "proto/utf8.h"

/* RFC 6455 5.2 opcodes */
enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

#define WS_MAX_HEADER  14  /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS_MAX_CONTROL 125 /* RFC 6455 5.5: control payloads are at most 125 bytes */
#define WS_ACCEPT_LEN  28  /* base64 of a SHA-1 digest, without the NUL */
#define WS_ACCEPT_SIZE 29  /* ... with the NUL */

/* RFC 6455 7.4.1 status codes used by the server */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* never on the wire: "the close frame had no payload" */
    WS_CLOSE_ABNORMAL = 1006,  /* never on the wire */
    WS_CLOSE_BAD_DATA = 1007,  /* e.g. invalid UTF-8 in a text message */
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

/* One decoded frame. */
typedef struct ws_frame {
    uint8_t opcode; /* WS_OP_* */
    bool fin;
    uint8_t rsv; /* RSV1..3 as bits 2..0 (always 0 on success: no extension is negotiated) */
    bool masked;
    uint8_t *payload; /* borrows the caller's buffer, unmasked in place */
    size_t len;
} ws_frame_t;

/* Decodes one frame from buf[0..len). On success unmasks the payload in place (so the bytes
 * of buf change), points f->payload into buf and returns the bytes consumed (header +
 * payload). Returns PROTO_EAGAIN if buf holds less than a whole frame, or a negative PROTO_E*
 * with *why (static string) naming the RFC 6455 rule broken:
 *  - PROTO_EINVAL: RSV bits set (no extension negotiated, 5.2); unknown opcode (5.2);
 *    control frame fragmented or longer than 125 (5.5); unmasked frame when require_mask
 *    (servers: 5.1); 64-bit length with its most significant bit set (5.2).
 *  - PROTO_ETOOBIG: payload length over max_len. Reported as soon as the header is complete,
 *    before the payload has arrived, so a server never buffers an oversized frame.
 * Non-minimal length encodings (a 126/127 form for a short length) are accepted: 5.2 says the
 * sender MUST use the minimal form but gives the receiver no rule, and Node's ws accepts them. */
ssize_t ws_frame_decode(ws_frame_t *f, uint8_t *buf, size_t len, size_t max_len, bool require_mask,
                        const char **why);

/* Writes a frame header into out and returns its length (2..14). RSV bits are 0. mask is
 * NULL for server frames (unmasked, 5.1) or 4 bytes for a client frame; the caller then masks
 * the payload with ws_mask. The minimal length encoding is always used. */
size_t ws_frame_header_encode(uint8_t out[WS_MAX_HEADER], uint8_t opcode, bool fin, size_t len,
                              const uint8_t *mask);

/* XORs p[0..len) with the 4-byte mask (RFC 6455 5.3); offset is the position of p[0] within
 * the payload, so a payload can be masked in pieces. Masking twice restores the data. */
void ws_mask(uint8_t *p, size_t len, const uint8_t mask[4], size_t offset);

/* ---- message assembler ---- */

/* Reassembles fragmented data messages (5.4), with control frames allowed in between.
 * Embeddable: fields are private; init/deinit. */
typedef struct ws_asm {
    /* private */
    buf_t frag;        /* fragments of the message in progress (owned, capped at max_len) */
    size_t max_len;    /* cap on a whole message */
    uint8_t opcode;    /* WS_OP_TEXT/BINARY of the message in progress, 0 when none */
    utf8_state_t utf8; /* incremental check of a text message in progress */
} ws_asm_t;

/* A complete data message or a control frame. data borrows either the frame's payload (an
 * unfragmented message or a control frame: no copy) or the assembler's buffer; it stays valid
 * until the next ws_asm_feed/ws_asm_deinit call or until the frame's buffer changes. */
typedef struct ws_msg {
    uint8_t opcode; /* WS_OP_TEXT, WS_OP_BINARY, or a control opcode */
    const uint8_t *data;
    size_t len;
} ws_msg_t;

enum {
    WS_ASM_MORE = 0,    /* a fragment was absorbed; the message is not complete */
    WS_ASM_MESSAGE = 1, /* *out holds a complete text or binary message */
    WS_ASM_CONTROL = 2, /* *out holds a control frame (close, ping, pong) */
};

/* max_len caps a whole reassembled message (maxPayload). Allocates nothing yet. */
void ws_asm_init(ws_asm_t *a, size_t max_len);
/* Frees the fragment buffer. */
void ws_asm_deinit(ws_asm_t *a);

/* Feeds one frame that ws_frame_decode accepted. Returns WS_ASM_MORE, WS_ASM_MESSAGE or
 * WS_ASM_CONTROL, or a negative code with *why set:
 *  - PROTO_EINVAL: continuation with no message in progress, or a new text/binary frame while
 *    one is in progress (5.4);
 *  - PROTO_ETOOBIG: the message would pass max_len;
 *  - PROTO_EUTF8: a text message is not valid UTF-8 (checked incrementally, fail fast, 8.1).
 * Close frames are returned as WS_ASM_CONTROL unchecked: parse them with ws_close_parse.
 * After an error the connection must be failed (ws_close_code_for gives the status). */
int ws_asm_feed(ws_asm_t *a, const ws_frame_t *f, ws_msg_t *out, const char **why);

/* The close status to send after a decode/assembler/close-parse error: PROTO_EUTF8 -> 1007,
 * PROTO_ETOOBIG -> 1009, anything else -> 1002. */
uint16_t ws_close_code_for(int err);

/* ---- close frames (5.5.1, 7.4) ---- */

/* True if code may appear in a close frame: 1000-1003, 1007-1014 (1012-1014 are registered in
 * the IANA "WebSocket Close Code Number Registry") and 3000-4999 (registered / private use).
 * 0-999, 1004 (reserved), 1005, 1006 and 1015 (MUST NOT be sent), 1016-2999 (reserved for
 * future RFCs) and 5000+ are invalid. */
bool ws_close_code_valid(unsigned code);

/* Parses a close payload. Empty -> *code = WS_CLOSE_NO_STATUS, empty reason. Otherwise a
 * 2-byte big-endian code, then a UTF-8 reason borrowed from p. Returns 0, or PROTO_EINVAL
 * (1-byte payload, invalid code, over 125 bytes) / PROTO_EUTF8 (reason not UTF-8) with *why. */
int ws_close_parse(const uint8_t *p, size_t len, uint16_t *code, const uint8_t **reason,
                   size_t *reason_len, const char **why);

/* Builds a close payload (code, then reason truncated at a character boundary to fit 125
 * bytes) into out and returns its length. code 0 builds an empty payload. */
size_t ws_close_build(uint8_t out[WS_MAX_CONTROL], uint16_t code, const char *reason,
                      size_t reason_len);

/* ---- opening handshake (4.2) ---- */

/* Computes Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) into out (NUL-terminated, 28
 * chars). The key (surrounding spaces/tabs ignored) must be the base64 of 16 bytes, i.e. 22
 * base64 characters then "==" (4.2.1 item 5). Returns 0 or PROTO_EINVAL. */
int ws_accept_key(const char *client_key, size_t len, char out[WS_ACCEPT_SIZE]);

/* True if the comma-separated header value contains token (case-insensitive, optional
 * whitespace around each element), e.g. Connection: "keep-alive, Upgrade". */
bool ws_header_has_token(const char *value, size_t len, const char *token);

/* The request header values of an upgrade request; NULL (len 0) when a header is absent. */
typedef struct ws_handshake {
    const char *upgrade;
    size_t upgrade_len;
    const char *connection;
    size_t connection_len;
    const char *version;
    size_t version_len;
    const char *key;
    size_t key_len;
} ws_handshake_t;

/* Checks a client's upgrade request headers (4.2.1): Upgrade has the token "websocket",
 * Connection has the token "Upgrade", Sec-WebSocket-Version is 13 and Sec-WebSocket-Key is
 * valid; then writes the accept value into accept. Returns 0, PROTO_EUNSUPP for a wrong or
 * missing version (answer 426 with "Sec-WebSocket-Version: 13", 4.4), or PROTO_EINVAL
 * (answer 400), with *why set. Method GET and HTTP/1.1 are the caller's to check. */
int ws_handshake_check(const ws_handshake_t *h, char accept[WS_ACCEPT_SIZE], const char **why);

/* Writes the "HTTP/1.1 101 Switching Protocols" response (Upgrade, Connection,
 * Sec-WebSocket-Accept, blank line) into out. Returns its length (no NUL counted) or
 * PROTO_ETOOBIG if cap is too small (160 bytes always suffice). */
ssize_t ws_handshake_response(char *out, size_t cap, const char accept[WS_ACCEPT_SIZE]);

#endif
