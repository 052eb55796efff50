/* signal/live_room.c: the room events of PROTOCOL.md 5 (start/stop/join/leave, chat, viewers,
 * kicks, media state, recording). Each handler checks, in the order of PROTOCOL.md 3, what it
 * can check locally (payload, role, the token's rooms claim), then asks the store, whose
 * atomic operations decide not_found / forbidden / conflict across nodes. */
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../proto/utf8.h"
#include "live.h"
#include "live_rec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- local Socket.IO rooms and shared events ----------------------------------------------- */

static void join_local(live_user_t *u, sio_socket_t *s, const char *room)
{
    char sroom[LIVE_ROOM_ID_MAX + 3];
    live_user_add_room(u, room);
    snprintf(sroom, sizeof sroom, "r:%s", room);
    sio_join(s, sroom);
    if (u->who.role == AUTH_ADMIN) {
        snprintf(sroom, sizeof sroom, "a:%s", room);
        sio_join(s, sroom);
    }
}

static void leave_local(live_user_t *u, sio_socket_t *s, const char *room)
{
    char sroom[LIVE_ROOM_ID_MAX + 3];
    if (!live_user_owns(u, room)) { /* the owner's connections stay members */
        snprintf(sroom, sizeof sroom, "r:%s", room);
        sio_leave(s, sroom);
        snprintf(sroom, sizeof sroom, "a:%s", room);
        sio_leave(s, sroom);
    }
    live_user_del_room(u, room);
}

/* ---- start-stream --------------------------------------------------------------------------- */

/* start-stream's op: the title travels with it while the room's subscription is set up. */
typedef struct start_op {
    live_op_t op;
    char *title; /* NULL: none given */
} start_op_t;

static void start_op_free(start_op_t *so)
{
    live_room_release(so->op.app, &so->op);
    free(so->title);
    free(so);
}

static void on_started(store_t *st, const store_res_t *res, void *ud)
{
    start_op_t *so = ud;
    live_op_t *op = &so->op;
    live_t *app = op->app;
    if (res->err) {
        live_reply_store_err(op, res);
        start_op_free(so);
        return;
    }
    const store_room_t *r = res->room;
    sio_socket_t *s = live_op_socket(op);
    if (s) {
        /* a member before the room hears of the start, so the sender gets stream-started too */
        live_user_t *u = live_user(s);
        join_local(u, s, op->room);
        live_room_t *lr = live_room_get(app, op->room, true);
        if (lr) {
            if (strcmp(lr->pub_conn, op->sock) != 0) {
                lr->pub_ready = false;
            }
            snprintf(lr->pub_conn, sizeof lr->pub_conn, "%s", op->sock);
            if (uv_is_active((uv_handle_t *)&lr->grace_timer)) {
                uv_timer_stop(&lr->grace_timer);
                live_room_unref(lr); /* the grace period's reference */
            }
            live_media_start_stats(app, lr);
        }
    }
    if (res->changed && r->owner) {
        /* the owner's other connections here are members before stream-started goes out; the
         * other nodes re-read the owner */
        live_owner_apply(app, r->id, r->owner);
        live_bus_owner(app, r->id, r->owner);
    }
    if (res->changed) {
        buf_t b;
        buf_init(&b, 0);
        buf_append_str(&b, "{\"roomId\":");
        buf_append_json_str(&b, r->id, strlen(r->id));
        buf_append_str(&b, ",\"title\":");
        buf_append_json_str(&b, r->title ? r->title : r->id, strlen(r->title ? r->title : r->id));
        buf_printf(&b, ",\"startedAt\":%lld}", (long long)r->started_at);
        live_bus_room(app, LIVE_TO_MEMBERS, r->id, NULL, "stream-started", (const char *)b.data,
                      b.len);
        buf_deinit(&b);
        LOG_I("live", "stream started", "\"room\":\"%s\",\"owner\":\"%s\",\"sock\":\"%s\"",
              log_esc(r->id), log_esc(op->sub), log_esc(op->sock));
    }
    if (!s) {
        /* the publisher left before the store answered: nobody will publish */
        if (res->changed) {
            live_end_broadcast(app, op->room, op->sock, "publisher-left");
        }
        start_op_free(so);
        return;
    }
    buf_t b;
    buf_init(&b, 0);
    buf_append_str(&b, "\"room\":");
    live_room_json(&b, r);
    live_reply_ok(op, (const char *)b.data);
    buf_deinit(&b);
    start_op_free(so);
}

