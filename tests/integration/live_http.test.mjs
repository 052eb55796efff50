// tests/integration/live_http.test.mjs: the livestream app's HTTP side (PROTOCOL.md 8): /health
// with counts, /metrics in the Prometheus text format with moving counters, the pages with
// their security headers, ETag/304 and gzip, and CORS only for CORS_ORIGIN.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { ackErr, ackOk, killAll, parseProm, startLive, uid } from '../lib/live.mjs';

after(killAll);

/** A raw HTTP request (no automatic decompression, any header): {status, headers, body: Buffer}. */
function raw(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('livestream HTTP', () => {
  let node;
  before(async () => {
    node = await startLive();
  });
  after(async () => {
    if (node) await node.stop();
  });

  test('/health: 200 {"status":"ok"} with the store, media servers and counts', async () => {
    const before = await node.health();
    assert.equal(before.status, 200);
    assert.match(before.headers.get('content-type'), /application\/json/);
    const h = before.json;
    assert.equal(h.status, 'ok');
    assert.equal(h.node, node.nodeId);
    assert.equal(h.mode, 'demo');
    assert.deepEqual(h.store, { backend: 'memory', up: true });
    assert.deepEqual(h.sfus, { total: 0, ready: 0 });
    const a = await node.client({ role: 'admin' });
    const v = await node.client({ role: 'viewer' }, { transports: ['websocket'] });
    const roomId = uid('room');
    await ackOk(a, 'start-stream', { roomId });
    await ackOk(v, 'join-stream', { roomId });
    const after = (await node.health()).json;
    assert.equal(after.sockets, h.sockets + 2);
    assert.equal(after.connections.websocket, h.connections.websocket + 2, 'the 4.x client upgrades to websocket');
    assert.equal(after.rooms, h.rooms + 1);
    a.close();
    v.close();
  });

  test('/metrics: Prometheus text, every family, counters that move', async () => {
    const r = await raw(`${node.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const m = parseProm(r.body.toString());
    const families = {
      onair_connections: 'gauge', onair_sockets: 'gauge', onair_sessions_total: 'counter', onair_packets_total: 'counter',
      onair_connects_refused_total: 'counter', onair_events_in_total: 'counter', onair_errors_total: 'counter',
      onair_room_events_total: 'counter', onair_local_rooms: 'gauge', onair_store_up: 'gauge', onair_store_ops_total: 'counter',
      onair_sfus: 'gauge', onair_sfu_rpc_seconds: 'histogram', onair_sfu_rpc_errors_total: 'counter', onair_sfu_restarts_total: 'counter',
    };
    for (const [f, type] of Object.entries(families)) assert.equal(m.get(`# TYPE ${f}`), type, f);
    for (const ev of ['start-stream', 'chat-message', 'kick-viewer', 'stop-recording', 'other']) {
      assert.ok(m.has(`onair_events_in_total{event="${ev}"}`), ev);
    }
    for (const code of ['unauthorized', 'forbidden', 'not_found', 'invalid_payload', 'rate_limited', 'conflict', 'unavailable', 'internal']) {
      assert.ok(m.has(`onair_errors_total{code="${code}"}`), code);
    }
    assert.equal(m.get('onair_store_up{backend="memory"}'), 1);
    // counters move
    const a = await node.client({ role: 'admin' });
    const roomId = uid('room');
    await ackOk(a, 'start-stream', { roomId });
    for (let i = 0; i < 3; i++) await ackOk(a, 'chat-message', { roomId, text: `m${i}` });
    await ackErr(a, 'stop-stream', { roomId: uid('nope') }, 'not_found');
    const m2 = await node.metrics();
    const d = (k) => m2.get(k) - m.get(k);
    assert.equal(d('onair_events_in_total{event="chat-message"}'), 3);
    assert.equal(d('onair_events_in_total{event="start-stream"}'), 1);
    assert.equal(d('onair_errors_total{code="not_found"}'), 1);
    assert.ok(d('onair_room_events_total{direction="out"}') >= 4);
    assert.ok(d('onair_room_events_total{direction="in"}') >= 4);
    assert.ok(d('onair_sessions_total') >= 1);
    assert.ok(d('onair_store_ops_total{result="ok"}') >= 5);
    assert.ok(m2.get('onair_sockets') >= 1);
    a.close();
  });

  test('pages /, /admin, /viewer: HTML with CSP and nosniff, ETag and 304, gzip when asked', async () => {
    for (const path of ['/', '/admin', '/viewer', '/index.html', '/admin.html', '/viewer.html']) {
      const r = await raw(`${node.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.match(r.headers['content-security-policy'], /default-src 'self'/);
      assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.ok(r.headers.etag, 'etag');
      assert.equal(r.headers['content-encoding'], undefined, 'identity unless asked');
      assert.match(r.body.toString(), /<html/i);
      const again = await raw(`${node.url}${path}`, { headers: { 'if-none-match': r.headers.etag } });
      assert.equal(again.status, 304, `${path} 304`);
      assert.equal(again.body.length, 0);
      assert.equal(again.headers.etag, r.headers.etag);
      const gz = await raw(`${node.url}${path}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      assert.equal(gz.status, 200);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.match(gz.headers.vary || '', /Accept-Encoding/i);
      assert.deepEqual(gunzipSync(gz.body), r.body);
      assert.equal(Number(gz.headers['content-length']), gz.body.length);
      const stale = await raw(`${node.url}${path}`, { headers: { 'if-none-match': '"stale"' } });
      assert.equal(stale.status, 200);
    }
    // every page names scripts the server serves
    const admin = (await raw(`${node.url}/admin`)).body.toString();
    for (const src of admin.matchAll(/<script[^>]*src="([^"]+)"/g)) {
      const url = new URL(src[1], `${node.url}/admin`);
      assert.equal((await raw(url.href)).status, 200, src[1]);
    }
    assert.equal((await raw(`${node.url}/no-such-page`)).status, 404);
    assert.equal((await raw(`${node.url}/health`)).headers['x-content-type-options'], 'nosniff');
    assert.equal((await raw(`${node.url}/metrics`)).headers['x-content-type-options'], 'nosniff');
  });

  test('no CORS_ORIGIN: no Access-Control-Allow-Origin anywhere', async () => {
    const origin = 'https://evil.example';
    for (const path of ['/socket.io/?EIO=4&transport=polling', '/health', '/']) {
      const r = await raw(`${node.url}${path}`, { headers: { origin } });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['access-control-allow-origin'], undefined, path);
    }
    const d = await raw(`${node.url}/api/dev-token`, { method: 'POST', headers: { origin }, body: '{"role":"viewer"}' });
    assert.equal(d.status, 200);
    assert.equal(d.headers['access-control-allow-origin'], undefined);
  });
});

describe('livestream HTTP: CORS_ORIGIN', () => {
  test('only the listed origin gets Access-Control-Allow-Origin (Engine.IO, dev tokens, preflights)', async () => {
    const node = await startLive({ env: { CORS_ORIGIN: 'https://ok.example' } });
    try {
      const poll = '/socket.io/?EIO=4&transport=polling';
      const ok = await raw(`${node.url}${poll}`, { headers: { origin: 'https://ok.example' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://ok.example');
      // socket.io-client 2.x sends credentialed XHRs: a listed origin carries Allow-Credentials
      assert.equal(ok.headers['access-control-allow-credentials'], 'true');
      const evil = await raw(`${node.url}${poll}`, { headers: { origin: 'https://evil.example' } });
      assert.equal(evil.headers['access-control-allow-origin'], undefined);
      const pre = await raw(`${node.url}${poll}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://ok.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://ok.example');
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      const tok = await raw(`${node.url}/api/dev-token`, { method: 'POST', headers: { origin: 'https://ok.example' }, body: '{"role":"viewer"}' });
      assert.equal(tok.status, 200);
      assert.equal(tok.headers['access-control-allow-origin'], 'https://ok.example');
      const tokEvil = await raw(`${node.url}/api/dev-token`, { method: 'POST', headers: { origin: 'https://evil.example' }, body: '{"role":"viewer"}' });
      assert.equal(tokEvil.headers['access-control-allow-origin'], undefined);
      // a cross-origin client still connects (Node has no Origin check without CORS either)
      const s = await node.client({ role: 'viewer' }, { extraHeaders: { origin: 'https://ok.example' }, transports: ['polling'] });
      assert.ok(s.connected);
    } finally {
      await node.stop();
    }
  });
});
