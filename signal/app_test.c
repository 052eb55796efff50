/* signal/app_test.c: the test application (`--app test`) the integration and conformance
 * suites drive: a raw Engine.IO echo at /engine.io/, and Socket.IO namespaces "/" and
 * "/custom" with auth/message/ack/join/bcast/echo behaviour, CORS "*", no auth, no limits
 * beyond the protocol's. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/sio.h"
#include "app.h"
#include "eio.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct app_test_state {
    sio_server_t *sio;
    eio_server_t *raw;
    /* `ask`: server->client acks in flight and how they ended (GET /health "asks") */
    uint64_t asks_pending, asks_answered, asks_timeout, asks_gone;
} app_test_state_t;

#define ASK_TIMEOUT_MS 2000

/* One `ask` waiting for the client's answer to `question`. */
typedef struct ask {
    app_test_state_t *st;
    sio_nsp_t *nsp;
    int64_t ack_id; /* the client's ack id of `ask` */
} ask_t;

/* ---- raw Engine.IO echo ---------------------------------------------------------------- */

static void raw_open(eio_session_t *s, const http_req_t *req, void *ud)
{
}

static void raw_message(eio_session_t *s, uint8_t *data, size_t len, bool binary, void *ud)
{
    eio_send(s, data, len, binary);
}

static void raw_close(eio_session_t *s, const char *reason, void *ud)
{
}

/* ---- Socket.IO ------------------------------------------------------------------------- */

static int on_connect(sio_socket_t *s, const sio_handshake_t *hs, void *ud, char **err_json)
{
    if (hs->auth && hs->auth_len) {
        sio_emit(s, "auth", hs->auth, hs->auth_len);
    } else {
        sio_emit(s, "auth", "{}", 2);
    }
    return 0;
}

/* Splits args into the first argument and the rest (both raw JSON). */
static int first_arg(const sio_event_t *ev, buf_t *tmp, const char **a0, size_t *a0_len,
                     const char **rest, size_t *rest_len)
{
    buf_append_byte(tmp, '[');
    buf_append(tmp, ev->args, ev->args_len);
    buf_append_byte(tmp, ']');
    return sio_event_split((const char *)tmp->data, tmp->len, a0, a0_len, rest, rest_len);
}

static void on_join(sio_socket_t *s, const sio_event_t *ev)
{
    buf_t tmp, room, out;
    buf_init(&tmp, 0);
    buf_init(&room, 0);
    buf_init(&out, 0);
    const char *a0, *rest;
    size_t a0_len, rest_len;
    if (first_arg(ev, &tmp, &a0, &a0_len, &rest, &rest_len) == 0 && a0[0] == '"' &&
        sio_json_unescape(a0, a0_len, &room) == 0) {
        buf_append_byte(&room, 0);
        sio_join(s, (const char *)room.data);
        buf_printf(&out, "{\"ok\":true,\"room\":%.*s,\"size\":%zu}", (int)a0_len, a0,
                   sio_room_size(sio_socket_nsp(s), (const char *)room.data));
    } else {
        buf_append_str(&out, "{\"ok\":false}");
    }
    if (ev->ack_id >= 0) {
        sio_ack(s, ev->ack_id, (const char *)out.data, out.len);
    }
    buf_deinit(&tmp);
    buf_deinit(&room);
    buf_deinit(&out);
}

static void on_bcast(sio_socket_t *s, const sio_event_t *ev)
{
    buf_t tmp, room;
    buf_init(&tmp, 0);
    buf_init(&room, 0);
    const char *a0, *rest;
    size_t a0_len, rest_len;
    if (first_arg(ev, &tmp, &a0, &a0_len, &rest, &rest_len) == 0 && a0[0] == '"' &&
        sio_json_unescape(a0, a0_len, &room) == 0) {
        buf_append_byte(&room, 0);
        sio_broadcast_bin(sio_socket_nsp(s), (const char *)room.data, sio_socket_id(s), "bcast",
                          rest, rest_len, ev->attachments, ev->nattach);
    }
    if (ev->ack_id >= 0) {
        sio_ack(s, ev->ack_id, "", 0);
    }
    buf_deinit(&tmp);
    buf_deinit(&room);
}

