/* signal/live_bus.c: room events across nodes and the node's local room state.
 *
 * Every room event is published once, on the room's channel "r:<room>", through the store's
 * pub/sub (Redis across nodes; the memory backend loops it back). A node subscribes to a
 * room's channel while it has a local member or publisher there, and delivers what arrives to
 * its local sockets (Socket.IO rooms "r:<room>" for members and "a:<room>" for admins). Events
 * for one connection go to its node's channel "n:<node>". Message format (text):
 *   <kind>\t<room>\t<conn or except or ->\t<event or count>\n<raw JSON args>
 * kinds: M members, A admins, C one connection, V viewer count changed (the value is informative:
 * receivers read the count from the store), R publisher ready, K kicked, O the room went live
 * under the owner in the body (channel "owners", every node: live_owner.c). */
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void publish(live_t *app, const char *channel, char kind, const char *room, const char *who,
                    const char *event, const char *args, size_t args_len)
{
    buf_t b;
    buf_init(&b, STORE_MAX_BLOB);
    int rc = buf_printf(&b, "%c\t%s\t%s\t%s\n", kind, room, who && *who ? who : "-",
                        event ? event : "-");
    /* buf_t refuses past its cap: an event that does not fit is not published at all (a header
     * with its arguments cut off would reach every member as an empty event) */
    if (rc == 0 && args && args_len) {
        rc = buf_append(&b, args, args_len);
    }
    if (rc == 0 && b.len < STORE_MAX_BLOB) {
        store_publish(app->store, channel, b.data, b.len, NULL, NULL);
        app->bus_out++;
    } else {
        LOG_E("live", "room event too large to publish", "\"room\":\"%s\",\"event\":\"%s\"",
              log_esc(room), log_esc(event ? event : "-"));
    }
    buf_deinit(&b);
}

void live_bus_room(live_t *app, int to, const char *room, const char *except_id, const char *event,
                   const char *args, size_t args_len)
{
    char ch[LIVE_ROOM_ID_MAX + 8];
    snprintf(ch, sizeof ch, "r:%s", room);
    publish(app, ch, (char)to, room, except_id, event, args, args_len);
}

void live_bus_conn(live_t *app, const char *node, const char *conn, const char *room,
                   const char *event, const char *args, size_t args_len)
{
    if (!node || !strcmp(node, app->cfg.node_id)) {
        sio_socket_t *s = sio_socket_find(app->nsp, conn);
        if (s) {
            sio_emit(s, event, args, args_len);
        }
        return;
    }
    char ch[160];
    snprintf(ch, sizeof ch, "n:%s", node);
    publish(app, ch, LIVE_TO_CONN, room, conn, event, args, args_len);
}

void live_bus_count(live_t *app, const char *room, int64_t count)
{
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)count);
    char ch[LIVE_ROOM_ID_MAX + 8];
    snprintf(ch, sizeof ch, "r:%s", room);
    publish(app, ch, 'V', room, NULL, n, NULL, 0);
}

void live_bus_ready(live_t *app, const char *room)
{
    char ch[LIVE_ROOM_ID_MAX + 8];
    snprintf(ch, sizeof ch, "r:%s", room);
    publish(app, ch, 'R', room, NULL, NULL, NULL, 0);
}

void live_bus_kicked(live_t *app, const char *node, const char *room, const char *conn)
{
    char ch[160];
    snprintf(ch, sizeof ch, "n:%s", node && *node ? node : app->cfg.node_id);
    publish(app, ch, 'K', room, conn, NULL, NULL, 0);
}

void live_bus_owner(live_t *app, const char *room, const char *owner)
{
    /* the sub goes in the body: it may hold any character */
    publish(app, LIVE_OWNERS_CHANNEL, 'O', room, NULL, NULL, owner, strlen(owner));
}

/* ---- viewer-count coalescer (PROTOCOL.md 5, 10): at most once a second per room, only on a
 * change, the first change of a quiet second at once, the last value always. A 'V' message only
 * says "the count changed"; the value sent is read from the store when a send is due, so that
 * counts made on different nodes and published in another order cannot leave a stale value as
 * the last one. ------------------------------------------------------------------------------ */

typedef struct count_read {
    live_t *app;
    char room[LIVE_ROOM_ID_MAX + 1];
} count_read_t;

static void count_due(live_room_t *r);