/* start-stream, once this node receives the room's events (the sender gets stream-started). */
static void start_subscribed(live_t *app, live_op_t *op)
{
    start_op_t *so = (start_op_t *)op;
    live_user_t *u = live_user(live_op_socket(op));
    if (!u) {
        start_op_free(so);
        return;
    }
    store_start_t a = { .room = op->room,
                        .sub = u->who.sub,
                        .conn = u->sock_id,
                        .node = app->cfg.node_id,
                        .title = so->title };
    store_room_start(app->store, &a, on_started, so);
}

void live_on_start_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_START_STREAM;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room) {
        return;
    }
    json_t *jt = json_object_get(p, "title");
    const char *title = NULL;
    if (jt && !json_is_null(jt)) {
        const char *why = NULL;
        title = json_string_value(jt);
        if (!title || utf8_text_check((const uint8_t *)title, json_string_length(jt), 1,
                                      (size_t)app->cfg.title_max, NULL, &why) != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "title must be text of 1-%ld characters%s%s",
                     app->cfg.title_max, why ? ": " : "", why ? why : "");
            live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD, msg);
            return;
        }
    }
    if (!live_allowed(app, s, ev, ack, room, true) || !live_room_quota(app, s, ev, ack, room)) {
        return;
    }
    start_op_t *so = xcalloc(1, sizeof(*so));
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    so->op = *op;
    free(op);
    so->title = title ? xstrdup(title) : NULL;
    live_room_subscribed(app, room, start_subscribed, &so->op);
}

/* ---- stop-stream and the end of a broadcast ------------------------------------------------ */

static void on_ended(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    if (res->err == 0 && res->changed) {
        live_announce_ended(app, op->room, op->arg);
        live_media_room_closed(app, op->room);
        LOG_I("live", "stream ended", "\"room\":\"%s\",\"reason\":\"%s\"", log_esc(op->room),
              log_esc(op->arg));
    }
    if (op->ev == LIVE_EV_STOP_STREAM) {
        if (res->err) {
            live_reply_store_err(op, res);
        } else {
            live_reply_ok(op, NULL);
        }
    }
    free(op);
}

void live_end_broadcast(live_t *app, const char *room, const char *conn, const char *reason)
{
    live_op_t *op = live_op_new(app, LIVE_EV_OTHER, NULL, -1, room);
    snprintf(op->arg, sizeof op->arg, "%s", reason);
    store_room_stop(app->store, room, NULL, conn, on_ended, op);
}

void live_on_stop_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_STOP_STREAM;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, true)) {
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    snprintf(op->arg, sizeof op->arg, "stopped");
    store_room_stop(app->store, room, live_user(s)->who.sub, NULL, on_ended, op);
}

/* ---- join-stream ----------------------------------------------------------------------------- */

void live_announce_joined(live_t *app, const char *room, const live_user_t *u, int64_t count)
{
    buf_t e;
    buf_init(&e, 0);
    buf_printf(&e, "{\"roomId\":\"%s\",\"viewer\":{\"id\":", room);
    buf_append_json_str(&e, u->sock_id, strlen(u->sock_id));
    buf_append_str(&e, ",\"userId\":");
    buf_append_json_str(&e, u->who.sub, strlen(u->who.sub));
    buf_append_str(&e, ",\"name\":");
    buf_append_json_str(&e, u->who.name, strlen(u->who.name));
    buf_append_str(&e, "}}");
    live_bus_room(app, LIVE_TO_ADMINS, room, NULL, "viewer-joined", (const char *)e.data, e.len);
    buf_deinit(&e);
    live_bus_count(app, room, count);
}

void live_announce_left(live_t *app, const char *room, const char *conn)
{
    buf_t b;
    buf_init(&b, 0);
    buf_printf(&b, "{\"roomId\":\"%s\",\"viewerId\":", room);
    buf_append_json_str(&b, conn, strlen(conn));
    buf_append_byte(&b, '}');
    live_bus_room(app, LIVE_TO_ADMINS, room, NULL, "viewer-left", (const char *)b.data, b.len);
    buf_deinit(&b);
}

