// Rooms and broadcasts: join acks {ok, room, size}; bcast reaches the other members of the
// room (polling and websocket members alike), never the sender, never non-members; binary
// broadcasts; a member that disconnects leaves the room.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSignal, waitForArgs, withTimeout } from '../lib/server.mjs';
import { assertCleanExit, bytes, closeAll, connect, emitAck } from '../lib/sio.mjs';

/** Records every `bcast` a socket receives. */
function recorder(s) {
  const got = [];
  s.on('bcast', (...args) => got.push(args));
  return got;
}

describe('rooms and broadcast', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  test('join acks with the room size; bcast reaches the others only', { timeout: 15000 }, async () => {
    const transports = [['websocket'], ['polling'], ['websocket'], ['polling']];
    const [a, b, c, d] = await Promise.all(transports.map((t) => connect(srv.url, { transports: t })));
    sockets.push(a, b, c, d);
    const outsider = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(outsider);
    const other = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(other);

    assert.deepEqual(await emitAck(a, 'join', 'r1'), [{ ok: true, room: 'r1', size: 1 }]);
    assert.deepEqual(await emitAck(b, 'join', 'r1'), [{ ok: true, room: 'r1', size: 2 }]);
    assert.deepEqual(await emitAck(c, 'join', 'r1'), [{ ok: true, room: 'r1', size: 3 }]);
    // joining twice does not count twice
    assert.deepEqual(await emitAck(c, 'join', 'r1'), [{ ok: true, room: 'r1', size: 3 }]);
    assert.deepEqual(await emitAck(d, 'join', 'r1'), [{ ok: true, room: 'r1', size: 4 }]);
    assert.deepEqual(await emitAck(other, 'join', 'r2'), [{ ok: true, room: 'r2', size: 1 }]);

    const rec = [a, b, c, d, outsider, other].map(recorder);
    const gotB = waitForArgs(b, 'bcast');
    const gotC = waitForArgs(c, 'bcast');
    const gotD = waitForArgs(d, 'bcast');
    // bcast with an ack: acked with no arguments
    assert.deepEqual(await emitAck(a, 'bcast', 'r1', 'hello', { n: 1 }), []);
    assert.deepEqual(await gotB, ['hello', { n: 1 }]);
    assert.deepEqual(await gotC, ['hello', { n: 1 }]);
    assert.deepEqual(await gotD, ['hello', { n: 1 }]);

    // Fence: an ack from the sender's own echo proves everything the server sent it before has
    // arrived; do the same for outsider/other, then check they got nothing.
    for (const s of [a, outsider, other]) await emitAck(s, 'echo', 'fence');
    assert.equal(rec[0].length, 0, 'sender must not receive its own bcast');
    assert.equal(rec[4].length, 0, 'non-member received bcast');
    assert.equal(rec[5].length, 0, 'member of another room received bcast');
    assert.equal(rec[1].length, 1);

    // bcast without ack, from a polling member, with binary
    const gotA = waitForArgs(a, 'bcast');
    const gotC2 = waitForArgs(c, 'bcast');
    b.emit('bcast', 'r1', Buffer.from([1, 2, 3]), { nested: [Buffer.from([4])] });
    const ga = await gotA;
    assert.deepEqual(bytes(ga[0]), Buffer.from([1, 2, 3]));
    assert.deepEqual(bytes(ga[1].nested[0]), Buffer.from([4]));
    const gc = await gotC2;
    assert.deepEqual(bytes(gc[0]), Buffer.from([1, 2, 3]));
    for (const s of [b, outsider, other]) await emitAck(s, 'echo', 'fence');
    assert.equal(rec[1].length, 1, 'sender (polling) must not receive its own bcast');
    assert.equal(rec[4].length + rec[5].length, 0);

    // a bcast to a room the sender is not in still reaches that room's members
    const gotOther = waitForArgs(other, 'bcast');
    assert.deepEqual(await emitAck(outsider, 'bcast', 'r2', 'x'), []);
    assert.deepEqual(await gotOther, ['x']);
  });

  test('a member that disconnects leaves the room', { timeout: 15000 }, async () => {
    const [a, b] = await Promise.all([connect(srv.url, { transports: ['websocket'] }), connect(srv.url, { transports: ['polling'] })]);
    sockets.push(a, b);
    assert.deepEqual(await emitAck(a, 'join', 'leave-room'), [{ ok: true, room: 'leave-room', size: 1 }]);
    assert.deepEqual(await emitAck(b, 'join', 'leave-room'), [{ ok: true, room: 'leave-room', size: 2 }]);
    b.close(); // sends a Socket.IO DISCONNECT, then closes the session
    // a's re-join reports the current size; the server processes b's disconnect asynchronously
    let size;
    const end = Date.now() + 5000;
    do {
      [{ size }] = await emitAck(a, 'join', 'leave-room');
    } while (size !== 1 && Date.now() < end);
    assert.equal(size, 1);
    const c = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(c);
    assert.deepEqual(await emitAck(c, 'join', 'leave-room'), [{ ok: true, room: 'leave-room', size: 2 }]);
  });

  test('a broadcast to 200 members reaches each exactly once', { timeout: 30000 }, async () => {
    const members = await Promise.all(Array.from({ length: 200 }, () => connect(srv.url, { transports: ['websocket'] })));
    sockets.push(...members);
    for (const m of members) await emitAck(m, 'join', 'big');
    const sender = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(sender);
    const counts = new Array(200).fill(0);
    let total = 0;
    const done = new Promise((resolve) =>
      members.forEach((m, i) =>
        m.on('bcast', (k) => {
          counts[i]++;
          if (++total === 200 * 10) resolve();
          void k;
        }),
      ),
    );
    for (let k = 0; k < 10; k++) sender.emit('bcast', 'big', k, 'payload');
    await withTimeout(done, 15000, '2000 deliveries');
    await Promise.all(members.map((m) => emitAck(m, 'echo', 'fence')));
    assert.ok(counts.every((n) => n === 10), `uneven deliveries: ${counts.filter((n) => n !== 10).length} members`);
    closeAll(members);
  });

  test('server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    closeAll(sockets);
    await assertCleanExit(srv);
  });
});
