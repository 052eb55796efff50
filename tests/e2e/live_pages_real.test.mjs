// tests/e2e/live_pages_real.test.mjs: the browser clients (signal/www/: /, /admin, /viewer)
// in headless Chromium against the real servers: onair-signal --app livestream (demo or
// production mode) spawning one onair-sfu. Checks what an operator would, through the pages'
// ids and window.onair hooks (docs/PAGES.md): the server's CSP, tokens, going live at 720p,
// three viewers playing and chatting, counts, mute overlays, stats, recording, kick, stop and
// restart, a late viewer's time to picture, and recovery (ICE restarts, an SFU crash, dropped
// connections, a server restart). One browser, a fresh server per test, every server must exit
// 0 on SIGTERM. Runs inside `unshare -n` (scripts/test.sh); binaries from $ONAIR_BUILD.
import test from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from '../lib/chromium.mjs';
import { http } from '../lib/server.mjs';
import {
  WAIT, missing, state, waitState, waitStats, waitFrames, framesGrow, countEvents, startLive, stopLive,
  restartLive, ctlToken, watchCsp, assertCleanPages, goLive, watch, chatTexts, waitChat,
} from './live_pages_lib.mjs';

const SKIP = missing.length ? `missing ${missing.join(', ')}` : false;
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; media-src 'self' blob:; " +
  "style-src 'self'; script-src 'self'";

let br;
test.before(async () => {
  if (SKIP) return;
  br = await launchChromium();
  await watchCsp(br);
});
test.after(async () => {
  await br?.close();
});

// Runs body({h}, pages) against a fresh server (body may replace h after a restart); closes
// the pages and stops the server, which must exit 0. A failing body keeps its own error (the
// server's last lines go to stderr).
async function withServer(opts, body) {
  const hh = { h: await startLive(opts) };
  const pages = [];
  let failed = false;
  try {
    await body(hh, pages);
    assertCleanPages(br);
  } catch (e) {
    failed = true;
    process.stderr.write(`onair-signal's last lines:\n${hh.h.lines.slice(-40).join('\n')}\n`);
    throw e;
  } finally {
    for (const p of pages) await p.close().catch(() => {});
    try {
      await stopLive(hh.h);
    } catch (e) {
      if (!failed) throw e;
      process.stderr.write(`and the server did not stop cleanly: ${e.message}\n`);
    }
  }
}

test('pages under the server CSP; home form -> player; anonymous refusal explained; studio before a token', { skip: SKIP }, async () => {
  await withServer({}, async ({ h }, pages) => {
    const home = await br.newPage();
    pages.push(home);
    const res = await home.goto(h.url + '/');
    assert.ok(res.headers()['content-security-policy'].startsWith(CSP), res.headers()['content-security-policy']);
    assert.equal(await home.getAttribute('#admin-link', 'href'), '/admin');
    await home.fill('#room-id', 'abc_1');
    await home.click('#watch');
    await home.waitForURL(/\/viewer\?room=abc_1$/);
    await waitState(home, () => window.onair && window.onair.state().roomId === 'abc_1');
    // No token and no anonymous viewers on this server: the connect_error is explained.
    await waitState(home, () => window.onair.state().connection === 'refused');
    assert.match((await home.evaluate(() => window.onair.errors())).join('\n'), /without a token \(unauthorized\)/);
    assert.equal(await home.evaluate(() => document.getElementById('token-panel').open), true);
    assert.match((await state(home)).overlay, /Not connected: see "Access token"/);

    const bad = await br.newPage(h.url + '/viewer?room=no%20spaces');
    pages.push(bad);
    await waitState(bad, () => window.onair.errors().some((e) => /room id in this link is not valid/.test(e)));

    const admin = await br.newPage(h.url + '/admin');
    pages.push(admin);
    assert.match(await admin.textContent('#status'), /token/);
    assert.match(await admin.inputValue('#room-id'), /^[A-Za-z0-9_-]{1,64}$/);
    assert.equal(await admin.isDisabled('#start-stream'), true);
    assert.equal(await admin.isDisabled('#record'), true);
  });
});

