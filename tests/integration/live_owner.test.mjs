// tests/integration/live_owner.test.mjs: every connection of a room's owner is a member
// (PROTOCOL.md 5, 10) without join-stream: room events reach the owner's other connections,
// whether they connected before or after the start, on any node; a takeover moves them out.
// Memory (one node) and Redis (two nodes: the owner's first connection on A, the others on B).
// A connection's owner membership is asynchronous: the tests wait for the node's log line.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ackOk, assertNone, killAll, settle, startLive, startRedis, uid } from '../lib/live.mjs';

const ARGS = ['--publisher-grace', '300'];

function suite(backend) {
  const ctx = {};
  before(async () => {
    if (backend === 'redis') {
      ctx.redis = await startRedis();
      ctx.a = await startLive({ redis: ctx.redis.url, args: ARGS });
      ctx.b = await startLive({ redis: ctx.redis.url, args: ARGS, env: { JWT_SECRET: ctx.a.secret } });
    } else {
      ctx.a = ctx.b = await startLive({ args: ARGS });
    }
  });
  after(async () => {
    try {
      await ctx.a?.stop();
      if (ctx.b !== ctx.a) await ctx.b?.stop();
    } finally {
      await killAll();
      if (ctx.redis) await ctx.redis.stop();
    }
  });

  const joinedLog = (node, sock, roomId) =>
    node.waitLog((_l, j) => j?.msg === 'owner connection joined room' && j.sock === sock && j.room === roomId, 5000);
  const leftLog = (node, sock, roomId) =>
    node.waitLog((_l, j) => j?.msg === 'owner connection left room' && j.sock === sock && j.room === roomId, 5000);

  /** The owner's room events reach `second` (not joined): chat, viewer-count, media-state, stream-ended. */
  async function assertGetsEvents(owner, second, roomId) {
    const text = uid('hello');
    await ackOk(owner, 'chat-message', { roomId, text });
    const m = await second.next('chat-message', (p) => p.text === text);
    assert.equal(m.from.id, owner.sub);
    const v = await ctx.b.client({ role: 'viewer' });
    await ackOk(v, 'join-stream', { roomId });
    await second.next('viewer-count', (p) => p.roomId === roomId && p.count === 1);
    await second.next('viewer-joined', (p) => p.roomId === roomId && p.viewer.id === v.id);
    await ackOk(owner, 'media-state', { roomId, audio: false, video: true });
    assert.deepEqual(await second.next('media-state', (p) => p.roomId === roomId), { roomId, audio: false, video: true });
    // the second connection chats too, and gets its own message
    const t2 = uid('from-second');
    await ackOk(second, 'chat-message', { roomId, text: t2 });
    await second.next('chat-message', (p) => p.text === t2);
    await owner.next('chat-message', (p) => p.text === t2);
    await ackOk(owner, 'stop-stream', { roomId });
    assert.deepEqual(await second.next('stream-ended', (p) => p.roomId === roomId), { roomId, reason: 'stopped' });
    v.close();
  }

  test('a second connection of the owner, connected before the start, gets the room events', async () => {
    const roomId = uid('room');
    const sub = uid('owner');
    const owner = await ctx.a.client({ role: 'admin', sub });
    const second = await ctx.b.client({ role: 'admin', sub });
    await ackOk(owner, 'start-stream', { roomId });
    await joinedLog(ctx.b, second.id, roomId);
    await assertGetsEvents(owner, second, roomId);
    // on the same node as the start, stream-started reaches it too
    if (backend === 'memory') await second.next('stream-started', (p) => p.roomId === roomId);
    owner.close();
    second.close();
  });

  test('a connection of the owner that connects after the start gets the room events', async () => {
    const roomId = uid('room');
    const sub = uid('owner');
    const owner = await ctx.a.client({ role: 'admin', sub });
    await ackOk(owner, 'start-stream', { roomId });
    const late = await ctx.b.client({ role: 'admin', sub });
    await joinedLog(ctx.b, late.id, roomId);
    await assertGetsEvents(owner, late, roomId);
    // not live any more, still the owner's room: a connection made now is a member too
    const later = await ctx.b.client({ role: 'admin', sub });
    await joinedLog(ctx.b, later.id, roomId);
    const text = uid('still');
    await ackOk(owner, 'chat-message', { roomId, text });
    await later.next('chat-message', (p) => p.text === text);
    owner.close();
    late.close();
    later.close();
  });

  test('after a takeover, the old owner\'s other connections stop getting the events unless joined', async () => {
    const roomId = uid('room');
    const sub = uid('owner');
    const owner = await ctx.a.client({ role: 'admin', sub });
    const second = await ctx.b.client({ role: 'admin', sub });
    const joined = await ctx.b.client({ role: 'admin', sub });
    await ackOk(owner, 'start-stream', { roomId });
    await joinedLog(ctx.b, second.id, roomId);
    await joinedLog(ctx.b, joined.id, roomId);
    await ackOk(joined, 'join-stream', { roomId });
    await ackOk(owner, 'stop-stream', { roomId });
    await second.next('stream-ended', (p) => p.roomId === roomId);
    // another admin takes the room over; its own second connection becomes a member
    const other = await ctx.a.client({ role: 'admin' });
    const other2 = await ctx.b.client({ role: 'admin', sub: other.sub });
    await ackOk(other, 'start-stream', { roomId });
    await leftLog(ctx.b, second.id, roomId);
    await joinedLog(ctx.b, other2.id, roomId);
    const text = uid('after');
    await ackOk(other, 'chat-message', { roomId, text });
    await other2.next('chat-message', (p) => p.text === text);
    await joined.next('chat-message', (p) => p.text === text);
    await ackOk(other, 'media-state', { roomId, audio: true, video: true });
    await other2.next('media-state', (p) => p.roomId === roomId);
    await joined.next('media-state', (p) => p.roomId === roomId);
    await ackOk(other, 'stop-stream', { roomId });
    await other2.next('stream-ended', (p) => p.roomId === roomId);
    await joined.next('stream-ended', (p) => p.roomId === roomId);
    await settle(100);
    assertNone(second, 'chat-message', (p) => p.text === text, 'after the takeover');
    assertNone(second, 'media-state', (p) => p.roomId === roomId && p.audio === true);
    assert.equal(second.all('stream-ended', (p) => p.roomId === roomId).length, 1, 'only the first broadcast');
    // the joined one is an ordinary member: it leaves, and then gets nothing more
    await ackOk(joined, 'leave-stream', { roomId });
    const t3 = uid('gone');
    await ackOk(other, 'chat-message', { roomId, text: t3 });
    await other2.next('chat-message', (p) => p.text === t3);
    await settle(100);
    assertNone(joined, 'chat-message', (p) => p.text === t3, 'after leaving');
    for (const s of [owner, second, joined, other, other2]) s.close();
  });

  test('the owner\'s connections leave cleanly on disconnect (the room state is released)', async () => {
    const roomId = uid('room');
    const sub = uid('owner');
    const owner = await ctx.a.client({ role: 'admin', sub });
    await ackOk(owner, 'start-stream', { roomId });
    const tabs = [];
    for (let i = 0; i < 3; i++) {
      const t = await ctx.b.client({ role: 'admin', sub });
      await joinedLog(ctx.b, t.id, roomId);
      tabs.push(t);
    }
    for (const t of tabs) t.close();
    await ackOk(owner, 'stop-stream', { roomId });
    owner.close();
    // every local room is released once no connection holds it
    const deadline = Date.now() + 4000;
    let rooms;
    do {
      rooms = (await ctx.b.metrics()).get('onair_local_rooms');
      if (rooms === 0) break;
      await settle(50);
    } while (Date.now() < deadline);
    assert.equal(rooms, 0);
  });
}

describe('owner connections, memory store', () => suite('memory'));
describe('owner connections, Redis store, two nodes', () => suite('redis'));
