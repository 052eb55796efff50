// tests/lib/live.mjs: helpers for the livestream app's integration tests (PROTOCOL.md 2-10):
// start a node (`onair-signal --app livestream`) with options and a random JWT_SECRET, mint
// tokens with that secret (jsonwebtoken) or craft hostile ones by hand, connect the official
// socket.io-client 4.x with every received event recorded, emit with acks, and wait for events
// with deadlines (never a sleep).
//
//   const node = await startLive({ args: ['--publisher-grace', '300'] });
//   const admin = await node.client({ sub: 'alice', role: 'admin' });
//   const r = await ack(admin, 'start-stream', { roomId: 'r1' });        // { ok: true, room }
//   const ev = await admin.next('stream-started', (p) => p.roomId === 'r1');
//   await node.stop();                                                   // asserts exit 0
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import { io } from 'socket.io-client';
import { HOST, http, spawnProcess, freePort, sanitizerEnv, buildDir, startRedis } from './server.mjs';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';

export { HOST, http, startRedis };

let uniq = 0;
/** A short unique id for room ids and subs: `${prefix}-${pid}-${n}`. */
export function uid(prefix = 'x') {
  return `${prefix}-${process.pid.toString(36)}-${(++uniq).toString(36)}`;
}

/** The binary under test. */
export function signalBin() {
  return path.join(buildDir(), 'onair-signal');
}

/**
 * Starts a livestream node and waits for its "listening" line. Options:
 *   args: extra flags; env: extra environment (JWT_SECRET defaults to a fresh random one;
 *   pass JWT_SECRET: null to leave it unset); redis: a redis URL (adds --redis-url);
 *   nodeId; port (fixed, e.g. for a restart); ready: false to only spawn (for start-up failures).
 * Returns the process handle plus: url, port, secret, nodeId, token(claims, opts), client(...),
 * connect(opts), stop() (asserts exit 0 after SIGTERM unless {check:false}), kill() (SIGKILL).
 */
export async function startLive({ args = [], env = {}, redis, nodeId, port, timeoutMs = 15000 } = {}) {
  const { secret, childEnv } = liveEnv(env);
  const id = nodeId || uid('node');
  let lastErr;
  for (let attempt = 0; attempt < (port ? 1 : 3); attempt++) {
    const p = port || (await freePort());
    const argv = liveArgv({ port: p, nodeId: id, redis, args });
    try {
      const h = await spawnProcess({
        cmd: signalBin(),
        args: argv,
        env: childEnv,
        name: `live:${id}`,
        timeoutMs,
        ready: (_l, j) => j && j.msg === 'listening',
      });
      const node = liveHandle(h, { port: p, secret, nodeId: id, argv });
      // with Redis, "listening" comes before the store is connected: wait for it
      if (redis) await h.waitLog((_l, j) => j?.msg === 'state store up', timeoutMs).catch(async (e) => {
        await node.kill();
        throw e;
      });
      return node;
    } catch (e) {
      lastErr = e;
      if (!/EADDRINUSE|address already in use/i.test(e.message)) break;
    }
  }
  throw lastErr;
}

/** The child environment: sanitizer defaults, LOG_LEVEL=info, a random JWT_SECRET unless given
 * (null: unset), and the runner's own livestream variables blanked unless given. */
function liveEnv(env) {
  const secret = env.JWT_SECRET === undefined ? crypto.randomBytes(24).toString('base64url') : env.JWT_SECRET;
  const childEnv = { ...sanitizerEnv(), LOG_LEVEL: 'info', ...env };
  for (const k of ['REDIS_URL', 'ALLOW_ANONYMOUS_VIEWERS', 'NODE_ENV', 'ONAIR_ENV', 'MAX_VIEWERS',
    'TURN_SECRET', 'TURN_URLS', 'STUN_URLS', 'CORS_ORIGIN', 'NODE_ID', 'SFU_SPAWN', 'SFU_SOCKETS',
    'JWT_PUBLIC_KEY', 'PORT', 'HOST']) {
    if (!(k in env) && process.env[k] !== undefined) delete childEnv[k];
  }
  if (secret === null) delete childEnv.JWT_SECRET;
  else childEnv.JWT_SECRET = secret;
  return { secret, childEnv };
}

function liveArgv({ port, nodeId, redis, args }) {
  return ['--app', 'livestream', '--host', HOST, '--port', String(port), '--node-id', nodeId,
    ...(redis ? ['--redis-url', redis] : []), ...args];
}

/** Spawns a livestream node without waiting for readiness (for start-up failures): the
 * spawnProcess handle (lines, exited, stop). */
