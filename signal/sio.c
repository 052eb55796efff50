/* signal/sio.c: the Socket.IO server core: one client per Engine.IO session, packet decoding
 * with binary attachment reassembly, namespace CONNECT (the app's connect hook, CONNECT_ERROR
 * in the v5 or the EIO3-client form, connectTimeout), event/ack dispatch, and disconnects.
 * Payloads are relayed as the raw JSON text the client sent (sio.h). */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/eio.h"
#include "../proto/err.h"
#include "http.h"
#include "sio_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- namespaces ------------------------------------------------------------------------ */

sio_nsp_t *sio_nsp_add(sio_server_t *srv, const char *name, const sio_nsp_ops_t *ops, void *ud)
{
    sio_nsp_t *n = strmap_get(&srv->nsps, name);
    if (n) {
        return n;
    }
    n = xcalloc(1, sizeof(*n));
    n->srv = srv;
    n->name = xstrdup(name);
    if (ops) {
        n->ops = *ops;
    }
    n->ud = ud;
    strmap_init(&n->sockets);
    strmap_init(&n->rooms);
    list_init(&n->list);
    strmap_put(&srv->nsps, name, n);
    return n;
}

sio_nsp_t *sio_nsp_get(sio_server_t *srv, const char *name)
{
    return strmap_get(&srv->nsps, name);
}

const char *sio_nsp_name(const sio_nsp_t *n)
{
    return n->name;
}

size_t sio_nsp_size(const sio_nsp_t *n)
{
    return n->sockets.n;
}

sio_server_t *sio_nsp_server(const sio_nsp_t *n)
{
    return n->srv;
}

/* ---- sockets --------------------------------------------------------------------------- */

static void socket_free(rc_t *rc)
{
    sio_socket_t *s = container_of(rc, sio_socket_t, rc);
    for (size_t i = 0; i < s->nearly; i++) {
        shbuf_unref(s->early[i].buf);
    }
    free(s->early);
    if (s->free_fn) {
        s->free_fn(s->data);
    }
    free(s);
}

/* Disconnects one namespace socket. send: tell the client (`41<nsp>,`). */
static void socket_disconnect(sio_socket_t *s, const char *reason, bool send)
{
    if (!s->connected) {
        return;
    }
    sio_server_t *srv = s->nsp->srv;
    if (send && s->client->eio) {
        buf_t b;
        buf_init(&b, 0);
        buf_append_byte(&b, '4');
        sio_encode_header(&b, SIO_DISCONNECT, 0, s->nsp->name, -1);
        shbuf_t *pkt = shbuf_from(b.data, b.len);
        buf_deinit(&b);
        sio__send(s, pkt, NULL, 0);
        shbuf_unref(pkt);
    }
    s->connected = false;
    sio__leave_all(s);
    strmap_del(&s->nsp->sockets, s->id);
    list_remove(&s->nsp_link);
    list_remove(&s->client_link);
    s->client->nsockets--;
    srv->st.sockets--;
    sio__acks_fail(s);
    if (s->nsp->ops.on_disconnect) {
        s->nsp->ops.on_disconnect(s, reason, s->nsp->ud);
    }
    sio__socket_unref(s); /* the namespace table's reference */
}

void sio_disconnect(sio_socket_t *s)
{
    socket_disconnect(s, "server namespace disconnect", true);
}

static sio_socket_t *client_socket(sio_client_t *c, const char *nsp, size_t len)
{
    list_t *it;
    list_foreach(it, &c->sockets)
    {
        sio_socket_t *s = list_entry(it, sio_socket_t, client_link);
        if (strlen(s->nsp->name) == len && memcmp(s->nsp->name, nsp, len) == 0) {
            return s;
        }
    }
    return NULL;
}

static void send_raw(sio_client_t *c, buf_t *b)
{
    if (c->eio) {
        shbuf_t *pkt = shbuf_from(b->data, b->len);
        eio_send_shared(c->eio, pkt, false);
        shbuf_unref(pkt);
    }
}

/* CONNECT_ERROR: v5 `44<nsp>,{...}`; to EIO3 clients Node sends err.data || err.message. */
static void send_connect_error(sio_client_t *c, const char *nsp, const char *err_json, size_t len)
{
    buf_t b;
    buf_init(&b, 0);
    buf_append_byte(&b, '4');
    sio_encode_header(&b, SIO_CONNECT_ERROR, 0, nsp, -1);
    const char *v = err_json;
    size_t vl = len;
    if (c->ver == 3 && sio_json_get(err_json, len, "data", &v, &vl) != 0 &&
        sio_json_get(err_json, len, "message", &v, &vl) != 0) {
        v = err_json;
        vl = len;
    }
    buf_append(&b, v, vl);
    send_raw(c, &b);
    buf_deinit(&b);
}

