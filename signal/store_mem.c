/* signal/store_mem.c: the in-process store backend (REDIS_URL unset: one node). Same semantics
 * as the Redis scripts (store_lua.c), checked by the same test table. Each operation runs to
 * completion inside the call (so it is trivially atomic) and its result is delivered on the next
 * loop iteration. Maps are jansson objects (hash tables with string keys); TTLs use the
 * monotonic clock and expire lazily. Pub/sub is a local loopback. */
#include "../common/clock.h"
#include "../common/xalloc.h"
#include "store_impl.h"
#include <stdlib.h>
#include <string.h>

typedef struct mem {
    store_t base;    /* first: store_t * <-> mem_t * */
    json_t *rooms;   /* id -> room object (field names as in the Redis hash) */
    json_t *viewers; /* room id -> { conn -> member } */
    json_t *admins;  /* room id -> { conn -> member } */
    json_t *chat;    /* room id -> [ entry strings ] */
    json_t *kicks;   /* "room\x1fuser" -> expiry (monotonic ms) */
    json_t *nodes;   /* node id -> { info, exp } */
    json_t *nodemem; /* node id -> { "room|conn" -> true } */
    json_t *sfus;    /* sfu id -> { id, node, load, capacity, info, exp } */
} mem_t;

static int64_t mono(void)
{
    return (int64_t)clock_mono_ms();
}

static const char *sget(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int64_t iget(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void sset(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v ? v : ""));
}

static void iset(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer(v));
}

/* The per-room sub-object of map (created on demand with create). */
static json_t *sub(json_t *map, const char *room, bool create)
{
    json_t *o = json_object_get(map, room);
    if (!o && create) {
        o = json_object();
        json_object_set_new(map, room, o);
    }
    return o;
}

static size_t nviewers(mem_t *m, const char *room)
{
    return json_object_size(json_object_get(m->viewers, room));
}

/* A result-ready copy of a room with its viewer count. */
static json_t *room_pub(mem_t *m, const char *room)
{
    json_t *r = json_deep_copy(json_object_get(m->rooms, room));
    iset(r, "viewers", (int64_t)nviewers(m, room));
    return r;
}

static json_t *res_room(mem_t *m, const char *room, bool changed)
{
    json_t *res = json_object();
    json_object_set_new(res, "room", room_pub(m, room));
    json_object_set_new(res, "changed", json_boolean(changed));
    iset(res, "count", (int64_t)nviewers(m, room));
    return res;
}

static bool alive(json_t *entry)
{
    return entry && iget(entry, "exp") > mono();
}

static void ok(mem_t *m, const store_req_t *r, store_cb cb, void *ud, json_t *res)
{
    store__defer(&m->base, r->op, cb, ud, STORE_OK, NULL, res);
}

static void fail(mem_t *m, const store_req_t *r, store_cb cb, void *ud, int err)
{
    store__defer(&m->base, r->op, cb, ud, err, NULL, NULL);
}

/* --- rooms --- */

static void end_broadcast(json_t *room, int64_t now)
{
    iset(room, "live", 0);
    iset(room, "startedAt", 0);
    sset(room, "mediaState", "");
    sset(room, "recording", "");
    iset(room, "lastActive", now);
}

static void op_start(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = json_object_get(m->rooms, r->room);
    bool changed = true;
    if (!room) {
        room = json_object();
        sset(room, "id", r->room);
        sset(room, "title", r->title ? r->title : r->room);
        sset(room, "owner", r->owner);
        sset(room, "ownerConn", r->conn);
        sset(room, "ownerNode", r->node);
        iset(room, "live", 1);
        iset(room, "startedAt", r->now);
        sset(room, "recording", "");
        sset(room, "mediaState", "");
        sset(room, "sfu", "");
        iset(room, "createdAt", r->now);
        iset(room, "lastActive", r->now);
        json_object_set_new(m->rooms, r->room, room);
    } else if (iget(room, "live")) {
        if (strcmp(sget(room, "owner"), r->owner) != 0) {
            fail(m, r, cb, ud, STORE_ECONFLICT);
            return;
        }
        changed = false;
        sset(room, "ownerConn", r->conn);
        sset(room, "ownerNode", r->node);
        iset(room, "lastActive", r->now);
        if (r->title) {
            sset(room, "title", r->title);
        }
    } else {
        bool same = strcmp(sget(room, "owner"), r->owner) == 0;
        sset(room, "title", r->title ? r->title : same ? sget(room, "title") : r->room);
        sset(room, "owner", r->owner);
        sset(room, "ownerConn", r->conn);
        sset(room, "ownerNode", r->node);
        iset(room, "live", 1);
        iset(room, "startedAt", r->now);
        sset(room, "recording", "");
        sset(room, "mediaState", "");
        iset(room, "lastActive", r->now);
    }
    ok(m, r, cb, ud, res_room(m, r->room, changed));
}

