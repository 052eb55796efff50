// 1,000 concurrent WebSocket clients on one server: all connect, each emits and gets its ack,
// all disconnect; the server keeps answering and exits cleanly. Bounded in time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { http, poll, startSignal } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, emitAckT } from '../lib/sio.mjs';

const N = 1000;
const BATCH = 100;

describe('scale', { timeout: 120000 }, () => {
  test(`${N} concurrent websocket clients connect, emit + ack, disconnect`, { timeout: 110000 }, async (t) => {
    const srv = await startSignal();
    const sockets = [];
    try {
      const t0 = Date.now();
      for (let i = 0; i < N; i += BATCH) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(BATCH, N - i) }, () => connect(srv.url, { transports: ['websocket'] }, 20000)),
        );
        sockets.push(...batch);
      }
      const tConnected = Date.now();
      assert.equal(sockets.length, N);
      assert.ok(sockets.every((s) => s.connected));
      assert.equal(new Set(sockets.map((s) => s.id)).size, N, 'socket ids are not unique');

      const acks = await Promise.all(sockets.map((s, i) => emitAckT(s, 30000, 'echo', { i, id: s.id })));
      acks.forEach((a, i) => assert.deepEqual(a, [{ i, id: sockets[i].id }]));
      // everyone in one room: the last join sees all N
      const sizes = await Promise.all(sockets.map((s) => emitAckT(s, 30000, 'join', 'all')));
      assert.equal(Math.max(...sizes.map((a) => a[0].size)), N);
      const tAcked = Date.now();

      const health = await http(`${srv.url}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.json.sockets, N, `/health: ${health.body}`);

      closeAll(sockets);
      // the server notices every close: a fresh client is alone in the room again
      const probe = await connect(srv.url, { transports: ['websocket'] });
      await poll(async () => (await emitAckT(probe, 5000, 'join', 'all'))[0].size === 1, { timeoutMs: 20000, intervalMs: 100, what: 'room emptied' });
      assert.equal((await http(`${srv.url}/health`)).json.sockets, 1);
      probe.close();
      t.diagnostic(`${N} clients: connect ${tConnected - t0} ms, echo+join ${tAcked - tConnected} ms`);
      await assertCleanExit(srv);
    } finally {
      closeAll(sockets);
      await srv.stop();
    }
  });
});