static void emit_count(live_room_t *r, int64_t count)
{
    char args[LIVE_ROOM_ID_MAX + 64];
    int n =
        snprintf(args, sizeof args, "{\"roomId\":\"%s\",\"count\":%lld}", r->id, (long long)count);
    char sroom[LIVE_ROOM_ID_MAX + 3];
    snprintf(sroom, sizeof sroom, "r:%s", r->id);
    sio_broadcast(r->app->nsp, sroom, NULL, "viewer-count", args, (size_t)n);
    r->count_sent = count;
    r->count_last_ms = clock_mono_ms();
}

static void on_count_read(store_t *st, const store_res_t *res, void *ud)
{
    count_read_t *c = ud;
    live_room_t *r = strmap_get(&c->app->rooms, c->room);
    if (r && r->count_reading) {
        r->count_reading = false;
        if (res->err == 0 && res->room->viewers != r->count_sent) {
            emit_count(r, res->room->viewers);
        }
        if (r->count_dirty) {
            r->count_dirty = false;
            count_due(r);
        }
    }
    free(c);
}

static void count_read(live_room_t *r)
{
    count_read_t *c = xcalloc(1, sizeof(*c));
    c->app = r->app;
    snprintf(c->room, sizeof c->room, "%s", r->id);
    r->count_reading = true;
    store_room_get(r->app->store, r->id, on_count_read, c);
}

static void on_count_timer(uv_timer_t *t)
{
    live_room_t *r = t->data;
    r->count_timer_armed = false;
    count_read(r);
}

/* The count changed: read it now, or when the second since the last send is over. */
static void count_due(live_room_t *r)
{
    if (r->count_reading) {
        r->count_dirty = true; /* read again when this read is back */
        return;
    }
    if (r->count_timer_armed) {
        return;
    }
    uint64_t now = clock_mono_ms();
    if (r->count_last_ms == 0 || now - r->count_last_ms >= 1000) {
        count_read(r);
        return;
    }
    r->count_timer_armed = true;
    uv_timer_start(&r->count_timer, on_count_timer, r->count_last_ms + 1000 - now, 0);
}

/* ---- delivery ----------------------------------------------------------------------------- */

static void deliver_kicked(live_t *app, const char *room, const char *conn)
{
    sio_socket_t *s = sio_socket_find(app->nsp, conn);
    live_user_t *u = live_user(s);
    if (!u) {
        return;
    }
    live_member_leave(app, u, room, LIVE_LEAVE_KICKED);
    char args[LIVE_ROOM_ID_MAX + 64];
    int n = snprintf(args, sizeof args, "{\"roomId\":\"%s\",\"reason\":\"kicked\"}", room);
    sio_emit(s, "kicked", args, (size_t)n);
}

void live_bus_on_message(store_t *st, const char *channel, const char *data, size_t len, void *ud)
{
    live_t *app = ud;
    app->bus_in++;
    /* split the header line into four tab-separated fields */
    const char *nl = memchr(data, '\n', len);
    if (!nl || app->closing) {
        return;
    }
    char hdr[512];
    size_t hlen = (size_t)(nl - data);
    if (hlen >= sizeof hdr) {
        return;
    }
    memcpy(hdr, data, hlen);
    hdr[hlen] = 0;
    char *f[4] = { 0 }, *save = NULL;
    f[0] = strtok_r(hdr, "\t", &save);
    for (int i = 1; i < 4; i++) {
        f[i] = f[i - 1] ? strtok_r(NULL, "\t", &save) : NULL;
    }
    /* the room id goes unescaped into JSON and room names below: only a valid one is taken */
    if (!f[3] || strlen(f[0]) != 1 || !store_id_valid(f[1], false)) {
        LOG_W("live", "bad room event dropped", "\"channel\":\"%s\"", log_esc(channel));
        return;
    }
    const char *room = f[1], *who = strcmp(f[2], "-") ? f[2] : NULL, *event = f[3];
    const char *args = nl + 1;
    size_t args_len = len - hlen - 1;
    char sroom[LIVE_ROOM_ID_MAX + 3];
    switch (f[0][0]) {
    case LIVE_TO_MEMBERS:
    case LIVE_TO_ADMINS:
        if (!strcmp(event, "stream-ended")) {
            /* whichever node ended it: the publisher's node closes the media and its timers */
            live_media_room_closed(app, room);
        }
        snprintf(sroom, sizeof sroom, "%c:%s", f[0][0] == LIVE_TO_MEMBERS ? 'r' : 'a', room);
        sio_broadcast(app->nsp, sroom, who, event, args, args_len);
        break;
    case LIVE_TO_CONN: {
        sio_socket_t *s = who ? sio_socket_find(app->nsp, who) : NULL;
        if (s) {
            sio_emit(s, event, args, args_len);
        }
        break;
    }
    case 'V': {
        live_room_t *r = live_room_get(app, room, false);
        if (r) {
            count_due(r);
        }
        break;
    }
    case 'R':
        live_media_room_ready(app, room);
        break;
    case 'K':
        if (who) {
            deliver_kicked(app, room, who);
        }
        break;
    case 'O': {
        char owner[512];
        if (args_len > 0 && args_len < sizeof owner && !memchr(args, 0, args_len)) {
            memcpy(owner, args, args_len);
            owner[args_len] = 0;
            live_owner_changed(app, room, owner);
        }
        break;
    }
    default:
        break;
    }
}

