// tests/integration/live_suite.mjs: the livestream app's event suite (PROTOCOL.md 3-6, 10),
// shared by live_events_memory.test.mjs (one node, in-process state) and
// live_events_redis.test.mjs (two nodes on one real Redis: admins on node A, viewers on node B,
// so every room event also crosses the bus). Every error code, its precedence, acks and the
// app-error form, the room object, chat, viewers, kicks, media-state, counts, stats, grace.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  ack, ackErr, ackOk, assertNone, killAll, settle, startLive, startRedis, uid,
} from '../lib/live.mjs';

export const GRACE_MS = 600;
export const STATS_MS = 250;
export const KICK_BAN_MS = 1500;
const TURN_SECRET = 'turn-secret-for-tests';
export const NODE_ARGS = [
  '--publisher-grace', String(GRACE_MS),
  '--stats-interval', String(STATS_MS),
  '--kick-ban', String(KICK_BAN_MS),
  '--stun-urls', 'stun:stun.example.org:3478',
  '--turn-urls', 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349',
  '--turn-secret', TURN_SECRET,
  '--node-ttl', '1500',
];

/** Sets up the nodes for a backend ('memory' | 'redis') and returns the context. */
async function setup(backend) {
  const ctx = { backend, nodes: [] };
  if (backend === 'redis') {
    ctx.redis = await startRedis();
    ctx.nodes.push(await startLive({ redis: ctx.redis.url, args: NODE_ARGS }));
    ctx.nodes.push(await startLive({ redis: ctx.redis.url, args: NODE_ARGS, env: { JWT_SECRET: ctx.nodes[0].secret } }));
  } else {
    ctx.nodes.push(await startLive({ args: NODE_ARGS }));
  }
  const [a, b = a] = ctx.nodes;
  // admins connect to node A, viewers to node B (the same node for memory)
  ctx.admin = (claims = {}) => a.client({ role: 'admin', ...claims });
  ctx.viewer = (claims = {}) => b.client({ role: 'viewer', ...claims });
  ctx.adminB = (claims = {}) => b.client({ role: 'admin', ...claims });
  ctx.viewerA = (claims = {}) => a.client({ role: 'viewer', ...claims });
  ctx.nodeA = a;
  ctx.nodeB = b;
  /** A live room: an admin (owner), n viewers joined (their viewer-joined consumed). */
  ctx.room = async ({ viewers = 1, title, adminClaims = {} } = {}) => {
    const roomId = uid('room');
    const admin = await ctx.admin(adminClaims);
    const start = await ackOk(admin, 'start-stream', title ? { roomId, title } : { roomId });
    await admin.next('stream-started', (p) => p.roomId === roomId);
    const vs = [];
    for (let i = 0; i < viewers; i++) {
      const v = await ctx.viewer();
      const j = await ackOk(v, 'join-stream', { roomId });
      v.joinAck = j;
      await admin.next('viewer-joined', (p) => p.viewer.id === v.id);
      vs.push(v);
    }
    return { roomId, admin, viewers: vs, viewer: vs[0], start };
  };
  /** Resolves once `s` got a chat-message with text (proves ordering of earlier room events). */
  ctx.chatMark = async (from, roomId, receivers, text = uid('mark')) => {
    await ackOk(from, 'chat-message', { roomId, text });
    for (const r of receivers) await r.next('chat-message', (m) => m.text === text);
    return text;
  };
  return ctx;
}

async function teardown(ctx) {
  try {
    for (const n of ctx.nodes) await n.stop();
  } finally {
    await killAll();
    if (ctx.redis) await ctx.redis.stop();
  }
}

const roomShape = (room) => {
  assert.deepEqual(Object.keys(room).sort(),
    ['live', 'mediaState', 'recording', 'roomId', 'startedAt', 'title', 'viewerCount']);
};

