// tests/e2e/multi_controllers.test.mjs: one onair-sfu driven by two controllers (two signal
// nodes, docs/RPC.md "Controllers") with real media: each controller gets the events of its own
// peers only and every controller gets stats; a controller that drops leaves the other's peers
// alone (during its grace period and after it); a hello with the same node id resumes; room.close
// by one controller tells the owner of every peer. Runs inside `unshare -n` with lo up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu, decoded } from './harness.mjs';

// Peer ids named in the events (peer.state, peer.candidate) a controller received from `from`.
function eventPeers(rpc, from = 0) {
  const s = new Set();
  for (const m of rpc.messages.slice(from)) {
    if (m && (m.event === 'peer.state' || m.event === 'peer.candidate') && m.data) s.add(m.data.peer);
  }
  return [...s].sort();
}

const more = (s, n) => (x) => x.in_video && x.in_video.framesDecoded >= s.in_video.framesDecoded + n;

test('two controllers on one SFU: own events, independent grace, resume by node id, room-level closes to each owner', { timeout: 150000 }, async (t) => {
  const sfu = await startSfu({ id: 'e2e-multi', args: ['--grace-ms', '3000', '--stats-ms', '500'] });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const env = await openEnv();
  t.after(() => env.close());
  let { rpc: a } = await RpcClient.open(sfu.rpcPath, { node: 'node-a' });
  let { rpc: b } = await RpcClient.open(sfu.rpcPath, { node: 'node-b' });

  const pub = await env.page('publisher');
  await pub.call('start', { width: 1280, height: 720, fps: 30 });
  const sub = await env.page('subscriber');

  // node-a publishes and has one subscriber; node-b has the other
  await publishToSfu(a, pub, { room: 'm1', peer: 'pub-1' });
  await subscribeFromSfu(b, sub, { room: 'm1', peer: 'sub-b1' });
  await subscribeFromSfu(a, sub, { room: 'm1', peer: 'sub-a1' });
  let sb = await sub.waitStats('sub-b1', decoded(30), { what: 'sub-b1 decodes' });
  let sa = await sub.waitStats('sub-a1', decoded(30), { what: 'sub-a1 decodes' });
  await a.waitEvent('peer.state', (d) => d.peer === 'pub-1' && d.state === 'connected');
  await a.waitEvent('peer.state', (d) => d.peer === 'sub-a1' && d.state === 'connected');
  await b.waitEvent('peer.state', (d) => d.peer === 'sub-b1' && d.state === 'connected');
  assert.deepEqual(eventPeers(a), ['pub-1', 'sub-a1']);
  assert.deepEqual(eventPeers(b), ['sub-b1']);
  // stats events go to both and count every peer of the SFU (the event leaves the per-peer
  // list out); the stats method lists them all to either controller
  for (const r of [a, b]) {
    const st = await r.waitEvent('stats', (d) => d.load.peers === 3);
    assert.equal(st.peers, undefined);
    const full = await r.call('stats', {});
    assert.deepEqual(full.peers.map((p) => p.peer).sort(), ['pub-1', 'sub-a1', 'sub-b1']);
  }

  // node-b drops: every peer keeps playing, node-a hears nothing of node-b's peer
  await b.destroy();
  sb = await sub.waitStats('sub-b1', more(sb, 30), { what: 'sub-b1 plays on without its controller' });
  sa = await sub.waitStats('sub-a1', more(sa, 30), { what: 'sub-a1 plays on' });
  // node-b comes back in time: its room is resumed, its events flow to it again
  ({ rpc: b } = await RpcClient.reopen(sfu.rpcPath, { node: 'node-b' }).then((r) => { assert.deepEqual(r.hello.resumed, ['m1']); return r; }));
  await b.waitEvent('stats', () => true);

  // node-a drops and comes back within the grace period, too
  await a.destroy();
  sb = await sub.waitStats('sub-b1', more(sb, 30), { what: 'sub-b1 plays on while node-a is away' });
  const re = await RpcClient.reopen(sfu.rpcPath, { node: 'node-a' });
  a = re.rpc;
  assert.deepEqual(re.hello.resumed, ['m1']);
  assert.ok(!eventPeers(a).includes('sub-b1'));

  // room.close by node-a: each owner hears of its own peers
  const fromB = b.messages.length;
  await a.call('room.close', { room: 'm1' });
  await b.waitEvent('peer.state', (d) => d.peer === 'sub-b1' && d.state === 'closed' && d.reason === 'room-closed', { from: fromB });
  await a.waitEvent('peer.state', (d) => d.peer === 'sub-a1' && d.state === 'closed' && d.reason === 'room-closed');
  await a.waitEvent('peer.state', (d) => d.peer === 'pub-1' && d.state === 'closed' && d.reason === 'room-closed');
  assert.deepEqual(eventPeers(a), ['pub-1', 'sub-a1']);
  assert.deepEqual(eventPeers(b, fromB), ['sub-b1']);

  // a second round: node-b drops for good; after its grace period only its peer is closed
  await publishToSfu(a, pub, { room: 'm2', peer: 'pub-2' });
  await subscribeFromSfu(b, sub, { room: 'm2', peer: 'sub-b2' });
  await subscribeFromSfu(a, sub, { room: 'm2', peer: 'sub-a2' });
  await sub.waitStats('sub-b2', decoded(30), { what: 'sub-b2 decodes' });
  sa = await sub.waitStats('sub-a2', decoded(30), { what: 'sub-a2 decodes' });
  const fromA2 = a.messages.length;
  await b.destroy();
  await sfu.waitLog((j) => /grace period: its rooms and peers closed/.test(j.msg) && j.node === 'node-b', { timeoutMs: 15000 });
  await sub.waitStats('sub-b2', (x) => ['closed', 'failed', 'disconnected'].includes(x.connectionState) || x.transport?.dtlsState === 'closed',
    { timeoutMs: 30000, what: 'sub-b2 ends after node-b\'s grace period' });
  sa = await sub.waitStats('sub-a2', more(sa, 30), { what: 'sub-a2 plays on' });
  const st = await a.call('stats', {});
  assert.deepEqual(st.peers.map((p) => p.peer).sort(), ['pub-2', 'sub-a2']);
  assert.ok(!eventPeers(a, fromA2).includes('sub-b2'), 'node-a got no event of node-b\'s peer');
  await a.call('room.close', { room: 'm2' });
  await a.close();
});