void live_announce_ended(live_t *app, const char *room, const char *reason)
{
    char args[LIVE_ROOM_ID_MAX + 80];
    int n = snprintf(args, sizeof args, "{\"roomId\":\"%s\",\"reason\":\"%s\"}", room, reason);
    if (n > 0 && (size_t)n < sizeof args) {
        live_bus_room(app, LIVE_TO_MEMBERS, room, NULL, "stream-ended", args, (size_t)n);
    }
}

void live_announce_kicked(live_t *app, const char *room, const store_res_t *res)
{
    for (size_t i = 0; i < res->nmembers; i++) {
        const store_member_t *m = &res->members[i];
        live_bus_kicked(app, m->node, room, m->id);
        live_announce_left(app, room, m->id);
    }
    if (res->nmembers) {
        live_bus_count(app, room, res->count);
    }
}

static void join_op_free(live_op_t *op)
{
    live_room_release(op->app, op);
    free(op);
}

static void on_joined(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    sio_socket_t *s = live_op_socket(op);
    if (res->err) {
        live_reply_store_err(op, res);
        join_op_free(op);
        return;
    }
    live_user_t *u = live_user(s);
    if (!u) {
        /* gone while joining: undo, so the shared state does not keep a ghost viewer */
        if (res->changed) {
            store_member_leave(app->store, op->room, op->sock, NULL, NULL);
        }
        join_op_free(op);
        return;
    }
    join_local(u, s, op->room);
    bool viewer = u->who.role == AUTH_VIEWER;
    if (res->changed && viewer) {
        live_announce_joined(app, op->room, u, res->count);
    }
    buf_t b;
    buf_init(&b, 0);
    buf_append_str(&b, "\"room\":");
    live_room_json(&b, res->room);
    buf_append_str(&b, ",\"chat\":[");
    for (size_t i = 0; i < res->nchat; i++) {
        if (i) {
            buf_append_byte(&b, ',');
        }
        buf_append(&b, res->chat[i].data, res->chat[i].len);
    }
    buf_append_str(&b, "],\"iceServers\":");
    live_ice_servers(app, &b, u->who.sub);
    live_reply_ok(op, (const char *)b.data);
    buf_deinit(&b);
    if (viewer && res->room->live) {
        live_media_subscribe_known(app, res->room, op->sock);
    }
    join_op_free(op);
}

/* join-stream, once this node receives the room's events. */
static void join_subscribed(live_t *app, live_op_t *op)
{
    live_user_t *u = live_user(live_op_socket(op));
    if (!u) {
        join_op_free(op);
        return;
    }
    store_join_t j = { .room = op->room,
                       .conn = u->sock_id,
                       .user = u->who.sub,
                       .name = u->who.name,
                       .node = app->cfg.node_id,
                       .role = auth_role_str(u->who.role),
                       .max_viewers = (uint32_t)app->cfg.max_viewers };
    store_member_join(app->store, &j, on_joined, op);
}

void live_on_join_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_JOIN_STREAM;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, false) ||
        !live_room_quota(app, s, ev, ack, room)) {
        return;
    }
    live_room_subscribed(app, room, join_subscribed, live_op_new(app, ev, s, ack, room));
}

/* ---- leaving -------------------------------------------------------------------------------- */

static void on_left(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    if (res->err == 0 && res->changed && res->member && res->member->role &&
        !strcmp(res->member->role, "viewer")) {
        live_announce_left(app, op->room, op->sock);
        live_bus_count(app, op->room, res->count);
    }
    if (op->ev == LIVE_EV_LEAVE_STREAM) {
        live_reply_ok(op, NULL);
    }
    free(op);
}

static void on_grace_over(uv_timer_t *t)
{
    live_room_t *r = t->data;
    live_t *app = r->app;
    LOG_I("live", "publisher did not come back", "\"room\":\"%s\",\"sock\":\"%s\"", log_esc(r->id),
          log_esc(r->pub_conn));
    live_end_broadcast(app, r->id, r->pub_conn, "publisher-left");
    r->pub_conn[0] = 0;
    r->pub_ready = false;
    live_room_unref(r); /* the grace period's reference */
}

