// tests/integration/deploy_nginx.test.mjs: deploy/nginx/onair.conf for real. The config is
// rendered for loopback (ports on 127.0.0.1, a self-signed certificate made with `openssl req`,
// logs, pid and temp paths in a temp dir, the two test nodes as upstreams, `daemon off`), checked
// with `nginx -t`, and run in front of TWO `onair-signal --app test` nodes. The official
// socket.io-client 4.x connects through it over https with polling, with websocket, and with
// polling upgraded to websocket; emits and acks must work. Sticky sessions: 20 polling clients
// from 20 loopback addresses (127.0.0.2..21) spread over both nodes, every request of a session
// reaches the node that created it (nginx's access log, per sid), and no request fails
// (no 400 "Session ID unknown"). Everything is stopped by PID; the nodes must exit 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, freePort, poll, spawnProcess, startSignal, waitFor } from '../lib/server.mjs';
import { connect, emitAck } from '../lib/sio.mjs';

const CONF = path.join(REPO, 'deploy/nginx/onair.conf');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const CLIENTS = 20;

function run(cmd, args, timeoutMs = 20000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }));
  });
}

// Applies each [regex, replacement] to text; each must match (a config that changed shape
// makes the test fail instead of silently testing something else).
function rewrite(text, rules) {
  for (const [re, to] of rules) {
    assert.match(text, re, `deploy/nginx/onair.conf no longer has ${re}`);
    text = text.replace(re, to);
  }
  return text;
}

