/* tests/unit/test_sio.c: proto/sio (Socket.IO packet codec and raw-JSON scanner),
 * table-driven, including malformed input. */
#include "../../proto/err.h"
#include "../../proto/sio.h"
#include "t.h"

typedef struct {
    const char *in;
    int rc;
    int type;
    const char *nsp;
    long long id;
    unsigned natt;
    const char *data; /* NULL: no payload */
} pkt_case_t;

static const pkt_case_t pkt_cases[] = {
    { "0", 0, SIO_CONNECT, "/", -1, 0, NULL },
    { "0{\"token\":\"x\"}", 0, SIO_CONNECT, "/", -1, 0, "{\"token\":\"x\"}" },
    { "0/custom,", 0, SIO_CONNECT, "/custom", -1, 0, NULL },
    { "0/custom?token=x,", 0, SIO_CONNECT, "/custom?token=x", -1, 0, NULL },
    { "0/custom", 0, SIO_CONNECT, "/custom", -1, 0, NULL },
    { "1", 0, SIO_DISCONNECT, "/", -1, 0, NULL },
    { "1/a,", 0, SIO_DISCONNECT, "/a", -1, 0, NULL },
    { "2[\"message\",1,\"2\",{\"3\":[true]}]", 0, SIO_EVENT, "/", -1, 0,
      "[\"message\",1,\"2\",{\"3\":[true]}]" },
    { "2/a,12[\"x\"]", 0, SIO_EVENT, "/a", 12, 0, "[\"x\"]" },
    { "212[\"x\"]", 0, SIO_EVENT, "/", 12, 0, "[\"x\"]" },
    { "2[7]", 0, SIO_EVENT, "/", -1, 0, "[7]" },
    { "3/a,5[]", 0, SIO_ACK, "/a", 5, 0, "[]" },
    { "35", 0, SIO_ACK, "/", 5, 0, NULL },
    { "4{\"message\":\"no\"}", 0, SIO_CONNECT_ERROR, "/", -1, 0, "{\"message\":\"no\"}" },
    { "4\"no\"", 0, SIO_CONNECT_ERROR, "/", -1, 0, "\"no\"" },
    { "51-[\"b\",{\"_placeholder\":true,\"num\":0}]", 0, SIO_BINARY_EVENT, "/", -1, 1,
      "[\"b\",{\"_placeholder\":true,\"num\":0}]" },
    { "62-/a,3[{\"num\":1,\"_placeholder\":true},{\"_placeholder\":true,\"num\":0}]", 0,
      SIO_BINARY_ACK, "/a", 3, 2,
      "[{\"num\":1,\"_placeholder\":true},{\"_placeholder\":true,\"num\":0}]" },
    { "2[\"a\\ud800\"]", 0, SIO_EVENT, "/", -1, 0, "[\"a\\ud800\"]" }, /* lone surrogate: relayed */
    { "2[\"x\",9223372036854775808]", 0, SIO_EVENT, "/", -1, 0, "[\"x\",9223372036854775808]" },
    /* malformed */
    { "", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "7", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "x", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2{}", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"connect\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"disconnect\",1]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[true]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\"", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\"]x", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\",]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\",01]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\",1.]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\\x\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\tb\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "2[\"a\\u12g4\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "0[]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "0\"x\"", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "1{}", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "3{}", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "4", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "4[1]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "5[\"b\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "5-[\"b\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "50-[\"b\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "511-[\"b\"]", PROTO_ETOOBIG, 0, NULL, 0, 0, NULL },
    { "599999999-[\"b\"]", PROTO_ETOOBIG, 0, NULL, 0, 0, NULL },
    { "51-[\"b\",{\"_placeholder\":true,\"num\":1}]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "51-[\"b\",{\"_placeholder\":true}]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "51-[\"b\",{\"_placeholder\":true,\"num\":-1}]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "51-[\"b\",{\"_placeholder\":true,\"num\":0.5}]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "6", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
    { "299999999999999999[\"a\"]", PROTO_EINVAL, 0, NULL, 0, 0, NULL },
};

TEST(sio_decode_table)
{
    for (size_t i = 0; i < sizeof pkt_cases / sizeof *pkt_cases; i++) {
        const pkt_case_t *c = &pkt_cases[i];
        sio_packet_t p;
        const char *why = NULL;
        int rc = sio_packet_decode(c->in, strlen(c->in), NULL, &p, &why);
        if (rc != c->rc) {
            T_FAIL_("case %zu \"%s\": rc %d (%s), want %d", i, c->in, rc, why ? why : "", c->rc);
        }
        if (rc != 0) {
            ASSERT(why != NULL);
            continue;
        }
        ASSERT_EQ(p.type, c->type);
        ASSERT_SPAN_STR(p.nsp, p.nsp_len, c->nsp);
        ASSERT_EQ(p.id, c->id);
        ASSERT_EQ(p.nattach, c->natt);
        if (c->data) {
            ASSERT_SPAN_STR(p.data, p.data_len, c->data);
        } else {
            ASSERT(p.data == NULL);
        }
    }
}

TEST(sio_depth_limit)
{
    char deep[300];
    size_t n = 0;
    deep[n++] = '2';
    deep[n++] = '[';
    deep[n++] = '1';
    deep[n++] = ',';
    for (int i = 0; i < 100; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 100; i++) {
        deep[n++] = ']';
    }
    deep[n++] = ']';
    sio_packet_t p;
    ASSERT_EQ(sio_packet_decode(deep, n, NULL, &p, NULL), PROTO_EINVAL);
    sio_limits_t lim = { 10, 200 };
    ASSERT_EQ(sio_packet_decode(deep, n, &lim, &p, NULL), 0);
}

TEST(sio_event_split_cases)
{
    const char *name, *args;
    size_t nl, al;
    const char *in = " [ \"ev\" , 1, \"2\" , {\"3\":[true]} ] ";
    ASSERT_EQ(sio_event_split(in, strlen(in), &name, &nl, &args, &al), 0);
    ASSERT_SPAN_STR(name, nl, "\"ev\"");
    ASSERT_SPAN_STR(args, al, "1, \"2\" , {\"3\":[true]}");
    ASSERT_EQ(sio_event_split("[\"e\"]", 5, &name, &nl, &args, &al), 0);
    ASSERT_EQ(al, 0);
    ASSERT_EQ(sio_event_split("[]", 2, &name, &nl, &args, &al), PROTO_EINVAL);
    ASSERT_EQ(sio_event_split("{}", 2, &name, &nl, &args, &al), PROTO_EINVAL);
    const char *inner;
    size_t il;
    ASSERT_EQ(sio_array_inner("[ 1 ,2 ]", 8, &inner, &il), 0);
    ASSERT_SPAN_STR(inner, il, "1 ,2");
}

TEST(sio_unescape)
{
    const char *cases[][2] = {
        { "\"abc\"", "abc" },
        { "\"a\\\"b\\\\c\\/\\n\"", "a\"b\\c/\n" },
        { "\"\\u00fc\"", "\xc3\xbc" },
        { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
        { "\"\\ud800x\"", "\xef\xbf\xbdx" },
        { "\"\\udc00\"", "\xef\xbf\xbd" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_t b;
        buf_init(&b, 0);
        ASSERT_EQ(sio_json_unescape(cases[i][0], strlen(cases[i][0]), &b), 0);
        ASSERT_MEM_EQ(b.data, b.len, cases[i][1], strlen(cases[i][1]));
        buf_deinit(&b);
    }
    buf_t b;
    buf_init(&b, 0);
    ASSERT_EQ(sio_json_unescape("\"abc", 4, &b), PROTO_EINVAL);
    ASSERT_EQ(sio_json_unescape("1", 1, &b), PROTO_EINVAL);
    buf_deinit(&b);
}

TEST(sio_json_get_cases)
{
    const char *o = "{\"message\":\"no\",\"data\":{\"a\":[1,2]}}";
    const char *v;
    size_t vl;
    ASSERT_EQ(sio_json_get(o, strlen(o), "data", &v, &vl), 0);
    ASSERT_SPAN_STR(v, vl, "{\"a\":[1,2]}");
    ASSERT_EQ(sio_json_get(o, strlen(o), "message", &v, &vl), 0);
    ASSERT_SPAN_STR(v, vl, "\"no\"");
    ASSERT_EQ(sio_json_get(o, strlen(o), "a", &v, &vl), PROTO_EINVAL);
    ASSERT_EQ(sio_json_get("[1]", 3, "a", &v, &vl), PROTO_EINVAL);
    ASSERT_EQ(sio_json_validate(" {\"a\" : null} ", 14, 0), 0);
    ASSERT_EQ(sio_json_validate("nul", 3, 0), PROTO_EINVAL);
    ASSERT_EQ(sio_json_validate("-0.5e+3", 7, 0), 0);
    ASSERT_EQ(sio_json_validate("1 2", 3, 0), PROTO_EINVAL);
}

TEST(sio_encode)
{
    buf_t b;
    buf_init(&b, 0);
    ASSERT_EQ(sio_encode_event(&b, "/", -1, "message-back", "1,\"2\"", 5, 0), 0);
    ASSERT_SPAN_STR(b.data, b.len, "2[\"message-back\",1,\"2\"]");
    buf_reset(&b);
    sio_encode_event(&b, "/custom", 7, "e\"v", "", 0, 0);
    ASSERT_SPAN_STR(b.data, b.len, "2/custom,7[\"e\\\"v\"]");
    buf_reset(&b);
    sio_encode_event(&b, "/", -1, "b", "{\"_placeholder\":true,\"num\":0}", 29, 1);
    ASSERT_SPAN_STR(b.data, b.len, "51-[\"b\",{\"_placeholder\":true,\"num\":0}]");
    buf_reset(&b);
    sio_encode_ack(&b, "/a", 3, "", 0, 0);
    ASSERT_SPAN_STR(b.data, b.len, "3/a,3[]");
    buf_reset(&b);
    sio_encode_ack(&b, "/", 0, "{\"_placeholder\":true,\"num\":0}", 29, 1);
    ASSERT_SPAN_STR(b.data, b.len, "61-0[{\"_placeholder\":true,\"num\":0}]");
    buf_reset(&b);
    sio_encode_header(&b, SIO_CONNECT_ERROR, 0, "/x", -1);
    ASSERT_SPAN_STR(b.data, b.len, "4/x,");
    buf_deinit(&b);
}

/* encode -> decode round trip keeps the raw bytes of the arguments */
TEST(sio_round_trip)
{
    const char *args[] = { "", "1,\"2\",{\"3\":[true]}", "\"\\ud800\"", "1e400,-0,0.1" };
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) {
        buf_t b;
        buf_init(&b, 0);
        sio_encode_event(&b, "/n", 4, "ev", args[i], strlen(args[i]), 0);
        sio_packet_t p;
        ASSERT_EQ(sio_packet_decode((const char *)b.data, b.len, NULL, &p, NULL), 0);
        const char *name, *a;
        size_t nl, al;
        ASSERT_EQ(sio_event_split(p.data, p.data_len, &name, &nl, &a, &al), 0);
        ASSERT_SPAN_STR(a, al, args[i]);
        ASSERT_EQ(p.id, 4);
        buf_deinit(&b);
    }
}
