/* signal/live_app.c: the livestream application's frame: configuration, the connect hook
 * (JWT per PROTOCOL.md 2), event dispatch with the checks every event shares (rate limit,
 * payload shape), replies and errors (PROTOCOL.md 3), disconnects, and the node's timers. */
#include "live_app.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "app.h"
#include "live.h"
#include "live_rec.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const ev_names[LIVE_EV_COUNT] = {
#define XX(name, str) str,
    LIVE_EVENT_MAP(XX)
#undef XX
        "other",
};

const char *live_ev_name(int ev)
{
    return ev >= 0 && ev < LIVE_EV_COUNT ? ev_names[ev] : "other";
}

static int ev_lookup(const char *name)
{
    for (int i = 0; i < LIVE_EV_OTHER; i++) {
        if (!strcmp(ev_names[i], name)) {
            return i;
        }
    }
    return LIVE_EV_OTHER;
}

/* ---- configuration ------------------------------------------------------------------------ */

static live_cfg_t cfg_store;

static const cfg_opt_t live_opts[] = {
    { "node-id", "NODE_ID", CFG_STR, &cfg_store.node_id, NULL,
      "this node's id (default: host-pid)" },
    { "jwt-secret", "JWT_SECRET", CFG_STR, &cfg_store.jwt_secret, NULL, "HS256 secret" },
    { "jwt-public-key", "JWT_PUBLIC_KEY", CFG_STR, &cfg_store.jwt_public_key, NULL,
      "RS256/ES256 public key (PEM text or file)" },
    { "allow-anonymous", "ALLOW_ANONYMOUS_VIEWERS", CFG_BOOL, &cfg_store.allow_anonymous, "0",
      "admit viewers without a token" },
    { "redis-url", "REDIS_URL", CFG_STR, &cfg_store.redis_url, NULL,
      "redis://host:port/db or unix:///path (unset: in-process state)" },
    { "stun-urls", "STUN_URLS", CFG_STR, &cfg_store.stun_urls, NULL, "comma-separated stun: URLs" },
    { "turn-urls", "TURN_URLS", CFG_STR, &cfg_store.turn_urls, NULL, "comma-separated turn: URLs" },
    { "turn-secret", "TURN_SECRET", CFG_STR, &cfg_store.turn_secret, NULL,
      "coturn use-auth-secret shared secret" },
    { "turn-ttl", "TURN_TTL", CFG_INT, &cfg_store.turn_ttl_s, "3600",
      "TURN credential lifetime (s)" },
    { "max-viewers", "MAX_VIEWERS", CFG_INT, &cfg_store.max_viewers, "0",
      "viewers per room (0: unlimited)" },
    { "title-max", "TITLE_MAX", CFG_INT, &cfg_store.title_max, "200",
      "title length (code points)" },
    { "chat-max", "CHAT_MAX", CFG_INT, &cfg_store.chat_max, "500",
      "chat text length (code points)" },
    { "sdp-max", "SDP_MAX", CFG_INT, &cfg_store.sdp_max, "65536", "SDP size (bytes)" },
    { "candidate-max", "CANDIDATE_MAX", CFG_INT, &cfg_store.candidate_max, "1024",
      "ICE candidate size (bytes)" },
    { "chat-limit", "CHAT_LIMIT", CFG_INT, &cfg_store.chat_limit, "5",
      "chat messages per window per user" },
    { "chat-window", "CHAT_WINDOW_MS", CFG_INT, &cfg_store.chat_window_ms, "5000",
      "chat window (ms)" },
    { "events-per-second", "EVENTS_PER_SECOND", CFG_INT, &cfg_store.events_per_s, "50",
      "events per second per connection" },
    { "publisher-grace", "PUBLISHER_GRACE_MS", CFG_INT, &cfg_store.publisher_grace_ms, "10000",
      "how long a disconnected owner may take to come back (ms)" },
    { "max-rooms-per-connection", "MAX_ROOMS_PER_CONNECTION", CFG_INT,
      &cfg_store.max_rooms_per_conn, "16",
      "rooms one connection may join or start (bounds per-connection state)" },
    { "kick-ban", "KICK_BAN_MS", CFG_INT, &cfg_store.kick_ban_ms, "60000",
      "how long a kicked viewer may not rejoin (ms)" },
    { "room-idle", "ROOM_IDLE_MS", CFG_INT, &cfg_store.room_idle_ms, "86400000",
      "idle rooms are deleted after (ms)" },
    { "stats-interval", "STATS_INTERVAL_MS", CFG_INT, &cfg_store.stats_interval_ms, "2000",
      "stream-stats period (ms)" },
    { "node-ttl", "NODE_TTL_MS", CFG_INT, &cfg_store.node_ttl_ms, "3000",
      "node heartbeat lifetime (ms); a node silent for longer is reaped" },
    { "sfu-spawn", "SFU_SPAWN", CFG_INT, &cfg_store.sfu_spawn, "0", "SFU processes to spawn" },
    { "sfu-bin", "SFU_BIN", CFG_STR, &cfg_store.sfu_bin, NULL, "onair-sfu binary (spawn mode)" },
    { "sfu-dir", "SFU_DIR", CFG_STR, &cfg_store.sfu_dir, "/tmp", "socket directory (spawn mode)" },
    { "sfu-ip", "SFU_IP", CFG_STR, &cfg_store.sfu_ip, "127.0.0.1", "SFU media address(es)" },
    { "sfu-ports", "SFU_PORTS", CFG_STR, &cfg_store.sfu_ports, "40000-40999",
      "SFU UDP port range" },
    { "sfu-sockets", "SFU_SOCKETS", CFG_STR, &cfg_store.sfu_sockets, NULL,
      "comma-separated RPC sockets of operator-run SFUs" },
    { "cors-origin", "CORS_ORIGIN", CFG_STR, &cfg_store.cors_origin, NULL,
      "allowed browser origin(s) for cross-origin requests (unset: none)" },
    { "sfu-timeout", "SFU_TIMEOUT_MS", CFG_INT, &cfg_store.sfu_timeout_ms, "5000",
      "SFU RPC timeout (ms)" },
    { "recordings-dir", "RECORDINGS_DIR", CFG_STR, &cfg_store.recordings_dir, "./recordings",
      "where recordings are written (start-recording)" },
    { "recorder-bin", "RECORDER_BIN", CFG_STR, &cfg_store.recorder_bin, NULL,
      "onair-recorder binary (default: next to onair-signal)" },
    { 0 },
};

