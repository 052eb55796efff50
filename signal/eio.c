/* signal/eio.c: the Engine.IO server: request verification (Node's verify(): transport, sid,
 * method, protocol, with its JSON error codes), sessions, heartbeat, the send queue and its
 * once-per-iteration flush, and client packet handling. Transports: eio_poll.c, eio_ws.c. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "eio_impl.h"
#include <stdlib.h>
#include <string.h>

/* Node's engine.io Server.errors / errorMessages */
enum {
    E_UNKNOWN_TRANSPORT = 0,
    E_UNKNOWN_SID,
    E_BAD_METHOD,
    E_BAD_REQUEST,
    E_FORBIDDEN,
    E_VERSION
};
static const char *const error_messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

static void on_idle(uv_idle_t *h);

/* (Re)starts the session's heartbeat deadline on list l (never once released). */
static void hb_start(eio_session_t *s, tq_list_t *l)
{
    if (!s->reaping) {
        tq_start(l, &s->hb);
    }
}

/* ---- sessions -------------------------------------------------------------------------- */

static void session_free(rc_t *rc)
{
    eio_session_t *s = container_of(rc, eio_session_t, rc);
    free(s->q);
    free(s);
}

void eio_session_ref(eio_session_t *s)
{
    rc_ref(&s->rc);
}

void eio_session_unref(eio_session_t *s)
{
    rc_unref(&s->rc);
}

eio_session_t *eio__session_new(eio_server_t *srv, int ver, int transport, const http_req_t *req)
{
    eio_session_t *s = xcalloc(1, sizeof(*s));
    rc_init(&s->rc, session_free);
    s->srv = srv;
    s->ver = ver;
    s->transport = transport;
    char tmp[8];
    s->b64 = http_query_get(req->query, "b64", tmp, sizeof tmp) >= 0;
    snprintf(s->remote, sizeof s->remote, "%s", req->remote_addr);
    if (eio_id_generate(s->sid) != 0) {
        free(s);
        return NULL;
    }
    list_init(&s->dirty_link);
    tq_ent_init(&s->hb);
    tq_ent_init(&s->up);
    strmap_put(&srv->sessions, s->sid, s);
    if (transport == EIO_T_POLLING) {
        srv->n_polling++;
    } else {
        srv->n_ws++;
    }
    /* heartbeat from the handshake (engine.io socket.onOpen) */
    hb_start(s, ver == 3 ? &srv->l_v3 : &srv->l_ping);
    LOG_D("eio", "session open", "\"sid\":\"%s\",\"eio\":%d,\"transport\":\"%s\"", s->sid, ver,
          transport == EIO_T_POLLING ? "polling" : "websocket");
    return s;
}

void eio__send_open(eio_session_t *s)
{
    char open[256];
    ssize_t n = eio_open_encode(open, sizeof open, s->sid, s->transport == EIO_T_POLLING,
                                s->srv->cfg.ping_interval, s->srv->cfg.ping_timeout,
                                s->srv->cfg.max_payload);
    shbuf_t *b = shbuf_from(open, (size_t)n);
    eio_send_shared(s, b, false);
    shbuf_unref(b);
}

void eio__drop_queue(eio_session_t *s)
{
    for (size_t i = 0; i < s->qlen; i++) {
        shbuf_unref(s->q[i].buf);
    }
    s->qlen = 0;
    s->qbytes = 0;
}

static void queue_close_packet(eio_session_t *s)
{
    if (s->qlen == s->qcap) {
        s->qcap = s->qcap ? s->qcap * 2 : 2;
        s->q = xrealloc(s->q, s->qcap * sizeof(*s->q));
    }
    s->q[s->qlen++] = (eio_out_t){ shbuf_ref(s->srv->pkt_close), false };
}

/* Stops the deadlines and drops the sid table's reference; a reference stays until the next
 * timer tick (l_reap), so the session outlives the call chain that closed it. The session
 * must have left the table. */
