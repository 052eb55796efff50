/* signal/sio_socket.c: what an application does with sockets: emits (with attachments and
 * acks), server->client acks with timeouts, rooms, and broadcasts encoded once into one shared
 * buffer for every recipient. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "sio_impl.h"
#include <stdlib.h>
#include <string.h>

void sio__socket_unref(sio_socket_t *s)
{
    rc_unref(&s->rc);
}

const char *sio_socket_id(const sio_socket_t *s)
{
    return s->id;
}

const char *sio_socket_sid(const sio_socket_t *s)
{
    return s->client->eio ? eio_session_id(s->client->eio) : "";
}

sio_nsp_t *sio_socket_nsp(const sio_socket_t *s)
{
    return s->nsp;
}

const char *sio_socket_transport(const sio_socket_t *s)
{
    return s->client->eio ? eio_session_transport(s->client->eio) : s->client->transport;
}

const char *sio_socket_remote_addr(const sio_socket_t *s)
{
    return s->client->eio ? eio_session_remote_addr(s->client->eio) : "";
}

int sio_socket_eio_version(const sio_socket_t *s)
{
    return s->client->ver;
}

sio_socket_t *sio_socket_find(sio_nsp_t *n, const char *id)
{
    return strmap_get(&n->sockets, id);
}

void sio_socket_set_data(sio_socket_t *s, void *data, void (*free_fn)(void *))
{
    s->data = data;
    s->free_fn = free_fn;
}

void *sio_socket_data(const sio_socket_t *s)
{
    return s->data;
}

/* ---- sending --------------------------------------------------------------------------- */

shbuf_t *sio__encode_event(const char *nsp, int64_t id, const char *event, const char *args,
                           size_t args_len, unsigned natt)
{
    buf_t b;
    buf_init(&b, 0);
    buf_reserve(&b, args_len + strlen(event) + strlen(nsp) + 32);
    buf_append_byte(&b, '4');
    sio_encode_event(&b, nsp, id, event, args, args_len, natt);
    shbuf_t *sb = shbuf_from(b.data, b.len);
    buf_deinit(&b);
    return sb;
}

static shbuf_t *encode_ack(const char *nsp, int64_t id, const char *args, size_t args_len,
                           unsigned natt)
{
    buf_t b;
    buf_init(&b, 0);
    buf_reserve(&b, args_len + strlen(nsp) + 32);
    buf_append_byte(&b, '4');
    sio_encode_ack(&b, nsp, id, args, args_len, natt);
    shbuf_t *sb = shbuf_from(b.data, b.len);
    buf_deinit(&b);
    return sb;
}

static void early_push(sio_socket_t *s, shbuf_t *b, bool binary)
{
    s->early = xrealloc(s->early, (s->nearly + 1) * sizeof(*s->early));
    s->early[s->nearly++] = (sio_early_t){ shbuf_ref(b), binary };
}

int sio__send(sio_socket_t *s, shbuf_t *pkt, shbuf_t *const *att, size_t natt)
{
    if (s->connecting) {
        early_push(s, pkt, false);
        for (size_t i = 0; i < natt; i++) {
            early_push(s, att[i], true);
        }
        return 0;
    }
    if (!s->connected || !s->client->eio) {
        return UV_ECANCELED;
    }
    sio_server_t *srv = s->nsp->srv;
    int rc = eio_send_shared(s->client->eio, pkt, false);
    for (size_t i = 0; rc == 0 && i < natt; i++) {
        rc = eio_send_shared(s->client->eio, att[i], true);
    }
    if (rc == 0) {
        srv->st.packets_out++;
        srv->st.bytes_out += pkt->len;
    }
    return rc;
}

int sio_emit(sio_socket_t *s, const char *event, const char *args, size_t args_len)
{
    return sio_emit_bin(s, event, args, args_len, NULL, 0);
}