/* The client answered `question` (or did not in time, or is gone): ack the original `ask`
 * with {"answer":[<reply args>]} (attachments passed on) or {"timeout":true}. */
static void on_answer(const char *socket_id, bool timed_out, const sio_event_t *reply, void *ud)
{
    ask_t *a = ud;
    app_test_state_t *st = a->st;
    st->asks_pending--;
    sio_socket_t *s = sio_socket_find(a->nsp, socket_id);
    if (!s) {
        st->asks_gone++;
        LOG_I("app", "ask settled", "\"id\":\"%s\",\"result\":\"gone\",\"timed_out\":%s", socket_id,
              timed_out ? "true" : "false");
    } else if (timed_out) {
        st->asks_timeout++;
        sio_ack(s, a->ack_id, "{\"timeout\":true}", 16);
    } else {
        st->asks_answered++;
        buf_t out;
        buf_init(&out, 0);
        buf_append_str(&out, "{\"answer\":[");
        buf_append(&out, reply->args, reply->args_len);
        buf_append_str(&out, "]}");
        sio_ack_bin(s, a->ack_id, (const char *)out.data, out.len, reply->attachments,
                    reply->nattach);
        buf_deinit(&out);
    }
    free(a);
}

/* ask(payload[, {timeout: ms}], ack): emits `question` with payload and an ack to the client;
 * the client's answer (or the timeout, 2 s by default) acks the `ask`. */
static void on_ask(sio_socket_t *s, const sio_event_t *ev, app_test_state_t *st)
{
    if (ev->ack_id < 0) {
        return;
    }
    buf_t tmp;
    buf_init(&tmp, 0);
    const char *a0 = "", *rest = "";
    size_t a0_len = 0, rest_len = 0;
    if (ev->args_len && first_arg(ev, &tmp, &a0, &a0_len, &rest, &rest_len) != 0) {
        a0_len = rest_len = 0;
    }
    uint32_t timeout = ASK_TIMEOUT_MS;
    if (rest_len) {
        buf_t arr;
        buf_init(&arr, 0);
        buf_append_byte(&arr, '[');
        buf_append(&arr, rest, rest_len);
        buf_append_byte(&arr, ']');
        json_t *o = json_loadb((const char *)arr.data, arr.len, 0, NULL);
        buf_deinit(&arr);
        json_t *t = json_is_array(o) ? json_object_get(json_array_get(o, 0), "timeout") : NULL;
        if (json_is_integer(t) && json_integer_value(t) > 0 && json_integer_value(t) <= 60000) {
            timeout = (uint32_t)json_integer_value(t);
        }
        json_decref(o);
    }
    ask_t *a = xcalloc(1, sizeof(*a));
    a->st = st;
    a->nsp = sio_socket_nsp(s);
    a->ack_id = ev->ack_id;
    st->asks_pending++;
    /* on_answer runs exactly once, even when this fails */
    sio_emit_ack(s, "question", a0, a0_len, timeout, on_answer, a);
    buf_deinit(&tmp);
}