const cfg_opt_t *live_app_options(void)
{
    return live_opts;
}

static void user_free(void *p)
{
    live_user_t *u = p;
    for (size_t i = 0; i < u->nrooms; i++) {
        free(u->rooms[i]);
    }
    free(u->rooms);
    for (size_t i = 0; i < u->nowned; i++) {
        free(u->owned[i]);
    }
    free(u->owned);
    auth_identity_deinit(&u->who);
    free(u);
}

/* ---- Socket.IO hooks ----------------------------------------------------------------------- */

static int on_connect(sio_socket_t *s, const sio_handshake_t *hs, void *ud, char **err_json)
{
    live_t *app = ud;
    live_user_t *u = xcalloc(1, sizeof(*u));
    u->app = app;
    snprintf(u->sock_id, sizeof u->sock_id, "%s", sio_socket_id(s));
    const char *why = NULL;
    auth_src_t src = AUTH_SRC_NONE;
    /* EIO3 clients may carry the token in the namespace's own query ("40/?token=x,") */
    const char *query = hs->query;
    if (hs->nsp_query && strstr(hs->nsp_query, "token=")) {
        query = hs->nsp_query;
    }
    if (auth_connect(app->auth, hs->auth, hs->auth_len, hs->authorization, query,
                     clock_wall_ms() / 1000, &u->who, &src, &why) != 0) {
        app->connects_refused++;
        app->errors[APP_EUNAUTHORIZED]++;
        LOG_I("live", "connection refused", "\"sock\":\"%s\",\"addr\":\"%s\",\"why\":\"%s\"",
              log_esc(u->sock_id), log_esc(hs->remote_addr), log_esc(why));
        user_free(u);
        *err_json = xstrdup("{\"message\":\"unauthorized\"}");
        return -1;
    }
    sio_socket_set_data(s, u, user_free);
    live_owner_connected(app, s); /* PROTOCOL.md 10: a member of the rooms its user owns */
    LOG_I("live", "connected",
          "\"sock\":\"%s\",\"sub\":\"%s\",\"role\":\"%s\",\"transport\":\"%s\",\"token\":\"%s\"",
          log_esc(u->sock_id), log_esc(u->who.sub), auth_role_str(u->who.role),
          log_esc(hs->transport), auth_src_str(src));
    return 0;
}

