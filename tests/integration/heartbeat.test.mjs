// Heartbeat: with a short --ping-interval/--ping-timeout the official client stays connected
// through many ping cycles, while a peer that stops answering (a raw WebSocket that never
// pongs, an EIO3 WebSocket that never pings, a polling session that never polls again) is
// dropped: its socket leaves its room, as a second client's join ack (size) shows.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { poll, startSignal, waitFor, withTimeout } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, connectV2, emitAck, rawEio } from '../lib/sio.mjs';

const PI = 300; // ms
const PT = 800; // generous: a loaded machine must not make the official clients miss a pong
const CT = 1000; // --connect-timeout: a session must CONNECT a namespace within this

/** Asks `probe` (a connected 4.x socket) to join room until the ack's size equals want. */
async function roomSizeBecomes(probe, room, want, timeoutMs) {
  return poll(async () => (await emitAck(probe, 'join', room))[0].size === want, {
    timeoutMs,
    intervalMs: 50,
    what: `size of ${room} == ${want}`,
  });
}

describe('heartbeat', { timeout: 60000 }, () => {
  let srv;
  const sockets = [];
  before(async () => {
    srv = await startSignal({
      args: ['--ping-interval', String(PI), '--ping-timeout', String(PT), '--connect-timeout', String(CT)],
    });
  });
  after(async () => {
    closeAll(sockets);
    await srv?.stop();
  });

  for (const transports of [['polling'], ['websocket']]) {
    test(`socket.io-client 4.x over ${transports[0]} survives 6 ping cycles`, { timeout: 15000 }, async () => {
      const s = await connect(srv.url, { transports });
      sockets.push(s);
      let pings = 0;
      let disconnected = null;
      s.on('disconnect', (r) => (disconnected = r));
      await withTimeout(
        new Promise((resolve) => s.io.engine.on('ping', () => ++pings === 6 && resolve())),
        6 * PI + 5000,
        '6 pings',
      );
      assert.equal(disconnected, null);
      assert.ok(s.connected);
      assert.deepEqual(await emitAck(s, 'echo', 'alive'), ['alive']);
      s.close();
    });
  }

  test('socket.io-client 2.x (EIO3, client pings) survives several ping intervals', { timeout: 15000 }, async () => {
    const s = await connectV2(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    let pongs = 0;
    await withTimeout(new Promise((resolve) => s.io.on('pong', () => ++pongs === 4 && resolve())), 4 * PI + 5000, '4 pongs');
    assert.ok(s.connected);
    s.close();
  });

  test('a WebSocket peer that never answers pings is dropped and leaves its room', { timeout: 15000 }, async () => {
    const probe = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(probe);
    assert.deepEqual(await emitAck(probe, 'join', 'hb-ws'), [{ ok: true, room: 'hb-ws', size: 1 }]);

    const raw = await rawEio(srv.url);
    const open = JSON.parse((await raw.next((m) => m[0] === '0')).slice(1));
    assert.equal(open.pingInterval, PI);
    assert.equal(open.pingTimeout, PT);
    raw.send('40');
    await raw.next((m) => m.startsWith('40'));
    raw.send('421["join","hb-ws"]');
    const ack = await raw.next((m) => m.startsWith('431'));
    assert.deepEqual(JSON.parse(ack.slice(3)), [{ ok: true, room: 'hb-ws', size: 2 }]);
    const t0 = Date.now();
    assert.equal(await raw.next((m) => m === '2', PI + 2000), '2'); // the server pings; we stay silent
    const closed = await withTimeout(raw.closed, PI + PT + 3000, 'server closing the silent peer');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= PT - 50, `dropped after ${elapsed} ms, before pingTimeout`);
    assert.ok(closed.code >= 1000, `close code ${closed.code}`);
    await roomSizeBecomes(probe, 'hb-ws', 1, 3000);
  });

  test('an EIO3 WebSocket peer that never pings is dropped', { timeout: 15000 }, async () => {
    const probe = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(probe);
    await emitAck(probe, 'join', 'hb-v3');
    const raw = await rawEio(srv.url, { eio: 3 });
    await raw.next((m) => m[0] === '0');
    await raw.next((m) => m === '40'); // EIO3: the server connects the default namespace itself
    raw.send('421["join","hb-v3"]');
    const ack = await raw.next((m) => m.startsWith('431'));
    assert.equal(JSON.parse(ack.slice(3))[0].size, 2);
    await withTimeout(raw.closed, PI + PT + 3000, 'server closing the silent EIO3 peer');
    await roomSizeBecomes(probe, 'hb-v3', 1, 3000);
  });

  test('a polling session that stops polling is dropped', { timeout: 15000 }, async () => {
    const probe = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(probe);
    await emitAck(probe, 'join', 'hb-poll');
    const base = `${srv.url}/socket.io/?EIO=4&transport=polling`;
    const get = async (q = '') => {
      const r = await fetch(base + q, { signal: AbortSignal.timeout(5000) });
      assert.equal(r.status, 200);
      return r.text();
    };
    const post = async (sid, body) => {
      const r = await fetch(`${base}&sid=${sid}`, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' }, signal: AbortSignal.timeout(5000) });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'ok');
    };
    const open = JSON.parse((await get()).slice(1));
    const sid = open.sid;
    await post(sid, '40');
    assert.match(await get(`&sid=${sid}`), /^40\{/);
    await post(sid, '421["join","hb-poll"]');
    const ackText = await get(`&sid=${sid}`);
    const ackPkt = ackText.split('\x1e').find((p) => p.startsWith('431'));
    assert.ok(ackPkt, `no ack in ${JSON.stringify(ackText)}`);
    assert.equal(JSON.parse(ackPkt.slice(3))[0].size, 2);
    // stop polling: the server's ping is never fetched, so it is never answered
    await roomSizeBecomes(probe, 'hb-poll', 1, PI + PT + 3000);
    // the session is gone: a poll with its sid is refused (400, "Session ID unknown")
    const r = await fetch(`${base}&sid=${sid}`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 400);
    await r.text();
  });

  test('a session that never CONNECTs a namespace is closed after --connect-timeout', { timeout: 15000 }, async () => {
    const raw = await rawEio(srv.url);
    await raw.next((m) => m[0] === '0');
    const t0 = Date.now();
    // keep the Engine.IO session alive (answer pings) but never send a Socket.IO CONNECT
    const pong = setInterval(() => {
      while (raw.queue.includes('2')) {
        raw.queue.splice(raw.queue.indexOf('2'), 1);
        raw.send('3');
      }
    }, 20);
    try {
      await withTimeout(raw.closed, CT + 3000, 'server closing the session without a namespace');
    } finally {
      clearInterval(pong);
    }
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= CT - 100, `closed after ${elapsed} ms, before --connect-timeout ${CT}`);
  });

  test('a session that CONNECTs in time is not closed by --connect-timeout', { timeout: 15000 }, async () => {
    const s = await connect(srv.url, { transports: ['websocket'] });
    sockets.push(s);
    let pings = 0;
    await withTimeout(
      new Promise((resolve) => s.io.engine.on('ping', () => ++pings * PI > CT + 500 && resolve())),
      CT + 5000,
      'pings past the connect timeout',
    );
    assert.ok(s.connected);
    assert.deepEqual(await emitAck(s, 'echo', 'ok'), ['ok']);
    s.close();
  });

  test('server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    closeAll(sockets);
    await assertCleanExit(srv);
  });
});
