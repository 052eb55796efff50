// tests/e2e/live_pages_mock.test.mjs: drives the browser clients (signal/www/: /, /admin,
// /viewer) in headless Chromium against live_pages_mock.mjs, a PROTOCOL.md stand-in with a
// Chromium "media server". Checks what an operator would: tokens, going live, watching, chat,
// mute overlays, viewer list and kick, recording refusal, stream end, and recovery after a
// media failure and after dropped connections. Runs inside `unshare -n` (scripts/test.sh).
import test from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from '../lib/chromium.mjs';
import { startMock } from './live_pages_mock.mjs';
import {
  WAIT, state, waitState, waitStats, waitFrames, until, goLive, watch, assertCleanPages, roomScenario,
} from './live_pages_lib.mjs';

let br;

test.before(async () => {
  br = await launchChromium();
});
test.after(async () => {
  await br?.close();
});

async function openSfu(m) {
  const p = await br.newPage(m.url + '/__mock/sfu.html');
  await p.waitForFunction(() => window.sfuState && window.sfuState().connected, null, WAIT);
  return p;
}
const count = (m, ev) => m.log.filter((e) => e[0] === ev).length;

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
    assertCleanPages(br);
  } finally {
    await m.close();
  }
});

test('go live, watch, chat, mute, viewers, kick, recording refused, stop and restart', async () => {
  const m = await startMock();
  const pages = [];
  try {
    pages.push(await openSfu(m));
    const admin = await goLive(br, m.url, 'show1', 'Friday show');
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

    // recording: the mock refuses, the button says why and stays disabled
    await admin.click('#record');
    await waitState(admin, () => document.getElementById('record').disabled &&
      /not available/.test(document.getElementById('record-reason').textContent));
    assert.match((await admin.evaluate(() => window.onair.errors())).join('\n'), /recording/i);

    pages.push(await roomScenario({ admin, v1, newViewer: () => watch(br, m.url, 'show1', 'Kim') }));
    assertCleanPages(br);
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
    const admin = await goLive(br, m.url, 'show2');
    pages.push(admin);
    const v = await watch(br, m.url, 'show2');
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
    assertCleanPages(br);
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
    assertCleanPages(br);
  } finally {
    for (const p of pages) await p.close();
    await m.close();
  }
});
