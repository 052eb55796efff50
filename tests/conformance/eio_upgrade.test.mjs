// Engine.IO v4 transport upgrade on the wire (engine.io-protocol README, "Upgrade"): a polling
// session opens a WebSocket with its sid, "2probe" -> "3probe", the pending GET is ended with
// a noop "6", "5" completes the upgrade; packets queued meanwhile arrive on the WebSocket; the
// old transport and a second WebSocket with the same sid are refused afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawWs, eioPath, eioWs, openPolling, pollGet, pollPost, startServer, stopServer, upgradeRequest } from './lib.mjs';

describe('Engine.IO v4 upgrade', { timeout: 60000 }, () => {
  let srv;
  let port;
  before(async () => {
    srv = await startServer({ args: ['--ping-interval', '20000', '--ping-timeout', '20000'] });
    port = srv.port;
  });
  after(() => stopServer(srv));

  for (const path of ['/engine.io/', '/socket.io/']) {
    test(`${path}: probe, noop to the pending GET, upgrade, then polling with that sid is refused`, async () => {
      const { sid } = await openPolling(port, { path });
      const pending = pollGet(port, { path, sid }, 10000);
      const { ws } = await eioWs(port, { path, sid });
      ws.send('2probe');
      assert.equal(await ws.nextText(), '3probe');
      const g = await pending;
      assert.equal(g.status, 200);
      assert.equal(g.text, '6', 'the pending GET is ended with a noop');
      ws.send('5');
      if (path === '/engine.io/') {
        ws.send('4hello');
        assert.equal(await ws.nextText(), '4hello');
        ws.send(Buffer.from([1, 2, 3]));
        const m = await ws.nextMessage();
        assert.equal(m.type, 'binary');
        assert.deepEqual(m.data, Buffer.from([1, 2, 3]));
      } else {
        ws.send('40');
        assert.match(await ws.nextText(), /^40\{"sid":"[\w-]+"\}$/);
      }
      const r = await pollGet(port, { path, sid });
      assert.equal(r.status, 400, `GET after upgrade: ${r.status} ${r.text}`);
      assert.deepEqual(JSON.parse(r.text), { code: 3, message: 'Bad request' });
      const p = await pollPost(port, { path, sid }, '4late');
      assert.equal(p.status, 400, `POST after upgrade: ${p.status} ${p.text}`);
      ws.close();
      await ws.closedByServer();
      ws.assertClean();
    });
  }

  test('packets queued on the session during the probe are flushed on the WebSocket after "5"', async () => {
    const { sid } = await openPolling(port);
    const { ws } = await eioWs(port, { sid });
    ws.send('2probe');
    assert.equal(await ws.nextText(), '3probe');
    // No GET is pending: the echo of this POST waits in the session's buffer.
    assert.equal((await pollPost(port, { sid }, '4queued\x1e4twice')).text, 'ok');
    ws.send('5');
    assert.equal(await ws.nextText(), '4queued');
    assert.equal(await ws.nextText(), '4twice');
    ws.send('4after');
    assert.equal(await ws.nextText(), '4after');
    ws.close();
    await ws.closedByServer();
    ws.assertClean();
  });

  test('a second WebSocket with the sid of an upgraded session gets no session', async () => {
    const { sid } = await openPolling(port);
    const { ws } = await eioWs(port, { sid });
    ws.send('2probe');
    assert.equal(await ws.nextText(), '3probe');
    ws.send('5');
    ws.send('4x');
    assert.equal(await ws.nextText(), '4x');
    const r = await upgradeRequest(port, eioPath({ transport: 'websocket', sid }));
    if (r.status === 101) {
      // Node upgrades and closes at once: no Engine.IO packet may arrive on it.
      const ws2 = new RawWs(r.sock, r.rest, 'second');
      await ws2.closedByServer();
      assert.equal(ws2.queue.items.filter((m) => m.type === 'text' || m.type === 'binary').length, 0);
    } else {
      assert.equal(r.status, 400);
      r.sock.destroy();
    }
    // The upgraded session is untouched.
    ws.send('4still');
    assert.equal(await ws.nextText(), '4still');
    ws.close();
    await ws.closedByServer();
  });

  test('a WebSocket that sends anything but the probe and "5" is dropped; polling goes on', async () => {
    const { sid } = await openPolling(port);
    const { ws } = await eioWs(port, { sid });
    ws.send('4not a probe');
    await ws.closedByServer();
    const p = await pollPost(port, { sid }, '4polling');
    assert.equal(p.text, 'ok');
    const g = await pollGet(port, { sid });
    assert.equal(g.text, '4polling');
  });

  test('the server exits 0 (under ASan: no leak, no report)', () => stopServer(srv));
});
