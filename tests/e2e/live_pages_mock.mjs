// tests/e2e/live_pages_mock.mjs: a stand-in for onair-signal + onair-sfu, written from
// PROTOCOL.md, to drive the browser clients (signal/www/) before and independently of the C
// servers. Node's socket.io serves /socket.io/ (and the client bundle); the "media server"
// is a Chromium tab (/__mock/sfu.html) that answers the admin's offer and offers its tracks
// to each viewer, so real WebRTC media flows publisher -> mock SFU -> viewers.
// The pages get the same CSP header the real server sends.
//
//   const m = await startMock({ anonymous: false, graceMs: 3000 });
//   await sfuPage.goto(m.url + '/__mock/sfu.html');   // then open m.url + '/admin' ...
//   m.failMedia('room1');  // SFU drops the publisher: stream-ended {reason:'media-failed'}
//   await m.close();
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import jwt from 'jsonwebtoken';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WWW = path.resolve(HERE, '../../signal/www');
export const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
  "media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.png': 'image/png', '.json': 'application/json',
};
const ROUTES = { '/': 'index.html', '/admin': 'admin.html', '/viewer': 'viewer.html' };
const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;

class AppErr extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export async function startMock({ demo = true, anonymous = false, graceMs = 10000, secret = 'mock-secret' } = {}) {
  const sfuKey = crypto.randomBytes(8).toString('hex');
  const server = http.createServer((req, res) => serveHttp(req, res));
  const io = new Server(server, { serveClient: true, pingInterval: 5000, pingTimeout: 5000 });
  const rooms = new Map();
  const log = []; // [event, payload, user] received from clients
  let sfu = null; // the SFU tab's socket
  let anonN = 0;
  let chatN = 0;

  function mintToken({ sub, name, role, ttl = '1h' }) {
    return jwt.sign({ sub, name, role }, secret, { algorithm: 'HS256', expiresIn: ttl });
  }

