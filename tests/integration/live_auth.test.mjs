// tests/integration/live_auth.test.mjs: who may connect to the livestream app (PROTOCOL.md 2,
// 10): the JWT attack table (each refused with CONNECT_ERROR {message:"unauthorized"} while the
// sessions already open go on), leeway, the three token sources and their precedence, anonymous
// viewers, role and rooms claims, socket.io-client 2.x (EIO3), dev tokens and production mode.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { connectV2, emitAckV2, rawEio } from '../lib/sio.mjs';
import {
  ackErr, ackOk, connectRefused, craft, http, killAll, mint, settle, spawnLive, startLive, uid,
} from '../lib/live.mjs';

const now = () => Math.floor(Date.now() / 1000);
after(killAll);

describe('livestream auth', () => {
  let node;
  let room; // a live room with an admin and a viewer that must survive every attack
  before(async () => {
    node = await startLive();
    const roomId = uid('room');
    const admin = await node.client({ role: 'admin' });
    await ackOk(admin, 'start-stream', { roomId });
    const viewer = await node.client({ role: 'viewer' });
    await ackOk(viewer, 'join-stream', { roomId });
    room = { roomId, admin, viewer };
  });
  after(async () => {
    if (node) await node.stop();
  });

  /** Asserts that the room's sessions are fine: a chat goes round. */
  const roomAlive = async () => {
    const text = uid('alive');
    await ackOk(room.viewer, 'chat-message', { roomId: room.roomId, text });
    await room.admin.next('chat-message', (m) => m.text === text);
    assert.ok(room.admin.connected && room.viewer.connected);
  };

  test('attack table: every hostile token is refused with connect_error "unauthorized"', async () => {
    const s = node.secret;
    const t = now();
    const good = { sub: 'mallory', role: 'viewer', exp: t + 3600 };
    const valid = mint(s, { sub: 'mallory' });
    const [h, p] = valid.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...good, role: 'admin' })).toString('base64url')}.${valid.split('.')[2]}`;
    const cases = {
      'alg none, no signature': craft({ alg: 'none', typ: 'JWT' }, good, { sig: '' }),
      'alg none, signature kept': craft({ alg: 'none', typ: 'JWT' }, good, { secret: s }),
      'alg None': craft({ alg: 'None', typ: 'JWT' }, good, { sig: '' }),
      'alg NONE': craft({ alg: 'NONE' }, good, { sig: '' }),
      'no alg': craft({ typ: 'JWT' }, good, { secret: s }),
      'HS512 with the secret': mint(s, good, { alg: 'HS512' }),
      'HS384 with the secret': mint(s, good, { alg: 'HS384' }),
      'RS256 header, HMAC signature': craft({ alg: 'RS256', typ: 'JWT' }, good, { secret: s }),
      'another secret': mint('not-the-secret', good),
      'tampered payload': tampered,
      'signature stripped': `${h}.${p}.`,
      'two parts': `${h}.${p}`,
      'garbage': 'not-a-jwt',
      'dots only': '..',
      'over 8 KiB': mint(s, { ...good, name: 'x'.repeat(9000) }),
      'expired past the leeway': mint(s, { ...good, exp: t - 40 }),
      'no exp': mint(s, { sub: 'mallory', role: 'viewer', exp: null }),
      'exp a string': craft({ alg: 'HS256', typ: 'JWT' }, { ...good, exp: String(t + 3600) }, { secret: s }),
      'exp null': craft({ alg: 'HS256', typ: 'JWT' }, { ...good, exp: null }, { secret: s }),
      'nbf in the future': mint(s, { ...good, nbf: t + 120 }),
      'nbf a string': craft({ alg: 'HS256', typ: 'JWT' }, { ...good, nbf: 'soon' }, { secret: s }),
      'no role': mint(s, { sub: 'mallory', role: null }),
      'role superuser': mint(s, { ...good, role: 'superuser' }),
      'role Admin': mint(s, { ...good, role: 'Admin' }),
      'no sub': mint(s, { role: 'viewer' }),
      'empty sub': mint(s, { ...good, sub: '' }),
      'sub a number': mint(s, { ...good, sub: 42 }),
      'rooms a string': mint(s, { ...good, rooms: 'r1' }),
      'rooms with a number': mint(s, { ...good, rooms: ['r1', 5] }),
      'rooms an object': mint(s, { ...good, rooms: { r1: true } }),
      'hand-made, valid but for role': craft({ alg: 'HS256', typ: 'JWT' }, { ...good, role: ['admin'] }, { secret: s }),
      'payload not JSON': `${h}.${Buffer.from('{nope').toString('base64url')}.x`,
    };
    // positive control: the hand-made form of the same claims is accepted
    const ok = await node.connect({ auth: { token: craft({ alg: 'HS256', typ: 'JWT' }, good, { secret: s }) } });
    ok.close();
    for (const [what, token] of Object.entries(cases)) {
      const err = await connectRefused(node.url, { auth: { token } });
      assert.equal(err.message, 'unauthorized', `${what}: ${err.message}`);
    }
    // the same through the header and the query
    for (const token of [cases['alg none, no signature'], cases['HS512 with the secret'], cases['expired past the leeway']]) {
      assert.equal((await connectRefused(node.url, { extraHeaders: { Authorization: `Bearer ${token}` }, transports: ['polling'] })).message, 'unauthorized');
      assert.equal((await connectRefused(node.url, { query: { token } })).message, 'unauthorized');
    }
    assert.equal((await connectRefused(node.url, {})).message, 'unauthorized', 'no token');
    await roomAlive();
    const m = await node.metrics();
    assert.ok(m.get('onair_connects_refused_total') >= Object.keys(cases).length + 7);
  });

  test('leeway: 30 s on exp and nbf', async () => {
    const s = node.secret;
    const t = now();
    for (const claims of [{ exp: t - 20 }, { nbf: t + 20 }, { exp: t + 60, nbf: t - 5 }]) {
      const sock = await node.connect({ auth: { token: mint(s, { sub: uid('v'), ...claims }) } });
      assert.ok(sock.connected, JSON.stringify(claims));
      sock.close();
    }
    assert.equal((await connectRefused(node.url, { auth: { token: mint(s, { sub: 'x', exp: t - 31 }) } })).message, 'unauthorized');
  });

  test('a token expiring during the session ends nothing already joined; the next connection needs a fresh one', async () => {
    const sub = uid('late');
    // valid for 2 to 3 more seconds thanks to the leeway
    const token = mint(node.secret, { sub, exp: now() - 27 });
    const v = await node.connect({ auth: { token } });
    await ackOk(v, 'join-stream', { roomId: room.roomId });
    await settle(4100);
    await ackOk(v, 'chat-message', { roomId: room.roomId, text: 'still here' });
    assert.equal((await connectRefused(node.url, { auth: { token } })).message, 'unauthorized');
    v.close();
  });

  test('token sources: auth payload, Authorization header (polling and websocket), query; precedence', async () => {
    const s = node.secret;
    const who = async (opts) => {
      const sock = await node.connect(opts);
      const r = await ackOk(sock, 'join-stream', { roomId: room.roomId });
      const j = await room.admin.next('viewer-joined', (p) => p.viewer.id === sock.id);
      sock.close();
      assert.ok(r.ok);
      return j.viewer.userId;
    };
    const tok = (sub) => mint(s, { sub });
    const bad = mint('wrong', { sub: 'bad' });
    assert.equal(await who({ auth: { token: tok('by-auth') } }), 'by-auth');
    assert.equal(await who({ extraHeaders: { Authorization: `Bearer ${tok('by-header')}` }, transports: ['polling'] }), 'by-header');
    assert.equal(await who({ extraHeaders: { authorization: `bearer ${tok('by-header-ws')}` }, transports: ['websocket'] }), 'by-header-ws');
    assert.equal(await who({ query: { token: tok('by-query') } }), 'by-query');
    assert.equal(await who({ query: { token: tok('by-query-ws') }, transports: ['websocket'] }), 'by-query-ws');
    // auth wins over header wins over query, even when the winner is invalid
    assert.equal(await who({ auth: { token: tok('p1') }, extraHeaders: { Authorization: `Bearer ${bad}` }, query: { token: bad }, transports: ['polling'] }), 'p1');
    assert.equal((await connectRefused(node.url, { auth: { token: bad }, extraHeaders: { Authorization: `Bearer ${tok('h')}` }, transports: ['polling'] })).message, 'unauthorized');
    assert.equal(await who({ extraHeaders: { Authorization: `Bearer ${tok('p2')}` }, query: { token: bad }, transports: ['polling'] }), 'p2');
    assert.equal((await connectRefused(node.url, { extraHeaders: { Authorization: `Bearer ${bad}` }, query: { token: tok('q') }, transports: ['polling'] })).message, 'unauthorized');
    // a source counts only as a non-empty string
    assert.equal(await who({ auth: { token: '' }, query: { token: tok('p3') } }), 'p3');
    assert.equal(await who({ auth: { token: 5 }, query: { token: tok('p4') } }), 'p4');
    assert.equal(await who({ auth: { nope: 1 }, extraHeaders: { Authorization: 'Bearer ' }, query: { token: tok('p5') }, transports: ['polling'] }), 'p5');
    assert.equal(await who({ extraHeaders: { Authorization: `Basic ${tok('x')}` }, query: { token: tok('p6') }, transports: ['polling'] }), 'p6');
    await roomAlive();
  });

  test('roles and rooms claims: viewers get forbidden on admin events, rooms limit every event', async () => {
    const { roomId } = room;
    const v = await node.client({ role: 'viewer' });
    for (const ev of ['start-stream', 'stop-stream', 'get-viewers', 'kick-viewer', 'media-state', 'offer', 'start-recording', 'stop-recording']) {
      await ackErr(v, ev, { roomId, viewerId: 'x', audio: true, video: true, sdp: 'v=0\r\n' }, 'forbidden', ev);
    }
    const limited = await node.client({ role: 'admin', rooms: ['only-this'] });
    for (const ev of ['start-stream', 'stop-stream', 'join-stream', 'leave-stream', 'chat-message', 'get-viewers', 'kick-viewer', 'media-state', 'offer', 'answer', 'ice-candidate', 'restart-ice', 'start-recording', 'stop-recording']) {
      await ackErr(limited, ev, { roomId, viewerId: 'x', audio: true, video: true, sdp: 'v=0\r\n', text: 'hi', candidate: null }, 'forbidden', ev);
    }
    await ackOk(limited, 'start-stream', { roomId: 'only-this' });
    await roomAlive();
  });

  test('socket.io-client 2.x (EIO3): token in the query connects; a bad one gets the v3 CONNECT_ERROR', async () => {
    const v2 = await connectV2(node.url, { query: { token: mint(node.secret, { sub: 'old-client' }) } });
    const [j] = await emitAckV2(v2, 'join-stream', { roomId: room.roomId });
    assert.equal(j.ok, true);
    assert.equal(j.room.roomId, room.roomId);
    const [c] = await emitAckV2(v2, 'chat-message', { roomId: room.roomId, text: 'from 2.x' });
    assert.equal(c.ok, true);
    assert.equal((await room.admin.next('chat-message', (m) => m.id === c.id)).from.id, 'old-client');
    v2.close();
    await assert.rejects(connectV2(node.url, { query: { token: 'bad' } }), (e) => e.message === 'unauthorized');
    await assert.rejects(connectV2(node.url, {}), (e) => e.message === 'unauthorized');
    // on the wire, as Node's server sends it to EIO3 clients
    const raw = await rawEio(node.url, { eio: 3, query: 'token=bad' });
    assert.match(await raw.next((m) => typeof m === 'string' && m.startsWith('0')), /^0\{"sid":/);
    assert.equal(await raw.next((m) => typeof m === 'string' && m.startsWith('4')), '44"unauthorized"');
    raw.close();
    await roomAlive();
  });

  test('POST /api/dev-token in demo mode: a 1 h token with the given name and role', async () => {
    const r = await http(`${node.url}/api/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ann', role: 'admin' }) });
    assert.equal(r.status, 200);
    const claims = jwt.verify(r.json.token, node.secret, { algorithms: ['HS256'] });
    assert.equal(claims.role, 'admin');
    assert.equal(claims.name, 'Ann');
    assert.ok(claims.sub);
    assert.ok(Math.abs(claims.exp - (now() + 3600)) <= 5, `exp ${claims.exp}`);
    const a = await node.connect({ auth: { token: r.json.token } });
    await ackOk(a, 'start-stream', { roomId: uid('dev') });
    for (const body of ['{}', '{"role":"root"}', 'nope', '{"name":"","role":"viewer"}', JSON.stringify({ name: 'x'.repeat(101), role: 'viewer' })]) {
      assert.equal((await http(`${node.url}/api/dev-token`, { method: 'POST', body })).status, 400, body.slice(0, 30));
    }
    const v = await http(`${node.url}/api/dev-token`, { method: 'POST', body: '{"role":"viewer"}' });
    assert.equal(v.status, 200);
    assert.equal(jwt.verify(v.json.token, node.secret).role, 'viewer');
  });
});