typedef void (*live_handler_t)(live_t *, sio_socket_t *, json_t *, int64_t);

static void on_rec_start(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    live_on_recording(app, s, p, ack, true);
}

static void on_rec_stop(live_t *app, sio_socket_t *s, json_t *p, int64_t ack)
{
    live_on_recording(app, s, p, ack, false);
}

static const live_handler_t handlers[LIVE_EV_OTHER] = {
    [LIVE_EV_START_STREAM] = live_on_start_stream,
    [LIVE_EV_STOP_STREAM] = live_on_stop_stream,
    [LIVE_EV_JOIN_STREAM] = live_on_join_stream,
    [LIVE_EV_LEAVE_STREAM] = live_on_leave_stream,
    [LIVE_EV_OFFER] = live_on_offer,
    [LIVE_EV_ANSWER] = live_on_answer,
    [LIVE_EV_ICE_CANDIDATE] = live_on_candidate,
    [LIVE_EV_RESTART_ICE] = live_on_restart_ice,
    [LIVE_EV_CHAT_MESSAGE] = live_on_chat,
    [LIVE_EV_GET_VIEWERS] = live_on_get_viewers,
    [LIVE_EV_KICK_VIEWER] = live_on_kick,
    [LIVE_EV_MEDIA_STATE] = live_on_media_state,
    [LIVE_EV_START_RECORDING] = on_rec_start,
    [LIVE_EV_STOP_RECORDING] = on_rec_stop,
};

static void on_event(sio_socket_t *s, const sio_event_t *ev, void *ud)
{
    live_t *app = ud;
    live_user_t *u = live_user(s);
    int id = ev_lookup(ev->name);
    app->ev_in[id]++;
    if (!u) {
        return;
    }
    /* PROTOCOL.md 4: over the limit is refused and still counts; a connection that keeps
     * flooding (5x the rate for a while) is disconnected. */
    if (!ratelimit_hit(&u->events, clock_mono_ms(), (uint32_t)app->cfg.events_per_s, 1000)) {
        if (++u->flood_strikes > 5 * app->cfg.events_per_s) {
            LOG_W("live", "flooding connection closed", "\"sock\":\"%s\",\"sub\":\"%s\"",
                  log_esc(u->sock_id), log_esc(u->who.sub));
            sio_close_session(s);
            return;
        }
        if (id != LIVE_EV_OTHER) {
            live_fail(app, s, id, ev->ack_id, APP_ERATE_LIMITED, "too many events; slow down");
        }
        return;
    }
    u->flood_strikes = 0;
    if (id == LIVE_EV_OTHER) {
        return; /* unknown events are ignored, as Node's server does without a listener */
    }
    if (ev->nattach > 0) {
        live_fail(app, s, id, ev->ack_id, APP_EINVALID_PAYLOAD, "binary payloads are not accepted");
        return;
    }
    /* args are the client's raw JSON; parse them as the array they are part of */
    json_error_t jerr;
    buf_t b;
    buf_init(&b, 0);
    buf_append_byte(&b, '[');
    buf_append(&b, ev->args, ev->args_len);
    buf_append_byte(&b, ']');
    json_t *arr = json_loadb((const char *)b.data, b.len, 0, &jerr);
    buf_deinit(&b);
    json_t *p = json_is_array(arr) ? json_array_get(arr, 0) : NULL;
    if (!json_is_object(p)) {
        live_fail(app, s, id, ev->ack_id, APP_EINVALID_PAYLOAD,
                  arr ? "the payload must be an object" : "the payload is not valid JSON");
        json_decref(arr);
        return;
    }
    handlers[id](app, s, p, ev->ack_id);
    json_decref(arr);
}

