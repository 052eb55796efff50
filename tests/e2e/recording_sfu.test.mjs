// tests/e2e/recording_sfu.test.mjs: the forwarding primitive and the recorder without signal.
// A Chromium publisher sends 1280x720 through onair-sfu; room.forward sends the room's plain
// RTP to an onair-recorder on loopback; after ~5 s the forward ends (room.unforward: the
// recorder gets an RTCP BYE) or the recorder gets SIGTERM; ffprobe must then read a file with
// the recorded duration, the video (VP8 in WebM, H.264 in Matroska) and the Opus audio.
// Runs inside `unshare -n` with lo up (scripts/test.sh); binaries from $ONAIR_BUILD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu } from './harness.mjs';
import { ffprobe, startRecorder, RECORDER } from './recording_lib.mjs';

const RECORD_MS = 5000;
const skip = fs.existsSync(RECORDER) ? false : `missing ${RECORDER}`;

async function scenario(t, { codec, file, end }) {
  const sfu = await startSfu({ id: `e2e-rec-${codec}` });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-rec-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, file);

  const pub = await env.page('publisher');
  await pub.call('start', { width: 1280, height: 720, fps: 30 });
  const connected = rpc.waitEvent('peer.state', (d) => d.peer === 'pub' && d.state === 'connected', { timeoutMs: 20000 });
  const link = await publishToSfu(rpc, pub, { room: 'rec', peer: 'pub', codec });
  await connected;

  const rec = await startRecorder(out, { id: `rec-${codec}` });
  t.after(() => rec.stop('SIGKILL'));
  const res = await rpc.call('room.forward', { room: 'rec', id: 'rec1', host: '127.0.0.1', port: rec.port });
  const begin = Date.now();
  assert.equal(res.id, 'rec1');
  assert.match(res.sdp, codec === 'H264' ? /a=rtpmap:\d+ H264\/90000/ : /a=rtpmap:\d+ VP8\/90000/);
  assert.match(res.sdp, /a=rtpmap:\d+ opus\/48000\/2/);
  const started = JSON.parse(await rec.waitLog((_l, j) => j && j.msg === 'recording started', 10000));
  assert.equal(started.video, codec === 'H264' ? 'h264' : 'vp8');
  assert.equal(started.audio, 'opus');
  assert.equal(started.width, 1280);
  assert.equal(started.height, 720);
  // the SFU passes on the publisher's sender reports: audio and video are aligned by them
  assert.equal(started.sync, 'sender-reports', JSON.stringify(started));
  // the recording's length is the test's subject: let it run for RECORD_MS
  await new Promise((r) => setTimeout(r, Math.max(0, RECORD_MS - (Date.now() - begin))));
  const fw = (await rpc.call('stats', { room: 'rec' })).rooms[0].forwards;
  assert.equal(fw.length, 1);
  assert.equal(fw[0].id, 'rec1');
  assert.ok(fw[0].packets > 0, JSON.stringify(fw));
  if (end === 'unforward') {
    const st = await rpc.call('room.unforward', { room: 'rec', id: 'rec1' });
    assert.ok(st.packets > 200, `forwarded packets: ${JSON.stringify(st)}`);
    assert.equal(st.dropped, 0);
  } else {
    rec.proc.kill('SIGTERM');
  }
  const recorded = Date.now() - begin;
  const exit = await rec.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, rec.lines.slice(-20).join('\n'));
  const fin = JSON.parse(await rec.waitLog((_l, j) => j && j.msg === 'recording finished', 1000));
  assert.equal(fin.why, end === 'unforward' ? 'forward ended' : 'stopped');

  const probe = await ffprobe(out);
  const v = probe.streams.find((s) => s.codec_type === 'video');
  const a = probe.streams.find((s) => s.codec_type === 'audio');
  assert.ok(v && a, JSON.stringify(probe.streams));
  assert.equal(v.codec_name, codec === 'H264' ? 'h264' : 'vp8');
  assert.equal(v.width, 1280);
  assert.equal(v.height, 720);
  assert.equal(a.codec_name, 'opus');
  assert.match(probe.format.format_name, /matroska|webm/);
  const dur = Number(probe.format.duration) * 1000;
  assert.ok(Math.abs(dur - recorded) <= 1500, `file lasts ${dur} ms, recorded for ${recorded} ms`);
  // audio and video start together (the video's first key frame follows the forward's PLI)
  assert.ok(Math.abs(Number(v.start_time) - Number(a.start_time)) < 1, `start times: video ${v.start_time}, audio ${a.start_time}`);
  assert.deepEqual(link.errors, []);
  return { probe, fin };
}