static void release(eio_session_t *s)
{
    tq_stop(&s->up);
    if (s->reaping) {
        return;
    }
    tq_stop(&s->hb);
    if (!s->srv->tq.closed) {
        s->reaping = true;
        eio_session_ref(s);
        tq_start(&s->srv->l_reap, &s->hb);
    }
    eio_session_unref(s); /* the sessions table's reference */
}

static void on_reap(tq_ent_t *e)
{
    eio_session_unref(container_of(e, eio_session_t, hb));
}

void eio__drain_get(eio_session_t *s)
{
    if (s->qlen) {
        /* the close packet goes with the next GET */
        hb_start(s, &s->srv->l_drain);
        return;
    }
    /* polling.js onPollRequest with shouldClose: a noop carries the close packet */
    if (s->qcap < 2) {
        s->qcap = 8;
        s->q = xrealloc(s->q, s->qcap * sizeof(*s->q));
    }
    s->q[s->qlen++] = (eio_out_t){ shbuf_ref(s->srv->pkt_noop), false };
    queue_close_packet(s);
}

void eio__drain_done(eio_session_t *s)
{
    if (s->state != SESS_DRAINING) {
        return;
    }
    s->state = SESS_CLOSED;
    strmap_del(&s->srv->sessions, s->sid);
    eio__drop_queue(s);
    release(s);
}

static void on_drain_timeout(tq_ent_t *e)
{
    eio_session_t *s = container_of(e, eio_session_t, hb);
    LOG_D("eio", "closed session not polled in time", "\"sid\":\"%s\",\"dropped\":%zu", s->sid,
          s->qlen);
    eio__drain_done(s);
}

/* drain: keep the queue for the client's next GET when none is held (eio_session_end). */
static void session_close(eio_session_t *s, const char *reason, bool drain)
{
    if (s->state == SESS_DRAINING) {
        eio__drain_done(s); /* a hard close (server shutdown) while draining */
        return;
    }
    if (s->state != SESS_OPEN) {
        return;
    }
    eio_server_t *srv = s->srv;
    /* engine.io socket.close() on polling: the queue goes out first (now to a held GET, or
     * with the next one), the close packet with the GET after that; only a held GET with
     * nothing queued gets the close packet at once */
    bool linger = drain && !srv->closing && s->transport == EIO_T_POLLING && (!s->get || s->qlen);
    s->state = linger ? SESS_DRAINING : SESS_CLOSED;
    if (!linger) {
        strmap_del(&srv->sessions, s->sid);
    }
    if (s->transport == EIO_T_POLLING) {
        srv->n_polling--;
    } else {
        srv->n_ws--;
    }
    list_remove(&s->dirty_link);
    eio__poll_post_drop(s);
    LOG_D("eio", "session closed", "\"sid\":\"%s\",\"reason\":\"%s\",\"drain\":%s", s->sid, reason,
          linger ? "true" : "false");
    /* what was queued goes out first, then the close (engine.io socket.close / doClose) */
    if (s->get) {
        if (!linger) {
            queue_close_packet(s);
        }
        eio__poll_flush(s, false);
    }
    if (s->ws) {
        eio__ws_flush(s->ws, s);
        eio__ws_close(s->ws, 0);
    }
    if (s->probe) {
        eio__ws_close(s->probe, 0);
    }
    if (linger) {
        /* polling.js close(): not writable, so the close packet waits for a GET */
        tq_stop(&s->up);
        hb_start(s, &srv->l_drain);
    } else {
        eio__drop_queue(s);
    }
    eio_session_ref(s); /* on_close may drop the last other reference */
    if (srv->h.on_close) {
        srv->h.on_close(s, reason, srv->ud);
    }
    if (!linger) {
        release(s);
    }
    eio_session_unref(s);
}

void eio_session_close(eio_session_t *s, const char *reason)
{
    session_close(s, reason, false);
}

void eio_session_end(eio_session_t *s, const char *reason)
{
    session_close(s, reason, true);
}

const char *eio_session_id(const eio_session_t *s)
{
    return s->sid;
}