static void on_disconnect(sio_socket_t *s, const char *reason, void *ud)
{
    live_t *app = ud;
    live_user_t *u = live_user(s);
    if (!u || app->closing) {
        return;
    }
    LOG_I("live", "disconnected", "\"sock\":\"%s\",\"sub\":\"%s\",\"reason\":\"%s\"",
          log_esc(u->sock_id), log_esc(u->who.sub), log_esc(reason));
    while (u->nrooms > 0) {
        char *room = xstrdup(u->rooms[u->nrooms - 1]);
        live_member_leave(app, u, room, LIVE_LEAVE_DISCONNECT);
        live_user_del_room(u, room); /* no-op when live_member_leave already did */
        free(room);
    }
    live_owner_disconnected(u);
}

/* ---- node heartbeat, reaping, room expiry -------------------------------------------------- */

/* Tells the cluster about connections and broadcasts a dead (reaped) or leaving node took
 * with it: viewer-left to the admins, a count change, stream-ended publisher-left. */
static void announce_gone(live_t *app, const store_res_t *res)
{
    for (size_t i = 0; i < res->nids; i++) {
        live_announce_ended(app, res->ids[i], "publisher-left");
    }
    for (size_t i = 0; i < res->nmembers; i++) {
        const store_member_t *m = &res->members[i];
        if (!m->role || strcmp(m->role, "viewer") != 0) {
            continue;
        }
        live_announce_left(app, m->room_id, m->id);
        bool seen = false; /* one count change per room */
        for (size_t k = 0; k < i && !seen; k++) {
            seen = res->members[k].role && !strcmp(res->members[k].role, "viewer") &&
                   !strcmp(res->members[k].room_id, m->room_id);
        }
        if (!seen) {
            live_bus_count(app, m->room_id, -1);
        }
    }
}

static void on_reaped(store_t *st, const store_res_t *res, void *ud)
{
    live_t *app = ud;
    if (res->err || app->closing) {
        return;
    }
    for (size_t i = 0; i < res->nnodes; i++) {
        LOG_W("live", "dead node reaped", "\"node\":\"%s\",\"members\":%zu,\"broadcasts\":%zu",
              log_esc(res->nodes[i]), res->nmembers, res->nids);
    }
    announce_gone(app, res);
}

static void on_beat(store_t *st, const store_res_t *res, void *ud)
{
    live_t *app = ud;
    if (res->err == 0 && res->changed && !app->closing) {
        LOG_I("live", app->registered ? "node re-registered" : "node registered", "\"node\":\"%s\"",
              log_esc(app->cfg.node_id));
        if (app->registered) {
            live_rooms_resync(app);
        }
        app->registered = true;
    }
}

/* Registers a READY SFU of this node's pool in the shared SFU registry (rooms can only be
 * placed on registered SFUs), with its load; the entry expires with the node's heartbeat. */
void live_sfu_beat(live_t *app, sfu_t *sfu)
{
    /* a discovered SFU is another node's: that node registers it */
    if (sfu_get_state(sfu) != SFU_READY || sfu_discovered(sfu) || app->closing) {
        return;
    }
    uint64_t peers, in, out;
    sfu_load(sfu, &peers, &in, &out);
    char info[512];
    snprintf(info, sizeof info,
             "{\"socket\":\"%s\",\"draining\":%s,\"bitrateIn\":%llu,\"bitrateOut\":%llu}",
             log_esc(sfu_socket_path(sfu)), sfu_draining(sfu) ? "true" : "false",
             (unsigned long long)in, (unsigned long long)out);
    store_sfu_t rec = { .id = sfu_id(sfu),
                        .node = app->cfg.node_id,
                        .load = (int64_t)peers,
                        .capacity = 0,
                        .info = info };
    store_sfu_beat(app->store, &rec, (uint32_t)app->cfg.node_ttl_ms, NULL, NULL);
}

