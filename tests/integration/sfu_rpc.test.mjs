// tests/integration/sfu_rpc.test.mjs: onair-sfu's RPC server against docs/RPC.md, without media:
// session (hello, bad_state, several controllers, grace/resume per node), framing errors, every kind of
// malformed request (exact error code, the SFU lives on), rooms, drain and stats. No peer is
// created here, so no ICE agent gathers; peer tests are in tests/e2e/ (inside a netns).
// Every SFU must exit 0 on SIGTERM: under ASan that also proves no leak.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { RpcClient, startSfu, frame, MAX_FRAME } from '../lib/rpc.mjs';

const HELLO = { version: 1, node: 'itest' };

// Sends raw bytes as one frame (or several raw writes) and resolves with the first response
// with id null received after it.
async function nullIdResponse(rpc, body) {
  const from = rpc.messages.length;
  rpc.send(body);
  return rpc.waitMessage((m) => m && 'id' in m && m.id === null, { from, what: 'a response with id null' });
}

// The SFU still answers on this connection.
async function alive(rpc) {
  const r = await rpc.request('stats', {});
  assert.ok(r.result, `stats after bad input: ${JSON.stringify(r)}`);
}

function assertError(resp, code, id) {
  assert.ok(resp.error, `expected error ${code}, got ${JSON.stringify(resp)}`);
  assert.equal(resp.error.code, code, JSON.stringify(resp));
  assert.equal(typeof resp.error.message, 'string');
  assert.ok(resp.error.message.length > 0, 'error message is empty');
  assert.ok(!('result' in resp), 'error response also has a result');
  if (id !== undefined) assert.equal(resp.id, id);
}

const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

function assertStatsShape(s, sfuId, { event = false } = {}) {
  assert.equal(s.sfu_id, sfuId);
  assert.ok(s.load && typeof s.load === 'object', 'load');
  for (const k of ['peers', 'rooms', 'bitrate_in', 'bitrate_out', 'cpu']) assert.ok(isNum(s.load[k]), `load.${k}: ${JSON.stringify(s.load)}`);
  assert.ok(Array.isArray(s.rooms), 'rooms is an array');
  // the periodic event leaves the per-peer entries out (the stats method has them)
  if (event) assert.equal(s.peers, undefined, 'no peers in the event');
  else assert.ok(Array.isArray(s.peers), 'peers is an array');
  for (const r of s.rooms) {
    assert.equal(typeof r.room, 'string');
    assert.ok(r.publisher === null || typeof r.publisher === 'string' || r.publisher === undefined, `publisher ${r.publisher}`);
    assert.ok(isNum(r.subscribers) || Array.isArray(r.subscribers), `subscribers ${JSON.stringify(r.subscribers)}`);
    for (const k of ['bitrate_in', 'packets_in', 'packets_lost', 'nacks', 'plis']) assert.ok(isNum(r[k]), `rooms[].${k}: ${JSON.stringify(r)}`);
  }
}

