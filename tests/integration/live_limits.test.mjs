// tests/integration/live_limits.test.mjs: the livestream app's limits and hostile input beyond
// what socket.io-client sends (PROTOCOL.md 3, 4, 10): raw Socket.IO packets with escaped lone
// surrogates and invalid UTF-8, oversize and deeply nested payloads, MAX_VIEWERS, configurable
// limits, bad options, and a node that spawns a real SFU (no real SDP: that is tests/e2e).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDir, poll } from '../lib/server.mjs';
import { rawEio } from '../lib/sio.mjs';
import { ack, ackErr, ackOk, killAll, spawnLive, startLive, tmpDir, uid } from '../lib/live.mjs';

after(killAll);

/** A raw Socket.IO v5 client over WebSocket, connected to "/" with token. */
async function rawClient(node, token) {
  const c = await rawEio(node.url, { eio: 4 });
  await c.next((m) => typeof m === 'string' && m.startsWith('0{'));
  c.send(`40${JSON.stringify({ token })}`);
  await c.next((m) => typeof m === 'string' && m.startsWith('40{'));
  let id = 100;
  /** Sends `42<id>[...]` built from the raw JSON text args and resolves with the ack's payload. */
  c.emitRaw = async (event, rawArgs, ms = 4000) => {
    const n = ++id;
    c.send(`42${n}[${JSON.stringify(event)},${rawArgs}]`);
    const m = await c.next((x) => typeof x === 'string' && x.startsWith(`43${n}[`), ms);
    return JSON.parse(m.slice(`43${n}`.length))[0];
  };
  return c;
}

