// tests/e2e/sfu_lifecycle.test.mjs: peer lifecycle over the SFU RPC with real browser peers:
// peer.state events, conflicts, candidates the SFU must ignore, ICE restart, drain, room.close,
// a second publisher replacing the first, and a publisher whose browser just goes away.
// Runs inside `unshare -n` with lo up.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu, decoded } from './harness.mjs';

const code = (r) => (r.error ? r.error.code : `ok ${JSON.stringify(r.result)}`);
const ufrag = (sdp) => (sdp.match(/a=ice-ufrag:(\S+)/) || [])[1];

describe('peer lifecycle', () => {
  let sfu, rpc, env, pub, sub;

  before(async () => {
    sfu = await startSfu({ id: 'e2e-life' });
    ({ rpc } = await RpcClient.open(sfu.rpcPath));
    env = await openEnv();
    pub = await env.page('publisher');
    await pub.call('start', { width: 1280, height: 720, fps: 30 });
    sub = await env.page('subscriber');
  });

  after(async () => {
    if (env) await env.close();
    if (rpc) await rpc.close().catch(() => {});
    if (sfu) assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000));
  });

  test('an offer with only unknown codecs -> invalid_params; no peer is left behind', async () => {
    const offer = await pub.call('offer', 'tmp-unknown', {});
    await pub.call('close', 'tmp-unknown');
    const munged = offer.replace(/a=rtpmap:(\d+) [^/\r\n]+\//g, 'a=rtpmap:$1 X-UNKNOWN-$1/');
    const r = await rpc.request('publisher.offer', { room: 'life-x', peer: 'px', sdp: munged });
    assert.equal(code(r), 'invalid_params');
    const st = await rpc.call('stats', {});
    assert.ok(!st.peers.some((p) => p.peer === 'px'), JSON.stringify(st.peers));
  });

  test('publisher and subscriber: connecting -> connected, stats, conflicts, ignored candidates', async () => {
    const from = rpc.messages.length;
    const pl = await publishToSfu(rpc, pub, { room: 'life-1', peer: 'p-a' });
    const pc = await rpc.waitEvent('peer.state', (d) => d.peer === 'p-a' && d.state === 'connected', { from, timeoutMs: 10000 });
    assert.deepEqual([pc.room, pc.role], ['life-1', 'publisher']);
    const pStates = rpc.messages.slice(from).filter((m) => m.event === 'peer.state' && m.data.peer === 'p-a').map((m) => m.data.state);
    assert.ok(!pStates.includes('failed') && !pStates.includes('closed'), pStates.join(','));
    assert.ok(pStates.indexOf('connecting') <= pStates.indexOf('connected'), pStates.join(','));

    const sl = await subscribeFromSfu(rpc, sub, { room: 'life-1', peer: 's-a' });
    await sub.waitStats('s-a', decoded(30), { what: '30 frames' });
    await rpc.waitEvent('peer.state', (d) => d.peer === 's-a' && d.state === 'connected', { from });
    assert.deepEqual(pl.errors, []);
    assert.deepEqual(sl.errors, []);
    // The SFU sent its own candidates (trickle) and an end-of-candidates.
    const sfuCands = rpc.messages.slice(from).filter((m) => m.event === 'peer.candidate' && m.data.peer === 's-a');
    assert.ok(sfuCands.some((m) => m.data.candidate && /127\.0\.0\.1/.test(m.data.candidate.candidate)), JSON.stringify(sfuCands));
    const cand = sfuCands.find((m) => m.data.candidate);
    if (cand) {
      assert.equal(typeof cand.data.candidate.sdpMid, 'string');
      assert.equal(typeof cand.data.candidate.sdpMLineIndex, 'number');
    }
    assert.ok(sfuCands.some((m) => m.data.candidate === null), 'end-of-candidates event');

    // Candidates the SFU must accept and ignore.
    const mdns = { candidate: 'candidate:1 1 udp 2122260223 3f1d5e2a-8f2b-4c8e-9d41-0c1f8a7b6e55.local 54321 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0 };
    assert.deepEqual(await rpc.call('peer.candidate', { peer: 's-a', candidate: mdns }), {});
    assert.deepEqual(await rpc.call('peer.candidate', { peer: 's-a', candidate: null }), {});
    const tcp = { candidate: 'candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0', sdpMid: '0', sdpMLineIndex: 0 };
    assert.deepEqual(await rpc.call('peer.candidate', { peer: 's-a', candidate: tcp }), {});
    // Malformed candidates are invalid_params.
    assert.equal(code(await rpc.request('peer.candidate', { peer: 's-a', candidate: 'candidate:1' })), 'invalid_params');
    assert.equal(code(await rpc.request('peer.candidate', { peer: 's-a', candidate: { candidate: 'garbage', sdpMid: '0', sdpMLineIndex: 0 } })), 'invalid_params');
    assert.equal(code(await rpc.request('peer.candidate', { peer: 's-a' })), 'invalid_params');

    // Ids in use with another role or room.
    assert.equal(code(await rpc.request('subscriber.create', { room: 'life-1', peer: 'p-a' })), 'conflict');
    const other = await pub.call('offer', 'tmp-conflict', {});
    await pub.call('close', 'tmp-conflict');
    assert.equal(code(await rpc.request('publisher.offer', { room: 'life-2', peer: 's-a', sdp: other })), 'conflict');
    assert.equal(code(await rpc.request('publisher.offer', { room: 'life-2', peer: 'p-a', sdp: other })), 'conflict');
    // The id is in use in another room: conflict, even though room life-2 does not exist.
    assert.equal(code(await rpc.request('subscriber.create', { room: 'life-2', peer: 's-a' })), 'conflict');

    const st = await rpc.call('stats', {});
    const sp = st.peers.find((p) => p.peer === 's-a');
    const pp = st.peers.find((p) => p.peer === 'p-a');
    assert.ok(sp && pp, JSON.stringify(st.peers));
    assert.deepEqual([pp.role, pp.room, pp.state], ['publisher', 'life-1', 'connected']);
    assert.deepEqual([sp.role, sp.room, sp.state], ['subscriber', 'life-1', 'connected']);
    assert.ok(pp.packets_in > 0 && pp.bytes_in > 0, JSON.stringify(pp));
    assert.ok(sp.packets_out > 0 && sp.bytes_out > 0, JSON.stringify(sp));
    assert.ok(st.load.peers >= 2, JSON.stringify(st.load));
  });

  test('peer.restart_ice on a subscriber: new credentials, media keeps flowing', async () => {
    const before = await sub.stats('s-a');
    const r = await rpc.call('peer.restart_ice', { peer: 's-a' });
    assert.equal(typeof r.sdp, 'string');
    const oldOffer = await sub.page.evaluate(() => window.onairPeers.get('s-a').pc.remoteDescription.sdp);
    assert.notEqual(ufrag(r.sdp), ufrag(oldOffer), 'a new ice-ufrag');
    const answer = await sub.call('reoffer', 's-a', r.sdp);
    assert.deepEqual(await rpc.call('subscriber.answer', { peer: 's-a', sdp: answer }), {});
    await sub.waitStats('s-a', (x) => x.in_video.framesDecoded >= before.in_video.framesDecoded + 60 && x.connectionState === 'connected', { timeoutMs: 15000, what: '60 more frames after the ICE restart' });
  });

  test('publisher ICE restart: peer.restart_ice {}, then the same peer id offers again', async () => {
    assert.deepEqual(await rpc.call('peer.restart_ice', { peer: 'p-a' }), {});
    const before = await sub.stats('s-a');
    const offer = await pub.call('restartIce', 'p-a');
    const r = await rpc.call('publisher.offer', { room: 'life-1', peer: 'p-a', sdp: offer });
    await pub.call('answer', 'p-a', r.sdp);
    await pub.waitStats('p-a', (x) => x.connectionState === 'connected' && x.iceConnectionState !== 'checking', { what: 'publisher connected after restart' });
    await sub.waitStats('s-a', (x) => x.in_video.framesDecoded >= before.in_video.framesDecoded + 60, { timeoutMs: 15000, what: '60 more frames after the publisher ICE restart' });
    const st = await rpc.call('stats', { room: 'life-1' });
    assert.equal(st.rooms[0].publisher, 'p-a');
  });

  test('drain: no new rooms or subscribers; existing peers go on; off again', async () => {
    assert.deepEqual(await rpc.call('drain', { on: true }), { draining: true });
    const offer = await pub.call('offer', 'tmp-drain', {});
    assert.equal(code(await rpc.request('publisher.offer', { room: 'life-new', peer: 'p-new', sdp: offer })), 'draining');
    await pub.call('close', 'tmp-drain');
    assert.equal(code(await rpc.request('subscriber.create', { room: 'life-1', peer: 's-drain' })), 'draining');
    const base = (await sub.stats('s-a')).in_video.framesDecoded;
    await sub.waitStats('s-a', (x) => x.in_video.framesDecoded >= base + 30, { what: 'frames while draining' });
    assert.deepEqual(await rpc.call('drain', { on: false }), { draining: false });
    const r = await rpc.call('subscriber.create', { room: 'life-1', peer: 's-drain' });
    assert.equal(typeof r.sdp, 'string');
    assert.deepEqual(await rpc.call('peer.close', { peer: 's-drain' }), {});
  });

  test('bad subscriber answers -> invalid_params', async () => {
    const r = await rpc.call('subscriber.create', { room: 'life-1', peer: 's-bad' });
    assert.equal(code(await rpc.request('subscriber.answer', { peer: 's-bad', sdp: 'garbage' })), 'invalid_params');
    const answer = await sub.call('answerOffer', 's-bad', r.sdp);
    const noFp = answer.replace(/a=fingerprint:[^\r\n]*\r\n/g, '');
    assert.equal(code(await rpc.request('subscriber.answer', { peer: 's-bad', sdp: noFp })), 'invalid_params');
    const noIce = answer.replace(/a=ice-(ufrag|pwd):[^\r\n]*\r\n/g, '');
    assert.equal(code(await rpc.request('subscriber.answer', { peer: 's-bad', sdp: noIce })), 'invalid_params');
    assert.equal(code(await rpc.request('subscriber.answer', { peer: 'p-a', sdp: answer })), 'conflict'); // another role
    assert.deepEqual(await rpc.call('peer.close', { peer: 's-bad' }), {});
    await sub.call('close', 's-bad');
  });

  test('subscriber candidates that arrive before its answer are held and used', async () => {
    const sl = await subscribeFromSfu(rpc, sub, { room: 'life-1', peer: 's-early', candidatesFirst: true });
    await sub.waitStats('s-early', decoded(30), { what: '30 frames' });
    assert.deepEqual(sl.errors, []);
    assert.deepEqual(await rpc.call('peer.close', { peer: 's-early' }), {});
    await sub.call('close', 's-early');
  });

  test('room.close closes every peer of the room with peer.state closed', async () => {
    const from = rpc.messages.length;
    assert.deepEqual(await rpc.call('room.close', { room: 'life-1' }), {});
    for (const peer of ['p-a', 's-a']) {
      const ev = await rpc.waitEvent('peer.state', (d) => d.peer === peer && d.state === 'closed', { from });
      assert.equal(ev.room, 'life-1');
    }
    const st = await rpc.call('stats', {});
    assert.ok(!st.peers.some((p) => p.room === 'life-1'), JSON.stringify(st.peers));
    assert.ok(!st.rooms.some((r) => r.room === 'life-1'), JSON.stringify(st.rooms));
    assert.equal(code(await rpc.request('peer.close', { peer: 'p-a' })), 'not_found');
    await pub.call('close', 'p-a');
    await sub.call('close', 's-a');
  });

  test('a second publisher in a room replaces the first', async () => {
    await publishToSfu(rpc, pub, { room: 'life-3', peer: 'p-c1' });
    await rpc.waitEvent('peer.state', (d) => d.peer === 'p-c1' && d.state === 'connected', { timeoutMs: 10000 });
    const from = rpc.messages.length;
    await publishToSfu(rpc, pub, { room: 'life-3', peer: 'p-c2' });
    const ev = await rpc.waitEvent('peer.state', (d) => d.peer === 'p-c1' && d.state === 'closed', { from });
    assert.equal(ev.role, 'publisher');
    await pub.call('close', 'p-c1');
    await rpc.waitEvent('peer.state', (d) => d.peer === 'p-c2' && d.state === 'connected', { from, timeoutMs: 10000 });
    const sl = await subscribeFromSfu(rpc, sub, { room: 'life-3', peer: 's-c' });
    await sub.waitStats('s-c', decoded(30), { what: '30 frames from the second publisher' });
    assert.deepEqual(sl.errors, []);
    const st = await rpc.call('stats', { room: 'life-3' });
    assert.equal(st.rooms[0].publisher, 'p-c2');
  });

  test('a publisher whose browser goes away: the SFU notices and closes its subscribers', { timeout: 60000 }, async () => {
    const from = rpc.messages.length;
    await pub.call('close', 'p-c2'); // no RPC: only DTLS close_notify / consent freshness tell
    const pev = await rpc.waitEvent('peer.state', (d) => d.peer === 'p-c2' && (d.state === 'closed' || d.state === 'failed'), { from, timeoutMs: 45000 });
    assert.equal(pev.role, 'publisher');
    const sev = await rpc.waitEvent('peer.state', (d) => d.peer === 's-c' && d.state === 'closed', { from, timeoutMs: 5000 });
    assert.ok(['publisher-left', 'media-failed'].includes(sev.reason), JSON.stringify(sev));
    await sub.call('close', 's-c');
  });
});
