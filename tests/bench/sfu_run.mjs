// tests/bench/sfu_run.mjs: the SFU benchmark (docs/BENCHMARKS.md, "SFU fan-out"). Started by
// tests/bench/sfu_bench.sh inside a private network namespace (`unshare -n`, lo up); refuses to
// run where any interface other than lo exists. Steps:
//  1. the physical limit: build/release/tools/sfu_limit (srtp_protect + one UDP send per
//     packet and subscriber, CPU µs, medians), with 256 sessions once, and before each N with
//     N sessions and sockets (the SFU's cache footprint grows with N: so does the limit's);
//  2. per bitrate (SFU_BENCH_RATES, kbit/s) and subscriber count N: SFU_BENCH_RUNS runs, each on
//     a fresh `onair-sfu --ip 127.0.0.1` (started with tests/lib/rpc.mjs startSfu) driven by
//     build/release/tools/sfu_load, which prints one JSON result; medians per N. The counts are
//     SFU_BENCH_NS, then N grows by the rate's step while the median loss stays under 0.5%
//     (SFU_BENCH_MAX caps it), then the gap between the last N under 0.5% and the first over is
//     halved up to SFU_BENCH_REFINE times (to a resolution of 50).
// Every run is bounded in time; processes are stopped by PID (SIGTERM, then SIGKILL).
// Settings from the environment:
//   SFU_BENCH_RATES ("2500,600") SFU_BENCH_NS ("50,200,500") SFU_BENCH_STEPS ("2500:100,600:250")
//   SFU_BENCH_MAX (3000) SFU_BENCH_RUNS (3) SFU_BENCH_WARMUP (3) SFU_BENCH_WINDOW (10)
//   SFU_BENCH_POLL_US (2000) SFU_BENCH_REFINE (2) SFU_BENCH_BUDGET_S (3600) SFU_BENCH_LIMIT (1)
//   SFU_BENCH_SFU_ARGS (""): extra onair-sfu flags, e.g. "--fanout-threads 0" for one thread
//   SFU_BENCH_QUIET (50) SFU_BENCH_QUIET_WAIT (120): before each run, wait (at most QUIET_WAIT s)
//   until the machine's CPU use over 1 s is below QUIET % of one core (other tenants);
//   SFU_BENCH_MAX_OTHERS (40) SFU_BENCH_RETRIES (2): a run during which other processes used more
//   than MAX_OTHERS % of a core is done again, at most RETRIES times (the last one is kept)
//   ONAIR_RELEASE_BUILD (build/release) BENCH_OUT (build/bench)
// Writes BENCH_OUT/sfu-<time>.json (every run) and BENCH_OUT/sfu-latest.md (the tables).
// SFU_BENCH_RENDER=<that json> prints the tables of a saved run again (no namespace needed).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSfu } from '../lib/rpc.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const list = (s) => s.split(',').map((x) => +x.trim()).filter((x) => x > 0);
const cfg = {
  rates: list(env('SFU_BENCH_RATES', '2500,600')),
  ns: list(env('SFU_BENCH_NS', '50,200,500')),
  steps: Object.fromEntries(env('SFU_BENCH_STEPS', '2500:100,600:250').split(',').map((s) => s.split(':').map(Number))),
  max: +env('SFU_BENCH_MAX', 3000),
  runs: +env('SFU_BENCH_RUNS', 3),
  warmup: +env('SFU_BENCH_WARMUP', 3),
  window: +env('SFU_BENCH_WINDOW', 10),
  pollUs: +env('SFU_BENCH_POLL_US', 2000),
  refine: +env('SFU_BENCH_REFINE', 2),
  budget: +env('SFU_BENCH_BUDGET_S', 3600),
  limit: env('SFU_BENCH_LIMIT', '1') !== '0',
  sfuArgs: env('SFU_BENCH_SFU_ARGS', '').split(/\s+/).filter(Boolean),
  quiet: +env('SFU_BENCH_QUIET', 50),
  quietWait: +env('SFU_BENCH_QUIET_WAIT', 120),
  maxOthers: +env('SFU_BENCH_MAX_OTHERS', 40),
  retries: +env('SFU_BENCH_RETRIES', 2),
  release: path.resolve(REPO, env('ONAIR_RELEASE_BUILD', 'build/release')),
  out: path.resolve(REPO, env('BENCH_OUT', 'build/bench')),
};
const PORTS = '20000-32000'; // below the ephemeral range (32768-), which the load generator's sockets use
const LOSS_MAX = 0.5; // percent
const log = (...a) => console.error('#', ...a);
const t0 = Date.now();