describe('livestream limits and hostile input', () => {
  let node;
  let room;
  before(async () => {
    node = await startLive({ args: ['--max-viewers', '2', '--kick-ban', '60000'] });
    const roomId = uid('room');
    const admin = await node.client({ role: 'admin' });
    const start = await ackOk(admin, 'start-stream', { roomId, title: 'Stable' });
    const viewer = await node.client();
    await ackOk(viewer, 'join-stream', { roomId });
    room = { roomId, admin, viewer, start };
  });
  after(async () => {
    if (node) await node.stop();
  });

  /** Nothing changed: a chat goes round and a fresh admin sees the same room. */
  const untouched = async () => {
    const text = uid('still');
    await ackOk(room.viewer, 'chat-message', { roomId: room.roomId, text });
    await room.admin.next('chat-message', (m) => m.text === text);
    const v = await ackOk(room.admin, 'get-viewers', { roomId: room.roomId });
    assert.deepEqual(v.viewers.map((x) => x.id), [room.viewer.id]);
    const again = await ackOk(room.admin, 'start-stream', { roomId: room.roomId });
    assert.deepEqual({ ...again.room }, { ...room.start.room, viewerCount: 1 });
  };

  test('escaped lone surrogates and NUL in raw JSON: invalid_payload; a valid pair is fine', async () => {
    const c = await rawClient(node, node.token({ sub: uid('raw'), role: 'viewer' }));
    const r = JSON.stringify(room.roomId);
    assert.equal((await c.emitRaw('join-stream', `{"roomId":${r}}`)).ok, true);
    for (const text of ['a\\ud800b', '\\udc00', '\\udc00\\ud800', 'x\\ud83d', '\\u0000', 'a\\u0007']) {
      const res = await c.emitRaw('chat-message', `{"roomId":${r},"text":"${text}"}`);
      assert.equal(res.ok, false, text);
      assert.equal(res.error.code, 'invalid_payload', text);
    }
    for (const title of ['\\ud800', 'ok\\udfff']) {
      const a = await rawClient(node, node.token({ sub: uid('rawadmin'), role: 'admin' }));
      const res = await a.emitRaw('start-stream', `{"roomId":${JSON.stringify(uid('room'))},"title":"${title}"}`);
      assert.equal(res.error?.code, 'invalid_payload', title);
      a.close();
    }
    const ok = await c.emitRaw('chat-message', `{"roomId":${r},"text":"\\ud83d\\ude00 \\u00e9"}`);
    assert.equal(ok.ok, true);
    assert.equal((await room.admin.next('chat-message', (m) => m.id === ok.id)).text, '😀 é');
    // a packet that is not JSON: the parser closes that session (as Node's does)
    c.send('42999["chat-message",{"roomId":');
    const closed = await Promise.race([c.closed, new Promise((r) => setTimeout(() => r('open'), 4000))]);
    assert.notEqual(closed, 'open');
    await untouched();
  });

  test('invalid UTF-8 in a WebSocket text frame closes that session only (1007)', async () => {
    const c = await rawClient(node, node.token({ sub: uid('raw'), role: 'viewer' }));
    const frame = Buffer.concat([Buffer.from(`42["chat-message",{"roomId":"${room.roomId}","text":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]')]);
    c.ws.send(frame, { binary: false });
    const closed = await c.closed;
    assert.equal(closed.code, 1007);
    await untouched();
  });

  test('oversize and deeply nested payloads: others unaffected', async () => {
    const v = await node.client();
    await ackOk(v, 'join-stream', { roomId: room.roomId });
    await ackErr(v, 'chat-message', { roomId: room.roomId, text: 'x'.repeat(100000) }, 'invalid_payload', '100 kB text');
    let nested = 'true';
    for (let i = 0; i < 200; i++) nested = `[${nested}]`;
    const c = await rawClient(node, node.token({ sub: uid('raw') }));
    c.send(`4277["join-stream",{"roomId":"${room.roomId}","deep":${nested}}]`);
    // refused one way or another: an invalid_payload ack, or the session closed as malformed
    const m = await Promise.race([c.next((x) => typeof x === 'string' && x.startsWith('4377['), 4000).then((x) => JSON.parse(x.slice(4))[0]), c.closed]);
    assert.ok(m.code !== undefined || m.error?.code === 'invalid_payload', JSON.stringify(m));
    c.close();
    // a payload over maxHttpBufferSize closes only the sender
    const big = await node.client({}, { transports: ['websocket'] });
    const gone = new Promise((resolve) => big.once('disconnect', resolve));
    big.emit('chat-message', { roomId: room.roomId, text: 'y'.repeat(1_100_000) });
    assert.match(await gone, /transport (close|error)|parse error/);
    v.close();
    await untouched();
  });

  test('MAX_VIEWERS: a full room answers conflict; admins do not count; a kicked user gets forbidden first', async () => {
    const roomId = uid('full');
    const admin = await node.client({ role: 'admin' });
    await ackOk(admin, 'start-stream', { roomId });
    const v1 = await node.client();
    const v2 = await node.client();
    await ackOk(v1, 'join-stream', { roomId });
    await ackOk(v2, 'join-stream', { roomId });
    const v3 = await node.client();
    await ackErr(v3, 'join-stream', { roomId }, 'conflict', 'third viewer');
    await ackOk(v2, 'join-stream', { roomId }, 'a member joining again');
    await ackOk(await node.client({ role: 'admin' }), 'join-stream', { roomId }, 'admins do not count');
    // kick v1: the room has room again, v3 takes it; the full room then refuses v1 as kicked
    await ackOk(admin, 'kick-viewer', { roomId, viewerId: v1.id });
    await ackOk(v3, 'join-stream', { roomId });
    await ackErr(v1, 'join-stream', { roomId }, 'forbidden', 'kicked before full');
    await ackErr(await node.client(), 'join-stream', { roomId }, 'conflict');
    await ackOk(v3, 'leave-stream', { roomId });
    await ackOk(await node.client(), 'join-stream', { roomId });
    const j = await ackOk(admin, 'get-viewers', { roomId });
    assert.equal(j.viewers.length, 2);
  });
});

describe('livestream configuration', () => {
  test('configurable text, size and rate limits', async () => {
    const node = await startLive({ args: ['--title-max', '5', '--chat-max', '10', '--sdp-max', '100', '--candidate-max', '20', '--events-per-second', '8', '--chat-limit', '3', '--chat-window', '60000'] });
    try {
      const roomId = uid('room');
      const a = await node.client({ role: 'admin' });
      await ackErr(a, 'start-stream', { roomId, title: '123456' }, 'invalid_payload');
      await ackOk(a, 'start-stream', { roomId, title: '12345' });
      await ackErr(a, 'chat-message', { roomId, text: 'x'.repeat(11) }, 'invalid_payload');
      await ackOk(a, 'chat-message', { roomId, text: 'x'.repeat(10) });
      await ackErr(a, 'offer', { roomId, sdp: 'v'.repeat(101) }, 'invalid_payload');
      await ackErr(a, 'offer', { roomId, sdp: 'v'.repeat(100) }, 'unavailable');
      await ackErr(a, 'ice-candidate', { roomId, candidate: { candidate: 'c'.repeat(21) } }, 'invalid_payload');
      const b = await node.client({ role: 'admin', sub: a.sub });
      await ackOk(b, 'chat-message', { roomId, text: 'second' });
      // refused attempts count too: 3 for this user so far
      await ackErr(b, 'chat-message', { roomId, text: 'third' }, 'rate_limited', 'chat limit 3 per user');
      const c = await node.client({ role: 'viewer' });
      const codes = (await Promise.all(Array.from({ length: 12 }, () => ack(c, 'join-stream', { roomId: '!' })))).map((r) => r.error.code);
      assert.equal(codes.filter((x) => x === 'rate_limited').length, 4, codes.join());
    } finally {
      await node.stop();
    }
  });

  test('a room that is idle (not live, no members) for ROOM_IDLE_MS is deleted; a busy one stays', async () => {
    const node = await startLive({ args: ['--room-idle', '600'] });
    try {
      const idle = uid('idle');
      const busy = uid('busy');
      const a = await node.client({ role: 'admin' });
      await ackOk(a, 'start-stream', { roomId: idle });
      await ackOk(a, 'stop-stream', { roomId: idle });
      await ackOk(a, 'start-stream', { roomId: busy });
      await ackOk(a, 'stop-stream', { roomId: busy });
      const v = await node.client();
      await ackOk(v, 'join-stream', { roomId: busy });
      await node.waitLog((l, j) => j?.msg === 'idle room deleted' && j.room === idle, 5000);
      await ackErr(await node.client(), 'join-stream', { roomId: idle }, 'not_found');
      await ackOk(await node.client(), 'join-stream', { roomId: busy });
      // a deleted room starts afresh
      const r = await ackOk(a, 'start-stream', { roomId: idle });
      assert.equal(r.room.viewerCount, 0);
    } finally {
      await node.stop();
    }
  });

  test('bad option values refuse to start with exit 1', async () => {
    for (const [args, re] of [[['--node-id', 'bad id!'], /invalid node id/], [['--node-ttl', '10'], /invalid option/],
      [['--sfu-spawn', '1', '--sfu-ports', 'nope'], /port range/], [['--redis-url', 'http://x'], /redis|url/i]]) {
      const p = await spawnLive({ args });
      const r = await p.exited;
      assert.equal(r.code, 1, `${args.join(' ')}: ${JSON.stringify(r)}\n${p.lines.join('\n')}`);
      assert.ok(p.lines.some((l) => re.test(l)), `${args.join(' ')}:\n${p.lines.join('\n')}`);
    }
  });

  test('a node with a spawned SFU: /health counts it, a malformed offer is invalid_payload, clean exit', async () => {
    const { dir, cleanup } = await tmpDir('onair-live-sfu-');
    const node = await startLive({ args: ['--sfu-spawn', '1', '--sfu-bin', path.join(buildDir(), 'onair-sfu'), '--sfu-dir', dir, '--sfu-ip', '127.0.0.1', '--sfu-ports', '47000-47099'] });
    try {
      await poll(async () => (await node.health()).json?.sfus?.ready === 1, { timeoutMs: 10000, what: 'SFU ready' });
      const h = await node.health();
      assert.equal(h.status, 200);
      assert.deepEqual(h.json.sfus, { total: 1, ready: 1 });
      const roomId = uid('room');
      const a = await node.client({ role: 'admin' });
      await ackOk(a, 'start-stream', { roomId });
      const v = await node.client();
      await ackOk(v, 'join-stream', { roomId });
      await ackErr(a, 'offer', { roomId, sdp: 'v=0\r\nthis is not a session description\r\n' }, 'invalid_payload');
      // candidates trickled right after the offer: queued while the offer waits for the store, or
      // sent after it on the same RPC stream; the offer failed, so either acked or "no session"
      const cand = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
      const [o, c1, c2] = await Promise.all([ack(a, 'offer', { roomId, sdp: 'v=0\r\nbroken\r\n' }),
        ack(a, 'ice-candidate', { roomId, candidate: cand }), ack(a, 'ice-candidate', { roomId, candidate: null })]);
      assert.equal(o.error?.code, 'invalid_payload', JSON.stringify(o));
      for (const c of [c1, c2]) assert.ok(c.ok === true || c.error?.code === 'conflict', JSON.stringify(c));
      const [o2, o3] = await Promise.all([ack(a, 'offer', { roomId, sdp: 'v=0\r\n' }), ack(a, 'offer', { roomId, sdp: 'v=0\r\n' })]);
      // the second one: conflict while the first waits for the store, else it follows it to the SFU
      assert.equal(o2.error?.code, 'invalid_payload');
      assert.ok(['conflict', 'invalid_payload'].includes(o3.error?.code), JSON.stringify(o3));
      await ackOk(a, 'ice-candidate', { roomId, candidate: null }, 'no session: harmless');
      await ackErr(a, 'restart-ice', { roomId }, 'conflict');
      await ackOk(a, 'stop-stream', { roomId });
      const m = await node.metrics();
      assert.equal(m.get('onair_sfus{state="ready"}'), 1);
      assert.ok(m.get('onair_sfu_rpc_seconds_count') >= 1);
    } finally {
      await node.stop();
      await cleanup();
    }
  });
});