void live_member_leave(live_t *app, live_user_t *u, const char *room, int mode)
{
    sio_socket_t *s = sio_socket_find(app->nsp, u->sock_id);
    live_room_t *r = live_room_get(app, room, false);
    bool publisher = r && !strcmp(r->pub_conn, u->sock_id);
    live_media_close_peers(app, room, u->sock_id, publisher && mode == LIVE_LEAVE_DISCONNECT);
    if (publisher && mode == LIVE_LEAVE_DISCONNECT) {
        /* PROTOCOL.md 5: the broadcast ends unless the owner is back within the grace period */
        r->pub_ready = false;
        uv_timer_stop(&r->stats_timer);
        if (!uv_is_active((uv_handle_t *)&r->grace_timer)) {
            live_room_ref(r);
        }
        uv_timer_start(&r->grace_timer, on_grace_over, (uint64_t)app->cfg.publisher_grace_ms, 0);
    }
    if (mode != LIVE_LEAVE_KICKED) {
        live_op_t *op = live_op_new(
            app, mode == LIVE_LEAVE_EXPLICIT ? LIVE_EV_LEAVE_STREAM : LIVE_EV_OTHER, s, -1, room);
        snprintf(op->sock, sizeof op->sock, "%s", u->sock_id);
        store_member_leave(app->store, room, u->sock_id, on_left, op);
    }
    if (s) {
        leave_local(u, s, room);
    } else {
        live_user_del_room(u, room);
    }
}

static void on_leave_checked(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err) {
        live_reply_store_err(op, res);
    } else if (res->room->owner && !strcmp(res->room->owner, op->sub)) {
        live_reply_ok(op, NULL); /* the owner's connections are members: nothing to leave */
    } else {
        live_reply_err(op, APP_EFORBIDDEN, "you are not a member of this room");
    }
    free(op);
}

void live_on_leave_stream(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_LEAVE_STREAM;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, false)) {
        return;
    }
    live_user_t *u = live_user(s);
    if (!live_user_has_room(u, room)) {
        /* not_found comes before forbidden (PROTOCOL.md 3): ask whether the room exists */
        store_room_get(app->store, room, on_leave_checked, live_op_new(app, ev, s, ack, room));
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    store_member_leave(app->store, room, u->sock_id, on_left, op);
    bool publisher = false;
    live_room_t *r = live_room_get(app, room, false);
    publisher = r && !strcmp(r->pub_conn, u->sock_id);
    if (!publisher) {
        live_media_close_peers(app, room, u->sock_id, false);
        leave_local(u, s, room);
    } else if (!live_user_owns(u, room)) {
        /* the owner stays the publisher; it just stops being a member */
        char sroom[LIVE_ROOM_ID_MAX + 3];
        snprintf(sroom, sizeof sroom, "r:%s", room);
        sio_leave(s, sroom);
    }
}

/* ---- chat ------------------------------------------------------------------------------------ */

static void chat_send(live_op_t *op, const char *text);

typedef struct chat_msg {
    live_op_t op;
    char *json; /* the message as every member gets it */
    size_t len;
} chat_msg_t;

/* The history has the message: now the room gets it, and the sender its ack. */
static void on_chat_appended(store_t *st, const store_res_t *res, void *ud)
{
    chat_msg_t *m = ud;
    if (res->err) {
        live_reply_store_err(&m->op, res);
    } else {
        live_bus_room(m->op.app, LIVE_TO_MEMBERS, m->op.room, NULL, "chat-message", m->json,
                      m->len);
        char extra[160];
        snprintf(extra, sizeof extra, "\"id\":\"%s\"", m->op.arg);
        live_reply_ok(&m->op, extra);
    }
    free(m->json);
    free(m);
}

typedef struct chat_op {
    live_op_t op;
    char *text;
} chat_op_t;

static void on_chat_room(store_t *st, const store_res_t *res, void *ud)
{
    chat_op_t *c = ud;
    sio_socket_t *s = live_op_socket(&c->op);
    live_user_t *u = live_user(s);
    if (res->err) {
        live_reply_store_err(&c->op, res);
    } else if (!u || !(u->who.role == AUTH_ADMIN && res->room->owner &&
                       !strcmp(res->room->owner, u->who.sub))) {
        live_reply_err(&c->op, APP_EFORBIDDEN, "join the room before chatting");
    } else {
        live_op_t *op = xmalloc(sizeof(*op));
        *op = c->op;
        chat_send(op, c->text);
    }
    free(c->text);
    free(c);
}

