/* proto/eio.h: Engine.IO packet and payload codec, protocol v4 (socket.io-client 3.x/4.x) and
 * v3 (socket.io-client 2.x). Pure: no I/O, no globals; decoders borrow the caller's bytes.
 *
 * Packets: a type digit 0..6 (open close ping pong message upgrade noop) then data.
 * Payloads (HTTP long-polling bodies):
 *   v4 text:   packets joined by \x1e; a binary message is "b" + base64(data).
 *   v3 text:   "<len>:<packet>" repeated, len counting UTF-16 code units (an emoji is 2);
 *              a binary packet is "b<type>" + base64(data).
 *   v3 binary: per packet <0|1> <decimal digits as bytes 0..9> 0xFF <bytes>, 0 = a text packet
 *              (its UTF-8 bytes), 1 = a binary packet (type byte + data); len counts bytes. */
#ifndef PROTO_EIO_H
#define PROTO_EIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
};

/* The v4 payload separator (ASCII record separator). */
#define EIO_SEP 0x1e

typedef struct eio_packet {
    uint8_t type;        /* EIO_* */
    bool binary;         /* binary data (a message with bytes, not text) */
    bool b64;            /* binary data still base64 text: decode with eio_b64_decode */
    const uint8_t *data; /* borrowed from the input; for b64: the base64 text */
    size_t len;
} eio_packet_t;

/* Decodes one text packet (a WebSocket text message, or one element of a payload) of
 * protocol version ver (3 or 4): "4hello", "2probe", v4 "bAQID", v3 "b4AQID".
 * Returns 0 or PROTO_EINVAL (empty, unknown type, binary of a type other than message). */
int eio_packet_decode_text(int ver, const uint8_t *s, size_t len, eio_packet_t *p);

/* Decodes one binary WebSocket message: v4 = message bytes; v3 = type byte, then bytes.
 * Returns 0 or PROTO_EINVAL. */
int eio_packet_decode_binary(int ver, const uint8_t *s, size_t len, eio_packet_t *p);

/* Iterates the packets of a polling payload. */
typedef struct eio_payload_iter {
    /* private */
    const uint8_t *s;
    size_t len, off;
    int ver;
    bool binary; /* v3 binary payload form */
} eio_payload_iter_t;

/* Starts iterating s[0..len). binary: the body came as application/octet-stream (v3 only;
 * for v4 it is an error reported by the first eio_payload_next). For v3 text the input must
 * be valid UTF-8 (the caller validates the whole body first). */
void eio_payload_iter_init(eio_payload_iter_t *it, int ver, bool binary, const uint8_t *s,
                           size_t len);
/* Yields the next packet. Returns 1 (a packet in *p), 0 (end), or PROTO_EINVAL (malformed:
 * the whole payload is invalid, as Node's parser treats it). An empty v4 payload, and an empty
 * element between two separators, are errors; v3 "0:" elements are skipped. */
int eio_payload_next(eio_payload_iter_t *it, eio_packet_t *p);

/* Writes the Engine.IO open packet `0{"sid":..,"upgrades":[..],"pingInterval":..,
 * "pingTimeout":..,"maxPayload":..}` into out (cap bytes). sid must be JSON-safe
 * (base64url). Returns the length, or PROTO_ETOOBIG if it does not fit (256 bytes always do). */
ssize_t eio_open_encode(char *out, size_t cap, const char *sid, bool upgrade_websocket,
                        unsigned ping_interval, unsigned ping_timeout, size_t max_payload);

/* v3 text payload length prefix for one packet: "<utf16 units>:" into out (>= 24 bytes).
 * pkt must be valid UTF-8. Returns the prefix length. */
size_t eio_v3_text_prefix(char out[24], const uint8_t *pkt, size_t len);
/* v3 binary payload prefix: kind (0 text, 1 binary), the decimal digits of len as bytes
 * 0..9, then 0xFF; into out (>= 24 bytes). Returns the prefix length. */
size_t eio_v3_bin_prefix(uint8_t out[24], bool binary, size_t len);

/* Base64 (RFC 4648 standard alphabet with padding), via OpenSSL.
 * eio_b64_encode writes 4*ceil(len/3) bytes (no NUL) and returns that count.
 * eio_b64_decode accepts padded or unpadded input and writes at most 3*ceil(len/4) bytes;
 * returns the decoded length or PROTO_EINVAL. */
size_t eio_b64_encode(const uint8_t *in, size_t len, char *out);
ssize_t eio_b64_decode(const char *in, size_t len, uint8_t *out);
#define EIO_B64_ENC_LEN(n) (((n) + 2) / 3 * 4)
#define EIO_B64_DEC_MAX(n) (((n) + 3) / 4 * 3)

/* A base64url session id of 20 characters from 15 CSPRNG bytes (RAND_bytes), like Node's
 * base64id. out gets 21 bytes with the NUL. Returns 0, or PROTO_EUNSUPP if the CSPRNG fails. */
int eio_id_generate(char out[21]);

#endif
