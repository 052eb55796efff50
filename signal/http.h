/* signal/http.h: the HTTP/1.1 server (libuv TCP + llhttp) and its routing API.
 *
 * Applications register handlers by method + exact path or path prefix. A handler runs
 * synchronously on the loop: it reads the request and fills the response, which the server
 * sends when the handler returns (bodies >= 1 KiB are gzip/deflate-compressed when the client's
 * Accept-Encoding allows and the handler did not turn it off). Keep-alive and pipelining are
 * handled here; requests on one connection are answered in order.
 *
 * The Engine.IO layer also uses the lower-level part below ("deferred responses and
 * upgrades"): a handler may keep a request open (a long-poll GET) or take the connection over
 * after an HTTP upgrade (WebSocket).
 *
 * Limits: header bytes per request, body bytes per request (413 past it), connections,
 * accepts per loop iteration, write-queue bytes per connection (a slower client is closed),
 * idle time of a keep-alive connection and of a half-received request. */
#ifndef SIGNAL_HTTP_H
#define SIGNAL_HTTP_H
#include "../common/buf.h"
#include "../common/shbuf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_server http_server_t;
typedef struct http_conn http_conn_t;

typedef struct http_limits {
    size_t max_header_bytes;   /* request line + headers (default 16 KiB; 431 past it) */
    size_t max_body_bytes;     /* default 1 MB; 413 past it (routes may set their own) */
    size_t max_conns;          /* default 10000; further connections are closed at once */
    unsigned accepts_per_tick; /* default 64 */
    size_t max_write_queue;    /* default 16 MiB of unsent bytes; past it the conn is closed */
    unsigned idle_timeout_ms;  /* keep-alive idle and slow request (default 30000) */
} http_limits_t;

/* CORS policy (Node's `cors` module semantics). origin: NULL = no CORS headers; "*" =
 * `Access-Control-Allow-Origin: *`; "reflect" = echo the request's Origin (plus Vary: Origin);
 * otherwise a comma-separated list of allowed origins (echoed when matched). credentials adds
 * `Access-Control-Allow-Credentials: true`. */
typedef struct http_cors {
    const char *origin;
    bool credentials;
} http_cors_t;

/* --- requests --- */
typedef struct http_req {
    /* public, valid during the handler call (or until a deferred request is answered) */
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* the URL path, not decoded, without the query */
    const char *query;   /* the raw query without '?', "" when none */
    const uint8_t *body; /* NUL-terminated; body_len bytes */
    size_t body_len;
    const char *remote_addr; /* peer IP as text */
    bool upgrade;            /* an Upgrade request (llhttp reported one) */
    bool too_big;            /* the body passed the route's limit: body is empty, the server
                                answers 413 (unless the handler sets another status) and
                                closes the connection after the response */
    http_conn_t *conn;
    /* private */
    const char *hdr_base; /* header names and values, NUL-terminated, in pairs */
    const uint32_t *hdr_off;
    unsigned nhdr;
} http_req_t;

/* Case-insensitive header lookup: the first value of header `name`, or NULL. */
const char *http_req_header(const http_req_t *r, const char *name);
/* Finds `key` in a raw query string and URL-decodes its value into out (cap bytes with NUL).
 * Returns the decoded length, or -1 when absent or too long. A key without '=' gives "". */
int http_query_get(const char *query, const char *key, char *out, size_t cap);
/* True if Accept-Encoding allows `coding` ("gzip" / "deflate") with q > 0. */
bool http_req_accepts(const http_req_t *r, const char *coding);

/* --- responses --- */
typedef struct http_res {
    /* public */
    int status;               /* default 200 */
    const char *content_type; /* static or caller-owned until the handler returns; NULL: none */
    buf_t headers;            /* extra header lines, each "Name: value\r\n" (http_res_header) */
    buf_t body;
    bool no_compress; /* do not compress this body */
    bool close;       /* close the connection after this response */
    bool cors;        /* add the server's CORS headers for this request */
} http_res_t;

