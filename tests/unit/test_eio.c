/* tests/unit/test_eio.c: proto/eio (Engine.IO v3/v4 packet and payload codec), table-driven,
 * including malformed input. */
#include "../../proto/eio.h"
#include "../../proto/err.h"
#include "t.h"

typedef struct {
    int ver;
    const char *in;
    int rc;
    int type;
    int binary;
    int b64;
    const char *data;
} text_case_t;

static const text_case_t text_cases[] = {
    { 4, "4hello", 0, EIO_MESSAGE, 0, 0, "hello" },
    { 4, "2", 0, EIO_PING, 0, 0, "" },
    { 4, "2probe", 0, EIO_PING, 0, 0, "probe" },
    { 4, "6", 0, EIO_NOOP, 0, 0, "" },
    { 4, "bAQID", 0, EIO_MESSAGE, 1, 1, "AQID" },
    { 3, "b4AQID", 0, EIO_MESSAGE, 1, 1, "AQID" },
    { 3, "40", 0, EIO_MESSAGE, 0, 0, "0" },
    { 4, "", PROTO_EINVAL, 0, 0, 0, NULL },
    { 4, "7", PROTO_EINVAL, 0, 0, 0, NULL },
    { 4, "x4", PROTO_EINVAL, 0, 0, 0, NULL },
    { 3, "b", PROTO_EINVAL, 0, 0, 0, NULL },
    { 3, "b2AQID", PROTO_EINVAL, 0, 0, 0, NULL }, /* binary ping: not a message */
    { 3, "bx", PROTO_EINVAL, 0, 0, 0, NULL },
};

TEST(eio_decode_text_table)
{
    for (size_t i = 0; i < sizeof text_cases / sizeof *text_cases; i++) {
        const text_case_t *c = &text_cases[i];
        eio_packet_t p;
        int rc = eio_packet_decode_text(c->ver, (const uint8_t *)c->in, strlen(c->in), &p);
        ASSERT_EQ(rc, c->rc);
        if (rc == 0) {
            ASSERT_EQ(p.type, c->type);
            ASSERT_EQ(p.binary, c->binary);
            ASSERT_EQ(p.b64, c->b64);
            ASSERT_SPAN_STR(p.data, p.len, c->data);
        }
    }
}

TEST(eio_decode_binary)
{
    eio_packet_t p;
    const uint8_t v4[] = { 1, 2, 3 }, v3[] = { 4, 1, 2, 3 }, bad3[] = { 2, 1 };
    ASSERT_EQ(eio_packet_decode_binary(4, v4, 3, &p), 0);
    ASSERT_MEM_EQ(p.data, p.len, v4, 3);
    ASSERT_EQ(eio_packet_decode_binary(3, v3, 4, &p), 0);
    ASSERT_MEM_EQ(p.data, p.len, v4, 3);
    ASSERT_EQ(eio_packet_decode_binary(3, bad3, 2, &p), PROTO_EINVAL);
    ASSERT_EQ(eio_packet_decode_binary(3, v3, 0, &p), PROTO_EINVAL);
    ASSERT_EQ(eio_packet_decode_binary(4, v4, 0, &p), 0); /* an empty binary message */
}

/* Runs a payload through the iterator; writes "type:data|" per packet into out. */
static int run_payload(int ver, bool bin, const void *in, size_t len, char *out, size_t cap)
{
    eio_payload_iter_t it;
    eio_payload_iter_init(&it, ver, bin, in, len);
    eio_packet_t p;
    int rc;
    size_t o = 0;
    out[0] = 0;
    while ((rc = eio_payload_next(&it, &p)) == 1) {
        o += (size_t)snprintf(out + o, cap - o, "%d%s:%.*s|", p.type, p.binary ? "b" : "",
                              (int)p.len, (const char *)p.data);
    }
    return rc;
}

typedef struct {
    int ver;
    const char *in;
    int rc;
    const char *out;
} payload_case_t;

static const payload_case_t payload_cases[] = {
    { 4, "4hello", 0, "4:hello|" },
    { 4,
      "4a\x1e"
      "4b\x1e"
      "2",
      0, "4:a|4:b|2:|" },
    { 4,
      "4a\x1e"
      "bAQID",
      0, "4:a|4b:AQID|" },
    { 4, "", PROTO_EINVAL, "" },
    { 4, "4a\x1e", PROTO_EINVAL, "4:a|" },
    { 4,
      "\x1e"
      "4a",
      PROTO_EINVAL, "" },
    { 4,
      "4a\x1e\x1e"
      "4b",
      PROTO_EINVAL, "4:a|" },
    { 3, "6:4hello2:40", 0, "4:hello|4:0|" },
    { 3, "3:4\xf0\x9f\x98\x80", 0, "4:\xf0\x9f\x98\x80|" }, /* an emoji is 2 UTF-16 units */
    { 3, "2:4\xf0\x9f\x98\x80", PROTO_EINVAL, "" },         /* ... so 2 splits it */
    { 3,
      "3:4\xc3\xbc\xc3\xbc"
      "1:2",
      0, "4:\xc3\xbc\xc3\xbc|2:|" },
    { 3, "0:1:2", 0, "2:|" },
    { 3, "", PROTO_EINVAL, "" },
    { 3, "6:4hell", PROTO_EINVAL, "" },
    { 3, "x:4a", PROTO_EINVAL, "" },
    { 3, "2:4a3", PROTO_EINVAL, "4:a|" },
    { 3, ":4a", PROTO_EINVAL, "" },
    { 3, "6:b4AQID", 0, "4b:AQID|" },
    { 3, "2:9x", PROTO_EINVAL, "" },
};

