// Engine.IO edges a C server can get wrong while the happy path works: extra query parameters
// (the client's cache buster "t"), chunked and split POST bodies, keep-alive and pipelined
// requests on one connection, compressed polling responses (httpCompression: gzip/deflate from
// 1 KiB), hundreds of packets in one payload, large WebSocket frames (16/64-bit lengths),
// empty packets and malformed v3 length prefixes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import {
  HttpConn,
  OP,
  decodeV3,
  decodeV4,
  eioPath,
  eioWs,
  encodeV3,
  encodeV4,
  frame,
  openPolling,
  parseOpen,
  pollGet,
  pollPost,
  request,
  startServer,
  stopServer,
} from './lib.mjs';

describe('Engine.IO edges', { timeout: 60000 }, () => {
  let srv;
  let port;
  before(async () => {
    srv = await startServer({ args: ['--ping-interval', '20000', '--ping-timeout', '20000'] });
    port = srv.port;
  });
  after(() => stopServer(srv));

  /** A v3 session on /socket.io/ with the auto-connect "40" and the auth event consumed
   * (they may come with the handshake response or with the next GET). Returns its query. */
  async function openV3() {
    const path = '/socket.io/';
    const { sid, rest } = await openPolling(port, { path, eio: 3 });
    const q = { path, eio: 3, sid };
    const got = [...rest];
    while (got.length < 2) got.push(...decodeV3((await pollGet(port, q)).text));
    assert.deepEqual(got, ['40', '42["auth",{}]']);
    return q;
  }

  test('unknown query parameters (t=, b64=, j=) are ignored on v4', async () => {
    const extra = 't=PkVf3Tq&b64=1&foo=bar';
    const { sid, open } = await openPolling(port, { extra });
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal((await pollPost(port, { sid, extra: 't=x1' }, '4a')).text, 'ok');
    assert.equal((await pollGet(port, { sid, extra: 't=x2&b64=1' })).text, '4a');
  });

  test('a chunked POST split inside a UTF-8 sequence and inside the separator', async () => {
    const { sid } = await openPolling(port);
    const body = Buffer.from(encodeV4(['4κόσμε', '4😀', '4end']));
    const cut1 = body.indexOf(Buffer.from('😀')) + 2;
    const cut2 = body.lastIndexOf(0x1e) + 1;
    const r = await request(port, {
      method: 'POST',
      path: eioPath({ sid }),
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'transfer-encoding': 'chunked' },
      body: [body.subarray(0, 3), body.subarray(3, cut1), body.subarray(cut1, cut2), body.subarray(cut2)],
    });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok');
    assert.equal((await pollGet(port, { sid })).text, body.toString('utf8'));
  });

  test('keep-alive: handshake, POST and GET on one connection, then a pipelined POST + GET', async () => {
    const c = await HttpConn.open(port);
    c.write(c.request('GET', eioPath({})));
    const hs = await c.response();
    assert.equal(hs.status, 200);
    const { sid } = parseOpen(hs.text);
    c.write(c.request('POST', eioPath({ sid }), { body: '4one' }));
    assert.equal((await c.response()).text, 'ok');
    c.write(c.request('GET', eioPath({ sid })));
    assert.equal((await c.response()).text, '4one');
    c.write(Buffer.concat([c.request('POST', eioPath({ sid }), { body: '4two' }), c.request('GET', eioPath({ sid }))]));
    const [p, g] = [await c.response(), await c.response()];
    assert.equal(p.text, 'ok');
    assert.equal(g.text, '4two');
    c.close();
  });

  for (const enc of ['gzip', 'deflate']) {
    test(`a polling response of >= 1 KiB is ${enc}-compressed when asked for; a small one is not`, async () => {
      const { sid } = await openPolling(port);
      const big = '4' + 'compress me '.repeat(200);
      assert.equal((await pollPost(port, { sid }, big)).text, 'ok');
      const r = await request(port, { path: eioPath({ sid }), headers: { 'accept-encoding': `${enc}` } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], enc);
      const plain = enc === 'gzip' ? zlib.gunzipSync(r.body) : zlib.inflateSync(r.body);
      assert.equal(plain.toString('utf8'), big);
      assert.equal((await pollPost(port, { sid }, '4small')).text, 'ok');
      const s = await request(port, { path: eioPath({ sid }), headers: { 'accept-encoding': `${enc}` } });
      assert.equal(s.headers['content-encoding'], undefined);
      assert.equal(s.text, '4small');
    });
  }

  test('500 packets in one payload come back complete and in order', async () => {
    const { sid } = await openPolling(port);
    const packets = Array.from({ length: 500 }, (_, i) => `4m${i}`);
    assert.equal((await pollPost(port, { sid }, encodeV4(packets))).text, 'ok');
    const got = [];
    while (got.length < 500) got.push(...decodeV4((await pollGet(port, { sid })).text));
    assert.deepEqual(got, packets);
  });

  test('large WebSocket messages: 16-bit and 64-bit length frames both ways', async () => {
    const { ws } = await eioWs(port);
    for (const n of [125, 126, 65535, 65536, 200000]) {
      const m = '4' + 'z'.repeat(n - 1);
      ws.send(m);
      assert.equal(await ws.nextText(), m, `size ${n}`);
    }
    const bin = Buffer.alloc(70000, 7);
    ws.send(bin);
    assert.deepEqual((await ws.nextMessage()).data, bin);
    ws.close();
    await ws.closedByServer();
    ws.assertClean();
  });

  test('an empty packet over WebSocket closes the session', async () => {
    const { ws, open } = await eioWs(port);
    ws.write(frame(OP.TEXT, Buffer.alloc(0)));
    await ws.closedByServer();
    assert.equal((await pollGet(port, { sid: open.sid })).status, 400);
  });

  for (const [name, body] of [
    ['a length past the end', '999:4x'],
    ['a non-numeric length', 'x:4hello'],
    ['a missing packet after a length', '2:4x3:'],
  ]) {
    test(`v3 payload with ${name} closes the session`, async () => {
      const q = await openV3();
      try {
        const p = await pollPost(port, q, body);
        assert.ok([200, 400].includes(p.status));
      } catch {
        // the server may drop the connection
      }
      const g = await pollGet(port, q);
      assert.ok(g.status === 400 || /^1:[16]/.test(g.text), `after a bad v3 payload: ${g.status} ${JSON.stringify(g.text)}`);
      if (g.status === 200) assert.equal((await pollGet(port, q)).status, 400);
    });
  }

  test('v3 payload with a correct UTF-16 length but the byte count would differ', async () => {
    const q = await openV3();
    assert.equal((await pollPost(port, q, encodeV3(['42["message","😀😀😀"]', '42["message","a"]']))).text, 'ok');
    const back = [];
    while (back.length < 2) back.push(...decodeV3((await pollGet(port, q)).text));
    assert.deepEqual(back, ['42["message-back","😀😀😀"]', '42["message-back","a"]']);
  });

  test('a sid used with the wrong protocol or transport: 400 code 3', async () => {
    const v3 = await openPolling(port, { path: '/socket.io/', eio: 3 });
    const r = await pollGet(port, { path: '/socket.io/', eio: 4, sid: v3.sid });
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.text), { code: 3, message: 'Bad request' });
    const { ws, open } = await eioWs(port);
    const r2 = await pollGet(port, { sid: open.sid });
    assert.equal(r2.status, 400);
    assert.deepEqual(JSON.parse(r2.text), { code: 3, message: 'Bad request' });
    ws.send('4ws session intact');
    assert.equal(await ws.nextText(), '4ws session intact');
    ws.close();
    await ws.closedByServer();
  });

  test('invalid UTF-8 in a text POST: no crash; the session is closed or goes on', async () => {
    const { sid } = await openPolling(port);
    const p = await pollPost(port, { sid }, Buffer.from([0x34, 0xff, 0xfe, 0x41])).catch((e) => ({ status: e.message }));
    const g = await pollGet(port, { sid });
    if (g.status === 400) return;
    assert.equal(p.status, 200);
    assert.ok(g.text.startsWith('4'), JSON.stringify(g.text));
  });

  test('an oversized request head is refused (4xx or close) and the server carries on', async () => {
    const r = await request(port, { path: eioPath({}), headers: { 'x-big': 'a'.repeat(100000) } }).catch((e) => ({ status: e.code || e.message }));
    assert.ok(typeof r.status !== 'number' || (r.status >= 400 && r.status < 500), `status ${r.status}`);
    const { sid } = await openPolling(port);
    assert.ok(sid);
  });

  test('the server exits 0 (under ASan: no leak, no report)', () => stopServer(srv));
});