int eio_session_version(const eio_session_t *s)
{
    return s->ver;
}

const char *eio_session_transport(const eio_session_t *s)
{
    return s->transport == EIO_T_POLLING ? "polling" : "websocket";
}

const char *eio_session_remote_addr(const eio_session_t *s)
{
    return s->remote;
}

bool eio_session_open(const eio_session_t *s)
{
    return s->state == SESS_OPEN;
}

void eio_session_set_data(eio_session_t *s, void *data)
{
    s->data = data;
}

void *eio_session_data(const eio_session_t *s)
{
    return s->data;
}

eio_session_t *eio_session_find(eio_server_t *srv, const char *sid)
{
    eio_session_t *s = strmap_get(&srv->sessions, sid);
    return s && s->state == SESS_OPEN ? s : NULL;
}

/* ---- heartbeat ------------------------------------------------------------------------- */

static void on_ping_timer(tq_ent_t *e)
{
    eio_session_t *s = container_of(e, eio_session_t, hb);
    s->pong_refreshed = false;
    s->waiting_pong = true;
    eio_send_shared(s, s->srv->pkt_ping, false);
    hb_start(s, &s->srv->l_pong);
}

static void on_timeout_timer(tq_ent_t *e)
{
    eio_session_close(container_of(e, eio_session_t, hb), "ping timeout");
}

static void on_upgrade_timer(tq_ent_t *e)
{
    eio_session_t *s = container_of(e, eio_session_t, up);
    /* the client did not complete the upgrade: drop the probe, keep polling */
    s->upgrading = false;
    if (s->probe) {
        eio__ws_close(s->probe, 0);
    }
}

void eio__probe_started(eio_session_t *s)
{
    tq_start(&s->srv->l_up, &s->up);
}

/* ---- sending --------------------------------------------------------------------------- */

void eio__mark_dirty(eio_session_t *s)
{
    if (list_empty(&s->dirty_link)) {
        list_insert_tail(&s->srv->dirty, &s->dirty_link);
        uv_idle_start(&s->srv->idle, on_idle);
    }
}

int eio_send_shared(eio_session_t *s, shbuf_t *pkt, bool binary)
{
    if (s->state != SESS_OPEN) {
        return UV_ECANCELED;
    }
    if (s->qbytes + pkt->len > s->srv->cfg.max_queue) {
        LOG_W("eio", "slow client closed", "\"sid\":\"%s\",\"queued\":%zu", s->sid, s->qbytes);
        eio_session_close(s, "transport error");
        return UV_ENOBUFS;
    }
    if (s->qlen == s->qcap) {
        s->qcap = s->qcap ? s->qcap * 2 : 2;
        s->q = xrealloc(s->q, s->qcap * sizeof(*s->q));
    }
    s->q[s->qlen++] = (eio_out_t){ shbuf_ref(pkt), binary };
    s->qbytes += pkt->len;
    eio__mark_dirty(s);
    return 0;
}

int eio_send(eio_session_t *s, const void *data, size_t len, bool binary)
{
    shbuf_t *b;
    if (binary) {
        b = shbuf_from(data, len);
    } else {
        b = shbuf_new(len + 1);
        b->data[0] = '4';
        if (len) {
            memcpy(b->data + 1, data, len);
        }
    }
    int rc = eio_send_shared(s, b, binary);
    shbuf_unref(b);
    return rc;
}

static void flush_dirty(eio_server_t *srv)
{
    while (!list_empty(&srv->dirty)) {
        eio_session_t *s = list_entry(srv->dirty.next, eio_session_t, dirty_link);
        list_remove(&s->dirty_link);
        if (s->state != SESS_OPEN || s->qlen == 0) {
            continue;
        }
        if (s->transport == EIO_T_WEBSOCKET && s->ws) {
            eio__ws_flush(s->ws, s);
        } else if (s->transport == EIO_T_POLLING && s->get) {
            eio__poll_flush(s, false);
        }
    }
    uv_idle_stop(&srv->idle);
}