TEST(eio_payload_table)
{
    for (size_t i = 0; i < sizeof payload_cases / sizeof *payload_cases; i++) {
        const payload_case_t *c = &payload_cases[i];
        char out[256];
        int rc = run_payload(c->ver, false, c->in, strlen(c->in), out, sizeof out);
        if (rc != c->rc || strcmp(out, c->out) != 0) {
            T_FAIL_("case %zu \"%s\": rc %d out \"%s\", want %d \"%s\"", i, c->in, rc, out, c->rc,
                    c->out);
        }
    }
}

TEST(eio_payload_v3_binary)
{
    /* text "4hi" (3 bytes) then binary message 0x04 0x01 0x02 (3 bytes) */
    const uint8_t in[] = { 0, 3, 0xff, '4', 'h', 'i', 1, 3, 0xff, 4, 1, 2 };
    eio_payload_iter_t it;
    eio_payload_iter_init(&it, 3, true, in, sizeof in);
    eio_packet_t p;
    ASSERT_EQ(eio_payload_next(&it, &p), 1);
    ASSERT_EQ(p.type, EIO_MESSAGE);
    ASSERT_EQ(p.binary, 0);
    ASSERT_SPAN_STR(p.data, p.len, "hi");
    ASSERT_EQ(eio_payload_next(&it, &p), 1);
    ASSERT_EQ(p.binary, 1);
    ASSERT_EQ(p.len, 2);
    ASSERT_EQ(p.data[0], 1);
    ASSERT_EQ(eio_payload_next(&it, &p), 0);
    /* malformed: length past the end, a digit byte > 9, no 0xff, kind 2 */
    const uint8_t bad1[] = { 0, 9, 0xff, '4' }, bad2[] = { 0, 12, 0xff, '4' }, bad3[] = { 0, 1, 1 },
                  bad4[] = { 2, 1, 0xff, '4' };
    const uint8_t *bads[] = { bad1, bad2, bad3, bad4 };
    size_t lens[] = { sizeof bad1, sizeof bad2, sizeof bad3, sizeof bad4 };
    for (int i = 0; i < 4; i++) {
        eio_payload_iter_init(&it, 3, true, bads[i], lens[i]);
        ASSERT_EQ(eio_payload_next(&it, &p), PROTO_EINVAL);
    }
    /* v4 never takes a binary body */
    eio_payload_iter_init(&it, 4, true, in, sizeof in);
    ASSERT_EQ(eio_payload_next(&it, &p), PROTO_EINVAL);
}

TEST(eio_open_packet)
{
    char out[256];
    ssize_t n = eio_open_encode(out, sizeof out, "abc", true, 25000, 20000, 1000000);
    const char *want = "0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
                       "\"pingTimeout\":20000,\"maxPayload\":1000000}";
    ASSERT_SPAN_STR(out, n, want);
    n = eio_open_encode(out, sizeof out, "abc", false, 1, 2, 3);
    ASSERT_SPAN_STR(out, n,
                    "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":1,\"pingTimeout\":2,"
                    "\"maxPayload\":3}");
    ASSERT_EQ(eio_open_encode(out, 10, "abc", false, 1, 2, 3), PROTO_ETOOBIG);
}

TEST(eio_prefixes)
{
    char t[24];
    size_t n = eio_v3_text_prefix(t, (const uint8_t *)"4\xf0\x9f\x98\x80", 5);
    ASSERT_SPAN_STR(t, n, "3:");
    uint8_t b[24];
    n = eio_v3_bin_prefix(b, true, 120);
    const uint8_t want[] = { 1, 1, 2, 0, 0xff };
    ASSERT_MEM_EQ(b, n, want, sizeof want);
}

TEST(eio_base64)
{
    const char *plain[] = { "", "a", "ab", "abc", "abcd", "\x00\xff\x10" };
    size_t plen[] = { 0, 1, 2, 3, 4, 3 };
    for (int i = 0; i < 6; i++) {
        char enc[16];
        uint8_t dec[16];
        size_t e = eio_b64_encode((const uint8_t *)plain[i], plen[i], enc);
        ASSERT_EQ(e, EIO_B64_ENC_LEN(plen[i]));
        ssize_t d = eio_b64_decode(enc, e, dec);
        ASSERT_MEM_EQ(dec, d, plain[i], plen[i]);
        /* unpadded input decodes too */
        while (e && enc[e - 1] == '=') {
            e--;
        }
        d = eio_b64_decode(enc, e, dec);
        ASSERT_MEM_EQ(dec, d, plain[i], plen[i]);
    }
    uint8_t dec[16];
    ASSERT_EQ(eio_b64_decode("A", 1, dec), PROTO_EINVAL);
    ASSERT_EQ(eio_b64_decode("AQ=I", 4, dec), PROTO_EINVAL);
    ASSERT_EQ(eio_b64_decode("AQ I", 4, dec), PROTO_EINVAL);
    ASSERT_EQ(eio_b64_decode("AQ==", 4, dec), 1);
    ASSERT_EQ(eio_b64_decode("AQI=", 4, dec), 2);
}

TEST(eio_id)
{
    char a[21], b[21];
    ASSERT_EQ(eio_id_generate(a), 0);
    ASSERT_EQ(eio_id_generate(b), 0);
    ASSERT_EQ(strlen(a), 20);
    ASSERT(strcmp(a, b) != 0);
    for (int i = 0; i < 20; i++) {
        ASSERT(a[i] != '+' && a[i] != '/' && a[i] != '=');
    }
}