/* The request's room when it exists and r->owner (if given) owns it; else fails the request
 * (ENOTFOUND, then EFORBIDDEN: STATE.md's order) and returns NULL. */
static json_t *owned_room(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = json_object_get(m->rooms, r->room);
    if (!room) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return NULL;
    }
    if (r->owner && strcmp(sget(room, "owner"), r->owner) != 0) {
        fail(m, r, cb, ud, STORE_EFORBIDDEN);
        return NULL;
    }
    return room;
}

static void op_stop(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = owned_room(m, r, cb, ud);
    if (!room) {
        return;
    }
    bool changed = iget(room, "live") && (!r->conn || !strcmp(sget(room, "ownerConn"), r->conn));
    if (changed) {
        end_broadcast(room, r->now);
    }
    ok(m, r, cb, ud, res_room(m, r->room, changed));
}

static void op_get(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    if (!json_object_get(m->rooms, r->room)) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    ok(m, r, cb, ud, res_room(m, r->room, false));
}

static void op_update(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = owned_room(m, r, cb, ud);
    if (!room) {
        return;
    }
    bool changed = !r->flag || iget(room, "live");
    if (changed) {
        const store_patch_t *p = r->patch;
        if (p->set & STORE_SET_TITLE) {
            sset(room, "title", p->title);
        }
        if (p->set & STORE_SET_MEDIA_STATE) {
            sset(room, "mediaState", p->media_state);
        }
        if (p->set & STORE_SET_RECORDING) {
            sset(room, "recording", p->recording);
        }
        if (p->set & STORE_SET_SFU) {
            sset(room, "sfu", p->sfu);
        }
        iset(room, "lastActive", r->now);
    }
    ok(m, r, cb, ud, res_room(m, r->room, changed));
}

static void op_list(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *res = json_object(), *arr = json_array();
    const char *id;
    json_t *v;
    json_object_foreach(m->rooms, id, v)
    {
        if (!r->owner || !strcmp(sget(v, "owner"), r->owner)) { /* store_rooms_owned */
            json_array_append_new(arr, room_pub(m, id));
        }
    }
    json_object_set_new(res, "rooms", arr);
    ok(m, r, cb, ud, res);
}

static void drop_kicks(mem_t *m, const char *room, bool all)
{
    size_t n = strlen(room);
    int64_t now = mono();
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(m->kicks, tmp, k, v)
    {
        bool mine = strncmp(k, room, n) == 0 && k[n] == '\x1f';
        if ((all && mine) || json_integer_value(v) <= now) {
            json_object_del(m->kicks, k);
        }
    }
}

static void op_expire(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *ids = json_array();
    const char *id;
    json_t *room;
    void *tmp;
    json_object_foreach_safe(m->rooms, tmp, id, room)
    {
        if (iget(room, "live") || nviewers(m, id) ||
            json_object_size(json_object_get(m->admins, id)) ||
            r->now - iget(room, "lastActive") < r->n) {
            continue;
        }
        char *rid = xstrdup(id);
        json_array_append_new(ids, json_string(rid));
        drop_kicks(m, rid, true);
        json_object_del(m->viewers, rid);
        json_object_del(m->admins, rid);
        json_object_del(m->chat, rid);
        json_object_del(m->rooms, rid); /* frees id */
        free(rid);
    }
    drop_kicks(m, "", false); /* expired bans of every room */
    json_t *res = json_object();
    json_object_set_new(res, "ids", ids);
    ok(m, r, cb, ud, res);
}

static void op_claim(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = json_object_get(m->rooms, r->room);
    if (!room) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    const char *cur = sget(room, "sfu");
    json_t *res;
    if (*cur && !r->flag && alive(json_object_get(m->sfus, cur))) {
        res = res_room(m, r->room, false);
    } else if (!alive(json_object_get(m->sfus, r->sfu))) {
        store__defer(&m->base, r->op, cb, ud, STORE_EUNAVAILABLE, "sfu not registered", NULL);
        return;
    } else {
        sset(room, "sfu", r->sfu);
        iset(room, "lastActive", r->now);
        res = res_room(m, r->room, true);
    }
    sset(res, "sfu", sget(room, "sfu"));
    ok(m, r, cb, ud, res);
}

