/* tests/unit/test_rpc.c: proto/rpc framing, classification, builders and id checks. */
#include "../../proto/err.h"
#include "../../proto/rpc.h"
#include "t.h"

static size_t frame(uint8_t *out, const char *json)
{
    size_t n = strlen(json);
    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memcpy(out + 4, json, n);
    return n + 4;
}

TEST(rpc_tables)
{
    ASSERT_STR_EQ(rpc_method_str(RPC_M_HELLO), "hello");
    ASSERT_STR_EQ(rpc_method_str(RPC_M_PEER_RESTART_ICE), "peer.restart_ice");
    ASSERT(rpc_method_str(RPC_M_UNKNOWN) == NULL);
    ASSERT(rpc_method_str(RPC_M_COUNT) == NULL);
    ASSERT_EQ(rpc_method_from_str("subscriber.answer"), RPC_M_SUBSCRIBER_ANSWER);
    ASSERT_EQ(rpc_method_from_str("Hello"), RPC_M_UNKNOWN);
    ASSERT_EQ(rpc_method_from_str(NULL), RPC_M_UNKNOWN);
    ASSERT_STR_EQ(rpc_event_str(RPC_EV_TRACK_KEYFRAME_NEEDED), "track.keyframe_needed");
    ASSERT_EQ(rpc_event_from_str("peer.state"), RPC_EV_PEER_STATE);
    ASSERT_STR_EQ(rpc_err_str(RPC_E_BAD_STATE), "bad_state");
    ASSERT_STR_EQ(rpc_err_str((rpc_err_t)99), "internal");
    ASSERT_EQ(rpc_err_from_str("draining"), RPC_E_DRAINING);
    ASSERT_EQ(rpc_err_from_str("what"), RPC_E_INTERNAL);
    for (int m = 1; m < RPC_M_COUNT; m++) {
        ASSERT_EQ(rpc_method_from_str(rpc_method_str((rpc_method_t)m)), m);
    }
}

TEST(rpc_frame_decode_partial_and_whole)
{
    uint8_t buf[64];
    size_t n = frame(buf, "{\"a\":1}");
    const uint8_t *p = NULL;
    size_t plen = 0;
    const char *why = NULL;
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(rpc_frame_decode(buf, i, RPC_MAX_FRAME, &p, &plen, &why), PROTO_EAGAIN);
    }
    ASSERT_EQ(rpc_frame_decode(buf, n, RPC_MAX_FRAME, &p, &plen, &why), (ssize_t)n);
    ASSERT_MEM_EQ(p, plen, "{\"a\":1}", 7);
    /* two frames back to back: the first is returned alone */
    size_t m = frame(buf + n, "[]");
    ASSERT_EQ(rpc_frame_decode(buf, n + m, RPC_MAX_FRAME, &p, &plen, &why), (ssize_t)n);
    ASSERT_EQ(rpc_frame_decode(buf + n, m, RPC_MAX_FRAME, &p, &plen, &why), (ssize_t)m);
    ASSERT_MEM_EQ(p, plen, "[]", 2);
}

TEST(rpc_frame_decode_limits)
{
    const uint8_t *p;
    size_t plen;
    const char *why = NULL;
    uint8_t zero[4] = { 0, 0, 0, 0 };
    ASSERT_EQ(rpc_frame_decode(zero, 4, RPC_MAX_FRAME, &p, &plen, &why), PROTO_EINVAL);
    ASSERT(why != NULL);
    uint8_t big[4] = { 0x00, 0x10, 0x00, 0x01 }; /* 1 MiB + 1 */
    why = NULL;
    ASSERT_EQ(rpc_frame_decode(big, 4, RPC_MAX_FRAME, &p, &plen, &why), PROTO_ETOOBIG);
    ASSERT(why != NULL);
    uint8_t max[4] = { 0x00, 0x10, 0x00, 0x00 }; /* exactly 1 MiB: legal, needs more input */
    ASSERT_EQ(rpc_frame_decode(max, 4, RPC_MAX_FRAME, &p, &plen, &why), PROTO_EAGAIN);
    uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
    ASSERT_EQ(rpc_frame_decode(huge, 4, RPC_MAX_FRAME, &p, &plen, &why), PROTO_ETOOBIG);
}

TEST(rpc_encode_roundtrip)
{
    buf_t b;
    buf_init(&b, 0);
    json_t *req = rpc_request_new(7, RPC_M_ROOM_OPEN, json_pack("{s:s}", "room", "r1"));
    ASSERT_EQ(rpc_encode(&b, req), 0);
    json_decref(req);
    const uint8_t *p;
    size_t plen;
    const char *why = NULL;
    ASSERT_EQ(rpc_frame_decode(b.data, b.len, RPC_MAX_FRAME, &p, &plen, &why), (ssize_t)b.len);
    ASSERT_SPAN_STR(p, plen, "{\"id\":7,\"method\":\"room.open\",\"params\":{\"room\":\"r1\"}}");
    rpc_msg_t m;
    ASSERT_EQ(rpc_msg_decode(&m, p, plen, &why), 0);
    ASSERT_EQ(m.kind, RPC_KIND_REQUEST);
    ASSERT_EQ(m.id, 7);
    ASSERT_EQ(m.method, RPC_M_ROOM_OPEN);
    ASSERT_STR_EQ(json_string_value(json_object_get(m.body, "room")), "r1");
    rpc_msg_deinit(&m);
    buf_deinit(&b);
}