describe('session', () => {
  let sfu;
  before(async () => { sfu = await startSfu({ args: ['--grace-ms', '10000'] }); });
  after(async () => { assert.equal(await sfu.stop(), 0, sfu.logText()); });

  test('requests before hello get bad_state; hello returns version, sfu_id, pid, capacity, resumed', async () => {
    const rpc = await RpcClient.connect(sfu.rpcPath);
    assertError(await rpc.request('stats', {}), 'bad_state');
    assertError(await rpc.request('room.open', { room: 'r1' }), 'bad_state');
    assertError(await rpc.request('drain', { on: true }), 'bad_state');
    // Malformed input before hello still gets its own code.
    assertError(await rpc.request('no.such.method', {}), 'unknown_method');
    const h = await rpc.call('hello', HELLO);
    assert.equal(h.version, 1);
    assert.equal(h.sfu_id, 'test');
    assert.equal(h.pid, sfu.pid);
    assert.ok(Number.isInteger(h.capacity.max_peers) && h.capacity.max_peers > 0, JSON.stringify(h.capacity));
    assert.deepEqual(h.resumed, []);
    await alive(rpc);
    await rpc.close();
  });

  test('a second controller (another node) is accepted and works beside the first', async () => {
    const { rpc: first } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-a' });
    const { rpc: second, hello } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-b' });
    assert.equal(hello.sfu_id, 'test');
    assert.deepEqual(hello.resumed, []);
    assert.equal(hello.draining, false);
    assert.ok(hello.load && hello.load.peers === 0, JSON.stringify(hello.load));
    await first.call('room.open', { room: 'of-a' });
    await second.call('room.open', { room: 'of-b' });
    // rooms are shared: each controller sees both, and may close either
    for (const rpc of [first, second]) {
      const st = await rpc.call('stats', {});
      assert.deepEqual(st.rooms.map((r) => r.room).sort(), ['of-a', 'of-b']);
    }
    await second.call('room.close', { room: 'of-a' });
    await first.call('room.close', { room: 'of-b' });
    assert.equal(first.messages.filter((m) => m.event === 'error').length, 0);
    assert.equal(second.messages.filter((m) => m.event === 'error').length, 0);
    await first.close();
    await alive(second);
    await second.close();
  });

  test('a hello as another node on a connection that said hello -> conflict', async () => {
    const { rpc } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-c' });
    assertError(await rpc.request('hello', { version: 1, node: 'node-d' }), 'conflict');
    // the same node again is fine (and changes nothing)
    assert.deepEqual((await rpc.call('hello', { version: 1, node: 'node-c' })).resumed, []);
    assertError(await rpc.request('hello', { version: 1, node: '' }), 'invalid_params');
    await alive(rpc);
    await rpc.close();
  });

  test('a new connection of a connected node takes over; the old one gets an error event and is closed', async () => {
    const { rpc: old } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-e' });
    await old.call('room.open', { room: 'of-e' });
    const { rpc: fresh, hello } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-e' });
    assert.deepEqual(hello.resumed, ['of-e']);
    const ev = await old.waitEvent('error');
    assert.match(ev.message, /replaced/);
    await old.waitClosed();
    await fresh.call('room.close', { room: 'of-e' });
    await fresh.close();
  });

  test('hello with resume: false closes what the node left behind; other nodes keep theirs', async () => {
    const { rpc: a } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-h' });
    const { rpc: b } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-i' });
    await a.call('room.open', { room: 'of-h' });
    await b.call('room.open', { room: 'of-i' });
    await a.close();
    const fresh = await RpcClient.connect(sfu.rpcPath);
    assertError(await fresh.request('hello', { version: 1, node: 'node-h', resume: 'no' }), 'invalid_params');
    const hello = await fresh.call('hello', { version: 1, node: 'node-h', resume: false });
    assert.deepEqual(hello.resumed, []);
    const st = await fresh.call('stats', {});
    assert.deepEqual(st.rooms.map((r) => r.room), ['of-i']);
    await b.call('room.close', { room: 'of-i' });
    await fresh.close();
    await b.close();
  });

  test('grace and resume are per node: the other node is unaffected and does not resume them', async () => {
    const { rpc: a } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-f' });
    const { rpc: b } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-g' });
    await a.call('room.open', { room: 'of-f' });
    await b.call('room.open', { room: 'of-g' });
    await a.close();
    await alive(b);
    // node-g says hello again on the same connection: only its own room is its to resume
    assert.deepEqual((await b.call('hello', { version: 1, node: 'node-g' })).resumed, ['of-g']);
    const { rpc: a2, hello } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-f' });
    assert.deepEqual(hello.resumed, ['of-f']);
    await a2.call('room.close', { room: 'of-f' });
    await b.call('room.close', { room: 'of-g' });
    await a2.close();
    await b.close();
  });

  test('a new controller within the grace period resumes the rooms', async () => {
    const { rpc } = await RpcClient.reopen(sfu.rpcPath);
    assert.equal((await rpc.call('room.open', { room: 'keep-me' })).room, 'keep-me');
    await rpc.close();
    const { rpc: again, hello } = await RpcClient.reopen(sfu.rpcPath);
    assert.ok(hello.resumed.includes('keep-me'), JSON.stringify(hello));
    const st = await again.call('stats', {});
    assert.ok(st.rooms.some((r) => r.room === 'keep-me'), JSON.stringify(st.rooms));
    await again.call('room.close', { room: 'keep-me' });
    await again.close();
  });

  test('the SFU survives a controller that vanishes with requests in flight', async () => {
    const { rpc } = await RpcClient.reopen(sfu.rpcPath);
    for (let i = 0; i < 20; i++) rpc.send({ id: 1000 + i, method: 'room.open', params: { room: `gone-${i}` } });
    rpc.writeRaw(frame({ id: 2000, method: 'stats', params: {} }).subarray(0, 7)); // half a frame
    await rpc.destroy();
    const { rpc: again } = await RpcClient.reopen(sfu.rpcPath);
    await alive(again);
    await again.close();
  });
});

