// Reconnection: the server stops (SIGTERM, clean exit) and a new one starts on the same port;
// the official client's reconnection brings the socket back with a new id and working events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startSignal, waitFor } from '../lib/server.mjs';
import { assertCleanExit, emitAck, io } from '../lib/sio.mjs';

const FAST = { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 };

describe('reconnect after a server restart', { timeout: 90000 }, () => {
  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
    test(`socket.io-client 4.x over ${transports.join('+')}`, { timeout: 30000 }, async () => {
      const srv = await startSignal();
      let srv2;
      const s = io(srv.url, { ...FAST, transports });
      try {
        await waitFor(s, 'connect', 5000);
        const firstId = s.id;
        assert.deepEqual(await emitAck(s, 'join', 'keep'), [{ ok: true, room: 'keep', size: 1 }]);
        if (transports.length === 2 && s.io.engine.transport.name !== 'websocket') await waitFor(s.io.engine, 'upgrade');

        const disc = waitFor(s, 'disconnect', 15000);
        await assertCleanExit(srv);
        const reason = await disc;
        // "io server disconnect" would stop the client's reconnection: the server must only
        // close the transport when it shuts down, as Node's does.
        assert.match(reason, /^transport (close|error)$/);
        assert.equal(s.connected, false);

        const back = waitFor(s, 'connect', 15000);
        srv2 = await startSignal({ port: srv.port });
        await back;
        assert.ok(s.connected);
        assert.notEqual(s.id, firstId);
        assert.deepEqual(await emitAck(s, 'echo', 'back'), ['back']);
        // the new server has fresh state: the room starts empty
        assert.deepEqual(await emitAck(s, 'join', 'keep'), [{ ok: true, room: 'keep', size: 1 }]);
        s.close();
        await assertCleanExit(srv2);
      } finally {
        s.close();
        await srv.stop();
        await srv2?.stop();
      }
    });
  }

  test('socket.io-client 4.x: explicit client disconnect is not followed by reconnection', { timeout: 15000 }, async () => {
    const srv = await startSignal();
    const s = io(srv.url, { ...FAST, transports: ['websocket'] });
    try {
      await waitFor(s, 'connect', 5000);
      const disc = waitFor(s, 'disconnect');
      s.disconnect();
      assert.equal(await disc, 'io client disconnect');
      // a second client sees the server healthy
      const t = io(srv.url, { ...FAST, transports: ['polling'] });
      await waitFor(t, 'connect', 5000);
      assert.deepEqual(await emitAck(t, 'echo', 1), [1]);
      t.close();
      assert.equal(s.connected, false);
      await assertCleanExit(srv);
    } finally {
      s.close();
      await srv.stop();
    }
  });
});
