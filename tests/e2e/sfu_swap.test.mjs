// tests/e2e/sfu_swap.test.mjs: a room's publisher replaced by a new one (new peer id) keeps its
// subscribers when the codecs match: the SAME subscriber RTCPeerConnections, without a new
// offer, decode the new publisher's frames (its SSRCs, payload types and numbering rewritten to
// what each subscriber negotiated). With other codecs (VP8 -> H.264 only) the subscribers are
// closed with publisher-left as before. Runs inside `unshare -n` with lo up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu, decoded, audioFlowing } from './harness.mjs';

const states = (rpc, from, peer) => rpc.messages.slice(from)
  .filter((m) => m.event === 'peer.state' && m.data.peer === peer).map((m) => `${m.data.state}:${m.data.reason || ''}`);

test('publisher swap: compatible codecs keep the subscribers, other codecs close them', { timeout: 150000 }, async (t) => {
  const sfu = await startSfu({ id: 'e2e-swap' });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());

  await t.test('A (1280x720) leaves, B (640x360, new peer id) takes over: same subscriber pcs decode B', async () => {
    const pubA = await env.page('publisher');
    await pubA.call('start', { width: 1280, height: 720, fps: 30 });
    const la = await publishToSfu(rpc, pubA, { room: 'swap', peer: 'pA' });
    await rpc.waitEvent('peer.state', (d) => d.peer === 'pA' && d.state === 'connected', { timeoutMs: 10000 });
    const subs = [];
    for (const id of ['s1', 's2']) {
      const page = await env.page('subscriber');
      const l = await subscribeFromSfu(rpc, page, { room: 'swap', peer: id });
      subs.push({ id, page, l });
    }
    for (const s of subs) await s.page.waitStats(s.id, (x) => decoded(30, 1280, 720)(x) && audioFlowing(x), { timeoutMs: 20000, what: '30 frames of A' });

    // B is ready to offer before A goes, so it offers within the SFU's wait for a new publisher.
    // (The fake camera is shared by the pages: a second page can only scale it down.)
    const pubB = await env.page('publisher');
    await pubB.call('start', { width: 640, height: 360, fps: 30 });
    const from = rpc.messages.length;
    la.stop();
    await pubA.call('close', 'pA'); // DTLS close_notify: the SFU sees A leave
    const gone = await rpc.waitEvent('peer.state', (d) => d.peer === 'pA' && d.state === 'closed', { from, timeoutMs: 10000 });
    assert.equal(gone.reason, 'remote-closed');
    const before = {};
    for (const s of subs) before[s.id] = (await s.page.stats(s.id));
    const lb = await publishToSfu(rpc, pubB, { room: 'swap', peer: 'pB' });
    await rpc.waitEvent('peer.state', (d) => d.peer === 'pB' && d.state === 'connected', { from, timeoutMs: 10000 });
    for (const s of subs) {
      const b = before[s.id];
      const st = await s.page.waitStats(s.id, (x) => decoded(b.in_video.framesDecoded + 60, 640, 360)(x) &&
        x.in_audio.packetsReceived > b.in_audio.packetsReceived + 50, { timeoutMs: 20000, what: '60 more frames at 640x360 (B) and audio' });
      assert.equal(st.connectionState, 'connected');
      assert.equal(st.in_video.ssrc, b.in_video.ssrc, 'the subscriber keeps its negotiated SSRC');
      assert.deepEqual(s.l.errors, []);
      assert.deepEqual(states(rpc, from, s.id), [], `${s.id} got no peer.state event`);
    }
    const st = await rpc.call('stats', { room: 'swap' });
    assert.equal(st.rooms[0].publisher, 'pB');
    assert.equal(st.rooms[0].subscribers, 2);
    assert.deepEqual(la.errors, []);
    assert.deepEqual(lb.errors, []);

    // B replaced at once by C (new peer id, B still there): the subscribers follow again.
    const pubC = await env.page('publisher');
    await pubC.call('start', { width: 1280, height: 720, fps: 30 });
    const from2 = rpc.messages.length;
    const lc = await publishToSfu(rpc, pubC, { room: 'swap', peer: 'pC' });
    const rep = await rpc.waitEvent('peer.state', (d) => d.peer === 'pB' && d.state === 'closed', { from: from2, timeoutMs: 10000 });
    assert.equal(rep.reason, 'replaced');
    lb.stop();
    for (const s of subs) {
      const n = (await s.page.stats(s.id)).in_video.framesDecoded;
      await s.page.waitStats(s.id, decoded(n + 60, 1280, 720), { timeoutMs: 20000, what: '60 more frames at 1280x720 (C)' });
      assert.deepEqual(states(rpc, from2, s.id), []);
    }
    assert.deepEqual(lc.errors, []);
    lc.stop();
    for (const p of [pubA, pubB, pubC]) await p.close();
    for (const s of subs) { s.l.stop(); await s.page.close(); }
  });

  await t.test('VP8 publisher replaced by an H.264-only one: subscribers closed with publisher-left', async () => {
    const pubV = await env.page('publisher');
    await pubV.call('start', { width: 640, height: 360, fps: 30 });
    const lv = await publishToSfu(rpc, pubV, { room: 'swap-x', peer: 'pV', codec: 'VP8' });
    await rpc.waitEvent('peer.state', (d) => d.peer === 'pV' && d.state === 'connected', { timeoutMs: 10000 });
    const page = await env.page('subscriber');
    const ls = await subscribeFromSfu(rpc, page, { room: 'swap-x', peer: 'sx' });
    await page.waitStats('sx', decoded(30, 640, 360), { timeoutMs: 20000, what: '30 VP8 frames' });
    const pubH = await env.page('publisher');
    await pubH.call('start', { width: 640, height: 360, fps: 30 });
    const from = rpc.messages.length;
    const lh = await publishToSfu(rpc, pubH, { room: 'swap-x', peer: 'pH', codec: 'H264' });
    assert.match(lh.answer, /a=rtpmap:\d+ H264\//);
    assert.doesNotMatch(lh.answer.split('m=video')[1], /VP8/);
    const ev = await rpc.waitEvent('peer.state', (d) => d.peer === 'sx' && d.state === 'closed', { from, timeoutMs: 10000 });
    assert.equal(ev.reason, 'publisher-left');
    // A new subscriber gets H.264.
    const page2 = await env.page('subscriber');
    await subscribeFromSfu(rpc, page2, { room: 'swap-x', peer: 'sy' });
    const st = await page2.waitStats('sy', decoded(30, 640, 360), { timeoutMs: 20000, what: '30 H.264 frames' });
    assert.match(st.in_video.codec, /H264/i);
    lv.stop(); lh.stop(); ls.stop();
  });
});
