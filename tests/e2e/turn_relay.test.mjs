// tests/e2e/turn_relay.test.mjs: media through a real TURN relay. coturn runs
// deploy/coturn/turnserver.conf rendered for loopback (use-auth-secret with a test
// static-auth-secret, listening and relay address 127.0.0.1, a test relay port range, no TLS/DTLS
// listeners, logs on stdout, pid file and user database in a temp dir) plus, for the test only,
// allow-loopback-peers (the SFU is on 127.0.0.1; never in production). The TURN credentials come
// from a real `onair-signal --app livestream --turn-urls ... --turn-secret ...` join-stream ack,
// so the server's computation (username "expiry:userId", credential
// base64(HMAC-SHA1(secret, username))) is what coturn accepts. A Chromium publisher sends to
// onair-sfu; a Chromium subscriber receives with iceTransportPolicy "relay" and those
// iceServers: it must decode video, and its selected candidate pair must use a relay candidate.
// Runs inside `unshare -n` with lo up (scripts/test.sh).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { REPO, freePort, spawnProcess, startSignal } from '../lib/server.mjs';
import { connect, emitAck } from '../lib/sio.mjs';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu } from './harness.mjs';

const TURN_CONF = path.join(REPO, 'deploy/coturn/turnserver.conf');
const haveTurn = ['/usr/bin/turnserver', '/usr/local/bin/turnserver'].some((p) => fs.existsSync(p));

function rewrite(text, rules) {
  for (const [re, to] of rules) {
    assert.match(text, re, `deploy/coturn/turnserver.conf no longer has ${re}`);
    text = text.replace(re, to);
  }
  return text;
}

// Renders the deploy config for loopback and starts turnserver; resolves with its handle.
async function startTurn(dir, { port, relayLow, secret, realm }) {
  const text = rewrite(fs.readFileSync(TURN_CONF, 'utf8'), [
    [/^listening-port=3478$/m, `listening-port=${port}`],
    [/^tls-listening-port=5349\n/m, ''],
    [/^listening-ip=.*$/m, 'listening-ip=127.0.0.1'],
    [/^relay-ip=.*$/m, 'relay-ip=127.0.0.1'],
    [/^min-port=\d+$/m, `min-port=${relayLow}`],
    [/^max-port=\d+$/m, `max-port=${relayLow + 99}`],
    [/^static-auth-secret=.*$/m, `static-auth-secret=${secret}`],
    [/^realm=.*$/m, `realm=${realm}`],
    [/^cert=.*\n/m, ''],
    [/^pkey=.*\n/m, ''],
    [/^cipher-list=.*\n/m, ''],
    [/^proc-user=.*\n/m, ''],
    [/^proc-group=.*\n/m, ''],
  ]);
  assert.match(text, /^use-auth-secret$/m);
  assert.doesNotMatch(text, /^allow-loopback-peers/m, 'the production config never allows loopback peers');
  const conf = path.join(dir, 'turnserver.conf');
  fs.writeFileSync(conf, [
    text,
    '# ---- test only ----',
    'allow-loopback-peers',
    'verbose', // session and allocation lines, checked below
    'no-tls',
    'no-dtls',
    `pidfile=${path.join(dir, 'turn.pid')}`,
    `userdb=${path.join(dir, 'turndb')}`,
    '',
  ].join('\n'));
  const turn = await spawnProcess({
    cmd: 'turnserver', args: ['-c', conf], name: 'turnserver',
    ready: (l) => /Total General servers/.test(l),
  });
  assert.doesNotMatch(turn.lines.join('\n'), /Bad configuration format/);
  return turn;
}

