// tests/bench/run.mjs: signaling benchmark, onair-signal (C) against the Node.js socket.io 4.8
// reference (tests/bench/ref-server.mjs), side by side in one run. See docs/BENCHMARKS.md.
// Started by scripts/bench.sh; settings from the environment:
//   BENCH_RUNS (3) BENCH_HOLD (5000) BENCH_ROOM (1000) BENCH_MSGS (500) BENCH_WINDOW (20)
//   BENCH_ACKS_WS (2000) BENCH_ACKS_POLL (1000) BENCH_CONNECTS (2000) BENCH_WORKERS (2)
//   BENCH_SERVERS ("c,node") ONAIR_RELEASE_BUILD (build/release) BENCH_OUT (build/bench)
// Per run and server: a fresh server process; (a) hold BENCH_HOLD idle WebSocket clients: RSS
// per connection; (b) with them still connected, BENCH_ROOM of them join a room and one more
// client sends BENCH_MSGS `bcast`s (acked, BENCH_WINDOW in flight): deliveries/s and server CPU
// per delivery; (d) BENCH_CONNECTS WebSocket connects (50 in flight per worker): connects/s
// and server CPU per connect. Then (c), with a fresh process of every server running at once:
// sequential ack round trips with socket.io-client over websocket and polling, alternating
// between the servers in blocks of 50: p50/p99. Prints a markdown table of medians; writes JSON to BENCH_OUT.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import { REPO, freePort, spawnProcess, startSignal } from '../lib/server.mjs';
import { RawClient } from './rawclient.mjs';

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const cfg = {
  runs: +env('BENCH_RUNS', 3),
  hold: +env('BENCH_HOLD', 5000),
  room: +env('BENCH_ROOM', 1000),
  msgs: +env('BENCH_MSGS', 500),
  window: +env('BENCH_WINDOW', 20),
  acksWs: +env('BENCH_ACKS_WS', 2000),
  acksPoll: +env('BENCH_ACKS_POLL', 1000),
  connects: +env('BENCH_CONNECTS', 2000),
  workers: +env('BENCH_WORKERS', 2),
  servers: env('BENCH_SERVERS', 'c,node').split(','),
  release: path.resolve(REPO, env('ONAIR_RELEASE_BUILD', 'build/release')),
  out: path.resolve(REPO, env('BENCH_OUT', 'build/bench')),
};
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux
const now = () => performance.timeOrigin + performance.now();
const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('#', ...a);