TEST(rpc_encode_builders)
{
    buf_t b;
    buf_init(&b, 0);
    json_t *v = rpc_error_new(0, RPC_E_INVALID_REQUEST, "bad");
    ASSERT_EQ(rpc_encode(&b, v), 0);
    json_decref(v);
    ASSERT_SPAN_STR(b.data + 4, b.len - 4,
                    "{\"id\":null,\"error\":{\"code\":\"invalid_request\",\"message\":\"bad\"}}");
    buf_reset(&b);
    v = rpc_result_new(3, NULL);
    ASSERT_EQ(rpc_encode(&b, v), 0);
    json_decref(v);
    ASSERT_SPAN_STR(b.data + 4, b.len - 4, "{\"id\":3,\"result\":{}}");
    buf_reset(&b);
    v = rpc_event_new(RPC_EV_PEER_CANDIDATE, json_pack("{s:s,s:n}", "peer", "p", "candidate"));
    ASSERT_EQ(rpc_encode(&b, v), 0);
    json_decref(v);
    ASSERT_SPAN_STR(b.data + 4, b.len - 4,
                    "{\"event\":\"peer.candidate\",\"data\":{\"peer\":\"p\",\"candidate\":null}}");
    /* invalid UTF-8 in an error message does not lose the response */
    json_t *e = rpc_error_new(1, RPC_E_INTERNAL, "\xff");
    ASSERT(json_is_string(json_object_get(json_object_get(e, "error"), "message")));
    json_decref(e);
    buf_deinit(&b);
}

TEST(rpc_encode_caps)
{
    buf_t b;
    buf_init(&b, 16);
    json_t *v = json_pack("{s:s}", "k", "0123456789012345678901234567890123456789");
    ASSERT_EQ(rpc_encode(&b, v), PROTO_ETOOBIG);
    ASSERT_EQ(b.len, 0); /* unchanged */
    buf_deinit(&b);
    /* a message over RPC_MAX_FRAME is refused even when the buffer could hold it */
    buf_init(&b, 0);
    char *big = malloc(RPC_MAX_FRAME + 1);
    memset(big, 'a', RPC_MAX_FRAME);
    big[RPC_MAX_FRAME] = 0;
    json_t *s = json_pack("{s:s}", "k", big);
    ASSERT_EQ(rpc_encode(&b, s), PROTO_ETOOBIG);
    ASSERT_EQ(b.len, 0);
    json_decref(s);
    json_decref(v);
    free(big);
    buf_deinit(&b);
}

static int decode_str(rpc_msg_t *m, const char *s, const char **why)
{
    return rpc_msg_decode(m, (const uint8_t *)s, strlen(s), why);
}

TEST(rpc_decode_invalid_requests)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "\"str\"",
        "{}",
        "{\"method\":\"hello\"}",                         /* no id */
        "{\"id\":0,\"method\":\"hello\"}",                /* id < 1 */
        "{\"id\":-3,\"method\":\"hello\"}",               /* id < 1 */
        "{\"id\":1.0,\"method\":\"hello\"}",              /* real id */
        "{\"id\":\"1\",\"method\":\"hello\"}",            /* string id */
        "{\"id\":99999999999999999999,\"method\":\"x\"}", /* over int64 */
        "{\"id\":1,\"method\":5}",
        "{\"id\":1,\"method\":\"hello\",\"event\":\"x\"}", /* ambiguous */
        "{\"id\":1,\"method\":\"hello\"} trailing",
        "{\"id\":1,\"method\":\"h\\u0000llo\"}", /* NUL refused */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rpc_msg_t m;
        const char *why = NULL;
        int rc = decode_str(&m, bad[i], &why);
        if (rc == 0 || m.err != RPC_E_INVALID_REQUEST || !why) {
            rpc_msg_deinit(&m);
            T_FAIL_("input %zu (%s) decoded as valid or with the wrong code %d", i, bad[i], m.err);
        }
        rpc_msg_deinit(&m);
    }
}

