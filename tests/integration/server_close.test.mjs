// Server-side closes (socket.disconnect() and socket.disconnect(true) in Node's words, the test
// app's "disconnect-me" and "close-session" events): the client learns it was disconnected by
// the server on every transport. On polling, the DISCONNECT and the close packet queued while
// no GET was held wait for the next GET (engine.io socket.close(): polling shouldClose) instead
// of being lost with the session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSignal, waitFor } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, emitAck } from '../lib/sio.mjs';
import { decodeV4, openPolling, pollGet, pollPost } from '../conformance/lib.mjs';

describe('server-side close', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    if (srv) await assertCleanExit(srv);
  });

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    test(`close-session over ${transports.join('+')}: "io server disconnect"`, async () => {
      const s = await connect(srv.url, { transports });
      sockets.push(s);
      assert.deepEqual(await emitAck(s, 'echo', 1), [1]);
      const why = waitFor(s, 'disconnect');
      s.emit('close-session');
      assert.equal(await why, 'io server disconnect');
    });
  }

  test('raw polling: the queue survives a server close while no GET is held', async () => {
    const port = srv.port;
    const opts = { path: '/socket.io/' };
    const { sid } = await openPolling(port, opts);
    assert.equal((await pollPost(port, { ...opts, sid }, '40')).text, 'ok');
    const first = decodeV4((await pollGet(port, { ...opts, sid })).text);
    assert.match(first[0], /^40\{"sid":"/);
    // no GET is held now: the server closes the session while handling this POST
    assert.equal((await pollPost(port, { ...opts, sid }, '42["close-session"]')).text, 'ok');
    // engine.io: the queue first, alone (socket.io-client must see the DISCONNECT before the
    // close), then the close packet with the following GET
    const g = await pollGet(port, { ...opts, sid });
    assert.equal(g.status, 200);
    assert.deepEqual(decodeV4(g.text).filter((p) => p !== '2'), ['41']);
    assert.deepEqual(decodeV4((await pollGet(port, { ...opts, sid })).text), ['6', '1']);
    const after = await pollGet(port, { ...opts, sid });
    assert.equal(after.status, 400);
    assert.deepEqual(JSON.parse(after.text), { code: 1, message: 'Session ID unknown' });
  });

  test('raw polling: a namespace disconnect keeps the session; 41 comes with the next GET', async () => {
    const port = srv.port;
    const opts = { path: '/socket.io/' };
    const { sid } = await openPolling(port, opts);
    await pollPost(port, { ...opts, sid }, '40');
    await pollGet(port, { ...opts, sid });
    assert.equal((await pollPost(port, { ...opts, sid }, '42["disconnect-me"]')).text, 'ok');
    assert.deepEqual(decodeV4((await pollGet(port, { ...opts, sid })).text).filter((p) => p !== '2'), ['41']);
    assert.equal((await pollPost(port, { ...opts, sid }, '40')).text, 'ok'); // and it can connect again
    assert.match(decodeV4((await pollGet(port, { ...opts, sid })).text)[0], /^40\{"sid":"/);
  });
});
