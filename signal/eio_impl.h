/* signal/eio_impl.h: private structures of the Engine.IO server, shared by eio.c, eio_poll.c
 * and eio_ws.c. Not for other modules. */
#ifndef SIGNAL_EIO_IMPL_H
#define SIGNAL_EIO_IMPL_H
#include "../common/list.h"
#include "../common/rc.h"
#include "../proto/eio.h"
#include "../proto/ws.h"
#include "eio.h"
#include "eio_tq.h"
#include "strmap.h"
#include <uv.h>

enum {
    EIO_T_POLLING = 0,
    EIO_T_WEBSOCKET = 1
};
enum {
    SESS_OPEN = 0,
    SESS_CLOSED = 1,
    SESS_DRAINING = 2 /* ended by the server: waits for a GET to deliver the queue + close */
};

typedef struct eio_out {
    shbuf_t *buf;
    bool binary;
} eio_out_t;

typedef struct eio_ws eio_ws_t;

struct eio_server {
    http_server_t *http;
    char *path;
    eio_config_t cfg;
    eio_handler_t h;
    void *ud;
    strmap_t sessions; /* sid -> eio_session_t (holds one reference each) */
    list_t dirty;      /* sessions with packets to flush (eio_session_t.dirty_link) */
    uv_check_t check;  /* flushes after the poll phase */
    tq_t tq;           /* the sessions' deadlines (one timer for all) */
    tq_list_t l_ping;  /* v4: next ping (ping_interval) */
    tq_list_t l_pong;  /* v4: pong deadline (ping_timeout) */
    tq_list_t l_v3;    /* v3: ping deadline (ping_interval + ping_timeout) */
    tq_list_t l_drain; /* draining: the next GET's deadline (close_timeout) */
    tq_list_t l_up;    /* probe deadline (upgrade_timeout) */
    tq_list_t l_reap;  /* released sessions: their last reference goes on the next tick */
    uv_idle_t idle;    /* keeps poll from blocking while something is dirty */
    unsigned handles;
    bool closing;
    size_t n_polling, n_ws;
    shbuf_t *pkt_ping, *pkt_pong, *pkt_noop, *pkt_close, *pkt_pong_probe;
};

struct eio_session {
    rc_t rc;
    eio_server_t *srv;
    char sid[21];
    int ver;
    int state;
    int transport;
    bool b64;            /* v3 client asked for base64 (no binary polling payloads) */
    bool upgrading;      /* a probe WebSocket answered 3probe */
    bool pong_refreshed; /* v4: the ping timeout was extended once while waiting for pong */
    bool waiting_pong;
    bool reaping; /* released: hb is on l_reap, holding a reference */
    char remote[46];
    http_conn_t *get;  /* the held long-poll GET, or NULL */
    http_conn_t *post; /* a POST whose body is still arriving (watched), or NULL */
    eio_ws_t *ws;      /* the WebSocket transport, or NULL */
    eio_ws_t *probe;   /* a WebSocket being upgraded to, or NULL */
    eio_out_t *q;      /* queued packets */
    size_t qlen, qcap, qbytes;
    list_t dirty_link;
    tq_ent_t hb; /* on l_ping, l_pong, l_v3, l_drain, then l_reap */
    tq_ent_t up; /* on l_up while probing */
    void *data;
};

struct eio_ws {
    http_conn_t *conn;
    eio_session_t *sess; /* NULL once detached */
    ws_asm_t asm_;
    buf_t in; /* an incomplete frame carried over between reads */
    int ver;
    bool probe;
    bool closing;
};

/* eio.c */
void eio__mark_dirty(eio_session_t *s);
/* Handles one decoded packet from the client (any transport). from_probe: it came on the
 * probe WebSocket. Returns 0, or -1 when the session was closed. */
int eio__on_packet(eio_session_t *s, eio_ws_t *from, const eio_packet_t *p);
eio_session_t *eio__session_new(eio_server_t *srv, int ver, int transport, const http_req_t *req);
void eio__send_open(eio_session_t *s);
void eio__drop_queue(eio_session_t *s);
/* A GET came for a draining session: when nothing is queued any more, queues the noop and
 * close packets (the session is done once they are sent); otherwise restarts the deadline. */
void eio__drain_get(eio_session_t *s);
/* A draining session is done (its queue went out with a GET, or its time ran out): it leaves
 * the sid table and its timers close. */
void eio__drain_done(eio_session_t *s);
/* Starts the upgrade deadline of a probe WebSocket. */
void eio__probe_started(eio_session_t *s);

/* eio_poll.c */
int eio__poll_request(eio_server_t *srv, eio_session_t *s, http_req_t *req, http_res_t *res);
/* Answers the held GET with the queue (or a noop when empty and noop is set). */
void eio__poll_flush(eio_session_t *s, bool noop);
/* A POST's head arrived on conn (its body follows). Returns 0, or 400 when another POST of
 * the session is still being read (the session is then closed, as polling.js does). */
int eio__poll_post_begin(eio_session_t *s, http_conn_t *conn);
/* The POST on conn is complete (being dispatched): stop tracking it. */
void eio__poll_post_end(eio_session_t *s, http_conn_t *conn);
/* The session closes: a POST still being read is dropped (its connection destroyed). */
void eio__poll_post_drop(eio_session_t *s);

/* eio_ws.c */
int eio__ws_request(eio_server_t *srv, eio_session_t *s, int ver, http_req_t *req, http_res_t *res);
/* Writes the queued packets as frames. */
void eio__ws_flush(eio_ws_t *w, eio_session_t *s);
/* Writes one text packet on the probe socket ("3probe"). */
void eio__ws_send_one(eio_ws_t *w, shbuf_t *pkt);
/* Sends a close frame and closes the connection; detaches from the session. */
void eio__ws_close(eio_ws_t *w, uint16_t code);

#endif
