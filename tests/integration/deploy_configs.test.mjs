// tests/integration/deploy_configs.test.mjs: the Prometheus, Redis and coturn examples of
// deploy/ checked by the real programs, on 127.0.0.1 only.
// - Prometheus: `promtool check config` / `check rules` / `test rules` (the alerts fire on the
//   series of onair-rules.test.yml), every onair_* name the rules use is exported by a real
//   livestream node's /metrics, and `promtool check metrics` accepts that output.
// - Redis: redis-server runs deploy/redis/onair-redis.conf (port, bind, dir and passwords
//   rendered for the test); a livestream node works through it as the restricted `onair` ACL
//   user (start-stream, chat, join-stream); that user cannot run dangerous commands or touch other
//   keys; the room and its chat survive a Redis restart (the AOF replays without an error).
// - coturn: turnserver runs deploy/coturn/turnserver.conf (listening/relay address 127.0.0.1,
//   test ports, a self-signed certificate); it answers a STUN Binding request over UDP with our
//   address and completes a TLS handshake on the TLS port, and reports no configuration error.
// Every process is stopped by PID; the signal node must exit 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { REPO, freePort, poll, spawnProcess, startSignal } from '../lib/server.mjs';
import { connect, emitAck } from '../lib/sio.mjs';

const DEPLOY = path.join(REPO, 'deploy');
const have = (bin) => ['/usr/bin', '/usr/sbin', '/bin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, bin)));

function run(cmd, args, { cwd, timeoutMs = 30000, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr, stdout }));
    if (input !== undefined) child.stdin.end(input);
  });
}

function rewrite(text, rules, what) {
  for (const [re, to] of rules) {
    assert.match(text, re, `${what} no longer has ${re}`);
    text = text.replace(re, to);
  }
  return text;
}

