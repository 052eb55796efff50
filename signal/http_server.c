/* signal/http_server.c: the HTTP server object: creation with its limits, the listener, the
 * accept budget per loop iteration (the rest wait in the kernel queue), and close/free.
 * Connections and request parsing: http.c. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "http_impl.h"
#include <stdlib.h>
#include <string.h>

static void on_connection(uv_stream_t *l, int status)
{
    http_server_t *srv = l->data;
    if (status < 0) {
        LOG_W("http", "accept failed", "\"err\":\"%s\"", uv_strerror(status));
        return;
    }
    if (srv->accepted_tick >= srv->lim.accepts_per_tick) {
        /* leave it in the kernel's queue: libuv stops watching the listener until we accept,
         * which the check handle does on the next iteration */
        srv->accept_pending = true;
        return;
    }
    srv->accepted_tick++;
    http__accept_one(srv);
}

static void on_check(uv_check_t *h)
{
    http_server_t *srv = h->data;
    srv->accepted_tick = 0;
    if (srv->accept_pending && !srv->closing) {
        srv->accept_pending = false;
        srv->accepted_tick++;
        http__accept_one(srv);
    }
}

/* ---- server ---------------------------------------------------------------------------- */

http_server_t *http_server_new(uv_loop_t *loop, const http_limits_t *limits,
                               const http_cors_t *cors)
{
    http__settings_init();
    http_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    if (limits) {
        srv->lim = *limits;
    }
    if (!srv->lim.max_header_bytes) {
        srv->lim.max_header_bytes = 16384;
    }
    if (!srv->lim.max_body_bytes) {
        srv->lim.max_body_bytes = 1000000;
    }
    if (!srv->lim.max_conns) {
        srv->lim.max_conns = 10000;
    }
    if (!srv->lim.accepts_per_tick) {
        srv->lim.accepts_per_tick = 64;
    }
    if (!srv->lim.max_write_queue) {
        srv->lim.max_write_queue = 16u << 20;
    }
    if (!srv->lim.idle_timeout_ms) {
        srv->lim.idle_timeout_ms = 30000;
    }
    if (cors) {
        srv->cors = *cors;
    }
    list_init(&srv->conns);
    list_init(&srv->runq);
    uv_tcp_init(loop, &srv->listener);
    uv_check_init(loop, &srv->check);
    uv_idle_init(loop, &srv->idle);
    srv->listener.data = srv->check.data = srv->idle.data = srv;
    srv->handles_open = 4;
    http__rl_init(srv);
    uv_check_start(&srv->check, on_check);
    uv_unref((uv_handle_t *)&srv->check);
    return srv;
}

int http_server_listen(http_server_t *srv, const char *host, int port)
{
    struct sockaddr_storage ss;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc == 0) {
        rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
    }
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    }
    if (rc != 0) {
        return rc;
    }
    int sl = sizeof ss;
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &sl);
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    srv->listening = true;
    return 0;
}

int http_server_port(const http_server_t *srv)
{
    return srv->port;
}

uv_loop_t *http_server_loop(const http_server_t *srv)
{
    return srv->loop;
}

size_t http_server_conns(const http_server_t *srv)
{
    return srv->nconns;
}

static void on_server_handle_closed(uv_handle_t *h)
{
    http__server_handle_closed(h->data);
}

void http_server_close(http_server_t *srv, void (*cb)(http_server_t *, void *), void *ud)
{
    if (srv->closing) {
        return;
    }
    srv->closing = true;
    srv->close_cb = cb;
    srv->close_ud = ud;
    while (!list_empty(&srv->conns)) {
        http__conn_close_now(list_entry(srv->conns.next, http_conn_t, link));
    }
    uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->check, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->idle, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->rl.sweep, on_server_handle_closed);
}

void http_server_free(http_server_t *srv)
{
    if (!srv) {
        return;
    }
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].method);
        free(srv->routes[i].path);
    }
    free(srv->routes);
    free(srv->default_headers);
    http__tls_server_free(srv);
    http__rl_free(srv, true);
    free(srv);
}
