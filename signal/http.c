/* signal/http.c: HTTP/1.1 connections: accept of one connection, llhttp request parsing with
 * keep-alive and pipelining (the parser pauses after each request, so requests are answered in
 * order), response writes with shared buffers, deferred responses, upgrades (the parsing state
 * is released then). The listener and the server object: http_server.c. */
#include "../common/log.h"
#include "../common/rc.h"
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "http_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static llhttp_settings_t settings;

typedef struct wreq {
    uv_write_t req;
    http_conn_t *c;
    unsigned n;
    shbuf_t *refs[];
} wreq_t;

static void feed(http_conn_t *c, const char *data, size_t len);
static void on_idle(uv_idle_t *h);
static void parse_release(http_conn_t *c);
static void make_req(http_conn_t *c, http_req_t *req);

/* ---- parser callbacks ------------------------------------------------------------------ */

static http_conn_t *conn_of(llhttp_t *p)
{
    return p->data;
}

static int over_header_limit(http_conn_t *c, size_t more)
{
    if (c->hp->url.len + c->hp->hdrs.len + more > c->srv->lim.max_header_bytes) {
        c->hp->err_status = 431;
        return -1;
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    http_conn_t *c = conn_of(p);
    buf_reset(&c->hp->url);
    buf_reset(&c->hp->hdrs);
    buf_reset(&c->hp->body);
    c->hp->nhdr = 0;
    c->hp->hdr_in_value = false;
    c->hp->err_status = 0;
    /* the whole request must arrive within the idle timeout (slow clients) */
    uv_timer_again(&c->hp->timer);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = conn_of(p);
    if (over_header_limit(c, len)) {
        return -1;
    }
    return buf_append(&c->hp->url, at, len) ? -1 : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = conn_of(p);
    if (over_header_limit(c, len + 2)) {
        return -1;
    }
    if (c->hp->nhdr == 0 || c->hp->hdr_in_value) {
        if (c->hp->nhdr == HTTP_MAX_HEADERS) {
            c->hp->err_status = 431;
            return -1;
        }
        c->hp->hdr_off[c->hp->nhdr * 2] = (uint32_t)c->hp->hdrs.len;
        c->hp->hdr_off[c->hp->nhdr * 2 + 1] = UINT32_MAX;
        c->hp->nhdr++;
        c->hp->hdr_in_value = false;
    }
    return buf_append(&c->hp->hdrs, at, len) ? -1 : 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    http_conn_t *c = conn_of(p);
    if (buf_append_byte(&c->hp->hdrs, 0)) {
        return -1;
    }
    c->hp->hdr_off[c->hp->nhdr * 2 - 1] = (uint32_t)c->hp->hdrs.len;
    c->hp->hdr_in_value = true;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = conn_of(p);
    if (over_header_limit(c, len + 1)) {
        return -1;
    }
    return buf_append(&c->hp->hdrs, at, len) ? -1 : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn_t *c = conn_of(p);
    return buf_append_byte(&c->hp->hdrs, 0) ? -1 : 0;
}

static int on_headers_complete(llhttp_t *p)
{
    http_conn_t *c = conn_of(p);
    if (c->srv->rl.rate > 0) {
        http_req_t hr = { .hdr_base = (const char *)c->hp->hdrs.data,
                          .hdr_off = c->hp->hdr_off,
                          .nhdr = c->hp->nhdr };
        if (!http__rl_allow(c->srv, c->remote, http_req_header(&hr, "x-forwarded-for"),
                            &c->hp->retry_after)) {
            c->hp->err_status = 429;
            return -1;
        }
    }
    /* the route decides the body cap; refuse an announced oversized body at once */
    buf_append_byte(&c->hp->url, 0);
    c->hp->url.len--;
    char *q = memchr(c->hp->url.data, '?', c->hp->url.len);
    char save = 0;
    if (q) {
        save = *q;
        *q = 0;
    }
    bool exists;
    const http_route_ent_t *r =
        http__route_find(c->srv, llhttp_method_name(p->method), (char *)c->hp->url.data, &exists);
    if (q) {
        *q = save;
    }
    c->hp->body_max = r && r->max_body ? r->max_body : c->srv->lim.max_body_bytes;
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->hp->body_max) {
        c->hp->err_status = 413;
        return -1;
    }
    if (r && r->head) {
        http_req_t req;
        make_req(c, &req);
        if (q) {
            *q = '?'; /* make_req cut the URL there; dispatch makes the request again */
        }
        int st = r->head(&req, r->ud);
        if (st != 0) {
            c->hp->err_status = st >= 400 && st <= 599 ? st : 400;
            return -1;
        }
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = conn_of(p);
    if (c->hp->body.len + len > c->hp->body_max) {
        c->hp->err_status = 413;
        return -1;
    }
    return buf_append(&c->hp->body, at, len) ? -1 : 0;
}

static int on_message_complete(llhttp_t *p)
{
    /* pause after every request but an upgrade (that one stops the parser by itself), so the
     * request is dispatched, and answered, before the next pipelined one is parsed */
    return llhttp_get_upgrade(p) ? 0 : HPE_PAUSED;
}

void http__settings_init(void)
{
    if (settings.on_message_complete) {
        return;
    }
    llhttp_settings_init(&settings);
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_field_complete = on_header_field_complete;
    settings.on_header_value = on_header_value;
    settings.on_header_value_complete = on_header_value_complete;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
}

/* ---- writes ---------------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    wreq_t *w = container_of(req, wreq_t, req);
    http_conn_t *c = w->c;
    for (unsigned i = 0; i < w->n; i++) {
        shbuf_unref(w->refs[i]);
    }
    free(w);
    c->writes--;
    if (status < 0 && status != UV_ECANCELED) {
        http__conn_close_now(c);
        return;
    }
    if (c->close_after_write && c->writes == 0) {
        http__conn_close_now(c);
    }
}

int http_conn_write(http_conn_t *c, const http_part_t *parts, size_t nparts)
{
    if (c->closing) {
        return UV_ECANCELED;
    }
    return c->ssl ? http__tls_write(c, parts, nparts) : http__raw_write(c, parts, nparts);
}

int http__raw_write(http_conn_t *c, const http_part_t *parts, size_t nparts)
{
    if (c->closing) {
        return UV_ECANCELED;
    }
    wreq_t *w = xmalloc(sizeof(*w) + nparts * sizeof(shbuf_t *));
    uv_buf_t stackbufs[16];
    uv_buf_t *bufs = nparts <= 16 ? stackbufs : xmalloc(nparts * sizeof(uv_buf_t));
    w->c = c;
    w->n = 0;
    unsigned nb = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len == 0) {
            continue;
        }
        shbuf_t *ref =
            parts[i].ref ? shbuf_ref(parts[i].ref) : shbuf_from(parts[i].p, parts[i].len);
        w->refs[w->n++] = ref;
        const uint8_t *p = parts[i].ref ? parts[i].p : ref->data;
        bufs[nb++] = uv_buf_init((char *)p, (unsigned)parts[i].len);
    }
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, nb, on_write);
    if (bufs != stackbufs) {
        free(bufs);
    }
    if (rc < 0) {
        for (unsigned i = 0; i < w->n; i++) {
            shbuf_unref(w->refs[i]);
        }
        free(w);
        http__conn_close_now(c);
        return rc;
    }
    c->writes++;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > c->srv->lim.max_write_queue) {
        LOG_W("http", "slow client closed", "\"remote\":\"%s\",\"queued\":%zu", c->remote,
              uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp));
        http__conn_close_now(c);
        return UV_ENOBUFS;
    }
    return 0;
}

/* Sends res (+ parts before its body) as the answer to the current request. */
static int send_response(http_conn_t *c, http_res_t *res, const http_part_t *parts, size_t nparts)
{
    size_t total = res->body.len;
    for (size_t i = 0; i < nparts; i++) {
        total += parts[i].len;
    }
    bool keep = c->keep_alive && !res->close && !c->srv->closing;
    const char *enc = NULL;
    buf_t z, head;
    buf_init(&z, 0);
    buf_init(&head, 0);
    /* all = [head, parts..., body] */
    http_part_t *all = xmalloc((nparts + 2) * sizeof(*all));
    if (nparts) {
        memcpy(all + 1, parts, nparts * sizeof(*parts));
    }
    all[nparts + 1] = (http_part_t){ res->body.data, res->body.len, NULL };
    if (!res->no_compress && total >= 1024 && (c->hp->acc_gzip || c->hp->acc_deflate) && !c->head) {
        if (http__compress(all + 1, nparts + 1, c->hp->acc_gzip, &z) == 0) {
            enc = c->hp->acc_gzip ? "gzip" : "deflate";
        }
    }
    http__head(&head, res, enc ? z.len : total, enc, keep, res->cors ? c->hp->cors_lines : "",
               c->srv->default_headers);
    all[0] = (http_part_t){ head.data, head.len, NULL };
    size_t n = nparts + 2;
    if (c->head) {
        n = 1;
    } else if (enc) {
        all[1] = (http_part_t){ z.data, z.len, NULL };
        n = 2;
    }
    int rc = http_conn_write(c, all, n);
    free(all);
    buf_deinit(&z);
    buf_deinit(&head);
    if (rc == 0 && !keep) {
        http__conn_close_after_writes(c, true);
    }
    if (rc == 0 && keep && !c->closing && c->hp) {
        uv_timer_again(&c->hp->timer); /* idle keep-alive from now */
    }
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------------- */

static void error_response(http_conn_t *c, int status)
{
    http_res_t res;
    http_res_init(&res);
    res.close = true;
    const char *msg = http__status_text(status);
    http_res_send(&res, status, "text/plain", msg, strlen(msg));
    if (status == 429) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", c->hp->retry_after);
        http_res_header(&res, "Retry-After", ra);
    }
    c->keep_alive = false;
    c->head = false;
    send_response(c, &res, NULL, 0);
    http_res_deinit(&res);
}

static void make_req(http_conn_t *c, http_req_t *req)
{
    memset(req, 0, sizeof(*req));
    buf_append_byte(&c->hp->url, 0);
    c->hp->url.len--;
    buf_append_byte(&c->hp->body, 0);
    c->hp->body.len--;
    char *url = (char *)c->hp->url.data;
    char *q = strchr(url, '?');
    if (q) {
        *q = 0;
    }
    req->method = llhttp_method_name(c->hp->parser.method);
    req->path = url;
    req->query = q ? q + 1 : "";
    req->body = c->hp->body.data ? c->hp->body.data : (const uint8_t *)"";
    req->body_len = c->hp->body.len;
    req->remote_addr = c->remote;
    req->conn = c;
    req->upgrade = llhttp_get_upgrade(&c->hp->parser) != 0;
    req->hdr_base = (const char *)c->hp->hdrs.data;
    req->hdr_off = c->hp->hdr_off;
    req->nhdr = c->hp->nhdr;
    c->keep_alive = llhttp_should_keep_alive(&c->hp->parser) != 0;
    c->head = strcmp(req->method, "HEAD") == 0;
    c->hp->acc_gzip = http_req_accepts(req, "gzip");
    c->hp->acc_deflate = !c->hp->acc_gzip && http_req_accepts(req, "deflate");
    http__cors_lines(c->srv, req, c->hp->cors_lines, sizeof c->hp->cors_lines);
}

/* Runs the handler of the parsed request. */
static void dispatch(http_conn_t *c)
{
    http_req_t req;
    make_req(c, &req);
    bool exists = false;
    const char *m = c->head ? "GET" : req.method;
    const http_route_ent_t *r = http__route_find(c->srv, m, req.path, &exists);
    http_res_t res;
    http_res_init(&res);
    int rc = HTTP_DONE;
    if (!r) {
        int st = exists ? 405 : 404;
        const char *msg = http__status_text(st);
        http_res_send(&res, st, "text/plain", msg, strlen(msg));
    } else {
        rc = r->cb(&req, &res, r->ud);
    }
    if (rc == HTTP_DEFERRED) {
        if (c->mode == CONN_HTTP && !c->closing) {
            c->busy = true;
            uv_timer_stop(&c->hp->timer);
        }
    } else if (!c->closing) {
        send_response(c, &res, NULL, 0);
    }
    http_res_deinit(&res);
}

/* The body passed the route's limit: let the handler know (Engine.IO closes the session),
 * answer 413 and close. */
static void dispatch_too_big(http_conn_t *c)
{
    http_req_t req;
    make_req(c, &req);
    req.too_big = true;
    req.body_len = 0;
    bool exists = false;
    const http_route_ent_t *r = http__route_find(c->srv, req.method, req.path, &exists);
    http_res_t res;
    http_res_init(&res);
    const char *msg = http__status_text(413);
    http_res_send(&res, 413, "text/plain", msg, strlen(msg));
    if (r) {
        r->cb(&req, &res, r->ud);
    }
    res.close = true;
    c->keep_alive = false;
    if (!c->closing) {
        send_response(c, &res, NULL, 0);
    }
    http_res_deinit(&res);
}

int http_conn_respond(http_conn_t *c, http_res_t *res, const http_part_t *parts, size_t nparts)
{
    if (c->closing || !c->busy) {
        return UV_ECANCELED;
    }
    c->busy = false;
    int rc = send_response(c, res, parts, nparts);
    if (rc == 0 && c->hp && c->hp->pending.len && !c->closing) {
        /* parse what arrived meanwhile on the next iteration, not inside our caller */
        list_remove(&c->run_link);
        list_insert_tail(&c->srv->runq, &c->run_link);
        uv_idle_start(&c->srv->idle, on_idle);
    }
    return rc;
}

static void on_idle(uv_idle_t *h)
{
    http_server_t *srv = h->data;
    list_t q;
    list_init(&q);
    /* move the queue aside: feeding may queue connections again */
    if (!list_empty(&srv->runq)) {
        q.next = srv->runq.next;
        q.prev = srv->runq.prev;
        q.next->prev = &q;
        q.prev->next = &q;
        list_init(&srv->runq);
    }
    while (!list_empty(&q)) {
        http_conn_t *c = list_entry(q.next, http_conn_t, run_link);
        list_remove(&c->run_link);
        if (!c->hp) {
            continue;
        }
        buf_t in = c->hp->pending;
        buf_init(&c->hp->pending, in.max);
        if (!c->closing) {
            feed(c, (const char *)in.data, in.len);
        }
        buf_deinit(&in);
    }
    if (list_empty(&srv->runq)) {
        uv_idle_stop(h);
    }
}

static void feed(http_conn_t *c, const char *data, size_t len)
{
    while (len > 0 && !c->closing && c->mode == CONN_HTTP) {
        if (c->busy) {
            if (buf_append(&c->hp->pending, data, len) != 0) {
                LOG_W("http", "pipelined input over limit", "\"remote\":\"%s\"", c->remote);
                http__conn_close_now(c);
            }
            return;
        }
        enum llhttp_errno e = llhttp_execute(&c->hp->parser, data, len);
        if (e == HPE_OK) {
            return;
        }
        const char *pos = llhttp_get_error_pos(&c->hp->parser);
        size_t used = pos && pos >= data && pos <= data + len ? (size_t)(pos - data) : len;
        if (e == HPE_PAUSED) {
            llhttp_resume(&c->hp->parser);
            data += used;
            len -= used;
            dispatch(c);
            continue;
        }
        if (e == HPE_PAUSED_UPGRADE) {
            dispatch(c);
            if (c->mode == CONN_RAW && !c->closing) {
                parse_release(c); /* a WebSocket never parses HTTP again */
            }
            if (c->mode == CONN_RAW && !c->closing && len > used && c->ops && c->ops->on_data) {
                c->ops->on_data(c, (uint8_t *)data + used, len - used, c->ops_ud);
            } else if (c->mode != CONN_RAW && !c->closing && !c->busy) {
                /* an upgrade nobody took: end after the answer */
                http__conn_close_after_writes(c, true);
            }
            return;
        }
        LOG_D("http", "bad request", "\"remote\":\"%s\",\"err\":\"%s\"", c->remote,
              llhttp_errno_name(e));
        if (c->hp->err_status == 413) {
            dispatch_too_big(c);
        } else {
            error_response(c, c->hp->err_status ? c->hp->err_status : 400);
        }
        return;
    }
}

/* ---- connections ----------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    http_conn_t *c = h->data;
    b->base = c->srv->rbuf;
    b->len = sizeof c->srv->rbuf;
}

void http__conn_input(http_conn_t *c, char *data, size_t len)
{
    if (c->closing) {
        return;
    }
    if (c->mode == CONN_RAW) {
        if (c->ops && c->ops->on_data) {
            c->ops->on_data(c, (uint8_t *)data, len, c->ops_ud);
        }
        return;
    }
    feed(c, data, len);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    http_conn_t *c = s->data;
    if (n < 0) {
        http__conn_close_now(c);
        return;
    }
    if (n == 0) {
        return;
    }
    if (c->ssl) {
        http__tls_input(c, b->base, (size_t)n);
    } else {
        http__conn_input(c, b->base, (size_t)n);
    }
}

static void on_timer(uv_timer_t *t)
{
    http_conn_t *c = t->data;
    if (!c->busy && c->mode == CONN_HTTP) {
        http__conn_close_now(c);
    }
}

void http__server_handle_closed(http_server_t *srv)
{
    if (--srv->handles_open == 0 && srv->close_cb) {
        srv->close_cb(srv, srv->close_ud);
    }
}

static void parse_free(http_parse_t *hp)
{
    buf_deinit(&hp->url);
    buf_deinit(&hp->hdrs);
    buf_deinit(&hp->body);
    buf_deinit(&hp->pending);
    free(hp);
}

static void on_parse_closed(uv_handle_t *h)
{
    http_parse_t *hp = h->data;
    http_server_t *srv = hp->srv;
    parse_free(hp);
    http__server_handle_closed(srv);
}

/* Releases the parsing state of an upgraded connection (its timer closes on its own; the
 * server counts it until then). */
static void parse_release(http_conn_t *c)
{
    http_parse_t *hp = c->hp;
    c->hp = NULL;
    c->handles--;
    list_remove(&c->run_link);
    hp->timer.data = hp;
    c->srv->handles_open++;
    uv_close((uv_handle_t *)&hp->timer, on_parse_closed);
}

static void on_conn_closed(uv_handle_t *h)
{
    http_conn_t *c = h->data;
    if (--c->handles > 0) {
        return;
    }
    http_server_t *srv = c->srv;
    if (c->hp) {
        parse_free(c->hp);
    }
    if (c->ssl) {
        http__tls_conn_free(c);
    }
    free(c);
    http__server_handle_closed(srv);
}

void http__conn_close_now(http_conn_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    list_remove(&c->link);
    list_remove(&c->run_link);
    c->srv->nconns--;
    if (c->ops && c->ops->on_close) {
        const http_conn_ops_t *ops = c->ops;
        c->ops = NULL;
        ops->on_close(c, c->ops_ud);
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    if (c->hp) {
        uv_close((uv_handle_t *)&c->hp->timer, on_conn_closed);
    }
}

void http__conn_close_after_writes(http_conn_t *c, bool notify)
{
    if (c->closing) {
        return;
    }
    if (notify && c->ssl && !c->close_after_write) {
        http__tls_shutdown(c);
    }
    c->close_after_write = true;
    if (c->writes == 0) {
        http__conn_close_now(c);
    }
}

void http_conn_close(http_conn_t *c, bool graceful)
{
    if (c->closing) {
        return;
    }
    if (graceful) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        http__conn_close_after_writes(c, true);
        return;
    }
    http__conn_close_now(c);
}

void http_conn_watch(http_conn_t *c, const http_conn_ops_t *ops, void *ud)
{
    c->ops = ops;
    c->ops_ud = ud;
}

void http_conn_upgrade(http_conn_t *c, const http_conn_ops_t *ops, void *ud)
{
    c->mode = CONN_RAW;
    c->ops = ops;
    c->ops_ud = ud;
    if (c->hp) {
        uv_timer_stop(&c->hp->timer);
    }
}

const char *http_conn_remote_addr(const http_conn_t *c)
{
    return c->remote;
}

http_server_t *http_conn_server(const http_conn_t *c)
{
    return c->srv;
}

void http__accept_one(http_server_t *srv)
{
    http_conn_t *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->hp = xcalloc(1, sizeof(*c->hp));
    c->hp->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->hp->timer);
    c->tcp.data = c->hp->timer.data = c;
    c->handles = 2;
    srv->handles_open++;
    list_init(&c->link);
    list_init(&c->run_link);
    list_insert_tail(&srv->conns, &c->link);
    srv->nconns++;
    buf_init(&c->hp->url, srv->lim.max_header_bytes + 1);
    buf_init(&c->hp->hdrs, srv->lim.max_header_bytes + 1);
    buf_init(&c->hp->body, 0);
    buf_init(&c->hp->pending, srv->lim.max_header_bytes + srv->lim.max_body_bytes);
    llhttp_init(&c->hp->parser, HTTP_REQUEST, &settings);
    c->hp->parser.data = c;
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp) != 0) {
        http__conn_close_now(c);
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    strcpy(c->remote, "unknown");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->remote, sizeof c->remote);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, c->remote, sizeof c->remote);
        }
    }
    if (srv->nconns > srv->lim.max_conns || srv->closing) {
        LOG_W("http", "connection limit", "\"remote\":\"%s\"", c->remote);
        http__conn_close_now(c);
        return;
    }
    if (srv->tls && http__tls_conn_init(c) != 0) {
        LOG_W("http", "tls setup failed", "\"remote\":\"%s\"", c->remote);
        http__conn_close_now(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    /* the idle timeout also bounds a TLS handshake */
    uv_timer_start(&c->hp->timer, on_timer, srv->lim.idle_timeout_ms, srv->lim.idle_timeout_ms);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}
