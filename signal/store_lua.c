/* signal/store_lua.c: the Redis backend's Lua scripts, one per operation. Redis runs each
 * script atomically, so every multi-key operation (start-stream ownership, join with the ban
 * and MAX_VIEWERS checks, kick, reap) is one step for all nodes. They mirror store_mem.c line by
 * line; tests/unit/test_store.c runs one table against both. ARGV[1] is the key prefix; keys
 * are built inside the scripts (one Redis server, not Redis Cluster: docs/STATE.md). Each
 * returns cjson.encode(result), decoded by store_core.c, except the two that return the chat
 * history (join, chat list): on success they return an array reply {cjson.encode(result without
 * chat), entry1, entry2, ...} (oldest first), so the stored entries (raw JSON text, chat_keep
 * of up to 1 MiB each) travel as bulk strings, neither escaped by cjson nor parsed by the node
 * (store_redis_ops.c hands them to the callback as they are). Errors stay a plain fail(). */
#include "store_impl.h"

#define PRELUDE                                                                                   \
    "local P = ARGV[1]\n"                                                                         \
    "local function K(...) return P .. table.concat({...}, ':') end\n"                            \
    "local function hash(key)\n"                                                                  \
    "  local f = redis.call('HGETALL', key)\n"                                                    \
    "  if #f == 0 then return nil end\n"                                                          \
    "  local t = {}\n"                                                                            \
    "  for i = 1, #f, 2 do t[f[i]] = f[i + 1] end\n"                                              \
    "  return t\n"                                                                                \
    "end\n"                                                                                       \
    "local function room(id)\n"                                                                   \
    "  local r = hash(K('room', id))\n"                                                           \
    "  if r then r.viewers = redis.call('HLEN', K('room', id, 'viewers')) end\n"                  \
    "  return r\n"                                                                                \
    "end\n"                                                                                       \
    "local function out(t) return cjson.encode(t) end\n"                                          \
    "local function fail(code) return cjson.encode({err = code}) end\n"                           \
    "local function with_chat(t, key)\n"                                                          \
    "  local a = redis.call('LRANGE', key .. ':chat', 0, -1)\n"                                   \
    "  table.insert(a, 1, cjson.encode(t))\n"                                                     \
    "  return a\n"                                                                                \
    "end\n"                                                                                       \
    "local function exists(key) return redis.call('EXISTS', key) == 1 end\n"                      \
    "local function room_res(id, changed)\n"                                                      \
    "  local r = room(id)\n"                                                                      \
    "  return {room = r, changed = changed, count = r.viewers}\n"                                 \
    "end\n"                                                                                       \
    "local function member(id, conn)\n"                                                           \
    "  local v = redis.call('HGET', K('room', id, 'viewers'), conn)\n"                            \
    "  if not v then v = redis.call('HGET', K('room', id, 'admins'), conn) end\n"                 \
    "  if v then return cjson.decode(v) end\n"                                                    \
    "  return nil\n"                                                                              \
    "end\n"                                                                                       \
    "local function end_broadcast(key, now)\n"                                                    \
    "  redis.call('HSET', key, 'live', '0', 'startedAt', '0', 'mediaState', '', 'recording', ''," \
    " 'lastActive', now)\n"                                                                       \
    "end\n"                                                                                       \
    "local function remove_member(m, now)\n"                                                      \
    "  local h = 'admins'\n"                                                                      \
    "  if m.role == 'viewer' then h = 'viewers' end\n"                                            \
    "  redis.call('HDEL', K('room', m.room, h), m.id)\n"                                          \
    "  redis.call('SREM', K('node', m.node, 'members'), m.room .. '|' .. m.id)\n"                 \
    "  if exists(K('room', m.room)) then\n"                                                       \
    "    redis.call('HSET', K('room', m.room), 'lastActive', now)\n"                              \
    "  end\n"                                                                                     \
    "  return m\n"                                                                                \
    "end\n"

/* ARGV: P, room, sub, conn, node, title ('' = none), now */
static const char LUA_START[] = PRELUDE
    "local id, sub, conn, node, title, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]\n"
    "local key = K('room', id)\n"
    "local r = hash(key)\n"
    "if not r then\n"
    "  if title == '' then title = id end\n"
    "  redis.call('HSET', key, 'id', id, 'title', title, 'owner', sub, 'ownerConn', conn,"
    " 'ownerNode', node, 'live', '1', 'startedAt', now, 'recording', '', 'mediaState', '',"
    " 'sfu', '', 'createdAt', now, 'lastActive', now)\n"
    "  redis.call('SADD', P .. 'rooms', id)\n"
    "  return out(room_res(id, true))\n"
    "end\n"
    "if r.live == '1' then\n"
    "  if r.owner ~= sub then return fail('conflict') end\n"
    "  redis.call('HSET', key, 'ownerConn', conn, 'ownerNode', node, 'lastActive', now)\n"
    "  if title ~= '' then redis.call('HSET', key, 'title', title) end\n"
    "  return out(room_res(id, false))\n"
    "end\n"
    "if title == '' then\n"
    "  if r.owner == sub then title = r.title else title = id end\n"
    "end\n"
    "redis.call('HSET', key, 'title', title, 'owner', sub, 'ownerConn', conn, 'ownerNode', node,"
    " 'live', '1', 'startedAt', now, 'recording', '', 'mediaState', '', 'lastActive', now)\n"
    "return out(room_res(id, true))\n";

