/* proto/sio.c: Socket.IO packet codec and raw-JSON scanner (see sio.h). The decoding rules are
 * socket.io-parser 4.2's Decoder.decodeString / isPayloadValid, which the Node server applies
 * to v5 and v4 clients alike. */
#include "sio.h"
#include "err.h"
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_ATTACH 10
#define DEFAULT_MAX_DEPTH  64
#define MAX_SAFE_INT       9007199254740991LL /* 2^53 - 1 */

/* ---- JSON scanner ------------------------------------------------------------------------ */

typedef struct scan {
    const char *s;
    size_t len, pos;
    unsigned depth, max_depth;
    bool track_ph; /* count placeholders */
    unsigned natt; /* placeholder num bound */
    unsigned nph;  /* placeholders found */
} scan_t;

static void skip_ws(scan_t *c)
{
    while (c->pos < c->len) {
        char ch = c->s[c->pos];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            break;
        }
        c->pos++;
    }
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

static int scan_string(scan_t *c)
{
    if (c->pos >= c->len || c->s[c->pos] != '"') {
        return PROTO_EINVAL;
    }
    c->pos++;
    while (c->pos < c->len) {
        unsigned char ch = (unsigned char)c->s[c->pos++];
        if (ch == '"') {
            return 0;
        }
        if (ch < 0x20) {
            return PROTO_EINVAL; /* RFC 8259 7: control characters must be escaped */
        }
        if (ch != '\\') {
            continue;
        }
        if (c->pos >= c->len) {
            return PROTO_EINVAL;
        }
        ch = (unsigned char)c->s[c->pos++];
        if (ch == 'u') {
            if (c->len - c->pos < 4) {
                return PROTO_EINVAL;
            }
            for (int k = 0; k < 4; k++) {
                if (hexval(c->s[c->pos++]) < 0) {
                    return PROTO_EINVAL;
                }
            }
        } else if (!strchr("\"\\/bfnrt", ch) || ch == 0) {
            return PROTO_EINVAL;
        }
    }
    return PROTO_EINVAL;
}

static int scan_number(scan_t *c)
{
    size_t p = c->pos;
    if (p < c->len && c->s[p] == '-') {
        p++;
    }
    if (p >= c->len || !is_digit(c->s[p])) {
        return PROTO_EINVAL;
    }
    if (c->s[p] == '0') {
        p++;
    } else {
        while (p < c->len && is_digit(c->s[p])) {
            p++;
        }
    }
    if (p < c->len && c->s[p] == '.') {
        p++;
        if (p >= c->len || !is_digit(c->s[p])) {
            return PROTO_EINVAL;
        }
        while (p < c->len && is_digit(c->s[p])) {
            p++;
        }
    }
    if (p < c->len && (c->s[p] == 'e' || c->s[p] == 'E')) {
        p++;
        if (p < c->len && (c->s[p] == '+' || c->s[p] == '-')) {
            p++;
        }
        if (p >= c->len || !is_digit(c->s[p])) {
            return PROTO_EINVAL;
        }
        while (p < c->len && is_digit(c->s[p])) {
            p++;
        }
    }
    c->pos = p;
    return 0;
}

static int scan_lit(scan_t *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->len - c->pos < n || memcmp(c->s + c->pos, lit, n) != 0) {
        return PROTO_EINVAL;
    }
    c->pos += n;
    return 0;
}

static int scan_value(scan_t *c);

static bool span_is(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* A placeholder's num: a non-negative integer token below natt. */
static bool ph_num_ok(const char *p, size_t n, unsigned natt)
{
    if (n == 0 || n > 9) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i])) {
            return false;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v < natt;
}

static int scan_object(scan_t *c)
{
    bool ph = false, num_ok = false;
    c->pos++; /* '{' */
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == '}') {
        c->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        size_t k0 = c->pos;
        if (scan_string(c) != 0) {
            return PROTO_EINVAL;
        }
        size_t k1 = c->pos;
        skip_ws(c);
        if (c->pos >= c->len || c->s[c->pos] != ':') {
            return PROTO_EINVAL;
        }
        c->pos++;
        skip_ws(c);
        size_t v0 = c->pos;
        if (scan_value(c) != 0) {
            return PROTO_EINVAL;
        }
        if (c->track_ph) {
            /* socket.io-parser reconstructPacket: any object with _placeholder === true */
            const char *key = c->s + k0;
            if (span_is(key, k1 - k0, "\"_placeholder\"")) {
                ph = span_is(c->s + v0, c->pos - v0, "true");
            } else if (span_is(key, k1 - k0, "\"num\"")) {
                num_ok = ph_num_ok(c->s + v0, c->pos - v0, c->natt);
            }
        }
        skip_ws(c);
        if (c->pos >= c->len) {
            return PROTO_EINVAL;
        }
        char ch = c->s[c->pos++];
        if (ch == '}') {
            break;
        }
        if (ch != ',') {
            return PROTO_EINVAL;
        }
    }
    if (ph) {
        if (!num_ok) {
            return PROTO_EINVAL;
        }
        c->nph++;
    }
    return 0;
}

