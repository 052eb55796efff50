// tests/integration/live_cluster.test.mjs: several livestream nodes on one Redis (PROTOCOL.md 5,
// 8): a node that dies (SIGKILL) or leaves (SIGTERM) has its viewers removed and the broadcasts
// it published ended by the survivors; Redis going away answers `unavailable` promptly, makes
// /health 503, and the nodes recover by themselves when it is back on the same port.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spawnProcess, poll } from '../lib/server.mjs';
import { ack, ackOk, killAll, startLive, startRedis, uid } from '../lib/live.mjs';

after(killAll);

const NODE_TTL = 1200;
const ARGS = ['--node-ttl', String(NODE_TTL), '--publisher-grace', '400'];

/** Two rooms across nodes a and b:
 *  r1: owner on a; viewers va (on a), vb1 and vb2 (on b)
 *  r2: owner on b; viewer wa (on a) */
async function spread(a, b) {
  const r1 = uid('r1');
  const r2 = uid('r2');
  const owner1 = await a.client({ role: 'admin' });
  await ackOk(owner1, 'start-stream', { roomId: r1 });
  const va = await a.client();
  const vb1 = await b.client();
  const vb2 = await b.client();
  for (const v of [va, vb1, vb2]) await ackOk(v, 'join-stream', { roomId: r1 });
  await owner1.next('viewer-count', (p) => p.count === 3, 4000);
  const owner2 = await b.client({ role: 'admin' });
  await ackOk(owner2, 'start-stream', { roomId: r2 });
  const wa = await a.client();
  await ackOk(wa, 'join-stream', { roomId: r2 });
  return { r1, r2, owner1, va, vb1, vb2, owner2, wa, vb1Id: vb1.id, vb2Id: vb2.id };
}

/** What the survivor a must see once b is gone. */
async function assertCleanedUp(a, s, ms) {
  for (const id of [s.vb1Id, s.vb2Id]) {
    assert.deepEqual(await s.owner1.next('viewer-left', (p) => p.viewerId === id, ms), { roomId: s.r1, viewerId: id });
  }
  assert.deepEqual(await s.wa.next('stream-ended', (p) => p.roomId === s.r2, ms), { roomId: s.r2, reason: 'publisher-left' });
  await s.owner1.next('viewer-count', (p) => p.roomId === s.r1 && p.count === 1, ms);
  await s.va.next('viewer-count', (p) => p.roomId === s.r1 && p.count === 1, ms);
  const list = await ackOk(s.owner1, 'get-viewers', { roomId: s.r1 });
  assert.deepEqual(list.viewers.map((v) => v.id), [s.va.id]);
  const j = await ackOk(await a.client(), 'join-stream', { roomId: s.r2 });
  assert.equal(j.room.live, false);
  assert.equal(j.room.viewerCount, 2, 'wa and the new viewer');
  // the room of the dead publisher can be started again from a survivor
  const back = await a.client({ role: 'admin', sub: s.owner2.sub });
  await ackOk(back, 'start-stream', { roomId: s.r2 });
  await s.wa.next('stream-started', (p) => p.roomId === s.r2);
}