/** Server CPU time (user+system) in seconds and RSS in bytes, from /proc. */
function cpuSec(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

const SERVERS = {
  c: {
    label: 'onair-signal (C)',
    start: () =>
      startSignal({ bin: path.join(cfg.release, 'onair-signal'), env: { LOG_LEVEL: env('BENCH_LOG_LEVEL', 'info') } }),
  },
  node: {
    label: 'Node socket.io 4.8',
    start: async () => {
      const port = await freePort();
      const h = await spawnProcess({
        cmd: process.execPath,
        args: [path.join(REPO, 'tests/bench/ref-server.mjs'), '--app', 'test', '--host', '127.0.0.1', '--port', String(port)],
        name: 'ref-server',
        ready: (_l, j) => j && j.msg === 'listening',
      });
      return { ...h, port, url: `http://127.0.0.1:${port}` };
    },
  },
};

/** The load-client processes. */
class Workers {
  constructor(n) {
    this.n = n;
    this.procs = [];
    this.seq = 0;
    this.pending = new Map();
  }
  async start() {
    for (let i = 0; i < this.n; i++) {
      const p = fork(path.join(REPO, 'tests/bench/worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await new Promise((resolve) => p.once('message', resolve));
      p.on('message', (m) => {
        const r = this.pending.get(m.id);
        if (!r) return;
        this.pending.delete(m.id);
        if (m.ok) r.resolve(m);
        else r.reject(new Error(`worker: ${m.error}`));
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
  /** Splits count over the workers and runs cmd on each with {[key]: share}. */
  all(cmd, args = {}, split) {
    return Promise.all(
      this.procs.map((_, i) => {
        const a = { ...args };
        if (split) a[split] = Math.floor(args[split] / this.n) + (i < args[split] % this.n ? 1 : 0);
        return this.req(i, cmd, a);
      }),
    );
  }
  stop() {
    for (const p of this.procs) p.kill();
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One connected socket.io-client per server and transport; measures sequential `echo` ack
 * round trips, alternating blocks of 50 between the servers so that load from elsewhere on the
 * machine hits both alike. Returns {key: {p50, p99}}. */
async function ackRtt(urls, transport, n) {
  const socks = {};
  for (const [k, url] of Object.entries(urls)) {
    const s = io(url, { forceNew: true, reconnection: false, transports: [transport] });
    await new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', reject);
    });
    socks[k] = s;
  }
  const one = (s) => new Promise((resolve) => s.emit('echo', { t: 1, s: 'ack-rtt' }, resolve));
  const us = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
  for (const s of Object.values(socks)) for (let i = 0; i < 100; i++) await one(s); // warm up
  for (let done = 0; done < n; done += 50) {
    for (const [k, s] of Object.entries(socks)) {
      for (let i = 0; i < Math.min(50, n - done); i++) {
        const t0 = process.hrtime.bigint();
        await one(s);
        us[k].push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }
  }
  for (const s of Object.values(socks)) s.close();
  const out = {};
  for (const [k, xs] of Object.entries(us)) {
    xs.sort((x, y) => x - y);
    out[k] = { p50: pct(xs, 50), p99: pct(xs, 99) };
  }
  return out;
}

/** (c) for every server at once: fresh processes, idle but for the one ack client each. */
async function ackPhase() {
  const srvs = {};
  const r = {};
  try {
    for (const k of cfg.servers) srvs[k] = await SERVERS[k].start();
    const urls = Object.fromEntries(Object.entries(srvs).map(([k, h]) => [k, h.url]));
    const ws = await ackRtt(urls, 'websocket', cfg.acksWs);
    const pl = await ackRtt(urls, 'polling', cfg.acksPoll);
    for (const k of cfg.servers) {
      r[k] = { ackWsP50: ws[k].p50, ackWsP99: ws[k].p99, ackPollP50: pl[k].p50, ackPollP99: pl[k].p99 };
      log(`${k}: ack rtt ws p50 ${ws[k].p50.toFixed(0)} p99 ${ws[k].p99.toFixed(0)} us; polling p50 ${pl[k].p50.toFixed(0)} p99 ${pl[k].p99.toFixed(0)} us`);
    }
  } finally {
    for (const [k, h] of Object.entries(srvs)) {
      const ex = await h.stop();
      if (r[k]) r[k].ackExit = ex;
    }
  }
  return r;
}

async function benchOne(key, W) {
  const srv = await SERVERS[key].start();
  const pid = srv.pid;
  const url = srv.url;
  const r = {};
  try {
    // warm-up: load the code paths of connect/disconnect before the baseline
    await W.all('connect', { url, n: 50 }, 'n');
    await W.all('close');
    await delay(300);
    const rss0 = rssBytes(pid);
    r.rssBaseMiB = rss0 / 1048576;

    // (a) hold N idle WebSocket clients
    let t0 = now();
    await W.all('connect', { url, n: cfg.hold, conc: 50 }, 'n');
    r.holdConnectS = (now() - t0) / 1000;
    await delay(1000);
    const rss1 = rssBytes(pid);
    r.rssPerConnKiB = (rss1 - rss0) / cfg.hold / 1024;
    log(`${key}: hold ${cfg.hold}: ${r.rssPerConnKiB.toFixed(2)} KiB/conn (RSS ${(rss0 / 1048576).toFixed(1)} -> ${(rss1 / 1048576).toFixed(1)} MiB)`);

    // (b) one sender -> room of cfg.room receivers (the held clients stay connected)
    const joins = await W.all('join', { room: 'bench', n: cfg.room }, 'n');
    const maxSize = Math.max(...joins.map((j) => j.maxSize));
    if (maxSize !== cfg.room) throw new Error(`room size ${maxSize}, expected ${cfg.room}`);
    const sender = await new RawClient().connect(url);
    const perWorker = W.procs.map((_, i) => Math.floor(cfg.room / W.n) + (i < cfg.room % W.n ? 1 : 0));
    const expects = Promise.all(W.procs.map((_, i) => W.req(i, 'expect', { total: perWorker[i] * cfg.msgs })));
    const pad = 'x'.repeat(64);
    const cpu0 = cpuSec(pid);
    t0 = now();
    let sent = 0;
    const lane = async () => {
      while (sent < cfg.msgs) {
        const seq = sent++;
        await sender.emitAck('bcast', 'bench', { seq, pad });
      }
    };
    await Promise.all(Array.from({ length: cfg.window }, lane));
    const ends = await expects;
    const tEnd = Math.max(...ends.map((e) => e.tEnd));
    const cpu1 = cpuSec(pid);
    const deliveries = cfg.msgs * cfg.room;
    r.deliveriesPerS = deliveries / ((tEnd - t0) / 1000);
    r.cpuUsPerDelivery = ((cpu1 - cpu0) * 1e6) / deliveries;
    log(`${key}: room ${cfg.room} x ${cfg.msgs}: ${Math.round(r.deliveriesPerS)} deliveries/s, ${r.cpuUsPerDelivery.toFixed(3)} us CPU/delivery`);
    await sender.close();
    await W.all('close');

    // (d) connects/s
    await delay(200);
    const c0 = cpuSec(pid);
    t0 = now();
    await W.all('connect', { url, n: cfg.connects, conc: 50 }, 'n');
    const dt = (now() - t0) / 1000;
    const c1 = cpuSec(pid);
    r.connectsPerS = cfg.connects / dt;
    r.cpuUsPerConnect = ((c1 - c0) * 1e6) / cfg.connects;
    log(`${key}: ${cfg.connects} connects: ${Math.round(r.connectsPerS)}/s, ${r.cpuUsPerConnect.toFixed(0)} us CPU/connect`);
    await W.all('close');
  } finally {
    const ex = await srv.stop();
    r.exit = ex;
  }
  return r;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const METRICS = [
  ['rssPerConnKiB', 'server RSS per idle WebSocket connection (KiB)', 2, 'C/Node <= 0.10'],
  ['rssBaseMiB', 'server RSS at start, after warm-up (MiB)', 1, ''],
  ['holdConnectS', `time to connect ${cfg.hold} WebSocket clients (s)`, 2, ''],
  ['deliveriesPerS', `room broadcast: deliveries/s (1 sender -> ${cfg.room})`, 0, ''],
  ['cpuUsPerDelivery', 'room broadcast: server CPU per delivery (µs)', 3, 'C/Node <= 0.10'],
  ['ackWsP50', 'ack round trip, WebSocket, p50 (µs)', 0, ''],
  ['ackWsP99', 'ack round trip, WebSocket, p99 (µs)', 0, 'C/Node <= 1'],
  ['ackPollP50', 'ack round trip, polling, p50 (µs)', 0, ''],
  ['ackPollP99', 'ack round trip, polling, p99 (µs)', 0, 'C/Node <= 1'],
  ['connectsPerS', 'WebSocket connects/s (handshake + CONNECT)', 0, ''],
  ['cpuUsPerConnect', 'server CPU per WebSocket connect (µs)', 0, ''],
];

async function main() {
  if (cfg.room > cfg.hold) throw new Error(`BENCH_ROOM (${cfg.room}) must not exceed BENCH_HOLD (${cfg.hold})`);
  const load0 = os.loadavg();
  mkdirSync(cfg.out, { recursive: true });
  const W = new Workers(cfg.workers);
  await W.start();
  const results = Object.fromEntries(cfg.servers.map((k) => [k, []]));
  try {
    for (let run = 0; run < cfg.runs; run++) {
      // alternate the order so neither server always runs first
      const order = run % 2 ? [...cfg.servers].reverse() : cfg.servers;
      for (const k of order) {
        log(`run ${run + 1}/${cfg.runs}: ${SERVERS[k].label}`);
        results[k].push(await benchOne(k, W));
      }
      log(`run ${run + 1}/${cfg.runs}: ack round trips, all servers side by side`);
      const acks = await ackPhase();
      for (const k of cfg.servers) Object.assign(results[k][run], acks[k]);
    }
  } finally {
    W.stop();
  }
  const med = Object.fromEntries(
    cfg.servers.map((k) => [k, Object.fromEntries(METRICS.map(([m]) => [m, median(results[k].map((r) => r[m]))]))]),
  );
  const machine = `${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
  const lines = [];
  const hasBoth = cfg.servers.includes('c') && cfg.servers.includes('node');
  let rev = '?';
  try {
    rev = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {}
  lines.push(
    `Machine: ${machine}; load average before/after: ${load0.map((x) => x.toFixed(2)).join(' ')} / ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}. Tree at ${rev}, ${new Date().toISOString().slice(0, 16)}Z. ` +
      `Medians of ${cfg.runs} runs (min–max in parentheses); hold ${cfg.hold}, room ${cfg.room} × ${cfg.msgs} messages, ` +
      `${cfg.acksWs} WebSocket / ${cfg.acksPoll} polling acks, ${cfg.connects} connects, ${cfg.workers} client processes.`,
    '',
  );
  lines.push(`| metric | ${cfg.servers.map((k) => SERVERS[k].label).join(' | ')} |${hasBoth ? ' C/Node | target |' : ''}`);
  lines.push(`|---|${cfg.servers.map(() => '---:').join('|')}|${hasBoth ? '---:|---|' : ''}`);
  for (const [m, label, dp, target] of METRICS) {
    const cells = cfg.servers.map((k) => {
      const xs = results[k].map((r) => r[m]);
      const range = xs.length > 1 ? ` (${Math.min(...xs).toFixed(dp)}–${Math.max(...xs).toFixed(dp)})` : '';
      return med[k][m].toFixed(dp) + range;
    });
    const ratio = hasBoth ? ` ${(med.c[m] / med.node[m]).toFixed(3)} | ${target} |` : '';
    lines.push(`| ${label} | ${cells.join(' | ')} |${ratio}`);
  }
  const table = lines.join('\n');
  console.log(table);
  const exits = cfg.servers.map((k) => `${k}: ${results[k].map((r) => JSON.stringify(r.exit)).join(' ')}`).join('; ');
  console.log(`\nServer exits: ${exits}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(path.join(cfg.out, `results-${stamp}.json`), JSON.stringify({ cfg, machine, results, medians: med }, null, 2));
  writeFileSync(path.join(cfg.out, 'latest.md'), table + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
