/* signal/live_reply.c: what every livestream event handler shares (PROTOCOL.md 3, 5): pending
 * operation contexts, acks and errors (ack or app-error), the room object, the iceServers list
 * with TURN credentials, and the per-connection list of rooms. */
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "live.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- replies ------------------------------------------------------------------------------ */

live_op_t *live_op_new(live_t *app, int ev, sio_socket_t *s, int64_t ack, const char *room)
{
    live_op_t *op = xcalloc(1, sizeof(*op));
    op->app = app;
    op->ev = ev;
    op->ack = ack;
    if (s) {
        snprintf(op->sock, sizeof op->sock, "%s", sio_socket_id(s));
        live_user_t *u = live_user(s);
        if (u && u->who.sub) {
            snprintf(op->sub, sizeof op->sub, "%s", u->who.sub);
        }
    }
    if (room) {
        snprintf(op->room, sizeof op->room, "%s", room);
    }
    return op;
}

sio_socket_t *live_op_socket(live_op_t *op)
{
    return op->sock[0] ? sio_socket_find(op->app->nsp, op->sock) : NULL;
}

live_user_t *live_user(sio_socket_t *s)
{
    return s ? sio_socket_data(s) : NULL;
}

static void reply_ok(sio_socket_t *s, int64_t ack, const char *extra)
{
    if (!s || ack < 0) {
        return;
    }
    buf_t b;
    buf_init(&b, 0);
    /* appends, not printf: a join's ack carries up to 50 chat messages */
    buf_append_str(&b, "{\"ok\":true");
    if (extra && *extra) {
        buf_append_byte(&b, ',');
        buf_append_str(&b, extra);
    }
    buf_append_byte(&b, '}');
    sio_ack(s, ack, (const char *)b.data, b.len);
    buf_deinit(&b);
}

void live_reply_ok(live_op_t *op, const char *extra)
{
    reply_ok(live_op_socket(op), op->ack, extra);
}

void live_fail(live_t *app, sio_socket_t *s, int ev, int64_t ack, app_err_t code,
               const char *message)
{
    if (code > 0 && code < APP_ERR_COUNT) {
        app->errors[code]++;
    }
    if (!s) {
        return;
    }
    buf_t b;
    buf_init(&b, 0);
    if (ack >= 0) {
        buf_printf(&b, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":", app_err_str(code));
        buf_append_json_str(&b, message, strlen(message));
        buf_append_str(&b, "}}");
        sio_ack(s, ack, (const char *)b.data, b.len);
    } else {
        buf_printf(&b, "{\"event\":\"%s\",\"code\":\"%s\",\"message\":", live_ev_name(ev),
                   app_err_str(code));
        buf_append_json_str(&b, message, strlen(message));
        buf_append_str(&b, "}");
        sio_emit(s, "app-error", (const char *)b.data, b.len);
    }
    LOG_D("live", "event refused", "\"sock\":\"%s\",\"event\":\"%s\",\"code\":\"%s\"",
          log_esc(sio_socket_id(s)), live_ev_name(ev), app_err_str(code));
    buf_deinit(&b);
}

const char *live_need_room(live_t *app, sio_socket_t *s, int ev, json_t *p, int64_t ack)
{
    const char *room = json_string_value(json_object_get(p, "roomId"));
    if (!store_id_valid(room, false)) {
        live_fail(app, s, ev, ack, APP_EINVALID_PAYLOAD,
                  "roomId must be 1-64 characters of A-Z a-z 0-9 _ -");
        return NULL;
    }
    return room;
}

bool live_allowed(live_t *app, sio_socket_t *s, int ev, int64_t ack, const char *room,
                  bool admin_only)
{
    live_user_t *u = live_user(s);
    if (admin_only && u->who.role != AUTH_ADMIN) {
        live_fail(app, s, ev, ack, APP_EFORBIDDEN, "this event is for admins only");
        return false;
    }
    if (!auth_allows_room(&u->who, room)) {
        live_fail(app, s, ev, ack, APP_EFORBIDDEN, "your token does not allow this room");
        return false;
    }
    return true;
}

void live_reply_err(live_op_t *op, app_err_t code, const char *message)
{
    live_fail(op->app, live_op_socket(op), op->ev, op->ack, code, message);
}

void live_reply_store_err(live_op_t *op, const store_res_t *res)
{
    app_err_t code = store_err_app(res->err);
    const char *msg;
    switch (res->err) {
    case STORE_ENOTFOUND:
        msg = "no such room";
        break;
    case STORE_EFORBIDDEN:
        msg = "you do not own this room";
        break;
    case STORE_EKICKED:
        msg = "you were removed from this room; try again later";
        break;
    case STORE_ECONFLICT:
        msg = "another admin is live in this room";
        break;
    case STORE_EFULL:
        msg = "the room is full";
        break;
    case STORE_EUNAVAILABLE:
    case STORE_ECLOSED:
        msg = "the state store is unavailable; try again";
        break;
    default:
        msg = "internal error";
        LOG_E("live", "store error", "\"event\":\"%s\",\"room\":\"%s\",\"error\":\"%s\"",
              live_ev_name(op->ev), log_esc(op->room), log_esc(res->why));
    }
    live_reply_err(op, code, msg);
}

