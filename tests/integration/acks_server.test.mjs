// Server -> client acks (sio_emit_ack) with the official clients: the test app's
// `ask(payload[, {timeout}], ack)` emits `question` with payload and an ack callback; the
// client's reply acks the `ask` with {answer: [reply args]} (binary attachments passed on),
// no reply within the timeout (2 s by default) with {timeout: true}. A client that disconnects
// before answering settles the server's callback once (GET /health counts it as "gone").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http, poll, startSignal } from '../lib/server.mjs';
import { assertCleanExit, bytes, closeAll, connect, connectV2, emitAck, emitAckT, emitAckV2 } from '../lib/sio.mjs';

const bin = (n, seed = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + seed) & 255));

describe('server -> client acks (ask/question)', { timeout: 120000 }, () => {
  let srv;
  const sockets = [];
  const asks = async () => (await http(`${srv.url}/health`)).json.asks;
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  for (const transports of [['polling'], ['websocket']]) {
    const tn = transports[0];
    describe(`socket.io-client 4.x over ${tn}`, () => {
      let s;
      before(async () => {
        s = await connect(srv.url, { transports });
        sockets.push(s);
      });
      after(() => s?.close());

      test('sync reply: the answer carries every reply argument', { timeout: 5000 }, async () => {
        s.once('question', (p, ack) => ack('yes', p, 42, null));
        const payload = { q: 'why?', n: [1, 2, 3], u: 'ünï ✓' };
        assert.deepEqual(await emitAck(s, 'ask', payload), [{ answer: ['yes', payload, 42, null] }]);
      });

      test('async reply (after a macrotask and a promise)', { timeout: 5000 }, async () => {
        s.once('question', (p, ack) => {
          setTimeout(() => Promise.resolve().then(() => ack({ late: true, echo: p })), 20);
        });
        assert.deepEqual(await emitAck(s, 'ask', 'hello'), [{ answer: [{ late: true, echo: 'hello' }] }]);
      });

      test('reply without arguments -> answer []', { timeout: 5000 }, async () => {
        s.once('question', (_p, ack) => ack());
        assert.deepEqual(await emitAck(s, 'ask', 1), [{ answer: [] }]);
      });

      test('binary reply: the attachments reach the asker byte for byte', { timeout: 5000 }, async () => {
        const a = bin(300, 1);
        const b = bin(5, 9);
        s.once('question', (_p, ack) => ack(a, { nested: b, t: 'x' }));
        const [res] = await emitAck(s, 'ask', 'send bytes');
        assert.equal(res.answer.length, 2);
        assert.deepEqual(bytes(res.answer[0]), a);
        assert.deepEqual(bytes(res.answer[1].nested), b);
        assert.equal(res.answer[1].t, 'x');
      });

      test('concurrent asks are answered each with its own reply', { timeout: 5000 }, async () => {
        const onQ = (p, ack) => setTimeout(() => ack(p * 2), (5 - p) * 5);
        s.on('question', onQ);
        try {
          const res = await Promise.all([1, 2, 3, 4].map((n) => emitAck(s, 'ask', n)));
          assert.deepEqual(res, [1, 2, 3, 4].map((n) => [{ answer: [n * 2] }]));
        } finally {
          s.off('question', onQ);
        }
      });

      test('no reply within {timeout} -> {timeout: true}', { timeout: 5000 }, async () => {
        let asked = 0;
        s.once('question', () => asked++);
        const t0 = Date.now();
        assert.deepEqual(await emitAck(s, 'ask', 'ignored', { timeout: 300 }), [{ timeout: true }]);
        assert.ok(Date.now() - t0 >= 280, `acked after ${Date.now() - t0} ms`);
        assert.equal(asked, 1);
      });
    });
  }

  test('4.x: the default timeout is 2 s', { timeout: 8000 }, async () => {
    const s = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    s.once('question', () => {});
    const t0 = Date.now();
    assert.deepEqual(await emitAckT(s, 6000, 'ask', 'nobody answers'), [{ timeout: true }]);
    const dt = Date.now() - t0;
    assert.ok(dt >= 1900 && dt < 5000, `timed out after ${dt} ms`);
    s.close();
  });

  test('4.x: a client that disconnects before answering settles the callback once', { timeout: 10000 }, async () => {
    const before = await asks();
    const s = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    const questioned = new Promise((resolve) =>
      s.once('question', () => {
        s.disconnect();
        resolve();
      }),
    );
    s.emit('ask', 'bye', { timeout: 300 }, () => assert.fail('the ask of a gone client was acked'));
    await questioned;
    const mid = await poll(
      async () => {
        const a = await asks();
        return a.gone === before.gone + 1 && a.pending === before.pending ? a : null;
      },
      { what: 'ask settled as gone' },
    );
    // another ask with the same timeout, started later, times out: the gone one's deadline
    // has passed too, and it must not have been settled a second time
    const t = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(t);
    assert.deepEqual(await emitAck(t, 'ask', 'x', { timeout: 300 }), [{ timeout: true }]);
    const end = await asks();
    assert.equal(end.gone, mid.gone);
    assert.equal(end.timeout, mid.timeout + 1);
    assert.equal(end.answered, mid.answered);
    assert.equal(end.pending, before.pending);
    t.close();
  });

  for (const transports of [['polling'], ['websocket']]) {
    const tn = transports[0];
    describe(`socket.io-client 2.x over ${tn}`, () => {
      let s;
      before(async () => {
        s = await connectV2(srv.url, { transports });
        sockets.push(s);
      });
      after(() => s?.close());

      test('sync reply', { timeout: 5000 }, async () => {
        s.once('question', (p, ack) => ack('v2', p));
        assert.deepEqual(await emitAckV2(s, 'ask', { a: 1 }), [{ answer: ['v2', { a: 1 }] }]);
      });

      test('async reply', { timeout: 5000 }, async () => {
        s.once('question', (p, ack) => setTimeout(() => ack({ later: p }), 20));
        assert.deepEqual(await emitAckV2(s, 'ask', 7), [{ answer: [{ later: 7 }] }]);
      });

      test('binary reply', { timeout: 5000 }, async () => {
        const a = bin(64, 3);
        s.once('question', (_p, ack) => ack({ data: a }));
        const [res] = await emitAckV2(s, 'ask', 'bytes');
        assert.deepEqual(bytes(res.answer[0].data), a);
      });

      test('no reply -> {timeout: true}', { timeout: 5000 }, async () => {
        s.once('question', () => {});
        assert.deepEqual(await emitAckV2(s, 'ask', 'ignored', { timeout: 300 }), [{ timeout: true }]);
      });
    });
  }

  test('an ask pending at shutdown is settled; the server exits 0 (no leak)', { timeout: 20000 }, async () => {
    const s = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    const questioned = new Promise((resolve) => s.once('question', resolve));
    s.emit('ask', 'forever', { timeout: 60000 }, () => {});
    await questioned;
    assert.equal((await asks()).pending, 1);
    await assertCleanExit(srv);
    srv = null;
  });
});
