// Engine.IO v3 / Socket.IO v4 protocol (socket.io-client 2.x) on the wire, on /socket.io/:
// "<len>:<packet>" payloads whose length counts UTF-16 code units (an emoji counts 2), the
// automatic connection to "/" ("40" without a CONNECT from the client), namespace auth from
// the query ("40/custom?token=x,"), binary events as base64 (b64=1), as the XHR2 binary
// payload (application/octet-stream) and as WebSocket frames prefixed with the type byte 4.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertHandshake,
  decodeV3,
  decodeV3Binary,
  eioWs,
  encodeV3,
  encodeV3Binary,
  openPolling,
  pollGet,
  pollPost,
  startServer,
  stopServer,
} from './lib.mjs';

const path = '/socket.io/';
const PH = '{"_placeholder":true,"num":0}';

describe('Engine.IO v3 (EIO=3) and Socket.IO v4 protocol', { timeout: 60000 }, () => {
  let srv;
  let port;
  before(async () => {
    srv = await startServer({ args: ['--ping-interval', '20000', '--ping-timeout', '20000'] });
    port = srv.port;
  });
  after(() => stopServer(srv));

  /** Opens a v3 polling session and returns {sid, extra, packets} where packets are those that
   * followed the open packet until "/" was connected and greeted ("40", auth event). */
  async function openV3(extra = '') {
    const { sid, open, rest } = await openPolling(port, { path, eio: 3, extra });
    // decodeV3 (in openPolling) checks every length prefix against the packet's JS length
    assertHandshake(open, { upgrades: ['websocket'], pingInterval: 20000, pingTimeout: 20000, maxPayload: 1000000 });
    const packets = [...rest];
    while (packets.length < 2) {
      const g = await pollGet(port, { path, eio: 3, sid, extra });
      assert.equal(g.status, 200);
      packets.push(...decodeV3(g.text));
    }
    return { sid, packets };
  }

  const q = (sid, extra = '') => ({ path, eio: 3, sid, extra });

  test('polling handshake "<len>:0{...}", then auto-connect "40" and the auth event, unasked', async () => {
    const { packets } = await openV3();
    assert.deepEqual(packets, ['40', '42["auth",{}]']);
  });

  test('payload lengths count UTF-16 code units (an emoji counts 2), in both directions', async () => {
    const { sid } = await openV3();
    const ev = '42["message","😀é",1]';
    assert.equal(ev.length, 21); // 20 code points, 21 UTF-16 units, 24 UTF-8 bytes
    assert.equal(Buffer.byteLength(ev), 24);
    const body = encodeV3([ev, '42["message","x"]']);
    assert.ok(body.startsWith('21:42'));
    const p = await pollPost(port, q(sid), body);
    assert.equal(p.status, 200);
    assert.equal(p.text, 'ok');
    const g = await pollGet(port, q(sid));
    assert.equal(g.text, '26:42["message-back","😀é",1]22:42["message-back","x"]');
    assert.deepEqual(decodeV3(g.text), ['42["message-back","😀é",1]', '42["message-back","x"]']);
  });

  test('"40/custom?token=x," connects /custom with the query as auth', async () => {
    const { sid } = await openV3();
    assert.equal((await pollPost(port, q(sid), encodeV3(['40/custom?token=x,']))).text, 'ok');
    const got = [];
    while (got.length < 2) got.push(...decodeV3((await pollGet(port, q(sid))).text));
    assert.deepEqual(got, ['40/custom,', '42/custom,["auth",{"token":"x"}]']);
    assert.equal((await pollPost(port, q(sid), encodeV3(['42/custom,["message",{"a":"😀"}]']))).text, 'ok');
    assert.equal((await pollGet(port, q(sid))).text, '37:42/custom,["message-back",{"a":"😀"}]');
  });

  test('acks: "42/custom,7[...]" style ids are answered "43<id>[...]"', async () => {
    const { sid } = await openV3();
    assert.equal((await pollPost(port, q(sid), encodeV3(['425["message-with-ack",1,"2"]', '426["echo","😀"]']))).text, 'ok');
    const got = [];
    while (got.length < 2) got.push(...decodeV3((await pollGet(port, q(sid))).text));
    assert.deepEqual(got.sort(), ['435[1,"2"]', '436["😀"]']);
  });

  test('binary event with b64=1: attachments as "b4<base64>" packets', async () => {
    const { sid } = await openV3('b64=1');
    const body = encodeV3([`451-["message",${PH}]`, 'b4AQID']);
    assert.equal((await pollPost(port, q(sid, 'b64=1'), body)).text, 'ok');
    const g = await pollGet(port, q(sid, 'b64=1'));
    assert.match(g.headers['content-type'], /^text\/plain/);
    assert.deepEqual(decodeV3(g.text), [`451-["message-back",${PH}]`, 'b4AQID']);
  });

  test('binary event over XHR2 polling: application/octet-stream binary payloads both ways', async () => {
    const { sid } = await openV3();
    const body = encodeV3Binary([`451-["message",${PH}]`, Buffer.from([4, 1, 2, 3, 0xff])]);
    const p = await pollPost(port, q(sid), body, { headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(p.status, 200);
    assert.equal(p.text, 'ok');
    const g = await pollGet(port, q(sid));
    assert.equal(g.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(decodeV3Binary(g.body), [`451-["message-back",${PH}]`, Buffer.from([4, 1, 2, 3, 0xff])]);
  });

  test('websocket: open, "40", auth; binary frames carry the type byte 4', async () => {
    const { ws, open } = await eioWs(port, { path, eio: 3 });
    assertHandshake(open, { upgrades: [], pingInterval: 20000, pingTimeout: 20000, maxPayload: 1000000 });
    assert.equal(await ws.nextText(), '40');
    assert.equal(await ws.nextText(), '42["auth",{}]');
    ws.send('42["message","😀"]');
    assert.equal(await ws.nextText(), '42["message-back","😀"]');
    ws.send(`451-["message",${PH}]`);
    ws.send(Buffer.from([4, 9, 8, 7]));
    assert.equal(await ws.nextText(), `451-["message-back",${PH}]`);
    const m = await ws.nextMessage();
    assert.equal(m.type, 'binary');
    assert.deepEqual(m.data, Buffer.from([4, 9, 8, 7]));
    ws.send('40/nope,');
    assert.equal(await ws.nextText(), '44/nope,{"message":"Invalid namespace"}');
    ws.send('40/custom?token=y,');
    assert.equal(await ws.nextText(), '40/custom,');
    assert.equal(await ws.nextText(), '42/custom,["auth",{"token":"y"}]');
    ws.close();
    await ws.closedByServer();
    ws.assertClean();
  });

  test('upgrade polling -> websocket: "1:6" to the pending GET, then "5"', async () => {
    const { sid } = await openV3();
    const pending = pollGet(port, q(sid), 10000);
    const { ws } = await eioWs(port, { path, eio: 3, sid });
    ws.send('2probe');
    assert.equal(await ws.nextText(), '3probe');
    assert.equal((await pending).text, '1:6');
    ws.send('5');
    ws.send('42["message",3]');
    assert.equal(await ws.nextText(), '42["message-back",3]');
    assert.equal((await pollGet(port, q(sid))).status, 400);
    ws.close();
    await ws.closedByServer();
    ws.assertClean();
  });

  test('the server exits 0 (under ASan: no leak, no report)', () => stopServer(srv));
});