void live_room_json(buf_t *b, const store_room_t *r)
{
    buf_append_str(b, "{\"roomId\":");
    buf_append_json_str(b, r->id, strlen(r->id));
    buf_append_str(b, ",\"title\":");
    const char *title = r->title ? r->title : r->id;
    buf_append_json_str(b, title, strlen(title));
    buf_printf(b, ",\"live\":%s,\"viewerCount\":%lld,\"startedAt\":", r->live ? "true" : "false",
               (long long)r->viewers);
    if (r->live && r->started_at) {
        buf_printf(b, "%lld", (long long)r->started_at);
    } else {
        buf_append_str(b, "null");
    }
    buf_printf(b, ",\"recording\":%s,\"mediaState\":%s}", r->recording ? r->recording : "null",
               r->media_state ? r->media_state : "null");
}

/* ---- ICE servers (PROTOCOL.md 5 join-stream; coturn use-auth-secret) ------------------------ */

static void append_urls(buf_t *b, const char *list)
{
    bool first = true;
    char *copy = xstrdup(list), *save = NULL;
    buf_append_byte(b, '[');
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (!first) {
            buf_append_byte(b, ',');
        }
        buf_append_json_str(b, t, strlen(t));
        first = false;
    }
    buf_append_byte(b, ']');
    free(copy);
}

void live_ice_servers(live_t *app, buf_t *b, const char *sub)
{
    const live_cfg_t *c = &app->cfg;
    bool any = false;
    buf_append_byte(b, '[');
    if (c->stun_urls && *c->stun_urls) {
        buf_append_str(b, "{\"urls\":");
        append_urls(b, c->stun_urls);
        buf_append_byte(b, '}');
        any = true;
    }
    if (c->turn_urls && *c->turn_urls) {
        if (any) {
            buf_append_byte(b, ',');
        }
        buf_append_str(b, "{\"urls\":");
        append_urls(b, c->turn_urls);
        if (c->turn_secret && *c->turn_secret) {
            /* username "expiry:userId", credential base64(HMAC-SHA1(secret, username)) */
            char user[320];
            snprintf(user, sizeof user, "%lld:%s",
                     (long long)(clock_wall_ms() / 1000 + c->turn_ttl_s), sub ? sub : "anon");
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned maclen = 0;
            HMAC(EVP_sha1(), c->turn_secret, (int)strlen(c->turn_secret),
                 (const unsigned char *)user, strlen(user), mac, &maclen);
            unsigned char cred[64];
            EVP_EncodeBlock(cred, mac, (int)maclen);
            buf_append_str(b, ",\"username\":");
            buf_append_json_str(b, user, strlen(user));
            buf_append_str(b, ",\"credential\":");
            buf_append_json_str(b, (const char *)cred, strlen((const char *)cred));
        }
        buf_append_byte(b, '}');
    }
    buf_append_byte(b, ']');
}

/* ---- user room bookkeeping ---------------------------------------------------------------- */

bool live_user_has_room(const live_user_t *u, const char *room)
{
    for (size_t i = 0; i < u->nrooms; i++) {
        if (!strcmp(u->rooms[i], room)) {
            return true;
        }
    }
    return false;
}

void live_user_add_room(live_user_t *u, const char *room)
{
    if (live_user_has_room(u, room)) {
        return;
    }
    u->rooms = xrealloc(u->rooms, (u->nrooms + 1) * sizeof(*u->rooms));
    u->rooms[u->nrooms++] = xstrdup(room);
    live_room_ref(live_room_get(u->app, room, true));
}

void live_user_del_room(live_user_t *u, const char *room)
{
    for (size_t i = 0; i < u->nrooms; i++) {
        if (!strcmp(u->rooms[i], room)) {
            free(u->rooms[i]);
            u->rooms[i] = u->rooms[--u->nrooms];
            live_room_t *r = live_room_get(u->app, room, false);
            if (r) {
                live_room_unref(r);
            }
            return;
        }
    }
}

static void on_quota_room(store_t *st, const store_res_t *res, void *ud)
{
    live_op_t *op = ud;
    if (res->err) {
        live_reply_store_err(op, res); /* not_found comes before conflict (PROTOCOL.md 3) */
    } else {
        live_reply_err(op, APP_ECONFLICT, "this connection is in too many rooms; leave one");
    }
    free(op);
}

bool live_room_quota(live_t *app, sio_socket_t *s, int ev, int64_t ack, const char *room)
{
    live_user_t *u = live_user(s);
    if (live_user_has_room(u, room) || u->nrooms < (size_t)app->cfg.max_rooms_per_conn) {
        return true;
    }
    /* not in PROTOCOL.md: a bound on per-connection state (rooms, channel subscriptions).
     * Over it the answer is conflict, after not_found for a room that does not exist. */
    if (ev == LIVE_EV_START_STREAM) { /* start-stream creates rooms: no not_found */
        live_fail(app, s, ev, ack, APP_ECONFLICT,
                  "this connection is in too many rooms; leave one");
        return false;
    }
    store_room_get(app->store, room, on_quota_room, live_op_new(app, ev, s, ack, room));
    return false;
}