export async function spawnLive({ args = [], env = {}, redis, nodeId } = {}) {
  const { childEnv } = liveEnv(env);
  const id = nodeId || uid('node');
  const h = await spawnProcess({ cmd: signalBin(), args: liveArgv({ port: await freePort(), nodeId: id, redis, args }),
    env: childEnv, name: `live:${id}` });
  const entry = { name: h.name, kill: () => h.stop('SIGKILL', 5000) };
  running.add(entry);
  h.exited.then(() => running.delete(entry));
  return h;
}

/** Every node started and not yet stopped (see killAll). */
const running = new Set();

/**
 * Safety net for failed tests: SIGKILLs every node this file started and did not stop (a node
 * left running would keep the test process alive). Register it once per test file:
 * `after(killAll)`. Resolves with the names of the nodes it had to kill.
 */
export async function killAll() {
  const left = [...running];
  running.clear();
  await Promise.all(left.map((n) => n.kill()));
  return left.map((n) => n.name);
}

function liveHandle(h, { port, secret, nodeId, argv }) {
  const url = `http://${HOST}:${port}`;
  const sockets = new Set();
  const node = {
    ...h,
    port,
    url,
    secret,
    nodeId,
    argv,
    logs: h.lines,
    /** A signed HS256 token for claims (defaults: role viewer, exp in 1 h). */
    token: (claims = {}, opts = {}) => mint(secret, claims, opts),
    /** Connects a client with a fresh token for {sub, role, name, rooms, ...} (or opts.auth). */
    client: async (claims = {}, opts = {}) => {
      const c = { sub: claims.sub || uid(claims.role || 'viewer'), role: 'viewer', ...claims };
      const s = await connectLive(url, { auth: { token: node.token(c) }, ...opts });
      s.sub = c.sub;
      s.claims = c;
      sockets.add(s);
      return s;
    },
    /** Connects with raw socket.io-client options (auth, query, extraHeaders, transports). */
    connect: async (opts = {}) => {
      const s = await connectLive(url, opts);
      sockets.add(s);
      return s;
    },
    closeClients: () => {
      for (const s of sockets) s.close();
      sockets.clear();
    },
    /** SIGTERM, then asserts exit code 0 (ASan/LSan: no leak, no report). */
    stop: async ({ check = true } = {}) => {
      running.delete(node);
      node.closeClients();
      const r = await h.stop();
      if (check) {
        assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null },
          `${h.name} exit ${JSON.stringify(r)}; last output:\n${h.lines.slice(-40).join('\n')}`);
      }
      return r;
    },
    /** SIGKILL with the clients still connected (they see the transport close). */
    kill: async () => {
      running.delete(node);
      const r = await h.stop('SIGKILL', 5000);
      node.closeClients();
      return r;
    },
    /** The node's /health JSON and status. */
    health: async () => http(`${url}/health`),
    /** Parsed /metrics: Map "name{labels}" -> number. */
    metrics: async () => parseProm((await http(`${url}/metrics`)).body),
  };
  running.add(node);
  return node;
}

/** Prometheus text -> Map of "name{labels}" -> value (and "# TYPE name" -> type). */
export function parseProm(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      m.set(`# TYPE ${name}`, type);
    } else if (line && !line.startsWith('#')) {
      const i = line.lastIndexOf(' ');
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  }
  return m;
}

/** HS256 (or opts.alg) token over claims with exp = now + ttl (opts.ttl seconds, default 3600);
 * claims.exp/iat may be given explicitly (null: omitted). */
export function mint(secret, claims = {}, { alg = 'HS256', ttl = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { iat: now, exp: now + ttl, role: 'viewer', ...claims };
  for (const k of Object.keys(body)) if (body[k] === null || body[k] === undefined) delete body[k];
  return jwt.sign(body, secret, { algorithm: alg, noTimestamp: true });
}

const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A hand-made JWT: header and payload as given, signature HMAC-SHA-(hash) with secret, or
 * the literal sig string (e.g. '' for alg none). */
export function craft(header, payload, { secret, hash = 'sha256', sig } = {}) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  const s = sig !== undefined ? sig : crypto.createHmac(hash, secret).update(input).digest('base64url');
  return `${input}.${s}`;
}

/** socket.io-client 4.x socket: connected, no reconnection, every event recorded. Rejects with
 * the connect_error. */
