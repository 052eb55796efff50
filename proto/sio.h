/* proto/sio.h: Socket.IO packet codec, protocol v5 (and v4, which the Node server decodes with
 * the same rules), plus the small JSON scanner the server needs to relay payloads as the raw
 * bytes they came in: it validates JSON (RFC 8259) and finds spans, never re-serialises.
 * Pure: no I/O, no globals; decoders borrow the caller's bytes.
 *
 * Packet: <type>[<attachments>-][<nsp>,][<ack id>][<JSON payload>]
 *   types: 0 CONNECT 1 DISCONNECT 2 EVENT 3 ACK 4 CONNECT_ERROR 5 BINARY_EVENT 6 BINARY_ACK
 * Binary packets carry placeholders {"_placeholder":true,"num":N} in their payload, and the N
 * attachments follow as separate binary Engine.IO messages. */
#ifndef PROTO_SIO_H
#define PROTO_SIO_H
#include "../common/buf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
};

/* Bounds the decoder enforces (0 in a field: the default in brackets). */
typedef struct sio_limits {
    unsigned max_attachments; /* [10, as socket.io-parser] attachments per binary packet */
    unsigned max_depth;       /* [64] JSON nesting */
} sio_limits_t;

typedef struct sio_packet {
    uint8_t type;     /* SIO_* */
    unsigned nattach; /* binary packets: the announced attachment count (>= 1) */
    const char *nsp;  /* namespace, "/" when absent (then a static string) */
    size_t nsp_len;   /* may include an EIO3 query: "/custom?token=x" */
    int64_t id;       /* ack id, or -1 */
    const char *data; /* the raw JSON payload, or NULL */
    size_t data_len;
    unsigned nplaceholders; /* placeholders found in the payload (binary packets) */
} sio_packet_t;

/* Decodes one packet from s[0..len) (the text of one Engine.IO message). Validates the type,
 * the attachment count (1..max_attachments), the ack id (up to 2^53-1), the JSON payload and
 * its shape as socket.io-parser 4.x does: CONNECT an object (or none), DISCONNECT none,
 * CONNECT_ERROR an object or string, EVENT a non-empty array whose first element is a number
 * or a string other than a reserved event name, ACK an array. In binary packets every
 * placeholder's num must be < nattach. Returns 0, or PROTO_EINVAL / PROTO_ETOOBIG with *why
 * (if not NULL) set to a static reason. */
int sio_packet_decode(const char *s, size_t len, const sio_limits_t *lim, sio_packet_t *p,
                      const char **why);

/* Splits an EVENT payload `["name",a,b]` into the raw name token (`"name"` with quotes, or a
 * number) and the raw argument list `a,b` (trimmed; empty when there are none). The payload
 * must have passed sio_packet_decode. Returns 0 or PROTO_EINVAL. */
int sio_event_split(const char *json, size_t len, const char **name, size_t *name_len,
                    const char **args, size_t *args_len);

/* Strips the brackets of an ACK payload `[a,b]` -> `a,b` (trimmed). Returns 0 or PROTO_EINVAL. */
int sio_array_inner(const char *json, size_t len, const char **inner, size_t *inner_len);

/* Appends the JSON-unescaped text of the string token tok[0..len) (with quotes) to out.
 * A lone surrogate escape becomes U+FFFD. Returns 0, PROTO_EINVAL or PROTO_ETOOBIG. */
int sio_json_unescape(const char *tok, size_t len, buf_t *out);

/* Validates one JSON value (any type, surrounding whitespace allowed) spanning all of
 * s[0..len). Returns 0 or PROTO_EINVAL. max_depth 0 means 64. */
int sio_json_validate(const char *s, size_t len, unsigned max_depth);

/* Finds the raw value of top-level key `key` in the JSON object s[0..len) (already valid).
 * Returns 0 with *val and *val_len set, or PROTO_EINVAL when absent or s is not an object. */
int sio_json_get(const char *s, size_t len, const char *key, const char **val, size_t *val_len);

/* --- encoders: append to out; return 0 or PROTO_ETOOBIG --- */

/* `<type>[<natt>-][<nsp>,][<id>]` (an nsp of "/" or NULL is omitted; id < 0 omitted). Binary types
 * take natt >= 1. Follow it with the payload. */
int sio_encode_header(buf_t *out, int type, unsigned natt, const char *nsp, int64_t id);
/* An EVENT (BINARY_EVENT when natt > 0): header + `[<name as JSON string>,<args>]`; args
 * is a raw JSON list without brackets, may be empty. */
int sio_encode_event(buf_t *out, const char *nsp, int64_t id, const char *name, const char *args,
                     size_t args_len, unsigned natt);
/* An ACK (BINARY_ACK when natt > 0): header + `[<args>]`. */
int sio_encode_ack(buf_t *out, const char *nsp, int64_t id, const char *args, size_t args_len,
                   unsigned natt);

/* Counts placeholders in a valid JSON text and checks each num < natt; returns the count,
 * or PROTO_EINVAL for a placeholder that is malformed or out of range. */
ssize_t sio_placeholders_count(const char *s, size_t len, unsigned natt);

#endif