export function liveSuite(backend) {
  let ctx;
  before(async () => {
    ctx = await setup(backend);
  });
  after(async () => {
    if (ctx) await teardown(ctx);
    else await killAll();
  });

  describe('start-stream', () => {
    test('creates a live room, acks it and broadcasts stream-started to the sender', async () => {
      const roomId = uid('room');
      const admin = await ctx.admin();
      const t0 = Date.now();
      const r = await ackOk(admin, 'start-stream', { roomId });
      roomShape(r.room);
      assert.equal(r.room.roomId, roomId);
      assert.equal(r.room.title, roomId, 'title defaults to the roomId');
      assert.equal(r.room.live, true);
      assert.equal(r.room.viewerCount, 0);
      assert.equal(r.room.recording, null);
      assert.equal(r.room.mediaState, null);
      assert.ok(r.room.startedAt >= t0 - 2000 && r.room.startedAt <= Date.now() + 2000);
      const ev = await admin.next('stream-started', (p) => p.roomId === roomId);
      assert.deepEqual(ev, { roomId, title: roomId, startedAt: r.room.startedAt });
    });

    test('is idempotent for the owner; a title update sends no second stream-started', async () => {
      const { roomId, admin, viewer, start } = await ctx.room({ title: 'First' });
      await viewer.next('viewer-count', (p) => p.roomId === roomId);
      const again = await ackOk(admin, 'start-stream', { roomId });
      assert.equal(again.room.title, 'First', 'no title: the title is kept');
      assert.equal(again.room.startedAt, start.room.startedAt);
      const upd = await ackOk(admin, 'start-stream', { roomId, title: 'Second ✓' });
      assert.equal(upd.room.title, 'Second ✓');
      assert.equal(upd.room.startedAt, start.room.startedAt);
      assert.equal(upd.room.viewerCount, 1);
      await ctx.chatMark(admin, roomId, [admin, viewer]);
      assertNone(admin, 'stream-started', (p) => p.roomId === roomId, 'after the first');
      assertNone(viewer, 'stream-started', (p) => p.roomId === roomId);
      const v2 = await ctx.viewer();
      const j = await ackOk(v2, 'join-stream', { roomId });
      assert.equal(j.room.title, 'Second ✓');
    });

    test("another admin's live room: conflict; a room that is not live is taken over", async () => {
      const { roomId, admin, viewer, start } = await ctx.room({ title: 'Mine' });
      const other = await ctx.adminB();
      await ackErr(other, 'start-stream', { roomId }, 'conflict');
      await ackErr(other, 'start-stream', { roomId, title: 'Theirs' }, 'conflict', 'with a title');
      await ackErr(other, 'stop-stream', { roomId }, 'forbidden', 'not the owner');
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.room.title, 'Mine');
      assert.equal(j.room.startedAt, start.room.startedAt);
      // the owner stops: the room stays, another admin takes it over
      await ackOk(admin, 'stop-stream', { roomId });
      await viewer.next('stream-ended', (p) => p.roomId === roomId);
      const t = await ackOk(other, 'start-stream', { roomId });
      assert.equal(t.room.live, true);
      assert.equal(t.room.title, roomId, 'a new owner without a title: the room id');
      assert.equal(t.room.viewerCount, 2, 'members stay joined across broadcasts');
      const ev = await viewer.next('stream-started', (p) => p.roomId === roomId);
      assert.equal(ev.startedAt, t.room.startedAt);
      // ownership moved: the old owner is now "another admin"
      await ackErr(admin, 'stop-stream', { roomId }, 'forbidden');
      await ackErr(admin, 'media-state', { roomId, audio: true, video: true }, 'forbidden');
      await ackErr(admin, 'start-stream', { roomId }, 'conflict');
      await ackOk(other, 'stop-stream', { roomId });
    });

    test('refusals: role, rooms claim, roomId, title', async () => {
      const viewer = await ctx.viewer();
      const admin = await ctx.admin();
      const limited = await ctx.admin({ rooms: ['elsewhere'] });
      const none = await ctx.admin({ rooms: [] });
      const roomId = uid('room');
      await ackErr(viewer, 'start-stream', { roomId }, 'forbidden', 'viewer');
      await ackErr(limited, 'start-stream', { roomId }, 'forbidden', 'rooms claim');
      await ackErr(none, 'start-stream', { roomId }, 'forbidden', 'rooms: []');
      await ackOk(await ctx.admin({ rooms: [roomId] }), 'start-stream', { roomId });
      for (const bad of ['', 'a b', 'a/b', 'x'.repeat(65), 'é', 'a.b', 42, null, ['r'], { id: 'r' }]) {
        await ackErr(admin, 'start-stream', { roomId: bad }, 'invalid_payload', JSON.stringify(bad));
      }
      await ackErr(admin, 'start-stream', {}, 'invalid_payload', 'no roomId');
      await ackOk(admin, 'start-stream', { roomId: 'A-z_09'.padEnd(64, 'x') });
      const r2 = uid('room');
      for (const bad of ['', 'x'.repeat(201), '😀'.repeat(201), 'a\u0001b', 'a\u007fb', 'a\u0085b', 'a\rb', 7, true, ['t'], {}]) {
        await ackErr(admin, 'start-stream', { roomId: r2, title: bad }, 'invalid_payload', `title ${JSON.stringify(bad).slice(0, 20)}`);
      }
      const r = await ackOk(admin, 'start-stream', { roomId: r2, title: '😀'.repeat(200) });
      assert.equal(r.room.title, '😀'.repeat(200), '200 code points (800 bytes) are fine');
      const r3 = await ackOk(admin, 'start-stream', { roomId: uid('room'), title: null });
      assert.equal(r3.room.title, r3.room.roomId, 'title null: the default');
      // precedence: invalid_payload before forbidden(role); forbidden(rooms) before not_found
      await ackErr(viewer, 'start-stream', { roomId: 'bad room' }, 'invalid_payload', 'viewer, bad roomId');
      await ackErr(viewer, 'start-stream', { roomId, title: 5 }, 'invalid_payload', 'viewer, bad title');
    });
  });

  describe('stop-stream', () => {
    test('ends the broadcast for everyone; members stay; mediaState resets; idempotent', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 2 });
      await ackOk(admin, 'media-state', { roomId, audio: false, video: true });
      await viewer.next('media-state', (p) => p.roomId === roomId);
      await ackOk(admin, 'stop-stream', { roomId });
      for (const s of [admin, viewer]) {
        assert.deepEqual(await s.next('stream-ended', (p) => p.roomId === roomId), { roomId, reason: 'stopped' });
      }
      // not live: idempotent, no second stream-ended
      await ackOk(admin, 'stop-stream', { roomId });
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.room.live, false);
      assert.equal(j.room.startedAt, null);
      assert.equal(j.room.mediaState, null, 'mediaState resets when a broadcast ends');
      assert.equal(j.room.viewerCount, 3, 'members stayed joined');
      // members still chat, and get the next stream-started
      await ctx.chatMark(viewer, roomId, [admin, viewer]);
      assert.equal(viewer.all('stream-ended', (p) => p.roomId === roomId).length, 1);
      const again = await ackOk(admin, 'start-stream', { roomId });
      assert.deepEqual(await viewer.next('stream-started', (p) => p.roomId === roomId),
        { roomId, title: roomId, startedAt: again.room.startedAt });
      assert.equal(again.room.mediaState, null);
    });

    test('refusals: unknown room, not the owner (live or not), viewer, rooms claim', async () => {
      const { roomId, admin } = await ctx.room({ viewers: 0 });
      const other = await ctx.adminB();
      const viewer = await ctx.viewer();
      await ackErr(admin, 'stop-stream', { roomId: uid('nope') }, 'not_found');
      await ackErr(other, 'stop-stream', { roomId }, 'forbidden');
      await ackErr(viewer, 'stop-stream', { roomId }, 'forbidden');
      await ackErr(viewer, 'stop-stream', { roomId: uid('nope') }, 'forbidden', 'role before not_found');
      await ackErr(await ctx.admin({ rooms: ['x'] }), 'stop-stream', { roomId: uid('nope') }, 'forbidden', 'rooms claim before not_found');
      await ackErr(admin, 'stop-stream', { roomId: '' }, 'invalid_payload');
      await ackOk(admin, 'stop-stream', { roomId });
      await ackErr(other, 'stop-stream', { roomId }, 'forbidden', 'not live, not the owner');
    });
  });

  describe('join-stream and leave-stream', () => {
    test('ack {ok, room, chat, iceServers}; TURN credentials; viewers may join a room that is not live', async () => {
      const { roomId, admin } = await ctx.room({ viewers: 0, title: 'Show' });
      const v = await ctx.viewer({ sub: uid('turnuser') });
      const t0 = Math.floor(Date.now() / 1000);
      const j = await ackOk(v, 'join-stream', { roomId });
      assert.deepEqual(Object.keys(j).sort(), ['chat', 'iceServers', 'ok', 'room']);
      roomShape(j.room);
      assert.equal(j.room.viewerCount, 1, 'the joiner is counted');
      assert.deepEqual(j.chat, []);
      assert.equal(j.iceServers.length, 2);
      assert.deepEqual(j.iceServers[0], { urls: ['stun:stun.example.org:3478'] });
      const turn = j.iceServers[1];
      assert.deepEqual(turn.urls, ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349']);
      const [exp, user] = turn.username.split(':');
      assert.equal(user, v.sub);
      assert.ok(Number(exp) >= t0 + 3600 - 5 && Number(exp) <= t0 + 3600 + 5, `expiry ${exp}`);
      assert.equal(turn.credential, crypto.createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64'));
      // a room that is not live
      await ackOk(admin, 'stop-stream', { roomId });
      const v2 = await ctx.viewer();
      const j2 = await ackOk(v2, 'join-stream', { roomId });
      assert.equal(j2.room.live, false);
      assert.equal(j2.room.title, 'Show');
      assert.equal(j2.room.viewerCount, 2);
      await ackErr(v2, 'join-stream', { roomId: uid('nope') }, 'not_found');
      await ackErr(v2, 'join-stream', { roomId: 'no way' }, 'invalid_payload');
      await ackErr(await ctx.viewer({ rooms: ['x'] }), 'join-stream', { roomId }, 'forbidden');
      await ackErr(await ctx.viewer({ rooms: ['x'] }), 'join-stream', { roomId: uid('nope') }, 'forbidden', 'rooms before not_found');
      await ackOk(await ctx.viewer({ rooms: ['x', roomId] }), 'join-stream', { roomId });
    });

    test('viewer-joined/left and counts go to admins only; a repeated join is acked without a second viewer-joined', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const admin2 = await ctx.adminB();
      const j = await ackOk(admin2, 'join-stream', { roomId });
      assert.equal(j.room.viewerCount, 1, 'admins are not counted');
      const v2 = await ctx.viewer({ name: 'Zoë' });
      await ackOk(v2, 'join-stream', { roomId });
      for (const a of [admin, admin2]) {
        assert.deepEqual(await a.next('viewer-joined', (p) => p.viewer.id === v2.id),
          { roomId, viewer: { id: v2.id, userId: v2.sub, name: 'Zoë' } });
      }
      const again = await ackOk(v2, 'join-stream', { roomId });
      assert.equal(again.room.viewerCount, 2);
      await ctx.chatMark(v2, roomId, [admin, admin2, viewer, v2]);
      assertNone(admin, 'viewer-joined', (p) => p.viewer.id === v2.id, 'second');
      assertNone(viewer, 'viewer-joined');
      assertNone(v2, 'viewer-joined');
      const list = await ackOk(admin2, 'get-viewers', { roomId });
      assert.deepEqual(list.viewers.map((x) => x.id).sort(), [viewer.id, v2.id].sort(), 'admins are not listed');
      // leave
      assert.deepEqual(await ackOk(v2, 'leave-stream', { roomId }), { ok: true });
      for (const a of [admin, admin2]) {
        assert.deepEqual(await a.next('viewer-left', (p) => p.viewerId === v2.id), { roomId, viewerId: v2.id });
      }
      await ackErr(v2, 'chat-message', { roomId, text: 'still here?' }, 'forbidden', 'after leaving');
      await ackErr(v2, 'leave-stream', { roomId }, 'forbidden', 'not a member');
      await ackErr(v2, 'leave-stream', { roomId: uid('nope') }, 'not_found');
      await ackErr(v2, 'leave-stream', { roomId: '' }, 'invalid_payload');
      const mark = await ctx.chatMark(admin, roomId, [admin, viewer]);
      await settle(100);
      assertNone(v2, 'chat-message', (m) => m.text === mark, 'after leaving');
      assertNone(viewer, 'viewer-left');
      const after = await ackOk(admin2, 'get-viewers', { roomId });
      assert.deepEqual(after.viewers.map((x) => x.id), [viewer.id]);
      // every connection of the owner is a member (PROTOCOL.md 10): a second one may leave (nothing
      // to do), send candidates (no session: ignored) and chat, and gets no forbidden
      const owner2 = await ctx.admin({ sub: admin.sub });
      await ackOk(owner2, 'leave-stream', { roomId });
      await ackOk(owner2, 'ice-candidate', { roomId, candidate: null });
      await ackErr(owner2, 'restart-ice', { roomId }, 'conflict');
      await ackOk(owner2, 'chat-message', { roomId, text: 'second tab' });
      // an admin's join/leave sends no viewer-joined/left
      await ackOk(admin2, 'leave-stream', { roomId });
      await ctx.chatMark(viewer, roomId, [admin]);
      assertNone(admin, 'viewer-left', (p) => p.viewerId === admin2.id);
    });

    test('viewer-count: first change at once, at most one a second, the last value always arrives', async () => {
      const { roomId, admin } = await ctx.room({ viewers: 0 });
      // the first change of a quiet second goes out at once
      const v1 = await ctx.viewer();
      const t1 = Date.now();
      await ackOk(v1, 'join-stream', { roomId });
      assert.deepEqual(await admin.next('viewer-count', (p) => p.roomId === roomId), { roomId, count: 1 });
      assert.ok(Date.now() - t1 < 900, `first count after ${Date.now() - t1} ms (coalesced would be 1000)`);
      // a burst: coalesced
      const burst = [];
      for (let i = 0; i < 5; i++) burst.push(await ctx.viewer());
      await Promise.all(burst.map((v) => ackOk(v, 'join-stream', { roomId })));
      await ackOk(burst[0], 'leave-stream', { roomId });
      await admin.next('viewer-count', (p) => p.roomId === roomId && p.count === 5, 4000);
      const counts = admin.events.filter((e) => e.event === 'viewer-count' && e.args[0].roomId === roomId);
      for (let i = 1; i < counts.length; i++) {
        assert.ok(counts[i].at - counts[i - 1].at >= 800, `counts ${counts[i - 1].at} -> ${counts[i].at} too close`);
        assert.notEqual(counts[i].args[0].count, counts[i - 1].args[0].count, 'sent only when changed');
      }
      assert.ok(counts.length <= 3, `${counts.length} counts for 7 changes`);
      // members get it too (viewers included)
      await v1.next('viewer-count', (p) => p.roomId === roomId && p.count === 5, 3000);
      // no change: nothing sent (join again, leave a room one is not in)
      await ackOk(v1, 'join-stream', { roomId });
      await ctx.chatMark(v1, roomId, [admin]);
      await settle(1100);
      await ctx.chatMark(v1, roomId, [admin]);
      const n = admin.all('viewer-count', (p) => p.roomId === roomId).length;
      assert.equal(n, counts.length, 'no viewer-count without a change');
    });

    test('chat history in the join ack: the last 50, oldest first', async () => {
      const { roomId, admin } = await ctx.room({ viewers: 0 });
      const writers = [];
      for (let i = 0; i < 11; i++) {
        const w = await ctx.viewer();
        await ackOk(w, 'join-stream', { roomId });
        writers.push(w);
      }
      const texts = [];
      for (let i = 0; i < 55; i++) {
        const text = `m${i}`;
        await ackOk(writers[Math.floor(i / 5)], 'chat-message', { roomId, text });
        texts.push(text);
      }
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.chat.length, 50);
      assert.deepEqual(j.chat.map((m) => m.text), texts.slice(5));
      const m = j.chat[49];
      assert.deepEqual(Object.keys(m).sort(), ['from', 'id', 'roomId', 'text', 'ts']);
      assert.deepEqual(m.from, { id: writers[10].sub, name: writers[10].sub, role: 'viewer' });
      assert.equal(new Set(j.chat.map((c) => c.id)).size, 50, 'ids are unique');
      const ja = await ackOk(admin, 'join-stream', { roomId });
      assert.equal(ja.chat.length, 50);
    });
  });

  describe('chat-message', () => {
    test('{ok, id}; every member gets {id, roomId, from, text, ts}, the sender and the owner included', async () => {
      const { roomId, admin, viewers } = await ctx.room({ viewers: 2 });
      const admin2 = await ctx.adminB({ name: 'Second Admin' });
      await ackOk(admin2, 'join-stream', { roomId });
      const [v1, v2] = viewers;
      const text = 'héllo 😀\nline two\ttab';
      const t0 = Date.now();
      const r = await ackOk(v1, 'chat-message', { roomId, text });
      assert.deepEqual(Object.keys(r).sort(), ['id', 'ok']);
      assert.equal(typeof r.id, 'string');
      for (const s of [admin, admin2, v1, v2]) {
        const m = await s.next('chat-message', (x) => x.id === r.id);
        assert.deepEqual(m, { id: r.id, roomId, from: { id: v1.sub, name: v1.sub, role: 'viewer' }, text, ts: m.ts });
        assert.ok(m.ts >= t0 - 2000 && m.ts <= Date.now() + 2000);
      }
      // the owner chats without join-stream; an admin with a name
      const ra = await ackOk(admin, 'chat-message', { roomId, text: 'from the owner' });
      assert.deepEqual((await v2.next('chat-message', (x) => x.id === ra.id)).from, { id: admin.sub, name: admin.sub, role: 'admin' });
      const rb = await ackOk(admin2, 'chat-message', { roomId, text: 'hi' });
      assert.deepEqual((await v1.next('chat-message', (x) => x.id === rb.id)).from, { id: admin2.sub, name: 'Second Admin', role: 'admin' });
      assert.notEqual(ra.id, rb.id);
    });

    test('text rules: 1..500 code points of text, no controls but \\n \\t; non-members, unknown rooms', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const cases = [
        ['', 'empty'], ['x'.repeat(501), '501 chars'], ['😀'.repeat(501), '501 emoji'],
        ['a\u0000b', 'NUL'], ['a\u0001b', 'C0'], ['a\rb', 'CR'], ['a\u001bb', 'ESC'], ['a\u007fb', 'DEL'],
        ['a\u0080b', 'C1 0x80'], ['a\u009fb', 'C1 0x9f'], [5, 'number'], [null, 'null'], [['a'], 'array'], [{ t: 1 }, 'object'],
      ];
      // distinct senders: chat is limited to 5 messages per 5 s per user
      let sender = null;
      let used = 0;
      const next = async () => {
        if (!sender || used === 5) {
          sender = await ctx.viewer();
          await ackOk(sender, 'join-stream', { roomId });
          used = 0;
        }
        used++;
        return sender;
      };
      for (const [text, what] of cases) await ackErr(await next(), 'chat-message', { roomId, text }, 'invalid_payload', what);
      await ackErr(await next(), 'chat-message', { roomId }, 'invalid_payload', 'no text');
      for (const text of ['x'.repeat(500), '😀'.repeat(500), 'é', 'a\nb\tc', '\u00a0nbsp', '\u2028']) {
        const r = await ackOk(await next(), 'chat-message', { roomId, text }, JSON.stringify(text).slice(0, 20));
        assert.equal((await viewer.next('chat-message', (m) => m.id === r.id)).text, text);
      }
      const stranger = await ctx.viewer();
      await ackErr(stranger, 'chat-message', { roomId, text: 'hi' }, 'forbidden', 'not a member');
      await ackErr(stranger, 'chat-message', { roomId: uid('nope'), text: 'hi' }, 'not_found');
      await ackErr(await ctx.viewer({ rooms: ['x'] }), 'chat-message', { roomId: uid('nope'), text: 'hi' }, 'forbidden', 'rooms before not_found');
      await ackErr(await ctx.viewer(), 'chat-message', { roomId: 'bad id', text: 'hi' }, 'invalid_payload');
      // another admin that did not join is not a member either
      await ackErr(await ctx.adminB(), 'chat-message', { roomId, text: 'hi' }, 'forbidden', 'admin not joined');
      // nothing refused reached the room
      const mark = await ctx.chatMark(admin, roomId, [viewer]);
      const texts = viewer.all('chat-message', (m) => m.roomId === roomId).map((m) => m.text);
      assert.equal(texts.length, 7, JSON.stringify(texts.map((t) => t.slice(0, 10))));
      assert.equal(texts[6], mark);
    });

    test('5 messages per 5 s per user: the 6th is rate_limited, not sent, and the limit is per user', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const sub = uid('chatty');
      const a = await ctx.viewer({ sub });
      const b = await ctx.viewerA({ sub }); // the same user on another connection (other node)
      await ackOk(a, 'join-stream', { roomId });
      await ackOk(b, 'join-stream', { roomId });
      for (let i = 0; i < 3; i++) await ackOk(a, 'chat-message', { roomId, text: `a${i}` });
      for (let i = 0; i < 2; i++) await ackOk(b, 'chat-message', { roomId, text: `b${i}` });
      if (ctx.nodes.length === 1) {
        await ackErr(b, 'chat-message', { roomId, text: 'too many' }, 'rate_limited', 'the same user on another connection');
      } else {
        // the limit is kept per node: a user's connections on two nodes have one each
        for (let i = 3; i < 5; i++) await ackOk(a, 'chat-message', { roomId, text: `a${i}` });
      }
      await ackErr(a, 'chat-message', { roomId, text: 'too many' }, 'rate_limited');
      // rate_limited comes before invalid_payload and forbidden
      await ackErr(a, 'chat-message', { roomId, text: '' }, 'rate_limited', 'invalid text');
      await ackErr(a, 'chat-message', { roomId: uid('nope'), text: 'x' }, 'rate_limited', 'unknown room');
      // without an ack: app-error
      a.emit('chat-message', { roomId, text: 'no ack' });
      assert.deepEqual(await a.next('app-error'), { event: 'chat-message', code: 'rate_limited', message: (a.all('app-error')[0] || {}).message });
      await ctx.chatMark(admin, roomId, [viewer]);
      assert.equal(viewer.all('chat-message', (m) => m.text === 'too many' || m.text === 'no ack').length, 0);
      // another user is not limited
      await ackOk(viewer, 'chat-message', { roomId, text: 'fine' });
    });
  });

  describe('get-viewers and kick-viewer', () => {
    test('get-viewers lists viewers only, to any admin the token allows', async () => {
      const { roomId, admin, viewers } = await ctx.room({ viewers: 2 });
      const other = await ctx.adminB();
      const r = await ackOk(other, 'get-viewers', { roomId });
      assert.equal(r.viewers.length, 2);
      for (const [i, v] of viewers.entries()) {
        const e = r.viewers.find((x) => x.id === v.id);
        assert.ok(e, `viewer ${i} listed`);
        assert.deepEqual(Object.keys(e).sort(), ['id', 'joinedAt', 'name', 'userId']);
        assert.equal(e.userId, v.sub);
        assert.equal(e.name, v.sub);
        assert.ok(e.joinedAt > Date.now() - 60000 && e.joinedAt <= Date.now() + 2000);
      }
      await ackErr(viewers[0], 'get-viewers', { roomId }, 'forbidden');
      await ackErr(viewers[0], 'get-viewers', { roomId: uid('nope') }, 'forbidden', 'role before not_found');
      await ackErr(admin, 'get-viewers', { roomId: uid('nope') }, 'not_found');
      await ackErr(await ctx.admin({ rooms: [] }), 'get-viewers', { roomId }, 'forbidden', 'rooms claim');
      await ackErr(admin, 'get-viewers', { roomId: 5 }, 'invalid_payload');
    });

    test('kick-viewer: kicked, every connection of the user leaves, stays connected, rejoin forbidden during the ban', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const sub = uid('troll');
      const t1 = await ctx.viewer({ sub });
      const t2 = await ctx.viewerA({ sub }); // a second connection of the same user
      await ackOk(t1, 'join-stream', { roomId });
      await ackOk(t2, 'join-stream', { roomId });
      await admin.next('viewer-joined', (p) => p.viewer.id === t2.id);
      const other = await ctx.adminB();
      await ackErr(other, 'kick-viewer', { roomId, viewerId: t1.id }, 'forbidden', 'not the owner');
      await ackErr(viewer, 'kick-viewer', { roomId, viewerId: t1.id }, 'forbidden', 'viewer');
      await ackErr(admin, 'kick-viewer', { roomId, viewerId: 'nobody' }, 'not_found');
      await ackErr(other, 'kick-viewer', { roomId, viewerId: 'nobody' }, 'not_found', 'not_found before forbidden(owner)');
      await ackErr(admin, 'kick-viewer', { roomId: uid('nope'), viewerId: t1.id }, 'not_found');
      await ackErr(admin, 'kick-viewer', { roomId, viewerId: admin.id }, 'not_found', 'the owner is no viewer');
      await ackErr(admin, 'kick-viewer', { roomId }, 'invalid_payload', 'no viewerId');
      await ackErr(admin, 'kick-viewer', { roomId, viewerId: 7 }, 'invalid_payload', 'number');
      await ackErr(admin, 'kick-viewer', { roomId, viewerId: '' }, 'invalid_payload', 'empty');
      const t0 = Date.now();
      assert.deepEqual(await ackOk(admin, 'kick-viewer', { roomId, viewerId: t1.id }), { ok: true });
      for (const t of [t1, t2]) {
        const k = await t.next('kicked', (p) => p.roomId === roomId);
        assert.equal(k.roomId, roomId);
        assert.equal(typeof k.reason, 'string');
        assert.ok(t.connected, 'stays connected');
      }
      const left = [await admin.next('viewer-left', (p) => p.viewerId === t1.id), await admin.next('viewer-left', (p) => p.viewerId === t2.id)];
      assert.deepEqual(left[0], { roomId, viewerId: t1.id });
      await admin.next('viewer-count', (p) => p.roomId === roomId && p.count === 1, 3000);
      const list = await ackOk(admin, 'get-viewers', { roomId });
      assert.deepEqual(list.viewers.map((v) => v.id), [viewer.id]);
      // no more room events for them; their room events are refused
      const mark = await ctx.chatMark(admin, roomId, [viewer]);
      await ackErr(t1, 'chat-message', { roomId, text: 'x' }, 'forbidden', 'kicked chat');
      await ackErr(t2, 'leave-stream', { roomId }, 'forbidden', 'kicked leave');
      assertNone(t1, 'chat-message', (m) => m.text === mark);
      assertNone(t2, 'chat-message', (m) => m.text === mark);
      // rejoin: forbidden during the ban (any connection of the user), fine after it
      await ackErr(t1, 'join-stream', { roomId }, 'forbidden', 'banned');
      const t3 = await ctx.viewer({ sub });
      await ackErr(t3, 'join-stream', { roomId }, 'forbidden', 'banned, new connection');
      // they stay connected to the server: other rooms work
      const { roomId: elsewhere } = await ctx.room({ viewers: 0 });
      await ackOk(t1, 'join-stream', { roomId: elsewhere });
      const wait = KICK_BAN_MS - (Date.now() - t0) + 100;
      if (wait > 0) await settle(wait);
      await ackOk(t1, 'join-stream', { roomId });
    });
  });

  describe('media-state and recording', () => {
    test('media-state is rebroadcast to the room and kept in the room object until the broadcast ends', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      assert.deepEqual(await ackOk(admin, 'media-state', { roomId, audio: true, video: false }), { ok: true });
      for (const s of [admin, viewer]) {
        assert.deepEqual(await s.next('media-state', (p) => p.roomId === roomId), { roomId, audio: true, video: false });
      }
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.deepEqual(j.room.mediaState, { audio: true, video: false });
      await ackOk(admin, 'media-state', { roomId, audio: false, video: false });
      assert.deepEqual(await viewer.next('media-state', (p) => p.roomId === roomId), { roomId, audio: false, video: false });
      for (const [p, what] of [[{ roomId, audio: 1, video: true }, 'number'], [{ roomId, audio: true }, 'no video'],
        [{ roomId, audio: 'true', video: true }, 'string'], [{ roomId, audio: null, video: null }, 'null']]) {
        await ackErr(admin, 'media-state', p, 'invalid_payload', what);
      }
      await ackErr(viewer, 'media-state', { roomId, audio: true, video: true }, 'forbidden', 'viewer');
      await ackErr(viewer, 'media-state', { roomId, audio: 1, video: true }, 'invalid_payload', 'viewer, bad payload');
      await ackErr(await ctx.adminB(), 'media-state', { roomId, audio: true, video: true }, 'forbidden', 'not the owner');
      await ackErr(admin, 'media-state', { roomId: uid('nope'), audio: true, video: true }, 'not_found');
      await ackOk(admin, 'stop-stream', { roomId });
      await viewer.next('stream-ended', (p) => p.roomId === roomId);
      const j2 = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j2.room.mediaState, null);
      // not live: acknowledged, neither stored nor broadcast
      await ackOk(admin, 'media-state', { roomId, audio: true, video: true });
      await ctx.chatMark(admin, roomId, [viewer]);
      assert.equal(viewer.all('media-state', (p) => p.roomId === roomId).length, 2);
      const j3 = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j3.room.mediaState, null);
    });

    test('start/stop-recording without a recorder: unavailable / idempotent stop, the usual refusals, conflict when not live', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      await ackErr(admin, 'start-recording', { roomId }, 'unavailable', 'no recorder configured');
      assert.deepEqual(await ackOk(admin, 'stop-recording', { roomId }), { ok: true, recording: null }, 'not recording: idempotent');
      for (const ev of ['start-recording', 'stop-recording']) {
        await ackErr(await ctx.adminB(), ev, { roomId }, 'forbidden', 'not the owner');
        await ackErr(viewer, ev, { roomId }, 'forbidden', 'viewer');
        await ackErr(viewer, ev, { roomId: uid('nope') }, 'forbidden', 'viewer, role before not_found');
        await ackErr(admin, ev, { roomId: uid('nope') }, 'not_found');
        await ackErr(admin, ev, { roomId: '!' }, 'invalid_payload');
      }
      admin.emit('start-recording', { roomId });
      assert.equal((await admin.next('app-error', (p) => p.event === 'start-recording')).code, 'unavailable');
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.room.recording, null);
      // conflict (not live) comes before unavailable
      await ackOk(admin, 'stop-stream', { roomId });
      await ackErr(admin, 'start-recording', { roomId }, 'conflict', 'not live');
    });
  });

  describe('stream-stats and the publisher grace period', () => {
    test('stream-stats reach the admins of a live room periodically, not viewers, and stop with the broadcast', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const admin2 = await ctx.adminB();
      await ackOk(admin2, 'join-stream', { roomId });
      const s1 = await admin.next('stream-stats', (p) => p.roomId === roomId, 3000);
      assert.deepEqual(Object.keys(s1).sort(), ['bitrateIn', 'packetsLost', 'recording', 'roomId', 'viewers']);
      assert.equal(s1.viewers, 1);
      assert.equal(typeof s1.bitrateIn, 'number');
      assert.equal(typeof s1.packetsLost, 'number');
      await admin.next('stream-stats', (p) => p.roomId === roomId, 3000);
      await admin2.next('stream-stats', (p) => p.roomId === roomId, 3000);
      const st = admin.events.filter((e) => e.event === 'stream-stats' && e.args[0].roomId === roomId);
      assert.ok(st[1].at - st[0].at >= STATS_MS * 0.6, 'periodic');
      assertNone(viewer, 'stream-stats');
      await ackOk(admin, 'stop-stream', { roomId });
      await admin.next('stream-ended', (p) => p.roomId === roomId);
      await settle(STATS_MS * 3);
      const n = admin.all('stream-stats', (p) => p.roomId === roomId).length;
      await settle(STATS_MS * 2);
      assert.equal(admin.all('stream-stats', (p) => p.roomId === roomId).length, n, 'no stats after the end');
      assertNone(viewer, 'stream-stats');
    });

    test('the owner disconnects: stream-ended publisher-left after the grace period', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const t0 = Date.now();
      admin.close();
      const e = await viewer.next('stream-ended', (p) => p.roomId === roomId, GRACE_MS + 4000);
      assert.deepEqual(e, { roomId, reason: 'publisher-left' });
      assert.ok(Date.now() - t0 >= GRACE_MS - 50, `ended after ${Date.now() - t0} ms, grace ${GRACE_MS}`);
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.room.live, false);
    });

    test('the owner reconnects and starts again within the grace period: no stream-ended', async () => {
      const { roomId, admin, viewer, start } = await ctx.room({ viewers: 1 });
      await ackOk(admin, 'media-state', { roomId, audio: true, video: true });
      admin.close();
      // back on the other node (Redis: a different node than the one that holds the grace timer)
      const back = await ctx.adminB({ sub: admin.sub });
      const r = await ackOk(back, 'start-stream', { roomId });
      assert.equal(r.room.startedAt, start.room.startedAt, 'the same broadcast');
      assert.deepEqual(r.room.mediaState, { audio: true, video: true });
      await settle(GRACE_MS + 400);
      await ctx.chatMark(back, roomId, [viewer, back]);
      assertNone(viewer, 'stream-ended', (p) => p.roomId === roomId);
      assert.equal(viewer.all('stream-started', (p) => p.roomId === roomId).length, 0);
      // and the new connection is the publisher: its disconnection ends the broadcast
      back.close();
      assert.deepEqual(await viewer.next('stream-ended', (p) => p.roomId === roomId, GRACE_MS + 4000), { roomId, reason: 'publisher-left' });
    });
  });

  describe('media signalling without a media server', () => {
    test('offer/answer/ice-candidate/restart-ice: validation, membership and error order', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
      // offer: admin owning the live room on this connection
      for (const [p, what] of [[{ roomId }, 'no sdp'], [{ roomId, sdp: '' }, 'empty'], [{ roomId, sdp: 5 }, 'number'],
        [{ roomId, sdp: 'x'.repeat(65537) }, '64 KiB + 1'], [{ roomId: '', sdp }, 'bad room']]) {
        await ackErr(admin, 'offer', p, 'invalid_payload', what);
      }
      await ackErr(admin, 'offer', { roomId, sdp: 'x'.repeat(65536) }, 'unavailable', '64 KiB exactly passes validation');
      await ackErr(admin, 'offer', { roomId, sdp }, 'unavailable');
      await ackErr(viewer, 'offer', { roomId, sdp }, 'forbidden', 'viewer');
      await ackErr(viewer, 'offer', { roomId, sdp: 5 }, 'invalid_payload', 'viewer, bad sdp');
      await ackErr(admin, 'offer', { roomId: uid('nope'), sdp }, 'not_found');
      const other = await ctx.adminB();
      await ackErr(other, 'offer', { roomId, sdp }, 'forbidden', 'not the owner');
      const second = await ctx.admin({ sub: admin.sub });
      await ackErr(second, 'offer', { roomId, sdp }, 'conflict', 'owner, not the publishing connection');
      // answer: a viewer with an offer waiting
      await ackErr(viewer, 'answer', { roomId, sdp }, 'conflict', 'no offer waiting');
      await ackErr(viewer, 'answer', { roomId, sdp: 'x'.repeat(65537) }, 'invalid_payload');
      await ackErr(viewer, 'answer', { roomId }, 'invalid_payload', 'no sdp');
      await ackErr(await ctx.viewer(), 'answer', { roomId, sdp }, 'forbidden', 'not a member');
      await ackErr(await ctx.viewer(), 'answer', { roomId: uid('nope'), sdp }, 'not_found');
      await ackErr(await ctx.viewer({ rooms: [] }), 'answer', { roomId, sdp }, 'forbidden', 'rooms claim');
      // ice-candidate
      const cand = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
      await ackOk(viewer, 'ice-candidate', { roomId, candidate: cand });
      await ackOk(viewer, 'ice-candidate', { roomId, candidate: null }, 'end of candidates');
      await ackOk(viewer, 'ice-candidate', { roomId, candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null } }, 'empty candidate');
      await ackOk(admin, 'ice-candidate', { roomId, candidate: { candidate: 'c'.repeat(1024) } }, '1 KiB');
      for (const [c, what] of [[undefined, 'missing'], [{ candidate: 'c'.repeat(1025) }, '1 KiB + 1'], ['candidate:1', 'string'],
        [{ sdpMid: '0' }, 'no candidate'], [{ candidate: 5 }, 'number'], [{ candidate: 'c', sdpMid: 0 }, 'sdpMid number'],
        [{ candidate: 'c', sdpMLineIndex: '0' }, 'sdpMLineIndex string'], [[], 'array'],
        [{ candidate: 'c', sdpMid: 'm'.repeat(1025) }, 'sdpMid 1 KiB + 1'], [{ candidate: 'c', sdpMLineIndex: -1 }, 'sdpMLineIndex negative']]) {
        await ackErr(viewer, 'ice-candidate', c === undefined ? { roomId } : { roomId, candidate: c }, 'invalid_payload', what);
      }
      await ackErr(await ctx.viewer(), 'ice-candidate', { roomId, candidate: cand }, 'forbidden', 'not a member');
      await ackErr(await ctx.viewer(), 'ice-candidate', { roomId: uid('nope'), candidate: cand }, 'not_found');
      // restart-ice
      await ackErr(admin, 'restart-ice', { roomId }, 'conflict', 'no publisher session');
      await ackErr(await ctx.viewer(), 'restart-ice', { roomId }, 'forbidden', 'not a member');
      await ackErr(await ctx.viewer(), 'restart-ice', { roomId: uid('nope') }, 'not_found');
      await ackErr(viewer, 'restart-ice', { roomId: 'x y' }, 'invalid_payload');
      await ackErr(viewer, 'restart-ice', { roomId }, 'unavailable', 'viewer, no media server');
      // no offer reached the viewer, the room is unchanged
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.room.live, true);
      assertNone(viewer, 'offer');
    });
  });

  describe('errors without an ack, precedence, bad input', () => {
    test('app-error {event, code, message} for every code a client can cause', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const cases = [
        [viewer, 'start-stream', { roomId: '' }, 'invalid_payload'],
        [viewer, 'start-stream', { roomId }, 'forbidden'],
        [admin, 'stop-stream', { roomId: uid('nope') }, 'not_found'],
        [await ctx.adminB(), 'start-stream', { roomId }, 'conflict'],
        [admin, 'offer', { roomId, sdp: 'v=0\r\n' }, 'unavailable'],
        [viewer, 'join-stream', 'not an object', 'invalid_payload'],
      ];
      for (const [s, ev, p, code] of cases) {
        s.emit(ev, p);
        const e = await s.next('app-error', (x) => x.event === ev);
        assert.equal(e.code, code, `${ev}: ${JSON.stringify(e)}`);
        assert.deepEqual(Object.keys(e).sort(), ['code', 'event', 'message']);
        assert.ok(e.message.length > 0);
      }
      // with an ack, never an app-error
      await ackErr(viewer, 'start-stream', { roomId }, 'forbidden');
      await ctx.chatMark(admin, roomId, [viewer]);
      assert.equal(viewer.all('app-error').length, 3);
    });

    test('payload shapes: not an object, no payload, extra arguments, binary, unknown events', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      for (const p of ['str', 5, null, [roomId], true]) {
        await ackErr(viewer, 'join-stream', p, 'invalid_payload', JSON.stringify(p));
      }
      // no payload at all: the ack is the first argument
      const none = await new Promise((resolve) => viewer.timeout(3000).emit('join-stream', (err, r) => resolve(err || r)));
      assert.equal(none.error?.code, 'invalid_payload', JSON.stringify(none));
      // a binary payload
      await ackErr(viewer, 'chat-message', { roomId, text: Buffer.from('hi') }, 'invalid_payload', 'binary');
      // unknown fields are ignored
      await ackOk(viewer, 'chat-message', { roomId, text: 'extra', foo: [1, { bar: null }], __proto__x: 1 });
      // unknown events: no answer, no harm
      viewer.emit('no-such-event', { roomId });
      viewer.emit('__proto__', { roomId });
      await ctx.chatMark(admin, roomId, [viewer]);
      assertNone(viewer, 'app-error');
    });

    test('a flood: 50 events/s per connection, then rate_limited; others unaffected', async () => {
      const { roomId, admin, viewer } = await ctx.room({ viewers: 1 });
      const flooder = await ctx.viewer();
      await ackOk(flooder, 'join-stream', { roomId });
      const acks = await Promise.all(Array.from({ length: 80 }, () => ack(flooder, 'get-viewers', { roomId: 'bad room' })));
      const codes = acks.map((r) => r.error.code);
      const limited = codes.filter((c) => c === 'rate_limited').length;
      assert.ok(limited >= 20, `rate_limited ${limited} of 80: ${codes.join(',')}`);
      assert.equal(codes.filter((c) => c === 'invalid_payload').length + limited, 80);
      // over the limit beats every other code: the first 50 were invalid_payload
      assert.equal(codes[0], 'invalid_payload');
      assert.equal(codes[79], 'rate_limited');
      // others are untouched
      await ctx.chatMark(viewer, roomId, [admin, viewer]);
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.equal(j.room.viewerCount, 3);
    });

    test('a connection that keeps flooding is disconnected; the room and the others are untouched', async () => {
      const { roomId, admin, viewer, start } = await ctx.room({ viewers: 1, title: 'Steady' });
      const flooder = await ctx.viewer();
      await ackOk(flooder, 'join-stream', { roomId });
      const flooderId = flooder.id;
      const gone = new Promise((resolve) => flooder.once('disconnect', resolve));
      for (let i = 0; i < 400 && flooder.connected; i++) flooder.emit('chat-message', { roomId, text: `spam ${i}` });
      const reason = await Promise.race([gone, settle(5000).then(() => 'still connected')]);
      assert.notEqual(reason, 'still connected');
      await admin.next('viewer-left', (p) => p.viewerId === flooderId, 4000);
      const mark = await ctx.chatMark(viewer, roomId, [admin, viewer]);
      const spam = viewer.all('chat-message', (m) => m.text.startsWith('spam')).length;
      assert.ok(spam <= 5, `${spam} spam messages reached the room (chat limit 5 per 5 s)`);
      const j = await ackOk(await ctx.viewer(), 'join-stream', { roomId });
      assert.deepEqual({ ...j.room, viewerCount: 0 }, { ...start.room, viewerCount: 0, title: 'Steady' });
      assert.equal(j.room.viewerCount, 2);
      assert.ok(mark);
    });
  });
}