/* EIO3: a namespace query "a=1&b=x" becomes the auth object {"a":"1","b":"x"}, as Node's
 * url.parse(nsp, true).query does. */
static void query_to_json(const char *q, buf_t *out)
{
    buf_append_byte(out, '{');
    bool first = true;
    while (q && *q) {
        const char *end = strchr(q, '&');
        size_t n = end ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', n);
        size_t kn = eq ? (size_t)(eq - q) : n;
        if (kn) {
            char *key = xstrndup(q, kn), val[4096];
            int vl = http_query_get(q, key, val, sizeof val);
            if (!first) {
                buf_append_byte(out, ',');
            }
            first = false;
            buf_append_json_str(out, key, kn);
            buf_append_byte(out, ':');
            buf_append_json_str(out, val, vl > 0 ? (size_t)vl : 0);
            free(key);
        }
        q = end ? end + 1 : NULL;
    }
    buf_append_byte(out, '}');
}

static void do_connect(sio_client_t *c, const char *name, size_t name_len, const char *nsp_query,
                       const char *auth, size_t auth_len)
{
    sio_server_t *srv = c->srv;
    char nsp_name[256];
    if (name_len >= sizeof nsp_name) {
        name_len = sizeof nsp_name - 1;
    }
    memcpy(nsp_name, name, name_len);
    nsp_name[name_len] = 0;
    sio_nsp_t *n = strmap_get(&srv->nsps, nsp_name);
    if (!n || c->nsockets >= srv->cfg.max_namespaces) {
        static const char inv[] = "{\"message\":\"Invalid namespace\"}";
        buf_t b;
        buf_init(&b, 0);
        buf_append_byte(&b, '4');
        sio_encode_header(&b, SIO_CONNECT_ERROR, 0, nsp_name, -1);
        buf_append(&b, inv, sizeof inv - 1);
        send_raw(c, &b);
        buf_deinit(&b);
        return;
    }
    const char *sid = eio_session_id(c->eio);
    bool named = c->ver == 3 && strcmp(nsp_name, "/") != 0;
    size_t idcap = named ? strnlen(nsp_name, 64) + 1 + strlen(sid) + 1 : 21;
    sio_socket_t *s = xcalloc(1, sizeof(*s) + idcap);
    rc_init(&s->rc, socket_free);
    s->client = c;
    s->nsp = n;
    list_init(&s->rooms);
    list_init(&s->acks);
    list_init(&s->client_link);
    list_init(&s->nsp_link);
    if (c->ver == 3) {
        /* socket.io 4 for EIO3 clients: "/" uses the sid, others "<nsp>#<sid>" */
        snprintf(s->id, idcap, "%.64s%s%s", named ? nsp_name : "", named ? "#" : "", sid);
    } else {
        eio_id_generate(s->id); /* not the sid: that one is sensitive (socket.js) */
    }
    sio_handshake_t hs = { c->ver,    c->transport,     c->query ? c->query : "",
                           nsp_query, c->authorization, eio_session_remote_addr(c->eio),
                           auth,      auth_len };
    s->connecting = true;
    char *err = NULL;
    int refused = 0;
    if (n->ops.on_connect) {
        refused = n->ops.on_connect(s, &hs, n->ud, &err);
    }
    s->connecting = false;
    if (refused || !c->eio) {
        if (c->eio) {
            const char *e = err ? err : "{\"message\":\"refused\"}";
            send_connect_error(c, nsp_name, e, strlen(e));
        }
        free(err);
        sio__leave_all(s);
        sio__acks_fail(s);
        sio__socket_unref(s);
        return;
    }
    free(err);
    s->connected = true;
    strmap_put(&n->sockets, s->id, s);
    list_insert_tail(&n->list, &s->nsp_link);
    list_insert_tail(&c->sockets, &s->client_link);
    c->nsockets++;
    srv->st.sockets++;
    tq_stop(&c->tmo);
    sio_join(s, s->id);
    buf_t b;
    buf_init(&b, 0);
    buf_append_byte(&b, '4');
    sio_encode_header(&b, SIO_CONNECT, 0, nsp_name, -1);
    if (c->ver == 4) {
        buf_printf(&b, "{\"sid\":\"%s\"}", s->id);
    }
    send_raw(c, &b);
    buf_deinit(&b);
    /* what the hook emitted goes out after the CONNECT */
    for (size_t i = 0; i < s->nearly; i++) {
        if (c->eio) {
            eio_send_shared(c->eio, s->early[i].buf, s->early[i].binary);
        }
        shbuf_unref(s->early[i].buf);
    }
    free(s->early);
    s->early = NULL;
    s->nearly = 0;
}