  function serveHttp(req, res) {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/api/dev-token' && req.method === 'POST') {
      if (!demo) {
        res.writeHead(404).end('not found');
        return;
      }
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        let j = {};
        try {
          j = JSON.parse(body);
        } catch {
          /* bad JSON below */
        }
        if (!j || !['admin', 'viewer'].includes(j.role)) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_payload","message":"role"}}');
          return;
        }
        const name = typeof j.name === 'string' && j.name ? j.name : j.role;
        const token = mintToken({ sub: `${j.role}-${crypto.randomBytes(3).toString('hex')}`, name, role: j.role });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      });
      return;
    }
    if (u.pathname === '/__mock/sfu.html') {
      res.writeHead(200, { 'content-type': MIME['.html'] }).end(
        `<!doctype html><meta charset="utf-8"><title>mock sfu</title><script src="/socket.io/socket.io.js"></script>` +
        `<script>window.SFU_KEY=${JSON.stringify(sfuKey)}</script><script src="/__mock/sfu.js"></script>`);
      return;
    }
    if (u.pathname === '/__mock/sfu.js') {
      res.writeHead(200, { 'content-type': MIME['.js'] }).end(SFU_JS);
      return;
    }
    let rel = ROUTES[u.pathname] || decodeURIComponent(u.pathname).replace(/^\/+/, '');
    const file = path.resolve(WWW, rel);
    if (!file.startsWith(WWW + path.sep) || /node_modules|package(-lock)?\.json/.test(rel)) {
      res.writeHead(404).end('not found');
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'content-security-policy': CSP }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': MIME[path.extname(file)] || 'application/octet-stream',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      }).end(data);
    });
  }

  io.use((socket, next) => {
    const a = socket.handshake.auth || {};
    if (a.sfu === sfuKey) {
      socket.data.sfu = true;
      next();
      return;
    }
    const t = typeof a.token === 'string' && a.token ? a.token : null;
    if (!t) {
      if (!anonymous) {
        next(new Error('unauthorized'));
        return;
      }
      anonN++;
      socket.data.user = { sub: `anon-${anonN}`, name: `Guest ${anonN}`, role: 'viewer' };
      next();
      return;
    }
    try {
      const c = jwt.verify(t, secret, { algorithms: ['HS256'] });
      if (!c.sub || !['admin', 'viewer'].includes(c.role)) throw new Error('claims');
      socket.data.user = { sub: c.sub, name: c.name || c.sub, role: c.role };
      next();
    } catch {
      next(new Error('unauthorized'));
    }
  });

  // ---------------------------------------------------------------- rooms
  const pub = (r) => ({
    roomId: r.roomId, title: r.title, live: r.live, viewerCount: r.viewers.size,
    startedAt: r.live ? r.startedAt : null, recording: null, mediaState: r.mediaState,
  });
  const toRoom = (r, ev, payload) => {
    for (const id of r.members) io.sockets.sockets.get(id)?.emit(ev, payload);
  };
  const toAdmins = (r, ev, payload) => {
    for (const id of r.members) {
      const s = io.sockets.sockets.get(id);
      if (s && s.data.user.role === 'admin') s.emit(ev, payload);
    }
  };
  const count = (r) => toRoom(r, 'viewer-count', { roomId: r.roomId, count: r.viewers.size });
  const sfuSend = (m) => sfu && sfu.emit('sfu', m);

  function endBroadcast(r, reason) {
    if (!r.live) return;
    r.live = false;
    r.mediaState = null;
    r.ready = false;
    clearTimeout(r.graceTimer);
    sfuSend({ op: 'close-room', roomId: r.roomId });
    toRoom(r, 'stream-ended', { roomId: r.roomId, reason });
  }
  function subscribe(r, viewerSocketId, restart = false) {
    if (r.live && r.ready) sfuSend({ op: 'subscribe', roomId: r.roomId, peer: viewerSocketId, restart });
  }
  function member(socket, roomId) {
    const r = rooms.get(roomId);
    if (!r) throw new AppErr('not_found', 'no such room');
    if (!r.members.has(socket.id)) throw new AppErr('forbidden', 'not a member of the room');
    return r;
  }
  function owner(socket, roomId) {
    const r = rooms.get(roomId);
    if (!r) throw new AppErr('not_found', 'no such room');
    if (r.owner !== socket.data.user.sub) throw new AppErr('forbidden', 'not the owner of the room');
    return r;
  }
  function needRoomId(p) {
    if (!p || typeof p !== 'object' || typeof p.roomId !== 'string' || !ROOM_RE.test(p.roomId)) {
      throw new AppErr('invalid_payload', 'roomId');
    }
  }
  function needAdmin(socket) {
    if (socket.data.user.role !== 'admin') throw new AppErr('forbidden', 'admins only');
  }
  function leave(socket, r) {
    r.members.delete(socket.id);
    if (r.viewers.delete(socket.id)) {
      sfuSend({ op: 'close', peer: socket.id });
      toAdmins(r, 'viewer-left', { roomId: r.roomId, viewerId: socket.id });
      count(r);
    }
  }

  const handlers = {
    'start-stream'(s, p) {
      needRoomId(p);
      needAdmin(s);
      let r = rooms.get(p.roomId);
      if (r && r.live && r.owner !== s.data.user.sub) throw new AppErr('conflict', 'another admin is live in this room');
      if (!r) {
        r = { roomId: p.roomId, title: p.roomId, live: false, members: new Set(), viewers: new Map(), chat: [], kicked: new Map(), mediaState: null };
        rooms.set(p.roomId, r);
      }
      if (typeof p.title === 'string' && p.title) r.title = p.title;
      r.owner = s.data.user.sub;
      r.members.add(s.id);
      r.publisher = s.id;
      clearTimeout(r.graceTimer);
      if (!r.live) {
        r.live = true;
        r.startedAt = Date.now();
        toRoom(r, 'stream-started', { roomId: r.roomId, title: r.title, startedAt: r.startedAt });
      }
      return { room: pub(r) };
    },
    'stop-stream'(s, p) {
      needRoomId(p);
      needAdmin(s);
      const r = owner(s, p.roomId);
      endBroadcast(r, 'stopped');
      return {};
    },
    'join-stream'(s, p) {
      needRoomId(p);
      const r = rooms.get(p.roomId);
      if (!r) throw new AppErr('not_found', 'no such room');
      const until = r.kicked.get(s.data.user.sub);
      if (until && until > Date.now()) throw new AppErr('forbidden', 'you were removed from this room');
      const again = r.members.has(s.id);
      r.members.add(s.id);
      if (s.data.user.role === 'viewer' && !again) {
        const v = { id: s.id, userId: s.data.user.sub, name: s.data.user.name, joinedAt: Date.now() };
        r.viewers.set(s.id, v);
        toAdmins(r, 'viewer-joined', { roomId: r.roomId, viewer: { id: v.id, userId: v.userId, name: v.name } });
        count(r);
        setImmediate(() => subscribe(r, s.id));
      }
      return { room: pub(r), chat: r.chat.slice(-50), iceServers: [] };
    },
    'leave-stream'(s, p) {
      needRoomId(p);
      leave(s, member(s, p.roomId));
      return {};
    },
    offer(s, p) {
      needRoomId(p);
      needAdmin(s);
      if (typeof p.sdp !== 'string' || !p.sdp || p.sdp.length > 65536) throw new AppErr('invalid_payload', 'sdp');
      const r = owner(s, p.roomId);
      if (!r.live) throw new AppErr('conflict', 'not live');
      if (!sfu) throw new AppErr('unavailable', 'no media server');
      r.publisher = s.id;
      sfuSend({ op: 'publish', roomId: r.roomId, peer: 'pub:' + r.roomId, sdp: p.sdp });
      return {};
    },
    answer(s, p) {
      needRoomId(p);
      if (typeof p.sdp !== 'string' || !p.sdp) throw new AppErr('invalid_payload', 'sdp');
      member(s, p.roomId);
      sfuSend({ op: 'answer', peer: s.id, sdp: p.sdp });
      return {};
    },
    'ice-candidate'(s, p) {
      needRoomId(p);
      const c = p.candidate;
      if (c !== null && (!c || typeof c.candidate !== 'string')) throw new AppErr('invalid_payload', 'candidate');
      const r = member(s, p.roomId);
      sfuSend({ op: 'candidate', peer: r.publisher === s.id ? 'pub:' + r.roomId : s.id, candidate: c });
      return {};
    },
    'restart-ice'(s, p) {
      needRoomId(p);
      const r = member(s, p.roomId);
      if (r.viewers.has(s.id)) subscribe(r, s.id, true);
      return {};
    },
    'chat-message'(s, p) {
      needRoomId(p);
      if (typeof p.text !== 'string' || [...p.text].length < 1 || [...p.text].length > 500) throw new AppErr('invalid_payload', 'text');
      const r = member(s, p.roomId);
      const u = s.data.user;
      const now = Date.now();
      u.chatTimes = (u.chatTimes || []).filter((t) => now - t < 5000);
      if (u.chatTimes.length >= 5) throw new AppErr('rate_limited', 'at most 5 messages per 5 s');
      u.chatTimes.push(now);
      const m = { id: String(++chatN), roomId: r.roomId, from: { id: u.sub, name: u.name, role: u.role }, text: p.text, ts: now };
      r.chat.push(m);
      if (r.chat.length > 50) r.chat.shift();
      toRoom(r, 'chat-message', m);
      return { id: m.id };
    },
    'get-viewers'(s, p) {
      needRoomId(p);
      needAdmin(s);
      const r = rooms.get(p.roomId);
      if (!r) throw new AppErr('not_found', 'no such room');
      return { viewers: [...r.viewers.values()] };
    },
    'kick-viewer'(s, p) {
      needRoomId(p);
      needAdmin(s);
      const r = owner(s, p.roomId);
      const v = r.viewers.get(p.viewerId);
      if (!v) throw new AppErr('not_found', 'no such viewer');
      r.kicked.set(v.userId, Date.now() + 60000);
      for (const [id, w] of [...r.viewers]) {
        if (w.userId !== v.userId) continue;
        const vs = io.sockets.sockets.get(id);
        if (vs) leave(vs, r);
        vs?.emit('kicked', { roomId: r.roomId, reason: 'removed by the broadcaster' });
      }
      return {};
    },
    'media-state'(s, p) {
      needRoomId(p);
      needAdmin(s);
      if (typeof p.audio !== 'boolean' || typeof p.video !== 'boolean') throw new AppErr('invalid_payload', 'audio/video');
      const r = owner(s, p.roomId);
      r.mediaState = { audio: p.audio, video: p.video };
      toRoom(r, 'media-state', { roomId: r.roomId, ...r.mediaState });
      return {};
    },
    'start-recording'(s, p) {
      needRoomId(p);
      needAdmin(s);
      owner(s, p.roomId);
      throw new AppErr('unavailable', 'recording is not implemented in this mock');
    },
    'stop-recording'(s, p) {
      needRoomId(p);
      needAdmin(s);
      owner(s, p.roomId);
      throw new AppErr('unavailable', 'recording is not implemented in this mock');
    },
  };

  io.on('connection', (socket) => {
    if (socket.data.sfu) {
      sfu = socket;
      socket.on('sfu', (m) => onSfu(m));
      socket.on('disconnect', () => {
        if (sfu === socket) sfu = null;
      });
      return;
    }
    for (const [ev, fn] of Object.entries(handlers)) {
      socket.on(ev, (payload, ack) => {
        log.push([ev, payload, socket.data.user.sub]);
        let res;
        try {
          res = { ok: true, ...fn(socket, payload) };
        } catch (e) {
          res = { ok: false, error: e instanceof AppErr ? { code: e.code, message: e.message } : { code: 'internal', message: String(e) } };
        }
        if (typeof ack === 'function') ack(res);
        else if (!res.ok) socket.emit('app-error', { event: ev, ...res.error });
      });
    }
    socket.on('disconnect', () => {
      for (const r of rooms.values()) {
        if (!r.members.has(socket.id)) continue;
        leave(socket, r);
        if (r.live && r.publisher === socket.id) {
          r.graceTimer = setTimeout(() => endBroadcast(r, 'publisher-left'), graceMs);
        }
      }
    });
  });

  function onSfu(m) {
    if (!m || typeof m !== 'object') return;
    const pubRoom = typeof m.peer === 'string' && m.peer.startsWith('pub:') ? rooms.get(m.peer.slice(4)) : null;
    const target = pubRoom ? io.sockets.sockets.get(pubRoom.publisher) : io.sockets.sockets.get(m.peer);
    const roomOf = () => pubRoom || [...rooms.values()].find((r) => r.viewers.has(m.peer));
    if (m.op === 'answer' && target) target.emit('answer', { roomId: pubRoom.roomId, sdp: m.sdp });
    else if (m.op === 'offer' && target) target.emit('offer', { roomId: roomOf()?.roomId, sdp: m.sdp });
    else if (m.op === 'candidate' && target) target.emit('ice-candidate', { roomId: roomOf()?.roomId, candidate: m.candidate });
    else if (m.op === 'ready') {
      const r = rooms.get(m.roomId);
      if (!r || !r.live) return;
      r.ready = true;
      for (const id of r.viewers.keys()) subscribe(r, id);
    } else if (m.op === 'stats') {
      const r = rooms.get(m.roomId);
      if (r && r.live) {
        toAdmins(r, 'stream-stats', { roomId: r.roomId, viewers: r.viewers.size, bitrateIn: m.bitrateIn, packetsLost: m.packetsLost, recording: null });
      }
    }
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    rooms,
    mintToken,
    sfuConnected: () => !!sfu,
    // The media server "fails": drops the room's media, viewers and admins get stream-ended.
    failMedia(roomId) {
      const r = rooms.get(roomId);
      if (r) endBroadcast(r, 'media-failed');
    },
    // Drops every client connection (not the SFU's): the pages must reconnect by themselves.
    dropClients() {
      for (const s of io.sockets.sockets.values()) if (!s.data.sfu) s.conn.close();
    },
    async close() {
      io.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// The mock media server, running in a Chromium tab. Chromium relays the publisher's remote
// tracks to each viewer's connection.
const SFU_JS = String.raw`'use strict';
const socket = io({ auth: { sfu: window.SFU_KEY } });
const pubs = new Map();   // roomId -> {pc, stream, peer}
const peers = new Map();  // peer -> {pc, roomId, pending: [], haveRemote}
window.sfuState = () => ({ connected: socket.connected, pubs: [...pubs.keys()], peers: [...peers.keys()] });
const send = (m) => socket.emit('sfu', m);
function track(peer, roomId, pc) {
  const p = { pc, roomId, pending: [], haveRemote: false };
  peers.set(peer, p);
  pc.onicecandidate = (e) => send({ op: 'candidate', peer, candidate: e.candidate
    ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : null });
  return p;
}
async function flush(p) {
  p.haveRemote = true;
  for (const c of p.pending.splice(0)) await p.pc.addIceCandidate(c === null ? undefined : c).catch(() => {});
}
function close(peer) {
  const p = peers.get(peer);
  if (p) { p.pc.close(); peers.delete(peer); }
}
async function handle(m) {
  if (m.op === 'publish') {
    // The same RTCPeerConnection again (same DTLS fingerprint): renegotiate, as onair-sfu
    // does for publisher.offer with the same peer (docs/RPC.md). A new one: a new publisher.
    const fp = (s) => (s.match(/^a=fingerprint:.*$/m) || [''])[0];
    const cur = pubs.get(m.roomId);
    if (cur && cur.pc.connectionState !== 'closed' && fp(cur.offerSdp) === fp(m.sdp)) {
      await cur.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      await cur.pc.setLocalDescription(await cur.pc.createAnswer());
      cur.offerSdp = m.sdp;
      send({ op: 'answer', peer: m.peer, sdp: cur.pc.localDescription.sdp });
      return;
    }
    close(m.peer);
    const pc = new RTCPeerConnection();
    const p = track(m.peer, m.roomId, pc);
    const stream = new MediaStream();
    pc.ontrack = (e) => stream.addTrack(e.track);
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    const a = await pc.createAnswer();
    await pc.setLocalDescription(a);
    send({ op: 'answer', peer: m.peer, sdp: pc.localDescription.sdp });
    await flush(p);
    pubs.set(m.roomId, { pc, stream, peer: m.peer, offerSdp: m.sdp, lastBytes: 0, lastAt: performance.now() });
    send({ op: 'ready', roomId: m.roomId });
  } else if (m.op === 'subscribe') {
    const pub = pubs.get(m.roomId);
    if (!pub) return;
    const old = peers.get(m.peer);
    if (m.restart && old) {
      const o = await old.pc.createOffer({ iceRestart: true });
      await old.pc.setLocalDescription(o);
      send({ op: 'offer', peer: m.peer, sdp: old.pc.localDescription.sdp });
      return;
    }
    close(m.peer);
    const pc = new RTCPeerConnection();
    track(m.peer, m.roomId, pc);
    for (const t of pub.stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [pub.stream] });
    const o = await pc.createOffer();
    await pc.setLocalDescription(o);
    send({ op: 'offer', peer: m.peer, sdp: pc.localDescription.sdp });
  } else if (m.op === 'answer') {
    const p = peers.get(m.peer);
    if (!p) return;
    await p.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    await flush(p);
  } else if (m.op === 'candidate') {
    const p = peers.get(m.peer);
    if (!p) return;
    if (!p.haveRemote || p.pc.signalingState !== 'stable') p.pending.push(m.candidate);
    else await p.pc.addIceCandidate(m.candidate === null ? undefined : m.candidate).catch(() => {});
  } else if (m.op === 'close') {
    close(m.peer);
  } else if (m.op === 'close-room') {
    for (const [peer, p] of [...peers]) if (p.roomId === m.roomId) close(peer);
    pubs.delete(m.roomId);
  }
}
let chain = Promise.resolve();
socket.on('sfu', (m) => { chain = chain.then(() => handle(m)).catch((e) => console.error('sfu', m.op, e)); });
setInterval(async () => {
  for (const [roomId, pub] of pubs) {
    const r = await pub.pc.getStats();
    let bytes = 0, lost = 0;
    r.forEach((s) => { if (s.type === 'inbound-rtp') { bytes += s.bytesReceived || 0; lost += s.packetsLost || 0; } });
    const now = performance.now();
    const bitrateIn = Math.max(0, Math.round((bytes - pub.lastBytes) * 8000 / (now - pub.lastAt)));
    pub.lastBytes = bytes; pub.lastAt = now;
    send({ op: 'stats', roomId, bitrateIn, packetsLost: lost });
  }
}, 2000);
`;