export function connectLive(url, opts = {}, timeoutMs = 5000) {
  const s = io(url, { forceNew: true, reconnection: false, timeout: timeoutMs, ...opts });
  record(s);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`connect ${url}: timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.off('connect_error');
      resolve(s);
    });
    s.once('connect_error', (err) => {
      clearTimeout(t);
      s.close();
      reject(err);
    });
  });
}

/** Resolves with the connect_error of a connection that must be refused (its message and data),
 * rejects when it connects. */
export function connectRefused(url, opts = {}, timeoutMs = 5000) {
  const s = io(url, { forceNew: true, reconnection: false, timeout: timeoutMs, ...opts });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.close();
      reject(new Error('connectRefused: neither connect nor connect_error'));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.close();
      reject(new Error('connectRefused: the connection was accepted'));
    });
    s.once('connect_error', (err) => {
      clearTimeout(t);
      s.close();
      resolve(err);
    });
  });
}

/**
 * Records every event a socket receives (onAny) in arrival order and adds:
 *   s.events: [{event, args, at}]
 *   s.next(event, pred?, ms?) -> the first not yet consumed payload of `event` with pred true
 *     (past or future), rejects after ms (default 4000)
 *   s.all(event, pred?) -> payloads received so far (consumed or not)
 *   s.pending(event, pred?) -> payloads received and not consumed by next()
 *   s.drop(event) -> forget what was received of `event`
 */
export function record(s) {
  s.events = [];
  const waiters = new Set();
  s.onAny((event, ...args) => {
    s.events.push({ event, args, at: Date.now(), used: false });
    for (const w of waiters) w();
  });
  s.next = (event, pred = () => true, ms = 4000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const e = s.events.find((x) => !x.used && x.event === event && pred(x.args[0]));
        if (!e) return false;
        e.used = true;
        waiters.delete(check);
        clearTimeout(t);
        resolve(e.args[0]);
        return true;
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        const seen = s.events.map((x) => `${x.event} ${JSON.stringify(x.args[0])}`.slice(0, 160));
        reject(new Error(`${s.sub || s.id}: no '${event}' within ${ms} ms; received:\n  ${seen.slice(-12).join('\n  ')}`));
      }, ms);
      if (!check()) waiters.add(check);
    });
  s.all = (event, pred = () => true) => s.events.filter((x) => x.event === event && pred(x.args[0])).map((x) => x.args[0]);
  s.pending = (event, pred = () => true) =>
    s.events.filter((x) => !x.used && x.event === event && pred(x.args[0])).map((x) => x.args[0]);
  s.drop = (event) => {
    s.events = s.events.filter((x) => x.event !== event);
  };
  return s;
}

/** Emits event with payload asking for an ack; resolves with the ack's first argument. */
export function ack(socket, event, payload, ms = 5000) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, payload, (err, res) => {
      if (err) reject(new Error(`no ack for ${event} ${JSON.stringify(payload)?.slice(0, 100)} within ${ms} ms`));
      else resolve(res);
    });
  });
}

/** Emits with ack and asserts {ok:false, error:{code}} with a non-empty message. */
export async function ackErr(socket, event, payload, code, what = '') {
  const r = await ack(socket, event, payload);
  assert.equal(r?.ok, false, `${event} ${what}: expected ${code}, got ${JSON.stringify(r)}`);
  assert.equal(r.error?.code, code, `${event} ${what}: expected ${code}, got ${JSON.stringify(r)}`);
  assert.equal(typeof r.error.message, 'string');
  assert.ok(r.error.message.length > 0);
  return r;
}

/** Emits with ack and asserts ok:true; returns the ack. */
export async function ackOk(socket, event, payload, what = '') {
  const r = await ack(socket, event, payload);
  assert.equal(r?.ok, true, `${event} ${what}: expected ok, got ${JSON.stringify(r)}`);
  return r;
}

/** Asserts that socket has received no `event` matching pred that next() did not consume (so
 * far; call it after an event that proves ordering has arrived). */
export function assertNone(socket, event, pred = () => true, what = '') {
  const got = socket.pending(event, pred);
  assert.equal(got.length, 0, `${socket.sub || socket.id}: unexpected ${event} ${what}: ${JSON.stringify(got)}`);
}

/** Waits a bounded short window (ms) for late stray events; used only AFTER an ordering event
 * proved that the server has processed everything before it. */
export function settle(ms = 150) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A temp dir removed by the returned cleanup. */
export async function tmpDir(prefix = 'onair-live-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The ordinary room setup: an admin connected and live in a fresh room, a viewer joined. */
export async function liveRoom(node, { title, viewers = 1, adminClaims = {}, viewerClaims = {} } = {}) {
  const roomId = uid('room');
  const admin = await node.client({ role: 'admin', ...adminClaims });
  const start = await ackOk(admin, 'start-stream', title ? { roomId, title } : { roomId });
  const vs = [];
  for (let i = 0; i < viewers; i++) {
    const v = await node.client({ role: 'viewer', ...viewerClaims });
    await ackOk(v, 'join-stream', { roomId });
    vs.push(v);
  }
  return { roomId, admin, viewers: vs, viewer: vs[0], start };
}
