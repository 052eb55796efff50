// socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4): polling, websocket and the
// upgrade; events, acks, binary; the /custom namespace; an invalid namespace; a 2.x and a 4.x
// client in one room.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSignal, waitFor, waitForArgs } from '../lib/server.mjs';
import { assertCleanExit, bytes, closeAll, connect, connectV2, emitAck, emitAckV2, ioV2 } from '../lib/sio.mjs';

describe('socket.io-client 2.x (EIO3)', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    const tn = transports.join('+');
    test(`${tn}: connects, emits, gets acks and binary back`, { timeout: 15000 }, async () => {
      const s = ioV2(srv.url, { forceNew: true, reconnection: false, transports });
      sockets.push(s);
      const auth = waitFor(s, 'auth');
      await waitFor(s, 'connect');
      assert.deepEqual(await auth, {});
      if (transports.length === 2 && s.io.engine.transport.name !== 'websocket') await waitFor(s.io.engine, 'upgrade');
      assert.equal(s.io.engine.transport.name, transports.at(-1));
      assert.deepEqual(await emitAckV2(s, 'message-with-ack', 1, 'two', { three: [3] }), [1, 'two', { three: [3] }]);
      assert.deepEqual(await emitAckV2(s, 'echo', 'ünï ✓'), ['ünï ✓']);
      const back = waitForArgs(s, 'message-back');
      s.emit('message', 'hi', { n: null });
      assert.deepEqual(await back, ['hi', { n: null }]);
      const bin = Buffer.from([0, 1, 2, 250, 255]);
      const binBack = waitForArgs(s, 'message-back');
      s.emit('message', bin, { nested: Buffer.from([7]) });
      const [b0, b1] = await binBack;
      assert.deepEqual(bytes(b0), bin);
      assert.deepEqual(bytes(b1.nested), Buffer.from([7]));
      const [ab] = await emitAckV2(s, 'message-with-ack', Buffer.alloc(3000, 9));
      assert.deepEqual(bytes(ab), Buffer.alloc(3000, 9));
      s.close();
    });
  }

  for (const transports of [['polling'], ['websocket']]) {
    test(`joins /custom over ${transports[0]}`, { timeout: 10000 }, async () => {
      const s = ioV2(`${srv.url}/custom`, { forceNew: true, reconnection: false, transports });
      sockets.push(s);
      const auth = waitFor(s, 'auth');
      await waitFor(s, 'connect');
      assert.equal(s.nsp, '/custom');
      assert.deepEqual(await auth, {});
      assert.deepEqual(await emitAckV2(s, 'echo', 'custom'), ['custom']);
      assert.deepEqual(await emitAckV2(s, 'join', 'v2room'), [{ ok: true, room: 'v2room', size: 1 }]);
      s.close();
    });
  }

  test('an invalid namespace is refused', { timeout: 10000 }, async () => {
    await assert.rejects(connectV2(`${srv.url}/nope`, { transports: ['websocket'] }), (err) => {
      assert.match(err.message, /Invalid namespace/);
      return true;
    });
  });

  test('2.x and 4.x clients share rooms and broadcasts', { timeout: 10000 }, async () => {
    const v2 = await connectV2(srv.url, { transports: ['websocket'] });
    const v4 = await connect(srv.url, { transports: ['polling'] });
    sockets.push(v2, v4);
    assert.deepEqual(await emitAckV2(v2, 'join', 'mixed'), [{ ok: true, room: 'mixed', size: 1 }]);
    assert.deepEqual(await emitAck(v4, 'join', 'mixed'), [{ ok: true, room: 'mixed', size: 2 }]);
    const at2 = waitForArgs(v2, 'bcast');
    await emitAck(v4, 'bcast', 'mixed', 'from-v4', Buffer.from([4]));
    const got2 = await at2;
    assert.equal(got2[0], 'from-v4');
    assert.deepEqual(bytes(got2[1]), Buffer.from([4]));
    const at4 = waitForArgs(v4, 'bcast');
    await emitAckV2(v2, 'bcast', 'mixed', 'from-v2', Buffer.from([2]));
    const got4 = await at4;
    assert.equal(got4[0], 'from-v2');
    assert.deepEqual(bytes(got4[1]), Buffer.from([2]));
  });

  test('server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    closeAll(sockets);
    await assertCleanExit(srv);
  });
});
