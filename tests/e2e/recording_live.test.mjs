// tests/e2e/recording_live.test.mjs: recording through the protocol (PROTOCOL.md 5
// start-recording / stop-recording) with the real pages in headless Chromium and the real
// servers: onair-signal in demo mode spawning one onair-sfu, and onair-recorder per recording.
// The studio publishes 1280x720 for ~5 s with recording on; the file must then be readable by
// ffprobe with the recorded duration (± 1.5 s), VP8 video at the published size and Opus audio.
// A recording also survives its publisher dropping (the page closes without stop-recording):
// the broadcast ends after the publisher grace period and the file is finished.
// Runs inside `unshare -n` (scripts/test.sh); binaries from $ONAIR_BUILD (build/asan).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../lib/chromium.mjs';
import { startSignal, buildDir } from '../lib/server.mjs';
import { WAIT, state, waitState, waitStats, goLive, watch } from './live_pages_lib.mjs';
import { ffprobe } from './recording_lib.mjs';

const BIN = ['onair-signal', 'onair-sfu', 'onair-recorder'].map((b) => path.join(buildDir(), b));
const missing = BIN.filter((f) => !fs.existsSync(f));
const skip = missing.length ? `missing ${missing.join(', ')}` : false;
const RECORD_MS = 5000;
const GRACE_MS = 1500;

let br;
test.before(async () => {
  if (!skip) br = await launchChromium();
});
test.after(async () => {
  await br?.close();
});

async function startServers(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-reclive-'));
  const recDir = path.join(dir, 'recordings', 'nested'); // created on first use
  const srv = await startSignal({
    app: 'livestream',
    env: { ONAIR_ENV: 'demo', JWT_SECRET: 'rec-test-secret-0123456789abcdef', LOG_LEVEL: 'info' },
    args: ['--sfu-spawn', '1', '--sfu-bin', BIN[1], '--sfu-dir', dir, '--sfu-ports', '42200-42399',
      '--recordings-dir', recDir, '--publisher-grace', String(GRACE_MS)],
  });
  t.after(async () => {
    const r = await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(r, { code: 0, signal: null }); // clean exit (ASan: no leak, no error)
  });
  await srv.waitLog((_l, j) => j && j.msg === 'sfu ready', WAIT.timeout);
  return { srv, recDir };
}

// Emits event from the page's own socket (the protocol path) and resolves with the ack.
const emit = (page, event, payload) =>
  page.evaluate(([e, p]) => new Promise((r) => window.onair.socket().emit(e, p, r)), [event, payload]);

// The recorder's "recording finished" line for file (its stderr is signal's).
const finished = (srv, file) =>
  srv.waitLog((_l, j) => j && j.proc === 'recorder' && j.msg === 'recording finished' && j.file.endsWith(`/${file}`), WAIT.timeout)
    .then((l) => JSON.parse(l));

async function checkFile(file, recordedMs) {
  const probe = await ffprobe(file);
  const v = probe.streams.find((s) => s.codec_type === 'video');
  const a = probe.streams.find((s) => s.codec_type === 'audio');
  assert.ok(v && a, `streams: ${JSON.stringify(probe.streams)}`);
  assert.equal(v.codec_name, 'vp8');
  assert.equal(v.width, 1280);
  assert.equal(v.height, 720);
  assert.equal(a.codec_name, 'opus');
  assert.match(probe.format.format_name, /webm/);
  const dur = Number(probe.format.duration) * 1000;
  assert.ok(Math.abs(dur - recordedMs) <= 1500, `the file lasts ${dur} ms, the recording ${recordedMs} ms`);
  return probe;
}