describe('deploy: Prometheus config and alert rules', { timeout: 60000, skip: have('promtool') ? false : 'promtool not installed' }, () => {
  const dir = path.join(DEPLOY, 'prometheus');

  test('promtool check config, check rules, test rules', async () => {
    const c = await run('promtool', ['check', 'config', 'onair.yml'], { cwd: dir });
    assert.equal(c.code, 0, c.out);
    assert.match(c.out, /SUCCESS: 1 rule files found/);
    const r = await run('promtool', ['check', 'rules', 'onair-rules.yml'], { cwd: dir });
    assert.equal(r.code, 0, r.out);
    const t = await run('promtool', ['test', 'rules', 'onair-rules.test.yml'], { cwd: dir });
    assert.equal(t.code, 0, t.out);
    assert.match(t.out, /SUCCESS/);
  });

  test('the metric names of the rules are what a livestream node exports', async () => {
    const node = await startSignal({ app: 'livestream', args: ['--jwt-secret', crypto.randomBytes(16).toString('hex')] });
    let text;
    try {
      const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
      text = await res.text();
    } finally {
      assert.deepEqual(await node.stop(), { code: 0, signal: null });
    }
    const samples = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
    // a family declared with no sample yet (per-SFU families of a node without SFUs) counts
    for (const [, f] of text.matchAll(/^# TYPE (\S+) /gm)) samples.add(f);
    const rules = fs.readFileSync(path.join(dir, 'onair-rules.yml'), 'utf8');
    const used = new Set([...rules.matchAll(/\b(onair_[a-z_]+)/g)].map((m) => m[1]));
    assert.ok(used.size >= 5, `rules use onair_* metrics: ${[...used]}`);
    for (const m of used) assert.ok(samples.has(m), `the rules use ${m}, /metrics has no such sample (has: ${[...samples].join(' ')})`);
    // label values the rules select on
    for (const sel of ['onair_sfus{state="ready"}', 'onair_sfus{state="down"}', 'onair_errors_total{code="internal"}',
      'onair_errors_total{code="unavailable"}', 'onair_sfu_rpc_errors_total{kind="timeout"}']) {
      assert.ok(text.includes(sel), `/metrics has ${sel}`);
    }
    const lint = await run('promtool', ['check', 'metrics'], { input: text });
    assert.equal(lint.code, 0, `promtool check metrics:\n${lint.out}`);
  });
});

describe('deploy: Redis config with a livestream node as the onair ACL user', { timeout: 90000, skip: have('redis-server') ? false : 'redis-server not installed' }, () => {
  let dir, conf, port, redis, node;
  const pw = { admin: crypto.randomBytes(12).toString('hex'), onair: crypto.randomBytes(12).toString('hex') };
  const secret = crypto.randomBytes(24).toString('hex');
  const sockets = [];

  const startRedisConf = () => spawnProcess({
    cmd: 'redis-server',
    args: [conf, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'],
    name: 'redis-server',
    ready: (l) => /Ready to accept connections/.test(l),
  });
  const cli = (user, ...args) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port),
    ...(user ? ['--user', user === 'admin' ? 'default' : user, '--pass', pw[user], '--no-auth-warning'] : []), ...args]);
  const token = (sub, role) => jwt.sign({ sub, role, name: sub }, secret, { algorithm: 'HS256', expiresIn: 600 });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-redis-conf-'));
    conf = path.join(dir, 'onair-redis.conf');
    fs.writeFileSync(conf, rewrite(fs.readFileSync(path.join(DEPLOY, 'redis/onair-redis.conf'), 'utf8'), [
      [/>CHANGE-ME-admin-password/, `>${pw.admin}`],
      [/>CHANGE-ME-onair-password/, `>${pw.onair}`],
    ], 'onair-redis.conf'));
    port = await freePort();
    redis = await startRedisConf();
  });

  after(async () => {
    for (const s of sockets) s.close();
    if (node) await node.stop('SIGKILL', 5000);
    if (redis) await redis.stop('SIGTERM', 5000);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('persistence and memory settings are in force', async () => {
    const r = await cli('admin', 'CONFIG', 'GET', '*');
    assert.equal(r.code, 0, r.out);
    const kv = new Map();
    const lines = r.stdout.split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) kv.set(lines[i], lines[i + 1]);
    assert.equal(kv.get('appendonly'), 'yes');
    assert.equal(kv.get('appendfsync'), 'everysec');
    assert.equal(kv.get('maxmemory-policy'), 'noeviction');
    assert.equal(kv.get('aof-use-rdb-preamble'), 'yes');
  });

  test('a password is needed; the onair user cannot run dangerous commands or touch other keys', async () => {
    assert.match((await cli(null, 'PING')).out, /NOAUTH/);
    assert.match((await cli('onair', 'PING')).out, /PONG/);
    assert.match((await cli('onair', 'FLUSHALL')).out, /NOPERM/);
    assert.match((await cli('onair', 'CONFIG', 'GET', 'dir')).out, /NOPERM/);
    assert.match((await cli('onair', 'KEYS', '*')).out, /NOPERM/);
    assert.match((await cli('onair', 'SET', 'other:key', '1')).out, /NOPERM/);
    assert.match((await cli('onair', 'SET', 'onair:probe', '1')).out, /OK/);
  });

  test('a livestream node works through it: start-stream, chat, join-stream', async () => {
    node = await startSignal({
      app: 'livestream',
      args: ['--redis-url', `redis://onair:${pw.onair}@127.0.0.1:${port}/0`, '--jwt-secret', secret, '--node-id', 'deploy-cfg'],
      env: { REDIS_URL: '', SFU_SOCKETS: '', SFU_SPAWN: '0' },
    });
    await poll(async () => (await fetch(`${node.url}/health`)).status === 200, { timeoutMs: 10000, what: '/health 200 (store up)' });
    const admin = await connect(node.url, { auth: { token: token('alice', 'admin') } });
    sockets.push(admin);
    const [st] = await emitAck(admin, 'start-stream', { roomId: 'deploy-room', title: 'Deploy test' });
    assert.equal(st.ok, true, JSON.stringify(st));
    const [ch] = await emitAck(admin, 'chat-message', { roomId: 'deploy-room', text: 'kept across restarts' });
    assert.equal(ch.ok, true, JSON.stringify(ch));
    const viewer = await connect(node.url, { auth: { token: token('bob', 'viewer') } });
    sockets.push(viewer);
    const [j] = await emitAck(viewer, 'join-stream', { roomId: 'deploy-room' });
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.equal(j.room.title, 'Deploy test');
    assert.deepEqual(j.chat.map((m) => m.text), ['kept across restarts']);
    for (const s of sockets.splice(0)) s.close();
    const r = await node.stop('SIGTERM', 10000);
    node = null;
    assert.deepEqual(r, { code: 0, signal: null });
  });

  test('the room and its chat survive a Redis restart (AOF)', async () => {
    assert.ok(fs.existsSync(path.join(dir, 'appendonlydir')), 'AOF directory written');
    assert.deepEqual(await redis.stop('SIGTERM', 10000), { code: 0, signal: null });
    redis = await startRedisConf();
    assert.doesNotMatch(redis.lines.join('\n'), /CRITICAL|NOPERM/, 'the AOF replays cleanly');
    assert.match((await cli('admin', 'HGET', 'onair:room:deploy-room', 'title')).stdout, /^Deploy test$/m);
    const chat = await cli('admin', 'LRANGE', 'onair:room:deploy-room:chat', '0', '-1');
    assert.match(chat.stdout, /kept across restarts/);
  });
});