/* ARGV: P, room, sub ('' = anyone), conn ('' = any), now */
static const char LUA_STOP[] =
    PRELUDE "local id, sub, conn, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
            "local key = K('room', id)\n"
            "local r = hash(key)\n"
            "if not r then return fail('notfound') end\n"
            "if sub ~= '' and r.owner ~= sub then return fail('forbidden') end\n"
            "local changed = r.live == '1' and (conn == '' or r.ownerConn == conn)\n"
            "if changed then end_broadcast(key, now) end\n"
            "return out(room_res(id, changed))\n";

/* ARGV: P, room */
static const char LUA_GET[] =
    PRELUDE "if not exists(K('room', ARGV[2])) then return fail('notfound') end\n"
            "return out(room_res(ARGV[2], false))\n";

/* ARGV: P, room, owner ('' = anyone), live_only ('1'/'0'), now, then field/value pairs */
static const char LUA_UPDATE[] =
    PRELUDE "local id, owner, live_only, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
            "local key = K('room', id)\n"
            "local r = hash(key)\n"
            "if not r then return fail('notfound') end\n"
            "if owner ~= '' and r.owner ~= owner then return fail('forbidden') end\n"
            "local changed = live_only ~= '1' or r.live == '1'\n"
            "if changed then\n"
            "  for i = 6, #ARGV - 1, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end\n"
            "  redis.call('HSET', key, 'lastActive', now)\n"
            "end\n"
            "return out(room_res(id, changed))\n";

/* ARGV: P, owner ('' = every room) */
static const char LUA_LIST[] =
    PRELUDE "local owner, rooms = ARGV[2], {}\n"
            "for _, id in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do\n"
            "  local r = room(id)\n"
            "  if not r then redis.call('SREM', P .. 'rooms', id)\n"
            "  elseif owner == '' or r.owner == owner then rooms[#rooms + 1] = r end\n"
            "end\n"
            "return out({rooms = rooms})\n";

/* ARGV: P, idle_ms, now */
static const char LUA_EXPIRE[] =
    PRELUDE "local idle, now = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
            "local ids = {}\n"
            "for _, id in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do\n"
            "  local key = K('room', id)\n"
            "  local f = redis.call('HMGET', key, 'live', 'lastActive')\n"
            "  if not f[1] then\n"
            "    redis.call('SREM', P .. 'rooms', id)\n"
            "  elseif f[1] ~= '1' and redis.call('HLEN', key .. ':viewers') == 0 and"
            " redis.call('HLEN', key .. ':admins') == 0 and now - tonumber(f[2]) >= idle then\n"
            "    redis.call('DEL', key, key .. ':viewers', key .. ':admins', key .. ':chat')\n"
            "    redis.call('SREM', P .. 'rooms', id)\n"
            "    ids[#ids + 1] = id\n"
            "  end\n"
            "end\n"
            "return out({ids = ids})\n";

/* ARGV: P, room, sfu, force ('1'/'0'), now */
static const char LUA_CLAIM[] =
    PRELUDE "local id, sfu, force, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
            "local key = K('room', id)\n"
            "if not exists(key) then return fail('notfound') end\n"
            "local cur = redis.call('HGET', key, 'sfu') or ''\n"
            "local res\n"
            "if cur ~= '' and force ~= '1' and exists(K('sfu', cur)) then\n"
            "  res = room_res(id, false)\n"
            "elseif not exists(K('sfu', sfu)) then\n"
            "  return fail('unavailable')\n"
            "else\n"
            "  redis.call('HSET', key, 'sfu', sfu, 'lastActive', now)\n"
            "  res = room_res(id, true)\n"
            "end\n"
            "res.sfu = res.room.sfu\n"
            "return out(res)\n";

