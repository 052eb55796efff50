// tests/integration/sfu_multi.test.mjs: several SFUs per node and several nodes per SFU, without
// media (RPC and signal only; no ICE agent is created, so no netns is needed):
//   - `--sfu-sockets DIR`: an SFU started later is picked up, one that stops is dropped (/health)
//   - placement: the least loaded SFU (peers, then cpu; rooms break ties), never a draining one
//     (said by the SFU, or set with POST /api/admin/sfus/:id/drain); a room placed on an SFU
//     that drains moves when its publisher publishes again
//   - two nodes on one Redis: node 2 connects to the SFU node 1 registered; the SFU serves both
// Load figures come from fake SFUs (Node servers speaking docs/RPC.md) so that placement is
// deterministic; the pick-up/drop test and the Redis test use the real onair-sfu.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startLive, ackOk, http, startRedis } from '../lib/live.mjs';
import { spawnProcess, sanitizerEnv, buildDir, poll } from '../lib/server.mjs';
import { frame, MAX_FRAME } from '../lib/rpc.mjs';

const SFU = path.join(buildDir(), 'onair-sfu');
const FAKE_SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

// A fake onair-sfu on a Unix socket: answers hello/stats/drain/publisher.offer/..., sends a
// stats event every 100 ms with the load it is given, records every request per node.
class FakeSfu {
  constructor(sockPath, id, load) {
    this.path = sockPath;
    this.id = id;
    this.load = { peers: 0, rooms: 0, bitrate_in: 0, bitrate_out: 0, cpu: 0, draining: false, max_peers: 1000, ...load };
    this.requests = []; // {node, method, params}
    this.conns = new Set();
    this.statsSent = 0;
  }

  async start() {
    this.server = net.createServer((sock) => this._conn(sock));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, resolve);
    });
    this.timer = setInterval(() => this._stats(), 100);
    return this;
  }

  _conn(sock) {
    const c = { sock, node: null, rx: Buffer.alloc(0) };
    this.conns.add(c);
    sock.on('data', (d) => {
      c.rx = Buffer.concat([c.rx, d]);
      while (c.rx.length >= 4) {
        const n = c.rx.readUInt32BE(0);
        if (n === 0 || n > MAX_FRAME) return sock.destroy();
        if (c.rx.length < 4 + n) break;
        const msg = JSON.parse(c.rx.subarray(4, 4 + n).toString('utf8'));
        c.rx = c.rx.subarray(4 + n);
        this._request(c, msg);
      }
    });
    sock.on('close', () => this.conns.delete(c));
    sock.on('error', () => {});
  }

  _send(c, msg) {
    if (!c.sock.destroyed) c.sock.write(frame(msg));
  }

  _stats() {
    for (const c of this.conns) {
      if (c.node) {
        this._send(c, { event: 'stats', data: { sfu_id: this.id, load: { ...this.load }, rooms: [] } });
        this.statsSent++;
      }
    }
  }

  _request(c, { id, method, params }) {
    this.requests.push({ node: c.node, method, params });
    let result = {};
    if (method === 'hello') {
      c.node = params.node;
      result = { version: 1, sfu_id: this.id, pid: process.pid, capacity: { max_peers: this.load.max_peers },
        resumed: [], draining: this.load.draining, load: { ...this.load } };
    } else if (method === 'drain') {
      this.load.draining = params.on;
      result = { draining: params.on };
    } else if (method === 'publisher.offer') {
      result = { sdp: FAKE_SDP.replace('s=-', `s=${this.id}`) };
    } else if (method === 'subscriber.create') {
      return this._send(c, { id, error: { code: 'not_found', message: 'no publisher' } });
    }
    this._send(c, { id, result });
  }

  // Resolves once n more stats events went out (the pool has the current load then).
  async statsFlushed(n = 2) {
    const target = this.statsSent + n * Math.max(1, this.conns.size);
    await poll(() => this.statsSent >= target, { timeoutMs: 5000, what: `${this.id} stats` });
  }

  offers() {
    return this.requests.filter((r) => r.method === 'publisher.offer').map((r) => r.params.room);
  }

  async stop() {
    clearInterval(this.timer);
    for (const c of this.conns) c.sock.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    fs.rmSync(this.path, { force: true });
  }
}