static void on_check(uv_check_t *h)
{
    flush_dirty(h->data);
}

static void on_idle(uv_idle_t *h)
{
    flush_dirty(h->data);
}

/* ---- client packets -------------------------------------------------------------------- */

static void complete_upgrade(eio_session_t *s, eio_ws_t *w)
{
    eio_server_t *srv = s->srv;
    tq_stop(&s->up);
    s->upgrading = false;
    s->probe = NULL;
    s->ws = w;
    w->probe = false;
    s->transport = EIO_T_WEBSOCKET;
    srv->n_polling--;
    srv->n_ws++;
    if (s->get) {
        eio__poll_flush(s, true); /* release a GET the client may still hold */
    }
    LOG_D("eio", "upgraded", "\"sid\":\"%s\"", s->sid);
    if (s->qlen) {
        eio__mark_dirty(s);
    }
}

int eio__on_packet(eio_session_t *s, eio_ws_t *from, const eio_packet_t *p)
{
    eio_server_t *srv = s->srv;
    bool probe = from && from->probe;
    if (probe) {
        if (p->type == EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
            eio__ws_send_one(from, srv->pkt_pong_probe);
            s->upgrading = true;
            if (s->get) {
                eio__poll_flush(s, true); /* noop: the client pauses polling, then sends 5 */
            }
            return 0;
        }
        if (p->type == EIO_UPGRADE && s->upgrading) {
            complete_upgrade(s, from);
            return 0;
        }
        eio__ws_close(from, 0); /* anything else on a probe ends the probe */
        return 0;
    }
    if (s->ver == 4 && s->waiting_pong && !s->pong_refreshed && p->type != EIO_PONG) {
        /* engine.io 6.6: any packet while waiting for a pong extends the deadline once */
        s->pong_refreshed = true;
        hb_start(s, &srv->l_pong);
    }
    switch (p->type) {
    case EIO_PING:
        if (s->ver != 3) {
            eio_session_close(s, "transport error"); /* invalid heartbeat direction */
            return -1;
        }
        hb_start(s, &srv->l_v3);
        eio_send_shared(s, srv->pkt_pong, false);
        return 0;
    case EIO_PONG:
        if (s->ver == 3) {
            eio_session_close(s, "transport error");
            return -1;
        }
        s->waiting_pong = false;
        hb_start(s, &srv->l_ping);
        return 0;
    case EIO_CLOSE:
        eio_session_close(s, "transport close");
        return -1;
    case EIO_MESSAGE:
        break;
    default:
        return 0; /* open, upgrade, noop: nothing to do */
    }
    uint8_t *data = (uint8_t *)p->data, *tmp = NULL;
    size_t len = p->len;
    if (p->b64) {
        tmp = xmalloc(EIO_B64_DEC_MAX(p->len) + 1);
        ssize_t n = eio_b64_decode((const char *)p->data, p->len, tmp);
        if (n < 0) {
            free(tmp);
            eio_session_close(s, "parse error");
            return -1;
        }
        data = tmp;
        len = (size_t)n;
    }
    eio_session_ref(s);
    if (srv->h.on_message) {
        srv->h.on_message(s, data, len, p->binary, srv->ud);
    }
    bool closed = s->state != SESS_OPEN;
    eio_session_unref(s);
    free(tmp);
    return closed ? -1 : 0;
}

/* ---- requests -------------------------------------------------------------------------- */

static int error_res(const http_req_t *req, http_res_t *res, int code)
{
    if (req->upgrade) {
        /* engine.io abortUpgrade: a plain-text 400 */
        const char *m = error_messages[code];
        http_res_send(res, code == E_FORBIDDEN ? 403 : 400, "text/html", m, strlen(m));
        res->close = true;
        res->cors = false;
    } else {
        http_res_json_error(res, code == E_FORBIDDEN ? 403 : 400, code, error_messages[code]);
    }
    return HTTP_DONE;
}