/* ---- local room state --------------------------------------------------------------------- */

typedef struct sub_ctx {
    live_t *app;
    char room[LIVE_ROOM_ID_MAX + 1];
} sub_ctx_t;

static void run_waiters(live_room_t *r)
{
    live_room_waiter_t *w = r->waiters;
    size_t n = r->nwaiters;
    r->waiters = NULL;
    r->nwaiters = 0;
    for (size_t i = 0; i < n; i++) {
        w[i].fn(r->app, w[i].op);
    }
    free(w);
}

static void on_room_subscribed(store_t *st, const store_res_t *res, void *ud)
{
    sub_ctx_t *c = ud;
    live_room_t *r = strmap_get(&c->app->rooms, c->room);
    if (r && r->sub_ctx == c) {
        /* an error (the store is down) lets the waiting steps run into the same error */
        r->sub_ctx = NULL;
        r->sub_ready = true;
        run_waiters(r);
    }
    free(c);
}

void live_room_subscribed(live_t *app, const char *room, live_room_fn fn, live_op_t *op)
{
    live_room_t *r = live_room_get(app, room, true);
    if (!r) {
        fn(app, op);
        return;
    }
    live_room_ref(r);
    op->flags |= LIVE_OP_ROOM_REF;
    if (r->sub_ready) {
        fn(app, op);
        return;
    }
    r->waiters = xrealloc(r->waiters, (r->nwaiters + 1) * sizeof(*r->waiters));
    r->waiters[r->nwaiters++] = (live_room_waiter_t){ fn, op };
}

void live_room_release(live_t *app, live_op_t *op)
{
    if (op->flags & LIVE_OP_ROOM_REF) {
        op->flags &= ~LIVE_OP_ROOM_REF;
        live_room_unref(live_room_get(app, op->room, false));
    }
}

live_room_t *live_room_get(live_t *app, const char *room, bool create)
{
    live_room_t *r = strmap_get(&app->rooms, room);
    if (r || !create || app->closing) {
        return r;
    }
    r = xcalloc(1, sizeof(*r));
    r->app = app;
    snprintf(r->id, sizeof r->id, "%s", room);
    r->count_sent = -1;
    uv_timer_init(app->loop, &r->count_timer);
    uv_timer_init(app->loop, &r->grace_timer);
    uv_timer_init(app->loop, &r->stats_timer);
    r->count_timer.data = r->grace_timer.data = r->stats_timer.data = r;
    r->handles = 3;
    strmap_put(&app->rooms, room, r);
    char ch[LIVE_ROOM_ID_MAX + 8];
    snprintf(ch, sizeof ch, "r:%s", room);
    sub_ctx_t *c = xcalloc(1, sizeof(*c));
    c->app = app;
    snprintf(c->room, sizeof c->room, "%s", room);
    r->sub_ctx = c;
    store_subscribe(app->store, ch, on_room_subscribed, c);
    r->subs = 1;
    return r;
}

void live_room_ref(live_room_t *r)
{
    if (r) {
        r->local_refs++;
    }
}

static void on_room_handle_closed(uv_handle_t *h)
{
    live_room_t *r = h->data;
    if (--r->handles == 0) {
        free(r);
    }
}