/* Builds the message and appends it to the history (then on_chat_appended sends it). Takes op. */
static void chat_send(live_op_t *op, const char *text)
{
    live_t *app = op->app;
    live_user_t *u = live_user(live_op_socket(op));
    if (!u) {
        free(op);
        return;
    }
    chat_msg_t *m = xcalloc(1, sizeof(*m));
    m->op = *op;
    free(op);
    snprintf(m->op.arg, sizeof m->op.arg, "%s-%llu", app->cfg.node_id,
             (unsigned long long)++app->chat_seq);
    buf_t b;
    buf_init(&b, 0);
    buf_append_str(&b, "{\"id\":");
    buf_append_json_str(&b, m->op.arg, strlen(m->op.arg));
    buf_printf(&b, ",\"roomId\":\"%s\",\"from\":{\"id\":", m->op.room);
    buf_append_json_str(&b, u->who.sub, strlen(u->who.sub));
    buf_append_str(&b, ",\"name\":");
    buf_append_json_str(&b, u->who.name, strlen(u->who.name));
    buf_printf(&b, ",\"role\":\"%s\"},\"text\":", auth_role_str(u->who.role));
    buf_append_json_str(&b, text, strlen(text));
    buf_printf(&b, ",\"ts\":%lld}", (long long)clock_wall_ms());
    m->json = (char *)buf_steal(&b, &m->len);
    store_chat_append(app->store, m->op.room, m->json, m->len, on_chat_appended, m);
}

void live_on_chat(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_CHAT_MESSAGE;
    live_user_t *u = live_user(s);
    /* chat is limited per user, across that user's connections on this node */
    ratelimit_t *rl = strmap_get(&app->chat_limits, u->who.sub);
    if (!rl) {
        rl = xcalloc(1, sizeof(*rl));
        strmap_put(&app->chat_limits, u->who.sub, rl);
    }
    if (!ratelimit_hit(rl, clock_mono_ms(), (uint32_t)app->cfg.chat_limit,
                       (uint32_t)app->cfg.chat_window_ms)) {
        live_fail(app, s, ev, ack, APP_ERATE_LIMITED, "too many chat messages; wait a moment");
        return;
    }
    json_t *jt = json_object_get(p, "text");
    const char *text = json_string_value(jt), *why = NULL;
    if (!text ||
        utf8_text_check((const uint8_t *)text, json_string_length(jt), 1, (size_t)app->cfg.chat_max,
                        NULL, &why) != 0 ||
        strlen(text) != json_string_length(jt)) {
        char msg[160];
        snprintf(msg, sizeof msg, "text must be 1-%ld characters of text%s%s", app->cfg.chat_max,
                 why ? ": " : "", why ? why : "");
        live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD, msg);
        return;
    }
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, false)) {
        return;
    }
    if (live_user_has_room(u, room)) {
        chat_send(live_op_new(app, ev, s, ack, room), text);
        return;
    }
    /* not a member: the room's owner may still chat; anyone else is refused (after not_found) */
    chat_op_t *c = xcalloc(1, sizeof(*c));
    live_op_t *tmp = live_op_new(app, ev, s, ack, room);
    c->op = *tmp;
    free(tmp);
    c->text = xstrdup(text);
    store_room_get(app->store, room, on_chat_room, c);
}

/* ---- get-viewers and kick-viewer ------------------------------------------------------------- */

static void on_viewers(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err) {
        live_reply_store_err(op, res);
        free(op);
        return;
    }
    buf_t b;
    buf_init(&b, 0);
    buf_append_str(&b, "\"viewers\":[");
    for (size_t i = 0; i < res->nmembers; i++) {
        const store_member_t *m = &res->members[i];
        buf_append_str(&b, i ? ",{\"id\":" : "{\"id\":");
        buf_append_json_str(&b, m->id, strlen(m->id));
        buf_append_str(&b, ",\"userId\":");
        buf_append_json_str(&b, m->user_id, strlen(m->user_id));
        buf_append_str(&b, ",\"name\":");
        buf_append_json_str(&b, m->name, strlen(m->name));
        buf_printf(&b, ",\"joinedAt\":%lld}", (long long)m->joined_at);
    }
    buf_append_byte(&b, ']');
    live_reply_ok(op, (const char *)b.data);
    buf_deinit(&b);
    free(op);
}