/* ---- packets --------------------------------------------------------------------------- */

static void client_fail(sio_client_t *c, const char *why)
{
    LOG_D("sio", "bad packet", "\"sid\":\"%s\",\"why\":\"%s\"",
          c->eio ? eio_session_id(c->eio) : "", log_esc(why));
    if (c->eio) {
        eio_session_close(c->eio, "parse error");
    }
}

static void dispatch_event(sio_socket_t *s, const sio_packet_t *p, shbuf_t *const *att, size_t natt)
{
    const char *name, *args;
    size_t name_len, args_len;
    sio_event_split(p->data, p->data_len, &name, &name_len, &args, &args_len);
    buf_t nb, ab;
    buf_init(&nb, 0);
    buf_init(&ab, 0);
    if (name[0] == '"') {
        sio_json_unescape(name, name_len, &nb);
    } else {
        buf_append(&nb, name, name_len);
    }
    buf_append_byte(&nb, 0);
    buf_append(&ab, args, args_len);
    buf_append_byte(&ab, 0);
    sio_event_t ev = { (const char *)nb.data, (const char *)ab.data, args_len, att, natt, p->id };
    rc_ref(&s->rc);
    if (s->nsp->ops.on_event) {
        s->nsp->ops.on_event(s, &ev, s->nsp->ud);
    }
    sio__socket_unref(s);
    buf_deinit(&nb);
    buf_deinit(&ab);
}

static void dispatch_ack(sio_socket_t *s, const sio_packet_t *p, shbuf_t *const *att, size_t natt)
{
    const char *args = "";
    size_t args_len = 0;
    if (p->data) {
        sio_array_inner(p->data, p->data_len, &args, &args_len);
    }
    char *copy = xstrndup(args, args_len);
    sio_event_t ev = { "", copy, args_len, att, natt, p->id };
    rc_ref(&s->rc);
    sio__ack_reply(s, p->id, &ev);
    sio__socket_unref(s);
    free(copy);
}

static void dispatch(sio_client_t *c, const sio_packet_t *p, shbuf_t *const *att, size_t natt)
{
    const char *nsp = p->nsp, *q = NULL;
    size_t nsp_len = p->nsp_len;
    char qbuf[1024];
    if (c->ver == 3) {
        /* EIO3 clients put the namespace query in the packet: "40/custom?token=x," */
        const char *qm = memchr(nsp, '?', nsp_len);
        if (qm) {
            size_t ql = nsp_len - (size_t)(qm - nsp) - 1;
            ql = ql < sizeof qbuf - 1 ? ql : sizeof qbuf - 1;
            memcpy(qbuf, qm + 1, ql);
            qbuf[ql] = 0;
            q = qbuf;
            nsp_len = (size_t)(qm - nsp);
        }
    }
    sio_socket_t *s = client_socket(c, nsp, nsp_len);
    if (!s && p->type == SIO_CONNECT) {
        if (c->ver == 3) {
            buf_t auth;
            buf_init(&auth, 0);
            query_to_json(q, &auth);
            do_connect(c, nsp, nsp_len, q, (const char *)auth.data, auth.len);
            buf_deinit(&auth);
        } else {
            do_connect(c, nsp, nsp_len, NULL, p->data, p->data ? p->data_len : 0);
        }
        return;
    }
    if (!s || p->type == SIO_CONNECT || p->type == SIO_CONNECT_ERROR) {
        client_fail(c, "packet for a namespace not connected"); /* client.js: invalid state */
        return;
    }
    switch (p->type) {
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        dispatch_event(s, p, att, natt);
        break;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        dispatch_ack(s, p, att, natt);
        break;
    case SIO_DISCONNECT:
        socket_disconnect(s, "client namespace disconnect", false);
        break;
    }
}