int sio_emit_bin(sio_socket_t *s, const char *event, const char *args, size_t args_len,
                 shbuf_t *const *att, size_t natt)
{
    if (!s->connected && !s->connecting) {
        return UV_ECANCELED;
    }
    shbuf_t *pkt =
        sio__encode_event(s->nsp->name, -1, event, args, args ? args_len : 0, (unsigned)natt);
    int rc = sio__send(s, pkt, att, natt);
    shbuf_unref(pkt);
    if (rc == 0) {
        sio__count_out(s->nsp->srv, event, 1);
    }
    return rc;
}

int sio_ack(sio_socket_t *s, int64_t ack_id, const char *args, size_t args_len)
{
    return sio_ack_bin(s, ack_id, args, args_len, NULL, 0);
}

int sio_ack_bin(sio_socket_t *s, int64_t ack_id, const char *args, size_t args_len,
                shbuf_t *const *att, size_t natt)
{
    if (ack_id < 0 || (!s->connected && !s->connecting)) {
        return UV_EINVAL;
    }
    shbuf_t *pkt = encode_ack(s->nsp->name, ack_id, args, args ? args_len : 0, (unsigned)natt);
    int rc = sio__send(s, pkt, att, natt);
    shbuf_unref(pkt);
    return rc;
}

/* ---- server -> client acks ------------------------------------------------------------- */

static void on_ack_closed(uv_handle_t *h)
{
    free(container_of((uv_timer_t *)h, sio_ack_t, timer));
}

static void ack_settle(sio_ack_t *a, bool timed_out, const sio_event_t *reply)
{
    sio_socket_t *s = a->s;
    if (!s) {
        return;
    }
    a->s = NULL;
    list_remove(&a->link);
    uv_timer_stop(&a->timer);
    char id[SIO_ID_MAX];
    snprintf(id, sizeof id, "%s", s->id);
    a->cb(id, timed_out, reply, a->ud);
    uv_close((uv_handle_t *)&a->timer, on_ack_closed);
}

static void on_ack_timeout(uv_timer_t *t)
{
    ack_settle(container_of(t, sio_ack_t, timer), true, NULL);
}

int sio_emit_ack(sio_socket_t *s, const char *event, const char *args, size_t args_len,
                 uint32_t timeout_ms, sio_ack_cb cb, void *ud)
{
    if (!s->connected && !s->connecting) {
        return UV_ECANCELED;
    }
    sio_ack_t *a = xcalloc(1, sizeof(*a));
    a->s = s;
    a->id = s->next_ack++;
    a->cb = cb;
    a->ud = ud;
    uv_timer_init(s->nsp->srv->loop, &a->timer);
    list_insert_tail(&s->acks, &a->link);
    shbuf_t *pkt = sio__encode_event(s->nsp->name, a->id, event, args, args ? args_len : 0, 0);
    int rc = sio__send(s, pkt, NULL, 0);
    shbuf_unref(pkt);
    if (rc == 0) {
        sio__count_out(s->nsp->srv, event, 1);
    }
    if (rc != 0) {
        /* not sent: settle on the next iteration, never inside the caller */
        uv_timer_start(&a->timer, on_ack_timeout, 0, 0);
        return rc;
    }
    uv_timer_start(&a->timer, on_ack_timeout, timeout_ms, 0);
    return 0;
}

void sio__ack_reply(sio_socket_t *s, int64_t id, const sio_event_t *reply)
{
    list_t *it;
    list_foreach(it, &s->acks)
    {
        sio_ack_t *a = list_entry(it, sio_ack_t, link);
        if (a->id == id) {
            ack_settle(a, false, reply);
            return;
        }
    }
}

void sio__acks_fail(sio_socket_t *s)
{
    while (!list_empty(&s->acks)) {
        ack_settle(list_entry(s->acks.next, sio_ack_t, link), true, NULL);
    }
}

/* ---- rooms ----------------------------------------------------------------------------- */

