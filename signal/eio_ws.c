/* signal/eio_ws.c: the WebSocket transport (engine.io transports/websocket.js over our RFC 6455
 * codec in proto/ws): the upgrade handshake, frame input (one Engine.IO packet per message,
 * messages capped at maxPayload), frame output from the shared packet buffers, the probe
 * socket of a polling session's upgrade, and closing. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "eio_impl.h"
#include <stdlib.h>
#include <string.h>

static void ws_free(eio_ws_t *w)
{
    ws_asm_deinit(&w->asm_);
    buf_deinit(&w->in);
    free(w);
}

void eio__ws_close(eio_ws_t *w, uint16_t code)
{
    if (w->closing) {
        return;
    }
    w->closing = true;
    eio_session_t *s = w->sess;
    if (s) {
        if (s->ws == w) {
            s->ws = NULL;
        }
        if (s->probe == w) {
            s->probe = NULL;
            s->upgrading = false;
            tq_stop(&s->up);
        }
        w->sess = NULL;
    }
    uint8_t payload[WS_MAX_CONTROL], hdr[WS_MAX_HEADER];
    size_t plen = ws_close_build(payload, code, NULL, 0);
    size_t hlen = ws_frame_header_encode(hdr, WS_OP_CLOSE, true, plen, NULL);
    http_part_t parts[2] = { { hdr, hlen, NULL }, { payload, plen, NULL } };
    http_conn_write(w->conn, parts, plen ? 2 : 1);
    http_conn_close(w->conn, true);
}

/* The peer's connection is gone (or we closed it): the last point where w is used. */
static void on_conn_close(http_conn_t *c, void *ud)
{
    eio_ws_t *w = ud;
    eio_session_t *s = w->sess;
    if (s) {
        if (s->probe == w) {
            s->probe = NULL;
            s->upgrading = false;
            tq_stop(&s->up);
        } else if (s->ws == w) {
            s->ws = NULL;
            eio_session_close(s, "transport close");
        }
        w->sess = NULL;
    }
    ws_free(w);
}

static void send_frame(eio_ws_t *w, uint8_t op, const uint8_t *p, size_t len)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hlen = ws_frame_header_encode(hdr, op, true, len, NULL);
    http_part_t parts[2] = { { hdr, hlen, NULL }, { p, len, NULL } };
    http_conn_write(w->conn, parts, len ? 2 : 1);
}

void eio__ws_send_one(eio_ws_t *w, shbuf_t *pkt)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hlen = ws_frame_header_encode(hdr, WS_OP_TEXT, true, pkt->len, NULL);
    http_part_t parts[2] = { { hdr, hlen, NULL }, { pkt->data, pkt->len, pkt } };
    http_conn_write(w->conn, parts, 2);
}

void eio__ws_flush(eio_ws_t *w, eio_session_t *s)
{
    if (!s->qlen || w->closing) {
        return;
    }
    /* one scratch buffer holds every frame header (+ the v3 binary type byte) */
    shbuf_t *hdrs = shbuf_new(s->qlen * (WS_MAX_HEADER + 1));
    http_part_t *parts = xmalloc(2 * s->qlen * sizeof(*parts));
    size_t off = 0, n = 0;
    for (size_t i = 0; i < s->qlen; i++) {
        shbuf_t *b = s->q[i].buf;
        bool v3bin = s->q[i].binary && s->ver == 3;
        uint8_t *h = hdrs->data + off;
        size_t hl = ws_frame_header_encode(h, s->q[i].binary ? WS_OP_BINARY : WS_OP_TEXT, true,
                                           b->len + (v3bin ? 1 : 0), NULL);
        if (v3bin) {
            h[hl++] = EIO_MESSAGE; /* parser-v3: binary packets start with their type */
        }
        off += hl;
        parts[n++] = (http_part_t){ h, hl, hdrs };
        parts[n++] = (http_part_t){ b->data, b->len, b };
    }
    http_conn_write(w->conn, parts, n);
    free(parts);
    shbuf_unref(hdrs);
    eio__drop_queue(s);
}

static void fail(eio_ws_t *w, int err, const char *why)
{
    eio_session_t *s = w->sess;
    LOG_D("eio", "websocket error", "\"sid\":\"%s\",\"why\":\"%s\"", s ? s->sid : "", log_esc(why));
    bool main = s && s->ws == w;
    eio__ws_close(w, ws_close_code_for(err));
    if (main) {
        eio_session_close(s, "transport error");
    }
}

static void on_message(eio_ws_t *w, const ws_msg_t *m)
{
    eio_session_t *s = w->sess;
    if (!s) {
        return;
    }
    eio_packet_t p;
    int rc = m->opcode == WS_OP_TEXT ? eio_packet_decode_text(w->ver, m->data, m->len, &p)
                                     : eio_packet_decode_binary(w->ver, m->data, m->len, &p);
    if (rc != 0) {
        if (w->probe) {
            eio__ws_close(w, 0);
        } else {
            eio__ws_close(w, 0);
            eio_session_close(s, "parse error");
        }
        return;
    }
    eio__on_packet(s, w, &p);
}