test('a relay-only subscriber gets the stream through coturn with the credentials signal hands out', {
  timeout: 120000, skip: haveTurn ? false : 'coturn (turnserver) not installed',
}, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-turn-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const secret = crypto.randomBytes(20).toString('hex');
  const realm = 'onair.test';
  const turnPort = await freePort();
  const relayLow = 30000 + Math.floor(Math.random() * 50) * 100;
  const turn = await startTurn(dir, { port: turnPort, relayLow, secret, realm });
  t.after(() => turn.stop('SIGTERM', 5000));

  // the ICE servers as signal computes them, from a join-stream ack
  const jwtSecret = crypto.randomBytes(24).toString('hex');
  const turnUrl = `turn:127.0.0.1:${turnPort}?transport=udp`;
  const node = await startSignal({
    app: 'livestream',
    args: ['--jwt-secret', jwtSecret, '--turn-urls', turnUrl, '--turn-secret', secret, '--turn-ttl', '600'],
    env: { REDIS_URL: '', STUN_URLS: '', SFU_SOCKETS: '', SFU_SPAWN: '0' },
  });
  let nodeStopped = false;
  t.after(() => { if (!nodeStopped) return node.stop('SIGKILL', 5000); });
  const tok = (sub, role) => jwt.sign({ sub, role, name: sub }, jwtSecret, { algorithm: 'HS256', expiresIn: 600 });
  const admin = await connect(node.url, { auth: { token: tok('turn-admin', 'admin') } });
  const viewer = await connect(node.url, { auth: { token: tok('turn-viewer', 'viewer') } });
  const [st] = await emitAck(admin, 'start-stream', { roomId: 'turn-room' });
  assert.equal(st.ok, true, JSON.stringify(st));
  const before = Math.floor(Date.now() / 1000);
  const [j] = await emitAck(viewer, 'join-stream', { roomId: 'turn-room' });
  assert.equal(j.ok, true, JSON.stringify(j));
  admin.close();
  viewer.close();
  nodeStopped = true;
  assert.deepEqual(await node.stop('SIGTERM', 10000), { code: 0, signal: null });

  assert.equal(j.iceServers.length, 1, JSON.stringify(j.iceServers));
  const ice = j.iceServers[0];
  assert.deepEqual(ice.urls, [turnUrl]);
  const [expiry, user] = ice.username.split(':');
  assert.equal(user, 'turn-viewer');
  assert.ok(+expiry >= before + 600 - 1 && +expiry <= before + 600 + 5, `expiry ${expiry} ~ now + TURN_TTL`);
  assert.equal(ice.credential, crypto.createHmac('sha1', secret).update(ice.username).digest('base64'));

  // media: publisher -> SFU -> relay-only subscriber
  const sfu = await startSfu({ id: 'e2e-turn' });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());

  const pub = await env.page('publisher');
  await pub.call('start', { width: 640, height: 360, fps: 30 });
  const pl = await publishToSfu(rpc, pub, { room: 'turn-room', peer: 'pub' });
  const sub = await env.page('subscriber');
  const sl = await subscribeFromSfu(rpc, sub, {
    room: 'turn-room', peer: 'sub',
    rtcConfig: { iceServers: j.iceServers, iceTransportPolicy: 'relay' },
  });
  const s1 = await sub.waitStats('sub', (x) => x.in_video?.framesDecoded >= 30 && x.pair, { timeoutMs: 30000, what: '30 frames decoded over the relay' });
  assert.match(s1.pair.local, /^relay udp 127\.0\.0\.1:(\d+)$/, `selected local candidate: ${JSON.stringify(s1.pair)}`);
  const relayPort = +s1.pair.local.split(':').pop();
  assert.ok(relayPort >= relayLow && relayPort <= relayLow + 99, `relay port ${relayPort} in coturn's range`);
  // the subscriber offered nothing but relay candidates to the SFU
  const cands = sl.sent.filter(Boolean).map((c) => c.candidate);
  assert.ok(cands.length > 0 && cands.every((c) => / typ relay /.test(c)), `subscriber candidates: ${cands.join(' | ')}`);
  // decoding goes on (frames keep arriving through the relay)
  await sub.waitStats('sub', (x) => x.in_video.framesDecoded >= s1.in_video.framesDecoded + 30, { timeoutMs: 15000, what: '30 more frames' });
    // coturn's own account: the allocation and the permission for the SFU, as signal's user
  await turn.waitLog((l) => l.includes(`user <${ice.username}>`) && /ALLOCATE processed, success/.test(l), 5000);
  await turn.waitLog((l) => l.includes(`user <${ice.username}>`) && /CREATE_PERMISSION processed, success/.test(l), 5000);
  assert.deepEqual(pl.errors, []);
  assert.deepEqual(sl.errors, []);
});

test('coturn refuses credentials made with another secret (relay-only: no media path)', {
  timeout: 60000, skip: haveTurn ? false : 'coturn (turnserver) not installed',
}, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-turn-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const secret = crypto.randomBytes(20).toString('hex');
  const turnPort = await freePort();
  const relayLow = 35000 + Math.floor(Math.random() * 50) * 100;
  const turn = await startTurn(dir, { port: turnPort, relayLow, secret, realm: 'onair.test' });
  t.after(() => turn.stop('SIGTERM', 5000));
  const username = `${Math.floor(Date.now() / 1000) + 600}:mallory`;
  const bad = { urls: [`turn:127.0.0.1:${turnPort}?transport=udp`], username, credential: crypto.createHmac('sha1', 'not-the-secret').update(username).digest('base64') };

  const sfu = await startSfu({ id: 'e2e-turn-bad' });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());
  const pub = await env.page('publisher');
  await pub.call('start', { width: 640, height: 360, fps: 30 });
  await publishToSfu(rpc, pub, { room: 'turn-bad', peer: 'pub' });
  const sub = await env.page('subscriber');
  const sl = await subscribeFromSfu(rpc, sub, { room: 'turn-bad', peer: 'sub', rtcConfig: { iceServers: [bad], iceTransportPolicy: 'relay' } });
  // gathering ends with no candidate at all: the allocation was refused (401)
  const s = await sub.waitStats('sub', (x) => x.times.gathered !== undefined, { timeoutMs: 20000, what: 'gathering complete' });
  assert.equal(s.candidates, 0, `candidates gathered: ${s.candidates}`);
  assert.deepEqual(sl.sent.filter(Boolean), []);
  assert.notEqual(s.connectionState, 'connected');
  await turn.waitLog((l) => l.includes(`user <${username}>`) && /error 401/.test(l), 5000);
  assert.ok(!turn.lines.some((l) => /ALLOCATE processed, success/.test(l)), 'no allocation succeeded');
});
