// tests/e2e/sfu_media.test.mjs: media through onair-sfu with headless Chromium on both ends.
// One publisher page sends the fake camera (1280x720, 30 fps) and microphone; subscriber pages
// receive through the SFU. Assertions come from the pages' getStats (polled with a deadline)
// and from the SFU's RPC events and stats. The SFU fans out on two helper threads from the
// second subscriber on (--fanout-min 2), so real browsers play through the threaded send path
// as a big room's viewers do. Runs inside `unshare -n` with lo up.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu, decoded, audioFlowing } from './harness.mjs';

const ROOM = 'media-room';

describe('one publisher, three subscribers through the SFU', () => {
  let sfu, rpc, env, pub, link;
  const subs = []; // {page, id, link}

  before(async () => {
    sfu = await startSfu({ id: 'e2e-media', args: ['--stats-ms', '500', '--fanout-threads', '2', '--fanout-min', '2'] });
    ({ rpc } = await RpcClient.open(sfu.rpcPath));
    env = await openEnv();
    pub = await env.page('publisher');
    const st = await pub.call('start', { width: 1280, height: 720, fps: 30 });
    assert.equal(st.video.width, 1280);
    link = await publishToSfu(rpc, pub, { room: ROOM, peer: 'pub' });
    await pub.waitStats('pub', (s) => s.connectionState === 'connected' && s.out_video && s.out_video.framesEncoded > 0, { what: 'publisher connected and sending' });
  });

  after(async () => {
    if (env) await env.close();
    if (rpc) await rpc.close().catch(() => {});
    if (sfu) assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000));
  });

  test('the publisher connects: peer.state connected, SFU stats count its packets', async () => {
    const ev = await rpc.waitEvent('peer.state', (d) => d.peer === 'pub' && d.state === 'connected');
    assert.equal(ev.room, ROOM);
    assert.equal(ev.role, 'publisher');
    const ps = await pub.stats('pub');
    assert.equal(ps.transport.dtlsState, 'connected');
    assert.equal(ps.out_video.frameWidth, 1280);
    const answerVideo = link.answer.split('\nm=video')[1];
    assert.ok(answerVideo, 'the answer has a video section');
    assert.ok(/a=recvonly/.test(answerVideo), 'the SFU answers video recvonly');
    const st = await rpc.call('stats', { room: ROOM });
    const room = st.rooms.find((r) => r.room === ROOM);
    assert.equal(room.publisher, 'pub');
    const peer = st.peers.find((p) => p.peer === 'pub');
    assert.ok(peer, JSON.stringify(st.peers));
    assert.equal(peer.role, 'publisher');
    assert.equal(peer.room, ROOM);
  });

  test('three subscribers each decode >= 60 frames at 1280x720 and receive audio', async () => {
    for (const id of ['sub1', 'sub2', 'sub3']) {
      const page = await env.page('subscriber');
      const l = await subscribeFromSfu(rpc, page, { room: ROOM, peer: id });
      assert.ok(/a=sendonly/.test(l.offer), 'the SFU offers sendonly');
      subs.push({ page, id, link: l });
    }
    for (const s of subs) {
      const st = await s.page.waitStats(s.id, (x) => decoded(60)(x) && audioFlowing(x), { timeoutMs: 20000, what: '60 frames at 1280x720 and audio' });
      assert.equal(st.transport.dtlsState, 'connected');
      assert.match(st.in_video.codec, /VP8/i);
      assert.match(st.in_audio.codec, /opus/i);
      assert.ok(/127\.0\.0\.1/.test(st.pair.remote), `selected pair ${JSON.stringify(st.pair)}`);
    }
    for (const s of subs) {
      await rpc.waitEvent('peer.state', (d) => d.peer === s.id && d.state === 'connected');
      assert.deepEqual(s.link.errors, []);
    }
    assert.deepEqual(link.errors, []);
    const st = await rpc.call('stats', { room: ROOM });
    const room = st.rooms.find((r) => r.room === ROOM);
    assert.equal(Array.isArray(room.subscribers) ? room.subscribers.length : room.subscribers, 3, JSON.stringify(room));
    assert.ok(room.packets_in > 0, JSON.stringify(room));
    for (const s of subs) {
      const p = st.peers.find((x) => x.peer === s.id);
      assert.ok(p && p.role === 'subscriber' && p.packets_out > 0 && p.bytes_out > 0, JSON.stringify(p));
    }
    // The periodic stats event reports the flow as rates (--stats-ms 500).
    const ev = await rpc.waitEvent('stats', (d) => {
      const r = d.rooms.find((x) => x.room === ROOM);
      return r && r.bitrate_in > 0 && d.load.bitrate_out > 0;
    }, { from: rpc.messages.length, timeoutMs: 5000 });
    const r = ev.rooms.find((x) => x.room === ROOM);
    // Roughly 1 Mbps of 720p VP8 + Opus in, three times that out: both well above 100 kbps.
    assert.ok(r.bitrate_in > 100000 && ev.load.bitrate_out > 2 * 100000, `bitrate_in ${r.bitrate_in}, bitrate_out ${ev.load.bitrate_out}`);
    assert.equal(ev.load.peers, 4);
  });

  test('a subscriber joining 5 s later decodes its first frame within 1 s of ICE connected', async (t) => {
    // "5 s later": once sub1 has decoded 150 frames (5 s at 30 fps) since it joined.
    await subs[0].page.waitStats('sub1', (x) => x.in_video && x.in_video.framesDecoded >= 150, { timeoutMs: 20000, what: '150 frames on sub1' });
    const page = await env.page('subscriber');
    const l = await subscribeFromSfu(rpc, page, { room: ROOM, peer: 'late' });
    const st = await page.waitStats('late', (x) => x.firstFrame && x.times.ice_connected && decoded(1)(x), { timeoutMs: 10000, what: 'first frame' });
    const dt = st.firstFrame.at - st.times.ice_connected;
    t.diagnostic(`first frame ${dt.toFixed(0)} ms after ICE connected`);
    assert.ok(dt <= 1000, `first frame ${dt.toFixed(0)} ms after ICE connected (times ${JSON.stringify(st.times)}, first ${JSON.stringify(st.firstFrame)})`);
    assert.equal(st.firstFrame.width, 1280);
    assert.deepEqual(l.errors, []);
    subs.push({ page, id: 'late', link: l });
  });

  test('closing one subscriber leaves the others playing', async () => {
    const gone = subs.splice(1, 1)[0]; // sub2
    assert.deepEqual(await rpc.call('peer.close', { peer: gone.id }), {});
    await gone.page.close();
    assert.equal((await rpc.request('peer.close', { peer: gone.id })).error.code, 'not_found');
    const base = {};
    for (const s of subs) base[s.id] = (await s.page.stats(s.id)).in_video.framesDecoded;
    for (const s of subs) {
      await s.page.waitStats(s.id, (x) => x.in_video.framesDecoded >= base[s.id] + 60 && x.connectionState === 'connected', { timeoutMs: 10000, what: `60 more frames on ${s.id}` });
    }
    const st = await rpc.call('stats', { room: ROOM });
    assert.ok(!st.peers.some((p) => p.peer === gone.id), JSON.stringify(st.peers));
  });

  test('the publisher leaving closes every subscriber with peer.state closed (publisher-left)', async () => {
    const from = rpc.messages.length;
    assert.deepEqual(await rpc.call('peer.close', { peer: 'pub' }), {});
    for (const s of subs) {
      const ev = await rpc.waitEvent('peer.state', (d) => d.peer === s.id && (d.state === 'closed' || d.state === 'failed'), { from, timeoutMs: 5000 });
      assert.equal(ev.room, ROOM);
      assert.equal(ev.role, 'subscriber');
      assert.equal(ev.state, 'closed');
      assert.equal(ev.reason, 'publisher-left');
    }
    const st = await rpc.call('stats', {});
    assert.ok(!st.peers.some((p) => p.room === ROOM), JSON.stringify(st.peers));
    assert.equal((await rpc.request('subscriber.create', { room: ROOM, peer: 'after' })).error.code, 'not_found');
  });
});