static void beat_sfu(sfu_t *sfu, void *ud)
{
    live_sfu_beat(ud, sfu);
}

/* The SFUs other nodes of this host registered: the pool connects to them too, so a viewer
 * here can be subscribed on the SFU another node's publisher uses. */
static void on_sfu_list(store_t *st, const store_res_t *res, void *ud)
{
    live_t *app = ud;
    if (res->err == 0 && !app->closing) {
        sfu_pool_sync_registry(app->sfus, res->sfus, res->nsfus);
    }
}

static void on_beat_timer(uv_timer_t *t)
{
    live_t *app = t->data;
    store_node_beat(app->store, app->cfg.node_id, (uint32_t)app->cfg.node_ttl_ms, NULL, on_beat,
                    app);
    sfu_pool_foreach(app->sfus, beat_sfu, app);
    store_sfu_list(app->store, on_sfu_list, app);
    store_nodes_reap(app->store, app->cfg.node_id, on_reaped, app);
}

static void on_expired(store_t *st, const store_res_t *res, void *ud)
{
    for (size_t i = 0; i < res->nids; i++) {
        LOG_I("live", "idle room deleted", "\"room\":\"%s\"", log_esc(res->ids[i]));
    }
}

/* Drops the chat limiters of users quiet for two windows (they would start afresh anyway), so
 * the table does not grow with every user ever seen. */
static void prune_chat_limits(live_t *app)
{
    uint64_t now = clock_mono_ms(), idle = 2 * (uint64_t)app->cfg.chat_window_ms;
    size_t i, n = 0;
    char **drop = xcalloc(app->chat_limits.n + 1, sizeof(*drop));
    for (strmap_ent_t *e = strmap_first(&app->chat_limits, &i); e;
         e = strmap_next(&app->chat_limits, e, &i)) {
        const ratelimit_t *rl = e->val;
        if (now >= rl->window_start_ms + idle) {
            drop[n++] = xstrdup(e->key);
        }
    }
    for (size_t k = 0; k < n; k++) {
        free(strmap_del(&app->chat_limits, drop[k]));
        free(drop[k]);
    }
    free(drop);
}

static void on_expire_timer(uv_timer_t *t)
{
    live_t *app = t->data;
    store_rooms_expire(app->store, app->cfg.room_idle_ms, on_expired, app);
    prune_chat_limits(app);
}

static void on_store_state(store_t *st, bool up, void *ud)
{
    live_t *app = ud;
    app->store_up = up;
    if (up) {
        LOG_I("live", "state store up", "\"backend\":\"%s\"", store_backend(st));
    } else {
        LOG_W("live", "state store down", "\"backend\":\"%s\"", store_backend(st));
    }
}

/* ---- start and stop ------------------------------------------------------------------------ */

static int parse_ports(const char *s, int *lo, int *hi)
{
    return s && sscanf(s, "%d-%d", lo, hi) == 2 && *lo > 0 && *hi <= 65535 && *lo < *hi ? 0 : -1;
}