test('start-recording / stop-recording: acks, stream-stats, and a WebM file of the recorded length', { skip, timeout: 120000 }, async (t) => {
  const { srv, recDir } = await startServers(t);
  const pages = [];
  t.after(async () => { for (const p of pages) await p.close().catch(() => {}); });
  const admin = await goLive(br, srv.url, 'recA', 'Recorded show');
  pages.push(admin);
  await waitStats(admin, (s) => s.frameWidth === 1280 && s.frameHeight === 720, '720p sent');

  // refusals first: a viewer may not record; stopping when nothing records is a no-op
  const viewer = await watch(br, srv.url, 'recA', 'Vic');
  pages.push(viewer);
  const vr = await emit(viewer, 'start-recording', { roomId: 'recA' });
  assert.equal(vr.ok, false);
  assert.equal(vr.error.code, 'forbidden');
  assert.deepEqual(await emit(admin, 'stop-recording', { roomId: 'recA' }), { ok: true, recording: null });
  assert.equal((await emit(admin, 'start-recording', { roomId: 'nope' })).error.code, 'not_found');

  const ack = await emit(admin, 'start-recording', { roomId: 'recA' });
  const begin = Date.now();
  assert.equal(ack.ok, true, JSON.stringify(ack));
  const rec = ack.recording;
  assert.equal(typeof rec.id, 'string');
  assert.equal(typeof rec.startedAt, 'number');
  assert.ok(Math.abs(rec.startedAt - Date.now()) < 10000);
  assert.match(rec.file, /^recA-\d+\.webm$/);
  // idempotent: the same recording again
  assert.deepEqual(await emit(admin, 'start-recording', { roomId: 'recA' }), { ok: true, recording: rec });
  // stream-stats tells the admins (every 2 s while live)
  await waitState(admin, () => window.onair.state().streamStats?.recording === true);

  // the recording's length is the subject: let it run for RECORD_MS
  await new Promise((r) => setTimeout(r, Math.max(0, RECORD_MS - (Date.now() - begin))));
  const stopped = await emit(admin, 'stop-recording', { roomId: 'recA' });
  const recorded = Date.now() - begin;
  assert.deepEqual(stopped, { ok: true, recording: rec });
  const fin = await finished(srv, rec.file);
  assert.ok(fin.video_frames > 60 && fin.audio_frames > 100, JSON.stringify(fin));
  await srv.waitLog((_l, j) => j && j.msg === 'recorder exited' && j.id === rec.id && j.status === 0 && j.signal === 0, WAIT.timeout);
  await checkFile(path.join(recDir, rec.file), recorded);
  await waitState(admin, () => window.onair.state().streamStats?.recording === false);

  // a second recording of the same broadcast is a new file
  const again = await emit(admin, 'start-recording', { roomId: 'recA' });
  assert.equal(again.ok, true);
  assert.notEqual(again.recording.id, rec.id);
  // ending the broadcast ends the recording too, and the file is finished
  await admin.click('#stop-stream');
  await waitState(viewer, () => window.onair.state().ended === 'stopped');
  await finished(srv, again.recording.file);
  assert.equal((await emit(admin, 'start-recording', { roomId: 'recA' })).error.code, 'conflict'); // not live
});

test('the publisher drops mid-recording: the broadcast ends, the file is finished and playable', { skip, timeout: 120000 }, async (t) => {
  const { srv, recDir } = await startServers(t);
  const admin = await goLive(br, srv.url, 'recB');
  await waitStats(admin, (s) => s.frameWidth === 1280 && s.frameHeight === 720, '720p sent');
  // the studio's own button this time
  await admin.click('#record');
  await waitState(admin, () => !!window.onair.state().recording?.file);
  const begin = Date.now();
  const rec = (await state(admin)).recording;
  await new Promise((r) => setTimeout(r, Math.max(0, RECORD_MS - (Date.now() - begin))));
  await admin.close(); // no stop-recording: the publisher is simply gone
  const recorded = Date.now() - begin;
  await srv.waitLog((_l, j) => j && j.msg === 'stream ended' && j.room === 'recB' && j.reason === 'publisher-left', WAIT.timeout);
  const fin = await finished(srv, rec.file);
  assert.match(fin.why, /^(forward ended|stopped)$/); // BYE and SIGTERM race; either finishes it
  await checkFile(path.join(recDir, rec.file), recorded);
});

test('signal shuts down during a recording: it exits cleanly and the recorder still finishes the file', { skip, timeout: 120000 }, async (t) => {
  const { srv, recDir } = await startServers(t);
  const admin = await goLive(br, srv.url, 'recC');
  t.after(() => admin.close().catch(() => {}));
  const ack = await emit(admin, 'start-recording', { roomId: 'recC' });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  const begin = Date.now();
  await srv.waitLog((_l, j) => j && j.proc === 'recorder' && j.msg === 'recording started', WAIT.timeout);
  await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - begin)))); // record 3 s
  const exit = await srv.stop();
  const recorded = Date.now() - begin;
  assert.deepEqual(exit, { code: 0, signal: null });
  const fin = await finished(srv, ack.recording.file); // the recorder outlives signal briefly
  assert.ok(fin.video_frames > 30, JSON.stringify(fin));
  const probe = await ffprobe(path.join(recDir, ack.recording.file));
  const dur = Number(probe.format.duration) * 1000;
  assert.ok(Math.abs(dur - recorded) <= 1500, `the file lasts ${dur} ms, the recording ${recorded} ms`);
});
