// Session lifecycle on the wire: clients that vanish (an aborted pending GET, a POST cut off
// mid-body, a WebSocket reset without a close frame, half a frame), overlapping POSTs, an
// upgrade that never completes (--upgrade-timeout), a Socket.IO session that never connects a
// namespace (--connect-timeout). None may crash or leak (the final clean-exit test runs the
// server's teardown under ASan), and other sessions carry on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { poll } from '../lib/server.mjs';
import { HttpConn, REF, eioPath, eioWs, frame, OP, openPolling, pollGet, pollPost, startServer, stopServer, within } from './lib.mjs';

const UT = 500; // --upgrade-timeout
const CT = 700; // --connect-timeout
const LATE = 1500;

describe('Engine.IO session lifecycle', { timeout: 60000 }, () => {
  let srv;
  let port;
  let witness; // a polling session that must survive everything
  before(async () => {
    srv = await startServer({
      args: ['--ping-interval', '20000', '--ping-timeout', '20000', '--upgrade-timeout', String(UT), '--connect-timeout', String(CT)],
    });
    port = srv.port;
    witness = (await openPolling(port)).sid;
  });
  after(() => stopServer(srv));

  async function gone(sid) {
    return (await pollGet(port, { sid }, 3000)).status === 400;
  }

  test('a pending GET aborted by the client: no crash; the session is closed (as Node) or still usable', async () => {
    const { sid } = await openPolling(port);
    const c = await HttpConn.open(port);
    c.write(c.request('GET', eioPath({ sid })));
    // A round trip on another connection: by then the server has read the held GET.
    await openPolling(port);
    c.close();
    await within(c.closed, 2000, 'client socket closed');
    const p = await pollPost(port, { sid }, '4after').catch((e) => ({ status: e.message }));
    if (p.status === 400) return; // closed, like Node ("poll connection closed prematurely")
    assert.equal(p.text, 'ok');
    assert.equal((await pollGet(port, { sid })).text, '4after');
  });

  test('a POST cut off mid-body: no crash, the session is closed or usable', async () => {
    const { sid } = await openPolling(port);
    const c = await HttpConn.open(port);
    c.write(c.request('POST', eioPath({ sid }), { headers: { 'Content-Length': 1000 } }));
    c.write(Buffer.from('4partial'));
    await openPolling(port); // round trip
    c.close();
    await within(c.closed, 2000, 'client socket closed');
    const g = await pollPost(port, { sid }, '4x').catch((e) => ({ status: e.message }));
    assert.ok(g.status === 400 || g.text === 'ok', `after a cut POST: ${g.status}`);
  });

  test('overlapping POSTs: the second is refused with 400 and the session is closed', async () => {
    const { sid } = await openPolling(port);
    const c = await HttpConn.open(port);
    c.write(c.request('POST', eioPath({ sid }), { headers: { 'Content-Length': 100 } }));
    c.write(Buffer.from('4first'));
    await openPolling(port); // round trip: the first POST's head has been read
    const second = await pollPost(port, { sid }, '4second');
    assert.equal(second.status, 400);
    assert.ok(await gone(sid));
    c.close();
  });

  test('a WebSocket reset without a close frame ends its session', async () => {
    const { ws, open } = await eioWs(port);
    ws.destroy();
    await poll(() => gone(open.sid), { timeoutMs: 3000, what: 'session gone after a reset' });
  });

  test('half a WebSocket frame, then the connection drops: no crash', async () => {
    const { ws, open } = await eioWs(port);
    const f = frame(OP.TEXT, Buffer.from('4' + 'y'.repeat(300)));
    ws.write(f.subarray(0, 50));
    await openPolling(port); // round trip
    ws.destroy();
    await poll(() => gone(open.sid), { timeoutMs: 3000, what: 'session gone' });
  });

  test('an upgrade that never sends "5" is dropped after the upgrade timeout; polling goes on', { skip: REF && 'no --upgrade-timeout flag in the reference' }, async () => {
    const { sid } = await openPolling(port);
    const { ws } = await eioWs(port, { sid });
    ws.send('2probe');
    assert.equal(await ws.nextText(), '3probe');
    const t0 = Date.now();
    await within(ws.ended, UT + LATE, 'probe WebSocket closed');
    assert.ok(Date.now() - t0 >= UT - 60, `closed after ${Date.now() - t0} ms`);
    assert.equal((await pollPost(port, { sid }, '4still polling')).text, 'ok');
    const g = await pollGet(port, { sid });
    // the GET may first carry the noop that ended a poll during the probe
    assert.match(g.text, /^(6\x1e)?4still polling$/);
  });

  test('a WebSocket with a sid that never probes is dropped after the upgrade timeout', { skip: REF && 'no --upgrade-timeout flag in the reference' }, async () => {
    const { sid } = await openPolling(port);
    const { ws } = await eioWs(port, { sid });
    await within(ws.ended, UT + LATE, 'silent upgrade WebSocket closed');
    assert.equal((await pollPost(port, { sid }, '4x')).text, 'ok');
  });

  test('a Socket.IO session that never connects a namespace is closed after the connect timeout', async () => {
    const t0 = Date.now();
    const { ws } = await eioWs(port, { path: '/socket.io/' });
    await within(ws.ended, CT + LATE, 'connect timeout');
    const dt = Date.now() - t0;
    assert.ok(dt >= CT - 60, `closed after ${dt} ms, connect timeout ${CT}`);
  });

  test('the witness session saw none of it; the server exits 0 (under ASan: no leak, no report)', async () => {
    assert.equal((await pollPost(port, { sid: witness }, '4w')).text, 'ok');
    assert.equal((await pollGet(port, { sid: witness })).text, '4w');
    await stopServer(srv);
  });
});
