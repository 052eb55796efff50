// tests/e2e/sfu_grace.test.mjs: the controller (signal) connection drops while media flows.
// Within --grace-ms the peers keep playing and a new hello resumes them; after it the SFU
// closes every peer and room. Runs inside `unshare -n` with lo up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, startSfu } from '../lib/rpc.mjs';
import { openEnv, publishToSfu, subscribeFromSfu, decoded } from './harness.mjs';

test('controller loss: media goes on during the grace period, resume, then expiry closes the peers', { timeout: 90000 }, async (t) => {
  const sfu = await startSfu({ id: 'e2e-grace', args: ['--grace-ms', '3000', '--stats-ms', '500'] });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const env = await openEnv();
  t.after(() => env.close());
  let { rpc } = await RpcClient.open(sfu.rpcPath);

  const pub = await env.page('publisher');
  await pub.call('start', { width: 1280, height: 720, fps: 30 });
  await publishToSfu(rpc, pub, { room: 'g1', peer: 'pub' });
  const sub = await env.page('subscriber');
  await subscribeFromSfu(rpc, sub, { room: 'g1', peer: 'sub' });
  let s = await sub.waitStats('sub', decoded(30), { what: '30 frames' });

  // The controller vanishes: media must not stop.
  await rpc.destroy();
  s = await sub.waitStats('sub', (x) => x.in_video.framesDecoded >= s.in_video.framesDecoded + 30, { what: '30 frames without a controller' });

  // A new controller within the grace period gets the room back, with its peers.
  const re = await RpcClient.reopen(sfu.rpcPath);
  rpc = re.rpc;
  assert.deepEqual(re.hello.resumed, ['g1']);
  const st = await rpc.call('stats', {});
  assert.deepEqual(st.peers.map((p) => p.peer).sort(), ['pub', 'sub']);
  // Events flow to the new controller.
  await rpc.waitEvent('stats', () => true, { timeoutMs: 3000 });
  s = await sub.waitStats('sub', (x) => x.in_video.framesDecoded >= s.in_video.framesDecoded + 30, { what: '30 frames after resume' });

  // Lost again, and this time nobody comes back: after 3 s the SFU closes the peers, which the
  // browsers see (DTLS close_notify, or ICE consent failing).
  await rpc.destroy();
  await sub.waitStats('sub', (x) => ['closed', 'failed', 'disconnected'].includes(x.connectionState) || x.transport?.dtlsState === 'closed',
    { timeoutMs: 30000, what: 'the subscriber connection ending after the grace period' });
  const after = await RpcClient.reopen(sfu.rpcPath);
  rpc = after.rpc;
  assert.deepEqual(after.hello.resumed, []);
  const st2 = await rpc.call('stats', {});
  assert.deepEqual(st2.peers, []);
  assert.ok(!st2.rooms.some((r) => r.room === 'g1'), JSON.stringify(st2.rooms));
  await rpc.close();
});