// Three viewers of one broadcast: the e2e list of the issue, through the pages.
test('three viewers: 720p video and sound, chat and history, counts, mute, stats, recording, stop/start, kick', { skip: SKIP }, async (tc) => {
  await withServer({}, async ({ h }, pages) => {
    const admin = await goLive(br, h.url, 'show1', 'Friday show');
    pages.push(admin);
    assert.equal(await admin.textContent('#live-badge'), 'Live');
    // maintain-resolution: the publisher sends 720p from the start
    await waitStats(admin, (s) => s.frameWidth === 1280 && s.frameHeight === 720 && s.audioCodec === 'audio/opus' &&
      s.audioPacketsSent > 10, '720p video and opus audio sent');

    // Vera: first without a token (refused: demo mode allows no anonymous viewers), then a demo token.
    const vera = await br.newPage(h.url + '/viewer?room=show1');
    pages.push(vera);
    await waitState(vera, () => window.onair.state().connection === 'refused');
    await vera.fill('#token-name', 'Vera');
    await vera.click('#get-token');
    await waitFrames(vera, 10);
    const s1 = await state(vera);
    assert.equal(s1.title, 'Friday show');
    assert.equal(s1.muted, true); // muted autoplay first
    assert.equal(await vera.isVisible('#unmute'), true);
    assert.equal(await vera.isVisible('#overlay'), false);
    assert.match(await vera.textContent('#token-info'), /^Vera \(viewer\)/);
    await vera.click('#unmute');
    assert.equal((await state(vera)).muted, false);
    assert.equal(await vera.isVisible('#unmute'), false);

    const kim = await watch(br, h.url, 'show1', 'Kim');
    pages.push(kim);
    await vera.fill('#chat-input', 'hello from Vera');
    await vera.press('#chat-input', 'Enter');
    await waitChat(admin, 'hello from Vera');
    await waitChat(kim, 'hello from Vera');
    assert.equal(await vera.inputValue('#chat-input'), '');
    await admin.fill('#chat-input', 'welcome!');
    await admin.click('#chat-send');
    await waitChat(vera, 'welcome!', 'admin');
    await waitChat(kim, 'welcome!', 'admin');
    await kim.fill('#chat-input', 'hi from Kim');
    await kim.click('#chat-send');
    await waitChat(admin, 'hi from Kim', 'viewer');
    await waitChat(vera, 'hi from Kim', 'viewer');

    // Lou joins the running stream: chat history, and a picture within 1 s of ICE connected.
    const lou = await watch(br, h.url, 'show1', 'Lou');
    pages.push(lou);
    assert.deepEqual(await chatTexts(lou), ['hello from Vera', 'welcome!', 'hi from Kim']);
    await waitState(lou, () => window.onair.timing() && window.onair.timing().firstFrameAfterIceMs !== null);
    const t = await lou.evaluate(() => window.onair.timing());
    assert.ok(t.firstFrameAfterIceMs <= 1000, `first frame ${t.firstFrameAfterIceMs} ms after ICE connected: ${JSON.stringify(t)}`);
    assert.equal(t.firstFrame.width, 1280);
    tc.diagnostic(`late viewer: ICE connected ${Math.round(t.iceConnectedMs)} ms after its RTCPeerConnection, first frame ${Math.round(t.firstFrameAfterIceMs)} ms after that`);

    const viewers = [vera, kim, lou];
    for (const v of viewers) {
      await framesGrow(v, 30);
      await waitStats(v, (s) => s.audioPacketsReceived > 25, 'audio at the viewer');
    }
    await waitState(admin, () => window.onair.viewerCount() === 3 && document.querySelectorAll('[data-testid=viewer]').length === 3);
    assert.deepEqual((await admin.evaluate(() => window.onair.viewers().map((x) => x.name))).sort(), ['Kim', 'Lou', 'Vera']);
    for (const v of viewers) {
      await waitState(v, () => window.onair.viewerCount() === 3 && document.getElementById('viewer-count').textContent === '3');
    }

    // Recording: either the server records (the button then stops it) or it refuses and the
    // button is disabled with the server's reason.
    await admin.click('#record');
    await waitState(admin, () => {
      const b = document.getElementById('record');
      return (b.disabled && /not available/.test(document.getElementById('record-reason').textContent)) ||
        (!b.disabled && b.textContent === 'Stop recording');
    });
    if ((await admin.textContent('#record')) === 'Stop recording') {
      assert.ok((await state(admin)).recording);
      assert.match(await admin.textContent('#record-reason'), /^Recording since /);
      await admin.click('#record');
      await waitState(admin, () => document.getElementById('record').textContent === 'Start recording');
      tc.diagnostic('recording: the server recorded');
    } else {
      tc.diagnostic(`recording: refused (${await admin.textContent('#record-reason')})`);
      assert.match((await admin.evaluate(() => window.onair.errors())).join('\n'), /Could not start recording/);
    }

    // Mute overlays on every viewer (media-state), and back.
    await admin.click('#mute-camera');
    await admin.click('#mute-mic');
    assert.equal(await admin.getAttribute('#mute-camera', 'aria-pressed'), 'true');
    for (const v of viewers) {
      await v.waitForSelector('#overlay-camera-off', { state: 'visible', ...WAIT });
      await v.waitForSelector('#overlay-mic-muted', { state: 'visible', ...WAIT });
    }
    await admin.click('#mute-camera');
    await admin.click('#mute-mic');
    for (const v of viewers) {
      await v.waitForSelector('#overlay-camera-off', { state: 'hidden', ...WAIT });
      await v.waitForSelector('#overlay-mic-muted', { state: 'hidden', ...WAIT });
      assert.deepEqual((await state(v)).mediaState, { audio: true, video: true });
    }

    // stream-stats from the server: bitrate in, viewers.
    await waitState(admin, () => {
      const st = window.onair.state().streamStats;
      return st && st.bitrateIn > 0 && st.viewers === 3;
    });
    assert.notEqual(await admin.textContent('#stat-bitrate'), '–');
    assert.match(await admin.textContent('#stat-out'), /^1280×720/);

    // Stop: the video ends on every viewer; start again: every viewer plays again.
    await admin.click('#stop-stream');
    for (const v of viewers) {
      await waitState(v, () => window.onair.state().ended === 'stopped');
      const s = await state(v);
      assert.match(s.overlay, /The stream has ended\. The broadcaster ended the stream/);
      assert.equal(s.pcState, 'none');
      assert.equal(s.playing, false);
      assert.equal(await v.evaluate(() => document.getElementById('video').srcObject), null);
    }
    await waitState(admin, () => !window.onair.state().live && document.getElementById('live-badge').textContent === 'Off air');
    await admin.click('#start-stream');
    for (const v of viewers) {
      await framesGrow(v, 10);
      assert.equal((await state(v)).ended, null);
      assert.equal((await chatTexts(v)).length, 3); // the room and its chat outlive a broadcast
    }

    // Kick Kim (found by name: viewer.id is opaque): media and chat end for Kim only, the
    // counts drop, and joining again is refused (60 s).
    const kimItem = admin.locator('[data-testid=viewer]').filter({ has: admin.locator('.viewer-name', { hasText: /^Kim$/ }) });
    await kimItem.locator('[data-testid=kick]').click();
    await waitState(kim, () => window.onair.state().kicked !== null);
    const k = await state(kim);
    assert.equal(k.pcState, 'none');
    assert.match(k.overlay, /removed/);
    assert.equal(await kim.isDisabled('#chat-input'), true);
    await waitState(admin, () => document.querySelectorAll('[data-testid=viewer]').length === 2 && window.onair.viewerCount() === 2);
    for (const v of [vera, lou]) await waitState(v, () => window.onair.viewerCount() === 2);
    await kim.click('#rejoin');
    await waitState(kim, () => /cannot watch/.test(window.onair.state().overlay));
    assert.equal((await state(kim)).joined, false);
    await framesGrow(vera, 10);
    await framesGrow(lou, 10);

    // Lou leaves: the counts follow, Vera keeps playing.
    await lou.click('#leave');
    await waitState(lou, () => !window.onair.state().joined && window.onair.state().pcState === 'none' &&
      !document.getElementById('room-form').hidden);
    await waitState(admin, () => document.querySelectorAll('[data-testid=viewer]').length === 1 && window.onair.viewerCount() === 1);
    await waitState(vera, () => window.onair.viewerCount() === 1);
    await framesGrow(vera, 10);
  });
});

