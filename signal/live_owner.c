/* signal/live_owner.c: every connection of a room's owner is a member (PROTOCOL.md 5, 10), on
 * every node, whether it connected before or after the start. Each node keeps its admin
 * connections in the Socket.IO room "u:<sub>"; an owner's connection that did not join or start a
 * room is in its local rooms "r:<room>"/"a:<room>" through the connection's `owned` list (a
 * reference on the local room: the node subscribes the room's channel while it has such members).
 *
 * Who owns a room is always read from the store, after the room's channel is subscribed, so that
 * nothing published after the read is missed: when an admin connects (store_rooms_owned), and
 * when an 'O' message on the channel "owners" (every node subscribes it) says that a room went
 * live under an owner (start-stream: new room, takeover, restart). A change announced during a
 * read reads again. A takeover moves the old owner's connections out (unless they joined). */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool live_user_owns(const live_user_t *u, const char *room)
{
    for (size_t i = 0; i < u->nowned; i++) {
        if (!strcmp(u->owned[i], room)) {
            return true;
        }
    }
    return false;
}

static void sroom_name(char *out, size_t n, char kind, const char *room)
{
    snprintf(out, n, "%c:%s", kind, room);
}

/* The connection becomes a member as its user owns room (the local room must exist). */
static void owned_add(live_user_t *u, sio_socket_t *s, const char *room)
{
    if (live_user_owns(u, room)) {
        return;
    }
    if (u->nowned >= LIVE_OWNED_MAX) {
        LOG_W("live", "owner connection in too many rooms", "\"sock\":\"%s\",\"room\":\"%s\"",
              log_esc(u->sock_id), log_esc(room));
        return;
    }
    u->owned = xrealloc(u->owned, (u->nowned + 1) * sizeof(*u->owned));
    u->owned[u->nowned++] = xstrdup(room);
    live_room_ref(live_room_get(u->app, room, true));
    char sroom[LIVE_ROOM_ID_MAX + 3];
    sroom_name(sroom, sizeof sroom, 'r', room);
    sio_join(s, sroom);
    sroom_name(sroom, sizeof sroom, 'a', room);
    sio_join(s, sroom);
    LOG_I("live", "owner connection joined room", "\"room\":\"%s\",\"sock\":\"%s\"", log_esc(room),
          log_esc(u->sock_id));
}

/* Drops the connection's owner membership of room; it stays in the local Socket.IO rooms when it
 * joined or started the room itself (s: NULL when the socket is going). */
static void owned_del(live_user_t *u, sio_socket_t *s, const char *room)
{
    for (size_t i = 0; i < u->nowned; i++) {
        if (strcmp(u->owned[i], room) != 0) {
            continue;
        }
        free(u->owned[i]);
        u->owned[i] = u->owned[--u->nowned];
        if (s && !live_user_has_room(u, room)) {
            char sroom[LIVE_ROOM_ID_MAX + 3];
            sroom_name(sroom, sizeof sroom, 'r', room);
            sio_leave(s, sroom);
            sroom_name(sroom, sizeof sroom, 'a', room);
            sio_leave(s, sroom);
            LOG_I("live", "owner connection left room", "\"room\":\"%s\",\"sock\":\"%s\"",
                  log_esc(room), log_esc(u->sock_id));
        }
        live_room_unref(live_room_get(u->app, room, false));
        return;
    }
}

typedef struct collect {
    const char *room;
    const char *owner; /* NULL: none */
    char **ids;
    size_t n;
} collect_t;

static void collect_add(collect_t *c, const char *id)
{
    c->ids = xrealloc(c->ids, (c->n + 1) * sizeof(*c->ids));
    c->ids[c->n++] = xstrdup(id);
}

/* Connections owning room through a user that is not the owner any more. */
static void collect_stale(sio_socket_t *s, void *ud)
{
    collect_t *c = ud;
    live_user_t *u = live_user(s);
    if (u && live_user_owns(u, c->room) && (!c->owner || strcmp(u->who.sub, c->owner) != 0)) {
        collect_add(c, u->sock_id);
    }
}

static void collect_all(sio_socket_t *s, void *ud)
{
    collect_add(ud, sio_socket_id(s));
}