function assertPrivateNetns() {
  const ifs = readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0].trim())
    .filter(Boolean);
  if (ifs.some((i) => i !== 'lo')) {
    throw new Error(`sfu_run: interfaces ${ifs.join(',')}: run inside \`unshare -n\` (tests/bench/sfu_bench.sh)`);
  }
}

// Runs cmd, resolves with its stdout; kills it (by PID) after ms.
function runTool(cmd, args, ms) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => {
      err += d;
      if (err.length > 65536) err = err.slice(-32768);
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      err += `\n(killed after ${ms} ms)`;
    }, ms);
    p.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve({ out, err });
      else reject(new Error(`${path.basename(cmd)} exited ${code ?? sig}: ${err.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

// CPU busy ticks of the whole machine (/proc/stat: user nice system irq softirq steal).
function busyTicks() {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until the machine is quiet (other tenants' load), bounded; returns the last % seen.
async function waitQuiet() {
  const end = Date.now() + cfg.quietWait * 1000;
  let pct;
  for (;;) {
    const a = busyTicks();
    await sleep(1000);
    pct = busyTicks() - a; // ticks of 10 ms over 1 s = % of one core
    if (pct < cfg.quiet || Date.now() > end) break;
  }
  if (pct >= cfg.quiet) log(`machine still busy (${pct}% of a core) after ${cfg.quietWait} s: running anyway`);
  return pct;
}

const lastJson = (s) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop());

async function oneRun(kbps, n) {
  const before = await waitQuiet();
  const sfu = await startSfu({
    bin: path.join(cfg.release, 'onair-sfu'),
    ports: PORTS,
    id: 'bench',
    args: ['--max-peers', String(n + 100), ...cfg.sfuArgs],
  });
  try {
    const args = ['--rpc', sfu.rpcPath, '--subs', String(n), '--kbps', String(kbps), '--poll-us', String(cfg.pollUs),
      '--warmup', String(cfg.warmup), '--window', String(cfg.window), '--sfu-ports', PORTS];
    const bound = (30 + n / 10 + cfg.warmup + cfg.window + 20) * 1000;
    const { out } = await runTool(path.join(cfg.release, 'tools/sfu_load'), args, bound);
    const r = lastJson(out);
    if (r.error) throw new Error(`${r.error} (${r.phase}, ${r.t_s} s after start; UDP drops at the SFU's` +
      ` publisher socket ${r.udp_drops_sfu_pub}, other SFU sockets ${r.udp_drops_sfu}, load generator ${r.udp_drops_load})`);
    r.busy_before_pct = before;
    r.sfu_warnings = sfu.logs.filter((l) => l.level === 'warn' || l.level === 'error').length;
    return r;
  } finally {
    const code = await sfu.stop({ timeoutMs: 10000 });
    if (code !== 0) log(`onair-sfu exited ${code}`);
  }
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const range = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : [NaN, NaN];
};

// The physical limit with n sessions and sockets, measured once per n.
const limits = new Map();
async function limitAt(n) {
  if (!cfg.limit) return null;
  if (!limits.has(n)) {
    await waitQuiet();
    const { out } = await runTool(path.join(cfg.release, 'tools/sfu_limit'), ['--subs', String(Math.min(n, 4096)), '--runs', '3'], 120000);
    limits.set(n, lastJson(out));
    log(`physical limit with ${n} sessions: ${JSON.stringify(limits.get(n))}`);
  }
  return limits.get(n);
}

async function point(kbps, n, results) {
  const runs = [];
  const limitN = await limitAt(n);
  for (let i = 0; i < cfg.runs; i++) {
    try {
      let r;
      for (let k = 0; ; k++) {
        r = await oneRun(kbps, n);
        r.retries = k;
        if (!(r.others_cpu_pct > cfg.maxOthers) || k >= cfg.retries) break;
        log(`${kbps} kbit/s N=${n} run ${i + 1}: other processes used ${r.others_cpu_pct.toFixed(0)}% of a core: again`);
      }
      runs.push(r);
      log(`${kbps} kbit/s N=${n} run ${i + 1}: loss ${r.loss_pct.toFixed(3)}% (${r.subs_loss_over_0_5} subs >= 0.5%),` +
        ` SFU ${r.sfu_cpu_pct.toFixed(0)}% CPU, ${r.sfu_us_per_pkt_sub.toFixed(2)} µs/pkt/sub, load ${r.load_cpu_pct.toFixed(0)}%,` +
        ` p50/p99 ${r.lat_p50_us}/${r.lat_p99_us} µs, connected ${r.connected}/${n}, others ${r.others_cpu_pct.toFixed(0)}% CPU`);
    } catch (e) {
      log(`${kbps} kbit/s N=${n} run ${i + 1} failed: ${e.message}`);
      runs.push({ subs: n, kbps, error: e.message, loss_pct: 100 });
    }
  }
  const med = summarize(kbps, n, runs);
  results.push({ kbps, n, runs, median: med, limit_n: limitN });
  return med;
}

