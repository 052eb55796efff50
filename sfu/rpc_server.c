/* sfu/rpc_server.c: the RPC listener and its connections on GIO. Reads go through a G_IO_IN
 * socket source into a capped buffer cut into frames; writes are tried at once and the rest
 * waits for G_IO_OUT. A framing error (or a connection over RPC_SERVER_MAX_CONNS) gets an
 * "error" event and is closed; the process never exits because of RPC input. Each connection's
 * sources die with it, so a callback never sees a freed connection; code that may close one
 * (a write error) re-checks it by id before touching it again. */
#include "rpc_server.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../proto/err.h"
#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define OUT_MAX    (64u * 1024 * 1024) /* a connection this far behind is dropped */

typedef struct conn {
    rpc_server_t *srv;
    GSocketConnection *gconn; /* owned reference */
    GSocket *sock;            /* borrowed from gconn */
    GSource *in_src, *out_src;
    buf_t in, out;
    unsigned id;
} conn_t;

struct rpc_server {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    GSocketService *svc;
    rpc_server_cbs_t cbs;
    void *ud;
    GHashTable *conns; /* id -> conn_t* (owned) */
    unsigned next_conn;
};

static void conn_close(rpc_server_t *srv, conn_t *c, bool notify);

static int flush_out(rpc_server_t *srv, conn_t *c);

static conn_t *conn_find(rpc_server_t *srv, unsigned id)
{
    return g_hash_table_lookup(srv->conns, GUINT_TO_POINTER(id));
}

static gboolean on_writable(GSocket *sock, GIOCondition cond, gpointer ud)
{
    conn_t *c = ud;
    g_source_destroy(c->out_src);
    g_source_unref(c->out_src);
    c->out_src = NULL;
    flush_out(c->srv, c);
    return G_SOURCE_REMOVE;
}

/* Writes what the socket takes now; arms G_IO_OUT for the rest. Returns 0 or -1 (closed). */
static int flush_out(rpc_server_t *srv, conn_t *c)
{
    while (c->out.len > 0) {
        GError *err = NULL;
        gssize n = g_socket_send(c->sock, (const gchar *)c->out.data, c->out.len, NULL, &err);
        if (n < 0) {
            if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                g_error_free(err);
                break;
            }
            LOG_W("rpc", "connection write failed", "\"conn\":%u,\"error\":\"%s\"", c->id,
                  log_esc(err->message));
            g_error_free(err);
            conn_close(srv, c, true);
            return -1;
        }
        buf_consume(&c->out, (size_t)n);
    }
    if (c->out.len > 0 && !c->out_src) {
        c->out_src = g_socket_create_source(c->sock, G_IO_OUT, NULL);
        g_source_set_callback(c->out_src, (GSourceFunc)(void (*)(void))on_writable, c, NULL);
        g_source_attach(c->out_src, NULL);
    }
    return 0;
}

/* Queues msg (stolen) and writes what the socket takes. Returns 0; -1 when the connection was
 * closed (write error, or a peer that lets OUT_MAX bytes pile up); -2 when msg itself cannot
 * be sent (over RPC_MAX_FRAME): nothing was queued. */
static int conn_send(rpc_server_t *srv, conn_t *c, json_t *msg)
{
    size_t before = c->out.len;
    int rc = rpc_encode(&c->out, msg);
    json_decref(msg);
    if (rc == PROTO_ETOOBIG && before + RPC_HDR_LEN + RPC_MAX_FRAME > OUT_MAX) {
        LOG_W("rpc", "connection too slow, closing", "\"conn\":%u,\"queued\":%zu", c->id,
              c->out.len);
        conn_close(srv, c, true);
        return -1;
    }
    if (rc != 0) {
        LOG_E("rpc", "cannot encode a message", "\"conn\":%u,\"error\":\"%s\"", c->id,
              proto_strerror(rc));
        return -2;
    }
    return c->out_src ? 0 : flush_out(srv, c);
}

static void conn_free(conn_t *c)
{
    if (c->in_src) {
        g_source_destroy(c->in_src);
        g_source_unref(c->in_src);
    }
    if (c->out_src) {
        g_source_destroy(c->out_src);
        g_source_unref(c->out_src);
    }
    g_io_stream_close(G_IO_STREAM(c->gconn), NULL, NULL);
    g_object_unref(c->gconn);
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    g_free(c);
}

static void conn_close(rpc_server_t *srv, conn_t *c, bool notify)
{
    unsigned id = c->id;
    LOG_I("rpc", "connection closed", "\"conn\":%u", id);
    g_hash_table_remove(srv->conns, GUINT_TO_POINTER(id));
    conn_free(c);
    if (notify && srv->cbs.on_disconnect) {
        srv->cbs.on_disconnect(srv->ud, id);
    }
}