static void bin_reset(sio_client_t *c)
{
    for (unsigned i = 0; i < c->natt_have; i++) {
        shbuf_unref(c->att[i]);
    }
    free(c->att);
    free(c->bin_text);
    c->att = NULL;
    c->bin_text = NULL;
    c->natt_have = 0;
}

static void on_eio_message(eio_session_t *es, uint8_t *data, size_t len, bool binary, void *ud)
{
    sio_client_t *c = eio_session_data(es);
    sio_server_t *srv = c->srv;
    srv->st.packets_in++;
    srv->st.bytes_in += len;
    if (binary) {
        if (!c->bin_text) {
            client_fail(c, "binary data when not reconstructing a packet");
            return;
        }
        c->att[c->natt_have++] = shbuf_from(data, len);
        if (c->natt_have == c->bin_pkt.nattach) {
            /* the packet's spans point into bin_text, which lives until bin_reset */
            dispatch(c, &c->bin_pkt, c->att, c->natt_have);
            bin_reset(c);
        }
        return;
    }
    if (c->bin_text) {
        client_fail(c, "plaintext data when reconstructing a packet");
        return;
    }
    sio_packet_t p;
    const char *why = NULL;
    sio_limits_t lim = { srv->cfg.max_attachments, 0 };
    if (sio_packet_decode((const char *)data, len, &lim, &p, &why) != 0) {
        client_fail(c, why);
        return;
    }
    if (p.nattach) {
        c->bin_text = xmemdup(data, len);
        c->bin_len = len;
        c->bin_pkt = p;
        /* rebase the spans onto our copy */
        c->bin_pkt.data = p.data ? c->bin_text + (p.data - (const char *)data) : NULL;
        if (p.nsp_len && p.nsp != NULL && p.nsp >= (const char *)data &&
            p.nsp < (const char *)data + len) {
            c->bin_pkt.nsp = c->bin_text + (p.nsp - (const char *)data);
        }
        c->att = xcalloc(p.nattach, sizeof(*c->att));
        return;
    }
    dispatch(c, &p, NULL, 0);
}

/* ---- clients (Engine.IO sessions) ------------------------------------------------------ */

static void client_free(tq_ent_t *e)
{
    sio_client_t *c = container_of(e, sio_client_t, tmo);
    free(c->query);
    free(c->authorization);
    free(c);
}

static void on_connect_timeout(tq_ent_t *e)
{
    sio_client_t *c = container_of(e, sio_client_t, tmo);
    if (c->nsockets == 0 && c->eio) {
        LOG_D("sio", "connect timeout", "\"sid\":\"%s\"", eio_session_id(c->eio));
        eio_session_end(c->eio, "forced close"); /* client.js: this.conn.close() */
    }
}

static void on_eio_open(eio_session_t *es, const http_req_t *req, void *ud)
{
    sio_server_t *srv = ud;
    sio_client_t *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->eio = es;
    c->ver = eio_session_version(es);
    c->query = xstrdup(req->query);
    const char *a = http_req_header(req, "authorization");
    c->authorization = a ? xstrdup(a) : NULL;
    snprintf(c->transport, sizeof c->transport, "%s", eio_session_transport(es));
    list_init(&c->sockets);
    list_insert_tail(&srv->clients, &c->link);
    tq_ent_init(&c->tmo);
    eio_session_set_data(es, c);
    srv->st.sessions_opened++;
    tq_start(&srv->l_connect, &c->tmo);
    if (c->ver == 3) {
        do_connect(c, "/", 1, NULL, "{}", 2); /* socket.io index.js: v3 joins "/" at once */
    }
}

static void on_eio_close(eio_session_t *es, const char *reason, void *ud)
{
    sio_server_t *srv = ud;
    sio_client_t *c = eio_session_data(es);
    if (!c) {
        return;
    }
    c->eio = NULL;
    eio_session_set_data(es, NULL);
    while (!list_empty(&c->sockets)) {
        socket_disconnect(list_entry(c->sockets.next, sio_socket_t, client_link), reason, false);
    }
    bin_reset(c);
    list_remove(&c->link);
    srv->st.sessions_closed++;
    /* freed on the next tick, out of the call chain that closed it */
    tq_stop(&c->tmo);
    if (srv->tq.closed) {
        client_free(&c->tmo);
    } else {
        tq_start(&srv->l_reap, &c->tmo);
    }
}

