/* signal/sio.h: the Socket.IO server (protocol v5 over Engine.IO v4; v4 over EIO3), as the
 * applications see it: namespaces with a connect hook, sockets, rooms, events with acks in both
 * directions, binary attachments, and broadcasts encoded once and shared by every recipient.
 *
 * This header is the contract between the core (sio.c, eio_*.c) and the applications
 * (app_test.c, the livestream app). Everything runs on the one libuv loop of the process.
 *
 * JSON conventions: event arguments travel as the raw JSON text the client sent, never
 * re-serialised (jansson would change numbers and reject lone surrogates; c-deps.md 6).
 * "args" below is the comma-separated argument list WITHOUT the surrounding brackets and
 * WITHOUT the event name, e.g. `1,"2",{"3":[true]}`; an empty string means no arguments.
 * Binary arguments are written as placeholders `{"_placeholder":true,"num":N}` in args with
 * the bytes in attachments[N]. */
#ifndef SIGNAL_SIO_H
#define SIGNAL_SIO_H
#include "../common/shbuf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sio_server sio_server_t;
typedef struct sio_nsp sio_nsp_t;
typedef struct sio_socket sio_socket_t;

/* What the client sent when it connected (valid during the connect hook only). */
typedef struct sio_handshake {
    int eio_version;       /* 3 or 4 */
    const char *transport; /* "polling" or "websocket": the transport at handshake */
    const char *query;     /* the handshake request's raw query string (no '?') */
    const char *nsp_query; /* EIO3 only: a namespace's own query ("40/custom?token=x,"), or NULL */
    const char *authorization; /* the handshake request's Authorization header, or NULL */
    const char *remote_addr;   /* peer IP as text */
    const char *auth;          /* the CONNECT packet's auth payload (raw JSON), or NULL */
    size_t auth_len;
} sio_handshake_t;

/* One event received from a client (valid during the callback only). */
typedef struct sio_event {
    const char *name; /* NUL-terminated copy of the event name (JSON-unescaped) */
    const char *args; /* raw JSON argument list, see above; NUL-terminated */
    size_t args_len;
    shbuf_t *const *attachments; /* binary attachments, in placeholder order */
    size_t nattach;
    int64_t ack_id; /* the client's ack id, or -1 when it wants no ack */
} sio_event_t;

/* Returns 0 to accept the socket. To refuse, return non-zero and set *err_json to a malloc'd
 * JSON object (e.g. {"message":"unauthorized"}), sent as CONNECT_ERROR (EIO3: the v4 form
 * `44"message"`... as Node's server sends it). The core frees *err_json. */
typedef int (*sio_connect_cb)(sio_socket_t *s, const sio_handshake_t *hs, void *ud,
                              char **err_json);
typedef void (*sio_event_cb)(sio_socket_t *s, const sio_event_t *ev, void *ud);
/* reason: Socket.IO's wording: "client namespace disconnect", "server namespace disconnect",
 * "transport close", "transport error", "ping timeout", "server shutting down". The socket is
 * still valid during the call and has already left every room. */
typedef void (*sio_disconnect_cb)(sio_socket_t *s, const char *reason, void *ud);
/* Reply to a server->client emit with ack. timed_out: no reply within the timeout (args NULL).
 * The socket may be gone: look it up by socket_id (sio_socket_find) if needed. */
typedef void (*sio_ack_cb)(const char *socket_id, bool timed_out, const sio_event_t *reply,
                           void *ud);

typedef struct sio_nsp_ops {
    sio_connect_cb on_connect; /* NULL: accept everyone */
    sio_event_cb on_event;
    sio_disconnect_cb on_disconnect;
} sio_nsp_ops_t;

/* Registers a namespace ("/" or "/custom"). ud is passed to every callback. A client that
 * connects to an unregistered namespace gets `44/<nsp>,{"message":"Invalid namespace"}`. */
sio_nsp_t *sio_nsp_add(sio_server_t *srv, const char *name, const sio_nsp_ops_t *ops, void *ud);
sio_nsp_t *sio_nsp_get(sio_server_t *srv, const char *name);
const char *sio_nsp_name(const sio_nsp_t *n);
/* Number of sockets connected to the namespace on this node. */
size_t sio_nsp_size(const sio_nsp_t *n);

/* --- sockets --- */
const char *sio_socket_id(const sio_socket_t *s);  /* opaque, unique (Socket.IO socket id) */
const char *sio_socket_sid(const sio_socket_t *s); /* its Engine.IO session id */
sio_nsp_t *sio_socket_nsp(const sio_socket_t *s);
const char *sio_socket_transport(const sio_socket_t *s); /* "polling" | "websocket" now */
const char *sio_socket_remote_addr(const sio_socket_t *s);
/* Finds a connected socket by id in a namespace, or NULL. */
sio_socket_t *sio_socket_find(sio_nsp_t *n, const char *id);
/* Application data: the core calls free_fn(data) when the socket is freed. */
void sio_socket_set_data(sio_socket_t *s, void *data, void (*free_fn)(void *));
void *sio_socket_data(const sio_socket_t *s);