// A real onair-sfu listening on sockPath.
async function startRealSfu(sockPath, id, ports) {
  return spawnProcess({
    cmd: SFU,
    args: ['--rpc', sockPath, '--ip', '127.0.0.1', '--ports', ports, '--id', id, '--stats-ms', '200'],
    env: sanitizerEnv(),
    name: `sfu:${id}`,
    ready: (_l, j) => j && j.msg === 'listening',
  });
}

async function sfusOf(node) {
  return (await node.health()).json.sfus;
}

async function waitSfus(node, want, what) {
  return poll(async () => {
    const s = await sfusOf(node);
    return s.total === want.total && s.ready === want.ready ? s : null;
  }, { timeoutMs: 8000, intervalMs: 100, what: `${node.nodeId} sfus ${JSON.stringify(want)} (${what})` });
}

function tmp(prefix) {
  // short: Unix socket paths are limited to 107 bytes
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Goes live in a new room on admin's connection and sends an offer; resolves with the room id
// once the answer came back.
let roomSeq = 0;
async function placeRoom(admin) {
  const roomId = `pl-${++roomSeq}`;
  await ackOk(admin, 'start-stream', { roomId });
  await ackOk(admin, 'offer', { roomId, sdp: FAKE_SDP }, roomId);
  const ans = await admin.next('answer', (a) => a.roomId === roomId);
  assert.match(ans.sdp, /^v=0/);
  return roomId;
}

test('--sfu-sockets DIR: an SFU started later is picked up, one that stops is dropped', { skip: !fs.existsSync(SFU) && `missing ${SFU}` }, async (t) => {
  const dir = tmp('onair-m-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const node = await startLive({ args: ['--sfu-sockets', dir] });
  t.after(() => node.stop());
  assert.deepEqual(await sfusOf(node), { total: 0, ready: 0 });

  const real = await startRealSfu(path.join(dir, 'real.sock'), 'real-1', '44000-44019');
  t.after(() => real.stop('SIGKILL'));
  await waitSfus(node, { total: 1, ready: 1 }, 'real SFU started');
  await real.waitLog((_l, j) => j && j.msg === 'hello' && j.node === node.nodeId);

  const fake = await new FakeSfu(path.join(dir, 'fake.sock'), 'fake-1').start();
  t.after(() => fake.stop());
  await waitSfus(node, { total: 2, ready: 2 }, 'fake SFU started');
  // files that are not sockets, or not *.sock, are not SFUs
  fs.writeFileSync(path.join(dir, 'notes.sock'), 'x');
  fs.writeFileSync(path.join(dir, 'readme.txt'), 'x');

  assert.deepEqual(await real.stop(), { code: 0, signal: null }); // removes its socket file
  await waitSfus(node, { total: 1, ready: 1 }, 'real SFU stopped');
  await fake.stop();
  await waitSfus(node, { total: 0, ready: 0 }, 'fake SFU stopped');
  await node.waitLog((_l, j) => j && j.msg === 'sfu socket gone' && j.sfu === 'real-1');

  // and back: a new process on the same path
  const again = await startRealSfu(path.join(dir, 'real.sock'), 'real-2', '44020-44039');
  await waitSfus(node, { total: 1, ready: 1 }, 'real SFU restarted');
  assert.deepEqual(await again.stop(), { code: 0, signal: null });
  await waitSfus(node, { total: 0, ready: 0 }, 'restarted SFU stopped');
});

test('placement: least loaded by peers and cpu, ties by rooms; draining SFUs are never picked', async (t) => {
  const dir = tmp('onair-p-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fakes = {
    a: new FakeSfu(path.join(dir, 'a.sock'), 'fake-a', { peers: 10, rooms: 4 }),
    b: new FakeSfu(path.join(dir, 'b.sock'), 'fake-b', { peers: 2, cpu: 0.5, rooms: 1 }), // 2 + 100
    c: new FakeSfu(path.join(dir, 'c.sock'), 'fake-c', { peers: 5, cpu: 0.01, rooms: 2 }), // 5 + 2
    d: new FakeSfu(path.join(dir, 'd.sock'), 'fake-d', { peers: 0, draining: true }),
    e: new FakeSfu(path.join(dir, 'e.sock'), 'fake-e', { peers: 3, max_peers: 3 }), // full (score 3)
  };
  for (const f of Object.values(fakes)) {
    await f.start();
    t.after(() => f.stop());
  }
  const node = await startLive({ args: ['--sfu-sockets', dir] });
  t.after(() => node.stop());
  await waitSfus(node, { total: 5, ready: 5 }, 'five fakes');
  for (const f of Object.values(fakes)) await f.statsFlushed();
  const admin = await node.client({ role: 'admin' });

  const r1 = await placeRoom(admin);
  assert.deepEqual(fakes.c.offers(), [r1], 'c has the lowest score (7)');

  // drain c through the operator API: the next room goes to a (10), not b (102)
  const tok = node.token({ sub: 'ops', role: 'admin' });
  const res = await http(`${node.url}/api/admin/sfus/fake-c/drain`, {
    method: 'POST', headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' }, body: '{"on":true}',
  });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.draining, true);
  await poll(() => fakes.c.load.draining, { what: 'drain reached fake-c' });
  await fakes.c.statsFlushed(); // its stats say draining too: no flip back
  const r2 = await placeRoom(admin);
  assert.deepEqual(fakes.a.offers(), [r2]);

  // r1's publisher publishes again (stop, start, a new offer): its placement on the draining c
  // is given up and the room moves (a claim by force)
  await ackOk(admin, 'stop-stream', { roomId: r1 });
  await ackOk(admin, 'start-stream', { roomId: r1 });
  await fakes.a.statsFlushed();
  await ackOk(admin, 'offer', { roomId: r1, sdp: FAKE_SDP });
  await admin.next('answer', (a) => a.roomId === r1);
  assert.deepEqual(fakes.a.offers(), [r2, r1]);
  assert.deepEqual(fakes.c.offers(), [r1]);
  await node.waitLog((_l, j) => j && j.msg === 'room moves to another media server' && j.room === r1 &&
    j.from === 'fake-c' && j.to === 'fake-a' && j.why === 'draining');

  // b cools down: its cpu no longer counts against it (2 peers)
  fakes.b.load.cpu = 0;
  await fakes.b.statsFlushed();
  const r3 = await placeRoom(admin);
  assert.deepEqual(fakes.b.offers(), [r3]);

  // a tie on score (a: 10 peers, b: 10 peers): fewer rooms wins
  fakes.b.load.peers = 10;
  fakes.b.load.rooms = 9;
  await fakes.a.statsFlushed();
  await fakes.b.statsFlushed();
  const r4 = await placeRoom(admin);
  assert.deepEqual(fakes.a.offers(), [r2, r1, r4]);

  // the SFU that says it is draining, and the full one, never got a room
  assert.deepEqual(fakes.d.offers(), []);
  assert.deepEqual(fakes.e.offers(), []);
  // undrain c: it is the least loaded again
  await http(`${node.url}/api/admin/sfus/fake-c/drain`, {
    method: 'POST', headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' }, body: '{"on":false}',
  });
  await poll(() => !fakes.c.load.draining, { what: 'undrain reached fake-c' });
  await fakes.c.statsFlushed();
  const r5 = await placeRoom(admin);
  assert.deepEqual(fakes.c.offers(), [r1, r5]);
});

test('each SFU\'s cpu and shed media reach /metrics and the admin API', async (t) => {
  const dir = tmp('onair-m-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = new FakeSfu(path.join(dir, 'a.sock'), 'fake-a', { cpu: 1.25, overload_drops: 42 });
  const b = new FakeSfu(path.join(dir, 'b.sock'), 'fake-b', { cpu: 0.5 });
  for (const f of [a, b]) {
    await f.start();
    t.after(() => f.stop());
  }
  const node = await startLive({ args: ['--sfu-sockets', dir] });
  t.after(() => node.stop());
  await waitSfus(node, { total: 2, ready: 2 }, 'two fakes');
  await a.statsFlushed();
  await b.statsFlushed();
  let m = await node.metrics();
  assert.equal(m.get('onair_sfu_cpu{sfu="fake-a"}'), 1.25);
  assert.equal(m.get('onair_sfu_cpu{sfu="fake-b"}'), 0.5);
  assert.equal(m.get('onair_sfu_overload_drops_total{sfu="fake-a"}'), 42);
  assert.equal(m.get('onair_sfu_overload_drops_total{sfu="fake-b"}'), 0); // an SFU that does not say: 0
  // the counter moves with the SFU's stats
  a.load.overload_drops = 50;
  await a.statsFlushed();
  m = await node.metrics();
  assert.equal(m.get('onair_sfu_overload_drops_total{sfu="fake-a"}'), 50);
  const tok = node.token({ sub: 'ops', role: 'admin' });
  const res = await http(`${node.url}/api/admin/sfus`, { headers: { Authorization: `Bearer ${tok}` } });
  assert.equal(res.status, 200, res.body);
  const list = Array.isArray(res.json) ? res.json : res.json.sfus;
  const fa = list.find((x) => x.id === 'fake-a');
  assert.equal(fa.overloadDrops, 50);
  assert.equal(fa.cpu, 1.25);
});

test('two nodes on one Redis: node 2 connects to the SFU node 1 registered; the SFU serves both', { skip: !fs.existsSync(SFU) && `missing ${SFU}` }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const dir = tmp('onair-r-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sfuDir = path.join(dir, 'sfus');
  fs.mkdirSync(sfuDir);
  const real = await startRealSfu(path.join(sfuDir, 'shared.sock'), 'shared-1', '44040-44059');
  t.after(() => real.stop('SIGKILL'));
  const secret = 'multi-node-secret-0123456789abcdef';
  const n1 = await startLive({ redis: redis.url, env: { JWT_SECRET: secret }, args: ['--sfu-sockets', sfuDir] });
  t.after(() => n1.stop());
  const n2 = await startLive({ redis: redis.url, env: { JWT_SECRET: secret } });
  t.after(() => n2.stop());
  await waitSfus(n1, { total: 1, ready: 1 }, 'node 1 watches the directory');
  await waitSfus(n2, { total: 1, ready: 1 }, 'node 2 discovers it in the registry');
  for (const n of [n1, n2]) await real.waitLog((_l, j) => j && j.msg === 'hello' && j.node === n.nodeId);
  await n2.waitLog((_l, j) => j && j.msg === 'sfu added' && j.sfu === 'shared-1' && j.origin === 'discovered');

  // the admin API of node 2 lists it as its own (connected), not only as registered
  const tok = n2.token({ sub: 'ops', role: 'admin' });
  const list = await http(`${n2.url}/api/admin/sfus`, { headers: { Authorization: `Bearer ${tok}` } });
  assert.equal(list.status, 200, list.body);
  const entry = list.json.find((s) => s.id === 'shared-1');
  assert.equal(entry?.state, 'ready', JSON.stringify(list.json));

  // a room placed from node 2 lands on it (the claim needs node 1's registration)
  const admin = await n2.client({ role: 'admin' });
  const roomId = 'via-n2';
  await ackOk(admin, 'start-stream', { roomId });
  const r = await new Promise((resolve) => admin.timeout(5000).emit('offer', { roomId, sdp: FAKE_SDP }, (_e, a) => resolve(a)));
  // the real SFU refuses the fake SDP, which proves the offer reached it
  assert.equal(r?.error?.code, 'invalid_payload', JSON.stringify(r));
  await real.waitLog((_l, j) => j && j.msg === 'opened' && j.room === roomId);

  // the SFU stops: node 1 drops it (socket gone), node 2 once it is no longer registered
  assert.deepEqual(await real.stop(), { code: 0, signal: null });
  await waitSfus(n1, { total: 0, ready: 0 }, 'node 1 after the SFU stopped');
  await waitSfus(n2, { total: 0, ready: 0 }, 'node 2 after the SFU stopped');
});
