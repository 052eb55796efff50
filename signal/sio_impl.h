/* signal/sio_impl.h: private structures of the Socket.IO server, shared by sio.c (clients,
 * packet dispatch, namespaces, connect) and sio_socket.c (emits, acks, rooms, broadcast). */
#ifndef SIGNAL_SIO_IMPL_H
#define SIGNAL_SIO_IMPL_H
#include "../common/buf.h"
#include "../common/list.h"
#include "../common/rc.h"
#include "../proto/sio.h"
#include "eio.h"
#include "eio_tq.h"
#include "sio.h"
#include "strmap.h"
#include <uv.h>

struct sio_server {
    eio_server_t *eio;
    uv_loop_t *loop;
    sio_config_t cfg;
    strmap_t nsps; /* name -> sio_nsp_t */
    list_t clients;
    bool closing;
    sio_stats_t st;
    struct {
        char name[32];
        uint64_t count;
    } ev_out[SIO_EV_NAMES + 1]; /* the last slot is "other" */
    unsigned nev_out;
    tq_t tq;             /* the clients' deadlines (one timer for all) */
    tq_list_t l_connect; /* connect timeout (connect_timeout) */
    tq_list_t l_reap;    /* closed clients: freed on the next tick */
};

/* Counts n deliveries of event (sio_server_events_out). */
void sio__count_out(sio_server_t *srv, const char *event, uint64_t n);

struct sio_nsp {
    sio_server_t *srv;
    char *name;
    sio_nsp_ops_t ops;
    void *ud;
    strmap_t sockets; /* id -> sio_socket_t (connected sockets) */
    strmap_t rooms;   /* name -> sio_room_t */
    list_t list;      /* sio_socket_t.nsp_link, in connection order */
};

typedef struct sio_room {
    char *name;
    list_t members; /* sio_member_t.room_link */
    size_t n;
} sio_room_t;

typedef struct sio_member {
    sio_socket_t *s;
    sio_room_t *r;
    list_t room_link, sock_link;
} sio_member_t;

typedef struct sio_client {
    sio_server_t *srv;
    eio_session_t *eio; /* NULL once closed */
    list_t link;
    list_t sockets; /* sio_socket_t.client_link */
    unsigned nsockets;
    tq_ent_t tmo; /* on l_connect until a namespace connects, then on l_reap once closed */
    int ver;
    char *query, *authorization;
    char transport[12];
    /* a binary packet waiting for its attachments */
    char *bin_text;
    size_t bin_len;
    sio_packet_t bin_pkt;
    shbuf_t **att;
    unsigned natt_have;
} sio_client_t;

typedef struct sio_early {
    shbuf_t *buf;
    bool binary;
} sio_early_t;

struct sio_socket {
    rc_t rc;
    sio_client_t *client;
    sio_nsp_t *nsp;
    list_t client_link, nsp_link;
    list_t rooms; /* sio_member_t.sock_link */
    list_t acks;  /* sio_ack_t.link */
    int64_t next_ack;
    bool connecting, connected;
    sio_early_t *early; /* packets emitted during the connect hook */
    size_t nearly;
    void *data;
    void (*free_fn)(void *);
    char id[]; /* v5: 20 chars; EIO3: "<nsp (64 max)>#<sid>" (SIO_ID_MAX with the NUL) */
};
#define SIO_ID_MAX 96

typedef struct sio_ack {
    uv_timer_t timer;
    list_t link;
    sio_socket_t *s; /* NULL once settled */
    int64_t id;
    sio_ack_cb cb;
    void *ud;
} sio_ack_t;

/* sio_socket.c */
/* Sends one encoded packet ("4..." text) plus attachments to s (buffered while the connect
 * hook runs). Returns 0 or an error. */
int sio__send(sio_socket_t *s, shbuf_t *pkt, shbuf_t *const *att, size_t natt);
/* Encodes "4" + packet into a fresh shared buffer. */
shbuf_t *sio__encode_event(const char *nsp, int64_t id, const char *event, const char *args,
                           size_t args_len, unsigned natt);
void sio__leave_all(sio_socket_t *s);
/* Settles every pending ack of s as timed out. */
void sio__acks_fail(sio_socket_t *s);
/* Runs the ack callback of the client's reply. */
void sio__ack_reply(sio_socket_t *s, int64_t id, const sio_event_t *reply);
void sio__socket_unref(sio_socket_t *s);

#endif
