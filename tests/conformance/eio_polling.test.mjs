// Engine.IO v4 HTTP long-polling on the wire (engine.io-protocol README, "HTTP long-polling",
// "Packet encoding"): payloads joined by the record separator \x1e, binary as "b"+base64,
// POST answered "ok", a pending GET answered when data arrives, the close packet, and the
// cases where the server MUST close the session: an invalid packet, two concurrent GETs, a
// payload over maxPayload (413), a v3-style binary body. Other sessions survive each of them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REF, decodeV4, encodeV4, openPolling, pollGet, pollPost, startServer, stopServer } from './lib.mjs';

const MAX = 4000;

describe('Engine.IO v4 polling', { timeout: 60000 }, () => {
  let srv;
  let port;
  before(async () => {
    // Long heartbeat: no ping may land in the middle of these exchanges.
    srv = await startServer({ args: ['--ping-interval', '20000', '--ping-timeout', '20000', '--max-payload', String(MAX)] });
    port = srv.port;
  });
  after(() => stopServer(srv));

  /** Asserts that the session is gone: GET answers 400 {"code":1}. */
  async function assertGone(sid, what) {
    const r = await pollGet(port, { sid });
    assert.equal(r.status, 400, `${what}: session should be closed, GET gave ${r.status} ${JSON.stringify(r.text)}`);
    assert.deepEqual(JSON.parse(r.text), { code: 1, message: 'Session ID unknown' });
  }

  /** Asserts that the session still echoes. */
  async function assertAlive(sid, what) {
    const p = await pollPost(port, { sid }, '4alive');
    assert.equal(p.text, 'ok', what);
    const g = await pollGet(port, { sid });
    assert.equal(g.text, '4alive', what);
  }

  test('several packets in one POST are echoed in order, joined by \\x1e', async () => {
    const { sid } = await openPolling(port);
    const body = encodeV4(['4hello', '4', '4héllo ✓ 😀', '4{"json":[1,2]}']);
    const p = await pollPost(port, { sid }, body);
    assert.equal(p.status, 200);
    assert.equal(p.text, 'ok');
    const g = await pollGet(port, { sid });
    assert.equal(g.status, 200);
    assert.match(g.headers['content-type'], /^text\/plain; ?charset=UTF-8$/i);
    assert.equal(g.text, body);
    assert.equal(Number(g.headers['content-length']), Buffer.byteLength(body));
  });

  test('binary packets travel as b+base64, mixed with text', async () => {
    const { sid } = await openPolling(port);
    const bin = Buffer.from([1, 2, 3, 4]);
    const p = await pollPost(port, { sid }, encodeV4(['4hello', bin, '4x', Buffer.from([0, 0xff])]));
    assert.equal(p.text, 'ok');
    const g = await pollGet(port, { sid });
    assert.equal(g.text, '4hello\x1ebAQIDBA==\x1e4x\x1ebAP8=');
    assert.deepEqual(decodeV4(g.text)[1], bin);
  });

  test('messages of separate POSTs queue up for the next GET', async () => {
    const { sid } = await openPolling(port);
    for (const m of ['4a', '4b', '4c']) assert.equal((await pollPost(port, { sid }, m)).text, 'ok');
    const g = await pollGet(port, { sid });
    assert.equal(g.text, '4a\x1e4b\x1e4c');
  });

  test('a pending GET is answered as soon as data is queued', async () => {
    const { sid } = await openPolling(port);
    const t0 = Date.now();
    const get = pollGet(port, { sid }, 10000);
    // The GET must still be pending: it resolves only with the echo of this POST.
    assert.equal((await pollPost(port, { sid }, '4wake')).text, 'ok');
    const g = await get;
    assert.equal(g.text, '4wake');
    assert.ok(Date.now() - t0 < 3000, `GET answered after ${Date.now() - t0} ms`);
  });

  test('a payload of exactly maxPayload bytes is accepted', async () => {
    const { sid, open } = await openPolling(port);
    assert.equal(open.maxPayload, MAX);
    const body = '4' + 'x'.repeat(MAX - 1);
    assert.equal((await pollPost(port, { sid }, body)).text, 'ok');
    assert.equal((await pollGet(port, { sid })).text, body);
  });

  test('close packet: the pending GET ends cleanly, then the session is gone', async () => {
    const { sid } = await openPolling(port);
    const get = pollGet(port, { sid });
    const p = await pollPost(port, { sid }, '1');
    assert.equal(p.status, 200);
    const g = await get;
    assert.equal(g.status, 200);
    // Node answers noop (6); a close packet (1) would end the client as cleanly.
    assert.match(g.text, /^[16]$/, `pending GET got ${JSON.stringify(g.text)}`);
    await assertGone(sid, 'after close packet');
  });

  for (const [name, body] of [
    ['unknown packet type', 'abc'],
    ['packet type 9', '9x'],
    ['an empty packet', '4ok\x1e\x1e4ok'],
  ]) {
    test(`invalid packet (${name}) closes the session; others survive`, async () => {
      const other = await openPolling(port);
      const { sid } = await openPolling(port);
      try {
        const p = await pollPost(port, { sid }, body);
        assert.ok([200, 400].includes(p.status), `POST answered ${p.status}`);
      } catch {
        // closing the connection is acceptable too
      }
      await assertGone(sid, name);
      await assertAlive(other.sid, 'other session');
    });
  }

  test('two concurrent GETs: one gets a close packet, the other 400, the session is gone', async () => {
    const other = await openPolling(port);
    const { sid } = await openPolling(port);
    // Which of the two the server holds is a race; one gets the close packet, the other 400.
    const rs = await Promise.all([pollGet(port, { sid }), pollGet(port, { sid })]);
    rs.sort((a, b) => a.status - b.status);
    assert.deepEqual(
      rs.map((r) => [r.status, r.status === 200 ? r.text : '']),
      [
        [200, '1'],
        [400, ''],
      ],
    );
    await assertGone(sid, 'after overlapping GETs');
    await assertAlive(other.sid, 'other session');
  });

  test('a POST over maxPayload gets 413 and the session is closed; others survive', async () => {
    const other = await openPolling(port);
    const { sid } = await openPolling(port);
    let status;
    try {
      status = (await pollPost(port, { sid }, '4' + 'x'.repeat(MAX))).status;
    } catch (e) {
      status = e.message; // a server may also close the connection after the 413
    }
    assert.equal(status, 413);
    if (REF) await assertAlive(sid, 'Node keeps the session after a 413');
    else await assertGone(sid, 'over maxPayload');
    await assertAlive(other.sid, 'other session');
  });

  test('an application/octet-stream body (v3 binary) on v4 is refused and closes the session', async () => {
    const { sid } = await openPolling(port);
    const p = await pollPost(port, { sid }, Buffer.from([4, 1, 2, 3]), { headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(p.status, 400);
    await assertGone(sid, 'octet-stream on v4');
  });

  test('the server exits 0 (under ASan: no leak, no report)', () => stopServer(srv));
});
