/* proto/eio.c: Engine.IO v3/v4 packet and payload codec (see eio.h). The rules follow
 * engine.io-parser 5.x (v4) and the parser-v3 bundled with engine.io 6.x (v3). */
#include "eio.h"
#include "err.h"
#include "utf8.h"
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static bool valid_type(uint8_t t)
{
    return t <= EIO_NOOP;
}

int eio_packet_decode_text(int ver, const uint8_t *s, size_t len, eio_packet_t *p)
{
    memset(p, 0, sizeof(*p));
    if (len == 0) {
        return PROTO_EINVAL;
    }
    if (s[0] == 'b') {
        /* v4: "b" + base64 is always a message; v3: "b" + type digit + base64 */
        size_t skip = 1;
        p->type = EIO_MESSAGE;
        if (ver == 3) {
            if (len < 2 || s[1] < '0' || s[1] > '9' || !valid_type((uint8_t)(s[1] - '0'))) {
                return PROTO_EINVAL;
            }
            p->type = (uint8_t)(s[1] - '0');
            skip = 2;
        }
        if (p->type != EIO_MESSAGE) {
            return PROTO_EINVAL;
        }
        p->binary = p->b64 = true;
        p->data = s + skip;
        p->len = len - skip;
        return 0;
    }
    if (s[0] < '0' || s[0] > '9' || !valid_type((uint8_t)(s[0] - '0'))) {
        return PROTO_EINVAL;
    }
    p->type = (uint8_t)(s[0] - '0');
    p->data = s + 1;
    p->len = len - 1;
    return 0;
}

int eio_packet_decode_binary(int ver, const uint8_t *s, size_t len, eio_packet_t *p)
{
    memset(p, 0, sizeof(*p));
    p->type = EIO_MESSAGE;
    p->binary = true;
    if (ver == 3) {
        /* parser-v3: the first byte is the packet type */
        if (len == 0 || s[0] != EIO_MESSAGE) {
            return PROTO_EINVAL;
        }
        s++;
        len--;
    }
    p->data = s;
    p->len = len;
    return 0;
}

void eio_payload_iter_init(eio_payload_iter_t *it, int ver, bool binary, const uint8_t *s,
                           size_t len)
{
    it->s = s;
    it->len = len;
    it->off = 0;
    it->ver = ver;
    it->binary = binary;
}

static int next_v4(eio_payload_iter_t *it, eio_packet_t *p)
{
    if (it->off > it->len) {
        return 0; /* past the last element */
    }
    const uint8_t *start = it->s + it->off;
    const uint8_t *sep = memchr(start, EIO_SEP, it->len - it->off);
    size_t n = sep ? (size_t)(sep - start) : it->len - it->off;
    /* one past the separator (a trailing separator leaves an empty, invalid element);
     * past the end when this was the last element */
    it->off = sep ? it->off + n + 1 : it->len + 1;
    return eio_packet_decode_text(4, start, n, p) == 0 ? 1 : PROTO_EINVAL;
}

static int next_v3_text(eio_payload_iter_t *it, eio_packet_t *p)
{
    for (;;) {
        if (it->off >= it->len) {
            return 0;
        }
        size_t units = 0, i = it->off;
        while (i < it->len && it->s[i] >= '0' && it->s[i] <= '9') {
            if (units > 100000000) { /* longer than any body we accept */
                return PROTO_EINVAL;
            }
            units = units * 10 + (size_t)(it->s[i] - '0');
            i++;
        }
        if (i == it->off || i >= it->len || it->s[i] != ':') {
            return PROTO_EINVAL;
        }
        i++;
        ssize_t n = utf8_utf16_offset(it->s + i, it->len - i, units);
        if (n < 0) {
            return PROTO_EINVAL;
        }
        it->off = i + (size_t)n;
        if (n == 0) {
            continue; /* "0:" carries nothing (parser-v3 skips it) */
        }
        return eio_packet_decode_text(3, it->s + i, (size_t)n, p) == 0 ? 1 : PROTO_EINVAL;
    }
}