/* Queues an "error" event and writes it if the socket takes it now (best effort). */
static void send_error_event(conn_t *c, const char *why)
{
    json_t *ev = rpc_event_new(RPC_EV_ERROR, json_pack("{s:s}", "message", why));
    if (rpc_encode(&c->out, ev) == 0) {
        g_socket_send(c->sock, (const gchar *)c->out.data, c->out.len, NULL, NULL);
    }
    json_decref(ev);
}

static void send_error_response(rpc_server_t *srv, conn_t *c, int64_t id, rpc_err_t code,
                                const char *why)
{
    conn_send(srv, c, rpc_error_new(id, code, why));
}

/* Handles one frame payload. Returns -1 when the connection was closed meanwhile. */
static int handle_frame(rpc_server_t *srv, conn_t *c, const uint8_t *p, size_t n)
{
    rpc_msg_t m;
    const char *why = NULL;
    unsigned id = c->id;
    if (rpc_msg_decode(&m, p, n, &why) != 0) {
        LOG_W("rpc", "bad request", "\"conn\":%u,\"id\":%lld,\"error\":\"%s\"", c->id,
              (long long)m.id, why);
        send_error_response(srv, c, m.id, m.err, why);
    } else if (m.kind != RPC_KIND_REQUEST) {
        send_error_response(srv, c, m.id, RPC_E_INVALID_REQUEST, "only requests are accepted");
    } else {
        rpc_err_t err = RPC_E_INTERNAL;
        char msg[256] = "";
        json_t *res = srv->cbs.on_request(srv->ud, id, &m, &err, msg, sizeof msg);
        /* the handler never closes this connection, but check before touching c again */
        if (conn_find(srv, id) == c) {
            if (res) {
                if (conn_send(srv, c, rpc_result_new(m.id, res)) == -2) {
                    send_error_response(srv, c, m.id, RPC_E_INTERNAL,
                                        "the result is over the 1 MiB frame limit");
                }
            } else {
                send_error_response(srv, c, m.id, err, msg[0] ? msg : rpc_err_str(err));
            }
        } else {
            json_decref(res);
        }
        if (srv->cbs.after_request) {
            srv->cbs.after_request(srv->ud, id);
        }
    }
    rpc_msg_deinit(&m);
    return conn_find(srv, id) == c ? 0 : -1;
}

static void fatal_frame_error(rpc_server_t *srv, conn_t *c, const char *why)
{
    LOG_W("rpc", "framing error, closing the connection", "\"conn\":%u,\"error\":\"%s\"", c->id,
          why);
    json_t *data = json_pack("{s:s}", "message", why);
    unsigned id = c->id;
    conn_send(srv, c, rpc_event_new(RPC_EV_ERROR, data));
    if (conn_find(srv, id) == c) {
        conn_close(srv, c, true);
    }
}

static gboolean on_readable(GSocket *sock, GIOCondition cond, gpointer ud)
{
    conn_t *c = ud;
    rpc_server_t *srv = c->srv;
    if (buf_reserve(&c->in, READ_CHUNK) != 0) {
        fatal_frame_error(srv, c, "input buffer full");
        return G_SOURCE_REMOVE;
    }
    GError *err = NULL;
    gssize n = g_socket_receive(sock, (gchar *)c->in.data + c->in.len, READ_CHUNK, NULL, &err);
    if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_error_free(err);
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        if (err) {
            LOG_W("rpc", "connection read failed", "\"conn\":%u,\"error\":\"%s\"", c->id,
                  log_esc(err->message));
            g_error_free(err);
        }
        /* the source is destroyed by conn_free; returning REMOVE as well is harmless */
        conn_close(srv, c, true);
        return G_SOURCE_REMOVE;
    }
    c->in.len += (size_t)n;
    size_t off = 0;
    for (;;) {
        const uint8_t *payload;
        size_t plen;
        const char *why = NULL;
        ssize_t used = rpc_frame_decode(c->in.data + off, c->in.len - off, RPC_MAX_FRAME, &payload,
                                        &plen, &why);
        if (used == PROTO_EAGAIN) {
            break;
        }
        if (used < 0) {
            fatal_frame_error(srv, c, why);
            return G_SOURCE_REMOVE;
        }
        off += (size_t)used;
        if (handle_frame(srv, c, payload, plen) != 0) {
            return G_SOURCE_REMOVE;
        }
    }
    buf_consume(&c->in, off);
    return G_SOURCE_CONTINUE;
}

