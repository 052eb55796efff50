// tests/e2e/browser_clients.test.mjs: the official socket.io-client bundles in a real Chromium
// against onair-signal --app test, with the wire forms checked on the browser's side:
//  - 2.x (Engine.IO v3): polling sends and receives binary as the XHR2 binary payload
//    (application/octet-stream, `b64` never asked for), WebSocket binary frames carry the
//    Engine.IO type byte 4 first;
//  - 4.x (Engine.IO v4, bundle served by the signal server itself): binary over polling as
//    base64 `b<...>` packets in "\x1e"-separated text payloads, raw WebSocket binary frames.
// For each: polling only (no upgrade), WebSocket only and the default (polling, then upgrade):
// binary events (top-level and nested), acks with binary, a 100 KB string with emoji, rooms
// and broadcasts between two pages (also 2.x <-> 4.x). The pages come from a local static
// server (another origin: CORS "*" from the test app; 2.x therefore runs with
// withCredentials:false, its default `true` needs a credentialed CORS policy, as with Node).
// Run inside `unshare -n` with lo up (scripts/test.sh does that for tests/e2e/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { launchChromium } from '../lib/chromium.mjs';
import { REPO, startSignal } from '../lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLIENT_JS = path.join(HERE, 'pages/eio/client.js');
const V2_BUNDLE = path.join(REPO, 'tests/node_modules/socket.io-client-v2/dist/socket.io.js');

