/* proto/rpc.c: see rpc.h. Framing and classification of the signal <-> SFU RPC (docs/RPC.md). */
#include "rpc.h"
#include "err.h"
#include <string.h>

static const char *const method_names[] = { NULL,
#define XX(name, str) str,
                                            RPC_METHOD_MAP(XX)
#undef XX
};

static const char *const event_names[] = { NULL,
#define XX(name, str) str,
                                           RPC_EVENT_MAP(XX)
#undef XX
};

static const char *const err_names[] = { NULL,
#define XX(name, str) str,
                                         RPC_ERR_MAP(XX)
#undef XX
};

const char *rpc_method_str(rpc_method_t m)
{
    return m > RPC_M_UNKNOWN && m < RPC_M_COUNT ? method_names[m] : NULL;
}

const char *rpc_event_str(rpc_event_t e)
{
    return e > RPC_EV_UNKNOWN && e < RPC_EV_COUNT ? event_names[e] : NULL;
}

const char *rpc_err_str(rpc_err_t e)
{
    return e > RPC_OK && e < RPC_E_COUNT ? err_names[e] : "internal";
}

rpc_method_t rpc_method_from_str(const char *s)
{
    for (int i = 1; s && i < RPC_M_COUNT; i++) {
        if (strcmp(s, method_names[i]) == 0) {
            return (rpc_method_t)i;
        }
    }
    return RPC_M_UNKNOWN;
}

rpc_event_t rpc_event_from_str(const char *s)
{
    for (int i = 1; s && i < RPC_EV_COUNT; i++) {
        if (strcmp(s, event_names[i]) == 0) {
            return (rpc_event_t)i;
        }
    }
    return RPC_EV_UNKNOWN;
}

rpc_err_t rpc_err_from_str(const char *s)
{
    for (int i = 1; s && i < RPC_E_COUNT; i++) {
        if (strcmp(s, err_names[i]) == 0) {
            return (rpc_err_t)i;
        }
    }
    return RPC_E_INTERNAL;
}

/* ---- framing ---------------------------------------------------------------------------- */

ssize_t rpc_frame_decode(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
                         size_t *plen, const char **why)
{
    if (len < RPC_HDR_LEN) {
        return PROTO_EAGAIN;
    }
    uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if (n == 0) {
        *why = "zero frame length";
        return PROTO_EINVAL;
    }
    if (n > max) {
        *why = "frame length over the limit";
        return PROTO_ETOOBIG;
    }
    if (len - RPC_HDR_LEN < n) {
        return PROTO_EAGAIN;
    }
    *payload = buf + RPC_HDR_LEN;
    *plen = n;
    return (ssize_t)(RPC_HDR_LEN + n);
}

struct dump_ctx {
    buf_t *out;
    size_t start;
    bool toobig;
};

static int dump_cb(const char *p, size_t n, void *data)
{
    struct dump_ctx *d = data;
    if (d->out->len - d->start + n > RPC_HDR_LEN + RPC_MAX_FRAME || buf_append(d->out, p, n) != 0) {
        d->toobig = true;
        return -1;
    }
    return 0;
}

int rpc_encode(buf_t *out, const json_t *msg)
{
    size_t start = out->len;
    uint8_t hdr[RPC_HDR_LEN] = { 0 };
    if (buf_append(out, hdr, sizeof hdr) != 0) {
        return PROTO_ETOOBIG;
    }
    struct dump_ctx d = { out, start, false };
    if (json_dump_callback(msg, dump_cb, &d, JSON_COMPACT) != 0) {
        /* either a cap was hit or jansson refused the value */
        out->len = start;
        return d.toobig ? PROTO_ETOOBIG : PROTO_EINVAL;
    }
    size_t n = out->len - start - RPC_HDR_LEN;
    if (n == 0 || n > RPC_MAX_FRAME) {
        out->len = start;
        return n ? PROTO_ETOOBIG : PROTO_EINVAL;
    }
    uint8_t *h = out->data + start;
    h[0] = (uint8_t)(n >> 24);
    h[1] = (uint8_t)(n >> 16);
    h[2] = (uint8_t)(n >> 8);
    h[3] = (uint8_t)n;
    return 0;
}

/* ---- messages ----------------------------------------------------------------------------- */

static json_t *id_value(int64_t id)
{
    return id > 0 ? json_integer((json_int_t)id) : json_null();
}

static json_t *obj_or_empty(json_t *v)
{
    return v ? v : json_object();
}

json_t *rpc_request_new(int64_t id, rpc_method_t m, json_t *params)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", id_value(id));
    json_object_set_new(o, "method", json_string(rpc_method_str(m) ? rpc_method_str(m) : ""));
    json_object_set_new(o, "params", obj_or_empty(params));
    return o;
}

json_t *rpc_result_new(int64_t id, json_t *result)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", id_value(id));
    json_object_set_new(o, "result", obj_or_empty(result));
    return o;
}

json_t *rpc_error_new(int64_t id, rpc_err_t code, const char *message)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(rpc_err_str(code)));
    /* the message may quote input: json_string refuses invalid UTF-8, so fall back */
    json_t *m = json_string(message ? message : "");
    json_object_set_new(e, "message", m ? m : json_string("(message not valid UTF-8)"));
    json_t *o = json_object();
    json_object_set_new(o, "id", id_value(id));
    json_object_set_new(o, "error", e);
    return o;
}