// Writes dir/nginx.conf (main context for the test) and dir/onair.conf (the deploy config with
// loopback ports, the test cert, the test nodes, logs in dir).
function renderConfig(dir, { httpsPort, httpPort, nodes }) {
  const upstreams = nodes.map((p) => `    server 127.0.0.1:${p} max_fails=2 fail_timeout=5s;`).join('\n');
  const site = rewrite(fs.readFileSync(CONF, 'utf8'), [
    [/^(    server 10\.0\.0\.\d+:3000[^\n]*\n)+/m, `${upstreams}\n`],
    [/^    listen 80;\n    listen \[::\]:80;$/m, `    listen 127.0.0.1:${httpPort};`],
    [/^    listen 443 ssl http2;\n    listen \[::\]:443 ssl http2;$/m, `    listen 127.0.0.1:${httpsPort} ssl http2;`],
    [/\/etc\/ssl\/onair\/fullchain\.pem/, path.join(dir, 'cert.pem')],
    [/\/etc\/ssl\/onair\/privkey\.pem/, path.join(dir, 'key.pem')],
    [/\/var\/log\/nginx\/onair\.access\.log/g, path.join(dir, 'access.log')],
  ]);
  const directives = site.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  assert.doesNotMatch(directives, /\/(etc|var|run)\//, 'no system path is left in the rendered config');
  fs.writeFileSync(path.join(dir, 'onair.conf'), site);
  const tmp = (n) => `${n}_temp_path ${path.join(dir, n)};`;
  const main = [
    'daemon off;',
    'worker_processes 1;',
    process.getuid && process.getuid() === 0 ? 'user nobody nogroup;' : '',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${path.join(dir, 'error.log')} info;`,
    'events { worker_connections 512; }',
    'http {',
    `    access_log ${path.join(dir, 'access-other.log')};`,
    `    ${tmp('client_body')} ${tmp('proxy')} ${tmp('fastcgi')} ${tmp('uwsgi')} ${tmp('scgi')}`,
    `    include ${path.join(dir, 'onair.conf')};`,
    '}',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), main);
  return path.join(dir, 'nginx.conf');
}

const nginxArgs = (dir, conf, errLog = 'error.log') => ['-p', dir, '-e', path.join(dir, errLog), '-c', conf];

// The access log's JSON lines (log_format onair_json).
function accessLog(dir) {
  const f = path.join(dir, 'access.log');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('deploy: nginx in front of two signal nodes', { timeout: 90000, skip: NGINX ? false : 'nginx not installed' }, () => {
  let dir, conf, nginx, httpsPort, httpPort, base, cert;
  const nodes = [];
  const sockets = [];
  const agents = [];

  // a socket.io-client 4.x socket through nginx from source address `from`
  const client = (opts, from = '127.0.0.1') => {
    const agent = new https.Agent({ ca: cert, localAddress: from, keepAlive: true });
    agents.push(agent);
    return connect(base, { ...opts, agent, ca: cert, localAddress: from }, 10000).then((s) => {
      sockets.push(s);
      return s;
    });
  };
  const health = async (n) => (await fetch(`${n.url}/health`, { signal: AbortSignal.timeout(5000) })).json();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-nginx-'));
    fs.chmodSync(dir, 0o755); // nginx's worker (nobody when we are root) reads the temp paths
    for (let i = 0; i < 2; i++) nodes.push(await startSignal());
    [httpsPort, httpPort] = [await freePort(), await freePort()];
    const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    assert.equal(r.code, 0, `openssl req: ${r.out}`);
    cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    conf = renderConfig(dir, { httpsPort, httpPort, nodes: nodes.map((n) => n.port) });
    base = `https://127.0.0.1:${httpsPort}`;
  });

  after(async () => {
    for (const s of sockets) s.close();
    for (const a of agents) a.destroy();
    if (nginx) await nginx.stop('SIGQUIT', 5000);
    for (const n of nodes) await n.stop('SIGTERM', 5000);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('nginx -t accepts the rendered config and rejects a broken one', async () => {
    const r = await run(NGINX, ['-t', ...nginxArgs(dir, conf, 'check.log')]);
    assert.equal(r.code, 0, `nginx -t:\n${r.out}`);
    assert.match(r.out, /syntax is ok/);
    assert.match(r.out, /test is successful/);
    const bad = path.join(dir, 'bad.conf');
    fs.writeFileSync(bad, fs.readFileSync(conf, 'utf8').replace('onair.conf;', 'onair-bad.conf;'));
    fs.writeFileSync(path.join(dir, 'onair-bad.conf'),
      fs.readFileSync(path.join(dir, 'onair.conf'), 'utf8').replace('proxy_read_timeout 75s;', 'proxy_read_timeout 75x;'));
    const rb = await run(NGINX, ['-t', ...nginxArgs(dir, bad, 'check.log')]);
    assert.notEqual(rb.code, 0, `nginx -t passed a broken config:\n${rb.out}`);
  });

  test('nginx starts; plain http redirects to https; /health through TLS; /metrics is not public', async () => {
    nginx = await spawnProcess({ cmd: NGINX, args: nginxArgs(dir, conf), name: 'nginx' });
    // readiness: nginx logs to its error log, not stdout; poll the TLS port (bounded)
    await poll(async () => {
      if (nginx.proc.exitCode !== null) throw new Error(`nginx exited ${nginx.proc.exitCode}: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      const res = await fetchTls(`${base}/health`, cert);
      return res.status === 200;
    }, { timeoutMs: 10000, intervalMs: 50, what: 'nginx answers /health over https' });
    const redir = await fetch(`http://127.0.0.1:${httpPort}/viewer?x=1`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    assert.equal(redir.status, 301);
    assert.match(redir.headers.get('location'), /^https:\/\/127\.0\.0\.1\/viewer\?x=1$/);
    const h = await fetchTls(`${base}/health`, cert);
    assert.equal(JSON.parse(h.body).status, 'ok');
    assert.match(h.headers['strict-transport-security'] || '', /max-age=\d+/);
    assert.equal((await fetchTls(`${base}/metrics`, cert)).status, 404);
  });

  test(`polling: ${CLIENTS} clients from ${CLIENTS} addresses, acks work, each session stays on one node`, async () => {
    const froms = Array.from({ length: CLIENTS }, (_, i) => `127.0.0.${i + 2}`);
    const ss = await Promise.all(froms.map((f) => client({ transports: ['polling'] }, f)));
    const errors = [];
    for (const s of ss) s.io.engine.on('error', (e) => errors.push(String(e)));
    // several rounds: each emit is a POST, each ack comes back on a held GET
    for (let round = 0; round < 5; round++) {
      const acks = await Promise.all(ss.map((s, i) => emitAck(s, 'echo', { i, round, s: 'héllo ✓' })));
      acks.forEach(([a], i) => assert.deepEqual(a, { i, round, s: 'héllo ✓' }));
    }
    for (const s of ss) assert.equal(s.io.engine.transport.name, 'polling');
    assert.deepEqual(errors, []);
    // both nodes hold some of the sessions, and all of them together
    const hs = await Promise.all(nodes.map(health));
    const counts = hs.map((h) => h.sessions.polling);
    assert.equal(counts[0] + counts[1], CLIENTS, `polling sessions per node: ${counts}`);
    assert.ok(counts[0] > 0 && counts[1] > 0, `the hash spreads ${CLIENTS} addresses over both nodes: ${counts}`);
    // nginx's log: every request of a session went to one upstream, none failed
    const sids = new Set(ss.map((s) => s.io.engine.id));
    const bySid = new Map();
    const entries = await poll(() => {
      const e = accessLog(dir).filter((x) => sids.has(x.sid));
      return e.length >= CLIENTS * 10 && e; // >= 5 POSTs + 5 GETs per client
    }, { timeoutMs: 5000, what: 'access log entries of the polling sessions' });
    for (const e of entries) {
      assert.ok(e.status < 400, `request failed: ${JSON.stringify(e)}`);
      if (!bySid.has(e.sid)) bySid.set(e.sid, new Set());
      bySid.get(e.sid).add(e.upstream);
    }
    for (const [sid, ups] of bySid) assert.equal(ups.size, 1, `session ${sid} reached ${[...ups]}`);
    assert.equal(bySid.size, CLIENTS);
    for (const s of ss) s.close();
  });

  test('websocket only: connects through nginx (wss), acks work', async () => {
    const ss = await Promise.all([2, 3, 4].map((i) => client({ transports: ['websocket'] }, `127.0.0.${i}`)));
    for (const s of ss) assert.equal(s.io.engine.transport.name, 'websocket');
    const acks = await Promise.all(ss.map((s, i) => emitAck(s, 'echo', `ws-${i}`)));
    assert.deepEqual(acks.map((a) => a[0]), ['ws-0', 'ws-1', 'ws-2']);
    for (const s of ss) s.close();
    // nginx logs an upgraded request when its connection ends: 101 Switching Protocols
    const ws = await poll(() => {
      const e = accessLog(dir).filter((x) => x.transport === 'websocket' && !x.sid);
      return e.length >= 3 && e;
    }, { timeoutMs: 5000, what: 'access log entries of the websocket connections' });
    for (const e of ws) assert.equal(e.status, 101, JSON.stringify(e));
  });

  test('polling upgraded to websocket through nginx; events flow after the upgrade', async () => {
    const ss = await Promise.all([5, 6, 7, 8].map((i) => client({ transports: ['polling', 'websocket'] }, `127.0.0.${i}`)));
    for (const s of ss) {
      if (s.io.engine.transport.name !== 'websocket') await waitFor(s.io.engine, 'upgrade', 10000);
      assert.equal(s.io.engine.transport.name, 'websocket');
    }
    const acks = await Promise.all(ss.map((s, i) => emitAck(s, 'echo', { up: i })));
    assert.deepEqual(acks.map((a) => a[0]), [{ up: 0 }, { up: 1 }, { up: 2 }, { up: 3 }]);
    // the upgrade request reached the node holding the polling session
    const sids = new Set(ss.map((s) => s.io.engine.id));
    const bySid = new Map();
    for (const e of accessLog(dir).filter((x) => sids.has(x.sid))) {
      if (!bySid.has(e.sid)) bySid.set(e.sid, new Set());
      bySid.get(e.sid).add(e.upstream);
    }
    assert.equal(bySid.size, 4);
    for (const [sid, ups] of bySid) assert.equal(ups.size, 1, `session ${sid} reached ${[...ups]}`);
    for (const s of ss) s.close();
  });

  test('shutdown: nginx stops on SIGQUIT, both nodes exit 0', async () => {
    for (const s of sockets) s.close();
    const rn = await nginx.stop('SIGQUIT', 10000);
    assert.equal(rn.killed, undefined, 'nginx stopped gracefully');
    assert.equal(rn.code, 0, `nginx exit: ${JSON.stringify(rn)}`);
    for (const n of nodes) {
      const r = await n.stop('SIGTERM', 10000);
      assert.deepEqual(r, { code: 0, signal: null }, `node ${n.port} exit; last lines:\n${n.lines.slice(-20).join('\n')}`);
    }
    const err = fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    assert.doesNotMatch(err, /\[(emerg|alert|crit)\]/, err);
  });
});

// GET over https with the test CA; resolves {status, headers, body}.
function fetchTls(url, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}