/* ARGV: P, room, conn, user, name, role, node, max_viewers, now */
static const char LUA_JOIN[] = PRELUDE
    "local id, conn, user, name, role, node = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6],"
    " ARGV[7]\n"
    "local max, now = tonumber(ARGV[8]), ARGV[9]\n"
    "local key = K('room', id)\n"
    "if not exists(key) then return fail('notfound') end\n"
    "local m = member(id, conn)\n"
    "local added = false\n"
    "if not m then\n"
    "  if exists(K('kick', id, user)) then return fail('kicked') end\n"
    "  if role == 'viewer' and max > 0 and redis.call('HLEN', key .. ':viewers') >= max then\n"
    "    return fail('full')\n"
    "  end\n"
    "  m = {room = id, id = conn, userId = user, name = name, role = role, node = node,"
    " joinedAt = tonumber(now)}\n"
    "  local h = ':admins'\n"
    "  if role == 'viewer' then h = ':viewers' end\n"
    "  redis.call('HSET', key .. h, conn, cjson.encode(m))\n"
    "  redis.call('SADD', K('node', node, 'members'), id .. '|' .. conn)\n"
    "  redis.call('HSET', key, 'lastActive', now)\n"
    "  added = true\n"
    "end\n"
    "local res = room_res(id, added)\n"
    "res.member = m\n"
    "return with_chat(res, key)\n";

/* ARGV: P, room, conn, now */
static const char LUA_LEAVE[] = PRELUDE "local id, conn, now = ARGV[2], ARGV[3], ARGV[4]\n"
                                        "local key = K('room', id)\n"
                                        "if not exists(key) then return fail('notfound') end\n"
                                        "local m = member(id, conn)\n"
                                        "local res = {changed = false}\n"
                                        "if m then\n"
                                        "  res.member = remove_member(m, now)\n"
                                        "  res.changed = true\n"
                                        "end\n"
                                        "res.count = redis.call('HLEN', key .. ':viewers')\n"
                                        "return out(res)\n";

/* ARGV: P, room, conn */
static const char LUA_MEMBER[] =
    PRELUDE "if not exists(K('room', ARGV[2])) then return fail('notfound') end\n"
            "local m = member(ARGV[2], ARGV[3])\n"
            "if not m then return fail('notfound') end\n"
            "return out({member = m})\n";

/* ARGV: P, room */
static const char LUA_VIEWERS[] = PRELUDE
    "local key = K('room', ARGV[2])\n"
    "if not exists(key) then return fail('notfound') end\n"
    "local ms = {}\n"
    "for i, v in ipairs(redis.call('HVALS', key .. ':viewers')) do ms[i] = cjson.decode(v) end\n"
    "return out({members = ms, count = #ms})\n";

/* ARGV: P, room, conn, owner ('' = anyone), ban_ms, now */
static const char LUA_KICK[] =
    PRELUDE "local id, conn, owner, ban, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]\n"
            "local key = K('room', id)\n"
            "if not exists(key) then return fail('notfound') end\n"
            "local v = redis.call('HGET', key .. ':viewers', conn)\n"
            "if not v then return fail('notfound') end\n"
            "if owner ~= '' and redis.call('HGET', key, 'owner') ~= owner then\n"
            "  return fail('forbidden')\n"
            "end\n"
            "local uid = cjson.decode(v).userId\n"
            "local removed = {}\n"
            "local all = redis.call('HGETALL', key .. ':viewers')\n"
            "for i = 1, #all, 2 do\n"
            "  local m = cjson.decode(all[i + 1])\n"
            "  if m.userId == uid then removed[#removed + 1] = remove_member(m, now) end\n"
            "end\n"
            "redis.call('SET', K('kick', id, uid), '1', 'PX', ban)\n"
            "return out({members = removed, count = redis.call('HLEN', key .. ':viewers')})\n";

/* ARGV: P, room, entry, keep, now */
static const char LUA_CHAT_APPEND[] =
    PRELUDE "local key = K('room', ARGV[2])\n"
            "if not exists(key) then return fail('notfound') end\n"
            "local n = redis.call('RPUSH', key .. ':chat', ARGV[3])\n"
            "local keep = tonumber(ARGV[4])\n"
            "if n > keep then\n"
            "  redis.call('LTRIM', key .. ':chat', -keep, -1)\n"
            "  n = keep\n"
            "end\n"
            "redis.call('HSET', key, 'lastActive', ARGV[5])\n"
            "return out({count = n})\n";

/* ARGV: P, room */
static const char LUA_CHAT_LIST[] = PRELUDE "local key = K('room', ARGV[2])\n"
                                            "if not exists(key) then return fail('notfound') end\n"
                                            "return with_chat({}, key)\n";

/* ARGV: P, node, ttl_ms, info */
static const char LUA_NODE_BEAT[] = PRELUDE "local key = K('node', ARGV[2])\n"
                                            "local fresh = not exists(key)\n"
                                            "redis.call('SET', key, ARGV[4], 'PX', ARGV[3])\n"
                                            "redis.call('SADD', P .. 'nodes', ARGV[2])\n"
                                            "return out({changed = fresh})\n";

/* ARGV: P */
static const char LUA_NODES_LIST[] =
    PRELUDE "local ids = {}\n"
            "for _, id in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do\n"
            "  if exists(K('node', id)) then ids[#ids + 1] = id end\n"
            "end\n"
            "return out({ids = ids})\n";