// Medians (and min–max) of every numeric field over the successful runs; a failed run (the SFU
// closed the publisher, or the generator did not finish) counts as 100% loss for pass/fail.
function summarize(kbps, n, runs) {
  const okRuns = runs.filter((r) => !r.error);
  const keys = Object.keys(okRuns[0] || {}).filter((k) => typeof okRuns[0][k] === 'number');
  const med = { kbps, n, runs: runs.length, errors: runs.length - okRuns.length };
  for (const k of keys) {
    med[k] = median(okRuns.map((r) => r[k]));
    med[`${k}_range`] = range(okRuns.map((r) => r[k]));
  }
  med.loss_ok_pct = med.loss_pct;
  med.loss_ok_pct_range = med.loss_pct_range;
  med.loss_pct = median(runs.map((r) => (r.error ? 100 : r.loss_pct)));
  med.failures = runs.filter((r) => r.error).map((r) => ({ n, why: r.error }));
  med.pass = med.loss_pct < LOSS_MAX && med.connected === n;
  return med;
}

async function sweep(kbps, results) {
  const pts = [];
  const step = cfg.steps[kbps] || 100;
  const out = () => (Date.now() - t0) / 1000 > cfg.budget;
  for (const n of cfg.ns) {
    if (out()) break;
    pts.push(await point(kbps, n, results));
  }
  let last = pts[pts.length - 1];
  while (last && last.pass && last.n + step <= cfg.max && !out()) {
    last = await point(kbps, last.n + step, results);
    pts.push(last);
  }
  for (let i = 0; i < cfg.refine && !out(); i++) {
    const ok = pts.filter((p) => p.pass).sort((a, b) => b.n - a.n)[0];
    const bad = pts.filter((p) => !p.pass && (!ok || p.n > ok.n)).sort((a, b) => a.n - b.n)[0];
    if (!ok || !bad || bad.n - ok.n <= 50) break;
    const mid = Math.round((ok.n + bad.n) / 2 / 50) * 50;
    if (mid <= ok.n || mid >= bad.n) break;
    pts.push(await point(kbps, mid, results));
  }
  return pts.sort((a, b) => a.n - b.n);
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const fr = (m, k, d = 2) => `${f(m[k], d)} (${f(m[`${k}_range`]?.[0], d)}–${f(m[`${k}_range`]?.[1], d)})`;

// A failed run in a few words.
function shortWhy(why) {
  const m = /closed the publisher: (\w+) \((\S+), ([\d.]+) s after start; UDP drops at the SFU's publisher socket (\d+)/.exec(why);
  if (m) return `the SFU closed the publisher (${m[1]}) in the ${m[2]}, ${Math.round(+m[3])} s after start, ${m[4]} drops at its publisher socket`;
  if (/killed after/.test(why)) return `not done in time${/handshake timeout/.test(why) ? ' (DTLS handshakes timed out)' : ''}`;
  return why.slice(0, 120);
}

// One table per bitrate from the medians (successful runs only; failed runs are counted).
function table(kbps, pts, limit, runs, mixAt) {
  const lines = [
    `#### ${kbps} kbit/s video + 64 kbit/s audio (${runs} runs per row: median, min–max)`,
    '',
    '| N | runs ok | loss % | UDP drops SFU (pub + subs) / load gen | SFU CPU % | SFU µs / pkt / sub | limit(N) µs | ×limit(N) | ×limit(256) | latency p50 / p99 µs | RPC max ms | load gen CPU % (subs / pub) | others CPU % ≈ | setup s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const m of pts) {
    const ratio = limit ? m.sfu_us_per_pkt_sub / limit : NaN;
    const limN = mixAt(m);
    const ratioN = m.sfu_us_per_pkt_sub / limN;
    lines.push(`| ${m.n}${m.pass ? '' : ' ✗'} | ${m.runs - m.errors}/${m.runs} | ${fr(m, 'loss_ok_pct', 3)} |` +
      ` ${f(m.udp_drops_sfu_pub, 0)} + ${f(m.udp_drops_sfu, 0)} / ${f(m.udp_drops_load, 0)} | ${f(m.sfu_cpu_pct, 0)} | ${fr(m, 'sfu_us_per_pkt_sub')} |` +
      ` ${f(limN)} | ${f(ratioN)} | ${f(ratio)} | ${f(m.lat_p50_us, 0)} / ${f(m.lat_p99_us, 0)} (p99 ${f(m.lat_p99_us_range?.[0], 0)}–${f(m.lat_p99_us_range?.[1], 0)}) |` +
      ` ${f(m.rpc_probe_max_us / 1000, 0)} | ${f(m.load_cpu_pct, 0)} (${f(m.load_subs_cpu_pct, 0)} / ${f(m.load_pub_cpu_pct, 0)}) |` +
      ` ${f(Math.max(0, m.others_cpu_pct), 0)} | ${f(m.setup_s, 1)} |`);
  }
  const ok = pts.filter((p) => p.pass).sort((a, b) => b.n - a.n)[0];
  lines.push('', `Most subscribers with median loss < 0.5% (a failed run counts as 100%): **${ok ? ok.n : 'none'}**` +
    (ok ? ` (SFU ${f(ok.sfu_us_per_pkt_sub)} µs/pkt/sub, p99 ${f(ok.lat_p99_us, 0)} µs).` : '.'));
  const failed = pts.flatMap((p) => p.failures || []);
  if (failed.length) lines.push('', 'Failed runs: ' + failed.map((x) => `N=${x.n}: ${shortWhy(x.why)}`).join('; ') + '.');
  return lines.join('\n');
}

function render({ cfg: c, machine, limit, results }) {
  // the limit for the packet mix the generator sends: 1200-byte video + 172-byte audio
  const mixOf = (l, m) => (l ? (m.video_pkts * l.gcm_send_big_us + m.audio_pkts * l.gcm_send_small_us) / m.pkts_in : NaN);
  const mix = (m) => mixOf(limit, m);
  const parts = [
    `Machine: ${machine.cpus} × ${machine.cpu}, Linux ${machine.kernel}, Node ${machine.node}; tree ${machine.rev}` +
      `${machine.dirty_sfu ? ` (+${machine.dirty_sfu} uncommitted files in sfu/ proto/)` : ''}, ${machine.time}; load average before/after:` +
      ` ${machine.load_before.map((x) => x.toFixed(2)).join(' ')} / ${machine.load_after.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
  ];
  if (limit) {
    parts.push(`Physical limit (sfu_limit, ${limit.subs} sessions/sockets, median of ${limit.runs} × ${limit.secs} s, CPU µs per packet per subscriber):` +
      ` srtp_protect GCM ${f(limit.protect_gcm_us)}, CM ${f(limit.protect_cm_us)}; sendto ${f(limit.sendto_us)};` +
      ` **GCM protect + sendto: ${f(limit.gcm_send_big_us)} (${limit.big} B), ${f(limit.gcm_send_small_us)} (${limit.small} B)**; CM protect + sendto ${f(limit.cm_send_big_us)}.`, '');
  }
  for (const kbps of c.rates) {
    const rs = results.filter((r) => r.kbps === kbps);
    const pts = rs.map((r) => summarize(kbps, r.n, r.runs)).sort((a, b) => a.n - b.n);
    const any = pts.find((p) => p.pkts_in);
    const lim = any ? mix(any) : NaN;
    const mixAt = (m) => mixOf(rs.find((r) => r.n === m.n)?.limit_n, m);
    parts.push(table(kbps, pts, lim, c.runs, mixAt), '', `(limit(N): sfu_limit with N sessions and sockets for this stream's mix of video and audio packets; ×limit(N): SFU µs per packet per subscriber / limit(N); ×limit(256): / ${f(lim)} µs, the limit with 256 sessions.)`, '');
  }
  return parts.join('\n');
}

async function main() {
  if (process.env.SFU_BENCH_RENDER) { // re-render the tables of a saved run
    console.log(render(JSON.parse(readFileSync(process.env.SFU_BENCH_RENDER, 'utf8'))));
    return;
  }
  assertPrivateNetns();
  mkdirSync(cfg.out, { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    kernel: os.release(),
    node: process.version,
    load_before: os.loadavg(),
    time: new Date().toISOString(),
  };
  try {
    machine.rev = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    machine.sfu_args = cfg.sfuArgs.join(' ');
    machine.dirty_sfu = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'sfu', 'proto'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {}
  log(`SFU benchmark: ${JSON.stringify(cfg)}`);
  let limit = null;
  if (cfg.limit) {
    await waitQuiet();
    const { out } = await runTool(path.join(cfg.release, 'tools/sfu_limit'), ['--subs', '256'], 120000);
    limit = lastJson(out);
    log(`physical limit: ${JSON.stringify(limit)}`);
  }
  const results = [];
  for (const kbps of cfg.rates) await sweep(kbps, results);
  machine.load_after = os.loadavg();
  const doc = { cfg, machine, limit, results };
  const md = render(doc);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(path.join(cfg.out, `sfu-${stamp}.json`), JSON.stringify(doc, null, 2));
  writeFileSync(path.join(cfg.out, 'sfu-latest.md'), md + '\n');
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