// The static server for the pages: /v2.html loads the 2.x bundle from here, /v4.html the 4.x
// bundle from the signal server (http://127.0.0.1:<signal port>/socket.io/socket.io.js).
function servePages(signalUrl) {
  const html = (bundle) =>
    `<!doctype html><meta charset="utf-8"><title>eio</title>` +
    `<script src="${bundle}"></script><script src="/client.js"></script>`;
  const files = {
    '/v2.html': ['text/html; charset=utf-8', () => html('/socket.io-v2.js')],
    '/v4.html': ['text/html; charset=utf-8', () => html(`${signalUrl}/socket.io/socket.io.js`)],
    '/client.js': ['text/javascript; charset=utf-8', () => fs.readFileSync(CLIENT_JS)],
    '/socket.io-v2.js': ['text/javascript; charset=utf-8', () => fs.readFileSync(V2_BUNDLE)],
  };
  const server = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname;
    const f = files[name];
    if (name === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' });
    res.end(f[1]());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}

// Records what the page sends to and gets from /socket.io/: HTTP requests with their bodies
// and responses (through CDP: playwright reports no body for an ArrayBuffer XHR) and WebSocket
// frames. Each request: {method, url (URL), headers, body: Promise<Buffer>, res: Promise<{type,
// body: Buffer}> (rejects when the request never completed, e.g. a GET cut by the close)}.
async function wire(page) {
  const w = { requests: [], sockets: [], sent: [], received: [] };
  const cdp = await page.context().newCDPSession(page);
  const pending = new Map();
  const buf = (data, b64) => Buffer.from(data || '', b64 ? 'base64' : 'utf8');
  cdp.on('Network.requestWillBeSent', (e) => {
    const r = e.request;
    if (!r.url.includes('/socket.io/?')) return;
    let body = Promise.resolve(Buffer.alloc(0));
    if (r.postDataEntries) body = Promise.resolve(Buffer.concat(r.postDataEntries.map((x) => buf(x.bytes, true))));
    else if (r.hasPostData) {
      body = cdp.send('Network.getRequestPostData', { requestId: e.requestId })
        .then((x) => buf(x.postData, x.base64Encoded));
    }
    const p = { type: null };
    const res = new Promise((resolve, reject) => Object.assign(p, { resolve, reject }));
    res.catch(() => {});
    pending.set(e.requestId, p);
    w.requests.push({ method: r.method, url: new URL(r.url), headers: lower(r.headers), body, res });
  });
  cdp.on('Network.responseReceived', (e) => {
    const p = pending.get(e.requestId);
    if (p) p.type = lower(e.response.headers)['content-type'];
  });
  cdp.on('Network.loadingFinished', (e) => {
    const p = pending.get(e.requestId);
    if (!p) return;
    pending.delete(e.requestId);
    cdp.send('Network.getResponseBody', { requestId: e.requestId })
      .then((x) => p.resolve({ type: p.type, body: buf(x.body, x.base64Encoded) }), p.reject);
  });
  cdp.on('Network.loadingFailed', (e) => {
    pending.get(e.requestId)?.reject(new Error(e.errorText));
    pending.delete(e.requestId);
  });
  await cdp.send('Network.enable');
  page.on('websocket', (ws) => {
    w.sockets.push(new URL(ws.url()));
    ws.on('framesent', (f) => w.sent.push(f.payload));
    ws.on('framereceived', (f) => w.received.push(f.payload));
  });
  return w;
}

function lower(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Splits an Engine.IO v3 binary payload (XHR2 form: per packet a type byte 0 = string or
 * 1 = binary, the decimal length as digit bytes, 0xFF, the packet) into
 * [{binary, data (Buffer)}]; throws on a malformed payload. */
function decodeV3BinaryPayload(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const binary = buf[i++];
    assert.ok(binary === 0 || binary === 1, `type byte ${binary} at ${i - 1}`);
    let len = 0;
    let digits = 0;
    while (buf[i] !== 0xff) {
      assert.ok(buf[i] <= 9 && digits < 10, `length digit ${buf[i]} at ${i}`);
      len = len * 10 + buf[i++];
      digits++;
    }
    i++;
    assert.ok(digits > 0 && i + len <= buf.length, `length ${len} at ${i} of ${buf.length}`);
    out.push({ binary: binary === 1, data: buf.subarray(i, i + len) });
    i += len;
  }
  return out;
}

const pattern = (n, seed = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
const bin = (n, seed) => ({ bin: 'ArrayBuffer', bytes: [...pattern(n, seed)] });
const SMALL = pattern(5, 1); // the top-level attachment of `message`, looked for on the wire

describe('socket.io-client 2.x and 4.x in Chromium', { timeout: 60000 }, () => {
  let srv;
  let web;
  let br;
  before(async () => {
    srv = await startSignal();
    web = await servePages(srv.url);
    br = await launchChromium();
  });
  after(async () => {
    await br?.close();
    await web?.close();
    await srv?.stop();
  });

  async function openPage(version) {
    const page = await br.newPage();
    const w = await wire(page);
    await page.goto(`${web.url}v${version}.html`);
    await page.waitForFunction(() => window.EIO && window.EIO.ready && typeof io === 'function');
    // 2.x exports its Socket.IO protocol (4); 4.x has Socket#timeout (4.4+)
    const kind = await page.evaluate(() => (io.protocol === 4 ? 2 : typeof io.Socket?.prototype.timeout === 'function' ? 4 : 0));
    assert.equal(kind, version);
    return { page, w };
  }

  function connectOpts(version, mode) {
    const o = mode === 'polling' ? { transports: ['polling'], upgrade: false }
      : mode === 'websocket' ? { transports: ['websocket'] } : {};
    return version === 2 ? { ...o, withCredentials: false } : o;
  }

  // Binary events, acks and a long string over one connection; returns the transport in use.
  async function exchange(page, name, url, opts, mode) {
    return page.evaluate(async ({ name, url, opts, mode }) => {
      const r = {};
      r.connected = await EIO.connect(name, url, opts, mode === 'upgrade');
      const P = EIO.pattern;
      r.back = await EIO.emitFor(name, 'message-back', 'message', 'é😀', P(5, 1),
        { nested: { deep: [P(3000, 2).buffer] }, n: null, s: 'x' });
      // two binary events at once: 2.x polling sends the second one's header and attachment
      // in one XHR2 binary payload with a string part
      r.many = await EIO.emitMany(name, 'message-back', [['message', 'one', P(4, 8).buffer], ['message', 'two✓', P(4, 9).buffer]]);
      // an ArrayBuffer first: 2.x (has-binary2) does not see a lone typed array as binary and
      // would send it as JSON; its parser then takes the nested typed arrays as attachments too
      r.ack = await EIO.emitAck(name, 'message-with-ack', P(70000, 3).buffer, 'y', { b: P(10, 4), arr: [1, P(1, 5)] });
      let long = '';
      while (long.length < 100000) long += 'a😀é\u2028"\\\n✓';
      const echoed = await EIO.emitAck(name, 'echo', long);
      r.echo = { same: echoed.length === 1 && echoed[0] === long, len: long.length, gotLen: String(echoed[0]).length };
      r.transport = EIO.transport(name);
      EIO.close(name);
      return r;
    }, { name, url, opts, mode });
  }

  function assertExchange(r, mode) {
    const want = mode === 'polling' ? 'polling' : 'websocket';
    assert.equal(r.connected, want);
    assert.equal(r.transport, want);
    assert.deepEqual(r.back, ['é😀', bin(5, 1), { nested: { deep: [bin(3000, 2)] }, n: null, s: 'x' }]);
    assert.deepEqual(r.many, [['one', bin(4, 8)], ['two✓', bin(4, 9)]]);
    assert.deepEqual(r.ack, [bin(70000, 3), 'y', { b: bin(10, 4), arr: [1, bin(1, 5)] }]);
    assert.deepEqual(r.echo, { same: true, len: r.echo.len, gotLen: r.echo.len });
    assert.ok(r.echo.len >= 100000);
  }

  // The page's polling requests and WebSocket frames, checked for the version's wire forms.
  async function assertWire(version, mode, w) {
    const eio = String(version === 2 ? 3 : 4);
    const polls = w.requests.filter((e) => e.url.searchParams.get('transport') === 'polling');
    for (const e of w.requests) {
      assert.equal(e.url.searchParams.get('EIO'), eio, e.url.href);
      assert.equal(e.url.searchParams.has('b64'), false, `b64 asked for: ${e.url.href}`);
    }
    assert.equal(polls.length > 0, mode !== 'websocket', `polling requests: ${polls.length}`);
    assert.equal(w.sockets.length, mode === 'polling' ? 0 : 1);
    for (const u of w.sockets) {
      assert.equal(u.searchParams.get('EIO'), eio);
      assert.equal(u.searchParams.get('transport'), 'websocket');
    }
    if (mode === 'polling') {
      const posts = [];
      const bodies = []; // GET responses
      for (const e of polls) {
        if (e.method === 'POST') posts.push({ type: e.headers['content-type'], body: await e.body });
        else bodies.push(await e.res.catch(() => null)); // null: a GET cut by the close
      }
      assert.ok(posts.length > 0 && bodies.some(Boolean));
      if (version === 2) {
        // XHR2 binary payloads both ways: [0x01, digits, 0xFF, 0x04, bytes...] carries SMALL
        const binPosts = posts.filter((e) => e.type === 'application/octet-stream');
        assert.ok(binPosts.length > 0, `no octet-stream POST among ${posts.map((e) => e.type)}`);
        const sentParts = binPosts.flatMap((e) => decodeV3BinaryPayload(e.body));
        assert.ok(sentParts.some((p) => p.binary && p.data.equals(Buffer.concat([Buffer.from([4]), SMALL]))));
        // a string part in a binary payload: UTF-8 bytes, its length in bytes
        assert.ok(sentParts.some((p) => !p.binary && p.data.toString('utf8') === '451-["message","two✓",{"_placeholder":true,"num":0}]'),
          sentParts.filter((p) => !p.binary).map((p) => p.data.toString('utf8')).join('\n'));
        assert.ok(sentParts.some((p) => p.binary && p.data.equals(Buffer.concat([Buffer.from([4]), pattern(4, 9)]))));
        const binGets = bodies.filter((b) => b?.type === 'application/octet-stream');
        assert.ok(binGets.length > 0, `no octet-stream GET response among ${bodies.map((b) => b?.type)}`);
        const gotParts = binGets.flatMap((b) => decodeV3BinaryPayload(b.body));
        assert.ok(gotParts.some((p) => p.binary && p.data.equals(Buffer.concat([Buffer.from([4]), SMALL]))));
        assert.ok(gotParts.some((p) => !p.binary && /^45\d+-\["message-back"/.test(p.data.toString('latin1'))));
      } else {
        // text payloads with base64 "b" packets, both ways
        const b64 = `b${SMALL.toString('base64')}`;
        const recs = (buf) => buf.toString('utf8').split('\x1e');
        assert.ok(posts.some((e) => recs(e.body).includes(b64)), 'no "b<base64>" packet in a POST');
        assert.ok(posts.every((e) => /^text\/plain/.test(e.type)), posts.map((e) => e.type).join());
        const got = bodies.filter(Boolean);
        assert.ok(got.some((b) => recs(b.body).includes(b64)), 'no "b<base64>" packet in a GET response');
        assert.ok(got.every((b) => /^text\/plain/.test(b.type)), got.map((b) => b.type).join());
      }
    } else {
      // binary WebSocket frames: v3 prefixes the Engine.IO message type byte 4, v4 sends raw bytes
      const want = version === 2 ? Buffer.concat([Buffer.from([4]), SMALL]) : SMALL;
      const isWant = (p) => Buffer.isBuffer(p) && p.equals(want);
      assert.ok(w.sent.some(isWant), `sent binary frames: ${w.sent.filter(Buffer.isBuffer).map((b) => b.subarray(0, 8).toString('hex'))}`);
      assert.ok(w.received.some(isWant), 'no such binary frame received');
      assert.ok(w.sent.some((p) => typeof p === 'string' && /^45\d+-\["message"/.test(p)));
    }
  }

  for (const version of [2, 4]) {
    for (const mode of ['polling', 'websocket', 'upgrade']) {
      test(`${version}.x, ${mode}: binary events, acks, 100 KB emoji string, wire forms`, { timeout: 20000 }, async () => {
        const { page, w } = await openPage(version);
        try {
          const r = await exchange(page, 'a', srv.url, connectOpts(version, mode), mode);
          assertExchange(r, mode);
          await assertWire(version, mode, w);
        } finally {
          await page.close();
        }
      });
    }
  }

  // Two pages (versions a and b) join one room; each broadcasts text and binary to the other.
  for (const [va, vb, mode] of [[2, 2, 'polling'], [4, 4, 'polling'], [2, 4, 'websocket'], [4, 2, 'upgrade']]) {
    test(`rooms: ${va}.x <-> ${vb}.x over ${mode}, binary broadcasts`, { timeout: 20000 }, async () => {
      const A = await openPage(va);
      const B = await openPage(vb);
      const room = `r-${va}-${vb}-${mode}`;
      try {
        const join = async (p, v, name) => {
          await p.evaluate(({ name, url, opts, up }) => EIO.connect(name, url, opts, up),
            { name, url: srv.url, opts: connectOpts(v, mode), up: mode === 'upgrade' });
          return p.evaluate(({ name, room }) => EIO.emitAck(name, 'join', room), { name, room });
        };
        assert.deepEqual(await join(A.page, va, 'a'), [{ ok: true, room, size: 1 }]);
        assert.deepEqual(await join(B.page, vb, 'b'), [{ ok: true, room, size: 2 }]);
        for (const [from, to, fn, tn, seed] of [[A, B, 'a', 'b', 6], [B, A, 'b', 'a', 7]]) {
          await to.page.evaluate((n) => EIO.arm(n, 'bcast'), tn);
          const acked = await from.page.evaluate(({ fn, room, seed }) =>
            EIO.emitAck(fn, 'bcast', room, `from ${fn} 😀`, EIO.pattern(2000, seed).buffer, { k: [EIO.pattern(3, seed)] }),
          { fn, room, seed });
          assert.deepEqual(acked, []);
          assert.deepEqual(await to.page.evaluate((n) => EIO.take(n, 'bcast'), tn),
            [`from ${fn} 😀`, bin(2000, seed), { k: [bin(3, seed)] }]);
        }
        const want = mode === 'polling' ? 'polling' : 'websocket';
        assert.equal(await A.page.evaluate(() => EIO.transport('a')), want);
        assert.equal(await B.page.evaluate(() => EIO.transport('b')), want);
      } finally {
        await A.page.close();
        await B.page.close();
      }
    });
  }

  test('no page errors; the server exits 0 on SIGTERM', { timeout: 20000 }, async () => {
    assert.deepEqual(br.pageErrors, []);
    await br.close();
    br = null;
    assert.deepEqual(await srv.stop(), { code: 0, signal: null });
  });
});
