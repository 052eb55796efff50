// maxHttpBufferSize (--max-payload): a message over the limit closes that client's session
// only; clients under the limit (same server, both transports) keep working.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSignal, waitFor } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, emitAck } from '../lib/sio.mjs';

const MAX = 1000;

describe('max payload', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  let bystanders;
  before(async () => {
    srv = await startSignal({ args: ['--max-payload', String(MAX)] });
    bystanders = await Promise.all([
      connect(srv.url, { transports: ['websocket'] }),
      connect(srv.url, { transports: ['polling'] }),
    ]);
    sockets.push(...bystanders);
    for (const b of bystanders) await emitAck(b, 'join', 'lim');
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  async function bystandersWork() {
    for (const b of bystanders) {
      assert.ok(b.connected, 'a bystander was disconnected');
      assert.deepEqual(await emitAck(b, 'echo', 'still-here'), ['still-here']);
    }
    // and their session still has its room membership
    assert.equal((await emitAck(bystanders[0], 'join', 'lim'))[0].size, 2);
  }

  for (const transports of [['websocket'], ['polling']]) {
    const tn = transports[0];
    test(`${tn}: a message under the limit passes`, { timeout: 10000 }, async () => {
      const s = await connect(srv.url, { transports });
      sockets.push(s);
      const text = 'y'.repeat(MAX - 100);
      assert.deepEqual(await emitAck(s, 'echo', text), [text]);
      s.close();
    });

    test(`${tn}: a text message over the limit closes that session only`, { timeout: 10000 }, async () => {
      const s = await connect(srv.url, { transports });
      sockets.push(s);
      assert.deepEqual(await emitAck(s, 'echo', 'before'), ['before']);
      const disc = waitFor(s, 'disconnect', 8000);
      s.emit('message', 'x'.repeat(MAX * 2));
      assert.match(await disc, /^transport (close|error)$/);
      await bystandersWork();
    });

    test(`${tn}: a binary message over the limit closes that session only`, { timeout: 10000 }, async () => {
      const s = await connect(srv.url, { transports });
      sockets.push(s);
      const disc = waitFor(s, 'disconnect', 8000);
      s.emit('message', Buffer.alloc(MAX * 3, 7));
      assert.match(await disc, /^transport (close|error)$/);
      await bystandersWork();
    });
  }

  test('server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    closeAll(sockets);
    await assertCleanExit(srv);
  });
});