int live_app_start(uv_loop_t *loop, sio_server_t *sio, http_server_t *http, live_t **out, char *err,
                   size_t errlen)
{
    live_t *app = xcalloc(1, sizeof(*app));
    app->loop = loop;
    app->cfg = cfg_store;
    app->sio = sio;
    app->http = http;
    strmap_init(&app->rooms);
    strmap_init(&app->chat_limits);
    strmap_init(&app->peers);
    strmap_init(&app->offers);
    const char *env = getenv("ONAIR_ENV"), *nenv = getenv("NODE_ENV");
    app->cfg.production =
        (env && !strcmp(env, "production")) || (nenv && !strcmp(nenv, "production"));
    static char node_buf[96];
    if (!app->cfg.node_id || !*app->cfg.node_id) {
        char host[64] = "node";
        gethostname(host, sizeof host - 1);
        for (char *c = host; *c; c++) {
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *c)) {
                *c = '-';
            }
        }
        snprintf(node_buf, sizeof node_buf, "%.40s-%d", host, (int)getpid());
        app->cfg.node_id = node_buf;
    }

    size_t idlen = strspn(app->cfg.node_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_.-");
    if (idlen == 0 || idlen > 64 || app->cfg.node_id[idlen]) {
        snprintf(err, errlen, "invalid node id '%.80s' (1-64 characters of A-Z a-z 0-9 _ . -)",
                 app->cfg.node_id);
        goto fail;
    }
    if (app->cfg.kick_ban_ms < 0 || app->cfg.kick_ban_ms > UINT32_MAX ||
        app->cfg.publisher_grace_ms < 0 || app->cfg.stats_interval_ms <= 0 ||
        app->cfg.node_ttl_ms < 300 || app->cfg.max_viewers < 0 || app->cfg.max_rooms_per_conn < 1 ||
        app->cfg.max_viewers > UINT32_MAX) {
        snprintf(err, errlen,
                 "invalid option value (kick-ban, publisher-grace, stats-interval, "
                 "node-ttl >= 300, max-viewers or max-rooms-per-connection >= 1)");
        goto fail;
    }
    auth_cfg_t ac = { .secret = app->cfg.jwt_secret,
                      .public_key = app->cfg.jwt_public_key,
                      .allow_anonymous = app->cfg.allow_anonymous,
                      .leeway_s = -1 };
    if (app->cfg.production && !ac.secret && !ac.public_key) {
        snprintf(err, errlen, "production mode needs JWT_SECRET or JWT_PUBLIC_KEY");
        goto fail;
    }
    if (auth_new(&ac, &app->auth, err, errlen) != 0) {
        goto fail;
    }

    store_opts_t so = { .url = app->cfg.redis_url,
                        .on_message = live_bus_on_message,
                        .on_state = on_store_state,
                        .ud = app };
    if (store_open(loop, &so, &app->store, err, errlen) != 0) {
        goto fail;
    }
    app->store_up = store_healthy(app->store);
    /* events for one connection (kicks, ...) arrive on this node's own channel */
    snprintf(app->node_channel, sizeof app->node_channel, "n:%s", app->cfg.node_id);
    store_subscribe(app->store, app->node_channel, NULL, NULL);
    /* rooms going live under an owner, for the owner's connections on every node */
    store_subscribe(app->store, LIVE_OWNERS_CHANNEL, NULL, NULL);

    sfu_pool_config_t pc = { .node_id = app->cfg.node_id,
                             .spawn = (int)app->cfg.sfu_spawn,
                             .sfu_bin = app->cfg.sfu_bin,
                             .sock_dir = app->cfg.sfu_dir,
                             .ip = app->cfg.sfu_ip,
                             .sockets = app->cfg.sfu_sockets,
                             .call_timeout_ms = (uint32_t)app->cfg.sfu_timeout_ms };
    if (pc.spawn > 0 && parse_ports(app->cfg.sfu_ports, &pc.port_low, &pc.port_high) != 0) {
        snprintf(err, errlen, "invalid SFU port range '%s' (LOW-HIGH)", app->cfg.sfu_ports);
        goto fail;
    }
    const char *perr = NULL;
    app->sfus = sfu_pool_new(loop, &pc, live_media_on_event, live_media_on_state, app, &perr);
    if (!app->sfus) {
        snprintf(err, errlen, "%s", perr);
        goto fail;
    }

    static const sio_nsp_ops_t ops = { on_connect, on_event, on_disconnect };
    app->nsp = sio_nsp_add(sio, "/", &ops, app);
    live_app_routes(app);

    uv_timer_init(loop, &app->beat_timer);
    uv_timer_init(loop, &app->expire_timer);
    app->beat_timer.data = app->expire_timer.data = app;
    uint64_t beat = (uint64_t)app->cfg.node_ttl_ms / 3;
    uv_timer_start(&app->beat_timer, on_beat_timer, 0, beat ? beat : 1000);
    /* idle rooms go within a quarter of ROOM_IDLE_MS after their time (at most a minute) */
    uint64_t expire = (uint64_t)app->cfg.room_idle_ms / 4;
    expire = expire < 200 ? 200 : expire > 60000 ? 60000 : expire;
    uv_timer_start(&app->expire_timer, on_expire_timer, expire, expire);
    LOG_I("live", "livestream app started",
          "\"node\":\"%s\",\"store\":\"%s\",\"mode\":\"%s\",\"sfu_spawn\":%ld,\"anonymous\":%s",
          log_esc(app->cfg.node_id), store_backend(app->store),
          app->cfg.production ? "production" : "demo", app->cfg.sfu_spawn,
          app->cfg.allow_anonymous ? "true" : "false");
    *out = app;
    return 0;
fail:
    if (app->sfus) {
        sfu_pool_close(app->sfus);
    }
    if (app->store) {
        store_close(app->store, NULL, NULL);
    }
    auth_free(app->auth);
    strmap_deinit(&app->rooms);
    strmap_deinit(&app->chat_limits);
    strmap_deinit(&app->peers);
    strmap_deinit(&app->offers);
    free(app);
    return -1;
}