static int scan_array(scan_t *c)
{
    c->pos++; /* '[' */
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == ']') {
        c->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if (scan_value(c) != 0) {
            return PROTO_EINVAL;
        }
        skip_ws(c);
        if (c->pos >= c->len) {
            return PROTO_EINVAL;
        }
        char ch = c->s[c->pos++];
        if (ch == ']') {
            return 0;
        }
        if (ch != ',') {
            return PROTO_EINVAL;
        }
    }
}

static int scan_value(scan_t *c)
{
    if (c->pos >= c->len) {
        return PROTO_EINVAL;
    }
    char ch = c->s[c->pos];
    switch (ch) {
    case '{':
    case '[': {
        if (++c->depth > c->max_depth) {
            return PROTO_EINVAL;
        }
        int rc = ch == '{' ? scan_object(c) : scan_array(c);
        c->depth--;
        return rc;
    }
    case '"':
        return scan_string(c);
    case 't':
        return scan_lit(c, "true");
    case 'f':
        return scan_lit(c, "false");
    case 'n':
        return scan_lit(c, "null");
    default:
        return scan_number(c);
    }
}

static void scan_init(scan_t *c, const char *s, size_t len, unsigned max_depth)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->len = len;
    c->max_depth = max_depth ? max_depth : DEFAULT_MAX_DEPTH;
}

/* Scans one whole value with surrounding whitespace and nothing else. */
static int scan_all(scan_t *c)
{
    skip_ws(c);
    if (scan_value(c) != 0) {
        return PROTO_EINVAL;
    }
    skip_ws(c);
    return c->pos == c->len ? 0 : PROTO_EINVAL;
}

int sio_json_validate(const char *s, size_t len, unsigned max_depth)
{
    scan_t c;
    scan_init(&c, s, len, max_depth);
    return scan_all(&c);
}

ssize_t sio_placeholders_count(const char *s, size_t len, unsigned natt)
{
    scan_t c;
    scan_init(&c, s, len, 0);
    c.track_ph = true;
    c.natt = natt;
    if (scan_all(&c) != 0) {
        return PROTO_EINVAL;
    }
    return c.nph;
}

int sio_json_get(const char *s, size_t len, const char *key, const char **val, size_t *val_len)
{
    scan_t c;
    scan_init(&c, s, len, 0);
    skip_ws(&c);
    if (c.pos >= len || s[c.pos] != '{') {
        return PROTO_EINVAL;
    }
    c.pos++;
    size_t klen = strlen(key);
    for (;;) {
        skip_ws(&c);
        size_t k0 = c.pos;
        if (scan_string(&c) != 0) {
            return PROTO_EINVAL;
        }
        size_t k1 = c.pos;
        skip_ws(&c);
        if (c.pos >= len || s[c.pos] != ':') {
            return PROTO_EINVAL;
        }
        c.pos++;
        skip_ws(&c);
        size_t v0 = c.pos;
        if (scan_value(&c) != 0) {
            return PROTO_EINVAL;
        }
        if (k1 - k0 == klen + 2 && memcmp(s + k0 + 1, key, klen) == 0) {
            *val = s + v0;
            *val_len = c.pos - v0;
            return 0;
        }
        skip_ws(&c);
        if (c.pos >= len || s[c.pos] != ',') {
            return PROTO_EINVAL;
        }
        c.pos++;
    }
}

/* ---- packets --------------------------------------------------------------------------- */

static const char *const reserved_events[] = {
    "\"connect\"",       "\"connect_error\"", "\"disconnect\"",
    "\"disconnecting\"", "\"newListener\"",   "\"removeListener\"",
};

static int fail(const char **why, const char *msg, int rc)
{
    if (why) {
        *why = msg;
    }
    return rc;
}

