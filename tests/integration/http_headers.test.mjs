// Security headers on every response of onair-signal (PROTOCOL.md 8): pages, JSON routes,
// 404/405, Engine.IO polling and its errors, 413, parse errors and the WebSocket 101, each
// header exactly once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HOST, startSignal } from '../lib/server.mjs';
import { assertCleanExit } from '../lib/sio.mjs';
import { request, eioPath } from '../conformance/lib.mjs';

const WANT = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Asserts each security header appears exactly once in a raw head (string). */
function assertHeadersOnce(head, what) {
  const lines = head.split('\r\n').slice(1);
  for (const [name, value] of Object.entries(WANT)) {
    const got = lines.filter((l) => l.toLowerCase().startsWith(name + ':'));
    assert.equal(got.length, 1, `${what}: ${name} ${got.length} times in\n${head}`);
    assert.equal(got[0].slice(name.length + 1).trim(), value, what);
  }
  assert.ok(!lines.some((l) => l.toLowerCase().startsWith('strict-transport-security:')), `${what}: no HSTS without TLS`);
}

/** Sends raw bytes on a new connection; resolves with the response head (up to the blank line). */
function rawHead(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST);
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('raw request: timeout'));
    }, 5000);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n\r\n');
      if (i >= 0) {
        clearTimeout(t);
        s.destroy();
        resolve(buf.slice(0, i));
      }
    });
    s.on('error', reject);
    s.write(bytes);
  });
}

describe('security headers', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startSignal();
  });
  after(async () => {
    if (srv) await assertCleanExit(srv);
  });

  const cases = [
    ['GET /health', 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', 200],
    ['404', 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', 404],
    ['socket.io.js', 'GET /socket.io/socket.io.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n', 200],
    ['polling handshake', `GET ${eioPath({ path: '/socket.io/' })} HTTP/1.1\r\nHost: x\r\n\r\n`, 200],
    ['unknown sid', `GET ${eioPath({ sid: 'nope' })} HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
    ['CORS preflight', `OPTIONS ${eioPath()} HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n\r\n`, 204],
    ['413', `POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n`, 413],
    ['malformed', 'NOT HTTP\r\n\r\n', 400],
    ['oversized head', `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
  ];
  for (const [what, bytes, status] of cases) {
    test(what, async () => {
      const head = await rawHead(srv.port, bytes);
      assert.match(head, new RegExp(`^HTTP/1.1 ${status} `), head);
      assertHeadersOnce(head, what);
    });
  }

  test('the WebSocket 101', async () => {
    const head = await rawHead(
      srv.port,
      `GET ${eioPath({ transport: 'websocket' })} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(head, /^HTTP\/1.1 101 /);
    assert.match(head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    assertHeadersOnce(head, '101');
  });

  test('node http client view: polling GET answered with the headers', async () => {
    const r = await request(srv.port, { path: eioPath({ path: '/socket.io/' }) });
    for (const [k, v] of Object.entries(WANT)) assert.equal(r.headers[k], v);
  });
});
