/* signal/http_impl.h: private structures shared by http.c (connections, parsing, writes) and
 * http_util.c (routes, responses, compression, CORS). Not for other modules. */
#ifndef SIGNAL_HTTP_IMPL_H
#define SIGNAL_HTTP_IMPL_H
#include "../common/list.h"
#include "http.h"
#include "strmap.h"
#include <llhttp.h>
#include <openssl/ssl.h>

#define HTTP_MAX_HEADERS 64
#define HTTP_RL_KEY_MAX  64

/* the per-client request rate limit (http_limit.c) */
typedef struct http_rl {
    double rate, burst; /* tokens per second, bucket size; rate 0: off */
    size_t max_clients;
    strmap_t map;     /* client key -> rl_client_t */
    list_t lru;       /* rl_client_t.link, least recently used first */
    uv_timer_t sweep; /* drops clients whose bucket is full again */
    char **trusted;   /* normalised proxy addresses */
    size_t ntrusted;
} http_rl_t;

typedef struct http_route_ent {
    char *method; /* NULL: any */
    char *path;
    size_t path_len;
    int match;
    size_t max_body;
    http_handler_cb cb;
    http_head_cb head; /* NULL: none */
    void *ud;
} http_route_ent_t;

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_check_t check; /* resets the per-iteration accept budget, accepts a held-back conn */
    uv_idle_t idle;   /* runs deferred input of connections whose response completed */
    http_limits_t lim;
    http_cors_t cors;
    char *default_headers; /* owned, "" or "Name: value\r\n"... */
    http_route_ent_t *routes;
    size_t nroutes;
    list_t conns; /* http_conn_t.link */
    list_t runq;  /* conns with buffered input to parse (http_conn_t.run_link) */
    size_t nconns;
    unsigned accepted_tick;
    bool accept_pending;
    bool listening, closing;
    unsigned handles_open;
    int port;
    void (*close_cb)(http_server_t *, void *);
    void *close_ud;
    char rbuf[65536]; /* read buffer: input is consumed synchronously in on_read */
    http_rl_t rl;
    SSL_CTX *tls;                       /* NULL: plain HTTP */
    char tls_in[16384], tls_out[16384]; /* TLS plaintext scratch: SSL_read, coalesced writes */
};

enum {
    CONN_HTTP = 0,
    CONN_RAW = 1
};

/* The HTTP request-parsing state of a connection: allocated with it, released when the
 * connection is upgraded (a WebSocket keeps only http_conn_t). */
typedef struct http_parse {
    uv_timer_t timer; /* idle keep-alive / slow request; data: the conn (the parse once released) */
    http_server_t *srv;
    llhttp_t parser;
    bool hdr_in_value;
    bool acc_gzip, acc_deflate;
    int err_status;       /* a limit hit while parsing: answer with this status */
    unsigned retry_after; /* with 429: seconds */
    /* the request being parsed / deferred */
    buf_t url, hdrs, body;
    uint32_t hdr_off[HTTP_MAX_HEADERS * 2];
    unsigned nhdr;
    size_t body_max;
    char cors_lines[512]; /* CORS header lines computed for the current request */
    buf_t pending;        /* input received while busy */
} http_parse_t;

struct http_conn {
    uv_tcp_t tcp;
    http_server_t *srv;
    http_parse_t *hp; /* HTTP mode only; NULL after an upgrade */
    list_t link, run_link;
    const http_conn_ops_t *ops;
    void *ops_ud;
    SSL *ssl;        /* TLS state with its two memory BIOs, or NULL */
    unsigned writes; /* writes in flight */
    uint8_t handles; /* open uv handles (tcp, the parse's timer) */
    uint8_t mode;    /* CONN_HTTP, CONN_RAW */
    bool busy;       /* a deferred request awaits http_conn_respond */
    bool closing;
    bool close_after_write;
    bool keep_alive; /* of the request being answered */
    bool head;       /* the request being answered is HEAD */
    bool tls_failed; /* a TLS error: nothing more is read or encrypted */
    char remote[46]; /* INET6_ADDRSTRLEN */
};

/* http.c, for http_server.c */
void http__settings_init(void);
/* Accepts one connection from the listener (closed at once past the connection limit). */
void http__accept_one(http_server_t *srv);
/* Closes c now (idempotent): on_close runs once, the memory goes with the close callbacks. */
void http__conn_close_now(http_conn_t *c);
/* One of the server's handles (listener, check, idle, sweep, a conn) finished closing. */
void http__server_handle_closed(http_server_t *srv);

/* http.c, for http_tls.c */
/* Writes bytes to the socket as they are (the TLS layer's records). */
int http__raw_write(http_conn_t *c, const http_part_t *parts, size_t nparts);
/* Handles plaintext input: HTTP parsing, or on_data after an upgrade. */
void http__conn_input(http_conn_t *c, char *data, size_t len);
/* Closes once the pending writes are done (notify: send a TLS close_notify first). */
void http__conn_close_after_writes(http_conn_t *c, bool notify);

/* http_limit.c */
void http__rl_init(http_server_t *srv);
/* Frees the trusted list (all: also the client table). */
void http__rl_free(http_server_t *srv, bool all);
/* Counts a request of peer (with its X-Forwarded-For header or NULL). Returns true when it is
 * allowed; false with *retry_after (seconds) when over the limit. */
bool http__rl_allow(http_server_t *srv, const char *peer, const char *xff, unsigned *retry_after);

/* http_tls.c */
void http__tls_server_free(http_server_t *srv);
/* Creates c->ssl in accept state. Returns 0 or -1. */
int http__tls_conn_init(http_conn_t *c);
void http__tls_conn_free(http_conn_t *c);
/* Received bytes: decrypts them and passes the plaintext to http__conn_input. */
void http__tls_input(http_conn_t *c, const char *data, size_t len);
/* Encrypts parts and writes the records. Returns 0 or an error (the connection is closing). */
int http__tls_write(http_conn_t *c, const http_part_t *parts, size_t nparts);
/* Queues a close_notify alert (after a complete handshake). */
void http__tls_shutdown(http_conn_t *c);

/* http_util.c */
const http_route_ent_t *http__route_find(const http_server_t *srv, const char *method,
                                         const char *path, bool *path_exists);
void http__cors_lines(const http_server_t *srv, const http_req_t *req, char *out, size_t cap);
/* Serialises status line + headers for res with a body of body_len bytes (content_encoding
 * may be NULL) into out. defaults: the server's default header lines, skipped where res has
 * a header of the same name. */
int http__head(buf_t *out, const http_res_t *res, size_t body_len, const char *content_encoding,
               bool keep_alive, const char *cors_lines, const char *defaults);
/* Whether the header lines (each "Name: value\r\n") have one named name[0..len). */
bool http__lines_have(const char *lines, size_t lines_len, const char *name, size_t len);
/* Compresses parts into out (gzip when gzip, else zlib deflate). Returns 0 or -1. */
int http__compress(const http_part_t *parts, size_t n, bool gzip, buf_t *out);
const char *http__status_text(int status);

#endif
