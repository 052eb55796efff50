// tests/e2e/live_pages_real.test.mjs: the browser clients (signal/www/) in headless Chromium
// against the real servers: onair-signal --app livestream in demo mode, spawning one onair-sfu.
// Same room scenario as live_pages_mock.test.mjs (through the pages' ids and window.onair
// hooks), plus what only the real media path shows: audio reaching the viewer, and recovery
// when the SFU process dies (signal respawns it; the studio publishes again by itself).
// Runs inside `unshare -n` (scripts/test.sh); binaries from $ONAIR_BUILD (build/asan).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../lib/chromium.mjs';
import { startSignal, buildDir } from '../lib/server.mjs';
import {
  WAIT, state, waitState, waitStats, waitFrames, goLive, watch, assertCleanPages, roomScenario,
} from './live_pages_lib.mjs';

const SIGNAL = path.join(buildDir(), 'onair-signal');
const SFU = path.join(buildDir(), 'onair-sfu');
const missing = [SIGNAL, SFU].filter((f) => !fs.existsSync(f));

let br;
let srv;
let sfuDir;

// A fresh signal + SFU per test: rooms, kicks and rate limits do not leak between tests.
async function startServers() {
  sfuDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-pages-'));
  srv = await startSignal({
    app: 'livestream',
    env: { ONAIR_ENV: 'demo', JWT_SECRET: 'pages-test-secret-0123456789abcdef', LOG_LEVEL: 'info' },
    args: ['--sfu-spawn', '1', '--sfu-bin', SFU, '--sfu-dir', sfuDir, '--sfu-ports', '42000-42199'],
  });
  await srv.waitLog((_l, j) => j && j.msg === 'sfu ready', WAIT.timeout);
}
async function stopServers() {
  const r = await srv?.stop();
  srv = null;
  if (sfuDir) fs.rmSync(sfuDir, { recursive: true, force: true });
  assert.deepEqual(r, { code: 0, signal: null }); // clean exit (ASan: no leak, no error)
}

test.before(async () => {
  if (!missing.length) br = await launchChromium();
});
test.after(async () => {
  await br?.close();
});

test('real servers: go live, watch with sound, chat, mute, viewers, kick, stop and restart', { skip: missing.length ? `missing ${missing.join(', ')}` : false }, async () => {
  await startServers();
  const pages = [];
  try {
    const admin = await goLive(br, srv.url, 'real1', 'Real show');
    pages.push(admin);
    await waitStats(admin, (s) => s.frameWidth === 1280 && s.frameHeight === 720, '720p sent');
    const v1 = await watch(br, srv.url, 'real1', 'Vera');
    pages.push(v1);
    assert.equal((await state(v1)).title, 'Real show');
    await waitStats(v1, (s) => s.audioPacketsReceived > 25 && s.frameWidth === 1280, 'audio and 720p at the viewer');

    // Recording: either the server records (the button then stops it) or it refuses and the
    // button is disabled with the reason.
    await admin.click('#record');
    await waitState(admin, () => {
      const b = document.getElementById('record');
      return (b.disabled && /not available/.test(document.getElementById('record-reason').textContent)) ||
        (!b.disabled && b.textContent === 'Stop recording');
    });
    if ((await admin.textContent('#record')) === 'Stop recording') {
      await admin.click('#record');
      await waitState(admin, () => document.getElementById('record').textContent === 'Start recording');
    }

    pages.push(await roomScenario({ admin, v1, newViewer: () => watch(br, srv.url, 'real1', 'Kim') }));
    assertCleanPages(br);
  } finally {
    for (const p of pages) await p.close().catch(() => {});
    await stopServers();
  }
});

test('real servers: the SFU dies, signal respawns it, the studio republishes, the viewer plays again', { skip: missing.length ? `missing ${missing.join(', ')}` : false }, async () => {
  await startServers();
  const pages = [];
  try {
    const admin = await goLive(br, srv.url, 'real2');
    pages.push(admin);
    const v = await watch(br, srv.url, 'real2');
    pages.push(v);
    const spawned = srv.records.filter((j) => j.msg === 'sfu spawned');
    assert.equal(spawned.length, 1);
    const before = (await state(admin)).pcCount;
    process.kill(spawned[0].pid, 'SIGKILL');
    await waitState(v, () => window.onair.state().ended === 'media-failed' || window.onair.state().pcState !== 'connected');
    await srv.waitLog((_l, j) => j && j.msg === 'sfu spawned' && j.pid !== spawned[0].pid, WAIT.timeout);
    await waitState(admin, (n) => window.onair.state().pcCount > n && window.onair.state().pcState === 'connected', before);
    await waitFrames(v, 10);
    assert.equal((await state(v)).ended, null);
    assertCleanPages(br);
  } finally {
    for (const p of pages) await p.close().catch(() => {});
    await stopServers();
  }
});