void sio_close_session(sio_socket_t *s)
{
    sio_client_t *c = s->client;
    /* socket.disconnect(true): every namespace gets its DISCONNECT, then the transport closes */
    while (!list_empty(&c->sockets)) {
        socket_disconnect(list_entry(c->sockets.next, sio_socket_t, client_link),
                          "server namespace disconnect", true);
    }
    if (c->eio) {
        /* the DISCONNECTs reach a polling client with its next GET */
        eio_session_end(c->eio, "forced close");
    }
}

/* ---- server ---------------------------------------------------------------------------- */

sio_server_t *sio_server_new(struct http_server *http, const char *path, const sio_config_t *cfg)
{
    sio_server_t *srv = xcalloc(1, sizeof(*srv));
    if (cfg) {
        srv->cfg = *cfg;
    }
    if (!srv->cfg.connect_timeout) {
        srv->cfg.connect_timeout = 45000;
    }
    if (!srv->cfg.max_attachments) {
        srv->cfg.max_attachments = 10;
    }
    if (!srv->cfg.max_namespaces) {
        srv->cfg.max_namespaces = 32;
    }
    srv->loop = http_server_loop(http);
    strmap_init(&srv->nsps);
    list_init(&srv->clients);
    eio_config_t ec = { srv->cfg.ping_interval,
                        srv->cfg.ping_timeout,
                        srv->cfg.upgrade_timeout,
                        srv->cfg.max_payload,
                        0,
                        srv->cfg.close_timeout };
    static const eio_handler_t h = { on_eio_open, on_eio_message, on_eio_close };
    srv->eio = eio_server_new(http, path, &ec, &h, srv);
    tq_init(&srv->tq, srv->loop);
    tq_list_init(&srv->tq, &srv->l_connect, srv->cfg.connect_timeout, on_connect_timeout);
    tq_list_init(&srv->tq, &srv->l_reap, 1, client_free);
    return srv;
}

static void on_tq_closed(uv_handle_t *h)
{
    sio_server_t *srv = container_of((uv_timer_t *)h, sio_server_t, tq.timer);
    tq_ent_t *e;
    while ((e = tq_pop(&srv->l_reap)) != NULL) {
        client_free(e);
    }
}

void sio_server_close(sio_server_t *srv)
{
    if (srv->closing) {
        return;
    }
    srv->closing = true;
    eio_server_close(srv->eio);
    tq_close(&srv->tq, on_tq_closed);
}

void sio_server_free(sio_server_t *srv)
{
    if (!srv) {
        return;
    }
    eio_server_free(srv->eio);
    size_t i;
    for (strmap_ent_t *e = strmap_first(&srv->nsps, &i); e; e = strmap_next(&srv->nsps, e, &i)) {
        sio_nsp_t *n = e->val;
        strmap_deinit(&n->sockets);
        strmap_deinit(&n->rooms);
        free(n->name);
        free(n);
    }
    strmap_deinit(&srv->nsps);
    free(srv);
}

void sio__count_out(sio_server_t *srv, const char *event, uint64_t n)
{
    if (n == 0) {
        return;
    }
    unsigned i;
    for (i = 0; i < srv->nev_out; i++) {
        if (!strcmp(srv->ev_out[i].name, event)) {
            srv->ev_out[i].count += n;
            return;
        }
    }
    if (srv->nev_out < SIO_EV_NAMES && strlen(event) < sizeof srv->ev_out[0].name) {
        snprintf(srv->ev_out[i].name, sizeof srv->ev_out[i].name, "%s", event);
        srv->ev_out[i].count = n;
        srv->nev_out++;
        return;
    }
    srv->ev_out[SIO_EV_NAMES].count += n;
}

void sio_server_events_out(const sio_server_t *srv,
                           void (*fn)(const char *event, uint64_t count, void *ud), void *ud)
{
    for (unsigned i = 0; i < srv->nev_out; i++) {
        fn(srv->ev_out[i].name, srv->ev_out[i].count, ud);
    }
    if (srv->ev_out[SIO_EV_NAMES].count) {
        fn("other", srv->ev_out[SIO_EV_NAMES].count, ud);
    }
}

void sio_server_stats(const sio_server_t *srv, sio_stats_t *out)
{
    *out = srv->st;
    size_t p, w;
    eio_server_counts(srv->eio, &p, &w);
    out->sessions_polling = p;
    out->sessions_websocket = w;
}