static int next_v3_binary(eio_payload_iter_t *it, eio_packet_t *p)
{
    if (it->off >= it->len) {
        return 0;
    }
    const uint8_t *s = it->s;
    size_t i = it->off;
    uint8_t kind = s[i++];
    if (kind > 1) {
        return PROTO_EINVAL;
    }
    size_t n = 0, digits = 0;
    while (i < it->len && s[i] != 0xff) {
        if (s[i] > 9 || ++digits > 9) {
            return PROTO_EINVAL;
        }
        n = n * 10 + s[i++];
    }
    if (i >= it->len || digits == 0) {
        return PROTO_EINVAL;
    }
    i++;
    if (n > it->len - i || n == 0) {
        return PROTO_EINVAL;
    }
    it->off = i + n;
    int rc = kind == 0 ? eio_packet_decode_text(3, s + i, n, p)
                       : eio_packet_decode_binary(3, s + i, n, p);
    if (rc == 0 && kind == 0 && utf8_validate(p->data, p->len, NULL) != 0) {
        rc = PROTO_EUTF8;
    }
    return rc == 0 ? 1 : PROTO_EINVAL;
}

int eio_payload_next(eio_payload_iter_t *it, eio_packet_t *p)
{
    if (it->ver == 4) {
        if (it->binary) {
            return PROTO_EINVAL; /* v4 polling is text only */
        }
        return next_v4(it, p);
    }
    if (it->off == 0 && it->len == 0) {
        return PROTO_EINVAL; /* parser-v3: an empty payload is a parser error */
    }
    return it->binary ? next_v3_binary(it, p) : next_v3_text(it, p);
}

ssize_t eio_open_encode(char *out, size_t cap, const char *sid, bool upgrade_websocket,
                        unsigned ping_interval, unsigned ping_timeout, size_t max_payload)
{
    int n = snprintf(out, cap,
                     "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%u,\"pingTimeout\":%u,"
                     "\"maxPayload\":%zu}",
                     sid, upgrade_websocket ? "\"websocket\"" : "", ping_interval, ping_timeout,
                     max_payload);
    if (n < 0 || (size_t)n >= cap) {
        return PROTO_ETOOBIG;
    }
    return n;
}

size_t eio_v3_text_prefix(char out[24], const uint8_t *pkt, size_t len)
{
    return (size_t)snprintf(out, 24, "%zu:", utf8_utf16_len(pkt, len));
}

size_t eio_v3_bin_prefix(uint8_t out[24], bool binary, size_t len)
{
    char digits[22];
    int n = snprintf(digits, sizeof digits, "%zu", len);
    out[0] = binary ? 1 : 0;
    for (int i = 0; i < n; i++) {
        out[1 + i] = (uint8_t)(digits[i] - '0');
    }
    out[1 + n] = 0xff;
    return (size_t)n + 2;
}

size_t eio_b64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t done = 0, o = 0;
    /* EVP_EncodeBlock takes an int length: go in chunks that are multiples of 3 */
    while (done < len) {
        size_t chunk = len - done > (size_t)3 << 28 ? (size_t)3 << 28 : len - done;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in + done, (int)chunk);
        done += chunk;
    }
    return o;
}

static bool b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

ssize_t eio_b64_decode(const char *in, size_t len, uint8_t *out)
{
    const uint8_t *s = (const uint8_t *)in;
    size_t pad = 0;
    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1) {
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!b64_char(s[i])) { /* EVP_DecodeBlock would skip whitespace: be strict */
            return PROTO_EINVAL;
        }
    }
    if (pad && (len + pad) % 4 != 0) {
        return PROTO_EINVAL;
    }
    size_t full = len / 4 * 4, o = 0;
    for (size_t done = 0; done < full;) {
        size_t chunk = full - done > (size_t)1 << 28 ? (size_t)1 << 28 : full - done;
        int n = EVP_DecodeBlock(out + o, s + done, (int)chunk);
        if (n < 0) {
            return PROTO_EINVAL;
        }
        o += (size_t)n;
        done += chunk;
    }
    size_t rest = len - full;
    if (rest) {
        unsigned char quad[4] = { '=', '=', '=', '=' }, tmp[3];
        memcpy(quad, s + full, rest);
        if (EVP_DecodeBlock(tmp, quad, 4) != 3) {
            return PROTO_EINVAL;
        }
        memcpy(out + o, tmp, rest - 1);
        o += rest - 1;
    }
    return (ssize_t)o;
}

int eio_id_generate(char out[21])
{
    uint8_t raw[15];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        return PROTO_EUNSUPP;
    }
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
    for (int i = 0; i < 20; i++) {
        if (out[i] == '/') {
            out[i] = '_';
        } else if (out[i] == '+') {
            out[i] = '-';
        }
    }
    out[20] = 0;
    return 0;
}
