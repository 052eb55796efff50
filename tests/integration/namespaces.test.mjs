// Namespaces: / and /custom (separately and multiplexed over one Engine.IO session), the
// auth payload per namespace, rooms per namespace, and refused namespaces ("Invalid namespace").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Manager } from 'socket.io-client';
import { startSignal, waitFor, waitForArgs } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, emitAck, io, NO_RECONNECT } from '../lib/sio.mjs';

describe('namespaces', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  for (const transports of [['polling'], ['websocket']]) {
    test(`/custom over ${transports[0]}: auth, message-back, acks`, { timeout: 10000 }, async () => {
      const s = io(`${srv.url}/custom`, { ...NO_RECONNECT, transports, auth: { who: 'custom' } });
      sockets.push(s);
      assert.deepEqual(await waitFor(s, 'auth'), { who: 'custom' });
      assert.equal(s.nsp, '/custom');
      const back = waitForArgs(s, 'message-back');
      s.emit('message', 'in-custom', Buffer.from([1]));
      const got = await back;
      assert.equal(got[0], 'in-custom');
      assert.deepEqual([...got[1]], [1]);
      assert.deepEqual(await emitAck(s, 'message-with-ack', { x: 1 }), [{ x: 1 }]);
      s.close();
    });
  }

  test('/ and /custom multiplexed on one session, each with its own auth', { timeout: 10000 }, async () => {
    const m = new Manager(srv.url, { reconnection: false, transports: ['websocket'] });
    const root = m.socket('/', { auth: { ns: 'root' } });
    const custom = m.socket('/custom', { auth: { ns: 'custom' } });
    sockets.push(root, custom);
    const [ra, ca] = await Promise.all([waitFor(root, 'auth'), waitFor(custom, 'auth')]);
    assert.deepEqual(ra, { ns: 'root' });
    assert.deepEqual(ca, { ns: 'custom' });
    assert.notEqual(root.id, custom.id);
    assert.deepEqual(await emitAck(root, 'echo', 'r'), ['r']);
    assert.deepEqual(await emitAck(custom, 'echo', 'c'), ['c']);
    // leaving one namespace keeps the other working on the same session
    const engineId = m.engine.id;
    custom.disconnect();
    assert.deepEqual(await emitAck(root, 'echo', 'still'), ['still']);
    assert.equal(m.engine.id, engineId);
    // and it can connect again
    custom.connect();
    await waitFor(custom, 'connect');
    assert.deepEqual(await emitAck(custom, 'echo', 'again'), ['again']);
    root.close();
    custom.close();
  });

  test('rooms are per namespace', { timeout: 10000 }, async () => {
    const a = await connect(srv.url, { transports: ['websocket'] });
    const b = await connect(`${srv.url}/custom`, { transports: ['websocket'] });
    const c = await connect(`${srv.url}/custom`, { transports: ['websocket'] });
    sockets.push(a, b, c);
    assert.deepEqual(await emitAck(a, 'join', 'same'), [{ ok: true, room: 'same', size: 1 }]);
    assert.deepEqual(await emitAck(b, 'join', 'same'), [{ ok: true, room: 'same', size: 1 }]);
    assert.deepEqual(await emitAck(c, 'join', 'same'), [{ ok: true, room: 'same', size: 2 }]);
    let aGot = 0;
    a.on('bcast', () => aGot++);
    const got = waitForArgs(b, 'bcast');
    await emitAck(c, 'bcast', 'same', 'only-custom');
    assert.deepEqual(await got, ['only-custom']);
    await emitAck(a, 'echo', 'fence');
    assert.equal(aGot, 0, 'a bcast in /custom reached / of the same room name');
  });

  for (const transports of [['polling'], ['websocket']]) {
    test(`unknown namespace over ${transports[0]}: connect_error "Invalid namespace"`, { timeout: 10000 }, async () => {
      await assert.rejects(connect(`${srv.url}/nope`, { transports }), (err) => {
        assert.equal(err.message, 'Invalid namespace');
        return true;
      });
    });
  }

  test('an invalid namespace does not break the session\'s valid namespace', { timeout: 10000 }, async () => {
    const m = new Manager(srv.url, { reconnection: false, transports: ['websocket'] });
    const root = m.socket('/');
    const bad = m.socket('/does/not/exist');
    sockets.push(root, bad);
    const err = await waitFor(bad, 'connect_error');
    assert.equal(err.message, 'Invalid namespace');
    if (!root.connected) await waitFor(root, 'connect');
    assert.deepEqual(await emitAck(root, 'echo', 'ok'), ['ok']);
    root.close();
    bad.close();
  });

  test('server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    closeAll(sockets);
    await assertCleanExit(srv);
  });
});