test('recovery: ICE restarts on both sides, SFU crash -> republish, dropped connections, server restart', { skip: SKIP }, async (tc) => {
  await withServer({}, async (hh, pages) => {
    const admin = await goLive(br, hh.h.url, 'show2');
    pages.push(admin);
    const v = await watch(br, hh.h.url, 'show2');
    pages.push(v);

    // ICE restarts on the same RTCPeerConnections: the admin sends an iceRestart offer and
    // gets an answer; the viewer asks and gets a new offer. Media keeps flowing.
    const a0 = { ...(await state(admin)), answers: await countEvents(admin, 'answer') };
    const v0 = { ...(await state(v)), offers: await countEvents(v, 'offer') };
    await admin.click('#restart-ice');
    await waitState(admin, (n) => window.onair.events().filter((e) => e[1] === 'answer').length > n &&
      window.onair.state().signalingState === 'stable' && window.onair.state().pcState === 'connected', a0.answers);
    await v.evaluate(() => window.onair.restartIce());
    await waitState(v, (n) => window.onair.events().filter((e) => e[1] === 'offer').length > n &&
      window.onair.state().signalingState === 'stable' && window.onair.state().pcState === 'connected', v0.offers);
    assert.equal((await state(admin)).pcCount, a0.pcCount);
    assert.equal((await state(v)).pcCount, v0.pcCount);
    await framesGrow(v, 30);

    // The SFU process dies: signal respawns it and ends the broadcast (media-failed); the studio
    // publishes again by itself and the viewer plays again.
    const [pid] = hh.h.sfuPids();
    const pcs = (await state(admin)).pcCount;
    process.kill(pid, 'SIGKILL');
    await waitState(v, () => window.onair.state().ended === 'media-failed');
    await hh.h.waitLog((_l, j) => j && j.msg === 'sfu spawned' && j.pid !== pid, WAIT.timeout);
    await waitState(admin, (n) => window.onair.state().pcCount > n && window.onair.state().pcState === 'connected', pcs);
    await framesGrow(v, 30);
    assert.equal((await state(v)).ended, null);

    // The studio's connection drops: it is back within the publisher grace (10 s), starts again
    // with a fresh offer, and the viewer, which saw no stream-ended, plays the new media.
    let pcs2 = { a: (await state(admin)).pcCount, v: (await state(v)).pcCount };
    const ended0 = await countEvents(v, 'stream-ended');
    await admin.evaluate(() => window.onair.socket().io.engine.close());
    await waitState(admin, (n) => window.onair.state().live && window.onair.state().pcState === 'connected' &&
      window.onair.state().pcCount > n, pcs2.a);
    await framesGrow(v, 30);
    assert.equal(await countEvents(v, 'stream-ended'), ended0);
    tc.diagnostic(`publisher back within the grace: viewer RTCPeerConnections ${pcs2.v} -> ${(await state(v)).pcCount}`);

    // Every signalling connection drops at once (the pages' transports close): the studio
    // starts again with a fresh offer, the viewer joins again and plays.
    pcs2 = { a: (await state(admin)).pcCount, v: (await state(v)).pcCount };
    for (const p of [admin, v]) await p.evaluate(() => window.onair.socket().io.engine.close());
    await waitState(admin, (n) => window.onair.state().live && window.onair.state().pcState === 'connected' &&
      window.onair.state().pcCount > n, pcs2.a);
    await waitState(v, (n) => window.onair.state().joined && window.onair.state().pcCount > n, pcs2.v);
    await framesGrow(v, 30);

    // The server restarts (every connection dropped, in-process state and SFU gone): the pages
    // reconnect, the studio publishes again and the viewer plays.
    const pcs3 = { a: (await state(admin)).pcCount, v: (await state(v)).pcCount };
    hh.h = await restartLive(hh.h);
    await waitState(admin, (n) => window.onair.state().live && window.onair.state().pcState === 'connected' &&
      window.onair.state().pcCount > n, pcs3.a);
    await waitState(v, (n) => window.onair.state().joined && window.onair.state().pcCount > n, pcs3.v);
    await framesGrow(v, 30);
    assert.equal((await state(v)).ended, null);
  });
});