static void room_free(live_room_t *r)
{
    if (r->freeing) {
        return;
    }
    r->freeing = true;
    live_t *app = r->app;
    /* the steps still waiting run now (the app is closing): they complete their ops */
    r->sub_ctx = NULL;
    run_waiters(r);
    strmap_del(&app->rooms, r->id);
    free(r->owner);
    r->owner = NULL;
    if (r->subs) {
        char ch[LIVE_ROOM_ID_MAX + 8];
        snprintf(ch, sizeof ch, "r:%s", r->id);
        store_unsubscribe(app->store, ch);
        r->subs = 0;
    }
    uv_close((uv_handle_t *)&r->count_timer, on_room_handle_closed);
    uv_close((uv_handle_t *)&r->grace_timer, on_room_handle_closed);
    uv_close((uv_handle_t *)&r->stats_timer, on_room_handle_closed);
}

void live_room_unref(live_room_t *r)
{
    if (r && r->local_refs > 0 && --r->local_refs == 0) {
        room_free(r);
    }
}

void live_rooms_close_all(live_t *app)
{
    size_t i;
    live_room_t **all = xcalloc(app->rooms.n + 1, sizeof(*all));
    size_t n = 0;
    for (strmap_ent_t *e = strmap_first(&app->rooms, &i); e; e = strmap_next(&app->rooms, e, &i)) {
        all[n++] = e->val;
    }
    for (size_t k = 0; k < n; k++) {
        room_free(all[k]);
    }
    free(all);
}

/* ---- re-registration ------------------------------------------------------------------------
 * The node's heartbeat key was gone (this node was reaped after a silence, or the store lost its
 * data): survivors removed its members and ended its broadcasts. Its connections rejoin the
 * rooms that still exist (viewer-joined and counts follow), and a broadcast it published that
 * the store no longer has is ended here too. */

static void on_rejoined(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_user_t *u = live_user(live_op_socket(op));
    if (res->err == 0 && res->changed && u && u->who.role == AUTH_VIEWER) {
        live_announce_joined(op->app, op->room, u, res->count);
    }
    free(op);
}

static void on_publisher_checked(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    live_room_t *r = live_room_get(app, op->room, false);
    bool gone = res->err == STORE_ENOTFOUND;
    bool taken = res->err == 0 && (!res->room->live || !res->room->owner_conn ||
                                   strcmp(res->room->owner_conn, op->sock) != 0);
    if (r && !strcmp(r->pub_conn, op->sock) && (gone || taken)) {
        LOG_W("live", "broadcast ended while this node was away", "\"room\":\"%s\"",
              log_esc(op->room));
        if (gone) {
            /* nobody has heard of it: the whole cluster (each node cleans up on delivery) */
            live_announce_ended(app, op->room, "publisher-left");
        } else {
            /* the others were told when it ended: this node's members only */
            char args[LIVE_ROOM_ID_MAX + 64];
            int n = snprintf(args, sizeof args, "{\"roomId\":\"%s\",\"reason\":\"publisher-left\"}",
                             op->room);
            char sroom[LIVE_ROOM_ID_MAX + 3];
            snprintf(sroom, sizeof sroom, "r:%s", op->room);
            live_media_room_closed(app, op->room);
            sio_broadcast(app->nsp, sroom, NULL, "stream-ended", args, (size_t)n);
        }
    }
    free(op);
}

static void resync_socket(sio_socket_t *s, void *ud)
{
    live_t *app = ud;
    live_user_t *u = live_user(s);
    for (size_t i = 0; u && i < u->nrooms; i++) {
        live_room_t *r = live_room_get(app, u->rooms[i], false);
        live_op_t *op = live_op_new(app, LIVE_EV_OTHER, s, -1, u->rooms[i]);
        if (r && !strcmp(r->pub_conn, u->sock_id)) {
            store_room_get(app->store, u->rooms[i], on_publisher_checked, op);
            continue;
        }
        store_join_t j = { .room = u->rooms[i],
                           .conn = u->sock_id,
                           .user = u->who.sub,
                           .name = u->who.name,
                           .node = app->cfg.node_id,
                           .role = auth_role_str(u->who.role),
                           .max_viewers = 0 };
        store_member_join(app->store, &j, on_rejoined, op);
    }
}

void live_rooms_resync(live_t *app)
{
    sio_room_foreach(app->nsp, NULL, resync_socket, app);
}
