// tests/e2e/sfu_swap_pc.test.mjs: a publisher that rebuilds its RTCPeerConnection (new DTLS
// fingerprint) and offers again with the SAME peer id: the SFU replaces the peer's transport
// (new ICE and DTLS) instead of refusing the changed fingerprint, keeps the room, and media
// flows again. Runs inside `unshare -n` with lo up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, subscribeFromSfu, decoded } from './harness.mjs';

const ROOM = 'swap-pc';
const fingerprint = (sdp) => (sdp.match(/a=fingerprint:\S+ (\S+)/) || [])[1];

// Publishes page pc `pcId` as SFU peer `peer` (the harness's publishToSfu uses one id for both).
async function publishAs(rpc, page, pcId, peer, size) {
  const errors = [];
  const onEv = (d) => {
    if (d && d.peer === peer) page.call('candidate', pcId, d.candidate).catch((e) => { if (!page.closed) errors.push(e.message); });
  };
  const offer = await page.call('offer', pcId, {});
  const resP = rpc.call('publisher.offer', { room: ROOM, peer, sdp: offer }, { timeoutMs: 10000 });
  page.routeCandidates(pcId, (c) => rpc.request('peer.candidate', { peer, candidate: c }).then((r) => {
    if (r.error) errors.push(`peer.candidate -> ${JSON.stringify(r.error)}`);
  }));
  const res = await resP;
  await page.call('answer', pcId, res.sdp);
  rpc.on('peer.candidate', onEv);
  return { offer, answer: res.sdp, errors, size, stop: () => rpc.off('peer.candidate', onEv) };
}

test('a publisher rebuilding its RTCPeerConnection with the same peer id replaces the transport', { timeout: 120000 }, async (t) => {
  const sfu = await startSfu({ id: 'e2e-swap-pc' });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.close().catch(() => {}));
  const env = await openEnv();
  t.after(() => env.close());

  const pub = await env.page('publisher');
  await pub.call('start', { width: 640, height: 360, fps: 30 });
  const l1 = await publishAs(rpc, pub, 'pc1', 'pub', 360);
  await pub.waitStats('pc1', (s) => s.connectionState === 'connected', { what: 'first pc connected' });
  const sub = await env.page('subscriber');
  await subscribeFromSfu(rpc, sub, { room: ROOM, peer: 'sub1' });
  await sub.waitStats('sub1', decoded(30, 640, 360), { timeoutMs: 20000, what: '30 frames before the swap' });

  // A second pc on the same page while the first one still runs: the SFU still has the peer.
  const from = rpc.messages.length;
  const l2 = await publishAs(rpc, pub, 'pc2', 'pub', 360);
  assert.notEqual(fingerprint(l2.offer), fingerprint(l1.offer), 'a new pc has a new certificate');
  l1.stop();
  await pub.call('close', 'pc1');
  await pub.waitStats('pc2', (s) => s.connectionState === 'connected' && s.out_video && s.out_video.packetsSent > 0, { timeoutMs: 15000, what: 'second pc connected' });
  await rpc.waitEvent('peer.state', (d) => d.peer === 'pub' && d.state === 'connected', { from, timeoutMs: 10000 });
  const evs = rpc.messages.slice(from).filter((m) => m.event === 'peer.state' && m.data.peer === 'pub').map((m) => m.data.state);
  assert.ok(!evs.includes('closed') && !evs.includes('failed'), `publisher states after the swap: ${evs}`);
  const st = await rpc.call('stats', { room: ROOM });
  assert.equal(st.rooms[0].publisher, 'pub');

  // The subscriber of the old connection is kept and decodes the new one (same pc, no offer).
  const n1 = (await sub.stats('sub1')).in_video.framesDecoded;
  await sub.waitStats('sub1', decoded(n1 + 60, 640, 360), { timeoutMs: 20000, what: 'sub1: 60 more frames from the new pc' });
  const subEvs = rpc.messages.slice(from).filter((m) => m.event === 'peer.state' && m.data.peer === 'sub1');
  assert.deepEqual(subEvs, [], 'sub1 kept without events');

  // Media of the new connection reaches a new subscriber.
  const sub2 = await env.page('subscriber');
  await subscribeFromSfu(rpc, sub2, { room: ROOM, peer: 'sub2' });
  await sub2.waitStats('sub2', decoded(30, 640, 360), { timeoutMs: 20000, what: '30 frames from the new pc' });

  // The same again with the old pc closed first (its close_notify may or may not arrive first).
  l2.stop();
  await pub.call('close', 'pc2');
  const l3 = await publishAs(rpc, pub, 'pc3', 'pub', 360);
  await pub.waitStats('pc3', (s) => s.connectionState === 'connected', { timeoutMs: 15000, what: 'third pc connected' });
  const base = (await sub2.stats('sub2')).in_video;
  const sub3 = await env.page('subscriber');
  await subscribeFromSfu(rpc, sub3, { room: ROOM, peer: 'sub3' });
  await sub3.waitStats('sub3', decoded(30, 640, 360), { timeoutMs: 20000, what: '30 frames from the third pc' });
  assert.ok(base, 'sub2 had video');
  for (const l of [l1, l2, l3]) assert.deepEqual(l.errors, []);
  l3.stop();
});
