// Events, acks and binary payloads with socket.io-client 4.x over both transports: the `auth`
// event carrying the CONNECT auth payload, message -> message-back, message-with-ack, echo,
// Buffer/ArrayBuffer/typed-array arguments nested in objects and arrays, and odd JSON.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSignal, waitFor, waitForArgs } from '../lib/server.mjs';
import { assertCleanExit, bytes, closeAll, connect, emitAck, io, NO_RECONNECT } from '../lib/sio.mjs';

const bin = (n, seed = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255));

describe('events and acks (socket.io-client 4.x)', { timeout: 90000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  test('auth event carries the CONNECT auth payload', { timeout: 10000 }, async () => {
    const auth = { token: 'abc.def', n: 3, nested: { ok: true, list: [1, 'two'] } };
    const s = io(srv.url, { ...NO_RECONNECT, transports: ['websocket'], auth });
    sockets.push(s);
    assert.deepEqual(await waitFor(s, 'auth'), auth);
    s.close();
  });

  test('auth event is {} when the client sends no auth', { timeout: 10000 }, async () => {
    const s = io(srv.url, { ...NO_RECONNECT, transports: ['polling'] });
    sockets.push(s);
    assert.deepEqual(await waitFor(s, 'auth'), {});
    s.close();
  });

  for (const transports of [['polling'], ['websocket']]) {
    const tn = transports[0];
    describe(`over ${tn}`, () => {
      let s;
      before(async () => {
        s = await connect(srv.url, { transports });
        sockets.push(s);
      });
      after(() => s?.close());

      test('message -> message-back with the same arguments', { timeout: 5000 }, async () => {
        const args = ['a', 1, { b: [true, false, null] }, [], {}, 'ünï ✓ \u2028 "q" \\ \n'];
        const back = waitForArgs(s, 'message-back');
        s.emit('message', ...args);
        assert.deepEqual(await back, args);
      });

      test('message without arguments -> message-back without arguments', { timeout: 5000 }, async () => {
        const back = waitForArgs(s, 'message-back');
        s.emit('message');
        assert.deepEqual(await back, []);
      });

      test('message-with-ack acks with the same arguments', { timeout: 5000 }, async () => {
        const args = [42, 'x', { deep: { er: [1, 2, { x: 'y' }] } }];
        assert.deepEqual(await emitAck(s, 'message-with-ack', ...args), args);
      });

      test('numbers and strings survive unchanged (raw JSON is not re-serialised)', { timeout: 5000 }, async () => {
        const args = [0, -0.5, 1e21, 123456789012, 3.141592653589793, '\u0000\u001f', '😀', 'a'.repeat(5000)];
        assert.deepEqual(await emitAck(s, 'message-with-ack', ...args), args);
      });

      test('acks to many concurrent emits each reach the right callback', { timeout: 10000 }, async () => {
        const res = await Promise.all(Array.from({ length: 100 }, (_, i) => emitAck(s, 'echo', { i })));
        assert.deepEqual(res.map((r) => r[0].i), Array.from({ length: 100 }, (_, i) => i));
      });

      test('Buffer payload: message-back and message-with-ack', { timeout: 5000 }, async () => {
        const b = bin(1000, 1);
        const back = waitForArgs(s, 'message-back');
        s.emit('message', b);
        const got = await back;
        assert.equal(got.length, 1);
        assert.deepEqual(bytes(got[0]), b);
        const [a] = await emitAck(s, 'message-with-ack', b);
        assert.deepEqual(bytes(a), b);
      });

      test('ArrayBuffer and typed arrays nested in objects and arrays', { timeout: 5000 }, async () => {
        const ab = new Uint8Array([9, 8, 7, 0, 255]).buffer;
        const u16 = new Uint16Array([1, 65535]);
        const payload = { name: 'files', list: [{ data: ab }, { data: bin(3, 5) }], u16, empty: Buffer.alloc(0) };
        const all = await emitAck(s, 'message-with-ack', payload, 'tail', [bin(70000, 2)]);
        assert.equal(all.length, 3);
        const p = all[0];
        assert.equal(p.name, 'files');
        assert.deepEqual(bytes(p.list[0].data), Buffer.from([9, 8, 7, 0, 255]));
        assert.deepEqual(bytes(p.list[1].data), bin(3, 5));
        assert.deepEqual(bytes(p.u16), Buffer.from(u16.buffer));
        assert.equal(bytes(p.empty).length, 0);
        assert.equal(all[1], 'tail');
        assert.deepEqual(bytes(all[2][0]), bin(70000, 2));
        const back = waitForArgs(s, 'message-back');
        s.emit('message', { a: [ab, { b: bin(10) }] }, bin(1));
        const [m1, m2] = await back;
        assert.deepEqual(bytes(m1.a[0]), Buffer.from([9, 8, 7, 0, 255]));
        assert.deepEqual(bytes(m1.a[1].b), bin(10));
        assert.deepEqual(bytes(m2), bin(1));
      });

      test('binary and text events interleaved keep their order', { timeout: 5000 }, async () => {
        const got = [];
        const done = new Promise((resolve) => {
          const on = (v) => {
            got.push(Buffer.isBuffer(v) || v instanceof ArrayBuffer ? `b${bytes(v)[0]}` : `t${v}`);
            if (got.length === 20) {
              s.off('message-back', on);
              resolve();
            }
          };
          s.on('message-back', on);
        });
        const want = [];
        for (let i = 0; i < 20; i++) {
          if (i % 2) {
            s.emit('message', Buffer.from([i]));
            want.push(`b${i}`);
          } else {
            s.emit('message', i);
            want.push(`t${i}`);
          }
        }
        await done;
        assert.deepEqual(got, want);
      });
    });
  }

  test('server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    closeAll(sockets);
    await assertCleanExit(srv);
  });
});
