// HTTPS/WSS: onair-signal with TLS_CERT/TLS_KEY (a self-signed certificate made here with
// `openssl req`), driven by the official socket.io-client 4.x over https polling, wss and the
// polling -> websocket upgrade; HSTS and the security headers; bad clients (plain HTTP on the
// TLS port, garbage, a handshake cut short) are refused without harm to the others; bad
// certificate settings stop the start with exit status 2; SIGTERM exits 0 (ASan/LSan clean).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { HOST, buildDir, sanitizerEnv, startSignal, withTimeout } from '../lib/server.mjs';
import { assertCleanExit, bytes, closeAll, connect, emitAck } from '../lib/sio.mjs';

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** GET over https with the test CA; resolves {status, headers, text}. */
function httpsGet(port, p, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: HOST, port, path: p, ca, agent: false, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('https timeout')));
    req.on('error', reject);
  });
}

/** Writes bytes on a plain TCP connection; resolves with everything received until the server closes. */
function rawExchange(port, data, { end = false } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST);
    const chunks = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('raw exchange: the server did not close the connection'));
    }, 5000);
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
    s.on('error', () => {}); // a reset counts as closed
    s.write(data);
    if (end) s.end();
  });
}

/** Runs onair-signal expecting it to fail at start: resolves {code, out}. */
function startFails(args, env = {}) {
  return withTimeout(
    new Promise((resolve) => {
      const p = spawn(path.join(buildDir(), 'onair-signal'), ['--app', 'test', '--host', HOST, '--port', '0', ...args], {
        env: { ...process.env, ...sanitizerEnv(), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('exit', (code) => resolve({ code, out }));
    }),
    15000,
    'onair-signal with a bad TLS setting',
  );
}

describe('HTTPS and WSS', { timeout: 90000 }, () => {
  let dir, cert, key, ca, srv, url;
  const sockets = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onair-tls-'));
    cert = path.join(dir, 'cert.pem');
    key = path.join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
      '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    ca = await readFile(cert);
    srv = await startSignal({ args: ['--tls-cert', cert, '--tls-key', key] });
    url = `https://${HOST}:${srv.port}`;
    assert.equal(srv.records.find((r) => r.msg === 'listening').tls, true);
  });
  after(async () => {
    closeAll(sockets);
    try {
      if (srv) await assertCleanExit(srv);
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  for (const transports of [['polling'], ['websocket']]) {
    test(`socket.io-client over ${transports[0] === 'polling' ? 'https polling' : 'wss'}: events, acks, binary, 200 KB`, async () => {
      const s = await connect(url, { transports, ca });
      sockets.push(s);
      assert.equal(s.io.engine.transport.name, transports[0]);
      assert.deepEqual(await emitAck(s, 'echo', { a: 'é' }), [{ a: 'é' }]);
      const back = new Promise((resolve) => s.once('message-back', (...a) => resolve(a)));
      s.emit('message', 'bin', Buffer.from([0, 1, 2, 255]));
      const got = await withTimeout(back, 5000, 'message-back');
      assert.equal(got[0], 'bin');
      assert.deepEqual([...bytes(got[1])], [0, 1, 2, 255]);
      // several TLS records each way
      const big = 'x'.repeat(200000);
      assert.deepEqual(await emitAck(s, 'echo', big), [big]);
      s.close();
    });
  }

  test('polling upgrades to wss on the same session', async () => {
    const s = await connect(url, { transports: ['polling', 'websocket'], ca });
    sockets.push(s);
    const engine = s.io.engine;
    if (engine.transport.name !== 'websocket') {
      await withTimeout(new Promise((resolve) => engine.once('upgrade', resolve)), 5000, 'upgrade');
    }
    assert.equal(engine.transport.name, 'websocket');
    assert.deepEqual(await emitAck(s, 'echo', 'after upgrade'), ['after upgrade']);
    s.close();
  });

  test('rejectUnauthorized:false works too; an untrusted certificate is refused by default', async () => {
    const s = await connect(url, { transports: ['websocket'], rejectUnauthorized: false });
    sockets.push(s);
    assert.deepEqual(await emitAck(s, 'echo', 1), [1]);
    s.close();
    await assert.rejects(connect(url, { transports: ['polling'] }, 3000));
  });

  test('HSTS and the security headers on https responses', async () => {
    for (const p of ['/health', '/nope', '/socket.io/?EIO=4&transport=polling&sid=x']) {
      const r = await httpsGet(srv.port, p, ca);
      assert.equal(r.headers['strict-transport-security'], 'max-age=31536000', p);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
      assert.equal(r.headers['x-frame-options'], 'DENY', p);
    }
  });

  test('ALPN: http/1.1 is selected; a client offering only h2 is refused', async () => {
    const proto = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: HOST, port: srv.port, ca, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        resolve(s.alpnProtocol);
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(proto, 'http/1.1');
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: HOST, port: srv.port, ca, ALPNProtocols: ['h2'] }, () => {
          s.end();
          resolve();
        });
        s.on('error', reject);
      }),
      /no application protocol|alert/i,
    );
  });

  test('TLS 1.1 is refused', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: HOST, port: srv.port, ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => {
          s.end();
          resolve();
        });
        s.on('error', reject);
      }),
    );
  });

  test('plain HTTP to the TLS port: a plaintext 400 and a close; garbage and cut handshakes are closed', async () => {
    const plain = (await rawExchange(srv.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')).toString();
    assert.match(plain, /^HTTP\/1.1 400 Bad Request\r\n/);
    assert.match(plain, /HTTPS/);
    await rawExchange(srv.port, Buffer.from('\x16\x03\x01\x00\x05garbage-garbage-garbage'));
    // the first bytes of a real ClientHello, then the client hangs up
    const hello = await new Promise((resolve) => {
      const chunks = [];
      const fake = net.createServer((c) => {
        c.on('data', (d) => {
          chunks.push(d);
          c.destroy();
          fake.close();
          resolve(Buffer.concat(chunks));
        });
      });
      fake.listen(0, HOST, () => {
        const s = tls.connect({ host: HOST, port: fake.address().port, rejectUnauthorized: false });
        s.on('error', () => {});
      });
    });
    await rawExchange(srv.port, hello.subarray(0, Math.floor(hello.length / 2)), { end: true });
    const logs = srv.records.filter((r) => r.msg === 'tls error, connection closed');
    assert.ok(logs.length >= 2, `tls errors logged: ${logs.length}`);
    assert.ok(logs.some((r) => /http request/.test(r.err)));
    // the server is fine
    assert.equal((await httpsGet(srv.port, '/health', ca)).status, 200);
  });

  test('bad TLS settings stop the start with exit status 2 and say why', async () => {
    let r = await startFails(['--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', key]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /cannot load the certificate chain from .*missing\.pem/);
    r = await startFails(['--tls-cert', cert]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /TLS needs both a certificate and a key/);
    const other = path.join(dir, 'other.pem');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other]);
    r = await startFails([], { TLS_CERT: cert, TLS_KEY: other });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /does not match the certificate/);
    await writeFile(path.join(dir, 'junk.pem'), 'not a key\n');
    r = await startFails(['--tls-cert', cert, '--tls-key', path.join(dir, 'junk.pem')]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /cannot load the private key/);
  });
});