/* Emits `event` with args (raw JSON list, may be "" or NULL) and optional attachments (the
 * caller keeps its references; the core takes its own). Returns 0 or a negative error (socket
 * closing, over the write-queue limit: the slow client is closed). */
int sio_emit(sio_socket_t *s, const char *event, const char *args, size_t args_len);
int sio_emit_bin(sio_socket_t *s, const char *event, const char *args, size_t args_len,
                 shbuf_t *const *att, size_t natt);
/* The same, asking the client for an ack; cb runs exactly once (reply, timeout or socket
 * gone -> timed_out=true). */
int sio_emit_ack(sio_socket_t *s, const char *event, const char *args, size_t args_len,
                 uint32_t timeout_ms, sio_ack_cb cb, void *ud);
/* Answers the client's ack id with args (raw JSON list) and optional attachments. */
int sio_ack(sio_socket_t *s, int64_t ack_id, const char *args, size_t args_len);
int sio_ack_bin(sio_socket_t *s, int64_t ack_id, const char *args, size_t args_len,
                shbuf_t *const *att, size_t natt);

/* --- rooms (local to this node; the app shares them across nodes itself) --- */
void sio_join(sio_socket_t *s, const char *room);
void sio_leave(sio_socket_t *s, const char *room);
bool sio_in_room(const sio_socket_t *s, const char *room);
size_t sio_room_size(sio_nsp_t *n, const char *room);
/* Calls fn for each socket in room (NULL: every socket of the namespace). fn must not
 * disconnect sockets; collect ids and act after. */
void sio_room_foreach(sio_nsp_t *n, const char *room, void (*fn)(sio_socket_t *, void *), void *ud);

/* Emits to every socket in room (NULL: the whole namespace) except the socket whose id is
 * except_id (NULL: none). The packet is encoded once into one shared buffer. Returns the
 * number of recipients. */
size_t sio_broadcast(sio_nsp_t *n, const char *room, const char *except_id, const char *event,
                     const char *args, size_t args_len);
size_t sio_broadcast_bin(sio_nsp_t *n, const char *room, const char *except_id, const char *event,
                         const char *args, size_t args_len, shbuf_t *const *att, size_t natt);

/* Server-side disconnect of one namespace socket (sends `41<nsp>,`); the Engine.IO session and
 * the client's other namespaces stay. on_disconnect runs with "server namespace disconnect". */
void sio_disconnect(sio_socket_t *s);
/* Closes the socket's whole Engine.IO session (all its namespaces). */
void sio_close_session(sio_socket_t *s);

/* --- server (additions by the core; used by main.c and tests) --- */
struct http_server;
typedef struct sio_config {
    unsigned ping_interval;   /* ms, default 25000 */
    unsigned ping_timeout;    /* ms, default 20000 */
    unsigned upgrade_timeout; /* ms, default 10000 */
    size_t max_payload;       /* maxHttpBufferSize, default 1e6 */
    unsigned connect_timeout; /* ms a client has to send CONNECT, default 45000 */
    unsigned max_attachments; /* per binary packet, default 10 (socket.io-parser) */
    unsigned max_namespaces;  /* namespaces one session may join, default 32 */
    unsigned close_timeout;   /* ms a server-closed polling session waits for its next GET
                                 (eio_config_t.close_timeout), default 30000 */
} sio_config_t;

/* Serves Socket.IO at path (e.g. "/socket.io/") on an HTTP server. cfg NULL: defaults.
 * Returns the server (never NULL). */
sio_server_t *sio_server_new(struct http_server *http, const char *path, const sio_config_t *cfg);
/* Disconnects every socket ("server shutting down") and closes every session and handle;
 * the memory goes with sio_server_free once the loop has run the close callbacks. */
void sio_server_close(sio_server_t *srv);
void sio_server_free(sio_server_t *srv);
/* The server a namespace or socket belongs to. */
sio_server_t *sio_nsp_server(const sio_nsp_t *n);
/* The Engine.IO protocol version of the socket's session (3 or 4). */
int sio_socket_eio_version(const sio_socket_t *s);

/* --- counters for /metrics and /health --- */
typedef struct sio_stats {
    uint64_t sessions_polling, sessions_websocket; /* Engine.IO sessions open now */
    uint64_t sockets;                              /* namespace sockets now */
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    uint64_t sessions_opened, sessions_closed;
} sio_stats_t;
void sio_server_stats(const sio_server_t *srv, sio_stats_t *out);

/* Events sent to clients, by event name: emits count one each, a broadcast counts one per
 * recipient. The first SIO_EV_NAMES distinct names (of at most 31 bytes) are counted under
 * their own name, the rest under "other" (names come from the app, but this bounds the table
 * anyway). Calls fn for each name with its count. */
#define SIO_EV_NAMES 48
void sio_server_events_out(const sio_server_t *srv,
                           void (*fn)(const char *event, uint64_t count, void *ud), void *ud);

#endif
