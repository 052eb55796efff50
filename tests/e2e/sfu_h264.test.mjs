// tests/e2e/sfu_h264.test.mjs: a publisher that prefers H.264 (setCodecPreferences on its video
// transceiver): the SFU must answer with H.264 and offer the subscriber that codec with the
// publisher's payload type. Runs inside `unshare -n` with lo up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu, decoded, audioFlowing } from './harness.mjs';

// The payload type of the first codec of the video m-line and its rtpmap name.
function firstVideoCodec(sdp) {
  const v = sdp.split(/\r?\nm=/).find((s) => s.startsWith('video'));
  if (!v) return null;
  const pt = v.split('\n')[0].trim().split(' ')[3];
  const m = v.match(new RegExp(`a=rtpmap:${pt} ([^/\\r\\n]+)`));
  return { pt, name: m && m[1] };
}

test('a publisher preferring H.264 reaches the subscriber as H.264 at 1280x720', { timeout: 90000 }, async (t) => {
  const sfu = await startSfu({ id: 'e2e-h264' });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());

  const pub = await env.page('publisher');
  await pub.call('start', { width: 1280, height: 720, fps: 30 });
  const pl = await publishToSfu(rpc, pub, { room: 'h264', peer: 'pub', codec: 'H264' });
  assert.equal(firstVideoCodec(pl.offer).name, 'H264');
  const ans = firstVideoCodec(pl.answer);
  assert.equal(ans.name, 'H264', `SFU answer's video codec: ${JSON.stringify(ans)}`);

  const sub = await env.page('subscriber');
  const sl = await subscribeFromSfu(rpc, sub, { room: 'h264', peer: 'sub' });
  const off = firstVideoCodec(sl.offer);
  assert.equal(off.name, 'H264', `subscriber offer's video codec: ${JSON.stringify(off)}`);
  assert.equal(off.pt, ans.pt, 'the subscriber gets the publisher\'s payload type');
  const st = await sub.waitStats('sub', (x) => decoded(60)(x) && audioFlowing(x), { timeoutMs: 20000, what: '60 H.264 frames at 1280x720 and audio' });
  assert.match(st.in_video.codec, /H264/i);
  const ps = await pub.stats('pub');
  assert.match(ps.out_video.codec, /H264/i);
  assert.deepEqual(pl.errors, []);
  assert.deepEqual(sl.errors, []);
});
