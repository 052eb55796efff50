/* signal/eio_poll.c: the HTTP long-polling transport (engine.io transports/polling.js): a GET
 * is held until there is something to send (or a ping), a POST carries a payload of client
 * packets and is answered "ok". Payloads are built from the queued shared buffers without
 * copying them (only length prefixes, separators and base64 go into a scratch buffer). */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "../proto/utf8.h"
#include "eio_impl.h"
#include <stdlib.h>
#include <string.h>

typedef struct seg {
    const uint8_t *p; /* into ref, or NULL: scratch[off..off+len) */
    size_t off, len;
    shbuf_t *ref;
} seg_t;

typedef struct payload {
    seg_t *seg;
    size_t n, cap;
    buf_t scratch;
} payload_t;

static void add_ref(payload_t *pl, shbuf_t *ref, const uint8_t *p, size_t len)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 16;
        pl->seg = xrealloc(pl->seg, pl->cap * sizeof(*pl->seg));
    }
    pl->seg[pl->n++] = (seg_t){ p, 0, len, ref };
}

static void add_scratch(payload_t *pl, const void *p, size_t len)
{
    if (pl->n && !pl->seg[pl->n - 1].ref) {
        pl->seg[pl->n - 1].len += len; /* extend the previous scratch segment */
    } else {
        add_ref(pl, NULL, NULL, len);
        pl->seg[pl->n - 1].off = pl->scratch.len;
    }
    buf_append(&pl->scratch, p, len);
}

static void add_b64(payload_t *pl, const char *prefix, const shbuf_t *b)
{
    size_t plen = strlen(prefix), elen = EIO_B64_ENC_LEN(b->len);
    buf_reserve(&pl->scratch, plen + elen);
    add_scratch(pl, prefix, plen);
    size_t off = pl->scratch.len;
    eio_b64_encode(b->data, b->len, (char *)pl->scratch.data + off);
    pl->scratch.len += elen;
    pl->seg[pl->n - 1].len += elen;
}

/* Builds the payload of the queue; returns whether it is the v3 binary form. */
static bool build(eio_session_t *s, payload_t *pl)
{
    bool any_bin = false;
    for (size_t i = 0; i < s->qlen; i++) {
        any_bin |= s->q[i].binary;
    }
    bool bin_form = s->ver == 3 && any_bin && !s->b64;
    for (size_t i = 0; i < s->qlen; i++) {
        shbuf_t *b = s->q[i].buf;
        bool binary = s->q[i].binary;
        if (s->ver == 4) {
            if (i > 0) {
                add_scratch(pl, "\x1e", 1);
            }
            if (binary) {
                add_b64(pl, "b", b);
            } else {
                add_ref(pl, b, b->data, b->len);
            }
        } else if (bin_form) {
            uint8_t pre[25];
            size_t n = eio_v3_bin_prefix(pre, binary, binary ? b->len + 1 : b->len);
            if (binary) {
                pre[n++] = EIO_MESSAGE;
            }
            add_scratch(pl, pre, n);
            add_ref(pl, b, b->data, b->len);
        } else if (binary) {
            char pre[32];
            int n = snprintf(pre, sizeof pre, "%zu:b4", 2 + EIO_B64_ENC_LEN(b->len));
            (void)n;
            add_b64(pl, pre, b);
        } else {
            char pre[24];
            size_t n = eio_v3_text_prefix(pre, b->data, b->len);
            add_scratch(pl, pre, n);
            add_ref(pl, b, b->data, b->len);
        }
    }
    return bin_form;
}

/* Sends the queued packets (or a lone noop) to conn (deferred GET) or into res (a GET being
 * answered inside its handler). */
static void respond(eio_session_t *s, http_conn_t *conn, http_res_t *res, bool noop)
{
    if (s->qlen == 0 && noop) {
        s->q = s->qcap ? s->q : xmalloc(8 * sizeof(*s->q));
        s->qcap = s->qcap ? s->qcap : 8;
        s->q[s->qlen++] = (eio_out_t){ shbuf_ref(s->srv->pkt_noop), false };
    }
    payload_t pl = { 0 };
    buf_init(&pl.scratch, 0);
    bool bin = build(s, &pl);
    res->content_type = bin ? "application/octet-stream" : "text/plain; charset=UTF-8";
    res->cors = true;
    http_res_header(res, "Cache-Control", "no-store");
    shbuf_t *scr = shbuf_from(pl.scratch.data, pl.scratch.len);
    http_part_t *parts = xmalloc((pl.n + 1) * sizeof(*parts));
    for (size_t i = 0; i < pl.n; i++) {
        seg_t *g = &pl.seg[i];
        parts[i] = g->ref ? (http_part_t){ g->p, g->len, g->ref }
                          : (http_part_t){ scr->data + g->off, g->len, scr };
    }
    if (conn) {
        http_conn_respond(conn, res, parts, pl.n);
    } else {
        for (size_t i = 0; i < pl.n; i++) {
            buf_append(&res->body, parts[i].p, parts[i].len);
        }
    }
    free(parts);
    shbuf_unref(scr);
    free(pl.seg);
    buf_deinit(&pl.scratch);
    eio__drop_queue(s);
}

static void on_get_closed(http_conn_t *c, void *ud)
{
    eio_session_t *s = ud;
    if (s->get == c) {
        s->get = NULL;
        /* polling.js: "poll connection closed prematurely" */
        eio_session_close(s, "transport close");
    }
}

static const http_conn_ops_t get_ops = { NULL, on_get_closed };

void eio__poll_flush(eio_session_t *s, bool noop)
{
    http_conn_t *c = s->get;
    if (!c) {
        return;
    }
    s->get = NULL;
    http_conn_watch(c, NULL, NULL);
    http_res_t res;
    http_res_init(&res);
    respond(s, c, &res, noop);
    http_res_deinit(&res);
}

