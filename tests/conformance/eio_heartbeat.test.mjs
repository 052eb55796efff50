// Engine.IO heartbeat on the wire (engine.io-protocol README, "Heartbeat"), timed with
// timestamps under small --ping-interval/--ping-timeout: in v4 the server pings every
// pingInterval and closes a session that has not answered within pingTimeout; a pong
// re-arms the interval; a client ping is the wrong direction. In v3 the client pings, the
// server answers, and a silent client is dropped after pingInterval + pingTimeout.
// Bounds are generous upwards (ASan, a shared 2-core machine) and tight downwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeV3, eioWs, encodeV3, openPolling, pollGet, pollPost, startServer, stopServer, within } from './lib.mjs';

const PI = 400;
const PT = 300;
const EARLY = 60; // timers may fire this much early relative to our timestamps
const LATE = 1200;

function assertAbout(ms, want, what) {
  assert.ok(ms >= want - EARLY && ms <= want + LATE, `${what}: ${ms} ms, expected about ${want} ms`);
}

describe('Engine.IO heartbeat', { timeout: 60000 }, () => {
  let srv;
  let port;
  before(async () => {
    srv = await startServer({ args: ['--ping-interval', String(PI), '--ping-timeout', String(PT)] });
    port = srv.port;
  });
  after(() => stopServer(srv));

  test('v4 websocket: ping after pingInterval, again pingInterval after the pong, closed pingTimeout after an unanswered ping', async () => {
    const t0 = Date.now();
    const { ws } = await eioWs(port);
    assert.equal(await ws.nextText(PI + LATE), '2');
    const t1 = Date.now();
    assertAbout(t1 - t0, PI, 'first ping');
    ws.send('3');
    assert.equal(await ws.nextText(PI + LATE), '2');
    const t2 = Date.now();
    assertAbout(t2 - t1, PI, 'second ping after the pong');
    // No pong now: the server closes the session.
    await ws.closedByServer(PT + LATE + 1000);
    const t3 = Date.now();
    assertAbout(t3 - t2, PT, 'close after the unanswered ping');
    ws.assertClean();
  });

  test('v4 polling: the pending GET carries the ping; no pong -> the session is closed', async () => {
    const t0 = Date.now();
    const { sid } = await openPolling(port);
    let g = await pollGet(port, { sid }, PI + LATE);
    const t1 = Date.now();
    assert.equal(g.text, '2');
    assertAbout(t1 - t0, PI, 'first ping');
    assert.equal((await pollPost(port, { sid }, '3')).text, 'ok');
    g = await pollGet(port, { sid }, PI + LATE);
    const t2 = Date.now();
    assert.equal(g.text, '2');
    assertAbout(t2 - t1, PI, 'second ping');
    // Keep a GET pending without answering: it ends when the session is closed.
    g = await pollGet(port, { sid }, PT + LATE + 1000);
    const t3 = Date.now();
    assertAbout(t3 - t2, PT, 'session closed after the unanswered ping');
    assert.equal(g.status, 200);
    assert.match(g.text, /^[16]$/, `pending GET at ping timeout: ${JSON.stringify(g.text)}`);
    const after = await pollGet(port, { sid });
    assert.equal(after.status, 400);
  });

  test('v4: a session that pongs survives while a silent one is dropped', async () => {
    const good = await eioWs(port);
    const bad = await eioWs(port);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      assert.equal(await good.ws.nextText(PI + LATE), '2');
      good.ws.send('3');
    }
    await bad.ws.closedByServer(PI + PT + LATE);
    assert.ok(Date.now() - t0 >= PI + PT - EARLY);
    good.ws.send('4alive');
    assert.equal(await good.ws.nextText(), '4alive');
    good.ws.close();
    await good.ws.closedByServer();
  });

  test('v4: a ping from the client is the wrong heartbeat direction and closes the session', async () => {
    const { ws } = await eioWs(port);
    ws.send('2');
    await ws.closedByServer(PI); // well before the first ping would be due + timeout
    assert.equal(ws.queue.items.filter((m) => m.type === 'text' && m.data === '3').length, 0);
  });

  test('v3 websocket: the client pings, the server answers; a silent client is dropped after pingInterval + pingTimeout', async () => {
    const { ws } = await eioWs(port, { path: '/socket.io/', eio: 3 });
    assert.equal(await ws.nextText(), '40'); // EIO3: auto-connected to "/"
    assert.equal(await ws.nextText(), '42["auth",{}]'); // the test app greets each connection
    for (let i = 0; i < 3; i++) {
      ws.send('2');
      assert.equal(await ws.nextText(), '3');
    }
    const t0 = Date.now();
    // The server never pings in v3.
    await within(ws.ended, PI + PT + LATE, 'v3 heartbeat timeout');
    assertAbout(Date.now() - t0, PI + PT, 'v3 timeout after the last client ping');
    assert.equal(ws.queue.items.filter((m) => m.type === 'text' && m.data === '2').length, 0, 'server pinged a v3 client');
  });

  test('v3 polling: "1:2" is answered "1:3"', async () => {
    const { sid } = await openPolling(port, { path: '/socket.io/', eio: 3 });
    // Socket.IO packets ("40", the app's "42[auth]") may share these payloads: only the
    // Engine.IO heartbeat matters here.
    for (let i = 0; i < 2; i++) {
      assert.equal((await pollPost(port, { path: '/socket.io/', eio: 3, sid }, encodeV3(['2']))).text, 'ok');
      const g = await pollGet(port, { path: '/socket.io/', eio: 3, sid });
      const packets = decodeV3(g.text).filter((p) => p[0] !== '4');
      assert.deepEqual(packets, ['3']);
    }
  });

  test('the server exits 0 (under ASan: no leak, no report)', () => stopServer(srv));
});
