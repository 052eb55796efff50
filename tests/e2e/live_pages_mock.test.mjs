// tests/e2e/live_pages_mock.test.mjs: drives the browser clients (signal/www/: /, /admin,
// /viewer) in headless Chromium against live_pages_mock.mjs, a PROTOCOL.md stand-in with a
// Chromium "media server". Checks what an operator would: tokens, going live, watching, chat,
// mute overlays, viewer list and kick, recording refusal, stream end, and recovery after a
// media failure and after dropped connections. Runs inside `unshare -n` (scripts/test.sh).
import test from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from '../lib/chromium.mjs';
import { startMock } from './live_pages_mock.mjs';

const WAIT = { timeout: 30000 };
let br;

test.before(async () => {
  br = await launchChromium();
});
test.after(async () => {
  await br?.close();
});

// Uncaught exceptions and CSP violations on our pages fail the test.
function assertCleanPages() {
  const bad = br.pageErrors.filter((e) => !e.includes(': console: ') || /Content Security Policy|Refused to/.test(e));
  assert.deepEqual(bad, []);
}

async function openSfu(m) {
  const p = await br.newPage(m.url + '/__mock/sfu.html');
  await p.waitForFunction(() => window.sfuState && window.sfuState().connected, null, WAIT);
  return p;
}
const state = (p) => p.evaluate(() => window.onair.state());
const waitState = (p, fn, arg) => p.waitForFunction(fn, arg, WAIT);
// window.onair.stats() is async, and waitForFunction takes a returned promise as truthy:
// poll it from here instead.
async function waitStats(p, pred) {
  const end = Date.now() + WAIT.timeout;
  let last;
  for (;;) {
    last = await p.evaluate(() => window.onair.stats());
    if (pred(last)) return last;
    if (Date.now() > end) throw new Error('timed out; last stats: ' + JSON.stringify(last));
    await new Promise((r) => setTimeout(r, 200));
  }
}
const waitFrames = (p, n) => waitStats(p, (s) => s.framesDecoded > n && s.frameWidth > 0);
const count = (m, ev) => m.log.filter((e) => e[0] === ev).length;
// Polls a condition on the mock's side (its event log) until it holds or WAIT runs out.
async function until(fn) {
  const end = Date.now() + WAIT.timeout;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + fn);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function goLive(m, roomId, title = '') {
  const admin = await br.newPage(m.url + `/admin?room=${roomId}`);
  await admin.click('#get-token');
  await waitState(admin, () => window.onair.state().connection === 'connected');
  if (title) await admin.fill('#room-title', title);
  await admin.click('#start-stream');
  await waitState(admin, () => window.onair.state().pcState === 'connected');
  return admin;
}
async function watch(m, roomId) {
  const v = await br.newPage(m.url + `/viewer?room=${roomId}`);
  await v.click('#get-token');
  await waitFrames(v, 10);
  return v;
}

test('pages load under the strict CSP; the home page leads to the player', async () => {
  const m = await startMock();
  try {
    const home = await br.newPage(m.url + '/');
    assert.equal(await home.getAttribute('#admin-link', 'href'), '/admin');
    await home.fill('#room-id', 'abc_1');
    await home.click('#watch');
    await home.waitForURL(/\/viewer\?room=abc_1$/);
    await waitState(home, () => window.onair && window.onair.state().roomId === 'abc_1');
    // No token and no anonymous viewers on this server: the connect_error is explained.
    await waitState(home, () => window.onair.state().connection === 'refused');
    assert.match((await home.evaluate(() => window.onair.errors())).join('\n'), /without a token \(unauthorized\)/);
    assert.equal(await home.evaluate(() => document.getElementById('token-panel').open), true);
    const admin = await br.newPage(m.url + '/admin');
    assert.match(await admin.textContent('#status'), /token/);
    assert.match(await admin.inputValue('#room-id'), /^[A-Za-z0-9_-]{1,64}$/);
    assert.equal(await admin.isDisabled('#start-stream'), true);
    await home.close();
    await admin.close();
    assertCleanPages();
  } finally {
    await m.close();
  }
});

