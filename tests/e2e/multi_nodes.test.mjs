// tests/e2e/multi_nodes.test.mjs: two `onair-signal --app livestream` nodes on one Redis, the
// SFUs spawned by node 1 shared with node 2 (node 2 finds them in the SFU registry and connects
// as a second controller), the browser clients of signal/www/ in headless Chromium:
//   - the studio publishes through node 1, a viewer on node 2 decodes the stream;
//   - with two SFUs, the one carrying the room is killed (SIGKILL) while live: every viewer
//     (node 1 and node 2) gets stream-ended (media-failed), then, once the studio has published
//     again by itself, stream-started and a new offer, and decodes again.
// Runs inside `unshare -n` (scripts/test.sh); binaries from $ONAIR_BUILD (build/asan).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../lib/chromium.mjs';
import { buildDir } from '../lib/server.mjs';
import { startLive, startRedis, ackOk } from '../lib/live.mjs';
import { WAIT, state, waitState, waitFrames, goLive, watch, assertCleanPages } from './live_pages_lib.mjs';

const SIGNAL = path.join(buildDir(), 'onair-signal');
const SFU = path.join(buildDir(), 'onair-sfu');
const missing = [SIGNAL, SFU].filter((f) => !fs.existsSync(f));
const skip = missing.length ? `missing ${missing.join(', ')}` : false;
const SECRET = 'multi-node-pages-secret-0123456789abcdef';

let br;
test.before(async () => {
  if (!missing.length) br = await launchChromium();
});
test.after(async () => {
  await br?.close();
});

// Redis, node 1 spawning `spawn` SFUs, node 2 without SFUs of its own; resolves once node 2 is
// connected to every SFU of node 1. Everything is stopped (and exit 0 asserted) in t.after.
async function cluster(t, spawn, ports) {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-mn-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { ONAIR_ENV: 'demo', JWT_SECRET: SECRET };
  const n1 = await startLive({
    redis: redis.url, env, nodeId: 'mn-1',
    args: ['--sfu-spawn', String(spawn), '--sfu-bin', SFU, '--sfu-dir', dir, '--sfu-ports', ports],
  });
  t.after(async () => {
    await n1.stop();
    // the spawned SFUs write to node 1's stderr: none may have reported an error or a leak
    assert.deepEqual(n1.lines.filter((l) => /Sanitizer|runtime error:/.test(l)), []);
  });
  const n2 = await startLive({ redis: redis.url, env, nodeId: 'mn-2' });
  t.after(() => n2.stop());
  const ready = (n, k) => n.waitLog(() => n.records.filter((j) => j.msg === 'sfu ready').length >= k, WAIT.timeout);
  await ready(n1, spawn);
  await ready(n2, spawn);
  for (const j of n2.records.filter((x) => x.msg === 'sfu added')) assert.equal(j.origin, 'discovered');
  return { n1, n2 };
}

test('a viewer on node 2 watches a stream published through node 1', { skip, timeout: 120000 }, async (t) => {
  const { n1, n2 } = await cluster(t, 1, '42400-42499');
  const pages = [];
  t.after(async () => { for (const p of pages) await p.close().catch(() => {}); });
  const admin = await goLive(br, n1.url, 'mnode1', 'Two nodes');
  pages.push(admin);
  const v = await watch(br, n2.url, 'mnode1', 'Nina');
  pages.push(v);
  assert.equal((await state(v)).title, 'Two nodes');
  await waitFrames(v, 30);
  // the viewer's subscriber was made by node 2, on the SFU node 1 spawned
  await n2.waitLog((_l, j) => j && j.msg === 'peer state' && /^S\.mnode1\./.test(j.peer) && j.state === 'connected');
  await n1.waitLog((_l, j) => j && j.msg === 'publisher negotiated' && j.room === 'mnode1' && j.sfu === 'mn-1-sfu1');
  // chat crosses the nodes too
  await v.fill('#chat-input', 'hi from node 2');
  await v.press('#chat-input', 'Enter');
  await waitState(admin, () => window.onair.chatLog().some((m) => m.text === 'hi from node 2'));
  assertCleanPages(br);
});

test('two SFUs, the room\'s SFU killed while live: stream-ended, then stream-started and a new offer, and the viewers decode again', { skip, timeout: 180000 }, async (t) => {
  const { n1, n2 } = await cluster(t, 2, '42500-42699');
  const pages = [];
  t.after(async () => { for (const p of pages) await p.close().catch(() => {}); });
  const admin = await goLive(br, n1.url, 'mkill');
  pages.push(admin);
  const v1 = await watch(br, n1.url, 'mkill', 'Viewer on 1');
  pages.push(v1);
  const v2 = await watch(br, n2.url, 'mkill', 'Viewer on 2');
  pages.push(v2);
  // a protocol-level observer on node 2 records the order of the events
  const obs = await n2.client({ role: 'viewer', name: 'observer' });
  await ackOk(obs, 'join-stream', { roomId: 'mkill' });
  await obs.next('offer', (o) => o.roomId === 'mkill', WAIT.timeout);

  const placed = JSON.parse(await n1.waitLog((_l, j) => j && j.msg === 'publisher negotiated' && j.room === 'mkill'));
  const proc = n1.records.find((j) => j.msg === 'sfu spawned' && j.sfu === placed.sfu);
  assert.ok(proc, `no spawn record for ${placed.sfu}`);
  const before = { admin: (await state(admin)).pcCount, v1: (await state(v1)).pcCount, v2: (await state(v2)).pcCount };
  const mark = obs.events.length;
  process.kill(proc.pid, 'SIGKILL');

  for (const v of [v1, v2]) {
    await waitState(v, () => window.onair.state().ended === 'media-failed' || window.onair.state().pcState !== 'connected');
  }
  const ended = await obs.next('stream-ended', (m) => m.roomId === 'mkill', WAIT.timeout);
  assert.equal(ended.reason, 'media-failed');
  await obs.next('stream-started', (m) => m.roomId === 'mkill', WAIT.timeout);
  await obs.next('offer', (o) => o.roomId === 'mkill', WAIT.timeout);
  const order = obs.events.slice(mark).map((e) => e.event).filter((e) => ['stream-ended', 'stream-started', 'offer'].includes(e));
  assert.deepEqual(order.slice(0, 3), ['stream-ended', 'stream-started', 'offer']);

  await waitState(admin, (n) => window.onair.state().pcCount > n && window.onair.state().pcState === 'connected', before.admin);
  for (const [v, n] of [[v1, before.v1], [v2, before.v2]]) {
    await waitState(v, (k) => window.onair.state().pcCount > k && window.onair.state().pcState === 'connected', n);
    await waitFrames(v, 10);
    assert.equal((await state(v)).ended, null);
  }
  const moved = n1.records.filter((j) => j.msg === 'publisher negotiated' && j.room === 'mkill').pop();
  t.diagnostic(`room placed on ${placed.sfu}, killed; published again on ${moved.sfu}`);
  assertCleanPages(br);
});