describe('livestream cluster on Redis', () => {
  let redis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    if (redis) await redis.stop();
  });

  test('a node killed with SIGKILL: the survivor removes its viewers and ends its broadcasts', async () => {
    const a = await startLive({ redis: redis.url, args: ARGS });
    const b = await startLive({ redis: redis.url, args: ARGS, env: { JWT_SECRET: a.secret } });
    try {
      const s = await spread(a, b);
      const t0 = Date.now();
      const r = await b.kill();
      assert.equal(r.signal, 'SIGKILL');
      await assertCleanedUp(a, s, NODE_TTL * 3 + 4000);
      const took = Date.now() - t0;
      assert.ok(took < NODE_TTL * 3 + 3000, `cleaned up after ${took} ms`);
      assert.ok(a.lines.some((l) => /dead node reaped/.test(l) && l.includes(b.nodeId)));
    } finally {
      await a.stop();
    }
  });

  test('a node stopped with SIGTERM leaves at once: the others hear of it without waiting for the TTL', async () => {
    const a = await startLive({ redis: redis.url, args: ['--node-ttl', '30000'] });
    const b = await startLive({ redis: redis.url, args: ['--node-ttl', '30000'], env: { JWT_SECRET: a.secret } });
    try {
      const s = await spread(a, b);
      await b.stop();
      await assertCleanedUp(a, s, 3000);
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  test('a node silent past its TTL (SIGSTOP) is reaped; when it wakes up its connections rejoin', async () => {
    const a = await startLive({ redis: redis.url, args: ARGS });
    const b = await startLive({ redis: redis.url, args: ARGS, env: { JWT_SECRET: a.secret } });
    try {
      const s = await spread(a, b);
      b.proc.kill('SIGSTOP');
      try {
        await assertCleanedUp(a, s, NODE_TTL * 3 + 4000);
      } finally {
        b.proc.kill('SIGCONT');
      }
      // b re-registers: its viewers of r1 are members again (the admin hears of them again)
      for (const id of [s.vb1Id, s.vb2Id]) {
        await s.owner1.next('viewer-joined', (p) => p.viewer.id === id, NODE_TTL * 3 + 4000);
      }
      await s.owner1.next('viewer-count', (p) => p.roomId === s.r1 && p.count === 3, 4000);
      const list = await ackOk(s.owner1, 'get-viewers', { roomId: s.r1 });
      assert.equal(list.viewers.length, 3);
      const c = await ackOk(s.vb1, 'chat-message', { roomId: s.r1, text: 'back' });
      await s.owner1.next('chat-message', (m) => m.id === c.id);
      // r2's broadcast ended while b was away: its owner on b hears it too
      assert.deepEqual(await s.owner2.next('stream-ended', (p) => p.roomId === s.r2, 4000), { roomId: s.r2, reason: 'publisher-left' });
      assert.ok(b.lines.some((l) => /node re-registered/.test(l)));
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  test('SIGTERM while Redis is down: a prompt, clean exit', async () => {
    const own = await startRedis();
    const a = await startLive({ redis: own.url, args: ARGS });
    try {
      const roomId = uid('room');
      const admin = await a.client({ role: 'admin' });
      await ackOk(admin, 'start-stream', { roomId });
      const v = await a.client();
      await ackOk(v, 'join-stream', { roomId });
      await own.stop();
      await poll(async () => (await a.health()).status === 503, { timeoutMs: 5000, what: '/health 503' });
      const t0 = Date.now();
      await a.stop();
      assert.ok(Date.now() - t0 < 8000, `stopped after ${Date.now() - t0} ms`);
    } finally {
      await a.stop();
      await own.stop();
    }
  });

  test('Redis down: events answer unavailable promptly and /health is 503; back on the same port: the node recovers by itself', async () => {
    const own = await startRedis();
    const a = await startLive({ redis: own.url, args: ARGS });
    const b = await startLive({ redis: own.url, args: ARGS, env: { JWT_SECRET: a.secret } });
    try {
      const roomId = uid('room');
      const admin = await a.client({ role: 'admin' });
      await ackOk(admin, 'start-stream', { roomId });
      const viewer = await b.client();
      await ackOk(viewer, 'join-stream', { roomId });
      assert.equal((await a.health()).status, 200);
      await own.stop();
      // prompt refusals, not hangs
      for (const [s, ev, p] of [[admin, 'start-stream', { roomId: uid('room') }], [viewer, 'chat-message', { roomId, text: 'x' }],
        [viewer, 'join-stream', { roomId }], [admin, 'get-viewers', { roomId }]]) {
        const t0 = Date.now();
        const r = await ack(s, ev, p, 6000);
        assert.equal(r.error?.code, 'unavailable', `${ev}: ${JSON.stringify(r)}`);
        assert.ok(Date.now() - t0 < 3000, `${ev} answered after ${Date.now() - t0} ms`);
      }
      await poll(async () => (await a.health()).status === 503, { timeoutMs: 5000, what: '/health 503' });
      const h = await a.health();
      assert.equal(h.json.status, 'degraded');
      assert.equal(h.json.store.up, false);
      assert.ok(admin.connected && viewer.connected, 'sessions stay');
      // Redis back on the same port (empty: no persistence)
      const again = await spawnProcess({
        cmd: 'redis-server',
        args: ['--port', String(own.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        name: 'redis-server',
        ready: (l) => /Ready to accept connections/.test(l),
      });
      try {
        for (const n of [a, b]) await poll(async () => (await n.health()).status === 200, { timeoutMs: 8000, what: '/health 200 again' });
        // new rooms work across both nodes
        const r2 = uid('room');
        const admin2 = await a.client({ role: 'admin' });
        await ackOk(admin2, 'start-stream', { roomId: r2 });
        const v2 = await b.client();
        await ackOk(v2, 'join-stream', { roomId: r2 });
        await admin2.next('viewer-joined', (p) => p.viewer.id === v2.id);
        const c = await ackOk(v2, 'chat-message', { roomId: r2, text: 'after the restart' });
        await admin2.next('chat-message', (m) => m.id === c.id);
        // the old sessions can start over too
        await ackOk(admin, 'start-stream', { roomId });
        await ackOk(viewer, 'join-stream', { roomId });
        const c2 = await ackOk(viewer, 'chat-message', { roomId, text: 'old session' });
        await admin.next('chat-message', (m) => m.id === c2.id);
      } finally {
        await again.stop();
      }
    } finally {
      await a.stop();
      await b.stop();
      await own.stop();
    }
  });
});