test('go live, watch, chat, mute, viewers, kick, recording refused, stop and restart', async () => {
  const m = await startMock();
  const pages = [];
  try {
    pages.push(await openSfu(m));
    const admin = await goLive(m, 'show1', 'Friday show');
    pages.push(admin);
    assert.equal(await admin.textContent('#live-badge'), 'Live');
    // maintain-resolution: the publisher sends 720p from the start
    await waitStats(admin, (s) => s.frameWidth === 1280 && s.frameHeight === 720);

    const v1 = await br.newPage(m.url + '/viewer?room=show1');
    pages.push(v1);
    await waitState(v1, () => window.onair.state().connection === 'refused');
    await v1.fill('#token-name', 'Vera');
    await v1.click('#get-token');
    await waitFrames(v1, 10);
    const s1 = await state(v1);
    assert.equal(s1.title, 'Friday show');
    assert.equal(s1.muted, true); // muted autoplay first
    assert.equal(await v1.isVisible('#unmute'), true);
    assert.equal(await v1.isVisible('#overlay'), false);
    // Audio leaves the studio (the Chromium mock SFU cannot relay remote audio, so the
    // viewer's audio is only checked against the real servers).
    await waitStats(admin, (s) => s.audioPacketsSent > 10 && s.audioCodec === 'audio/opus');
    await v1.click('#unmute');
    assert.equal((await state(v1)).muted, false);
    assert.equal(await v1.isVisible('#unmute'), false);

    // chat both ways
    await v1.fill('#chat-input', 'hello from Vera');
    await v1.press('#chat-input', 'Enter');
    await waitState(admin, () => window.onair.chatLog().some((m) => m.text === 'hello from Vera'));
    await admin.fill('#chat-input', 'welcome!');
    await admin.click('#chat-send');
    await waitState(v1, () => window.onair.chatLog().some((m) => m.text === 'welcome!' && m.from.role === 'admin'));
    assert.equal(await v1.inputValue('#chat-input'), '');

    // a second viewer gets the history, both counts reach 2
    const v2 = await watch(m, 'show1');
    pages.push(v2);
    assert.deepEqual((await v2.evaluate(() => window.onair.chatLog())).map((c) => c.text), ['hello from Vera', 'welcome!']);
    await waitState(admin, () => window.onair.viewerCount() === 2 && document.querySelectorAll('[data-testid=viewer]').length === 2);
    await waitState(v1, () => window.onair.viewerCount() === 2);

    // mute camera and mic: overlays on the viewers
    await admin.click('#mute-camera');
    await admin.click('#mute-mic');
    await v1.waitForSelector('#overlay-camera-off', { state: 'visible', ...WAIT });
    await v1.waitForSelector('#overlay-mic-muted', { state: 'visible', ...WAIT });
    assert.equal(await admin.getAttribute('#mute-camera', 'aria-pressed'), 'true');
    await admin.click('#mute-camera');
    await v1.waitForSelector('#overlay-camera-off', { state: 'hidden', ...WAIT });
    assert.deepEqual((await state(v1)).mediaState, { audio: false, video: true });

    // stream stats from the server
    await waitState(admin, () => window.onair.state().streamStats !== null);
    assert.notEqual(await admin.textContent('#stat-bitrate'), '–');

    // recording: the server refuses, the button says why and stays disabled
    await admin.click('#record');
    await waitState(admin, () => document.getElementById('record').disabled &&
      /not available/.test(document.getElementById('record-reason').textContent));
    assert.match((await admin.evaluate(() => window.onair.errors())).join('\n'), /recording/i);

    // kick the second viewer
    const v2id = (await state(v2)).socketId;
    await admin.click(`[data-testid=kick][data-viewer-id="${v2id}"]`);
    await waitState(v2, () => window.onair.state().kicked !== null);
    const k = await state(v2);
    assert.equal(k.pcState, 'none');
    assert.match(k.overlay, /removed/);
    assert.equal(await v2.isDisabled('#chat-input'), true);
    await waitState(admin, () => document.querySelectorAll('[data-testid=viewer]').length === 1);
    await v2.click('#rejoin'); // still forbidden for 60 s
    await waitState(v2, () => /cannot watch/.test(window.onair.state().overlay));

    // stop: the viewer sees the end and why; start again: the viewer plays again
    await admin.click('#stop-stream');
    await waitState(v1, () => window.onair.state().ended === 'stopped');
    assert.match((await state(v1)).overlay, /The stream has ended\. The broadcaster ended the stream/);
    assert.equal((await state(v1)).pcState, 'none');
    await admin.click('#start-stream');
    await waitFrames(v1, 10);
    assert.equal((await state(v1)).ended, null);
    assertCleanPages();
  } finally {
    for (const p of pages) await p.close();
    await m.close();
  }
});

