/* sfu/rpc_server.h: the SFU end of the RPC (docs/RPC.md) on GIO: a Unix stream socket, one
 * controlling connection at a time, length-prefixed JSON frames (proto/rpc.h). Decoding errors
 * are answered here; valid requests go to the on_request callback, whose answer is sent back. */
#ifndef SFU_RPC_SERVER_H
#define SFU_RPC_SERVER_H
#include "../proto/rpc.h"
#include <glib.h>
#include <stddef.h>

typedef struct rpc_server rpc_server_t;

typedef struct rpc_server_cbs {
    /* A decoded request. Returns the result object (ownership passes to the server) or NULL
     * with *err and why (a message of at most whylen bytes) set. Called synchronously. */
    json_t *(*on_request)(void *ud, const rpc_msg_t *m, rpc_err_t *err, char *why, size_t whylen);
    /* Runs after each response is queued: a place to flush events held during the request. */
    void (*after_request)(void *ud);
    /* The controlling connection is gone (closed by the peer, by an error or replaced). */
    void (*on_disconnect)(void *ud);
} rpc_server_cbs_t;

/* Binds path (a stale socket file is removed; a live one is an error), listens on the default
 * main context. Returns the server, or NULL with a message in err. */
rpc_server_t *rpc_server_new(const char *path, const rpc_server_cbs_t *cbs, void *ud, char *err,
                             size_t errlen);
/* Closes the controller and the listener, removes the socket file, frees. NULL is ignored. */
void rpc_server_free(rpc_server_t *srv);

/* Sends msg (a complete response or event object; the reference is stolen) to the current
 * controller. Returns 0, or -1 when there is none (msg dropped) or the connection failed. */
int rpc_server_send(rpc_server_t *srv, json_t *msg);

/* True while a controller is connected. */
bool rpc_server_connected(const rpc_server_t *srv);

#endif