test('after the grace period the SFU drops the rooms of the lost controller, not those of another', async () => {
  const sfu = await startSfu({ args: ['--grace-ms', '200'] });
  try {
    const { rpc: other } = await RpcClient.reopen(sfu.rpcPath, { node: 'stays' });
    await other.call('room.open', { room: 'long-lived' });
    const { rpc } = await RpcClient.reopen(sfu.rpcPath);
    await rpc.call('room.open', { room: 'short-lived' });
    await rpc.close();
    // The behaviour under test is a timer: wait for its log line (200 ms grace).
    await sfu.waitLog((j) => /grace period: its rooms and peers closed/.test(j.msg) && j.node === 'test-node');
    const { rpc: again, hello } = await RpcClient.reopen(sfu.rpcPath);
    assert.deepEqual(hello.resumed, []);
    const st = await again.call('stats', {});
    assert.deepEqual(st.rooms.map((r) => r.room), ['long-lived']);
    await again.close();
    await other.close();
  } finally {
    assert.equal(await sfu.stop(), 0, sfu.logText());
  }
});

describe('several controllers: events', () => {
  let sfu;
  before(async () => { sfu = await startSfu({ id: 'sfu-m', args: ['--stats-ms', '200'] }); });
  after(async () => { assert.equal(await sfu.stop(), 0, sfu.logText()); });

  test('stats events go to every controller; drain by one shows in the stats and hello of the other', async () => {
    const { rpc: a } = await RpcClient.reopen(sfu.rpcPath, { node: 'ev-a' });
    const { rpc: b } = await RpcClient.reopen(sfu.rpcPath, { node: 'ev-b' });
    const fromB = b.messages.length;
    await a.call('drain', { on: true });
    const ea = await a.waitEvent('stats', (d) => d.load.draining === true);
    const eb = await b.waitEvent('stats', (d) => d.load.draining === true, { from: fromB });
    assertStatsShape(ea, 'sfu-m', { event: true });
    assertStatsShape(eb, 'sfu-m', { event: true });
    assert.equal(eb.load.max_peers, 1000);
    const { rpc: c, hello } = await RpcClient.reopen(sfu.rpcPath, { node: 'ev-c' });
    assert.equal(hello.draining, true);
    assert.equal(hello.load.draining, true);
    assertError(await c.request('subscriber.create', { room: 'x', peer: 'y' }), 'draining');
    await b.call('drain', { on: false });
    await c.waitEvent('stats', (d) => d.load.draining === false);
    for (const r of [a, b, c]) await r.close();
  });
});

describe('framing', () => {
  let sfu;
  before(async () => { sfu = await startSfu(); });
  after(async () => { assert.equal(await sfu.stop(), 0, sfu.logText()); });

  for (const [name, len] of [['over 1 MiB', MAX_FRAME + 1], ['0xffffffff', 0xffffffff], ['zero', 0]]) {
    test(`a frame length of ${name} closes the connection; a new connection works`, async () => {
      const { rpc } = await RpcClient.reopen(sfu.rpcPath);
      const h = Buffer.alloc(4);
      h.writeUInt32BE(len, 0);
      rpc.writeRaw(len ? Buffer.concat([h, Buffer.from('{"id":')]) : h);
      await rpc.waitClosed();
      const errEv = rpc.messages.find((m) => m && m.event === 'error');
      if (errEv) assert.equal(typeof errEv.data.message, 'string');
      const { rpc: again } = await RpcClient.reopen(sfu.rpcPath);
      await alive(again);
      await again.close();
    });
  }

  test('a frame of exactly 1 MiB is accepted and answered', async () => {
    const { rpc } = await RpcClient.reopen(sfu.rpcPath);
    const head = '{"id":77,"method":"stats","params":{},"pad":"';
    const body = head + 'x'.repeat(MAX_FRAME - head.length - 2) + '"}';
    assert.equal(Buffer.byteLength(body), MAX_FRAME);
    const p = rpc.waitMessage((m) => m && m.id === 77, { timeoutMs: 10000 });
    rpc.send(body);
    const r = await p;
    assert.ok(r.result || (r.error && r.error.code === 'invalid_params'), JSON.stringify(r).slice(0, 300));
    await alive(rpc);
    await rpc.close();
  });

  test('frames split across writes and several frames in one write', async () => {
    const { rpc } = await RpcClient.reopen(sfu.rpcPath);
    const bytes = Buffer.concat([frame({ id: 501, method: 'stats', params: {} }), frame({ id: 502, method: 'room.open', params: { room: 'split' } })]);
    const p1 = rpc.waitMessage((m) => m.id === 501);
    const p2 = rpc.waitMessage((m) => m.id === 502);
    // Header split in the middle, then the rest one byte at a time for a while, then the rest.
    rpc.writeRaw(bytes.subarray(0, 2));
    for (let i = 2; i < 12; i++) { await delay(2); rpc.writeRaw(bytes.subarray(i, i + 1)); }
    rpc.writeRaw(bytes.subarray(12));
    assert.ok((await p1).result);
    assert.equal((await p2).result.room, 'split');
    await rpc.close();
  });
});