/* --- members --- */

static json_t *find_member(mem_t *m, const char *room, const char *conn)
{
    json_t *v = json_object_get(json_object_get(m->viewers, room), conn);
    return v ? v : json_object_get(json_object_get(m->admins, room), conn);
}

static void unindex(mem_t *m, json_t *member)
{
    char key[STORE_MAX_STR + 80];
    snprintf(key, sizeof(key), "%s|%s", sget(member, "room"), sget(member, "id"));
    json_object_del(json_object_get(m->nodemem, sget(member, "node")), key);
}

/* Removes a member (a borrowed pointer into its map) and returns a copy of it. */
static json_t *remove_member(mem_t *m, json_t *member, int64_t now)
{
    json_t *copy = json_deep_copy(member);
    const char *room = sget(copy, "room"), *conn = sget(copy, "id");
    unindex(m, copy);
    bool viewer = strcmp(sget(copy, "role"), "viewer") == 0;
    json_object_del(json_object_get(viewer ? m->viewers : m->admins, room), conn);
    json_t *rm = json_object_get(m->rooms, room);
    if (rm) {
        iset(rm, "lastActive", now);
    }
    return copy;
}

static json_t *chat_copy(mem_t *m, const char *room)
{
    json_t *c = json_object_get(m->chat, room);
    return c ? json_deep_copy(c) : json_array();
}

static void op_join(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = json_object_get(m->rooms, r->room);
    if (!room) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    json_t *member = find_member(m, r->room, r->conn);
    bool added = false;
    if (!member) {
        char key[STORE_MAX_STR + 80];
        snprintf(key, sizeof(key), "%s\x1f%s", r->room, r->user);
        json_t *ban = json_object_get(m->kicks, key);
        if (ban && json_integer_value(ban) > mono()) {
            fail(m, r, cb, ud, STORE_EKICKED);
            return;
        }
        bool viewer = strcmp(r->role, "viewer") == 0;
        if (viewer && r->n > 0 && nviewers(m, r->room) >= (size_t)r->n) {
            fail(m, r, cb, ud, STORE_EFULL);
            return;
        }
        member = json_object();
        sset(member, "room", r->room);
        sset(member, "id", r->conn);
        sset(member, "userId", r->user);
        sset(member, "name", r->name);
        sset(member, "role", r->role);
        sset(member, "node", r->node);
        iset(member, "joinedAt", r->now);
        json_object_set_new(sub(viewer ? m->viewers : m->admins, r->room, true), r->conn, member);
        snprintf(key, sizeof(key), "%s|%s", r->room, r->conn);
        json_object_set_new(sub(m->nodemem, r->node, true), key, json_true());
        iset(room, "lastActive", r->now);
        added = true;
    }
    json_t *res = res_room(m, r->room, added);
    json_object_set_new(res, "member", json_deep_copy(member));
    json_object_set_new(res, "chat", chat_copy(m, r->room));
    ok(m, r, cb, ud, res);
}

static void op_leave(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    if (!json_object_get(m->rooms, r->room)) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    json_t *member = find_member(m, r->room, r->conn);
    json_t *copy = member ? remove_member(m, member, r->now) : NULL;
    json_t *res = json_object();
    json_object_set_new(res, "changed", json_boolean(copy != NULL));
    iset(res, "count", (int64_t)nviewers(m, r->room));
    if (copy) {
        json_object_set_new(res, "member", copy);
    }
    ok(m, r, cb, ud, res);
}

static void op_member(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *member = json_object_get(m->rooms, r->room) ? find_member(m, r->room, r->conn) : NULL;
    if (!member) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    json_t *res = json_object();
    json_object_set_new(res, "member", json_deep_copy(member));
    ok(m, r, cb, ud, res);
}

static void op_viewers(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    if (!json_object_get(m->rooms, r->room)) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    json_t *res = json_object(), *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(m->viewers, r->room), k, v)
    {
        json_array_append_new(arr, json_deep_copy(v));
    }
    json_object_set_new(res, "members", arr);
    iset(res, "count", (int64_t)json_array_size(arr));
    ok(m, r, cb, ud, res);
}

