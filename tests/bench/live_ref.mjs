// tests/bench/live_ref.mjs: the Node.js reference for the livestream benchmark
// (tests/bench/live_run.mjs): the parts of PROTOCOL.md that the benchmark exercises, on the
// official socket.io 4.8 server, ONE node with in-memory state (no Redis adapter: the
// @socket.io/redis-adapter package is not installed). Same payload shapes as
// `onair-signal --app livestream`:
//   - CONNECT auth {token}: HS256 JWT verified with jsonwebtoken (JWT_SECRET, 30 s leeway;
//     sub and role admin|viewer required) or CONNECT_ERROR {message:"unauthorized"}
//   - events per second per connection (--events-per-second) and chat per user (--chat-limit
//     per --chat-window ms): over the limit -> rate_limited
//   - start-stream {roomId, title?} (admin) -> {ok, room}, stream-started to the room
//   - join-stream {roomId} -> {ok, room, chat (last 50), iceServers: []}, viewer-joined to the
//     admins of the room, viewer-count to the room (at most once a second, the last value always)
//   - leave-stream {roomId} -> {ok}; disconnect leaves every room (viewer-left, viewer-count)
//   - chat-message {roomId, text} -> {ok, id}; chat-message {id, roomId, from{id,name,role},
//     text, ts} to every member, the sender included; the last 50 kept
// Errors: {ok:false, error:{code, message}} or app-error without an ack. Everything else of
// PROTOCOL.md (media, kicks, recording) is not implemented: the benchmark does not use it.
//   node tests/bench/live_ref.mjs [--host H] [--port P] [--events-per-second N]
//        [--chat-limit N] [--chat-window MS]       (JWT_SECRET in the environment)
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import { Server } from 'socket.io';

function flag(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', process.env.PORT || 3000));
const eventsPerS = Number(flag('--events-per-second', 50));
const chatLimit = Number(flag('--chat-limit', 5));
const chatWindow = Number(flag('--chat-window', 5000));
const secret = process.env.JWT_SECRET;
const nodeId = `ref-${process.pid}`;
const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;
const CHAT_KEEP = 50;
const log = (level, msg, extra = {}) =>
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level, proc: 'live-ref', msg, ...extra }) + '\n');
if (!secret) {
  log('error', 'JWT_SECRET is required');
  process.exit(2);
}

const http = createServer();
const io = new Server(http, { allowEIO3: true, serveClient: false });
const nsp = io.of('/');

/** room id -> {id, title, owner, live, startedAt, viewers: Map, admins: Map, chat: [], count timer state} */
const rooms = new Map();
const chatLimits = new Map(); // sub -> {start, n}
let chatSeq = 0;

/** Fixed-window limiter as signal/ratelimit.c: at most `limit` hits per `windowMs`. */
function hit(rl, limit, windowMs) {
  const t = Date.now();
  if (t - rl.start >= windowMs) {
    rl.start = t;
    rl.n = 0;
  }
  return ++rl.n <= limit;
}

const roomJson = (r) => ({
  roomId: r.id,
  title: r.title,
  live: r.live,
  viewerCount: r.viewers.size,
  startedAt: r.live ? r.startedAt : null,
  recording: null,
  mediaState: null,
});

function reply(socket, event, ack, code, message) {
  const error = { code, message };
  if (ack) ack({ ok: false, error });
  else socket.emit('app-error', { event, code, message });
}

/** viewer-count: at most once a second per room, only on a change, the last value always. */
function countChanged(r) {
  if (r.countTimer) return;
  const due = r.countLast + 1000 - Date.now();
  const send = () => {
    r.countTimer = null;
    if (r.viewers.size === r.countSent) return;
    r.countSent = r.viewers.size;
    r.countLast = Date.now();
    nsp.to(`r:${r.id}`).emit('viewer-count', { roomId: r.id, count: r.countSent });
  };
  if (due <= 0) send();
  else r.countTimer = setTimeout(send, due);
}