test('VP8 + Opus: room.forward -> onair-recorder -> WebM; room.unforward finishes the file', { skip, timeout: 90000 }, async (t) => {
  const { fin } = await scenario(t, { codec: 'VP8', file: 'vp8.webm', end: 'unforward' });
  assert.ok(fin.video_frames > 60, JSON.stringify(fin));
});

test('H.264 + Opus: room.forward -> onair-recorder -> Matroska; SIGTERM finishes the file', { skip, timeout: 90000 }, async (t) => {
  const { fin } = await scenario(t, { codec: 'H264', file: 'h264.mkv', end: 'sigterm' });
  assert.ok(fin.video_frames > 60, JSON.stringify(fin));
});

test('the publisher goes and comes back (new peer, new SSRCs): one file, the gap in its timeline', { skip, timeout: 120000 }, async (t) => {
  const sfu = await startSfu({ id: 'e2e-rec-back' });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-rec-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'back.webm');
  const pub = await env.page('publisher');
  await pub.call('start', { width: 1280, height: 720, fps: 30 });

  const publish = async (peer) => {
    const up = rpc.waitEvent('peer.state', (d) => d.peer === peer && d.state === 'connected', { timeoutMs: 20000 });
    const link = await publishToSfu(rpc, pub, { room: 'back', peer, codec: 'VP8' });
    await up;
    return link;
  };
  const l1 = await publish('pub1');
  const rec = await startRecorder(out, { id: 'rec-back' });
  t.after(() => rec.stop('SIGKILL'));
  await rpc.call('room.forward', { room: 'back', id: 'r', host: '127.0.0.1', port: rec.port });
  const begin = Date.now();
  await rec.waitLog((_l, j) => j && j.msg === 'recording started', 10000);
  const firstPart = rec.records.filter((j) => j.msg === 'description').length;
  await new Promise((r) => setTimeout(r, 2500)); // the first part of the recording
  l1.stop();
  const gone = rpc.waitEvent('peer.state', (d) => d.peer === 'pub1' && d.state === 'closed', { timeoutMs: 10000 });
  await pub.call('close', 'pub1'); // DTLS close_notify: the SFU closes the publisher
  await gone;
  const l2 = await publish('pub2'); // same room, the forward stays
  await rec.waitLog((_l, j) => j && j.msg === 'new ssrc' && j.kind === 'video', 10000);
  assert.ok(rec.records.filter((j) => j.msg === 'description').length > firstPart, 'a new description');
  await new Promise((r) => setTimeout(r, 2500)); // the second part
  await rpc.call('room.unforward', { room: 'back', id: 'r' });
  const recorded = Date.now() - begin;
  assert.deepEqual(await rec.exited, { code: 0, signal: null }, rec.lines.slice(-20).join('\n'));
  const fin = JSON.parse(await rec.waitLog((_l, j) => j && j.msg === 'recording finished', 1000));
  assert.ok(fin.video_frames > 90 && fin.keyframes >= 2, JSON.stringify(fin));
  const probe = await ffprobe(out);
  const dur = Number(probe.format.duration) * 1000;
  assert.ok(Math.abs(dur - recorded) <= 1500, `file lasts ${dur} ms, recorded for ${recorded} ms`);
  assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);
  assert.deepEqual([...l1.errors, ...l2.errors], []);
});
