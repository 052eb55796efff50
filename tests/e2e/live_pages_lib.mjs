// tests/e2e/live_pages_lib.mjs: helpers shared by the tests that drive the browser clients
// (signal/www/) through their ids and window.onair hooks (docs/PAGES.md).
import assert from 'node:assert/strict';

export const WAIT = { timeout: 30000 };

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

// Polls a condition on the Node side (a server log, a mock's event log) until it holds.
export async function until(fn, what = String(fn)) {
  const end = Date.now() + WAIT.timeout;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
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

// Uncaught exceptions and CSP violations on the pages fail the test.
export function assertCleanPages(br) {
  const bad = br.pageErrors.filter((e) => !e.includes(': console: ') || /Content Security Policy|Refused to/.test(e));
  assert.deepEqual(bad, []);
}

// The studio/viewer scenario both suites run: chat both ways with history, counts, mute
// overlays, stream stats, kick (and the 60 s refusal), stop and start again.
// admin: a live studio page; v1: a playing viewer named Vera; newViewer(): another one,
// named Kim.
export async function roomScenario({ admin, v1, newViewer }) {
  await v1.fill('#chat-input', 'hello from Vera');
  await v1.press('#chat-input', 'Enter');
  await waitState(admin, () => window.onair.chatLog().some((m) => m.text === 'hello from Vera'));
  await admin.fill('#chat-input', 'welcome!');
  await admin.click('#chat-send');
  await waitState(v1, () => window.onair.chatLog().some((m) => m.text === 'welcome!' && m.from.role === 'admin'));
  assert.equal(await v1.inputValue('#chat-input'), '');

  const v2 = await newViewer();
  assert.deepEqual((await v2.evaluate(() => window.onair.chatLog())).map((c) => c.text), ['hello from Vera', 'welcome!']);
  await waitState(admin, () => window.onair.viewerCount() === 2 && document.querySelectorAll('[data-testid=viewer]').length === 2);
  await waitState(v1, () => window.onair.viewerCount() === 2);

  await admin.click('#mute-camera');
  await admin.click('#mute-mic');
  await v1.waitForSelector('#overlay-camera-off', { state: 'visible', ...WAIT });
  await v1.waitForSelector('#overlay-mic-muted', { state: 'visible', ...WAIT });
  assert.equal(await admin.getAttribute('#mute-camera', 'aria-pressed'), 'true');
  await admin.click('#mute-camera');
  await admin.click('#mute-mic');
  await v1.waitForSelector('#overlay-camera-off', { state: 'hidden', ...WAIT });
  await v1.waitForSelector('#overlay-mic-muted', { state: 'hidden', ...WAIT });
  assert.deepEqual((await state(v1)).mediaState, { audio: true, video: true });

  await waitState(admin, () => window.onair.state().streamStats !== null);
  assert.notEqual(await admin.textContent('#stat-bitrate'), '–');

  // viewer.id is opaque (PROTOCOL §5): find Kim's entry by name
  const kim = admin.locator('[data-testid=viewer]').filter({ has: admin.locator('.viewer-name', { hasText: /^Kim$/ }) });
  await kim.locator('[data-testid=kick]').click();
  await waitState(v2, () => window.onair.state().kicked !== null);
  const k = await state(v2);
  assert.equal(k.pcState, 'none');
  assert.match(k.overlay, /removed/);
  assert.equal(await v2.isDisabled('#chat-input'), true);
  await waitState(admin, () => document.querySelectorAll('[data-testid=viewer]').length === 1);
  await v2.click('#rejoin'); // forbidden for 60 s
  await waitState(v2, () => /cannot watch/.test(window.onair.state().overlay));

  await admin.click('#stop-stream');
  await waitState(v1, () => window.onair.state().ended === 'stopped');
  assert.match((await state(v1)).overlay, /The stream has ended\. The broadcaster ended the stream/);
  assert.equal((await state(v1)).pcState, 'none');
  await admin.click('#start-stream');
  await waitFrames(v1, 10);
  assert.equal((await state(v1)).ended, null);
  return v2;
}