static int on_request(http_req_t *req, http_res_t *res, void *ud)
{
    eio_server_t *srv = ud;
    res->cors = true;
    if (strcmp(req->method, "OPTIONS") == 0) {
        http_res_preflight(req, res);
        return HTTP_DONE;
    }
    char transport[16], sid[32], eio[8];
    bool ws = false;
    if (http_query_get(req->query, "transport", transport, sizeof transport) < 0 ||
        (strcmp(transport, "polling") != 0 && !(ws = strcmp(transport, "websocket") == 0))) {
        return error_res(req, res, E_UNKNOWN_TRANSPORT);
    }
    int ver = 0;
    if (http_query_get(req->query, "EIO", eio, sizeof eio) >= 0) {
        ver = strcmp(eio, "4") == 0 ? 4 : strcmp(eio, "3") == 0 ? 3 : 0;
    }
    if (srv->closing) {
        return error_res(req, res, E_BAD_REQUEST);
    }
    if (http_query_get(req->query, "sid", sid, sizeof sid) > 0) {
        eio_session_t *s = strmap_get(&srv->sessions, sid);
        if (!s) {
            return error_res(req, res, E_UNKNOWN_SID);
        }
        eio__poll_post_end(s, req->conn); /* its body is complete */
        if (s->state == SESS_DRAINING && (req->upgrade || ws)) {
            return error_res(req, res, E_BAD_REQUEST); /* closing: no upgrade */
        }
        bool mismatch = s->transport != (ws ? EIO_T_WEBSOCKET : EIO_T_POLLING);
        if ((!req->upgrade && mismatch) || ver != s->ver || (req->upgrade && !ws)) {
            return error_res(req, res, E_BAD_REQUEST);
        }
        if (req->upgrade) {
            return eio__ws_request(srv, s, ver, req, res);
        }
        return eio__poll_request(srv, s, req, res);
    }
    if (strcmp(req->method, "GET") != 0) {
        return error_res(req, res, E_BAD_METHOD);
    }
    if (ws != req->upgrade) {
        return error_res(req, res, E_BAD_REQUEST);
    }
    if (!ver) {
        return error_res(req, res, E_VERSION);
    }
    if (ws) {
        return eio__ws_request(srv, NULL, ver, req, res);
    }
    eio_session_t *s = eio__session_new(srv, ver, EIO_T_POLLING, req);
    if (!s) {
        return error_res(req, res, E_BAD_REQUEST);
    }
    eio__send_open(s);
    if (srv->h.on_open) {
        srv->h.on_open(s, req, srv->ud);
    }
    if (s->state != SESS_OPEN) {
        return error_res(req, res, E_BAD_REQUEST);
    }
    return eio__poll_request(srv, s, req, res);
}

/* A request's head, before its body: a polling POST to an open session is tracked while its
 * body arrives, so that an overlapping POST is refused as Node does. */
static int on_head(http_req_t *req, void *ud)
{
    eio_server_t *srv = ud;
    char sid[32], transport[16];
    if (srv->closing || strcmp(req->method, "POST") != 0 || req->upgrade ||
        http_query_get(req->query, "sid", sid, sizeof sid) <= 0 ||
        http_query_get(req->query, "transport", transport, sizeof transport) < 0 ||
        strcmp(transport, "polling") != 0) {
        return 0;
    }
    eio_session_t *s = strmap_get(&srv->sessions, sid);
    if (!s || s->state != SESS_OPEN || s->transport != EIO_T_POLLING) {
        return 0;
    }
    return eio__poll_post_begin(s, req->conn);
}

/* ---- server ---------------------------------------------------------------------------- */