describe('livestream auth: configurations', () => {
  test('anonymous viewers only with ALLOW_ANONYMOUS_VIEWERS=1 and only without a token', async () => {
    const node = await startLive({ env: { ALLOW_ANONYMOUS_VIEWERS: '1' } });
    try {
      const roomId = uid('room');
      const admin = await node.client({ role: 'admin' });
      await ackOk(admin, 'start-stream', { roomId });
      const anon = await node.connect({});
      const j = await ackOk(anon, 'join-stream', { roomId });
      assert.equal(j.room.viewerCount, 1);
      const vj = await admin.next('viewer-joined', (p) => p.viewer.id === anon.id);
      assert.match(vj.viewer.userId, /^anon-/);
      assert.ok(vj.viewer.name.length > 0);
      const c = await ackOk(anon, 'chat-message', { roomId, text: 'hi from a guest' });
      const m = await admin.next('chat-message', (x) => x.id === c.id);
      assert.deepEqual(m.from, { id: vj.viewer.userId, name: vj.viewer.name, role: 'viewer' });
      await ackErr(anon, 'start-stream', { roomId: uid('room') }, 'forbidden');
      const anon2 = await node.connect({ transports: ['websocket'] });
      await ackOk(anon2, 'join-stream', { roomId });
      assert.notEqual((await admin.next('viewer-joined', (p) => p.viewer.id === anon2.id)).viewer.userId, vj.viewer.userId);
      assert.equal((await connectRefused(node.url, { auth: { token: 'invalid' } })).message, 'unauthorized');
      assert.equal((await connectRefused(node.url, { auth: { token: mint('other', { sub: 'x' }) } })).message, 'unauthorized');
    } finally {
      await node.stop();
    }
  });

  test('production mode: dev tokens are 404; a missing JWT_SECRET refuses to start', async () => {
    for (const env of [{ ONAIR_ENV: 'production' }, { NODE_ENV: 'production' }]) {
      const node = await startLive({ env });
      try {
        const r = await http(`${node.url}/api/dev-token`, { method: 'POST', body: '{"role":"admin"}' });
        assert.equal(r.status, 404);
        const h = await node.health();
        assert.equal(h.json.mode, 'production');
        const a = await node.client({ role: 'admin' });
        await ackOk(a, 'start-stream', { roomId: uid('prod') });
      } finally {
        await node.stop();
      }
      const p = await spawnLive({ env: { ...env, JWT_SECRET: null } });
      const r = await p.exited;
      assert.equal(r.code, 1, `exit ${JSON.stringify(r)}`);
      assert.ok(p.lines.some((l) => /production mode needs JWT_SECRET/.test(l)), p.lines.join('\n'));
      assert.ok(!p.lines.some((l) => /"msg":"listening"/.test(l)));
    }
  });

  test('a node without any key refuses to start', async () => {
    const p = await spawnLive({ env: { JWT_SECRET: null } });
    const r = await p.exited;
    assert.equal(r.code, 1, `exit ${JSON.stringify(r)}`);
    assert.ok(p.lines.some((l) => /JWT_SECRET|secret|key/i.test(l)), p.lines.join('\n'));
  });
});

