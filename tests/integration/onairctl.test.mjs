// tests/integration/onairctl.test.mjs: onairctl (signal/ctl/) against real livestream nodes and
// the admin API it uses (signal/live_admin.c): every command in table and --json form, exit
// codes (0 ok, 1 failed, 2 usage, 3 unreachable/refused), tokens minted by onairctl, kick and end
// reaching the clients, the rooms claim, and the same across two nodes sharing Redis.
//
// The node drives a small in-test SFU (the RPC of docs/RPC.md over a Unix socket, no media), so
// placement, SFU stats, drain and room.close are real RPC traffic without any ICE/UDP.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { buildDir, freePort, http, poll, sanitizerEnv, startRedis, startSignal, waitFor } from '../lib/server.mjs';
import { closeAll, connect, emitAck } from '../lib/sio.mjs';

const SECRET = 'onairctl-test-secret';
const CTL = path.join(buildDir(), 'onairctl');

/** Runs onairctl; resolves {code, stdout, stderr} (never rejects on a non-zero exit). */
function ctl(args, { url, env = {}, timeoutMs = 15000 } = {}) {
  const base = { ...process.env, ...sanitizerEnv(), JWT_SECRET: SECRET, ONAIR_TOKEN: '', ...env };
  if (url) base.ONAIR_URL = url;
  return new Promise((resolve) => {
    execFile(CTL, args, { env: base, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** onairctl ... --json: asserts exit 0 and parses stdout. */
async function ctlJson(args, opts) {
  const r = await ctl(['--json', ...args], opts);
  assert.equal(r.code, 0, `onairctl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function token(sub, role, extra = {}, opts = { expiresIn: '1h' }) {
  return jwt.sign({ sub, name: sub[0].toUpperCase() + sub.slice(1), role, ...extra }, SECRET, opts);
}

function client(url, tok) {
  return connect(url, { auth: { token: tok }, transports: ['websocket'] });
}

async function ack(sock, event, payload) {
  const [res] = await emitAck(sock, event, payload);
  return res;
}

/** The rows of a table printed by onairctl: header first, each split at runs of 2+ spaces. */
function rows(stdout) {
  return stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
}

/** Asserts that every line's columns start where the header's do (an aligned table). */
function assertAligned(stdout) {
  const lines = stdout.trimEnd().split('\n');
  const starts = (l) => [...l.matchAll(/(?:^|(?<= {2}))\S/g)].map((m) => m.index);
  const head = starts(lines[0]);
  for (const l of lines.slice(1)) {
    for (const s of starts(l)) assert.ok(head.includes(s), `column at ${s} not under a header:\n${stdout}`);
  }
}

// ---- a minimal SFU: the docs/RPC.md session, answers and a stats event, no media ------------
async function startMockSfu(dir) {
  const sockPath = path.join(dir, 'mock-sfu.sock');
  const calls = [];
  const conns = new Set();
  let draining = false;
  const stats = (room) => ({
    sfu_id: 'mock-sfu',
    load: { peers: 3, rooms: 1, bitrate_in: 1500000, bitrate_out: 3000000, cpu: 0.01 },
    rooms: [{ room: room || 'show', publisher: 'P.show.x', subscribers: 2, bitrate_in: 1500000,
      packets_in: 1000, packets_lost: 7, nacks: 0, plis: 1 }],
    peers: [],
  });
  const send = (sock, msg) => {
    const body = Buffer.from(JSON.stringify(msg));
    const h = Buffer.alloc(4);
    h.writeUInt32BE(body.length);
    sock.write(Buffer.concat([h, body]));
  };
  const answer = (m) => {
    switch (m.method) {
      case 'hello': return { version: 1, sfu_id: 'mock-sfu', pid: process.pid, capacity: { max_peers: 100 }, resumed: [] };
      case 'stats': return stats(m.params && m.params.room);
      case 'drain': draining = !!m.params.on; return { draining };
      case 'publisher.offer':
      case 'subscriber.create':
      case 'peer.restart_ice': return { sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
      // the forward a recording reads (docs/RECORDING.md): a description naming VP8
      case 'room.forward': return { id: m.params.id, sdp: 'v=0\r\no=onair-sfu 1 1 IN IP4 127.0.0.1\r\n' +
        's=x\r\nt=0 0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n' };
      case 'room.unforward': return { id: m.params.id, packets: 0, bytes: 0, dropped: 0 };
      default: return {};
    }
  };
  const server = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => {});
    let rx = Buffer.alloc(0);
    sock.on('data', (d) => {
      rx = Buffer.concat([rx, d]);
      while (rx.length >= 4 && rx.length >= 4 + rx.readUInt32BE(0)) {
        const n = rx.readUInt32BE(0);
        const m = JSON.parse(rx.subarray(4, 4 + n).toString());
        rx = rx.subarray(4 + n);
        calls.push(m);
        server.emit('call', m);
        if (m.method === 'stats' && mock.holdStats) continue; // never answered
        send(sock, { id: m.id, result: answer(m) });
        if (m.method === 'hello') send(sock, { event: 'stats', data: stats() });
      }
    });
  });
  await new Promise((resolve) => server.listen(sockPath, resolve));
  const mock = {
    sockPath, calls, server,
    holdStats: false, // true: `stats` requests get no answer (the node's RPC timeout applies)
    /** Resolves with the first call (past or future) of method matching pred. */
    waitCall(method, pred = () => true, timeoutMs = 5000) {
      const hit = calls.find((m) => m.method === method && pred(m.params || {}));
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const on = (m) => {
          if (m.method !== method || !pred(m.params || {})) return;
          clearTimeout(t);
          server.off('call', on);
          resolve(m);
        };
        const t = setTimeout(() => {
          server.off('call', on);
          reject(new Error(`mock SFU: no ${method} call within ${timeoutMs} ms`));
        }, timeoutMs);
        server.on('call', on);
      });
    },
    async stop() {
      for (const c of conns) c.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return mock;
}

function startNode(extraEnv = {}, args = []) {
  return startSignal({
    app: 'livestream',
    env: { JWT_SECRET: SECRET, LOG_LEVEL: 'info', ...extraEnv },
    args,
  });
}

// ---- the command line itself ------------------------------------------------------------------
describe('onairctl: command line', { timeout: 60000 }, () => {
  test('help for the program and for every command', async () => {
    const top = await ctl(['--help']);
    assert.equal(top.code, 0, top.stderr);
    for (const cmd of ['rooms', 'room ID', 'viewers ID', 'kick ROOM VIEWER', 'end ROOM', 'sfus',
      'sfu drain ID', 'nodes', 'health', 'token', 'recordings', 'recording stop ROOM', 'Exit codes']) {
      assert.ok(top.stdout.includes(cmd), `--help lacks "${cmd}":\n${top.stdout}`);
    }
    assert.deepEqual(await ctl(['help']), top);
    for (const cmd of ['rooms', 'room', 'viewers', 'kick', 'end', 'sfus', 'sfu', 'nodes', 'health', 'token',
      'recordings', 'recording']) {
      const a = await ctl(['help', cmd]);
      const b = await ctl([cmd, '--help']);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, new RegExp(`^usage: onairctl ${cmd}\\b`));
      assert.match(a.stdout, /Example/);
      assert.deepEqual(b, a);
    }
  });

  test('usage errors exit 2 with a message on stderr', async () => {
    const cases = [
      [[], /usage: onairctl/],
      [['bogus'], /unknown command 'bogus'/],
      [['help', 'bogus'], /unknown command 'bogus'/],
      [['room'], /room: missing argument/],
      [['rooms', 'extra'], /too many arguments/],
      [['rooms', '--off'], /option --off does not apply/],
      [['rooms', '--frobnicate'], /unknown option --frobnicate/],
      [['rooms', '--url'], /--url needs a value/],
      [['--json=1', 'rooms'], /--json takes no value/],
      [['--url', 'ftp://x', 'rooms'], /must start with http:\/\//],
      [['--url', 'https://x', 'rooms'], /plain http:\/\/ only/],
      [['--url', 'http://h:99999', 'rooms'], /invalid port/],
      [['--timeout', '0', 'rooms'], /--timeout/],
      [['room', 'bad/id'], /not a room id/],
      [['kick', 'show', '-xYz'], /unknown option -xYz[\s\S]*goes after "--"/],
      [['viewers', 'x'.repeat(65)], /not a room id/],
      [['sfu', 'undrain', 'a'], /usage: onairctl sfu drain/],
      [['recording', 'start', 'a'], /usage: onairctl recording stop ROOM/],
      [['recording', 'stop'], /recording: missing argument/],
      [['recording', 'stop', '../../etc'], /not a room id/],
      [['recording', 'stop', 'a/b'], /not a room id/],
      [['recordings', 'x'], /too many arguments/],
      [['token', '--role', 'admin'], /--sub and --role are required/],
      [['token', '--sub', 'a', '--role', 'god'], /--role must be admin or viewer/],
      [['token', '--sub', 'a', '--role', 'admin', '--ttl', '5x'], /--ttl '5x'/],
      [['token', '--sub', 'a', '--role', 'admin', '--ttl', '-5'], /--ttl/],
      [['token', '--sub', 'a', '--role', 'admin', '--rooms', 'ok,bad room'], /not a room id/],
    ];
    for (const [args, re] of cases) {
      const r = await ctl(args);
      assert.equal(r.code, 2, `onairctl ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, re, `onairctl ${args.join(' ')}`);
      assert.equal(r.stdout, '');
    }
  });

  test('token: HS256 with JWT_SECRET, --ttl units, --rooms, --json', async () => {
    const r = await ctl(['token', '--sub', 'alice', '--name', 'Alice A', '--role', 'admin', '--ttl', '1h']);
    assert.equal(r.code, 0, r.stderr);
    const claims = jwt.verify(r.stdout.trim(), SECRET, { algorithms: ['HS256'] });
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.name, 'Alice A');
    assert.equal(claims.role, 'admin');
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(claims.rooms, undefined);
    for (const [ttl, s] of [['90', 90], ['30s', 30], ['15m', 900], ['2d', 172800]]) {
      const t = await ctl(['token', '--sub', 'v', '--role', 'viewer', '--ttl', ttl]);
      const c = jwt.verify(t.stdout.trim(), SECRET);
      assert.equal(c.exp - c.iat, s, `--ttl ${ttl}`);
      assert.equal(c.role, 'viewer');
    }
    const limited = await ctlJson(['token', '--sub', 'bob', '--role', 'admin', '--rooms', 'a,b']);
    assert.deepEqual(jwt.verify(limited.token, SECRET).rooms, ['a', 'b']);
    assert.equal(limited.sub, 'bob');
    assert.ok(Math.abs(limited.expiresAt - (Date.now() + 3600e3)) < 5000);
    const none = await ctl(['token', '--sub', 'c', '--role', 'admin', '--rooms', '']);
    assert.deepEqual(jwt.verify(none.stdout.trim(), SECRET).rooms, []);
    // no secret: the operation fails (exit 1), nothing printed
    const nos = await ctl(['token', '--sub', 'a', '--role', 'admin'], { env: { JWT_SECRET: '' } });
    assert.equal(nos.code, 1);
    assert.match(nos.stderr, /JWT_SECRET is not set/);
    assert.equal(nos.stdout, '');
  });

  test('node down: exit 3 with a clear message', async () => {
    const port = await freePort();
    const r = await ctl(['rooms'], { url: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 3);
    assert.equal(r.stderr.trim(), `onairctl: cannot connect to http://127.0.0.1:${port}: Connection refused`);
    const h = await ctl(['health'], { url: `http://127.0.0.1:${port}` });
    assert.equal(h.code, 3);
    // a peer that accepts and never answers: --timeout bounds the wait
    const mute = net.createServer((s) => s.on('error', () => {}));
    await new Promise((resolve) => mute.listen(0, '127.0.0.1', resolve));
    try {
      const t0 = Date.now();
      const m = await ctl(['--timeout', '1', 'rooms'], { url: `http://127.0.0.1:${mute.address().port}` });
      assert.equal(m.code, 3);
      assert.match(m.stderr, /no answer within 1000 ms/);
      assert.ok(Date.now() - t0 < 8000);
    } finally {
      mute.close();
    }
  });
});

// ---- one node, memory state, with an SFU ---------------------------------------------------------
describe('onairctl: one node (memory state)', { timeout: 120000 }, () => {
  let dir, sfu, srv, url;
  const sockets = [];
  let admin, bob, carol;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onairctl-'));
    sfu = await startMockSfu(dir);
    srv = await startNode({ SFU_SOCKETS: sfu.sockPath });
    url = srv.url;
    await srv.waitLog((_l, j) => j && j.msg === 'sfu ready', 10000);
  });
  after(async () => {
    closeAll(sockets);
    if (srv) assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    await sfu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a token minted by onairctl is accepted by the node (socket and admin API)', async () => {
    const r = await ctl(['token', '--sub', 'alice', '--name', 'Alice', '--role', 'admin', '--ttl', '10m']);
    assert.equal(r.code, 0, r.stderr);
    const tok = r.stdout.trim();
    admin = await client(url, tok);
    sockets.push(admin);
    const started = await ack(admin, 'start-stream', { roomId: 'show', title: 'Friday show' });
    assert.equal(started.ok, true, JSON.stringify(started));
    // the publisher's offer places the room on the SFU
    const offered = await ack(admin, 'offer', { roomId: 'show', sdp: 'v=0\r\n' });
    assert.equal(offered.ok, true, JSON.stringify(offered));
    await sfu.waitCall('publisher.offer', (p) => p.room === 'show');
    // an offline room too
    assert.equal((await ack(admin, 'start-stream', { roomId: 'quiet' })).ok, true);
    assert.equal((await ack(admin, 'stop-stream', { roomId: 'quiet' })).ok, true);
    // the same token, no JWT_SECRET in onairctl's environment: it is what authenticates
    const rooms = await ctlJson(['rooms'], { url, env: { JWT_SECRET: '', ONAIR_TOKEN: tok } });
    assert.deepEqual(rooms.map((x) => x.roomId), ['quiet', 'show']);
    const viaFlag = await ctl(['--token', tok, 'rooms'], { url, env: { JWT_SECRET: '' } });
    assert.equal(viaFlag.code, 0, viaFlag.stderr);

    bob = await client(url, token('bob', 'viewer'));
    carol = await client(url, token('carol', 'viewer'));
    sockets.push(bob, carol);
    for (const v of [bob, carol]) assert.equal((await ack(v, 'join-stream', { roomId: 'show' })).ok, true);
  });

  test('rooms: table and --json', async () => {
    const r = await ctl(['rooms'], { url });
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ['ROOM', 'TITLE', 'OWNER', 'STATUS', 'VIEWERS', 'SFU', 'RECORDING']);
    assert.equal(t.length, 3);
    assert.deepEqual(t[1], ['quiet', 'quiet', 'alice', 'offline', '0', '-', '-']);
    assert.equal(t[2][0], 'show');
    assert.equal(t[2][1], 'Friday show');
    assert.match(t[2][3], /^live \d+s$/);
    assert.deepEqual(t[2].slice(4), ['2', 'mock-sfu', '-']);
    assertAligned(r.stdout);

    const j = await ctlJson(['rooms'], { url });
    const show = j.find((x) => x.roomId === 'show');
    assert.deepEqual(Object.keys(show).sort(),
      ['live', 'mediaState', 'owner', 'recording', 'roomId', 'sfu', 'startedAt', 'title', 'viewers']);
    assert.equal(show.live, true);
    assert.equal(show.owner, 'alice');
    assert.equal(show.viewers, 2);
    assert.equal(show.sfu, 'mock-sfu');
    assert.equal(show.recording, null);
    assert.ok(Math.abs(show.startedAt - Date.now()) < 60000);
    assert.equal(j.find((x) => x.roomId === 'quiet').startedAt, null);
  });

  test('room ID: detail with viewers and SFU bitrates', async () => {
    const r = await ctl(['room', 'show'], { url });
    assert.equal(r.code, 0, r.stderr);
    const [detail, viewers] = r.stdout.split('\n\n');
    const kv = Object.fromEntries(rows(detail));
    assert.equal(kv.Room, 'show');
    assert.equal(kv.Title, 'Friday show');
    assert.equal(kv.Owner, 'alice');
    assert.match(kv.Status, /^live \d+s \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/);
    assert.equal(kv.SFU, 'mock-sfu');
    assert.equal(kv.Viewers, '2');
    assert.match(kv['Bitrate in'], /^1\.50 Mbit\/s from the publisher, 7 packets lost$/);
    assert.match(kv['Bitrate out'], /^3\.00 Mbit\/s total on the SFU, 2 subscribers$/);
    assert.equal(kv.Recording, 'no');
    assert.match(kv.Publisher, new RegExp(`^connection ${admin.id} on node `));
    assertAligned(detail);
    const vt = rows(viewers);
    assert.deepEqual(vt[0], ['VIEWER', 'USER', 'NAME', 'JOINED', 'NODE']);
    assert.deepEqual(vt.slice(1).map((x) => [x[0], x[1], x[2]]).sort((x, y) => x[1].localeCompare(y[1])),
      [[bob.id, 'bob', 'Bob'], [carol.id, 'carol', 'Carol']]);

    const j = await ctlJson(['room', 'show'], { url });
    assert.equal(j.room.roomId, 'show');
    assert.equal(j.room.viewers, 2);
    assert.equal(j.room.publisher.conn, admin.id);
    assert.equal(j.viewers.length, 2);
    assert.deepEqual(j.media, { sfu: 'mock-sfu', publisher: true, subscribers: 2, bitrateIn: 1500000,
      packetsIn: 1000, packetsLost: 7, nacks: 0, plis: 1, sfuBitrateOut: 3000000 });
    // an offline room: no media
    const q = await ctlJson(['room', 'quiet'], { url });
    assert.equal(q.media, null);
    assert.equal(q.room.live, false);
    assert.match((await ctl(['room', 'quiet'], { url })).stdout, /Status +offline[\s\S]*\(no viewers\)/);
  });

  test('viewers ID: table and --json', async () => {
    const r = await ctl(['viewers', 'show'], { url });
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ['VIEWER', 'USER', 'NAME', 'JOINED', 'NODE']);
    assert.equal(t.length, 3);
    for (const row of t.slice(1)) assert.match(row[3], /^\d+s ago$/);
    assertAligned(r.stdout);
    const j = await ctlJson(['viewers', 'show'], { url });
    assert.deepEqual(j.map((v) => v.id).sort(), [bob.id, carol.id].sort());
    for (const v of j) assert.deepEqual(Object.keys(v).sort(), ['id', 'joinedAt', 'name', 'node', 'userId']);
    assert.deepEqual(await ctlJson(['viewers', 'quiet'], { url }), []);
    assert.equal((await ctl(['viewers', 'quiet'], { url })).stdout, 'no viewers\n');
  });

  test('sfus, sfu drain (on, off, unknown)', async () => {
    const r = await ctl(['sfus'], { url });
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ['SFU', 'STATE', 'LOAD', 'IN', 'OUT', 'NODE', 'SOCKET']);
    assert.deepEqual(t[1].slice(0, 5), ['mock-sfu', 'ready', '3 peers', '1.50 Mbit/s', '3.00 Mbit/s']);
    assert.equal(t[1][6], sfu.sockPath);
    let j = await ctlJson(['sfus'], { url });
    assert.equal(j.length, 1);
    assert.deepEqual({ ...j[0], node: undefined }, { id: 'mock-sfu', socket: sfu.sockPath, state: 'ready',
      draining: false, peers: 3, bitrateIn: 1500000, bitrateOut: 3000000, cpu: 0.01, overloadDrops: 0, local: true, node: undefined });

    const d = await ctl(['sfu', 'drain', 'mock-sfu'], { url });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^SFU mock-sfu is draining/);
    await sfu.waitCall('drain', (p) => p.on === true);
    j = await ctlJson(['sfus'], { url });
    assert.equal(j[0].draining, true);
    assert.match((await ctl(['sfus'], { url })).stdout, /ready, draining/);
    const off = await ctlJson(['sfu', 'drain', 'mock-sfu', '--off'], { url });
    assert.deepEqual(off, { ok: true, id: 'mock-sfu', draining: false, state: 'ready' });
    await sfu.waitCall('drain', (p) => p.on === false);
    assert.equal((await ctlJson(['sfus'], { url }))[0].draining, false);

    const none = await ctl(['sfu', 'drain', 'no/such'], { url });
    assert.equal(none.code, 1);
    assert.equal(none.stderr.trim(), 'onairctl: no such SFU: no/such');
  });

  test('nodes and health', async () => {
    const n = await ctlJson(['nodes'], { url });
    assert.equal(n.length, 1);
    assert.equal(n[0].self, true);
    const r = await ctl(['nodes'], { url });
    assert.deepEqual(rows(r.stdout), [['NODE'], [n[0].id, '(answered)']]);
    const h = await ctl(['health'], { url });
    assert.equal(h.code, 0, h.stderr);
    const kv = Object.fromEntries(rows(h.stdout));
    assert.equal(kv.Status, 'ok');
    assert.equal(kv.Store, 'memory, up');
    assert.equal(kv.SFUs, '1 ready of 1');
    assert.equal(kv.Node, `${n[0].id} (demo mode)`);
    const hj = await ctlJson(['health'], { url });
    assert.equal(hj.status, 'ok');
  });

  test('unknown rooms and viewers: exit 1, message on stderr', async () => {
    for (const args of [['room', 'nope'], ['viewers', 'nope'], ['end', 'nope'], ['kick', 'nope', 'x']]) {
      for (const json of [[], ['--json']]) {
        const r = await ctl([...args, ...json], { url });
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, 'onairctl: no such room: nope\n');
        assert.equal(r.stdout, '');
      }
    }
    const k = await ctl(['kick', 'show', 'nobody'], { url });
    assert.equal(k.code, 1);
    assert.equal(k.stderr, 'onairctl: no viewer nobody in room show\n');
    // a room id that begins with '-' after "--"
    const dash = await ctl(['room', '--', '-x'], { url });
    assert.equal(dash.code, 1);
    assert.match(dash.stderr, /no such room: -x/);
  });

  test('kick: the viewer gets kicked, leaves the room and is banned', async () => {
    const kicked = waitFor(bob, 'kicked');
    const left = waitFor(admin, 'viewer-left');
    const r = await ctl(['kick', 'show', '--', bob.id], { url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `kicked viewer ${bob.id} (user bob) from room show (1 connection, banned 60s); 1 viewer left\n`);
    assert.deepEqual(await kicked, { roomId: 'show', reason: 'kicked' });
    assert.deepEqual(await left, { roomId: 'show', viewerId: bob.id });
    assert.deepEqual((await ctlJson(['viewers', 'show'], { url })).map((v) => v.id), [carol.id]);
    const again = await ack(bob, 'join-stream', { roomId: 'show' });
    assert.equal(again.ok, false);
    assert.equal(again.error.code, 'forbidden');
    // kicking the same connection again: it is not a viewer any more
    const twice = await ctl(['kick', '--json', 'show', '--', bob.id], { url });
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /no viewer/);
  });

  test('rooms claim and refused tokens: 401/403 -> exit 3', async () => {
    const limited = token('lim', 'admin', { rooms: ['quiet'] });
    assert.deepEqual((await ctlJson(['rooms'], { url, env: { ONAIR_TOKEN: limited } })).map((x) => x.roomId), ['quiet']);
    assert.equal((await ctl(['room', 'quiet'], { url, env: { ONAIR_TOKEN: limited } })).code, 0);
    for (const args of [['room', 'show'], ['viewers', 'show'], ['end', 'show'], ['kick', 'show', '--', carol.id],
      ['sfu', 'drain', 'mock-sfu']]) {
      const r = await ctl(args, { url, env: { ONAIR_TOKEN: limited } });
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /refused the request \(HTTP 403\)/);
    }
    const cases = [
      ['viewer token', { ONAIR_TOKEN: token('vic', 'viewer') }, /HTTP 401\): unauthorized: an admin token is needed/],
      ['garbage token', { ONAIR_TOKEN: 'not.a.jwt' }, /HTTP 401\): unauthorized: invalid or expired token/],
      ['expired token', { ONAIR_TOKEN: token('old', 'admin', { exp: Math.floor(Date.now() / 1000) - 120 }, {}) },
        /HTTP 401\)/],
      ['other secret', { ONAIR_TOKEN: jwt.sign({ sub: 'x', role: 'admin' }, 'wrong', { expiresIn: '1h' }) }, /HTTP 401\)/],
      ['no token at all', { JWT_SECRET: '' }, /no token: pass --token/],
    ];
    for (const [what, env, re] of cases) {
      const r = await ctl(['rooms'], { url, env });
      assert.equal(r.code, 3, `${what}: ${r.stderr}`);
      assert.match(r.stderr, re, what);
      assert.equal(r.stdout, '');
    }
    // the API itself: JSON errors, WWW-Authenticate, 404/405
    const a = await http(`${url}/api/admin/rooms`);
    assert.equal(a.status, 401);
    assert.match(a.headers.get('www-authenticate'), /^Bearer/);
    assert.equal(typeof a.json.error, 'string');
    const auth = { Authorization: `Bearer ${token('alice', 'admin')}` };
    const m = await http(`${url}/api/admin/rooms`, { method: 'POST', headers: auth, body: '{}' });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'GET');
    const u = await http(`${url}/api/admin/nothing/here`, { headers: auth });
    assert.equal(u.status, 404);
    assert.equal(u.json.error, 'no such admin endpoint');
    const bad = await http(`${url}/api/admin/rooms/show/kick`, { method: 'POST', headers: auth, body: '[1]' });
    assert.equal(bad.status, 400);
    assert.equal(a.headers.get('cache-control'), 'no-store');
  });

  test('end: members get stream-ended "stopped", the SFU room is closed; idempotent', async () => {
    const endedCarol = waitFor(carol, 'stream-ended');
    const endedAdmin = waitFor(admin, 'stream-ended');
    const r = await ctl(['end', 'show'], { url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ended the broadcast in room show\n');
    assert.deepEqual(await endedCarol, { roomId: 'show', reason: 'stopped' });
    assert.deepEqual(await endedAdmin, { roomId: 'show', reason: 'stopped' });
    await sfu.waitCall('room.close', (p) => p.room === 'show');
    const room = (await ctlJson(['rooms'], { url })).find((x) => x.roomId === 'show');
    assert.equal(room.live, false);
    assert.equal(room.viewers, 1, 'members stay joined');
    const again = await ctl(['end', 'show'], { url });
    assert.equal(again.code, 0);
    assert.equal(again.stdout, 'room show is not live: nothing to end\n');
    const j = await ctlJson(['end', 'show'], { url });
    assert.equal(j.wasLive, false);
    assert.equal(j.room.live, false);
  });
});

