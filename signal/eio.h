/* signal/eio.h: the Engine.IO server (protocol v4 and v3) on top of signal/http: handshake,
 * sessions keyed by sid, long-polling (GET held until data or ping, POST acked "ok"), direct
 * WebSocket, probe upgrade from polling, heartbeat, maxHttpBufferSize, compression and CORS.
 *
 * Files: eio.c (server, sessions, heartbeat, queue), eio_poll.c (polling transport),
 * eio_ws.c (WebSocket transport). The user (sio.c, or the raw echo of the test app) gets
 * open/message/close callbacks per session and sends with eio_send*.
 *
 * Lifetime: a session lives from its handshake until eio_session_close() (by either side,
 * timeouts, bad input, server close). on_close runs once; after it the session pointer may be
 * used until the current callback returns, but sends are dropped. Hold eio_session_ref()
 * across loop iterations if needed. */
#ifndef SIGNAL_EIO_H
#define SIGNAL_EIO_H
#include "../common/shbuf.h"
#include "http.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct eio_server eio_server_t;
typedef struct eio_session eio_session_t;

typedef struct eio_config {
    unsigned ping_interval;   /* ms, default 25000 */
    unsigned ping_timeout;    /* ms, default 20000 */
    unsigned upgrade_timeout; /* ms, default 10000 */
    size_t max_payload;       /* maxHttpBufferSize, default 1e6 */
    size_t max_queue;         /* bytes queued to one session before it is closed (16 MiB) */
    unsigned close_timeout;   /* ms a polling session closed by eio_session_end() waits for
                                 the client's next GET to deliver its queue (default 30000,
                                 polling.js closeTimeout) */
} eio_config_t;

typedef struct eio_handler {
    /* A session opened; req is the handshake request (valid during the call). Packets sent
     * here go out with the handshake response. */
    void (*on_open)(eio_session_t *s, const http_req_t *req, void *ud);
    /* A message: text (UTF-8, without the '4' type) or binary bytes. data is mutable and valid
     * during the call only. */
    void (*on_message)(eio_session_t *s, uint8_t *data, size_t len, bool binary, void *ud);
    /* The session closed: reason in Socket.IO's words ("transport close", "transport error",
     * "ping timeout", "parse error", "forced close", "server shutting down"). */
    void (*on_close)(eio_session_t *s, const char *reason, void *ud);
} eio_handler_t;

/* Serves Engine.IO at path prefix (e.g. "/socket.io/") on http. cfg NULL: defaults. */
eio_server_t *eio_server_new(http_server_t *http, const char *path, const eio_config_t *cfg,
                             const eio_handler_t *h, void *ud);
/* Closes every session (reason "server shutting down") and the server's timers; the memory
 * is released by eio_server_free after the loop has run the close callbacks. */
void eio_server_close(eio_server_t *srv);
void eio_server_free(eio_server_t *srv);
/* Sessions open now by transport. */
void eio_server_counts(const eio_server_t *srv, size_t *polling, size_t *websocket);
const eio_config_t *eio_server_config(const eio_server_t *srv);
eio_session_t *eio_session_find(eio_server_t *srv, const char *sid);

/* Queues a message. For text, pkt holds the whole Engine.IO packet text beginning with the
 * type digit '4' (so one buffer serves WebSocket frames and polling payloads alike); for
 * binary, the raw bytes. The session takes its own reference. Sends are flushed once per loop
 * iteration. Returns 0, or UV_ECANCELED (closing), or UV_ENOBUFS (over max_queue: the session
 * is closed as a slow client). */
int eio_send_shared(eio_session_t *s, shbuf_t *pkt, bool binary);
/* Copies data (text without the '4' prefix, or binary) and queues it. */
int eio_send(eio_session_t *s, const void *data, size_t len, bool binary);

/* Closes the session (idempotent); on_close runs with reason. What is queued goes out only
 * when the client holds a GET or has a WebSocket now (followed by the close packet); a polling
 * session without a held GET loses it. For errors and timeouts. A session being ended by
 * eio_session_end() is finished at once (its queue dropped). */
void eio_session_close(eio_session_t *s, const char *reason);
/* Closes the session from the server side as engine.io's socket.close() does: on_close runs
 * now with reason and nothing more can be sent, but what is queued is delivered, then the close
 * packet: at once on a WebSocket or a held GET; on a polling session without a held GET, with
 * the client's next GET, waiting at most cfg.close_timeout ms (then it is dropped). Meanwhile
 * the sid is still known: POSTs are answered "ok" and ignored, upgrades refused. */
void eio_session_end(eio_session_t *s, const char *reason);
void eio_session_ref(eio_session_t *s);
void eio_session_unref(eio_session_t *s);
const char *eio_session_id(const eio_session_t *s);
int eio_session_version(const eio_session_t *s);           /* 3 or 4 */
const char *eio_session_transport(const eio_session_t *s); /* "polling" | "websocket" */
const char *eio_session_remote_addr(const eio_session_t *s);
bool eio_session_open(const eio_session_t *s);
void eio_session_set_data(eio_session_t *s, void *data);
void *eio_session_data(const eio_session_t *s);

#endif
