// tests/lib/server.mjs: shared harness for integration tests and benchmarks.
// Starts real processes (onair-signal, redis-server, anything that logs a ready line), waits for
// their readiness signal (a log line or a ping, never a sleep), collects their output for
// assertions and stops them by PID.
//
//   const srv = await startSignal({ args: ['--ping-interval', '300'] });
//   ... io(srv.url) ...
//   assert.deepEqual(await srv.stop(), { code: 0, signal: null });   // ASan: 0 = no leak/error
//
// Environment: ONAIR_BUILD (default <repo>/build/asan) holds onair-signal; TEST_VERBOSE=1 echoes
// every child's stderr to ours.
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST = '127.0.0.1';

/** Directory holding the binaries under test. */
export function buildDir() {
  return process.env.ONAIR_BUILD || path.join(REPO, 'build/asan');
}

/** Sanitizer defaults for children, as scripts/test.sh sets them (kept when already set). */
export function sanitizerEnv() {
  return {
    ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
    LSAN_OPTIONS:
      process.env.LSAN_OPTIONS ||
      `suppressions=${path.join(REPO, 'tests/lsan.supp')}:print_suppressions=0`,
  };
}

/** Rejects with Error(`${what}: timeout after ${ms} ms`) unless p settles first. */
export function withTimeout(p, ms, what = 'operation') {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: timeout after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Resolves with the first argument of the next `event` on emitter (EventEmitter or
 * socket.io-client socket), or rejects after timeoutMs. */
export function waitFor(emitter, event, timeoutMs = 5000) {
  return waitForArgs(emitter, event, timeoutMs).then((args) => args[0]);
}

/** Like waitFor, but resolves with the array of all the event's arguments. */
export function waitForArgs(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const on = (...args) => {
      clearTimeout(t);
      resolve(args);
    };
    const t = setTimeout(() => {
      (emitter.off || emitter.removeListener).call(emitter, event, on);
      reject(new Error(`waitFor(${event}): timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    (emitter.once || emitter.on).call(emitter, event, on);
  });
}

/** Polls fn() (sync or async) every intervalMs until it returns a truthy value, which is
 * returned; rejects after timeoutMs with the last value/error in the message. */
export async function poll(fn, { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`poll(${what}): timeout after ${timeoutMs} ms, last: ${last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (bind to 0, read, close). */
export async function freePort(host = HOST) {
  const srv = net.createServer();
  srv.listen(0, host);
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

function parseJson(line) {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/**
 * Spawns cmd with args and waits until `ready(line, json)` is true for a line of its stderr or
 * stdout (json: the parsed line or null). Rejects if the process exits first or after timeoutMs
 * (the process is killed then). Resolves with a handle:
 *   proc, lines (every output line, in order), records (parsed JSON lines),
 *   waitLog(pred, timeoutMs) -> the first line (past or future) with pred(line, json) true,
 *   exited: promise of {code, signal},
 *   stop(signal = 'SIGTERM', timeoutMs = 15000) -> {code, signal}; SIGKILL after timeoutMs
 *   (then the result has killed: true).
 */
export async function spawnProcess({ cmd, args = [], env = {}, cwd, ready, timeoutMs = 15000, name }) {
  name = name || path.basename(cmd);
  const proc = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const records = [];
  const watchers = new Set();
  const verbose = !!process.env.TEST_VERBOSE;
  const feed = (stream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      rest += chunk;
      let i;
      while ((i = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        const json = parseJson(line);
        lines.push(line);
        if (json) records.push(json);
        if (verbose) process.stderr.write(`[${name} ${proc.pid}] ${line}\n`);
        for (const w of watchers) w(line, json);
      }
    });
  };
  feed(proc.stdout);
  feed(proc.stderr);

  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    proc.on('error', (err) => resolve({ code: -1, signal: null, error: err }));
  });

  const waitLog = (pred, ms = 5000) =>
    new Promise((resolve, reject) => {
      for (const l of lines) if (pred(l, parseJson(l))) return resolve(l);
      let t;
      const w = (l, j) => {
        if (!pred(l, j)) return;
        clearTimeout(t);
        watchers.delete(w);
        resolve(l);
      };
      watchers.add(w);
      t = setTimeout(() => {
        watchers.delete(w);
        reject(new Error(`${name}: no matching log line within ${ms} ms; last lines:\n${lines.slice(-15).join('\n')}`));
      }, ms);
    });

  let stopping = null;
  const stop = (signal = 'SIGTERM', ms = 15000) => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      let t;
      const killed = new Promise((resolve) => {
        t = setTimeout(() => {
          proc.kill('SIGKILL');
          exited.then((r) => resolve({ ...r, killed: true }));
        }, ms);
      });
      const r = await Promise.race([exited, killed]);
      clearTimeout(t);
      return r;
    })();
    return stopping;
  };

  const handle = { name, proc, pid: proc.pid, lines, records, waitLog, exited, stop };
  if (!ready) return handle;
  const early = exited.then((r) => {
    throw new Error(`${name} exited before ready (${JSON.stringify(r)}); output:\n${lines.slice(-30).join('\n')}`);
  });
  try {
    await Promise.race([waitLog(ready, timeoutMs), early]);
  } catch (e) {
    await stop('SIGKILL', 2000);
    throw e;
  }
  early.catch(() => {}); // exits after readiness are observed through `exited`
  return handle;
}

/**
 * Starts `$ONAIR_BUILD/onair-signal --app test --host 127.0.0.1 --port P ...args` (port: a fixed
 * port, e.g. to restart on the same one; default a free one) and waits for its "listening" log
 * line. Returns {port, url, proc, pid, logs (stderr+stdout lines), records (parsed JSON lines),
 * waitLog, exited, stop()}. stop() sends SIGTERM and resolves with {code, signal}.
 * app: the --app value ('test' by default; null to pass none).
 */
export async function startSignal({ args = [], env = {}, port, app = 'test', bin, timeoutMs = 15000 } = {}) {
  bin = bin || path.join(buildDir(), 'onair-signal');
  let lastErr;
  // A port found free can be taken by someone else before the server binds it: retry then.
  for (let attempt = 0; attempt < (port ? 1 : 3); attempt++) {
    const p = port || (await freePort());
    const argv = [...(app ? ['--app', app] : []), '--host', HOST, '--port', String(p), ...args];
    try {
      const h = await spawnProcess({
        cmd: bin,
        args: argv,
        env: { ...sanitizerEnv(), ...env },
        name: 'onair-signal',
        timeoutMs,
        ready: (_l, j) => j && j.msg === 'listening',
      });
      return { ...h, port: p, url: `http://${HOST}:${p}`, logs: h.lines, args: argv };
    } catch (e) {
      lastErr = e;
      if (!/EADDRINUSE|address already in use/i.test(e.message)) break;
    }
  }
  throw lastErr;
}

function run(cmd, args, timeoutMs = 2000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/**
 * Starts a real redis-server on a free 127.0.0.1 port in a fresh temp dir (no persistence) and
 * waits until `redis-cli ping` answers PONG (bounded). Returns {port, url, proc, pid, dir, lines,
 * stop()}; stop() also removes the temp dir.
 */
export async function startRedis({ args = [], timeoutMs = 10000 } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-redis-'));
  const port = await freePort();
  let h;
  try {
    h = await spawnProcess({
      cmd: 'redis-server',
      args: ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no',
        '--daemonize', 'no', ...args],
      name: 'redis-server',
      timeoutMs,
      ready: (l) => /Ready to accept connections/.test(l),
    });
    await poll(async () => (await run('redis-cli', ['-h', HOST, '-p', String(port), 'ping']))?.trim() === 'PONG', {
      timeoutMs,
      intervalMs: 50,
      what: 'redis-cli ping',
    });
  } catch (e) {
    if (h) await h.stop('SIGKILL', 2000);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const stop = async () => {
    const r = await h.stop();
    await rm(dir, { recursive: true, force: true });
    return r;
  };
  return { ...h, port, url: `redis://${HOST}:${port}`, dir, stop };
}

/** GET/POST helper: resolves {status, headers, body (string), json (parsed or null)}. */
export async function http(url, { method = 'GET', headers = {}, body, timeoutMs = 5000 } = {}) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body: text, json };
}