static sio_member_t *membership(const sio_socket_t *s, const char *room)
{
    list_t *it;
    list_foreach(it, &s->rooms)
    {
        sio_member_t *m = list_entry(it, sio_member_t, sock_link);
        if (strcmp(m->r->name, room) == 0) {
            return m;
        }
    }
    return NULL;
}

void sio_join(sio_socket_t *s, const char *room)
{
    if ((!s->connected && !s->connecting) || membership(s, room)) {
        return;
    }
    sio_room_t *r = strmap_get(&s->nsp->rooms, room);
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->name = xstrdup(room);
        list_init(&r->members);
        strmap_put(&s->nsp->rooms, room, r);
    }
    sio_member_t *m = xcalloc(1, sizeof(*m));
    m->s = s;
    m->r = r;
    list_insert_tail(&r->members, &m->room_link);
    list_insert_tail(&s->rooms, &m->sock_link);
    r->n++;
}

static void member_free(sio_nsp_t *n, sio_member_t *m)
{
    sio_room_t *r = m->r;
    list_remove(&m->room_link);
    list_remove(&m->sock_link);
    free(m);
    if (--r->n == 0) {
        strmap_del(&n->rooms, r->name);
        free(r->name);
        free(r);
    }
}

void sio_leave(sio_socket_t *s, const char *room)
{
    sio_member_t *m = membership(s, room);
    if (m) {
        member_free(s->nsp, m);
    }
}

void sio__leave_all(sio_socket_t *s)
{
    while (!list_empty(&s->rooms)) {
        member_free(s->nsp, list_entry(s->rooms.next, sio_member_t, sock_link));
    }
}

bool sio_in_room(const sio_socket_t *s, const char *room)
{
    return membership(s, room) != NULL;
}

size_t sio_room_size(sio_nsp_t *n, const char *room)
{
    sio_room_t *r = strmap_get(&n->rooms, room);
    return r ? r->n : 0;
}

void sio_room_foreach(sio_nsp_t *n, const char *room, void (*fn)(sio_socket_t *, void *), void *ud)
{
    list_t *it, *tmp;
    if (!room) {
        list_foreach_safe(it, tmp, &n->list)
        {
            fn(list_entry(it, sio_socket_t, nsp_link), ud);
        }
        return;
    }
    sio_room_t *r = strmap_get(&n->rooms, room);
    if (!r) {
        return;
    }
    list_foreach_safe(it, tmp, &r->members)
    {
        fn(list_entry(it, sio_member_t, room_link)->s, ud);
    }
}

/* ---- broadcast ------------------------------------------------------------------------- */

typedef struct bcast {
    const char *except;
    shbuf_t *pkt;
    shbuf_t *const *att;
    size_t natt;
    size_t count;
} bcast_t;

static void bcast_one(sio_socket_t *s, void *ud)
{
    bcast_t *b = ud;
    if (b->except && strcmp(s->id, b->except) == 0) {
        return;
    }
    if (sio__send(s, b->pkt, b->att, b->natt) == 0) {
        b->count++;
    }
}

size_t sio_broadcast(sio_nsp_t *n, const char *room, const char *except_id, const char *event,
                     const char *args, size_t args_len)
{
    return sio_broadcast_bin(n, room, except_id, event, args, args_len, NULL, 0);
}

size_t sio_broadcast_bin(sio_nsp_t *n, const char *room, const char *except_id, const char *event,
                         const char *args, size_t args_len, shbuf_t *const *att, size_t natt)
{
    /* one encoding, one shared buffer: every recipient's queue references the same bytes */
    bcast_t b = { except_id, NULL, att, natt, 0 };
    b.pkt = sio__encode_event(n->name, -1, event, args, args ? args_len : 0, (unsigned)natt);
    sio_room_foreach(n, room, bcast_one, &b);
    shbuf_unref(b.pkt);
    sio__count_out(n->srv, event, b.count);
    return b.count;
}
