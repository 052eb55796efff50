// tests/bench/live_run.mjs: the livestream signaling benchmark (docs/BENCHMARKS.md, "Livestream
// app"): LIVE_VIEWERS viewers join one room and an admin chats to them, on
//   c2   two `onair-signal --app livestream` nodes (release build) on one real Redis, the
//        viewers spread evenly over both, the admin on the first
//   c1   one such node with in-process state (no Redis)
//   node the Node.js reference, tests/bench/live_ref.mjs (socket.io 4.8, one node, in-memory)
// each on fresh processes per run (the order alternates between runs), with the same clients.
// Started by `BENCH=live scripts/bench.sh`; settings from the environment:
//   BENCH_RUNS (3) LIVE_VIEWERS (5000) LIVE_SEQ_JOINS (200) LIVE_REJOINS (2000)
//   LIVE_JOIN_CONC (8, per worker) LIVE_MSGS (300) LIVE_WINDOW (20) LIVE_WORKERS (4)
//   LIVE_SERVERS ("c2,c1,node") LIVE_TIMEOUT_S (1200, the whole run) BENCH_LOG_LEVEL (info)
//   ONAIR_RELEASE_BUILD (build/release) BENCH_OUT (build/bench)
//   BENCH_TREE (the tree named in the table; default: git HEAD)
// Per run and server: the admin starts room "bench" (live, no media: no SFU is involved); 50
// viewers connect, join and leave (warm-up); then
//   (a) LIVE_VIEWERS viewers connect (JWT in the CONNECT auth, minted by the workers): time,
//       CPU per connect, RSS per connected viewer;
//   (b) they join: all but LIVE_SEQ_JOINS with LIVE_JOIN_CONC in flight per worker, the rest
//       one at a time: emit -> ack latency p50/p99, joins/s, server CPU per join; the admin's
//       viewer-count must reach LIVE_VIEWERS; server RSS per joined viewer (VmRSS after -
//       before, summed over the nodes, / viewers); then LIVE_REJOINS leave + join pairs with
//       LIVE_JOIN_CONC in flight per worker: CPU per pair (empty chat history);
//   (c) the admin sends LIVE_MSGS chat-messages (acked, LIVE_WINDOW in flight) and every member
//       (the viewers and the admin) counts them: deliveries/s, server CPU (utime+stime of every
//       node) and write system calls per delivery;
//   (d) with 50 messages of history now: LIVE_SEQ_JOINS leave + join one at a time (latency),
//       then LIVE_REJOINS pairs in flight (CPU per pair).
// On Redis, its CPU and RSS apart, and its commands per join / chat message / leave + join
// (INFO commandstats) in the JSON. Prints a markdown table of medians; writes JSON to BENCH_OUT.
import { execFileSync, fork } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO, freePort, spawnProcess, startRedis, startSignal, withTimeout } from '../lib/server.mjs';
import { LiveClient, mintToken } from './live_client.mjs';

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const cfg = {
  runs: +env('BENCH_RUNS', 3),
  viewers: +env('LIVE_VIEWERS', 5000),
  seqJoins: +env('LIVE_SEQ_JOINS', 200),
  rejoins: +env('LIVE_REJOINS', 2000),
  joinConc: +env('LIVE_JOIN_CONC', 8),
  msgs: +env('LIVE_MSGS', 300),
  window: +env('LIVE_WINDOW', 20),
  workers: +env('LIVE_WORKERS', 4),
  servers: env('LIVE_SERVERS', 'c2,c1,node').split(','),
  timeoutS: +env('LIVE_TIMEOUT_S', 1200),
  logLevel: env('BENCH_LOG_LEVEL', 'info'),
  release: path.resolve(REPO, env('ONAIR_RELEASE_BUILD', 'build/release')),
  out: path.resolve(REPO, env('BENCH_OUT', 'build/bench')),
};
// the limiter is raised so that the benchmark measures throughput, not PROTOCOL.md 4's limits
const LIMIT_ARGS = ['--events-per-second', '1000000', '--chat-limit', '1000000', '--chat-window', '1000'];
// every client connects from 127.0.0.1: the C server's per-address HTTP request limit is off
const C_ARGS = [...LIMIT_ARGS, '--http-rate', '0'];
const ROOM = 'bench';
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux
const now = () => performance.timeOrigin + performance.now();
const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('#', ...a);
const live = new Set(); // every started process handle, for the deadline