json_t *rpc_event_new(rpc_event_t ev, json_t *data)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(rpc_event_str(ev) ? rpc_event_str(ev) : ""));
    json_object_set_new(o, "data", obj_or_empty(data));
    return o;
}

/* Reads "id": an integer >= 1. Returns it, or 0 (absent, null, wrong type, < 1). */
static int64_t read_id(const json_t *root)
{
    json_t *id = json_object_get(root, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 1) {
        return 0;
    }
    return (int64_t)json_integer_value(id);
}

static int fail(rpc_msg_t *m, rpc_err_t code, const char **why, const char *text)
{
    m->kind = RPC_KIND_INVALID;
    m->err = code;
    *why = text;
    return code == RPC_E_INVALID_REQUEST ? PROTO_EINVAL : PROTO_EUNSUPP;
}

static int decode_request(rpc_msg_t *m, json_t *method, const char **why)
{
    if (!m->id) {
        return fail(m, RPC_E_INVALID_REQUEST, why, "request without an integer id >= 1");
    }
    if (!json_is_string(method)) {
        return fail(m, RPC_E_INVALID_REQUEST, why, "method is not a string");
    }
    m->name = json_string_value(method);
    m->method = rpc_method_from_str(m->name);
    if (m->method == RPC_M_UNKNOWN) {
        return fail(m, RPC_E_UNKNOWN_METHOD, why, "unknown method");
    }
    json_t *params = json_object_get(m->root, "params");
    if (!params || json_is_null(params)) {
        params = json_object();
        json_object_set_new(m->root, "params", params);
    }
    if (!json_is_object(params)) {
        return fail(m, RPC_E_INVALID_PARAMS, why, "params is not an object");
    }
    m->body = params;
    m->kind = RPC_KIND_REQUEST;
    return 0;
}

static int decode_response(rpc_msg_t *m, json_t *result, json_t *error, const char **why)
{
    if (result && error) {
        return fail(m, RPC_E_INVALID_REQUEST, why, "response with both result and error");
    }
    if (error) {
        if (!json_is_object(error)) {
            return fail(m, RPC_E_INVALID_REQUEST, why, "error is not an object");
        }
        const char *code = json_string_value(json_object_get(error, "code"));
        if (!code) {
            return fail(m, RPC_E_INVALID_REQUEST, why, "error without a code");
        }
        m->err = rpc_err_from_str(code);
        const char *msg = json_string_value(json_object_get(error, "message"));
        m->err_msg = msg ? msg : "";
        m->body = error;
    } else {
        m->body = result;
    }
    m->kind = RPC_KIND_RESPONSE;
    return 0;
}

int rpc_msg_decode(rpc_msg_t *m, const uint8_t *json, size_t len, const char **why)
{
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    /* no JSON_DECODE_ANY: the top level must be an object or array; \u0000 is refused;
     * duplicate keys: the last wins, as in JSON.parse */
    m->root = json_loadb((const char *)json, len, 0, &jerr);
    if (!m->root) {
        return fail(m, RPC_E_INVALID_REQUEST, why, "not valid JSON");
    }
    if (!json_is_object(m->root)) {
        return fail(m, RPC_E_INVALID_REQUEST, why, "not a JSON object");
    }
    m->id = read_id(m->root);
    json_t *method = json_object_get(m->root, "method");
    json_t *event = json_object_get(m->root, "event");
    json_t *result = json_object_get(m->root, "result");
    json_t *error = json_object_get(m->root, "error");
    int kinds = !!method + !!event + !!(result || error);
    if (kinds != 1) {
        return fail(m, RPC_E_INVALID_REQUEST, why,
                    kinds ? "ambiguous message kind" : "neither request, response nor event");
    }
    if (method) {
        return decode_request(m, method, why);
    }
    if (event) {
        if (!json_is_string(event)) {
            return fail(m, RPC_E_INVALID_REQUEST, why, "event is not a string");
        }
        m->name = json_string_value(event);
        m->event = rpc_event_from_str(m->name);
        m->body = json_object_get(m->root, "data");
        if (!json_is_object(m->body)) {
            return fail(m, RPC_E_INVALID_REQUEST, why, "event data is not an object");
        }
        m->kind = RPC_KIND_EVENT;
        return 0;
    }
    /* "id": null is legal on an error response to a request whose id could not be read */
    if (!m->id && !(error && json_is_null(json_object_get(m->root, "id")))) {
        return fail(m, RPC_E_INVALID_REQUEST, why, "response without an integer id >= 1");
    }
    return decode_response(m, result, error, why);
}

void rpc_msg_deinit(rpc_msg_t *m)
{
    json_decref(m->root);
    m->root = NULL;
    m->body = NULL;
}

/* ---- parameters --------------------------------------------------------------------------- */

bool rpc_id_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > RPC_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

const char *rpc_get_id(const json_t *obj, const char *key, const char **why)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *why = "missing";
        return NULL;
    }
    if (!json_is_string(v)) {
        *why = "not a string";
        return NULL;
    }
    if (!rpc_id_valid(json_string_value(v), json_string_length(v))) {
        *why = "not a valid id (1-128 bytes of A-Za-z0-9_.:-)";
        return NULL;
    }
    return json_string_value(v);
}

const char *rpc_get_str(const json_t *obj, const char *key, size_t max, const char **why)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *why = "missing";
        return NULL;
    }
    if (!json_is_string(v)) {
        *why = "not a string";
        return NULL;
    }
    if (json_string_length(v) > max) {
        *why = "too long";
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        *why = "contains NUL";
        return NULL;
    }
    return json_string_value(v);
}