static void on_event(sio_socket_t *s, const sio_event_t *ev, void *ud)
{
    if (strcmp(ev->name, "message") == 0) {
        sio_emit_bin(s, "message-back", ev->args, ev->args_len, ev->attachments, ev->nattach);
    } else if (strcmp(ev->name, "message-with-ack") == 0) {
        if (ev->ack_id >= 0) {
            sio_ack_bin(s, ev->ack_id, ev->args, ev->args_len, ev->attachments, ev->nattach);
        }
    } else if (strcmp(ev->name, "ask") == 0) {
        on_ask(s, ev, ud);
    } else if (strcmp(ev->name, "join") == 0) {
        on_join(s, ev);
    } else if (strcmp(ev->name, "bcast") == 0) {
        on_bcast(s, ev);
    } else if (strcmp(ev->name, "disconnect-me") == 0) {
        sio_disconnect(s); /* socket.disconnect(): this namespace only */
    } else if (strcmp(ev->name, "close-session") == 0) {
        sio_close_session(s); /* socket.disconnect(true): the whole session */
    } else if (strcmp(ev->name, "echo") == 0) {
        if (ev->ack_id >= 0) {
            /* ack(payload): the first argument only */
            buf_t tmp;
            buf_init(&tmp, 0);
            const char *a0, *rest;
            size_t a0_len = 0, rest_len;
            if (ev->args_len == 0 || first_arg(ev, &tmp, &a0, &a0_len, &rest, &rest_len) != 0) {
                a0 = "";
                a0_len = 0;
            }
            sio_ack_bin(s, ev->ack_id, a0, a0_len, ev->attachments, ev->nattach);
            buf_deinit(&tmp);
        }
    }
}

static void on_disconnect(sio_socket_t *s, const char *reason, void *ud)
{
    LOG_D("app", "disconnect", "\"id\":\"%s\",\"reason\":\"%s\"", sio_socket_id(s), reason);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static int on_health(http_req_t *req, http_res_t *res, void *ud)
{
    app_test_state_t *st = ud;
    sio_stats_t ss;
    sio_server_stats(st->sio, &ss);
    size_t rp, rw;
    eio_server_counts(st->raw, &rp, &rw);
    res->content_type = "application/json";
    buf_printf(&res->body,
               "{\"status\":\"ok\",\"sessions\":{\"polling\":%llu,\"websocket\":%llu},"
               "\"sockets\":%llu,\"engineio\":%zu,\"connections\":%zu,"
               "\"asks\":{\"pending\":%llu,\"answered\":%llu,\"timeout\":%llu,\"gone\":%llu}}",
               (unsigned long long)ss.sessions_polling, (unsigned long long)ss.sessions_websocket,
               (unsigned long long)ss.sockets, rp + rw,
               http_server_conns(http_conn_server(req->conn)), (unsigned long long)st->asks_pending,
               (unsigned long long)st->asks_answered, (unsigned long long)st->asks_timeout,
               (unsigned long long)st->asks_gone);
    return HTTP_DONE;
}

static const char *cors_origin(void)
{
    return "*";
}

static int start(app_env_t *env, void **state)
{
    app_test_state_t *st = xcalloc(1, sizeof(*st));
    st->sio = env->sio;
    static const sio_nsp_ops_t ops = { on_connect, on_event, on_disconnect };
    sio_nsp_add(env->sio, "/", &ops, st);
    sio_nsp_add(env->sio, "/custom", &ops, st);
    static const eio_handler_t raw = { raw_open, raw_message, raw_close };
    const sio_config_t *c = env->sio_cfg;
    eio_config_t ec = { c->ping_interval, c->ping_timeout, c->upgrade_timeout, c->max_payload, 0,
                        c->close_timeout };
    st->raw = eio_server_new(env->http, "/engine.io/", &ec, &raw, st);
    http_route(env->http, "GET", "/health", HTTP_MATCH_EXACT, 0, on_health, st);
    *state = st;
    return 0;
}

static void stop(void *state)
{
    app_test_state_t *st = state;
    eio_server_close(st->raw);
}

static void app_free(void *state)
{
    app_test_state_t *st = state;
    eio_server_free(st->raw);
    free(st);
}

const app_t app_test = {
    "test",
    "protocol test app: echo Engine.IO at /engine.io/, Socket.IO test events at /socket.io/",
    NULL,
    cors_origin,
    start,
    stop,
    app_free,
};
