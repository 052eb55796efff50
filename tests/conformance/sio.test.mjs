// Socket.IO protocol v5 (socket.io-protocol README) on the wire over Engine.IO v4, against the
// test app: CONNECT with and without auth, namespaces (/custom, an unknown one), DISCONNECT of
// one namespace while the Engine.IO session stays, byte-exact event echo, acks with ids, rooms
// and broadcast, binary events and binary acks (WebSocket frames and polling "b" packets), and
// malformed packets, each of which closes only its own connection.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeV4, eioWs, encodeV4, openPolling, pollGet, pollPost, startServer, stopServer } from './lib.mjs';

const path = '/socket.io/';
const ph = (n) => `{"_placeholder":true,"num":${n}}`;

describe('Socket.IO v5 protocol', { timeout: 60000 }, () => {
  let srv;
  let port;
  before(async () => {
    srv = await startServer({ args: ['--ping-interval', '20000', '--ping-timeout', '20000'] });
    port = srv.port;
  });
  after(() => stopServer(srv));

  /** A raw Engine.IO v4 WebSocket on /socket.io/ (no namespace connected yet). */
  async function open() {
    const { ws, open: hs } = await eioWs(port, { path });
    return { ws, eioSid: hs.sid };
  }
  /** Sends CONNECT for nsp (with an optional auth object) and returns the Socket.IO sid after
   * checking the CONNECT reply and the app's auth event. */
  async function connectNs(ws, nsp = '/', auth) {
    const prefix = nsp === '/' ? '' : `${nsp},`;
    ws.send(`40${prefix}${auth === undefined ? '' : JSON.stringify(auth)}`);
    const reply = await ws.nextText();
    const m = reply.match(/^40(\/[^,]*,)?(\{.*\})$/);
    assert.ok(m && (m[1] ?? '') === prefix, `CONNECT reply ${JSON.stringify(reply)}`);
    const body = JSON.parse(m[2]);
    assert.deepEqual(Object.keys(body), ['sid']);
    assert.match(body.sid, /^[\w-]+$/);
    assert.equal(await ws.nextText(), `42${prefix}["auth",${JSON.stringify(auth ?? {})}]`);
    return body.sid;
  }
  async function closeWs(ws) {
    ws.close();
    await ws.closedByServer();
    ws.assertClean();
  }

  test('CONNECT "/" without auth: 40{"sid"} (not the Engine.IO sid), then auth {}', async () => {
    const { ws, eioSid } = await open();
    const sid = await connectNs(ws);
    assert.notEqual(sid, eioSid);
    await closeWs(ws);
  });

  test('CONNECT with an auth payload: the app sees it', async () => {
    const { ws } = await open();
    await connectNs(ws, '/', { token: 'abc', n: 1, nested: { a: [true, null] } });
    await connectNs(ws, '/custom', { k: 'v' });
    await closeWs(ws);
  });

  test('unknown namespace: 44/nsp,{"message":"Invalid namespace"}; the session stays usable', async () => {
    const { ws } = await open();
    ws.send('40/nsp,');
    assert.equal(await ws.nextText(), '44/nsp,{"message":"Invalid namespace"}');
    ws.send('40/a/b,{"token":"t"}');
    assert.equal(await ws.nextText(), '44/a/b,{"message":"Invalid namespace"}');
    await connectNs(ws, '/custom');
    ws.send('42/custom,["message","ok"]');
    assert.equal(await ws.nextText(), '42/custom,["message-back","ok"]');
    await closeWs(ws);
  });

  test('41 leaves one namespace; the other and the Engine.IO session stay; "/" can reconnect', async () => {
    const { ws } = await open();
    const sid1 = await connectNs(ws, '/');
    await connectNs(ws, '/custom');
    ws.send('41');
    ws.send('42/custom,["message",1]');
    // the first thing back is the /custom echo: nothing is sent in reply to 41
    assert.equal(await ws.nextText(), '42/custom,["message-back",1]');
    const sid2 = await connectNs(ws, '/');
    assert.notEqual(sid2, sid1);
    ws.send('42["message",2]');
    assert.equal(await ws.nextText(), '42["message-back",2]');
    ws.send('41/custom,');
    ws.send('42["message",3]');
    assert.equal(await ws.nextText(), '42["message-back",3]');
    await closeWs(ws);
  });

  test('event echo is byte-exact', async () => {
    const { ws } = await open();
    await connectNs(ws);
    ws.send('42["message",1,"2",{"3":[true]}]');
    assert.equal(await ws.nextText(), '42["message-back",1,"2",{"3":[true]}]');
    ws.send('42["message"]');
    assert.equal(await ws.nextText(), '42["message-back"]');
    ws.send('42["message","héllo ✓ 😀",{"a":{"b":[1,2.5,-3,null,false]}}]');
    assert.equal(await ws.nextText(), '42["message-back","héllo ✓ 😀",{"a":{"b":[1,2.5,-3,null,false]}}]');
    // Escapes may be re-encoded, but the values must be the same.
    ws.send('42["message","\\u00e9\\ud83d\\ude00\\n\\"\\\\"]');
    const back = await ws.nextText();
    assert.deepEqual(JSON.parse(back.slice(2)), ['message-back', 'é😀\n"\\']);
    await closeWs(ws);
  });

  test('acks: 43<id>[args], in the namespace of the event', async () => {
    const { ws } = await open();
    await connectNs(ws);
    await connectNs(ws, '/custom');
    ws.send('421["message-with-ack",1,"2",{"3":[true]}]');
    assert.equal(await ws.nextText(), '431[1,"2",{"3":[true]}]');
    ws.send('42/custom,7["message-with-ack",{"a":[]}]');
    assert.equal(await ws.nextText(), '43/custom,7[{"a":[]}]');
    ws.send('4299["echo",null]');
    assert.equal(await ws.nextText(), '4399[null]');
    ws.send('420["echo","zero"]');
    assert.equal(await ws.nextText(), '430["zero"]');
    await closeWs(ws);
  });

  test('rooms: join acks the size; bcast reaches the room except the sender, and acks with no args', async () => {
    const a = (await open()).ws;
    const b = (await open()).ws;
    const c = (await open()).ws;
    for (const ws of [a, b, c]) await connectNs(ws);
    a.send('421["join","room-1"]');
    assert.equal(await a.nextText(), '431[{"ok":true,"room":"room-1","size":1}]');
    b.send('422["join","room-1"]');
    assert.equal(await b.nextText(), '432[{"ok":true,"room":"room-1","size":2}]');
    a.send('423["bcast","room-1","hi",{"x":1}]');
    assert.equal(await a.nextText(), '433[]');
    assert.equal(await b.nextText(), '42["bcast","hi",{"x":1}]');
    a.send('42["bcast","room-1","no ack"]');
    assert.equal(await b.nextText(), '42["bcast","no ack"]');
    // Neither the sender nor a non-member got a bcast: their next message is their own echo.
    for (const ws of [a, c]) {
      ws.send('42["message","sync"]');
      assert.equal(await ws.nextText(), '42["message-back","sync"]');
    }
    for (const ws of [a, b, c]) await closeWs(ws);
  });

  test('binary event over WebSocket: placeholders, then raw attachments as binary frames', async () => {
    const { ws } = await open();
    await connectNs(ws);
    ws.send(`451-["message",${ph(0)}]`);
    ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await ws.nextText(), `451-["message-back",${ph(0)}]`);
    let m = await ws.nextMessage();
    assert.equal(m.type, 'binary');
    assert.deepEqual(m.data, Buffer.from([1, 2, 3]));
    ws.send(`452-["message",${ph(0)},"x",{"y":${ph(1)}}]`);
    ws.send(Buffer.from([0xff]));
    ws.send(Buffer.alloc(0));
    assert.equal(await ws.nextText(), `452-["message-back",${ph(0)},"x",{"y":${ph(1)}}]`);
    m = await ws.nextMessage();
    assert.deepEqual(m.data, Buffer.from([0xff]));
    m = await ws.nextMessage();
    assert.equal(m.type, 'binary');
    assert.equal(m.data.length, 0);
    await closeWs(ws);
  });

  test('binary ack: 461-<id>[placeholder] + attachment', async () => {
    const { ws } = await open();
    await connectNs(ws, '/custom');
    ws.send(`451-/custom,12["echo",${ph(0)}]`);
    ws.send(Buffer.from('binary ✓'));
    assert.equal(await ws.nextText(), `461-/custom,12[${ph(0)}]`);
    const m = await ws.nextMessage();
    assert.deepEqual(m.data, Buffer.from('binary ✓'));
    await closeWs(ws);
  });

  test('binary event over v4 polling: attachments as "b<base64>" packets', async () => {
    const { sid } = await openPolling(port, { path });
    const q = { path, sid };
    assert.equal((await pollPost(port, q, '40')).text, 'ok');
    const hello = [];
    while (hello.length < 2) hello.push(...decodeV4((await pollGet(port, q)).text));
    assert.match(hello[0], /^40\{"sid":"[\w-]+"\}$/);
    assert.equal(hello[1], '42["auth",{}]');
    assert.equal((await pollPost(port, q, encodeV4([`451-["message",${ph(0)}]`, Buffer.from([1, 2, 3])]))).text, 'ok');
    const g = await pollGet(port, q);
    assert.equal(g.text, `451-["message-back",${ph(0)}]\x1ebAQID`);
  });

  test('ack ids past 32 bits and ids on events without a handler', async () => {
    const { ws } = await open();
    await connectNs(ws);
    ws.send('424294967296["echo",1]');
    assert.equal(await ws.nextText(), '434294967296[1]');
    ws.send('429007199254740991["message-with-ack","max"]');
    assert.equal(await ws.nextText(), '439007199254740991["max"]');
    // No handler: no ack (the client would time out), the connection stays.
    ws.send('425["no-such-event",1]');
    ws.send('42["message","after"]');
    assert.equal(await ws.nextText(), '42["message-back","after"]');
    await closeWs(ws);
  });

  test('a large event (200 KB) echoes intact over WebSocket (64-bit frame lengths)', async () => {
    const { ws } = await open();
    await connectNs(ws);
    const big = 'é'.repeat(100000);
    ws.send(`42["message",${JSON.stringify(big)}]`);
    assert.equal(await ws.nextText(), `42["message-back",${JSON.stringify(big)}]`);
    await closeWs(ws);
  });

  test('over polling, a binary event whose attachment arrives in a later POST', async () => {
    const { sid, rest } = await openPolling(port, { path });
    assert.deepEqual(rest, []);
    const q = { path, sid };
    assert.equal((await pollPost(port, q, '40')).text, 'ok');
    const hello = [];
    while (hello.length < 2) hello.push(...decodeV4((await pollGet(port, q)).text));
    assert.equal((await pollPost(port, q, `451-["message",${ph(0)}]`)).text, 'ok');
    assert.equal((await pollPost(port, q, encodeV4([Buffer.from('late')]))).text, 'ok');
    assert.equal((await pollGet(port, q)).text, `451-["message-back",${ph(0)}]\x1eb${Buffer.from('late').toString('base64')}`);
  });

  test('CONNECT to a namespace that is already connected closes the connection', async () => {
    const { ws } = await open();
    await connectNs(ws);
    ws.send('40');
    await ws.closedByServer();
    ws.assertClean();
  });

  for (const [name, packets] of [
    ['not JSON', ['42{bad']],
    ['truncated JSON', ['42["message"']],
    ['unknown packet type', ['47[]']],
    ['event in a namespace not connected', ['42/custom,["message",1]']],
    ['reserved event name', ['42["connect"]']],
    ['CONNECT payload that is not an object', ['40"str"']],
    ['placeholder number out of range', [`451-["message",${ph(3)}]`, Buffer.from([1])]],
  ]) {
    test(`malformed packet (${name}) closes that connection only`, async () => {
      const other = (await open()).ws;
      await connectNs(other);
      const { ws } = await open();
      await connectNs(ws);
      for (const p of packets) ws.send(p);
      await ws.closedByServer();
      ws.assertClean();
      assert.equal(ws.queue.items.filter((m) => m.type === 'text' && m.data.startsWith('42')).length, 0);
      other.send('42["message","still"]');
      assert.equal(await other.nextText(), '42["message-back","still"]');
      await closeWs(other);
    });
  }

  test('the server exits 0 (under ASan: no leak, no report)', () => stopServer(srv));
});