// ---- recordings: the directory's files and the rooms' live recordings ---------------------------
// The recorder is a stand-in (a shell script that creates its --out file and waits for SIGTERM)
// and the mock SFU answers room.forward, so a recording's life is real signal code without media.
describe('onairctl: recordings', { timeout: 120000 }, () => {
  let dir, recDir, sfu, srv, url, admin;
  const T0 = Date.parse('2026-01-02T03:04:05Z');
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onairctl-rec-'));
    recDir = path.join(dir, 'recordings');
    await mkdir(recDir);
    const files = [ // name, size, mtime
      ['show-1700000000000.webm', 2048, T0 - 86400e3],
      ['other-1700000100000.mkv', 5, T0],
      ['plain.webm', 3 * 1024 * 1024, T0 - 3600e3],
      ['notes.txt', 1, T0], // not a recording's name
      ['.hidden.webm', 1, T0],
      ['bad name.webm', 1, T0],
    ];
    for (const [name, size, mtime] of files) {
      const f = path.join(recDir, name);
      await writeFile(f, Buffer.alloc(size));
      await utimes(f, mtime / 1000, mtime / 1000);
    }
    await mkdir(path.join(recDir, 'dir.webm')); // a directory, and a link out of the directory
    await writeFile(path.join(dir, 'secret.txt'), 'not yours');
    await symlink(path.join(dir, 'secret.txt'), path.join(recDir, 'link.webm'));
    const recorder = path.join(dir, 'fake-recorder.sh');
    await writeFile(recorder, '#!/bin/sh\n# stands in for onair-recorder: writes --out, waits for SIGTERM\n' +
      'while [ $# -gt 0 ]; do [ "$1" = --out ] && out="$2"; shift; done\n' +
      'printf recording > "$out"\nexec sleep 120\n');
    await chmod(recorder, 0o755);
    sfu = await startMockSfu(dir);
    srv = await startNode({ SFU_SOCKETS: sfu.sockPath }, ['--recordings-dir', recDir, '--recorder-bin', recorder]);
    url = srv.url;
    await srv.waitLog((_l, j) => j && j.msg === 'sfu ready', 10000);
    admin = await client(url, token('alice', 'admin'));
    assert.equal((await ack(admin, 'start-stream', { roomId: 'show' })).ok, true);
    assert.equal((await ack(admin, 'offer', { roomId: 'show', sdp: 'v=0\r\n' })).ok, true);
    await sfu.waitCall('publisher.offer', (p) => p.room === 'show');
  });
  after(async () => {
    admin?.close();
    if (srv) assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    await sfu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('finished files: newest first, room and start from the name, other entries left out', async () => {
    const j = await ctlJson(['recordings'], { url });
    assert.equal(j.dir, recDir);
    assert.equal(j.truncated, false);
    assert.deepEqual(j.recordings, [
      { name: 'other-1700000100000.mkv', roomId: 'other', size: 5, modifiedAt: T0, startedAt: 1700000100000, live: false, recordingId: null },
      { name: 'plain.webm', roomId: null, size: 3145728, modifiedAt: T0 - 3600e3, startedAt: null, live: false, recordingId: null },
      { name: 'show-1700000000000.webm', roomId: 'show', size: 2048, modifiedAt: T0 - 86400e3, startedAt: 1700000000000, live: false, recordingId: null },
    ]);
    const r = await ctl(['recordings'], { url });
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ['FILE', 'ROOM', 'SIZE', 'MODIFIED', 'STATE']);
    assert.deepEqual(t.slice(1).map((x) => [x[0], x[1], x[2], x[4]]), [
      ['other-1700000100000.mkv', 'other', '5 B', 'finished'],
      ['plain.webm', '-', '3.00 MiB', 'finished'],
      ['show-1700000000000.webm', 'show', '2.0 KiB', 'finished'],
    ]);
    for (const row of t.slice(1)) assert.match(row[3], /^\S+ ago$/);
    assertAligned(r.stdout);
    // a token limited to rooms sees those rooms' recordings only (no room: not shown)
    const lim = await ctlJson(['recordings'], { url, env: { ONAIR_TOKEN: token('lim', 'admin', { rooms: ['show'] }) } });
    assert.deepEqual(lim.recordings.map((x) => x.name), ['show-1700000000000.webm']);
  });

  test('a live recording is listed as live; recording stop finishes it; stopping again changes nothing', async () => {
    const started = await ack(admin, 'start-recording', { roomId: 'show' });
    assert.equal(started.ok, true, JSON.stringify(started));
    const { id, file } = started.recording;
    assert.match(file, /^show-\d+\.webm$/);
    await sfu.waitCall('room.forward', (p) => p.room === 'show' && p.id === id);
    // the stand-in recorder creates the file
    await poll(() => stat(path.join(recDir, file)).then(() => true, () => false), { what: 'the recording file' });
    const j = await ctlJson(['recordings'], { url });
    const live = j.recordings.find((x) => x.name === file);
    assert.equal(j.recordings[0].name, file, 'newest first');
    assert.deepEqual({ ...live, modifiedAt: undefined }, { name: file, roomId: 'show', size: 9, modifiedAt: undefined,
      startedAt: started.recording.startedAt, live: true, recordingId: id });
    const table = rows((await ctl(['recordings'], { url })).stdout);
    assert.match(table[1][4], /^live \d+s$/);
    assert.equal(table.filter((x) => x[4] === 'finished').length, 3);
    assert.deepEqual((await ctlJson(['rooms'], { url })).find((x) => x.roomId === 'show').recording, started.recording);

    const exited = srv.waitLog((_l, x) => x && x.msg === 'recorder exited' && x.id === id, 10000);
    const r = await ctl(['recording', 'stop', 'show'], { url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `stopped recording ${id} in room show (file ${file})\n`);
    await sfu.waitCall('room.unforward', (p) => p.room === 'show' && p.id === id);
    assert.equal(JSON.parse(await exited).signal, 15, 'the recorder got SIGTERM');
    const after1 = await ctlJson(['recordings'], { url });
    assert.equal(after1.recordings.find((x) => x.name === file).live, false);
    const room = (await ctlJson(['rooms'], { url })).find((x) => x.roomId === 'show');
    assert.equal(room.recording, null);
    assert.equal(room.live, true, 'the broadcast goes on');
    // nothing to stop: exit 0
    const again = await ctl(['recording', 'stop', 'show'], { url });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'room show is not recording: nothing to stop\n');
    assert.deepEqual(await ctlJson(['recording', 'stop', 'show'], { url }),
      { ok: true, roomId: 'show', stopped: false, recording: null });
    // the owner's stop-recording agrees, and still stops a running one itself
    assert.deepEqual(await ack(admin, 'stop-recording', { roomId: 'show' }), { ok: true, recording: null });
    const second = await ack(admin, 'start-recording', { roomId: 'show' });
    assert.equal(second.ok, true, JSON.stringify(second));
    assert.notEqual(second.recording.id, id);
    const exited2 = srv.waitLog((_l, x) => x && x.msg === 'recorder exited' && x.id === second.recording.id, 10000);
    assert.deepEqual(await ack(admin, 'stop-recording', { roomId: 'show' }), { ok: true, recording: second.recording });
    await exited2;
    assert.equal((await ctlJson(['recordings'], { url })).recordings.filter((x) => x.live).length, 0);
  });

  test('unknown rooms, refused tokens, no file download, path traversal refused', async () => {
    for (const json of [[], ['--json']]) {
      const r = await ctl(['recording', 'stop', 'nope', ...json], { url });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, 'onairctl: no such room: nope\n');
      assert.equal(r.stdout, '');
    }
    const lim = { ONAIR_TOKEN: token('lim', 'admin', { rooms: ['other'] }) };
    const refused = await ctl(['recording', 'stop', 'show'], { url, env: lim });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /HTTP 403/);
    assert.equal((await ctl(['recordings'], { url, env: { ONAIR_TOKEN: token('v', 'viewer') } })).code, 3);

    const auth = { Authorization: `Bearer ${token('alice', 'admin')}` };
    for (const p of ['recordings/show-1700000000000.webm', 'recordings/..%2Fsecret.txt', 'recordings/..%2F..%2Fetc%2Fpasswd',
      'recordings/link.webm', 'recordings/x/y', 'rooms/show/recording', 'rooms/show/recording/stop/x']) {
      const res = await http(`${url}/api/admin/${p}`, { headers: auth });
      assert.equal(res.status, 404, p);
      assert.equal(res.json.error, 'no such admin endpoint', p);
    }
    for (const p of ['rooms/..%2F..%2Fetc/recording/stop', 'rooms/a.b/recording/stop']) {
      const res = await http(`${url}/api/admin/${p}`, { method: 'POST', headers: auth, body: '{}' });
      assert.equal(res.status, 400, p);
    }
    // dot segments sent as they are (fetch would normalise them away)
    for (const p of ['rooms/%2E%2E/recording/stop', 'rooms/../recording/stop']) {
      const res = await rawHttp(srv.port, `POST /api/admin/${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
        `Content-Length: 2\r\nAuthorization: Bearer ${token('alice', 'admin')}\r\n\r\n{}`);
      assert.match(res, /^HTTP\/1\.1 400 /, p);
    }
    // a raw path with dot segments (no client normalises it)
    const raw = await rawHttp(srv.port, `GET /api/admin/recordings/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n` +
      `Connection: close\r\nAuthorization: Bearer ${token('alice', 'admin')}\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 (400|404) /);
    assert.doesNotMatch(raw, /root:|not yours/);
    const m = await http(`${url}/api/admin/rooms/show/recording/stop`, { headers: auth });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
  });
});