// A STUN Binding request (RFC 5389) from a UDP socket on 127.0.0.1; resolves with the
// XOR-MAPPED-ADDRESS of the success response ({address, port}) and our own address.
function stunBinding(port, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const tx = crypto.randomBytes(12);
    const req = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), tx]);
    const t = setTimeout(() => { sock.close(); reject(new Error('STUN: no answer')); }, timeoutMs);
    sock.on('message', (m) => {
      if (m.readUInt16BE(0) !== 0x0101 || !m.subarray(8, 20).equals(tx)) return;
      clearTimeout(t);
      let got = null;
      for (let o = 20; o + 4 <= m.length;) {
        const type = m.readUInt16BE(o), len = m.readUInt16BE(o + 2);
        if (type === 0x0020 && m[o + 5] === 0x01) {
          const p = m.readUInt16BE(o + 6) ^ 0x2112;
          const a = (m.readUInt32BE(o + 8) ^ 0x2112a442) >>> 0;
          got = { address: [a >>> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255].join('.'), port: p };
        }
        o += 4 + len + ((4 - (len % 4)) % 4);
      }
      const me = sock.address();
      sock.close();
      resolve({ mapped: got, local: { address: me.address, port: me.port } });
    });
    sock.bind(0, '127.0.0.1', () => sock.send(req, port, '127.0.0.1'));
  });
}

describe('deploy: coturn config', { timeout: 60000, skip: have('turnserver') ? false : 'coturn not installed' }, () => {
  let dir, turn, port, tlsPort, cert;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-coturn-'));
    const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    assert.equal(r.code, 0, r.out);
    cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    [port, tlsPort] = [await freePort(), await freePort()];
    const relay = 42000 + Math.floor(Math.random() * 100) * 100;
    const text = rewrite(fs.readFileSync(path.join(DEPLOY, 'coturn/turnserver.conf'), 'utf8'), [
      [/^listening-port=3478$/m, `listening-port=${port}`],
      [/^tls-listening-port=5349$/m, `tls-listening-port=${tlsPort}`],
      [/^listening-ip=.*$/m, 'listening-ip=127.0.0.1'],
      [/^relay-ip=.*$/m, 'relay-ip=127.0.0.1'],
      [/^min-port=\d+$/m, `min-port=${relay}`],
      [/^max-port=\d+$/m, `max-port=${relay + 99}`],
      [/^cert=.*$/m, `cert=${path.join(dir, 'cert.pem')}`],
      [/^pkey=.*$/m, `pkey=${path.join(dir, 'key.pem')}`],
      [/^proc-user=.*\n/m, ''],
      [/^proc-group=.*\n/m, ''],
    ], 'turnserver.conf');
    // test-only: keep coturn's pid file and user database out of /var
    fs.writeFileSync(path.join(dir, 'turnserver.conf'), `${text}\npidfile=${path.join(dir, 'turn.pid')}\nuserdb=${path.join(dir, 'turndb')}\n`);
    turn = await spawnProcess({
      cmd: 'turnserver', args: ['-c', path.join(dir, 'turnserver.conf')], name: 'turnserver',
      ready: (l) => /Total General servers/.test(l),
    });
  });

  after(async () => {
    if (turn) await turn.stop('SIGTERM', 5000);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('starts without a configuration complaint, with the secret scheme and the peer rules', () => {
    const out = turn.lines.join('\n');
    assert.doesNotMatch(out, /Bad configuration format|CONFIG ERROR|CONFIGURATION ALERT/i, out);
    assert.match(out, /Default realm: turn\.example\.com/);
    assert.match(out, /Black listing: 10\.0\.0\.0-10\.255\.255\.255/);
    assert.match(out, /Black listing: 192\.168\.0\.0-192\.168\.255\.255/);
  });

  test('answers a STUN Binding request over UDP with our address', async () => {
    const r = await poll(() => stunBinding(port, 500).catch(() => null), { timeoutMs: 5000, intervalMs: 50, what: 'STUN binding response' });
    assert.deepEqual(r.mapped, r.local);
  });

  test('the TLS listener completes a handshake (turns:)', async () => {
    const proto = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: cert, minVersion: 'TLSv1.2' }, () => {
        const v = s.getProtocol();
        s.end();
        resolve(v);
      });
      s.setTimeout(5000, () => s.destroy(new Error('TLS handshake timeout')));
      s.on('error', reject);
    });
    assert.match(proto, /^TLSv1\.[23]$/);
  });
});
