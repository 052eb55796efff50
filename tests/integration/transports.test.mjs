// Transports with the official socket.io-client 4.x (EIO4): HTTP long-polling only, polling
// upgraded to WebSocket, WebSocket only; /health; the raw Engine.IO echo at /engine.io/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Socket as EioSocket } from 'engine.io-client';
import { http, startSignal, waitFor, withTimeout } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, emitAck } from '../lib/sio.mjs';

describe('transports (socket.io-client 4.x)', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  test('polling only: connects, stays on polling, emits and gets acks', { timeout: 10000 }, async () => {
    const s = await connect(srv.url, { transports: ['polling'] });
    sockets.push(s);
    assert.equal(s.io.engine.transport.name, 'polling');
    assert.match(s.id, /^[\w-]+$/);
    const [r] = await emitAck(s, 'echo', { a: 1, s: 'héllo ✓', n: [1.5, -2, null, true] });
    assert.deepEqual(r, { a: 1, s: 'héllo ✓', n: [1.5, -2, null, true] });
    // several acks in flight at once on one polling session, answered in any order
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => emitAck(s, 'echo', i)));
    assert.deepEqual(many.map((a) => a[0]), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(s.io.engine.transport.name, 'polling');
    s.close();
  });

  test('polling upgrades to websocket; events flow after the upgrade', { timeout: 10000 }, async () => {
    const s = await connect(srv.url, { transports: ['polling', 'websocket'] });
    sockets.push(s);
    if (s.io.engine.transport.name !== 'websocket') {
      await waitFor(s.io.engine, 'upgrade', 5000);
    }
    assert.equal(s.io.engine.transport.name, 'websocket');
    const [r] = await emitAck(s, 'echo', 'after-upgrade');
    assert.equal(r, 'after-upgrade');
    const back = waitFor(s, 'message-back');
    s.emit('message', 'x', 2);
    assert.equal(await back, 'x');
    s.close();
  });

  test('events emitted during the upgrade are neither lost nor reordered', { timeout: 10000 }, async () => {
    const s = await connect(srv.url, { transports: ['polling', 'websocket'] });
    sockets.push(s);
    const got = [];
    const done = new Promise((resolve) => {
      s.on('message-back', (i) => {
        got.push(i);
        if (got.length === 50) resolve();
      });
    });
    for (let i = 0; i < 25; i++) s.emit('message', i); // sent while the upgrade is probing
    if (s.io.engine.transport.name !== 'websocket') await waitFor(s.io.engine, 'upgrade', 5000);
    for (let i = 25; i < 50; i++) s.emit('message', i);
    await withTimeout(done, 8000, 'all 50 message-back');
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
    s.close();
  });

  test('websocket only: connects directly over websocket', { timeout: 10000 }, async () => {
    const s = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    assert.equal(s.io.engine.transport.name, 'websocket');
    const [r] = await emitAck(s, 'message-with-ack', 1, '2', { 3: [true] });
    assert.equal(r, 1);
    const all = await emitAck(s, 'message-with-ack', 1, '2', { 3: [true] });
    assert.deepEqual(all, [1, '2', { 3: [true] }]);
    s.close();
  });

  test('GET /health answers 200 JSON', { timeout: 5000 }, async () => {
    const r = await http(`${srv.url}/health`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /application\/json/);
    assert.equal(typeof r.json, 'object');
    assert.notEqual(r.json, null);
  });

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    test(`raw Engine.IO echo at /engine.io/ (${transports.join('+')}), text and binary`, { timeout: 10000 }, async () => {
      const e = new EioSocket(srv.url, { path: '/engine.io/', transports });
      try {
        await waitFor(e, 'open', 5000);
        const msgs = [];
        const want = 3;
        const got = new Promise((resolve) =>
          e.on('message', (m) => {
            msgs.push(m);
            if (msgs.length === want) resolve();
          }),
        );
        e.send('hello');
        e.send(Buffer.from([0, 1, 2, 255]));
        e.send('ünïcode ✓');
        await Promise.race([got, waitFor(e, 'close', 5000).then(() => assert.fail('closed'))]);
        assert.equal(msgs[0], 'hello');
        assert.deepEqual([...Buffer.from(msgs[1])], [0, 1, 2, 255]);
        assert.equal(msgs[2], 'ünïcode ✓');
      } finally {
        e.close();
      }
    });
  }

  test('server exits 0 on SIGTERM with clients connected', { timeout: 20000 }, async () => {
    const s = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    const p = await connect(srv.url, { transports: ['polling'] });
    sockets.push(p);
    const gone = waitFor(s, 'disconnect', 15000);
    await assertCleanExit(srv);
    assert.equal(await gone, 'transport close');
  });
});