// ---- the admin API's HTTP edges: deferred answers and connections that go away -------------
/** Sends raw bytes on a new TCP connection and resolves with everything read until it closes. */
function rawHttp(port, bytes, { endAfterMs } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    if (endAfterMs !== undefined) setTimeout(() => s.destroy(), endAfterMs);
  });
}

describe('onairctl: admin API edges', { timeout: 120000 }, () => {
  let dir, sfu, srv, admin;
  const auth = () => `Authorization: Bearer ${token('alice', 'admin')}\r\n`;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onairctl-edge-'));
    sfu = await startMockSfu(dir);
    srv = await startNode({ SFU_SOCKETS: sfu.sockPath, SFU_TIMEOUT_MS: '700' });
    await srv.waitLog((_l, j) => j && j.msg === 'sfu ready', 10000);
    admin = await client(srv.url, token('alice', 'admin'));
    assert.equal((await ack(admin, 'start-stream', { roomId: 'edge' })).ok, true);
    assert.equal((await ack(admin, 'offer', { roomId: 'edge', sdp: 'v=0\r\n' })).ok, true);
  });
  after(async () => {
    admin?.close();
    if (srv) await srv.stop();
    await sfu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('pipelined requests on one connection are answered in order; HEAD; 413', async () => {
    const req = (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${auth()}\r\n`;
    const out = await rawHttp(srv.port, req('/api/admin/rooms/edge') + req('/api/admin/nodes') +
      req('/api/admin/rooms/none') + `GET /api/admin/rooms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth()}\r\n`);
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => +m[1]);
    assert.deepEqual(statuses, [200, 200, 404, 200], out);
    assert.ok(out.indexOf('"roomId":"edge"') < out.indexOf('"self":true'), 'answers out of order');
    const head = await rawHttp(srv.port, `HEAD /api/admin/rooms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth()}\r\n`);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(head, /\r\n\r\n\[/, 'HEAD has no body');
    const big = await http(`${srv.url}/api/admin/rooms/edge/kick`, { method: 'POST',
      headers: { Authorization: `Bearer ${token('alice', 'admin')}` }, body: JSON.stringify({ viewerId: 'x'.repeat(5000) }) });
    assert.equal(big.status, 413);
  });

  test('an SFU that does not answer: the room detail says so after the RPC timeout', async () => {
    sfu.holdStats = true;
    try {
      const r = await ctl(['room', 'edge'], { url: srv.url });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Bitrate +n\/a \(SFU: /);
      const j = await ctlJson(['room', 'edge'], { url: srv.url });
      assert.equal(j.media.sfu, 'mock-sfu');
      assert.equal(typeof j.media.error, 'string');
    } finally {
      sfu.holdStats = false;
    }
  });

  test('clients that leave while their answer is pending; shutdown with requests pending', async () => {
    sfu.holdStats = true;
    const statsCalls = () => sfu.calls.filter((m) => m.method === 'stats' && m.params && m.params.room === 'edge').length;
    // gone before the SFU's (never coming) stats answer: the RPC timeout completes them later
    const gone = [];
    for (let i = 0; i < 10; i++) {
      gone.push(rawHttp(srv.port, `GET /api/admin/rooms/edge HTTP/1.1\r\nHost: x\r\n${auth()}\r\n`, { endAfterMs: 20 }));
    }
    await Promise.all(gone);
    // the node still answers
    assert.equal((await ctl(['rooms'], { url: srv.url })).code, 0);
    // (a client gone within 20 ms may be dropped before its store lookup ends, so only the
    // requests that stay open below are sure to reach the SFU)
    const mid = statsCalls();
    // requests pending when the node stops: answered or dropped, never a crash or a leak
    const pending = [];
    for (let i = 0; i < 5; i++) {
      pending.push(rawHttp(srv.port, `GET /api/admin/rooms/edge HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth()}\r\n`));
    }
    await poll(() => statsCalls() >= mid + 5, { what: 'stats requests reached the SFU' });
    admin.close();
    admin = null;
    const code = await srv.stop();
    srv = null;
    assert.deepEqual(code, { code: 0, signal: null });
    for (const out of await Promise.all(pending)) assert.ok(out === '' || /^HTTP\/1\.1 (200|503)/.test(out), out);
  });
});

// ---- two nodes sharing Redis: any node answers for every room --------------------------------
let redisAvailable = true;
try {
  await new Promise((resolve, reject) => execFile('redis-server', ['--version'], (e) => (e ? reject(e) : resolve())));
} catch {
  redisAvailable = false;
}

describe('onairctl: two nodes (Redis state)', { timeout: 120000, skip: !redisAvailable && 'no redis-server' }, () => {
  let redis, a, b;
  const sockets = [];
  before(async () => {
    redis = await startRedis();
    a = await startNode({ REDIS_URL: redis.url, NODE_ID: 'node-a' });
    b = await startNode({ REDIS_URL: redis.url, NODE_ID: 'node-b' });
  });
  after(async () => {
    closeAll(sockets);
    const codes = [];
    for (const n of [a, b]) if (n) codes.push(await n.stop());
    for (const c of codes) assert.deepEqual(c, { code: 0, signal: null });
    await redis?.stop();
  });

  test('rooms, viewers, kick and end through another node', async () => {
    const admin = await client(a.url, token('alice', 'admin'));
    const dave = await client(a.url, token('dave', 'viewer'));
    const erin = await client(a.url, token('erin', 'viewer'));
    sockets.push(admin, dave, erin);
    assert.equal((await ack(admin, 'start-stream', { roomId: 'multi', title: 'Across' })).ok, true);
    for (const v of [dave, erin]) assert.equal((await ack(v, 'join-stream', { roomId: 'multi' })).ok, true);

    // both nodes heartbeat into Redis once connected
    const nodes = await poll(async () => {
      const n = await ctlJson(['nodes'], { url: b.url });
      return n.length === 2 && n;
    }, { what: 'two nodes registered' });
    assert.deepEqual(nodes, [{ id: 'node-a', self: false }, { id: 'node-b', self: true }]);
    assert.deepEqual(rows((await ctl(['nodes'], { url: a.url })).stdout),
      [['NODE'], ['node-a', '(answered)'], ['node-b']]);
    const rooms = await ctlJson(['rooms'], { url: b.url });
    assert.equal(rooms.length, 1);
    assert.equal(rooms[0].roomId, 'multi');
    assert.equal(rooms[0].viewers, 2);
    const viewers = await ctlJson(['viewers', 'multi'], { url: b.url });
    assert.deepEqual(viewers.map((v) => v.node), ['node-a', 'node-a']);
    const detail = await ctl(['room', 'multi'], { url: b.url });
    assert.equal(detail.code, 0, detail.stderr);
    assert.match(detail.stdout, /Publisher +connection \S+ on node node-a/);

    const kicked = waitFor(dave, 'kicked');
    const k = await ctl(['kick', 'multi', '--', dave.id], { url: b.url });
    assert.equal(k.code, 0, k.stderr);
    assert.deepEqual(await kicked, { roomId: 'multi', reason: 'kicked' });
    assert.deepEqual((await ctlJson(['viewers', 'multi'], { url: b.url })).map((v) => v.id), [erin.id]);

    const ended = waitFor(erin, 'stream-ended');
    const e = await ctl(['end', 'multi'], { url: b.url });
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(await ended, { roomId: 'multi', reason: 'stopped' });
    assert.equal((await ctlJson(['rooms'], { url: a.url }))[0].live, false);
    assert.equal((await ctl(['room', 'gone'], { url: b.url })).code, 1);
  });
});