function leave(socket, r) {
  const id = socket.id;
  const wasViewer = r.viewers.delete(id);
  r.admins.delete(id);
  socket.leave(`r:${r.id}`);
  socket.leave(`a:${r.id}`);
  socket.data.rooms.delete(r.id);
  if (wasViewer) {
    nsp.to(`a:${r.id}`).emit('viewer-left', { roomId: r.id, viewerId: id });
    countChanged(r);
  }
}

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  try {
    if (typeof token !== 'string' || !token) throw new Error('no token');
    const c = jwt.verify(token, secret, { algorithms: ['HS256'], clockTolerance: 30 });
    if (typeof c.sub !== 'string' || !c.sub || (c.role !== 'admin' && c.role !== 'viewer') || !c.exp) {
      throw new Error('claims');
    }
    socket.data.who = { sub: c.sub, name: typeof c.name === 'string' ? c.name : c.sub, role: c.role, rooms: c.rooms };
    socket.data.rooms = new Set();
    socket.data.rl = { start: 0, n: 0 };
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

nsp.on('connection', (socket) => {
  const who = socket.data.who;
  const allowed = (room) => !Array.isArray(who.rooms) || who.rooms.includes(room);

  socket.use((packet, next) => {
    if (hit(socket.data.rl, eventsPerS, 1000)) return next();
    const ack = typeof packet.at(-1) === 'function' ? packet.at(-1) : null;
    reply(socket, packet[0], ack, 'rate_limited', 'too many events; slow down');
  });

  socket.on('start-stream', (p, ack) => {
    const ev = 'start-stream';
    if (typeof ack !== 'function') ack = null;
    if (!p || typeof p.roomId !== 'string' || !ROOM_RE.test(p.roomId)) {
      return reply(socket, ev, ack, 'invalid_payload', 'roomId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    if (who.role !== 'admin') return reply(socket, ev, ack, 'forbidden', 'this event is for admins only');
    if (!allowed(p.roomId)) return reply(socket, ev, ack, 'forbidden', 'your token does not allow this room');
    let r = rooms.get(p.roomId);
    if (r && r.live && r.owner !== who.sub) return reply(socket, ev, ack, 'conflict', 'another admin is live here');
    if (!r) {
      r = { id: p.roomId, title: p.roomId, owner: who.sub, live: false, startedAt: 0, viewers: new Map(),
        admins: new Map(), chat: [], countSent: -1, countLast: 0, countTimer: null };
      rooms.set(r.id, r);
    }
    if (typeof p.title === 'string') r.title = p.title;
    socket.join(`r:${r.id}`);
    socket.join(`a:${r.id}`);
    socket.data.rooms.add(r.id);
    const changed = !r.live;
    if (changed) {
      r.live = true;
      r.owner = who.sub;
      r.startedAt = Date.now();
      nsp.to(`r:${r.id}`).emit('stream-started', { roomId: r.id, title: r.title, startedAt: r.startedAt });
    }
    if (ack) ack({ ok: true, room: roomJson(r) });
  });

  socket.on('join-stream', (p, ack) => {
    const ev = 'join-stream';
    if (typeof ack !== 'function') ack = null;
    if (!p || typeof p.roomId !== 'string' || !ROOM_RE.test(p.roomId)) {
      return reply(socket, ev, ack, 'invalid_payload', 'roomId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    if (!allowed(p.roomId)) return reply(socket, ev, ack, 'forbidden', 'your token does not allow this room');
    const r = rooms.get(p.roomId);
    if (!r) return reply(socket, ev, ack, 'not_found', 'no such room');
    const members = who.role === 'viewer' ? r.viewers : r.admins;
    const added = !members.has(socket.id);
    if (added) {
      members.set(socket.id, { room: r.id, id: socket.id, userId: who.sub, name: who.name, role: who.role,
        node: nodeId, joinedAt: Date.now() });
      socket.join(`r:${r.id}`);
      if (who.role === 'admin') socket.join(`a:${r.id}`);
      socket.data.rooms.add(r.id);
    }
    if (added && who.role === 'viewer') {
      nsp.to(`a:${r.id}`).emit('viewer-joined', { roomId: r.id, viewer: { id: socket.id, userId: who.sub, name: who.name } });
      countChanged(r);
    }
    if (ack) ack({ ok: true, room: roomJson(r), chat: r.chat, iceServers: [] });
  });

  socket.on('leave-stream', (p, ack) => {
    const ev = 'leave-stream';
    if (typeof ack !== 'function') ack = null;
    if (!p || typeof p.roomId !== 'string' || !ROOM_RE.test(p.roomId)) {
      return reply(socket, ev, ack, 'invalid_payload', 'roomId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    const r = rooms.get(p.roomId);
    if (!r) return reply(socket, ev, ack, 'not_found', 'no such room');
    if (!socket.data.rooms.has(r.id)) return reply(socket, ev, ack, 'forbidden', 'you are not a member of this room');
    leave(socket, r);
    if (ack) ack({ ok: true });
  });

  socket.on('chat-message', (p, ack) => {
    const ev = 'chat-message';
    if (typeof ack !== 'function') ack = null;
    let rl = chatLimits.get(who.sub);
    if (!rl) chatLimits.set(who.sub, (rl = { start: 0, n: 0 }));
    if (!hit(rl, chatLimit, chatWindow)) return reply(socket, ev, ack, 'rate_limited', 'too many chat messages; wait a moment');
    const text = p && p.text;
    // 1..500 code points, no C0 (but \n \t), DEL or C1 controls, no lone surrogates
    if (typeof text !== 'string' || !text || [...text].length > 500 ||
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) {
      return reply(socket, ev, ack, 'invalid_payload', 'text must be 1-500 characters of text');
    }
    if (typeof p.roomId !== 'string' || !ROOM_RE.test(p.roomId)) {
      return reply(socket, ev, ack, 'invalid_payload', 'roomId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    if (!allowed(p.roomId)) return reply(socket, ev, ack, 'forbidden', 'your token does not allow this room');
    const r = rooms.get(p.roomId);
    if (!r) return reply(socket, ev, ack, 'not_found', 'no such room');
    if (!socket.data.rooms.has(r.id)) return reply(socket, ev, ack, 'forbidden', 'join the room before chatting');
    const msg = { id: `${nodeId}-${++chatSeq}`, roomId: r.id, from: { id: who.sub, name: who.name, role: who.role },
      text, ts: Date.now() };
    r.chat.push(msg);
    if (r.chat.length > CHAT_KEEP) r.chat.shift();
    nsp.to(`r:${r.id}`).emit('chat-message', msg);
    if (ack) ack({ ok: true, id: msg.id });
  });

  socket.on('disconnect', () => {
    for (const id of [...socket.data.rooms]) {
      const r = rooms.get(id);
      if (r) leave(socket, r);
    }
  });
});

http.listen(port, host, () => log('info', 'listening', { port: http.address().port, host }));
const shutdown = () => {
  for (const r of rooms.values()) clearTimeout(r.countTimer);
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
