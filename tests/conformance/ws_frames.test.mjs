// RFC 6455 on the wire, against the Engine.IO echo at /engine.io/: the opening handshake and
// its refusals, fragmentation with interleaved control frames, ping/pong, non-minimal lengths,
// byte-by-byte arrival, the maxPayload cap (1009), protocol errors (1002), invalid UTF-8
// (1007) and the closing handshake. Every server frame is checked by RawWs (unmasked, RSV 0,
// minimal length, valid control frames); after each failure another session still works.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OP, REF, RawWs, closePayload, eioPath, eioWs, frame, pollGet, request, startServer, stopServer, upgradeRequest } from './lib.mjs';

const MAX = 1000;

describe('RFC 6455 framing (WebSocket transport)', { timeout: 90000 }, () => {
  let srv;
  let port;
  let other; // a session that must survive every failure below
  before(async () => {
    srv = await startServer({ args: ['--ping-interval', '20000', '--ping-timeout', '20000', '--max-payload', String(MAX)] });
    port = srv.port;
    other = (await eioWs(port)).ws;
  });
  after(() => stopServer(srv));

  /** Fails the test unless the server sends a close frame with `code` and closes TCP. */
  async function expectFail(ws, code, what) {
    const c = await ws.closedByServer();
    assert.ok(c, `${what}: TCP closed without a close frame`);
    assert.equal(c.code, code, `${what}: close code ${c.code} (${c.reason}), want ${code}`);
    ws.assertClean();
    assert.equal(ws.queue.items.filter((m) => m.type === 'text' || m.type === 'binary').length, 0, `${what}: data after the error`);
  }
  async function session() {
    return (await eioWs(port)).ws;
  }

  describe('opening handshake', () => {
    test('101 with the right accept, and no extension even when permessage-deflate is offered', async () => {
      const r = await upgradeRequest(port, eioPath({ transport: 'websocket' }), {
        headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
      });
      assert.equal(r.status, 101);
      assert.equal(r.headers['sec-websocket-extensions'], undefined);
      const ws = new RawWs(r.sock, r.rest, 'ext');
      assert.equal((await ws.nextText())[0], '0');
      ws.close();
      await ws.closedByServer();
      ws.assertClean();
    });

    test('Upgrade/Connection tokens are case-insensitive and may be in lists', async () => {
      const ws = await RawWs.connect(port, eioPath({ transport: 'websocket' }), {
        headers: { Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' },
      });
      assert.equal((await ws.nextText())[0], '0');
      ws.close();
      await ws.closedByServer();
    });

    for (const [name, opts] of [
      ['no Sec-WebSocket-Key', { omit: ['Sec-WebSocket-Key'] }],
      ['a key that is not 16 bytes of base64', { headers: { 'Sec-WebSocket-Key': 'c2hvcnQ=' } }],
      ['a key that is not base64', { headers: { 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' } }],
    ]) {
      test(`refused: ${name} -> 400`, async () => {
        const r = await upgradeRequest(port, eioPath({ transport: 'websocket' }), opts);
        assert.equal(r.status, 400, r.head);
        r.sock.destroy();
      });
    }

    test('refused: Sec-WebSocket-Version other than 13 -> 400 or 426 with "Sec-WebSocket-Version: 13"', { skip: REF && 'ws also accepts version 8' }, async () => {
      for (const v of ['8', '12', undefined]) {
        const opts = v === undefined ? { omit: ['Sec-WebSocket-Version'] } : { headers: { 'Sec-WebSocket-Version': v } };
        const r = await upgradeRequest(port, eioPath({ transport: 'websocket' }), opts);
        assert.ok([400, 426].includes(r.status), `version ${v}: ${r.head}`);
        if (r.status === 426) assert.equal(r.headers['sec-websocket-version'], '13');
        r.sock.destroy();
      }
    });

    test('a GET without Upgrade on transport=websocket is a 400 with code 3', async () => {
      const r = await request(port, { path: eioPath({ transport: 'websocket' }), headers: { Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      assert.equal(r.status, 400);
      assert.deepEqual(JSON.parse(r.text), { code: 3, message: 'Bad request' });
    });
  });

  describe('data framing', () => {
    test('fragmented text with pings in between: pongs first, then the whole message', async () => {
      const ws = await session();
      ws.write(Buffer.concat([
        frame(OP.TEXT, Buffer.from('4hel'), { fin: false }),
        frame(OP.PING, Buffer.from('p1')),
        frame(OP.CONT, Buffer.alloc(0), { fin: false }),
        frame(OP.PING, Buffer.alloc(0)),
        frame(OP.CONT, Buffer.from('lo')),
      ]));
      assert.deepEqual(await ws.nextOf('pong'), { type: 'pong', data: Buffer.from('p1') });
      assert.deepEqual(await ws.nextOf('pong'), { type: 'pong', data: Buffer.alloc(0) });
      assert.equal(await ws.nextText(), '4hello');
      ws.close();
      await ws.closedByServer();
      ws.assertClean();
    });

    test('a 125-byte ping is answered with an identical pong; unsolicited pongs are ignored', async () => {
      const ws = await session();
      const p = Buffer.alloc(125, 0xa5);
      ws.write(frame(OP.PING, p));
      assert.deepEqual((await ws.nextOf('pong')).data, p);
      ws.write(frame(OP.PONG, Buffer.from('unsolicited')));
      ws.send('4after pong');
      assert.equal(await ws.nextText(), '4after pong');
      ws.close();
      await ws.closedByServer();
    });

    test('non-minimal length forms, frames in one write, a UTF-8 sequence split across fragments', async () => {
      const ws = await session();
      ws.write(Buffer.concat([
        frame(OP.TEXT, Buffer.from('4sixteen'), { len16: true }),
        frame(OP.TEXT, Buffer.from('4sixty-four'), { len64: true }),
        frame(OP.TEXT, Buffer.from([0x34, 0xf0, 0x9f]), { fin: false }),
        frame(OP.CONT, Buffer.from([0x98, 0x80])),
        frame(OP.BINARY, Buffer.from([0, 1, 2, 0xff])),
      ]));
      assert.equal(await ws.nextText(), '4sixteen');
      assert.equal(await ws.nextText(), '4sixty-four');
      assert.equal(await ws.nextText(), '4😀');
      const m = await ws.nextMessage();
      assert.equal(m.type, 'binary');
      assert.deepEqual(m.data, Buffer.from([0, 1, 2, 0xff]));
      ws.close();
      await ws.closedByServer();
      ws.assertClean();
    });

    test('a frame arriving one byte per TCP segment', async () => {
      const ws = await session();
      ws.sock.setNoDelay(true);
      const f = frame(OP.TEXT, Buffer.from('4' + 'slow '.repeat(30)));
      for (const b of f) {
        ws.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r)); // yields so each byte is its own write
      }
      assert.equal(await ws.nextText(), '4' + 'slow '.repeat(30));
      ws.close();
      await ws.closedByServer();
    });

    test('a message of exactly maxPayload bytes passes', async () => {
      const ws = await session();
      const m = '4' + 'x'.repeat(MAX - 1);
      ws.write(Buffer.concat([frame(OP.TEXT, Buffer.from(m.slice(0, 400)), { fin: false }), frame(OP.CONT, Buffer.from(m.slice(400)))]));
      assert.equal(await ws.nextText(), m);
      ws.send(m);
      assert.equal(await ws.nextText(), m);
      ws.close();
      await ws.closedByServer();
    });
  });

  describe('failures close with the right status, and only that connection', () => {
    const cases = [
      [1009, 'a message over maxPayload', [frame(OP.TEXT, Buffer.from('4' + 'x'.repeat(MAX)))]],
      [1009, 'fragments adding up over maxPayload', [frame(OP.TEXT, Buffer.from('4' + 'x'.repeat(600)), { fin: false }), frame(OP.CONT, Buffer.from('y'.repeat(600)))]],
      [1009, 'a header announcing 2^40 bytes (no payload sent)', [Buffer.from([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4])]],
      [1002, 'an unmasked client frame', [frame(OP.TEXT, Buffer.from('4x'), { mask: false })]],
      [1002, 'RSV1 without an extension', [frame(OP.TEXT, Buffer.from('4x'), { rsv: 4 })]],
      [1002, 'RSV3', [frame(OP.BINARY, Buffer.from([1]), { rsv: 1 })]],
      [1002, 'reserved data opcode 3', [frame(3, Buffer.from('4x'))]],
      [1002, 'reserved control opcode 0xB', [frame(0xb, Buffer.alloc(0))]],
      [1002, 'a ping of 126 bytes', [frame(OP.PING, Buffer.alloc(126))]],
      [1002, 'a fragmented ping', [frame(OP.PING, Buffer.from('p'), { fin: false })]],
      [1002, 'a continuation with no message started', [frame(OP.CONT, Buffer.from('4x'))]],
      [1002, 'a new text frame inside a fragmented message', [frame(OP.TEXT, Buffer.from('4a'), { fin: false }), frame(OP.TEXT, Buffer.from('4b'))]],
      [1007, 'invalid UTF-8 (a surrogate) in a text frame', [frame(OP.TEXT, Buffer.from([0x34, 0xed, 0xa0, 0x80]))]],
      [1007, 'invalid UTF-8 split over fragments', [frame(OP.TEXT, Buffer.from([0x34, 0xce, 0xba, 0xf4]), { fin: false }), frame(OP.CONT, Buffer.from([0x90, 0x80, 0x80]))]],
      [1007, 'a text message ending inside a UTF-8 sequence', [frame(OP.TEXT, Buffer.from([0x34, 0xe2, 0x82]))]],
      [1002, 'a close frame with a 1-byte payload', [frame(OP.CLOSE, Buffer.from([3]))]],
      [1002, 'close code 1005 (must not be sent)', [frame(OP.CLOSE, closePayload(1005))]],
      [1002, 'close code 999', [frame(OP.CLOSE, closePayload(999))]],
      [1002, 'close code 1004 (reserved)', [frame(OP.CLOSE, closePayload(1004))]],
      [1002, 'close code 2999 (reserved)', [frame(OP.CLOSE, closePayload(2999))]],
      [1002, 'close code 5000', [frame(OP.CLOSE, closePayload(5000))]],
      [1007, 'a close reason that is not UTF-8', [frame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xff])]))]],
    ];
    for (const [code, name, frames] of cases) {
      test(`${name} -> ${code}`, async () => {
        const { ws, open } = await eioWs(port);
        ws.write(Buffer.concat(frames));
        await expectFail(ws, code, name);
        // The Engine.IO session went with its transport.
        assert.equal((await pollGet(port, { sid: open.sid })).status, 400);
      });
    }
  });

  describe('closing handshake', () => {
    for (const [code, reason] of [
      [1000, 'bye'],
      [1001, ''],
      [3000, 'app'],
      [4999, 'κόσμε'],
    ]) {
      test(`client close ${code}: the server answers with a close frame, closes TCP, ends the session`, async () => {
        const { ws, open } = await eioWs(port);
        ws.close(code, reason);
        const c = await ws.closedByServer();
        assert.ok(c, 'no close frame from the server');
        assert.ok(c.code === code || c.code === 1000 || c.code === 1005, `echoed close code ${c.code}`);
        ws.assertClean();
        assert.equal((await pollGet(port, { sid: open.sid })).status, 400);
      });
    }

    test('an empty close frame is answered too', async () => {
      const ws = await session();
      ws.write(frame(OP.CLOSE, Buffer.alloc(0)));
      const c = await ws.closedByServer();
      assert.ok(c, 'no close frame from the server');
      ws.assertClean();
    });
  });

  test('the other session survived everything; the server exits 0 (under ASan: no leak, no report)', async () => {
    other.send('4survivor');
    assert.equal(await other.nextText(), '4survivor');
    other.close();
    await other.closedByServer();
    other.assertClean();
    await stopServer(srv);
  });
});
