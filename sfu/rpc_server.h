/* sfu/rpc_server.h: the SFU end of the RPC (docs/RPC.md) on GIO: a Unix stream socket that
 * accepts several connections at once (one per signal node), length-prefixed JSON frames
 * (proto/rpc.h). Decoding errors are answered here; valid requests go to the on_request
 * callback, whose answer is sent back on the connection that asked. Connections are named by
 * ids (1, 2, ...; never reused while the server lives): the session layer (api.c) maps them to
 * controllers. */
#ifndef SFU_RPC_SERVER_H
#define SFU_RPC_SERVER_H
#include "../proto/rpc.h"
#include <glib.h>
#include <stddef.h>

/* At most this many connections at once; a further one gets an "error" event and is closed. */
#define RPC_SERVER_MAX_CONNS 64

typedef struct rpc_server rpc_server_t;

typedef struct rpc_server_cbs {
    /* A decoded request of connection conn. Returns the result object (ownership passes to
     * the server) or NULL with *err and why (a message of at most whylen bytes) set. Called
     * synchronously; it may close other connections (rpc_server_close_conn), not conn. */
    json_t *(*on_request)(void *ud, unsigned conn, const rpc_msg_t *m, rpc_err_t *err, char *why,
                          size_t whylen);
    /* Runs after each response to conn is queued: a place to flush events held during the
     * request. */
    void (*after_request)(void *ud, unsigned conn);
    /* Connection conn is gone (closed by the peer, a write error or a framing error). Not
     * called for rpc_server_close_conn or rpc_server_free. */
    void (*on_disconnect)(void *ud, unsigned conn);
} rpc_server_cbs_t;

/* Binds path (a stale socket file is removed; a live one is an error), listens on the default
 * main context. Returns the server, or NULL with a message in err. */
rpc_server_t *rpc_server_new(const char *path, const rpc_server_cbs_t *cbs, void *ud, char *err,
                             size_t errlen);
/* Flushes what it can, closes every connection and the listener, removes the socket file,
 * frees. NULL is ignored. */
void rpc_server_free(rpc_server_t *srv);

/* Sends msg (a complete response or event object; the reference is stolen) on connection conn.
 * Returns 0, or -1 when there is no such connection (msg dropped) or it failed and was closed
 * (on_disconnect has run then). */
int rpc_server_send(rpc_server_t *srv, unsigned conn, json_t *msg);

/* Sends conn an "error" event with message why (best effort) and closes it, without calling
 * on_disconnect. No-op for an unknown conn. */
void rpc_server_close_conn(rpc_server_t *srv, unsigned conn, const char *why);

/* Number of open connections. */
unsigned rpc_server_conn_count(const rpc_server_t *srv);

#endif