static int check_payload(const sio_packet_t *p, const char **why)
{
    char first = 0;
    for (size_t i = 0; i < p->data_len; i++) {
        char ch = p->data[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            first = ch;
            break;
        }
    }
    switch (p->type) {
    case SIO_CONNECT:
        return first == '{' ? 0 : fail(why, "CONNECT payload must be an object", PROTO_EINVAL);
    case SIO_DISCONNECT:
        return fail(why, "DISCONNECT takes no payload", PROTO_EINVAL);
    case SIO_CONNECT_ERROR:
        return first == '{' || first == '"' ? 0
                                            : fail(why, "bad CONNECT_ERROR payload", PROTO_EINVAL);
    case SIO_ACK:
    case SIO_BINARY_ACK:
        return first == '[' ? 0 : fail(why, "ACK payload must be an array", PROTO_EINVAL);
    default:
        break;
    }
    /* EVENT: a non-empty array; first element a number or a non-reserved string */
    const char *name, *args;
    size_t name_len, args_len;
    if (first != '[' ||
        sio_event_split(p->data, p->data_len, &name, &name_len, &args, &args_len) != 0) {
        return fail(why, "EVENT payload must be a non-empty array", PROTO_EINVAL);
    }
    if (name[0] == '"') {
        for (size_t i = 0; i < sizeof reserved_events / sizeof *reserved_events; i++) {
            if (span_is(name, name_len, reserved_events[i])) {
                return fail(why, "reserved event name", PROTO_EINVAL);
            }
        }
        return 0;
    }
    if (name[0] == '-' || is_digit(name[0])) {
        return 0;
    }
    return fail(why, "event name must be a string or a number", PROTO_EINVAL);
}

static int decode_attachments(const char *s, size_t len, size_t *i, unsigned max, sio_packet_t *p,
                              const char **why)
{
    size_t j = 1;
    unsigned n = 0;
    while (j < len && is_digit(s[j])) {
        if (j > 6) {
            return fail(why, "too many attachments", PROTO_ETOOBIG);
        }
        n = n * 10 + (unsigned)(s[j] - '0');
        j++;
    }
    if (j == 1 || j >= len || s[j] != '-' || n < 1) {
        return fail(why, "illegal attachments", PROTO_EINVAL);
    }
    if (n > max) {
        return fail(why, "too many attachments", PROTO_ETOOBIG);
    }
    p->nattach = n;
    *i = j;
    return 0;
}

int sio_packet_decode(const char *s, size_t len, const sio_limits_t *lim, sio_packet_t *p,
                      const char **why)
{
    unsigned max_att = lim && lim->max_attachments ? lim->max_attachments : DEFAULT_MAX_ATTACH;
    unsigned max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    memset(p, 0, sizeof(*p));
    p->id = -1;
    p->nsp = "/";
    p->nsp_len = 1;
    if (len == 0 || s[0] < '0' || s[0] > '6') {
        return fail(why, "unknown packet type", PROTO_EINVAL);
    }
    p->type = (uint8_t)(s[0] - '0');
    size_t i = 0; /* index of the last consumed character, as in the JS decoder */
    if (p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK) {
        int rc = decode_attachments(s, len, &i, max_att, p, why);
        if (rc) {
            return rc;
        }
    }
    if (i + 1 < len && s[i + 1] == '/') {
        size_t start = i + 1;
        const char *comma = memchr(s + start, ',', len - start);
        i = comma ? (size_t)(comma - s) : len;
        p->nsp = s + start;
        p->nsp_len = i - start;
    }
    if (i + 1 < len && is_digit(s[i + 1])) {
        int64_t id = 0;
        while (i + 1 < len && is_digit(s[i + 1])) {
            id = id * 10 + (s[++i] - '0');
            if (id > MAX_SAFE_INT) {
                return fail(why, "ack id too large", PROTO_EINVAL);
            }
        }
        p->id = id;
    }
    if (i + 1 < len) {
        p->data = s + i + 1;
        p->data_len = len - i - 1;
        scan_t c;
        scan_init(&c, p->data, p->data_len, max_depth);
        c.track_ph = p->nattach > 0;
        c.natt = p->nattach;
        if (scan_all(&c) != 0) {
            return fail(why, "invalid payload", PROTO_EINVAL);
        }
        p->nplaceholders = c.nph;
        return check_payload(p, why);
    }
    if (p->type == SIO_EVENT || p->type == SIO_BINARY_EVENT) {
        return fail(why, "EVENT without payload", PROTO_EINVAL);
    }
    if (p->type == SIO_BINARY_ACK || p->type == SIO_CONNECT_ERROR) {
        return fail(why, "payload missing", PROTO_EINVAL);
    }
    return 0;
}