eio_server_t *eio_server_new(http_server_t *http, const char *path, const eio_config_t *cfg,
                             const eio_handler_t *h, void *ud)
{
    eio_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->http = http;
    srv->path = xstrdup(path);
    if (cfg) {
        srv->cfg = *cfg;
    }
    if (!srv->cfg.ping_interval) {
        srv->cfg.ping_interval = 25000;
    }
    if (!srv->cfg.ping_timeout) {
        srv->cfg.ping_timeout = 20000;
    }
    if (!srv->cfg.upgrade_timeout) {
        srv->cfg.upgrade_timeout = 10000;
    }
    if (!srv->cfg.max_payload) {
        srv->cfg.max_payload = 1000000;
    }
    if (!srv->cfg.max_queue) {
        srv->cfg.max_queue = 16u << 20;
    }
    if (!srv->cfg.close_timeout) {
        srv->cfg.close_timeout = 30000;
    }
    srv->h = *h;
    srv->ud = ud;
    strmap_init(&srv->sessions);
    list_init(&srv->dirty);
    uv_loop_t *loop = http_server_loop(http);
    uv_check_init(loop, &srv->check);
    uv_idle_init(loop, &srv->idle);
    srv->check.data = srv->idle.data = srv;
    uv_check_start(&srv->check, on_check);
    uv_unref((uv_handle_t *)&srv->check);
    tq_init(&srv->tq, loop);
    tq_list_init(&srv->tq, &srv->l_ping, srv->cfg.ping_interval, on_ping_timer);
    tq_list_init(&srv->tq, &srv->l_pong, srv->cfg.ping_timeout, on_timeout_timer);
    tq_list_init(&srv->tq, &srv->l_v3, (uint64_t)srv->cfg.ping_interval + srv->cfg.ping_timeout,
                 on_timeout_timer);
    tq_list_init(&srv->tq, &srv->l_drain, srv->cfg.close_timeout, on_drain_timeout);
    tq_list_init(&srv->tq, &srv->l_up, srv->cfg.upgrade_timeout, on_upgrade_timer);
    tq_list_init(&srv->tq, &srv->l_reap, 1, on_reap);
    srv->handles = 3;
    srv->pkt_ping = shbuf_from("2", 1);
    srv->pkt_pong = shbuf_from("3", 1);
    srv->pkt_noop = shbuf_from("6", 1);
    srv->pkt_close = shbuf_from("1", 1);
    srv->pkt_pong_probe = shbuf_from("3probe", 6);
    /* a POST body may be a little over maxPayload in framing; the handler checks the rest */
    http_route(http, NULL, path, HTTP_MATCH_PREFIX, srv->cfg.max_payload, on_request, srv);
    http_route_on_head(http, NULL, path, HTTP_MATCH_PREFIX, on_head);
    return srv;
}

static void on_srv_handle_closed(uv_handle_t *h)
{
    eio_server_t *srv = h->data;
    srv->handles--;
}

static void on_tq_closed(uv_handle_t *h)
{
    eio_server_t *srv = container_of((uv_timer_t *)h, eio_server_t, tq.timer);
    tq_ent_t *e;
    while ((e = tq_pop(&srv->l_reap)) != NULL) {
        on_reap(e);
    }
    srv->handles--;
}

void eio_server_close(eio_server_t *srv)
{
    if (srv->closing) {
        return;
    }
    srv->closing = true;
    size_t i;
    strmap_ent_t *e;
    while ((e = strmap_first(&srv->sessions, &i)) != NULL) {
        eio_session_close(e->val, "server shutting down");
    }
    uv_close((uv_handle_t *)&srv->check, on_srv_handle_closed);
    uv_close((uv_handle_t *)&srv->idle, on_srv_handle_closed);
    tq_close(&srv->tq, on_tq_closed);
}

void eio_server_free(eio_server_t *srv)
{
    if (!srv) {
        return;
    }
    strmap_deinit(&srv->sessions);
    shbuf_unref(srv->pkt_ping);
    shbuf_unref(srv->pkt_pong);
    shbuf_unref(srv->pkt_noop);
    shbuf_unref(srv->pkt_close);
    shbuf_unref(srv->pkt_pong_probe);
    free(srv->path);
    free(srv);
}

void eio_server_counts(const eio_server_t *srv, size_t *polling, size_t *websocket)
{
    *polling = srv->n_polling;
    *websocket = srv->n_ws;
}

const eio_config_t *eio_server_config(const eio_server_t *srv)
{
    return &srv->cfg;
}