static void op_kick(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = json_object_get(m->rooms, r->room);
    json_t *vs = json_object_get(m->viewers, r->room);
    json_t *target = json_object_get(vs, r->conn);
    if (!room || !target) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    if (r->owner && strcmp(sget(room, "owner"), r->owner) != 0) {
        fail(m, r, cb, ud, STORE_EFORBIDDEN);
        return;
    }
    char *uid = xstrdup(sget(target, "userId"));
    json_t *removed = json_array();
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(vs, tmp, k, v)
    {
        if (strcmp(sget(v, "userId"), uid) == 0) {
            json_array_append_new(removed, remove_member(m, v, r->now));
        }
    }
    char key[STORE_MAX_STR + 80];
    snprintf(key, sizeof(key), "%s\x1f%s", r->room, uid);
    iset(m->kicks, key, mono() + r->n);
    free(uid);
    json_t *res = json_object();
    json_object_set_new(res, "members", removed);
    iset(res, "count", (int64_t)nviewers(m, r->room));
    ok(m, r, cb, ud, res);
}

/* --- chat --- */

static void op_chat_append(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *room = json_object_get(m->rooms, r->room);
    if (!room) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    json_t *c = json_object_get(m->chat, r->room);
    if (!c) {
        c = json_array();
        json_object_set_new(m->chat, r->room, c);
    }
    json_array_append_new(c, json_stringn_nocheck(r->data, r->len)); /* checked by the core */
    while (json_array_size(c) > (size_t)r->n) {
        json_array_remove(c, 0);
    }
    iset(room, "lastActive", r->now);
    json_t *res = json_object();
    iset(res, "count", (int64_t)json_array_size(c));
    ok(m, r, cb, ud, res);
}

static void op_chat_list(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    if (!json_object_get(m->rooms, r->room)) {
        fail(m, r, cb, ud, STORE_ENOTFOUND);
        return;
    }
    json_t *res = json_object();
    json_object_set_new(res, "chat", chat_copy(m, r->room));
    ok(m, r, cb, ud, res);
}

/* --- nodes and SFUs --- */

static void op_node_beat(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    bool fresh = !alive(json_object_get(m->nodes, r->node));
    json_t *n = json_object();
    sset(n, "info", r->info);
    iset(n, "exp", mono() + r->ttl);
    json_object_set_new(m->nodes, r->node, n);
    json_t *res = json_object();
    json_object_set_new(res, "changed", json_boolean(fresh));
    ok(m, r, cb, ud, res);
}

static void op_nodes_list(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *res = json_object(), *ids = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(m->nodes, k, v)
    {
        if (alive(v)) {
            json_array_append_new(ids, json_string(k));
        }
    }
    json_object_set_new(res, "ids", ids);
    ok(m, r, cb, ud, res);
}

/* Removes a dead node's connections and ends the broadcasts it published. */
static void reap_one(mem_t *m, const char *node, int64_t now, json_t *members, json_t *ended)
{
    json_t *idx = json_object_get(m->nodemem, node);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(idx, tmp, k, v)
    {
        const char *bar = strchr(k, '|');
        if (!bar) {
            continue;
        }
        char room[80];
        snprintf(room, sizeof(room), "%.*s", (int)(bar - k), k);
        json_t *member = find_member(m, room, bar + 1);
        if (member && strcmp(sget(member, "node"), node) == 0) {
            json_array_append_new(members, remove_member(m, member, now)); /* unindexes k */
        } else {
            json_object_del(idx, k);
        }
    }
    json_object_del(m->nodemem, node);
    json_object_del(m->nodes, node);
    json_t *room;
    json_object_foreach(m->rooms, k, room)
    {
        if (iget(room, "live") && strcmp(sget(room, "ownerNode"), node) == 0) {
            end_broadcast(room, now);
            json_array_append_new(ended, json_string(k));
        }
    }
}

static void op_reap(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *dead = json_array(), *members = json_array(), *ended = json_array();
    if (r->node) {
        json_array_append_new(dead, json_string(r->node));
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(m->nodes, k, v)
        {
            if (strcmp(k, r->self) != 0 && !alive(v)) {
                json_array_append_new(dead, json_string(k));
            }
        }
    }
    size_t i;
    json_t *d;
    json_array_foreach(dead, i, d)
    {
        reap_one(m, json_string_value(d), r->now, members, ended);
    }
    json_t *res = json_object();
    json_object_set_new(res, "nodes", dead);
    json_object_set_new(res, "members", members);
    json_object_set_new(res, "ids", ended);
    ok(m, r, cb, ud, res);
}

static void op_sfu_beat(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    bool fresh = !alive(json_object_get(m->sfus, r->sfu));
    json_t *s = json_object();
    sset(s, "id", r->sfu);
    sset(s, "node", r->node);
    iset(s, "load", r->load);
    iset(s, "capacity", r->capacity);
    sset(s, "info", r->info);
    iset(s, "exp", mono() + r->ttl);
    json_object_set_new(m->sfus, r->sfu, s);
    json_t *res = json_object();
    json_object_set_new(res, "changed", json_boolean(fresh));
    ok(m, r, cb, ud, res);
}