function cpuSec(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}
/** write-family system calls the process made so far (/proc/PID/io syscw). */
function syscw(pid) {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
}
/** Redis INFO commandstats as {command: calls}; resets the counters when reset. */
function redisCalls(port, reset = false) {
  const out = {};
  const txt = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' });
  for (const m of txt.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) out[m[1]] = { calls: +m[2], usec: +m[3] };
  if (reset) execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'CONFIG', 'RESETSTAT']);
  return out;
}
/** calls and usec per unit of every command in stats. */
const perUnit = (stats, n) =>
  Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, { calls: +(v.calls / n).toFixed(3), usec: +(v.usec / n).toFixed(2) }]));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const track = (h) => {
  live.add(h);
  return h;
};
async function stopAll(handles) {
  const ex = [];
  for (const h of handles) {
    ex.push(await h.stop());
    live.delete(h);
  }
  return ex;
}

/** A C livestream node (release build) with the raised limits; ready once it registered in its store. */
async function startNode(secret, redisUrl, nodeId) {
  const h = track(
    await startSignal({
      bin: path.join(cfg.release, 'onair-signal'),
      app: 'livestream',
      args: ['--node-id', nodeId, ...(redisUrl ? ['--redis-url', redisUrl] : []), ...C_ARGS],
      env: { JWT_SECRET: secret, LOG_LEVEL: cfg.logLevel, REDIS_URL: '', NODE_ENV: '', MAX_VIEWERS: '0' },
    }),
  );
  await h.waitLog((_l, j) => j && j.msg === 'node registered', 10000); // the store answered
  return h;
}

const SERVERS = {
  c2: {
    label: 'onair-signal (C), 2 nodes + Redis',
    async start(secret) {
      const redis = track(await startRedis());
      const a = await startNode(secret, redis.url, 'bench-a');
      const b = await startNode(secret, redis.url, 'bench-b');
      return { urls: [a.url, b.url], pids: [a.pid, b.pid], redisPid: redis.pid, redisPort: redis.port, stop: () => stopAll([a, b, redis]) };
    },
  },
  c1: {
    label: 'onair-signal (C), 1 node, in-process state',
    async start(secret) {
      const a = await startNode(secret, null, 'bench-a');
      return { urls: [a.url], pids: [a.pid], redisPid: null, stop: () => stopAll([a]) };
    },
  },
  node: {
    label: 'Node socket.io 4.8 (1 node, in-memory)',
    async start(secret) {
      const port = await freePort();
      const h = track(
        await spawnProcess({
          cmd: process.execPath,
          args: [path.join(REPO, 'tests/bench/live_ref.mjs'), '--host', '127.0.0.1', '--port', String(port), ...LIMIT_ARGS],
          env: { JWT_SECRET: secret },
          name: 'live-ref',
          ready: (_l, j) => j && j.msg === 'listening',
        }),
      );
      return { urls: [`http://127.0.0.1:${port}`], pids: [h.pid], redisPid: null, stop: () => stopAll([h]) };
    },
  },
};