static void on_control(eio_ws_t *w, const ws_msg_t *m)
{
    if (m->opcode == WS_OP_PING) {
        send_frame(w, WS_OP_PONG, m->data, m->len);
    } else if (m->opcode == WS_OP_CLOSE) {
        uint16_t code;
        const uint8_t *reason;
        size_t rlen;
        const char *why;
        int rc = ws_close_parse(m->data, m->len, &code, &reason, &rlen, &why);
        eio_session_t *s = w->sess;
        bool main = s && s->ws == w;
        /* RFC 6455 5.5.1: echo the status code */
        eio__ws_close(w, rc != 0 ? ws_close_code_for(rc) : code == WS_CLOSE_NO_STATUS ? 0 : code);
        if (main) {
            eio_session_close(s, "transport close");
        }
    }
}

/* Consumes complete frames from p[0..n); returns the bytes used, or -1 when w closed. */
static ssize_t consume(eio_ws_t *w, uint8_t *p, size_t n, size_t max)
{
    size_t off = 0;
    while (off < n && !w->closing) {
        ws_frame_t f;
        const char *why = NULL;
        ssize_t r = ws_frame_decode(&f, p + off, n - off, max, true, &why);
        if (r == PROTO_EAGAIN) {
            break;
        }
        if (r < 0) {
            fail(w, (int)r, why);
            return -1;
        }
        off += (size_t)r;
        ws_msg_t m;
        int k = ws_asm_feed(&w->asm_, &f, &m, &why);
        if (k < 0) {
            fail(w, k, why);
            return -1;
        }
        if (k == WS_ASM_MESSAGE) {
            on_message(w, &m);
        } else if (k == WS_ASM_CONTROL) {
            on_control(w, &m);
        }
    }
    return w->closing ? -1 : (ssize_t)off;
}

static void on_data(http_conn_t *c, uint8_t *data, size_t len, void *ud)
{
    eio_ws_t *w = ud;
    if (w->closing) {
        return;
    }
    size_t max = w->asm_.max_len;
    if (w->in.len == 0) {
        ssize_t used = consume(w, data, len, max);
        if (used >= 0 && (size_t)used < len &&
            buf_append(&w->in, data + used, len - (size_t)used)) {
            fail(w, PROTO_ETOOBIG, "frame over the size limit");
        }
        return;
    }
    if (buf_append(&w->in, data, len) != 0) {
        fail(w, PROTO_ETOOBIG, "frame over the size limit");
        return;
    }
    ssize_t used = consume(w, w->in.data, w->in.len, max);
    if (used > 0) {
        buf_consume(&w->in, (size_t)used);
    }
}

static const http_conn_ops_t ws_ops = { on_data, on_conn_close };

static const char *hv(const http_req_t *req, const char *name, size_t *len)
{
    const char *v = http_req_header(req, name);
    *len = v ? strlen(v) : 0;
    return v;
}

int eio__ws_request(eio_server_t *srv, eio_session_t *s, int ver, http_req_t *req, http_res_t *res)
{
    ws_handshake_t h;
    h.upgrade = hv(req, "upgrade", &h.upgrade_len);
    h.connection = hv(req, "connection", &h.connection_len);
    h.version = hv(req, "sec-websocket-version", &h.version_len);
    h.key = hv(req, "sec-websocket-key", &h.key_len);
    char accept[WS_ACCEPT_SIZE];
    const char *why = NULL;
    int rc = ws_handshake_check(&h, accept, &why);
    res->close = true;
    res->cors = false;
    if (rc == PROTO_EUNSUPP) {
        http_res_send(res, 426, "text/plain", why, strlen(why));
        http_res_header(res, "Sec-WebSocket-Version", "13");
        return HTTP_DONE;
    }
    if (rc != 0 || strcmp(req->method, "GET") != 0) {
        why = why ? why : "bad method";
        http_res_send(res, 400, "text/plain", why, strlen(why));
        return HTTP_DONE;
    }
    if (s && (s->upgrading || s->probe || s->transport != EIO_T_POLLING)) {
        /* server.js onWebSocket: already upgrading / upgraded */
        http_res_send(res, 400, "text/html", "Bad request", 11);
        return HTTP_DONE;
    }
    char resp[256];
    ssize_t n = ws_handshake_response(resp, sizeof resp, accept);
    if (n < 2) {
        http_res_send(res, 500, "text/plain", "Internal Server Error", 21);
        return HTTP_DONE;
    }
    /* the server's default headers (security headers) go into the 101 too */
    const char *def = http_server_default_headers(http_conn_server(req->conn));
    http_part_t parts[3] = { { (const uint8_t *)resp, (size_t)n - 2, NULL },
                             { (const uint8_t *)def, strlen(def), NULL },
                             { (const uint8_t *)"\r\n", 2, NULL } };
    if (http_conn_write(req->conn, parts, 3) != 0) {
        return HTTP_DEFERRED; /* the connection is closing */
    }
    eio_ws_t *w = xcalloc(1, sizeof(*w));
    w->conn = req->conn;
    w->ver = ver;
    ws_asm_init(&w->asm_, srv->cfg.max_payload);
    buf_init(&w->in, srv->cfg.max_payload + WS_MAX_HEADER);
    http_conn_upgrade(req->conn, &ws_ops, w);
    if (s) {
        w->probe = true;
        w->sess = s;
        s->probe = w;
        eio__probe_started(s);
        return HTTP_DEFERRED;
    }
    s = eio__session_new(srv, ver, EIO_T_WEBSOCKET, req);
    if (!s) {
        eio__ws_close(w, WS_CLOSE_INTERNAL);
        return HTTP_DEFERRED;
    }
    s->ws = w;
    w->sess = s;
    eio__send_open(s);
    if (srv->h.on_open) {
        srv->h.on_open(s, req, srv->ud);
    }
    return HTTP_DEFERRED;
}