static gboolean on_incoming(GSocketService *svc, GSocketConnection *gconn, GObject *src,
                            gpointer ud)
{
    rpc_server_t *srv = ud;
    conn_t *c = g_new0(conn_t, 1);
    c->srv = srv;
    c->gconn = g_object_ref(gconn);
    c->sock = g_socket_connection_get_socket(gconn);
    c->id = ++srv->next_conn;
    g_socket_set_blocking(c->sock, FALSE);
    buf_init(&c->in, RPC_HDR_LEN + RPC_MAX_FRAME + READ_CHUNK);
    buf_init(&c->out, OUT_MAX);
    if (g_hash_table_size(srv->conns) >= RPC_SERVER_MAX_CONNS) {
        LOG_W("rpc", "connection refused: too many", "\"conn\":%u,\"max\":%d", c->id,
              RPC_SERVER_MAX_CONNS);
        send_error_event(c, "too many connections");
        conn_free(c);
        return TRUE;
    }
    LOG_I("rpc", "connection accepted", "\"conn\":%u,\"open\":%u", c->id,
          g_hash_table_size(srv->conns) + 1);
    g_hash_table_insert(srv->conns, GUINT_TO_POINTER(c->id), c);
    c->in_src = g_socket_create_source(c->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(c->in_src, (GSourceFunc)(void (*)(void))on_readable, c, NULL);
    g_source_attach(c->in_src, NULL);
    return TRUE;
}

/* A socket file at path: removed when nothing listens there (stale), else an error. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return 0;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0) {
        close(fd);
    }
    if (live) {
        snprintf(err, errlen, "another process listens on %s", path);
        return -1;
    }
    if (unlink(path) != 0) {
        snprintf(err, errlen, "cannot remove stale %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

rpc_server_t *rpc_server_new(const char *path, const rpc_server_cbs_t *cbs, void *ud, char *err,
                             size_t errlen)
{
    rpc_server_t *srv = g_new0(rpc_server_t, 1);
    if (!path || !*path || strlen(path) >= sizeof srv->path) {
        snprintf(err, errlen, "--rpc path must be 1..%zu bytes", sizeof srv->path - 1);
        g_free(srv);
        return NULL;
    }
    memcpy(srv->path, path, strlen(path) + 1);
    srv->cbs = *cbs;
    srv->ud = ud;
    srv->conns = g_hash_table_new(g_direct_hash, g_direct_equal);
    if (clear_stale(path, err, errlen) != 0) {
        g_hash_table_destroy(srv->conns);
        g_free(srv);
        return NULL;
    }
    srv->svc = g_socket_service_new();
    GSocketAddress *addr = g_unix_socket_address_new(path);
    GError *gerr = NULL;
    gboolean ok =
        g_socket_listener_add_address(G_SOCKET_LISTENER(srv->svc), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &gerr);
    g_object_unref(addr);
    if (!ok) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, gerr->message);
        g_error_free(gerr);
        g_object_unref(srv->svc);
        g_hash_table_destroy(srv->conns);
        g_free(srv);
        return NULL;
    }
    chmod(path, 0660);
    g_signal_connect(srv->svc, "incoming", G_CALLBACK(on_incoming), srv);
    g_socket_service_start(srv->svc);
    return srv;
}

void rpc_server_free(rpc_server_t *srv)
{
    if (!srv) {
        return;
    }
    GList *all = g_hash_table_get_keys(srv->conns);
    for (GList *l = all; l; l = l->next) {
        conn_t *c = conn_find(srv, GPOINTER_TO_UINT(l->data));
        if (c && flush_out(srv, c) == 0 && (c = conn_find(srv, GPOINTER_TO_UINT(l->data)))) {
            g_hash_table_remove(srv->conns, l->data);
            conn_free(c);
        }
    }
    g_list_free(all);
    g_hash_table_destroy(srv->conns);
    g_signal_handlers_disconnect_by_data(srv->svc, srv);
    g_socket_service_stop(srv->svc);
    g_socket_listener_close(G_SOCKET_LISTENER(srv->svc));
    g_object_unref(srv->svc);
    unlink(srv->path);
    g_free(srv);
}

int rpc_server_send(rpc_server_t *srv, unsigned conn, json_t *msg)
{
    conn_t *c = conn_find(srv, conn);
    if (!c) {
        json_decref(msg);
        return -1;
    }
    return conn_send(srv, c, msg) == 0 ? 0 : -1;
}

void rpc_server_close_conn(rpc_server_t *srv, unsigned conn, const char *why)
{
    conn_t *c = conn_find(srv, conn);
    if (!c) {
        return;
    }
    LOG_I("rpc", "closing a connection", "\"conn\":%u,\"why\":\"%s\"", conn, log_esc(why));
    send_error_event(c, why);
    conn_close(srv, c, false);
}

unsigned rpc_server_conn_count(const rpc_server_t *srv)
{
    return g_hash_table_size(srv->conns);
}