test('production mode: no demo tokens, pasted tokens (malformed, forged, valid), anonymous viewers', { skip: SKIP }, async () => {
  await withServer({ env: { ONAIR_ENV: 'production', ALLOW_ANONYMOUS_VIEWERS: '1' } }, async ({ h }, pages) => {
    assert.equal((await http(h.url + '/api/dev-token', { method: 'POST', body: '{"name":"x","role":"admin"}' })).status, 404);
    // An anonymous viewer (allowed here) waits for a room that does not exist yet.
    const v = await br.newPage(h.url + '/viewer?room=show3');
    pages.push(v);
    await waitState(v, () => /no room "show3" yet/.test(window.onair.state().overlay));
    assert.equal((await state(v)).connection, 'connected');

    const admin = await br.newPage(h.url + '/admin?room=show3');
    pages.push(admin);
    await admin.click('#get-token');
    await waitState(admin, () => window.onair.errors().some((e) => /production mode/.test(e)));
    assert.equal(await admin.evaluate(() => document.getElementById('token-panel').open), true);
    await admin.fill('#token', 'not a token');
    await admin.click('#use-token');
    await waitState(admin, () => window.onair.errors().some((e) => /does not look like a token/.test(e)));
    // forged: well formed, signed with another secret; the server refuses, the page says so
    await admin.fill('#token', await ctlToken({ sub: 'mallory', role: 'admin', secret: 'not-the-server-secret-0123456789' }));
    await admin.click('#use-token');
    await waitState(admin, () => window.onair.state().connection === 'refused');
    assert.match((await admin.evaluate(() => window.onair.errors())).join('\n'), /refused the token/);
    // a valid token from the operator's CLI, pasted with its "Bearer " prefix
    await admin.fill('#token', 'Bearer ' + (await ctlToken({ sub: 'alice', name: 'Alice', role: 'admin' })));
    await admin.click('#use-token');
    await waitState(admin, () => window.onair.state().connection === 'connected');
    assert.match(await admin.textContent('#token-info'), /^Alice \(admin\)/);
    await admin.click('#start-stream');
    await waitState(admin, () => window.onair.state().pcState === 'connected');

    // "Join again" now, unless its retry (2, 4, 8 s) got there first
    await v.evaluate(() => document.getElementById('rejoin').hidden || document.getElementById('rejoin').click());
    await framesGrow(v, 10);
    await waitState(admin, () => window.onair.viewers().some((x) => /^Guest \d+$/.test(x.name)));
  });
});