TEST(rpc_decode_request_errors_keep_id)
{
    rpc_msg_t m;
    const char *why = NULL;
    ASSERT(decode_str(&m, "{\"id\":5,\"method\":\"nope\"}", &why) < 0);
    ASSERT_EQ(m.err, RPC_E_UNKNOWN_METHOD);
    ASSERT_EQ(m.id, 5);
    rpc_msg_deinit(&m);
    ASSERT(decode_str(&m, "{\"id\":6,\"method\":\"hello\",\"params\":[1]}", &why) < 0);
    ASSERT_EQ(m.err, RPC_E_INVALID_PARAMS);
    ASSERT_EQ(m.id, 6);
    rpc_msg_deinit(&m);
    /* no params, or null params: an empty object */
    ASSERT_EQ(decode_str(&m, "{\"id\":8,\"method\":\"stats\"}", &why), 0);
    ASSERT(json_is_object(m.body) && json_object_size(m.body) == 0);
    rpc_msg_deinit(&m);
    ASSERT_EQ(decode_str(&m, "{\"id\":9,\"method\":\"stats\",\"params\":null}", &why), 0);
    ASSERT(json_is_object(m.body));
    rpc_msg_deinit(&m);
}

TEST(rpc_decode_responses_and_events)
{
    rpc_msg_t m;
    const char *why = NULL;
    ASSERT_EQ(decode_str(&m, "{\"id\":4,\"result\":{\"x\":1}}", &why), 0);
    ASSERT_EQ(m.kind, RPC_KIND_RESPONSE);
    ASSERT_EQ(m.id, 4);
    ASSERT_EQ(m.err, RPC_OK);
    ASSERT_EQ(json_integer_value(json_object_get(m.body, "x")), 1);
    rpc_msg_deinit(&m);
    ASSERT_EQ(
        decode_str(&m, "{\"id\":4,\"error\":{\"code\":\"not_found\",\"message\":\"no\"}}", &why),
        0);
    ASSERT_EQ(m.kind, RPC_KIND_RESPONSE);
    ASSERT_EQ(m.err, RPC_E_NOT_FOUND);
    ASSERT_STR_EQ(m.err_msg, "no");
    rpc_msg_deinit(&m);
    ASSERT(decode_str(&m, "{\"id\":4,\"error\":\"x\"}", &why) < 0);
    rpc_msg_deinit(&m);
    ASSERT(decode_str(&m, "{\"result\":{}}", &why) < 0); /* response without id */
    rpc_msg_deinit(&m);
    ASSERT_EQ(decode_str(&m, "{\"event\":\"peer.state\",\"data\":{\"peer\":\"a\"}}", &why), 0);
    ASSERT_EQ(m.kind, RPC_KIND_EVENT);
    ASSERT_EQ(m.event, RPC_EV_PEER_STATE);
    rpc_msg_deinit(&m);
    ASSERT_EQ(decode_str(&m, "{\"event\":\"future.thing\",\"data\":{}}", &why), 0);
    ASSERT_EQ(m.event, RPC_EV_UNKNOWN);
    ASSERT_STR_EQ(m.name, "future.thing");
    rpc_msg_deinit(&m);
    ASSERT(decode_str(&m, "{\"event\":\"stats\"}", &why) < 0); /* no data */
    rpc_msg_deinit(&m);
}

TEST(rpc_ids)
{
    ASSERT(rpc_id_valid("a", 1));
    ASSERT(rpc_id_valid("room_1.x:y-z", 12));
    ASSERT(!rpc_id_valid("", 0));
    ASSERT(!rpc_id_valid("a b", 3));
    ASSERT(!rpc_id_valid("é", 2));
    char id[130];
    memset(id, 'a', sizeof id);
    ASSERT(rpc_id_valid(id, 128));
    ASSERT(!rpc_id_valid(id, 129));
    json_t *o = json_pack("{s:s,s:i,s:s,s:s#}", "ok", "r1", "num", 3, "bad", "a/b", "nul", "a\0b",
                          (size_t)3);
    const char *why = NULL;
    ASSERT_STR_EQ(rpc_get_id(o, "ok", &why), "r1");
    ASSERT(rpc_get_id(o, "num", &why) == NULL && strcmp(why, "not a string") == 0);
    ASSERT(rpc_get_id(o, "bad", &why) == NULL);
    ASSERT(rpc_get_id(o, "missing", &why) == NULL && strcmp(why, "missing") == 0);
    ASSERT(rpc_get_str(o, "ok", 1, &why) == NULL && strcmp(why, "too long") == 0);
    ASSERT_STR_EQ(rpc_get_str(o, "ok", 2, &why), "r1");
    ASSERT(rpc_get_str(o, "nul", 10, &why) == NULL);
    json_decref(o);
}

TEST(rpc_decode_null_id_error_response)
{
    rpc_msg_t m;
    const char *why = NULL;
    ASSERT_EQ(decode_str(&m, "{\"id\":null,\"error\":{\"code\":\"invalid_request\"}}", &why), 0);
    ASSERT_EQ(m.kind, RPC_KIND_RESPONSE);
    ASSERT_EQ(m.id, 0);
    ASSERT_EQ(m.err, RPC_E_INVALID_REQUEST);
    ASSERT_STR_EQ(m.err_msg, "");
    rpc_msg_deinit(&m);
    ASSERT(decode_str(&m, "{\"id\":null,\"result\":{}}", &why) < 0);
    rpc_msg_deinit(&m);
}
