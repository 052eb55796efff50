// tests/e2e/pages_p2p.test.mjs: the test pages themselves, publisher page -> subscriber page
// directly (no SFU), so an SFU e2e failure is known not to come from the pages or harness.
// Runs inside `unshare -n` with lo up (scripts/test.sh does that for tests/e2e/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openEnv, linkP2P, decoded, audioFlowing } from './harness.mjs';

test('pages: publisher -> subscriber P2P at 1280x720 with audio, VP8 and H.264', { timeout: 90000 }, async (t) => {
  const env = await openEnv();
  t.after(() => env.close());
  const pub = await env.page('publisher');
  const settings = await pub.call('start', { width: 1280, height: 720, fps: 30 });
  assert.equal(settings.video.width, 1280);
  assert.equal(settings.video.height, 720);
  assert.equal(settings.audio, 1);
  const sub = await env.page('subscriber');

  const link = await linkP2P(pub, 'p1', sub, 's1');
  const s = await sub.waitStats('s1', (x) => decoded(60)(x) && audioFlowing(x), { what: '60 frames 1280x720 + audio' });
  assert.match(s.in_video.codec, /VP8/i);
  assert.equal(s.transport.dtlsState, 'connected');
  assert.ok(s.firstFrame && s.firstFrame.width === 1280, JSON.stringify(s.firstFrame));
  assert.ok(s.times.ice_connected > 0);
  assert.ok(s.pair && /127\.0\.0\.1/.test(s.pair.local), JSON.stringify(s.pair));
  assert.deepEqual(link.errors, []);
  const ps = await pub.stats('p1');
  assert.equal(ps.out_video.frameWidth, 1280);

  // ICE restart: new offer from the publisher, re-answered by the subscriber, media goes on.
  const n0 = s.in_video.framesDecoded;
  const re = await pub.call('restartIce', 'p1');
  const ufrag = (x) => x.match(/a=ice-ufrag:(\S+)/)[1];
  assert.notEqual(ufrag(re), ufrag(link.offer));
  await pub.call('answer', 'p1', await sub.call('reoffer', 's1', re));
  await sub.waitStats('s1', (x) => x.in_video.framesDecoded >= n0 + 30 && x.connectionState === 'connected', { what: 'frames after ICE restart' });
  assert.equal(await sub.call('close', 's1'), true);

  // H.264 preferred on the publisher's video transceiver.
  const link2 = await linkP2P(pub, 'p2', sub, 's2', { codec: 'H264' });
  assert.match(link2.offer.split('m=video')[1], /^ \d+ UDP\/TLS\/RTP\/SAVPF (\d+)/);
  const s2 = await sub.waitStats('s2', decoded(30), { what: 'H.264 frames' });
  assert.match(s2.in_video.codec, /H264/i);
  assert.deepEqual(link2.errors, []);
});