/* ARGV: P, self, node to leave ('' = reap the expired), now */
static const char LUA_REAP[] =
    PRELUDE "local self, force, now = ARGV[2], ARGV[3], ARGV[4]\n"
            "local dead = {}\n"
            "if force ~= '' then\n"
            "  redis.call('DEL', K('node', force))\n"
            "  dead[1] = force\n"
            "else\n"
            "  for _, id in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do\n"
            "    if id ~= self and not exists(K('node', id)) then dead[#dead + 1] = id end\n"
            "  end\n"
            "end\n"
            "local members, ended = {}, {}\n"
            "for _, d in ipairs(dead) do\n"
            "  local idx = K('node', d, 'members')\n"
            "  for _, e in ipairs(redis.call('SMEMBERS', idx)) do\n"
            "    local bar = string.find(e, '|', 1, true)\n"
            "    if bar then\n"
            "      local m = member(string.sub(e, 1, bar - 1), string.sub(e, bar + 1))\n"
            "      if m and m.node == d then members[#members + 1] = remove_member(m, now) end\n"
            "    end\n"
            "  end\n"
            "  redis.call('DEL', idx)\n"
            "  redis.call('SREM', P .. 'nodes', d)\n"
            "  for _, id in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do\n"
            "    local key = K('room', id)\n"
            "    local f = redis.call('HMGET', key, 'live', 'ownerNode')\n"
            "    if f[1] == '1' and f[2] == d then\n"
            "      end_broadcast(key, now)\n"
            "      ended[#ended + 1] = id\n"
            "    end\n"
            "  end\n"
            "end\n"
            "return out({nodes = dead, members = members, ids = ended})\n";

/* ARGV: P, id, node, load, capacity, info, ttl_ms */
static const char LUA_SFU_BEAT[] =
    PRELUDE "local key = K('sfu', ARGV[2])\n"
            "local fresh = not exists(key)\n"
            "redis.call('HSET', key, 'id', ARGV[2], 'node', ARGV[3], 'load', ARGV[4], 'capacity',"
            " ARGV[5], 'info', ARGV[6])\n"
            "redis.call('PEXPIRE', key, ARGV[7])\n"
            "redis.call('SADD', P .. 'sfus', ARGV[2])\n"
            "return out({changed = fresh})\n";

/* ARGV: P, id */
static const char LUA_SFU_REMOVE[] = PRELUDE "local n = redis.call('DEL', K('sfu', ARGV[2]))\n"
                                             "redis.call('SREM', P .. 'sfus', ARGV[2])\n"
                                             "return out({changed = n == 1})\n";

/* ARGV: P */
static const char LUA_SFU_LIST[] =
    PRELUDE "local sfus = {}\n"
            "for _, id in ipairs(redis.call('SMEMBERS', P .. 'sfus')) do\n"
            "  local s = hash(K('sfu', id))\n"
            "  if s then sfus[#sfus + 1] = s else redis.call('SREM', P .. 'sfus', id) end\n"
            "end\n"
            "return out({sfus = sfus})\n";

const char *store__lua(store_op_t op)
{
    static const char *const scripts[STORE_OP__COUNT] = {
        [STORE_OP_ROOM_START] = LUA_START,
        [STORE_OP_ROOM_STOP] = LUA_STOP,
        [STORE_OP_ROOM_GET] = LUA_GET,
        [STORE_OP_ROOM_UPDATE] = LUA_UPDATE,
        [STORE_OP_ROOM_LIST] = LUA_LIST,
        [STORE_OP_ROOMS_EXPIRE] = LUA_EXPIRE,
        [STORE_OP_SFU_CLAIM] = LUA_CLAIM,
        [STORE_OP_JOIN] = LUA_JOIN,
        [STORE_OP_LEAVE] = LUA_LEAVE,
        [STORE_OP_MEMBER_GET] = LUA_MEMBER,
        [STORE_OP_VIEWERS] = LUA_VIEWERS,
        [STORE_OP_KICK] = LUA_KICK,
        [STORE_OP_CHAT_APPEND] = LUA_CHAT_APPEND,
        [STORE_OP_CHAT_LIST] = LUA_CHAT_LIST,
        [STORE_OP_NODE_BEAT] = LUA_NODE_BEAT,
        [STORE_OP_NODES_LIST] = LUA_NODES_LIST,
        [STORE_OP_NODES_REAP] = LUA_REAP,
        [STORE_OP_SFU_BEAT] = LUA_SFU_BEAT,
        [STORE_OP_SFU_REMOVE] = LUA_SFU_REMOVE,
        [STORE_OP_SFU_LIST] = LUA_SFU_LIST,
    };
    return op < STORE_OP__COUNT ? scripts[op] : NULL;
}