/* Appends a header line. Returns 0 or PROTO_ETOOBIG. */
int http_res_header(http_res_t *res, const char *name, const char *value);
/* Sets status, content type and body (copied). Returns 0 or PROTO_ETOOBIG. */
int http_res_send(http_res_t *res, int status, const char *content_type, const void *body,
                  size_t len);
/* A JSON error body `{"code":code,"message":"..."}` (Engine.IO's form) with status. */
int http_res_json_error(http_res_t *res, int status, int code, const char *message);
/* Answers a CORS preflight (OPTIONS) as Node's cors module does: 204, Allow-Origin per the
 * policy, Allow-Methods GET,HEAD,PUT,PATCH,POST,DELETE, Allow-Headers reflecting the
 * request's Access-Control-Request-Headers. Without a policy: 404. */
void http_res_preflight(const http_req_t *req, http_res_t *res);

/* --- routing --- */
enum {
    HTTP_DONE = 0,
    HTTP_DEFERRED = 1
};
/* A handler fills res and returns HTTP_DONE. Returning HTTP_DEFERRED means it keeps the
 * request and will answer it with http_conn_respond(), or that it took the connection over
 * with http_conn_upgrade() (the Engine.IO layer does both; applications return HTTP_DONE). */
typedef int (*http_handler_cb)(http_req_t *req, http_res_t *res, void *ud);

enum {
    HTTP_MATCH_EXACT = 0,
    HTTP_MATCH_PREFIX = 1
};
/* Registers a handler. method: "GET", "POST", ... or NULL for any method (a route with a
 * method also serves HEAD when it is GET). path: exact path, or a prefix with
 * HTTP_MATCH_PREFIX. max_body: 0 = the server's limit. Routes are tried longest path first,
 * exact before prefix. Unmatched requests get 404 (405 when the path exists for another
 * method). Returns 0, or -1 for a duplicate route. */
int http_route(http_server_t *srv, const char *method, const char *path, int match, size_t max_body,
               http_handler_cb cb, void *ud);

/* Optional per-route hook, run once a request's head (request line and headers) is parsed and
 * before its body is read: req has no body yet (body_len 0). It lets a layer notice a request
 * in flight (Engine.IO tracks a POST whose body is still arriving). Returns 0 to go on, or an
 * HTTP status (400..599) to refuse the request: the server answers it with that status and
 * closes the connection without reading the body; the route's handler is not called. */
typedef int (*http_head_cb)(http_req_t *req, void *ud);
/* Sets the head hook of the route registered with the same method, path and match (ud is the
 * route's). Returns 0, or -1 when there is no such route. */
int http_route_on_head(http_server_t *srv, const char *method, const char *path, int match,
                       http_head_cb cb);

/* --- server --- */
/* Creates a server on loop. limits/cors may be NULL (defaults / no CORS); cors strings must
 * outlive the server. */
http_server_t *http_server_new(uv_loop_t *loop, const http_limits_t *limits,
                               const http_cors_t *cors);
/* Sets header lines added to every response of the server (errors, 404s, polling, the
 * WebSocket 101 too), e.g. "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n".
 * lines is copied; each line must be "Name: value\r\n" without control characters. A header a
 * handler sets itself (http_res_header, same name, any case) wins over the default. NULL or ""
 * clears the set. Returns 0, or -1 (set unchanged) for malformed lines. */
int http_server_set_default_headers(http_server_t *srv, const char *lines);
/* The default header lines ("" when none); valid until the next set or the server's free. */
const char *http_server_default_headers(const http_server_t *srv);
/* Serves HTTPS (and WSS) on every connection from now on: loads the PEM certificate chain
 * and private key; TLS 1.2+, no renegotiation, ALPN http/1.1. A connection whose TLS fails is
 * closed with a log line (a plain-HTTP request gets a plaintext 400 first). Returns 0, or -1
 * with a message in err (nothing changed). Call before listening. */
int http_server_set_tls(http_server_t *srv, const char *cert_file, const char *key_file, char *err,
                        size_t errcap);