/** The load-client processes (tests/bench/live_worker.mjs). */
class Workers {
  constructor(n) {
    this.n = n;
    this.procs = [];
    this.seq = 0;
    this.pending = new Map();
  }
  async start() {
    for (let i = 0; i < this.n; i++) {
      const p = fork(path.join(REPO, 'tests/bench/live_worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await withTimeout(new Promise((resolve) => p.once('message', resolve)), 10000, 'worker start');
      p.on('message', (m) => {
        const r = this.pending.get(m.id);
        if (!r) return;
        this.pending.delete(m.id);
        if (m.ok) r.resolve(m);
        else r.reject(new Error(`worker ${i}: ${m.error}`));
      });
      this.procs.push(p);
    }
  }
  req(i, cmd, args = {}) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.procs[i].send({ id, cmd, ...args });
    });
  }
  /** n split over the workers: worker i's share. */
  share(n, i) {
    return Math.floor(n / this.n) + (i < n % this.n ? 1 : 0);
  }
  /** Runs cmd on every worker with {[split]: its share of args[split]}. */
  all(cmd, args = {}, split) {
    return Promise.all(
      this.procs.map((_, i) => this.req(i, cmd, split ? { ...args, [split]: this.share(args[split], i) } : args)),
    );
  }
  stop() {
    for (const p of this.procs) if (p.exitCode === null) p.kill();
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** count `cmd`s of n = 1 spread round-robin over the workers (worker i at most share[i]), one
 * at a time; their latencies are appended to lat. Returns the first error or null. */
async function oneAtATime(W, cmd, count, share, lat) {
  let err = null;
  for (let k = 0, left = [...share]; k < count; k++) {
    let i = k % W.n;
    while (!left[i]) i = (i + 1) % W.n;
    left[i]--;
    const one = await withTimeout(W.req(i, cmd, { room: ROOM, n: 1, conc: 1 }), 10000, `one ${cmd}`);
    lat.push(...one.lat);
    if (one.fails && !err) err = one.firstError;
  }
  return err;
}

/** cfg.rejoins leave-stream + join-stream pairs, joinConc in flight per worker: server CPU
 * (and Redis commands) per pair. */
async function bulkRejoin(W, S, nodeCpu) {
  if (S.redisPort) redisCalls(S.redisPort, true);
  const c0 = nodeCpu();
  const res = await withTimeout(W.all('rejoin', { room: ROOM, n: cfg.rejoins, conc: cfg.joinConc }, 'n'), 120000, 'rejoin');
  const err = res.map((x) => x.firstError).find(Boolean);
  if (err) throw new Error(`leave/join-stream refused: ${err}`);
  return {
    cpuUs: ((nodeCpu() - c0) * 1e6) / cfg.rejoins,
    redis: S.redisPort ? perUnit(redisCalls(S.redisPort), cfg.rejoins) : null,
  };
}

async function benchOne(key, W, run) {
  const secret = crypto.randomBytes(24).toString('base64url');
  const S = await SERVERS[key].start(secret);
  const nodeCpu = () => sum(S.pids.map(cpuSec));
  const nodeWrites = () => sum(S.pids.map(syscw));
  const redisCpu = () => (S.redisPid ? cpuSec(S.redisPid) : 0);
  const r = { key };
  let admin;
  try {
    // the admin (on the first node) starts the room; it counts viewer-count and chat-message
    admin = await new LiveClient(mintToken(secret, { sub: 'bench-admin', name: 'Bench admin', role: 'admin' })).connect(S.urls[0]);
    let lastCount = -1;
    admin.onEvent = (t) => {
      if (t.startsWith('42["viewer-count"')) lastCount = JSON.parse(t.slice(2))[1].count;
    };
    const [st] = JSON.parse(await withTimeout(admin.emitAck('start-stream', { roomId: ROOM, title: 'Benchmark' }), 10000, 'start-stream'));
    if (!st.ok) throw new Error(`start-stream: ${JSON.stringify(st)}`);

    // warm-up: the code paths of connect, join and leave before the baseline
    await withTimeout(W.all('connect', { urls: S.urls, n: 50, secret, tag: `w${run}` }, 'n'), 30000, 'warm-up connect');
    await withTimeout(W.all('join', { room: ROOM, n: 50, conc: 4 }, 'n'), 30000, 'warm-up join');
    await W.all('close');
    await delay(500);
    const rss0 = S.pids.map(rssBytes);
    const redisRss0 = S.redisPid ? rssBytes(S.redisPid) : 0;
    r.rssBaseMiB = sum(rss0) / 1048576;

    // (a) connect the viewers
    let c0 = nodeCpu();
    let t0 = now();
    await withTimeout(W.all('connect', { urls: S.urls, n: cfg.viewers, conc: 25, secret, tag: `v${run}` }, 'n'), 120000, 'connect');
    r.connectS = (now() - t0) / 1000;
    r.cpuUsPerConnect = ((nodeCpu() - c0) * 1e6) / cfg.viewers;
    await delay(1000);
    const rss1 = S.pids.map(rssBytes);
    r.rssConnKiB = (sum(rss1) - sum(rss0)) / cfg.viewers / 1024;

    // (b) join: most with joinConc in flight per worker, then seqJoins one at a time
    const seqShare = W.procs.map((_, i) => W.share(cfg.seqJoins, i));
    const bulkShare = W.procs.map((_, i) => W.share(cfg.viewers, i) - seqShare[i]);
    const bulkN = sum(bulkShare);
    if (S.redisPort) redisCalls(S.redisPort, true);
    c0 = nodeCpu();
    let rc0 = redisCpu();
    t0 = now();
    const bulk = await withTimeout(
      Promise.all(W.procs.map((_, i) => W.req(i, 'join', { room: ROOM, n: bulkShare[i], conc: cfg.joinConc }))),
      180000,
      'join',
    );
    const joinS = (now() - t0) / 1000;
    r.joinsPerS = bulkN / joinS;
    r.cpuUsPerJoin = ((nodeCpu() - c0) * 1e6) / bulkN;
    r.redisCpuUsPerJoin = S.redisPid ? ((redisCpu() - rc0) * 1e6) / bulkN : null;
    if (S.redisPort) r.redisPerJoin = perUnit(redisCalls(S.redisPort, true), bulkN);
    const seqLat = [];
    const fails = sum(bulk.map((b) => b.fails));
    let firstError = bulk.map((b) => b.firstError).find(Boolean);
    const seqErr = await oneAtATime(W, 'join', cfg.seqJoins, seqShare, seqLat);
    firstError = firstError || seqErr;
    if (fails || firstError) throw new Error(`join-stream refused: ${firstError}`);
    const bl = bulk.flatMap((b) => b.lat).sort((x, y) => x - y);
    seqLat.sort((x, y) => x - y);
    r.joinP50 = pct(bl, 50) / 1000;
    r.joinP99 = pct(bl, 99) / 1000;
    r.seqJoinP50 = pct(seqLat, 50) / 1000;
    r.seqJoinP99 = pct(seqLat, 99) / 1000;
    const deadline = Date.now() + 15000;
    while (lastCount !== cfg.viewers) {
      if (Date.now() > deadline) throw new Error(`viewer-count ${lastCount}, expected ${cfg.viewers}`);
      await delay(50);
    }
    await delay(1000);
    const rss2 = S.pids.map(rssBytes);
    r.rssViewerKiB = (sum(rss2) - sum(rss0)) / cfg.viewers / 1024;
    r.rssPerNodeKiB = rss2.map((x, i) => (x - rss0[i]) / 1024);
    r.redisRssViewerKiB = S.redisPid ? (rssBytes(S.redisPid) - redisRss0) / cfg.viewers / 1024 : null;
    log(
      `${key}: ${cfg.viewers} viewers: connect ${r.connectS.toFixed(2)} s (${r.cpuUsPerConnect.toFixed(0)} us CPU each), ` +
        `${r.rssConnKiB.toFixed(2)} KiB/conn, ` +
        `${r.rssViewerKiB.toFixed(2)} KiB/viewer; join ${Math.round(r.joinsPerS)}/s p50 ${r.joinP50.toFixed(2)} p99 ` +
        `${r.joinP99.toFixed(2)} ms, ${r.cpuUsPerJoin.toFixed(0)} us CPU/join; one at a time p50 ` +
        `${r.seqJoinP50.toFixed(2)} p99 ${r.seqJoinP99.toFixed(2)} ms`,
    );

    if (r.redisPerJoin) log(`${key}: Redis per join: ${JSON.stringify(r.redisPerJoin)}`);
    const rj0 = await bulkRejoin(W, S, nodeCpu);
    r.cpuUsPerRejoin0 = rj0.cpuUs;
    r.redisPerRejoin0 = rj0.redis;
    log(`${key}: ${cfg.rejoins} x leave + join, empty history: ${rj0.cpuUs.toFixed(0)} us CPU each` +
      (rj0.redis ? `; Redis: ${JSON.stringify(rj0.redis)}` : ''));

    // (c) chat fan-out: the admin -> the room (every viewer and the admin itself)
    const expects = Promise.all(
      W.procs.map((_, i) => W.req(i, 'expect', { total: W.share(cfg.viewers, i) * cfg.msgs })),
    );
    const adminDone = new Promise((resolve) => {
      admin.chats = 0;
      admin.onChat = () => {
        if (admin.chats === cfg.msgs) resolve(now());
      };
    });
    const pad = 'x'.repeat(64);
    c0 = nodeCpu();
    rc0 = redisCpu();
    if (S.redisPort) redisCalls(S.redisPort, true);
    const w0 = nodeWrites();
    t0 = now();
    let sent = 0;
    let refused = null;
    const lane = async () => {
      while (sent < cfg.msgs) {
        const seq = sent++;
        const [a] = JSON.parse(await admin.emitAck('chat-message', { roomId: ROOM, text: `m${seq} ${pad}` }));
        if (!a.ok && !refused) refused = a;
      }
    };
    await withTimeout(Promise.all(Array.from({ length: cfg.window }, lane)), 120000, 'chat sends');
    if (refused) throw new Error(`chat-message refused: ${JSON.stringify(refused)}`);
    const ends = await withTimeout(Promise.all([expects, adminDone]), 120000, 'chat deliveries');
    const tEnd = Math.max(...ends[0].map((e) => e.tEnd), ends[1]);
    const deliveries = cfg.msgs * (cfg.viewers + 1);
    r.deliveriesPerS = deliveries / ((tEnd - t0) / 1000);
    r.cpuUsPerDelivery = ((nodeCpu() - c0) * 1e6) / deliveries;
    r.writesPerDelivery = (nodeWrites() - w0) / deliveries;
    r.redisCpuUsPerDelivery = S.redisPid ? ((redisCpu() - rc0) * 1e6) / deliveries : null;
    if (S.redisPort) r.redisPerChat = perUnit(redisCalls(S.redisPort), cfg.msgs);
    log(
      `${key}: chat ${cfg.msgs} x ${cfg.viewers + 1}: ${Math.round(r.deliveriesPerS)} deliveries/s, ` +
        `${r.cpuUsPerDelivery.toFixed(3)} us CPU/delivery, ${r.writesPerDelivery.toFixed(3)} writes/delivery` +
        (S.redisPid ? ` (+ Redis ${r.redisCpuUsPerDelivery.toFixed(3)})` : ''),
    );
    if (r.redisPerChat) log(`${key}: Redis per chat message: ${JSON.stringify(r.redisPerChat)}`);

    // (d) the room now has 50 chat messages of history: viewers leave and join again, one at a time
    const histLat = [];
    const histErr = await oneAtATime(W, 'rejoin', cfg.seqJoins, seqShare, histLat);
    if (histErr) throw new Error(`leave/join-stream refused: ${histErr}`);
    histLat.sort((x, y) => x - y);
    r.histJoinP50 = pct(histLat, 50) / 1000;
    r.histJoinP99 = pct(histLat, 99) / 1000;
    const rj50 = await bulkRejoin(W, S, nodeCpu);
    r.cpuUsPerRejoin50 = rj50.cpuUs;
    r.redisPerRejoin50 = rj50.redis;
    log(
      `${key}: join-stream with 50 messages of history, one at a time: p50 ${r.histJoinP50.toFixed(2)} p99 ` +
        `${r.histJoinP99.toFixed(2)} ms; ${cfg.rejoins} x leave + join: ${rj50.cpuUs.toFixed(0)} us CPU each` +
        (rj50.redis ? `; Redis: ${JSON.stringify(rj50.redis)}` : ''),
    );
  } finally {
    if (admin) await admin.close();
    await withTimeout(W.all('close'), 60000, 'close').catch((e) => log(`close: ${e.message}`));
    r.exits = await S.stop();
  }
  return r;
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const METRICS = [
  ['rssViewerKiB', 'server RSS per joined viewer (KiB, all nodes)', 2],
  ['rssConnKiB', 'server RSS per connected viewer before joining (KiB)', 2],
  ['rssBaseMiB', 'server RSS at start, after warm-up (MiB, all nodes)', 1],
  ['connectS', `time to connect ${cfg.viewers} viewers with JWTs (s)`, 2],
  ['cpuUsPerConnect', 'server CPU per connect (µs, all nodes)', 0],
  ['joinP50', `join-stream emit -> ack, p50 (ms; ${cfg.joinConc * cfg.workers} in flight)`, 2],
  ['joinP99', `join-stream emit -> ack, p99 (ms; ${cfg.joinConc * cfg.workers} in flight)`, 2],
  ['joinsPerS', 'joins/s', 0],
  ['cpuUsPerJoin', 'server CPU per join (µs, all nodes)', 0],
  ['seqJoinP50', `join-stream into the full room, one at a time, p50 (ms)`, 2],
  ['seqJoinP99', `join-stream into the full room, one at a time, p99 (ms)`, 2],
  ['histJoinP50', 'join-stream with 50 chat messages of history, one at a time, p50 (ms)', 2],
  ['histJoinP99', 'join-stream with 50 chat messages of history, one at a time, p99 (ms)', 2],
  ['cpuUsPerRejoin0', `server CPU per leave-stream + join-stream, empty history (µs; ${cfg.joinConc * cfg.workers} in flight)`, 0],
  ['cpuUsPerRejoin50', `server CPU per leave-stream + join-stream, 50 messages of history (µs; ${cfg.joinConc * cfg.workers} in flight)`, 0],
  ['deliveriesPerS', `chat fan-out: deliveries/s (1 admin -> ${cfg.viewers} + itself)`, 0],
  ['cpuUsPerDelivery', 'chat fan-out: server CPU per delivery (µs, all nodes)', 3],
  ['writesPerDelivery', 'chat fan-out: server write system calls per delivery', 3],
  ['redisCpuUsPerDelivery', 'chat fan-out: Redis CPU per delivery (µs)', 4],
  ['redisCpuUsPerJoin', 'Redis CPU per join (µs)', 0],
  ['redisRssViewerKiB', 'Redis RSS per joined viewer (KiB)', 2],
];

function table(results, load0) {
  const keys = cfg.servers;
  const med = Object.fromEntries(keys.map((k) => [k, Object.fromEntries(METRICS.map(([m]) => [m, median(results[k].map((r) => r[m]))]))]));
  const ratios = keys.filter((k) => k !== 'node' && keys.includes('node'));
  const machine = `${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
  let rev = env('BENCH_TREE', '?'); // the tree the binary was built from, when not this one
  if (rev === '?') {
    try {
      rev = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {}
  }
  const lines = [
    `Machine: ${machine}; load average before/after: ${load0.map((x) => x.toFixed(2)).join(' ')} / ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}. Tree at ${rev}, binary ${cfg.release}, ${new Date().toISOString().slice(0, 16)}Z. Medians of ${cfg.runs} runs ` +
      `(min–max in parentheses); ${cfg.viewers} viewers (${cfg.viewers - cfg.seqJoins} joined ${cfg.joinConc} in flight per worker, ` +
      `${cfg.seqJoins} one at a time), ${cfg.msgs} chat messages (${cfg.window} in flight), ${cfg.workers} client processes.`,
    '',
    `| metric | ${keys.map((k) => SERVERS[k].label).join(' | ')} |${ratios.map((k) => ` ${k}/node |`).join('')}`,
    `|---|${keys.map(() => '---:').join('|')}|${ratios.map(() => '---:|').join('')}`,
  ];
  for (const [m, label, dp] of METRICS) {
    if (keys.every((k) => med[k][m] === null)) continue;
    const cells = keys.map((k) => {
      const xs = results[k].map((r) => r[m]).filter((x) => typeof x === 'number');
      if (!xs.length) return '–';
      const range = xs.length > 1 ? ` (${Math.min(...xs).toFixed(dp)}–${Math.max(...xs).toFixed(dp)})` : '';
      return med[k][m].toFixed(dp) + range;
    });
    const rs = ratios.map((k) => (med[k][m] !== null && med.node[m] ? ` ${(med[k][m] / med.node[m]).toFixed(3)} |` : ' |'));
    lines.push(`| ${label} | ${cells.join(' | ')} |${rs.join('')}`);
  }
  return { text: lines.join('\n'), med, machine };
}

async function main() {
  for (const k of cfg.servers) if (!SERVERS[k]) throw new Error(`LIVE_SERVERS: unknown server ${k}`);
  if (cfg.seqJoins > cfg.viewers) throw new Error('LIVE_SEQ_JOINS must not exceed LIVE_VIEWERS');
  const deadline = setTimeout(async () => {
    log(`deadline: ${cfg.timeoutS} s over; killing what is left`);
    for (const h of live) h.proc.kill('SIGKILL');
    W.stop();
    process.exit(2);
  }, cfg.timeoutS * 1000);
  const load0 = os.loadavg();
  mkdirSync(cfg.out, { recursive: true });
  const W = new Workers(cfg.workers);
  const results = Object.fromEntries(cfg.servers.map((k) => [k, []]));
  try {
    await W.start();
    for (let run = 0; run < cfg.runs; run++) {
      const order = run % 2 ? [...cfg.servers].reverse() : cfg.servers;
      for (const k of order) {
        log(`run ${run + 1}/${cfg.runs}: ${SERVERS[k].label}`);
        results[k].push(await benchOne(k, W, run));
      }
    }
  } finally {
    W.stop();
    clearTimeout(deadline);
  }
  const t = table(results, load0);
  console.log(t.text);
  const exits = cfg.servers.map((k) => `${k}: ${results[k].map((r) => JSON.stringify(r.exits.map((e) => e.code))).join(' ')}`).join('; ');
  console.log(`\nServer exit codes (SIGTERM): ${exits}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(path.join(cfg.out, `live-results-${stamp}.json`), JSON.stringify({ cfg, machine: t.machine, results, medians: t.med }, null, 2));
  writeFileSync(path.join(cfg.out, 'live-latest.md'), t.text + '\n');
}

main().catch((e) => {
  console.error(e);
  for (const h of live) h.proc.kill('SIGKILL');
  process.exit(1);
});