static void op_sfu_remove(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    bool existed = alive(json_object_get(m->sfus, r->sfu));
    json_object_del(m->sfus, r->sfu);
    json_t *res = json_object();
    json_object_set_new(res, "changed", json_boolean(existed));
    ok(m, r, cb, ud, res);
}

static void op_sfu_list(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    json_t *res = json_object(), *arr = json_array();
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(m->sfus, tmp, k, v)
    {
        if (alive(v)) {
            json_array_append_new(arr, json_deep_copy(v));
        } else {
            json_object_del(m->sfus, k);
        }
    }
    json_object_set_new(res, "sfus", arr);
    ok(m, r, cb, ud, res);
}

static void op_publish(mem_t *m, const store_req_t *r, store_cb cb, void *ud)
{
    bool local = store__channel_refs(&m->base, r->channel) > 0;
    store__message(&m->base, r->channel, r->data, r->len, true);
    json_t *res = json_object();
    iset(res, "count", local ? 1 : 0);
    ok(m, r, cb, ud, res);
}

/* --- vtable --- */

typedef void (*mem_op_fn)(mem_t *, const store_req_t *, store_cb, void *);

static void mem_exec(store_t *st, const store_req_t *r, store_cb cb, void *ud)
{
    static const mem_op_fn ops[STORE_OP__COUNT] = {
        [STORE_OP_ROOM_START] = op_start,
        [STORE_OP_ROOM_STOP] = op_stop,
        [STORE_OP_ROOM_GET] = op_get,
        [STORE_OP_ROOM_UPDATE] = op_update,
        [STORE_OP_ROOM_LIST] = op_list,
        [STORE_OP_ROOMS_EXPIRE] = op_expire,
        [STORE_OP_SFU_CLAIM] = op_claim,
        [STORE_OP_JOIN] = op_join,
        [STORE_OP_LEAVE] = op_leave,
        [STORE_OP_MEMBER_GET] = op_member,
        [STORE_OP_VIEWERS] = op_viewers,
        [STORE_OP_KICK] = op_kick,
        [STORE_OP_CHAT_APPEND] = op_chat_append,
        [STORE_OP_CHAT_LIST] = op_chat_list,
        [STORE_OP_NODE_BEAT] = op_node_beat,
        [STORE_OP_NODES_LIST] = op_nodes_list,
        [STORE_OP_NODES_REAP] = op_reap,
        [STORE_OP_SFU_BEAT] = op_sfu_beat,
        [STORE_OP_SFU_REMOVE] = op_sfu_remove,
        [STORE_OP_SFU_LIST] = op_sfu_list,
        [STORE_OP_PUBLISH] = op_publish,
    };
    mem_op_fn fn = r->op < STORE_OP__COUNT ? ops[r->op] : NULL;
    if (!fn) {
        store__defer(st, r->op, cb, ud, STORE_EINTERNAL, "no such operation", NULL);
        return;
    }
    fn((mem_t *)st, r, cb, ud);
}

static void mem_sub(store_t *st, const char *channel, bool on, store_cb cb, void *ud)
{
    if (on) {
        store__defer(st, STORE_OP_SUBSCRIBE, cb, ud, STORE_OK, NULL, NULL);
    }
}

static bool mem_healthy(const store_t *st)
{
    return true;
}

static void mem_close(store_t *st)
{
    store__backend_closed(st);
}

static void mem_free(store_t *st)
{
    mem_t *m = (mem_t *)st;
    json_decref(m->rooms);
    json_decref(m->viewers);
    json_decref(m->admins);
    json_decref(m->chat);
    json_decref(m->kicks);
    json_decref(m->nodes);
    json_decref(m->nodemem);
    json_decref(m->sfus);
    free(m);
}

static const store_vt_t mem_vt = {
    .name = "memory",
    .exec = mem_exec,
    .sub = mem_sub,
    .healthy = mem_healthy,
    .close = mem_close,
    .free = mem_free,
};

store_t *store__mem_new(uv_loop_t *loop, const store_opts_t *o)
{
    mem_t *m = xcalloc(1, sizeof(*m));
    store__init(&m->base, &mem_vt, loop, o);
    m->rooms = json_object();
    m->viewers = json_object();
    m->admins = json_object();
    m->chat = json_object();
    m->kicks = json_object();
    m->nodes = json_object();
    m->nodemem = json_object();
    m->sfus = json_object();
    return &m->base;
}
