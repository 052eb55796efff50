// tests/integration/recording_rpc.test.mjs: the SFU's forwarding primitive (room.forward /
// room.unforward, docs/RPC.md, docs/RECORDING.md "The forward") without media: parameter
// errors, the in-band description (sent at once and every second), the RTCP BYE at the end,
// room.close ending forwards, stats, and a receiver that sends junk or keyframe requests back.
// The SFU must exit 0 on SIGTERM (under ASan: no leak). Media through a forward: tests/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { RpcClient, startSfu } from '../lib/rpc.mjs';

let sfu;
let rpc;
before(async () => {
  sfu = await startSfu({ id: 'itest-fwd' });
  ({ rpc } = await RpcClient.open(sfu.rpcPath));
});
after(async () => {
  await rpc?.close().catch(() => {});
  assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000));
});

// A UDP receiver on 127.0.0.1 that keeps every datagram and its sender.
async function receiver() {
  const sock = dgram.createSocket('udp4');
  const got = [];
  const waiters = new Set();
  sock.on('message', (msg, rinfo) => {
    got.push({ msg, rinfo });
    for (const w of waiters) w();
  });
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  const port = sock.address().port;
  // Resolves with the first datagram at index >= from that pred accepts.
  const wait = (pred, { from = 0, timeoutMs = 5000, what = 'datagram' } = {}) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = got.slice(from).find((d) => pred(d.msg));
        if (hit) {
          waiters.delete(check);
          clearTimeout(t);
          resolve(hit);
        }
      };
      const t = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${what} within ${timeoutMs} ms (got ${got.length})`)); }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { sock, port, got, wait, close: () => sock.close() };
}

const isDesc = (m) => m[0] === 0x76; // 'v': the SDP description
// An RTCP compound whose packets include a BYE (RR first, as the SFU sends it).
function hasBye(m) {
  for (let off = 0; off + 4 <= m.length;) {
    if (m[off + 1] === 203) return true;
    off += (m.readUInt16BE(off + 2) + 1) * 4;
  }
  return false;
}

async function expectError(method, params, code) {
  const r = await rpc.request(method, params);
  assert.ok(r.error, `${method} ${JSON.stringify(params)} -> ${JSON.stringify(r)}`);
  assert.equal(r.error.code, code, JSON.stringify(r));
}

test('room.forward parameters and errors', async () => {
  await rpc.call('room.open', { room: 'f1' });
  await expectError('room.forward', { room: 'f1', id: 'a', host: '10.0.0.1', port: 5000 }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', id: 'a', host: '::ffff:10.0.0.1', port: 5000 }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', id: 'a', host: 'localhost', port: 5000 }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', id: 'a', host: '127.0.0.1', port: 0 }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', id: 'a', host: '127.0.0.1', port: 70000 }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', id: 'a', host: '127.0.0.1', port: '5000' }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', host: '127.0.0.1', port: 5000 }, 'invalid_params');
  await expectError('room.forward', { room: 'f1', id: 'bad id', host: '127.0.0.1', port: 5000 }, 'invalid_params');
  await expectError('room.forward', { id: 'a', host: '127.0.0.1', port: 5000 }, 'invalid_params');
  await expectError('room.forward', { room: 'nope', id: 'a', host: '127.0.0.1', port: 5000 }, 'not_found');
  await expectError('room.unforward', { room: 'f1', id: 'a' }, 'not_found');
  await expectError('room.unforward', { room: 'nope', id: 'a' }, 'not_found');
  await expectError('room.unforward', { room: 'f1' }, 'invalid_params');
});

test('a forward sends the description at once and every second, and a BYE when it ends', async () => {
  await rpc.call('room.open', { room: 'f2' });
  const rx = await receiver();
  try {
    const res = await rpc.call('room.forward', { room: 'f2', id: 'rec.1', host: '127.0.0.1', port: rx.port });
    assert.equal(res.id, 'rec.1');
    assert.match(res.sdp, /^v=0\r\no=onair-sfu 1 \d+ IN IP4 127\.0\.0\.1\r\ns=f2\r\nt=0 0\r\n$/); // no publisher: no m=
    const first = await rx.wait(isDesc);
    assert.equal(first.msg.toString(), res.sdp);
    const n = rx.got.length;
    await rx.wait(isDesc, { from: n, timeoutMs: 3000, what: 'the repeated description' });
    // the same id again, and a fifth forward, are conflicts
    await expectError('room.forward', { room: 'f2', id: 'rec.1', host: '127.0.0.1', port: rx.port }, 'conflict');
    for (const id of ['b', 'c', 'd']) await rpc.call('room.forward', { room: 'f2', id, host: '127.0.0.1', port: rx.port });
    await expectError('room.forward', { room: 'f2', id: 'e', host: '127.0.0.1', port: rx.port }, 'conflict');
    const st = await rpc.call('stats', { room: 'f2' });
    const room = st.rooms.find((r) => r.room === 'f2');
    assert.deepEqual(room.forwards.map((f) => f.id).sort(), ['b', 'c', 'd', 'rec.1']);
    assert.equal(room.forwards[0].host, '127.0.0.1');
    // junk and a keyframe request (PLI) sent back do no harm without a publisher
    const pli = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1, 0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    const target = rx.got[0].rinfo;
    rx.sock.send(pli, target.port, target.address);
    rx.sock.send(Buffer.from('junk'), target.port, target.address);
    const from = rx.got.length;
    const un = await rpc.call('room.unforward', { room: 'f2', id: 'rec.1' });
    assert.equal(un.id, 'rec.1');
    for (const k of ['packets', 'bytes', 'dropped']) assert.equal(typeof un[k], 'number');
    await rx.wait(hasBye, { from, what: 'RTCP BYE' });
    await expectError('room.unforward', { room: 'f2', id: 'rec.1' }, 'not_found');
    // room.close ends the other three: three more BYEs
    const from2 = rx.got.length;
    await rpc.call('room.close', { room: 'f2' });
    const end = Date.now() + 5000;
    while (rx.got.slice(from2).filter((d) => hasBye(d.msg)).length < 3) {
      if (Date.now() > end) throw new Error('fewer than 3 BYEs after room.close');
      await rx.wait(hasBye, { from: rx.got.length, timeoutMs: 5000 }).catch(() => {});
    }
    assert.ok((await rpc.call('stats', {})).rooms.every((r) => r.room !== 'f2'));
  } finally {
    rx.close();
  }
});

test('a forward to a port nobody listens on is harmless', async () => {
  await rpc.call('room.open', { room: 'f3' });
  const rx = await receiver();
  const port = rx.port;
  rx.close(); // closed: the SFU's sends get ICMP port unreachable
  await rpc.call('room.forward', { room: 'f3', id: 'x', host: '127.0.0.1', port });
  await rpc.waitEvent('stats', () => true, { timeoutMs: 5000 }).catch(() => {}); // a stats period passes
  const st = await rpc.call('stats', { room: 'f3' });
  assert.equal(st.rooms[0].forwards.length, 1);
  await rpc.call('room.unforward', { room: 'f3', id: 'x' });
  await rpc.call('room.close', { room: 'f3' });
});
