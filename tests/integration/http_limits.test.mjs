// The per-client HTTP request rate limit (--http-rate R:B, HTTP_RATE_LIMIT): a burst of B
// requests, then 429 with Retry-After until tokens come back at R/s; WebSocket frames are not
// requests; behind a trusted proxy (--trust-proxy) each X-Forwarded-For client has its own
// bucket and the proxy's own requests are not limited; bad settings stop the start (exit 2).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HOST, buildDir, poll, sanitizerEnv, startSignal, withTimeout } from '../lib/server.mjs';
import { assertCleanExit, closeAll, connect, emitAck } from '../lib/sio.mjs';
import { request } from '../conformance/lib.mjs';

const get = (port, p = '/health', headers = {}) => request(port, { path: p, headers });

describe('HTTP rate limit per client', { timeout: 60000 }, () => {
  let direct; // no trusted proxy: 127.0.0.1 is the client
  let proxied; // default trust: loopback is a proxy
  const sockets = [];
  before(async () => {
    [direct, proxied] = await Promise.all([
      startSignal({ args: ['--http-rate', '4:6', '--trust-proxy', ''] }),
      startSignal({ args: ['--http-rate', '2:3'] }),
    ]);
  });
  after(async () => {
    closeAll(sockets);
    if (direct) await assertCleanExit(direct);
    if (proxied) await assertCleanExit(proxied);
  });

  test('WebSocket frames are not requests; then a burst, 429 with Retry-After, tokens come back', async () => {
    // one request (the upgrade) carries 60 events and their acks
    const s = await connect(direct.url, { transports: ['websocket'] });
    sockets.push(s);
    const acks = await Promise.all(Array.from({ length: 60 }, (_, i) => emitAck(s, 'echo', i)));
    assert.deepEqual(acks.map((a) => a[0]), Array.from({ length: 60 }, (_, i) => i));
    s.close();
    // the upgrade took one token of 6; at 4/s a few more may have come back: drain them
    let r;
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      r = await get(direct.port);
      if (r.status !== 200) break;
      ok++;
    }
    assert.ok(ok >= 5 && ok <= 10, `${ok} requests before the limit`);
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers.connection, 'close');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.text, 'Too Many Requests');
    // a polling client cannot even open its session now
    await assert.rejects(connect(direct.url, { transports: ['polling'] }, 3000));
    // tokens come back at 4/s
    await poll(async () => (await get(direct.port)).status === 200, { timeoutMs: 3000, intervalMs: 250, what: 'a token back' });
  });

  test('behind a trusted proxy: one bucket per X-Forwarded-For client; the proxy itself is not limited', async () => {
    const a = { 'X-Forwarded-For': '192.0.2.10' };
    const b = { 'X-Forwarded-For': '203.0.113.5, 192.0.2.20' };
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(proxied.port, '/health', a)).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429), `a: ${statuses}`);
    assert.equal((await get(proxied.port, '/health', b)).status, 200); // 192.0.2.20 is another client
    for (let i = 0; i < 10; i++) assert.equal((await get(proxied.port)).status, 200, `proxy request ${i}`);
  });

  test('bad --http-rate or --trust-proxy values stop the start with exit status 2', async () => {
    for (const args of [['--http-rate', 'fast'], ['--http-rate', '-1'], ['--trust-proxy', 'proxy.example']]) {
      const r = await withTimeout(
        new Promise((resolve) => {
          const p = spawn(path.join(buildDir(), 'onair-signal'), ['--app', 'test', '--host', HOST, '--port', '0', ...args], {
            env: { ...process.env, ...sanitizerEnv() },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let out = '';
          p.stderr.on('data', (d) => (out += d));
          p.on('exit', (code) => resolve({ code, out }));
        }),
        15000,
        args.join(' '),
      );
      assert.equal(r.code, 2, `${args}: ${r.out}`);
      assert.match(r.out, /bad --(http-rate|trust-proxy)/);
    }
  });
});