static void on_store_closed(store_t *st, void *ud)
{
    (void)st;
    (void)ud;
}

static void on_flushed(store_t *st, const store_res_t *res, void *ud)
{
    live_t *app = ud;
    store_close(app->store, on_store_closed, app);
}

static void on_left_cluster(store_t *st, const store_res_t *res, void *ud)
{
    live_t *app = ud;
    if (res->err == 0) {
        LOG_I("live", "left the cluster", "\"members\":%zu,\"broadcasts\":%zu", res->nmembers,
              res->nids);
        announce_gone(app, res);
    }
    /* one more round trip on the same connection: the publishes above are out before closing */
    store_nodes_list(app->store, on_flushed, app);
}

void live_app_stop(live_t *app)
{
    if (app->closing) {
        return;
    }
    app->closing = true;
    live_rec_close_all(app); /* each recorder finishes its file */
    live_rooms_close_all(app);
    store_unsubscribe(app->store, app->node_channel);
    store_unsubscribe(app->store, LIVE_OWNERS_CHANNEL);
    uv_close((uv_handle_t *)&app->beat_timer, NULL);
    uv_close((uv_handle_t *)&app->expire_timer, NULL);
    sfu_pool_close(app->sfus);
    /* leave cleanly: the shared state drops this node's members at once */
    store_node_leave(app->store, app->cfg.node_id, on_left_cluster, app);
}

void live_app_free(live_t *app)
{
    size_t i;
    for (strmap_ent_t *e = strmap_first(&app->chat_limits, &i); e;
         e = strmap_next(&app->chat_limits, e, &i)) {
        free(e->val);
    }
    strmap_deinit(&app->chat_limits);
    for (strmap_ent_t *e = strmap_first(&app->peers, &i); e; e = strmap_next(&app->peers, e, &i)) {
        free(e->val);
    }
    strmap_deinit(&app->peers);
    strmap_deinit(&app->offers); /* empty: every offer completes before the loop ends */
    strmap_deinit(&app->rooms);
    auth_free(app->auth);
    live_app_routes_free();
    free(app);
}

/* ---- the app table entry (signal/app.h) ------------------------------------------------------ */

static const char *cors_origin(void)
{
    return cfg_store.cors_origin && *cfg_store.cors_origin ? cfg_store.cors_origin : NULL;
}

static int app_start(app_env_t *env, void **state)
{
    char err[512];
    live_t *app = NULL;
    if (live_app_start(env->loop, env->sio, env->http, &app, err, sizeof err) != 0) {
        LOG_E("live", "cannot start", "\"error\":\"%s\"", log_esc(err));
        return -1;
    }
    *state = app;
    return 0;
}

static void app_stop(void *state)
{
    live_app_stop(state);
}

static void app_free(void *state)
{
    live_app_free(state);
}

const app_t app_livestream = {
    .name = "livestream",
    .help = "the livestream application of PROTOCOL.md",
    .opts = live_opts,
    .cors_origin = cors_origin,
    .start = app_start,
    .stop = app_stop,
    .free = app_free,
};
