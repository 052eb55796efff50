// tests/integration/live_quota.test.mjs: the per-connection room quota (--max-rooms-per-connection),
// a bound on per-connection state that PROTOCOL.md leaves open: over it, join-stream and
// start-stream answer `conflict`; leaving a room frees a place; other connections are unaffected.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ackErr, ackOk, connectLive, mint, startLive, uid } from '../lib/live.mjs';

let node;
const sockets = [];
before(async () => {
  node = await startLive({ args: ['--max-rooms-per-connection', '2'] });
});
after(async () => {
  for (const s of sockets) s.close();
  await node.stop(); // asserts exit 0 (ASan: no leak)
});

test('a connection joins at most --max-rooms-per-connection rooms', async () => {
  const admin = await connectLive(node.url, { auth: { token: mint(node.secret, { sub: uid('a'), role: 'admin' }) } });
  const viewer = await connectLive(node.url, { auth: { token: mint(node.secret, { sub: uid('v') }) } });
  const other = await connectLive(node.url, { auth: { token: mint(node.secret, { sub: uid('o') }) } });
  sockets.push(admin, viewer, other);
  const rooms = [uid('q1'), uid('q2'), uid('q3')];
  await ackOk(admin, 'start-stream', { roomId: rooms[0] });
  await ackOk(admin, 'start-stream', { roomId: rooms[1] });
  await ackErr(admin, 'start-stream', { roomId: rooms[2] }, 'conflict', 'third room of one admin connection');
  await ackOk(admin, 'start-stream', { roomId: rooms[1] }, 'a room it has is not a new one');
  await ackOk(viewer, 'join-stream', { roomId: rooms[0] });
  await ackOk(viewer, 'join-stream', { roomId: rooms[1] });
  await ackOk(viewer, 'join-stream', { roomId: rooms[1] }, 'repeated join');
  await ackErr(viewer, 'join-stream', { roomId: rooms[2] + 'x' }, 'not_found', 'an unknown room: not_found comes before conflict');
  await ackOk(other, 'join-stream', { roomId: rooms[1] });
  await ackOk(admin, 'stop-stream', { roomId: rooms[1] });
  // a third existing room (started by another admin) is over the quota
  const admin2 = await connectLive(node.url, { auth: { token: mint(node.secret, { sub: uid('a2'), role: 'admin' }) } });
  sockets.push(admin2);
  await ackOk(admin2, 'start-stream', { roomId: rooms[2] });
  await ackErr(viewer, 'join-stream', { roomId: rooms[2] }, 'conflict', 'third room of one viewer connection');
  await ackOk(viewer, 'leave-stream', { roomId: rooms[0] });
  await ackOk(other, 'join-stream', { roomId: rooms[0] }, 'another connection is unaffected');
  await ackOk(viewer, 'join-stream', { roomId: rooms[0] }, 'a place freed by leave-stream');
});