void live_owner_apply(live_t *app, const char *room, const char *owner)
{
    live_room_t *lr = live_room_get(app, room, true);
    if (!lr) {
        return; /* closing */
    }
    live_room_ref(lr); /* dropping members below must not free it under us */
    if (!lr->owner || !owner || strcmp(lr->owner, owner) != 0) {
        free(lr->owner);
        lr->owner = owner ? xstrdup(owner) : NULL;
    }
    /* Socket.IO room membership changes after the walk (sio_room_foreach) */
    char sroom[LIVE_ROOM_ID_MAX + 3];
    sroom_name(sroom, sizeof sroom, 'r', room);
    collect_t stale = { room, owner, NULL, 0 };
    sio_room_foreach(app->nsp, sroom, collect_stale, &stale);
    for (size_t i = 0; i < stale.n; i++) {
        sio_socket_t *s = sio_socket_find(app->nsp, stale.ids[i]);
        if (s) {
            owned_del(live_user(s), s, room);
        }
        free(stale.ids[i]);
    }
    free(stale.ids);
    if (owner) {
        buf_t b;
        buf_init(&b, 0);
        buf_printf(&b, "u:%s", owner);
        collect_t mine = { room, owner, NULL, 0 };
        sio_room_foreach(app->nsp, (const char *)b.data, collect_all, &mine);
        buf_deinit(&b);
        for (size_t i = 0; i < mine.n; i++) {
            sio_socket_t *s = sio_socket_find(app->nsp, mine.ids[i]);
            if (s && live_user(s)) {
                owned_add(live_user(s), s, room);
            }
            free(mine.ids[i]);
        }
        free(mine.ids);
    }
    live_room_unref(lr);
}

/* ---- reading the owner from the store ------------------------------------------------------- */

static void owner_sync(live_t *app, const char *room);

static void on_owner_read(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    live_room_t *lr = live_room_get(app, op->room, false);
    if (lr && !app->closing) {
        lr->owner_reading = false;
        if (res->err == 0) {
            live_owner_apply(app, op->room, res->room->owner);
        } else if (res->err == STORE_ENOTFOUND) {
            live_owner_apply(app, op->room, NULL);
        }
        if (lr->owner_dirty) {
            lr->owner_dirty = false;
            owner_sync(app, op->room);
        }
    }
    live_room_release(app, op);
    free(op);
}

/* The room's channel is subscribed on this node: now the store's answer is the truth from which
 * the channel's later messages go on. */
static void owner_subscribed(live_t *app, live_op_t *op)
{
    live_room_t *lr = live_room_get(app, op->room, false);
    if (!lr || app->closing) {
        live_room_release(app, op);
        free(op);
        return;
    }
    if (lr->owner_reading) {
        lr->owner_dirty = true; /* that read is answered first; then one more */
        live_room_release(app, op);
        free(op);
        return;
    }
    lr->owner_reading = true;
    store_room_get(app->store, op->room, on_owner_read, op);
}

static void owner_sync(live_t *app, const char *room)
{
    if (app->closing) {
        return;
    }
    live_room_subscribed(app, room, owner_subscribed,
                         live_op_new(app, LIVE_EV_OTHER, NULL, -1, room));
}

void live_owner_changed(live_t *app, const char *room, const char *owner)
{
    live_room_t *lr = live_room_get(app, room, false);
    bool stale = lr && lr->owner && strcmp(lr->owner, owner) != 0;
    bool mine = false;
    if (!stale) {
        buf_t b;
        buf_init(&b, 0);
        buf_printf(&b, "u:%s", owner);
        mine = sio_room_size(app->nsp, (const char *)b.data) > 0;
        buf_deinit(&b);
    }
    if (stale || mine) {
        owner_sync(app, room);
    }
}

/* ---- connections ------------------------------------------------------------------------------
 */

static void on_owned_list(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err == 0 && live_op_socket(op)) {
        for (size_t i = 0; i < res->nrooms && i < LIVE_OWNED_MAX; i++) {
            if (store_id_valid(res->rooms[i].id, false)) {
                owner_sync(op->app, res->rooms[i].id);
            }
        }
    } else if (res->err) {
        LOG_W("live", "rooms of an owner not read", "\"sock\":\"%s\",\"error\":\"%s\"",
              log_esc(op->sock), log_esc(res->why));
    }
    free(op);
}

void live_owner_connected(live_t *app, sio_socket_t *s)
{
    live_user_t *u = live_user(s);
    if (!u || u->who.role != AUTH_ADMIN || !u->who.sub) {
        return;
    }
    buf_t b;
    buf_init(&b, 0);
    buf_printf(&b, "u:%s", u->who.sub);
    sio_join(s, (const char *)b.data);
    buf_deinit(&b);
    /* after the join: a start announced from now on finds this connection in "u:<sub>" */
    store_rooms_owned(app->store, u->who.sub, on_owned_list,
                      live_op_new(app, LIVE_EV_OTHER, s, -1, NULL));
}

void live_owner_disconnected(live_user_t *u)
{
    while (u->nowned > 0) {
        char *room = xstrdup(u->owned[u->nowned - 1]);
        owned_del(u, NULL, room);
        free(room);
    }
}