void live_on_get_viewers(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_GET_VIEWERS;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, true)) {
        return;
    }
    store_viewers_list(app->store, room, on_viewers, live_op_new(app, ev, s, ack, room));
}

static void on_kicked(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    live_t *app = op->app;
    if (res->err) {
        live_reply_store_err(op, res);
        free(op);
        return;
    }
    live_announce_kicked(app, op->room, res);
    LOG_I("live", "viewer kicked", "\"room\":\"%s\",\"viewer\":\"%s\",\"by\":\"%s\",\"conns\":%zu",
          log_esc(op->room), log_esc(op->arg), log_esc(op->sub), res->nmembers);
    live_reply_ok(op, NULL);
    free(op);
}

void live_on_kick(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_KICK_VIEWER;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room) {
        return;
    }
    const char *viewer = json_string_value(json_object_get(p, "viewerId"));
    if (!viewer || !*viewer || strlen(viewer) > LIVE_SOCK_ID_MAX) {
        live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD, "viewerId must be a viewer's id");
        return;
    }
    if (!live_allowed(app, s, ev, ack, room, true)) {
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    snprintf(op->arg, sizeof op->arg, "%s", viewer);
    store_viewer_kick(app->store, room, viewer, live_user(s)->who.sub,
                      (uint32_t)app->cfg.kick_ban_ms, on_kicked, op);
}

/* ---- media-state and recording ------------------------------------------------------------- */

static void on_media_state(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err) {
        live_reply_store_err(op, res);
        free(op);
        return;
    }
    if (res->changed) {
        /* media-state {roomId, audio, video}: op->arg holds `"audio":..,"video":..` as set */
        char args[LIVE_ROOM_ID_MAX + 64];
        int n = snprintf(args, sizeof args, "{\"roomId\":\"%s\",%s}", op->room, op->arg);
        live_bus_room(op->app, LIVE_TO_MEMBERS, op->room, NULL, "media-state", args, (size_t)n);
    }
    live_reply_ok(op, NULL);
    free(op);
}

void live_on_media_state(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    const int ev = LIVE_EV_MEDIA_STATE;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room) {
        return;
    }
    json_t *ja = json_object_get(p, "audio"), *jv = json_object_get(p, "video");
    if (!json_is_boolean(ja) || !json_is_boolean(jv)) {
        live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD, "audio and video must be booleans");
        return;
    }
    if (!live_allowed(app, s, ev, ack, room, true)) {
        return;
    }
    live_op_t *op = live_op_new(app, ev, s, ack, room);
    snprintf(op->arg, sizeof op->arg, "\"audio\":%s,\"video\":%s",
             json_is_true(ja) ? "true" : "false", json_is_true(jv) ? "true" : "false");
    char state[sizeof op->arg + 2];
    snprintf(state, sizeof state, "{%s}", op->arg);
    store_patch_t patch = { .set = STORE_SET_MEDIA_STATE, .media_state = state };
    store_room_update(app->store, room, live_user(s)->who.sub, true, &patch, on_media_state, op);
}

static void on_recording_room(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err) {
        live_reply_store_err(op, res);
    } else if (!res->room->owner || strcmp(res->room->owner, op->sub) != 0) {
        live_reply_err(op, APP_EFORBIDDEN, "you do not own this room");
    } else {
        live_rec_request(op, res->room, op->ev == LIVE_EV_START_RECORDING); /* takes op */
        return;
    }
    free(op);
}

void live_on_recording(live_t *app, sio_socket_t *s, json_t *p, int64_t ack, bool start)
{
    const int ev = start ? LIVE_EV_START_RECORDING : LIVE_EV_STOP_RECORDING;
    const char *room = live_need_room(app, s, ev, p, ack);
    if (!room || !live_allowed(app, s, ev, ack, room, true)) {
        return;
    }
    store_room_get(app->store, room, on_recording_room, live_op_new(app, ev, s, ack, room));
}