test('recovers by itself after a media failure and after dropped connections', async () => {
  const m = await startMock({ graceMs: 15000 });
  const pages = [];
  try {
    pages.push(await openSfu(m));
    const admin = await goLive(m, 'show2');
    pages.push(admin);
    const v = await watch(m, 'show2');
    pages.push(v);

    // ICE restarts: the admin renegotiates its connection (new offer), the viewer asks and
    // gets a new offer that it applies to the same connection; media keeps flowing.
    const before = { a: await state(admin), v: await state(v), offers: count(m, 'offer') };
    await admin.click('#restart-ice');
    await until(() => count(m, 'restart-ice') === 1 && count(m, 'offer') === before.offers + 1);
    await waitState(admin, () => window.onair.state().signalingState === 'stable' && window.onair.state().pcState === 'connected');
    await v.evaluate(() => window.onair.restartIce());
    await until(() => count(m, 'restart-ice') === 2 && count(m, 'answer') === 2);
    await waitState(v, () => window.onair.state().signalingState === 'stable' && window.onair.state().pcState === 'connected');
    assert.equal((await state(admin)).pcCount, before.a.pcCount);
    assert.equal((await state(v)).pcCount, before.v.pcCount);
    const f0 = (await v.evaluate(() => window.onair.stats())).framesDecoded;
    await waitFrames(v, f0 + 30);

    // The media server drops the broadcast: the admin publishes again without help.
    const offers = count(m, 'offer');
    m.failMedia('show2');
    await waitState(v, () => window.onair.state().ended === 'media-failed');
    await waitState(admin, () => window.onair.state().pcState === 'connected' && window.onair.state().live);
    assert.ok(count(m, 'offer') > offers);
    await waitFrames(v, 10);

    // Every signalling connection drops: the admin starts again with a fresh offer, the
    // viewer joins again and plays.
    const starts = count(m, 'start-stream');
    const joins = count(m, 'join-stream');
    m.dropClients();
    await until(() => count(m, 'start-stream') > starts);
    await waitState(admin, () => window.onair.state().live && window.onair.state().pcState === 'connected');
    await waitState(v, () => window.onair.state().joined);
    assert.ok(count(m, 'join-stream') > joins + 1); // admin's and viewer's
    await waitFrames(v, 10);
    assertCleanPages();
  } finally {
    for (const p of pages) await p.close();
    await m.close();
  }
});

test('production mode: no demo tokens, pasted tokens, anonymous viewers', async () => {
  const m = await startMock({ demo: false, anonymous: true });
  const pages = [];
  try {
    pages.push(await openSfu(m));
    // anonymous viewer connects, the room does not exist yet
    const v = await br.newPage(m.url + '/viewer?room=show3');
    pages.push(v);
    await waitState(v, () => /no room "show3" yet/.test(window.onair.state().overlay));

    const admin = await br.newPage(m.url + '/admin?room=show3');
    pages.push(admin);
    await admin.click('#get-token');
    await waitState(admin, () => window.onair.errors().some((e) => /production mode/.test(e)));
    await admin.fill('#token', 'not a token');
    await admin.click('#use-token');
    await waitState(admin, () => window.onair.errors().some((e) => /does not look like a token/.test(e)));
    // a forged token: refused with the server's message
    await admin.fill('#token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.AAAA');
    await admin.click('#use-token');
    await waitState(admin, () => window.onair.state().connection === 'refused');
    assert.match((await admin.evaluate(() => window.onair.errors())).join('\n'), /refused the token/);
    await admin.fill('#token', m.mintToken({ sub: 'alice', name: 'Alice', role: 'admin' }));
    await admin.click('#use-token');
    await waitState(admin, () => window.onair.state().connection === 'connected');
    assert.match(await admin.textContent('#token-info'), /Alice \(admin\)/);
    await admin.click('#start-stream');
    await waitState(admin, () => window.onair.state().pcState === 'connected');

    await v.click('#rejoin');
    await waitFrames(v, 10);
    await waitState(admin, () => window.onair.viewers().some((x) => /^Guest/.test(x.name)));
    assertCleanPages();
  } finally {
    for (const p of pages) await p.close();
    await m.close();
  }
});