static int on_get(eio_session_t *s, http_req_t *req, http_res_t *res)
{
    if (s->state == SESS_DRAINING) {
        /* ended by the server: first what was queued, then "6\x1e1"; then the sid is gone */
        bool last = s->qlen == 0;
        eio__drain_get(s);
        respond(s, NULL, res, false);
        if (last) {
            eio__drain_done(s);
        }
        return HTTP_DONE;
    }
    if (s->get) {
        /* polling.js onPollRequest: "overlap from client" ends the session */
        LOG_D("eio", "overlapping GET", "\"sid\":\"%s\"", s->sid);
        eio_session_close(s, "transport error");
        res->status = 400;
        return HTTP_DONE;
    }
    if (s->qlen || s->upgrading) {
        respond(s, NULL, res, s->upgrading);
        return HTTP_DONE;
    }
    s->get = req->conn;
    http_conn_watch(req->conn, &get_ops, s);
    return HTTP_DEFERRED;
}

static void on_post_closed(http_conn_t *c, void *ud)
{
    eio_session_t *s = ud;
    if (s->post == c) {
        s->post = NULL;
        /* polling.js: "data request connection closed prematurely" */
        eio_session_close(s, "transport close");
    }
}

static const http_conn_ops_t post_ops = { NULL, on_post_closed };

int eio__poll_post_begin(eio_session_t *s, http_conn_t *conn)
{
    if (s->post && s->post != conn) {
        /* polling.js onDataRequest: "data request overlap from client": the second POST gets
         * 400, the first is dropped with the session */
        LOG_D("eio", "overlapping POST", "\"sid\":\"%s\"", s->sid);
        eio_session_close(s, "transport error");
        return 400;
    }
    s->post = conn;
    http_conn_watch(conn, &post_ops, s);
    return 0;
}

void eio__poll_post_end(eio_session_t *s, http_conn_t *conn)
{
    if (s->post == conn) {
        s->post = NULL;
        http_conn_watch(conn, NULL, NULL);
    }
}

void eio__poll_post_drop(eio_session_t *s)
{
    http_conn_t *c = s->post;
    if (c) {
        s->post = NULL;
        http_conn_watch(c, NULL, NULL);
        http_conn_close(c, false); /* polling.js doClose: dataReq.destroy() */
    }
}

/* Whether a POST body holds a close packet (the body is copied: decoding may modify it). */
static bool has_close_packet(eio_session_t *s, const http_req_t *req, bool binary)
{
    uint8_t *copy = xmemdup(req->body, req->body_len + 1);
    eio_payload_iter_t it;
    eio_payload_iter_init(&it, s->ver, binary, copy, req->body_len);
    eio_packet_t p;
    bool found = false;
    while (!found && eio_payload_next(&it, &p) == 1) {
        found = p.type == EIO_CLOSE;
    }
    free(copy);
    return found;
}

static int on_post(eio_session_t *s, http_req_t *req, http_res_t *res)
{
    const char *ct = http_req_header(req, "content-type");
    bool binary = ct && strcmp(ct, "application/octet-stream") == 0;
    if (s->state == SESS_DRAINING && !req->too_big) {
        /* socket.js onPacket: packets of a closing socket are ignored; but a client that
         * closes too (socket.io-client after a DISCONNECT) will not poll again */
        if (has_close_packet(s, req, binary)) {
            eio__drain_done(s);
        }
        http_res_send(res, 200, "text/html", "ok", 2);
        http_res_header(res, "Cache-Control", "no-store");
        return HTTP_DONE;
    }
    if (req->too_big) {
        LOG_D("eio", "payload over maxHttpBufferSize", "\"sid\":\"%s\"", s->sid);
        eio_session_close(s, "transport error");
        return HTTP_DONE; /* 413 */
    }
    if (binary && s->ver == 4) {
        eio_session_close(s, "transport error"); /* polling.js: "invalid content" */
        res->status = 400;
        return HTTP_DONE;
    }
    eio_session_ref(s);
    const uint8_t *body = req->body;
    size_t len = req->body_len;
    int rc = 0;
    if (!binary && utf8_validate(body, len, NULL) != 0) {
        rc = PROTO_EUTF8;
    }
    /* the packets are handed on in place: copy the body so a handler may modify it */
    uint8_t *copy = rc == 0 ? xmemdup(body, len + 1) : NULL;
    eio_payload_iter_t it;
    eio_payload_iter_init(&it, s->ver, binary, copy, len);
    eio_packet_t p;
    while (rc == 0 && s->state == SESS_OPEN && (rc = eio_payload_next(&it, &p)) == 1) {
        rc = 0;
        if (eio__on_packet(s, NULL, &p) != 0) {
            break;
        }
    }
    if (rc < 0 && s->state == SESS_OPEN) {
        LOG_D("eio", "bad payload", "\"sid\":\"%s\"", s->sid);
        eio_session_close(s, "parse error");
    }
    free(copy);
    eio_session_unref(s);
    /* polling.js onDataRequest answers "ok" once the body is read, whatever it held */
    http_res_send(res, 200, "text/html", "ok", 2);
    http_res_header(res, "Cache-Control", "no-store");
    return HTTP_DONE;
}

int eio__poll_request(eio_server_t *srv, eio_session_t *s, http_req_t *req, http_res_t *res)
{
    (void)srv;
    if (strcmp(req->method, "GET") == 0) {
        return on_get(s, req, res);
    }
    if (strcmp(req->method, "POST") == 0) {
        return on_post(s, req, res);
    }
    res->status = 500; /* polling.js: other methods */
    return HTTP_DONE;
}