describe('malformed requests', () => {
  let sfu;
  let rpc;
  before(async () => {
    sfu = await startSfu();
    ({ rpc } = await RpcClient.reopen(sfu.rpcPath));
  });
  after(async () => {
    await rpc.close();
    assert.equal(await sfu.stop(), 0, sfu.logText());
  });

  // [name, frame body] -> invalid_request with id null
  const nullId = [
    ['not JSON', '{abc'],
    ['truncated JSON', '{"id":1,"method":"stats"'],
    ['trailing garbage', '{"id":1,"method":"stats"} x'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['a JSON array', '[1,2,3]'],
    ['a JSON number', '42'],
    ['a JSON string', '"hello"'],
    ['JSON null', 'null'],
    ['an empty object', '{}'],
    ['no id', { method: 'stats', params: {} }],
    ['a string id', { id: '7', method: 'stats', params: {} }],
    ['id 0', { id: 0, method: 'stats', params: {} }],
    ['a negative id', { id: -3, method: 'stats', params: {} }],
    ['a fractional id', { id: 1.5, method: 'stats', params: {} }],
    ['id null', { id: null, method: 'stats', params: {} }],
    ['an event from the controller', { event: 'stats', data: {} }],
    ['nesting 100000 deep', '['.repeat(100000) + ']'.repeat(100000)],
    ['a NUL escape', '{"id":1,"method":"stats\\u0000"}'],
  ];
  for (const [name, body] of nullId) {
    test(`${name} -> invalid_request with id null`, async () => {
      const r = await nullIdResponse(rpc, body);
      assertError(r, 'invalid_request', null);
      await alive(rpc);
    });
  }

  // [name, request (with id), expected code]: the response carries the request's id.
  let nextId = 9000;
  const withId = [
    ['a method that is not a string', { method: 5, params: {} }, 'invalid_request'],
    ['no method', { params: {} }, 'invalid_request'],
    ['an unknown method', { method: 'room.explode', params: {} }, 'unknown_method'],
    ['an empty method', { method: '', params: {} }, 'unknown_method'],
    ['params that are a number', { method: 'room.open', params: 3 }, 'invalid_params'],
    ['params that are an array', { method: 'room.open', params: ['r'] }, 'invalid_params'],
    ['missing params', { method: 'room.open' }, 'invalid_params'],
    ['room not a string', { method: 'room.open', params: { room: 5 } }, 'invalid_params'],
    ['an empty room id', { method: 'room.open', params: { room: '' } }, 'invalid_params'],
    ['a room id with a space', { method: 'room.open', params: { room: 'a b' } }, 'invalid_params'],
    ['a room id with a slash', { method: 'room.open', params: { room: '../x' } }, 'invalid_params'],
    ['a room id of 129 bytes', { method: 'room.open', params: { room: 'r'.repeat(129) } }, 'invalid_params'],
    ['a room id with UTF-8', { method: 'room.open', params: { room: 'r\u00e9' } }, 'invalid_params'],
    ['room.close of an unknown room', { method: 'room.close', params: { room: 'never-opened' } }, 'not_found'],
    ['publisher.offer without sdp', { method: 'publisher.offer', params: { room: 'r1', peer: 'p1' } }, 'invalid_params'],
    ['publisher.offer with a numeric sdp', { method: 'publisher.offer', params: { room: 'r1', peer: 'p1', sdp: 1 } }, 'invalid_params'],
    ['publisher.offer without peer', { method: 'publisher.offer', params: { room: 'r1', sdp: 'v=0\r\n' } }, 'invalid_params'],
    ['publisher.offer with garbage SDP', { method: 'publisher.offer', params: { room: 'r1', peer: 'p1', sdp: 'hello, world' } }, 'invalid_params'],
    ['publisher.offer with an SDP without media', { method: 'publisher.offer', params: { room: 'r1', peer: 'p1', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n' } }, 'invalid_params'],
    ['publisher.offer with binary junk SDP', { method: 'publisher.offer', params: { room: 'r1', peer: 'p1', sdp: 'v=0\r\nm=\u0001\u0002\r\n\u00ff' } }, 'invalid_params'],
    ['subscriber.create in an unknown room', { method: 'subscriber.create', params: { room: 'no-room', peer: 's1' } }, 'not_found'],
    ['subscriber.create without peer', { method: 'subscriber.create', params: { room: 'r1' } }, 'invalid_params'],
    // docs/RPC.md names "subscriber.answer before subscriber.create" as the bad_state example.
    ['subscriber.answer for an unknown peer', { method: 'subscriber.answer', params: { peer: 'nobody', sdp: 'v=0\r\n' } }, 'bad_state'],
    ['subscriber.answer without peer', { method: 'subscriber.answer', params: { sdp: 'v=0\r\n' } }, 'invalid_params'],
    ['peer.candidate for an unknown peer', { method: 'peer.candidate', params: { peer: 'nobody', candidate: null } }, 'not_found'],
    ['peer.candidate with a bad peer id', { method: 'peer.candidate', params: { peer: 'no body', candidate: null } }, 'invalid_params'],
    ['peer.restart_ice for an unknown peer', { method: 'peer.restart_ice', params: { peer: 'nobody' } }, 'not_found'],
    ['peer.close for an unknown peer', { method: 'peer.close', params: { peer: 'nobody' } }, 'not_found'],
    ['peer.close without peer', { method: 'peer.close', params: {} }, 'invalid_params'],
    ['drain with a string', { method: 'drain', params: { on: 'yes' } }, 'invalid_params'],
    ['drain without on', { method: 'drain', params: {} }, 'invalid_params'],
    ['stats with a numeric room', { method: 'stats', params: { room: 5 } }, 'invalid_params'],
  ];
  for (const [name, req, code] of withId) {
    test(`${name} -> ${code}`, async () => {
      const id = nextId++;
      const r = await rpc.requestRaw({ id, ...req }, { method: String(req.method) });
      assertError(r, code, id);
      await alive(rpc);
    });
  }

  test('subscriber.create in a room without a publisher -> not_found', async () => {
    await rpc.call('room.open', { room: 'empty-room' });
    assertError(await rpc.request('subscriber.create', { room: 'empty-room', peer: 's1' }), 'not_found');
    await rpc.call('room.close', { room: 'empty-room' });
  });

  test('a response sent to the SFU does not break the session', async () => {
    const from = rpc.messages.length;
    rpc.send({ id: 31337, result: {} });
    await alive(rpc);
    for (const m of rpc.messages.slice(from)) {
      if (m && m.id !== undefined && m.id !== null && m.id !== 31337) continue;
      if (m && m.error) assert.equal(m.error.code, 'invalid_request');
    }
  });

  test('50 pipelined requests in one write: exactly one response each', async () => {
    const from = rpc.messages.length;
    const bufs = [];
    const ids = [];
    for (let i = 0; i < 50; i++) {
      const id = 20000 + i;
      ids.push(id);
      const kind = i % 5;
      if (kind === 0) bufs.push(frame({ id, method: 'stats', params: {} }));
      else if (kind === 1) bufs.push(frame({ id, method: 'room.open', params: { room: `pipe-${i}` } }));
      else if (kind === 2) bufs.push(frame({ id, method: 'nope', params: {} }));
      else if (kind === 3) bufs.push(frame({ id, method: 'peer.close', params: { peer: `x${i}` } }));
      else bufs.push(frame({ id, method: 'room.open', params: { room: 5 } }));
    }
    const last = rpc.waitMessage((m) => m.id === ids[49], { from });
    rpc.writeRaw(Buffer.concat(bufs));
    await last;
    await alive(rpc); // anything still queued would have arrived by now
    const counts = new Map();
    for (const m of rpc.messages.slice(from)) if (m && ids.includes(m.id)) counts.set(m.id, (counts.get(m.id) || 0) + 1);
    for (const id of ids) assert.equal(counts.get(id), 1, `responses for id ${id}`);
    const byId = new Map(rpc.messages.slice(from).filter((m) => m && ids.includes(m.id)).map((m) => [m.id, m]));
    assert.ok(byId.get(20000).result);
    assert.equal(byId.get(20001).result.room, 'pipe-1');
    assert.equal(byId.get(20002).error.code, 'unknown_method');
    assert.equal(byId.get(20003).error.code, 'not_found');
    assert.equal(byId.get(20004).error.code, 'invalid_params');
  });
});

describe('rooms, drain and stats', () => {
  let sfu;
  let rpc;
  before(async () => {
    sfu = await startSfu({ id: 'sfu-a', args: ['--stats-ms', '200'] });
    ({ rpc } = await RpcClient.reopen(sfu.rpcPath));
  });
  after(async () => {
    await rpc.close();
    assert.equal(await sfu.stop(), 0, sfu.logText());
  });

  test('room.open is idempotent; room.close closes; ids of 128 bytes are fine', async () => {
    assert.deepEqual(await rpc.call('room.open', { room: 'room-1' }), { room: 'room-1', created: true });
    assert.deepEqual(await rpc.call('room.open', { room: 'room-1' }), { room: 'room-1', created: false });
    const long = 'A-z_0.9:'.repeat(16);
    assert.equal(long.length, 128);
    assert.deepEqual(await rpc.call('room.open', { room: long }), { room: long, created: true });
    assert.deepEqual(await rpc.call('room.close', { room: long }), {});
    assert.deepEqual(await rpc.call('room.close', { room: 'room-1' }), {});
    assertError(await rpc.request('room.close', { room: 'room-1' }), 'not_found');
    const st = await rpc.call('stats', {});
    assert.ok(!st.rooms.some((r) => r.room === 'room-1' || r.room === long), JSON.stringify(st.rooms));
  });

  test('drain on and off', async () => {
    assert.deepEqual(await rpc.call('drain', { on: true }), { draining: true });
    assert.deepEqual(await rpc.call('drain', { on: true }), { draining: true });
    await alive(rpc);
    assert.deepEqual(await rpc.call('drain', { on: false }), { draining: false });
    assert.deepEqual(await rpc.call('drain', { on: false }), { draining: false });
  });

  test('stats has the documented shape; stats {room} narrows to that room', async () => {
    await rpc.call('room.open', { room: 'st-1' });
    await rpc.call('room.open', { room: 'st-2' });
    const st = await rpc.call('stats', {});
    assertStatsShape(st, 'sfu-a');
    assert.equal(st.load.peers, 0);
    assert.ok(st.load.rooms >= 2, JSON.stringify(st.load));
    const r1 = st.rooms.find((r) => r.room === 'st-1');
    assert.ok(r1, JSON.stringify(st.rooms));
    assert.ok(!r1.publisher, 'no publisher yet');
    assert.equal(Array.isArray(r1.subscribers) ? r1.subscribers.length : r1.subscribers, 0);
    assert.deepEqual(st.peers, []);
    const one = await rpc.call('stats', { room: 'st-1' });
    assertStatsShape(one, 'sfu-a');
    assert.deepEqual(one.rooms.map((r) => r.room), ['st-1']);
    await rpc.call('room.close', { room: 'st-1' });
    await rpc.call('room.close', { room: 'st-2' });
  });

  test('a stats event comes every --stats-ms', async () => {
    const from = rpc.messages.length;
    const a = await rpc.waitEvent('stats', () => true, { from });
    assertStatsShape(a, 'sfu-a', { event: true });
    const i = rpc.messages.findIndex((m, k) => k >= from && m.event === 'stats');
    const b = await rpc.waitEvent('stats', () => true, { from: i + 1 });
    assertStatsShape(b, 'sfu-a', { event: true });
  });
});