bool http_server_tls(const http_server_t *srv);
/* Per-client request rate limit (token bucket): each new HTTP request (not WebSocket
 * frames) takes a token; a client has burst tokens, refilled at per_sec. Over it: 429 with
 * Retry-After, and the connection closes. Clients are tracked by address, max_clients at
 * most (0: 100000; the least recently seen makes room), and forgotten once their bucket is
 * full again. per_sec 0 turns it off. Returns 0, or -1 for bad values. */
int http_server_set_rate_limit(http_server_t *srv, double per_sec, double burst,
                               size_t max_clients);
/* Reverse proxies (comma-separated IP addresses) whose requests count for the client they
 * name in X-Forwarded-For (the rightmost address that is not a trusted proxy); their own
 * requests without that header are not limited. Returns 0, or -1 (unchanged) when an entry is
 * not an IP address. */
int http_server_set_trusted_proxies(http_server_t *srv, const char *list);
/* Clients tracked by the rate limit now. */
size_t http_server_rate_clients(const http_server_t *srv);
/* Binds and listens on host:port (port 0: ephemeral). Returns 0 or a UV_E* code. */
int http_server_listen(http_server_t *srv, const char *host, int port);
/* The bound port (after listen). */
int http_server_port(const http_server_t *srv);
uv_loop_t *http_server_loop(const http_server_t *srv);
/* Open connections now. */
size_t http_server_conns(const http_server_t *srv);
/* Closes the listener and every connection; cb(srv, ud) runs once all handles are closed,
 * after which http_server_free releases the memory. */
void http_server_close(http_server_t *srv, void (*cb)(http_server_t *, void *), void *ud);
void http_server_free(http_server_t *srv);

/* --- deferred responses and upgrades (Engine.IO layer) --- */
typedef struct http_conn_ops {
    /* raw bytes after an upgrade (mutable: the WebSocket codec unmasks in place) */
    void (*on_data)(http_conn_t *c, uint8_t *data, size_t len, void *ud);
    /* the connection is closing (peer gone, error, server close); c is valid during the call
     * only. Also called for a deferred request's connection. */
    void (*on_close)(http_conn_t *c, void *ud);
} http_conn_ops_t;

/* Watches c: ops->on_close runs when it closes (for a held long-poll GET). */
void http_conn_watch(http_conn_t *c, const http_conn_ops_t *ops, void *ud);
/* Answers the deferred request of c. body parts are written with their shbuf references held
 * until the write completes (parts with ref NULL are copied first). res->body is appended
 * after the parts. Compresses when the total is >= 1 KiB and the request accepted it (the
 * request's Accept-Encoding was recorded when it was deferred). Returns 0 or an error (the
 * connection is then closed). */
typedef struct http_part {
    const uint8_t *p;
    size_t len;
    shbuf_t *ref; /* NULL: copy p */
} http_part_t;
int http_conn_respond(http_conn_t *c, http_res_t *res, const http_part_t *parts, size_t nparts);
/* Switches c to raw mode after the caller has answered the upgrade (e.g. with the 101 bytes
 * via http_conn_write): further input goes to ops->on_data. Input that came after the request
 * headers is delivered to on_data right after the handler returns. */
void http_conn_upgrade(http_conn_t *c, const http_conn_ops_t *ops, void *ud);
/* Writes raw bytes (after an upgrade). Parts as above. Returns 0, or UV_ENOBUFS when the
 * write queue is over its limit (the connection is then closed), or another UV_E* code. */
int http_conn_write(http_conn_t *c, const http_part_t *parts, size_t nparts);
/* Closes the connection after pending writes are flushed (graceful=true) or at once. */
void http_conn_close(http_conn_t *c, bool graceful);
const char *http_conn_remote_addr(const http_conn_t *c);
http_server_t *http_conn_server(const http_conn_t *c);
/* Releases/initialises the response struct (the server does this for normal handlers). */
void http_res_init(http_res_t *res);
void http_res_deinit(http_res_t *res);

#endif