static void trim(const char **p, size_t *n)
{
    while (*n && strchr(" \t\r\n", (*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && strchr(" \t\r\n", (*p)[*n - 1])) {
        (*n)--;
    }
}

int sio_array_inner(const char *json, size_t len, const char **inner, size_t *inner_len)
{
    const char *p = json;
    size_t n = len;
    trim(&p, &n);
    if (n < 2 || p[0] != '[' || p[n - 1] != ']') {
        return PROTO_EINVAL;
    }
    p++;
    n -= 2;
    trim(&p, &n);
    *inner = p;
    *inner_len = n;
    return 0;
}

int sio_event_split(const char *json, size_t len, const char **name, size_t *name_len,
                    const char **args, size_t *args_len)
{
    const char *in;
    size_t n;
    if (sio_array_inner(json, len, &in, &n) != 0 || n == 0) {
        return PROTO_EINVAL;
    }
    scan_t c;
    scan_init(&c, in, n, 0);
    if (scan_value(&c) != 0) {
        return PROTO_EINVAL;
    }
    *name = in;
    *name_len = c.pos;
    skip_ws(&c);
    if (c.pos == n) {
        *args = in + n;
        *args_len = 0;
        return 0;
    }
    if (in[c.pos] != ',') {
        return PROTO_EINVAL;
    }
    const char *a = in + c.pos + 1;
    size_t an = n - c.pos - 1;
    trim(&a, &an);
    *args = a;
    *args_len = an;
    return 0;
}

static int put_utf8(buf_t *out, unsigned cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(out, u, n);
}

static unsigned hex4(const char *p)
{
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

int sio_json_unescape(const char *tok, size_t len, buf_t *out)
{
    scan_t c;
    scan_init(&c, tok, len, 0);
    if (scan_string(&c) != 0 || c.pos != len) {
        return PROTO_EINVAL;
    }
    int rc = 0;
    for (size_t i = 1; i + 1 < len && rc == 0; i++) {
        char ch = tok[i];
        if (ch != '\\') {
            rc = buf_append_byte(out, (uint8_t)ch);
            continue;
        }
        ch = tok[++i];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *m = strchr(from, ch);
        if (ch != 'u') {
            rc = buf_append_byte(out, (uint8_t)to[m - from]);
            continue;
        }
        unsigned cp = hex4(tok + i + 1);
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && tok[i + 1] == '\\' &&
            tok[i + 2] == 'u') {
            unsigned lo = hex4(tok + i + 3);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }
        if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
        }
        rc = put_utf8(out, cp);
    }
    return rc;
}

/* ---- encoders ------------------------------------------------------------------------- */

int sio_encode_header(buf_t *out, int type, unsigned natt, const char *nsp, int64_t id)
{
    int rc = buf_append_byte(out, (uint8_t)('0' + type));
    if (rc == 0 && (type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK)) {
        rc = buf_printf(out, "%u-", natt);
    }
    if (rc == 0 && nsp && strcmp(nsp, "/") != 0) {
        rc = buf_append_str(out, nsp);
        if (rc == 0) {
            rc = buf_append_byte(out, ',');
        }
    }
    if (rc == 0 && id >= 0) {
        rc = buf_printf(out, "%lld", (long long)id);
    }
    return rc;
}

int sio_encode_event(buf_t *out, const char *nsp, int64_t id, const char *name, const char *args,
                     size_t args_len, unsigned natt)
{
    int rc = sio_encode_header(out, natt ? SIO_BINARY_EVENT : SIO_EVENT, natt, nsp, id);
    if (rc == 0) {
        rc = buf_append_byte(out, '[');
    }
    if (rc == 0) {
        rc = buf_append_json_str(out, name, strlen(name));
    }
    if (rc == 0 && args && args_len) {
        rc = buf_append_byte(out, ',');
        if (rc == 0) {
            rc = buf_append(out, args, args_len);
        }
    }
    return rc ? rc : buf_append_byte(out, ']');
}

int sio_encode_ack(buf_t *out, const char *nsp, int64_t id, const char *args, size_t args_len,
                   unsigned natt)
{
    int rc = sio_encode_header(out, natt ? SIO_BINARY_ACK : SIO_ACK, natt, nsp, id);
    if (rc == 0) {
        rc = buf_append_byte(out, '[');
    }
    if (rc == 0 && args && args_len) {
        rc = buf_append(out, args, args_len);
    }
    return rc ? rc : buf_append_byte(out, ']');
}
