// tests/e2e/live_pages_lib.mjs: helpers for the tests that drive the browser clients
// (signal/www/) through their ids and window.onair hooks (docs/PAGES.md) against the real
// servers: onair-signal --app livestream spawning one onair-sfu.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSignal, buildDir } from '../lib/server.mjs';

export const WAIT = { timeout: 30000 };
export const SIGNAL = path.join(buildDir(), 'onair-signal');
export const SFU = path.join(buildDir(), 'onair-sfu');
export const CTL = path.join(buildDir(), 'onairctl');
export const SECRET = 'pages-test-secret-0123456789abcdef';
export const missing = [SIGNAL, SFU, CTL].filter((f) => !fs.existsSync(f));

export const state = (p) => p.evaluate(() => window.onair.state());
export const waitState = (p, fn, arg) => p.waitForFunction(fn, arg, WAIT);

// window.onair.stats() is async, and waitForFunction takes a returned promise as truthy:
// poll it from here instead.
export async function waitStats(p, pred, what = 'stats') {
  const end = Date.now() + WAIT.timeout;
  for (;;) {
    const last = await p.evaluate(() => window.onair.stats());
    if (pred(last)) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
export const waitFrames = (p, n) =>
  waitStats(p, (s) => s.framesDecoded > n && s.frameWidth > 0, `more than ${n} decoded frames`);

// The picture keeps moving: `more` frames decoded beyond now, at 1280x720.
export async function framesGrow(p, more = 30) {
  const s0 = await p.evaluate(() => window.onair.stats());
  return waitStats(p, (s) => s.framesDecoded >= s0.framesDecoded + more && s.frameWidth === 1280 && s.frameHeight === 720,
    `${more} more decoded 1280x720 frames (from ${s0.framesDecoded})`);
}

// Polls a condition on the Node side (a server log) until it holds.
export async function until(fn, what = String(fn)) {
  const end = Date.now() + WAIT.timeout;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Events the page's socket received (window.onair.events()), by name.
export const countEvents = (p, name) => p.evaluate((n) => window.onair.events().filter((e) => e[1] === n).length, name);

// ---------------------------------------------------------------- servers

/**
 * Starts onair-signal --app livestream (demo mode unless env says otherwise) spawning one
 * onair-sfu, and waits for "sfu ready". port: reuse a port (restart). Returns the signal
 * handle plus sfuDir, and sfuPids() (pids of the SFUs it spawned).
 */
export async function startLive({ env = {}, args = [], port, sfuDir } = {}) {
  sfuDir = sfuDir || fs.mkdtempSync(path.join(os.tmpdir(), 'onair-pages-'));
  const srv = await startSignal({
    app: 'livestream',
    port,
    env: { ONAIR_ENV: 'demo', JWT_SECRET: SECRET, LOG_LEVEL: 'info', ...env },
    args: ['--sfu-spawn', '1', '--sfu-bin', SFU, '--sfu-dir', sfuDir, '--sfu-ports', '42000-42199',
      '--recordings-dir', path.join(sfuDir, 'recordings'), ...args],
  });
  try {
    await srv.waitLog((_l, j) => j && j.msg === 'sfu ready', WAIT.timeout);
  } catch (e) {
    await srv.stop('SIGKILL');
    throw e;
  }
  return { ...srv, sfuDir, env, extraArgs: args, sfuPids: () => srv.records.filter((j) => j.msg === 'sfu spawned').map((j) => j.pid) };
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM: signal must exit 0 (ASan: no leak, no error) and take its SFUs with it. */
export async function stopLive(h, { keepDir = false } = {}) {
  if (!h) return;
  const r = await h.stop();
  const pids = h.sfuPids();
  await until(() => !pids.some(alive), `the spawned SFUs (${pids}) to exit with signal`);
  if (!keepDir) fs.rmSync(h.sfuDir, { recursive: true, force: true });
  assert.deepEqual(r, { code: 0, signal: null }, `onair-signal exit; last lines:\n${h.lines.slice(-20).join('\n')}`);
}

/** Stops h (asserting a clean exit) and starts the same server again on the same port. */
export async function restartLive(h) {
  await stopLive(h, { keepDir: true });
  return startLive({ env: h.env, args: h.extraArgs, port: h.port, sfuDir: h.sfuDir });
}

/** A JWT minted by the operator's CLI (onairctl token) with the given secret. */
export function ctlToken({ sub, name, role, ttl = '10m', secret = SECRET }) {
  const argv = ['token', '--sub', sub, '--role', role, '--ttl', ttl, ...(name ? ['--name', name] : [])];
  return new Promise((resolve, reject) => {
    execFile(CTL, argv, { env: { ...process.env, JWT_SECRET: secret }, timeout: 10000 }, (err, out, errOut) => {
      if (err) reject(new Error(`onairctl token: ${err.message} ${errOut}`));
      else resolve(out.trim());
    });
  });
}

// ---------------------------------------------------------------- pages

// Collects CSP violations of every page of the browser (securitypolicyviolation events,
// reported to Node through a binding, so closed pages count too). Call once per browser,
// before opening pages.
export async function watchCsp(br) {
  br.cspViolations = [];
  await br.context.exposeBinding('__onairCsp', ({ page }, v) => br.cspViolations.push(`${page.url()}: ${v}`));
  await br.context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__onairCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
}

// Uncaught exceptions, console errors about CSP and CSP violations on the pages fail the test.
export function assertCleanPages(br) {
  const bad = br.pageErrors.filter((e) => !e.includes(': console: ') || /Content Security Policy|Refused to/.test(e));
  assert.deepEqual(bad, []);
  assert.deepEqual(br.cspViolations || [], []);
}

// Studio with a demo token, live in roomId, media connected.
export async function goLive(br, url, roomId, title = '') {
  const admin = await br.newPage(`${url}/admin?room=${roomId}`);
  await admin.click('#get-token');
  await waitState(admin, () => window.onair.state().connection === 'connected');
  if (title) await admin.fill('#room-title', title);
  await admin.click('#start-stream');
  await waitState(admin, () => window.onair.state().pcState === 'connected');
  return admin;
}

// Player with a demo token, playing roomId.
export async function watch(br, url, roomId, name = 'Viewer') {
  const v = await br.newPage(`${url}/viewer?room=${roomId}`);
  await v.fill('#token-name', name);
  await v.click('#get-token');
  await waitFrames(v, 10);
  return v;
}

// Text of the chat messages a page shows, in order.
export const chatTexts = (p) => p.evaluate(() => window.onair.chatLog().map((m) => m.text));
export const waitChat = (p, text, role) =>
  waitState(p, ([t, r]) => window.onair.chatLog().some((m) => m.text === t && (!r || m.from.role === r)), [text, role]);
