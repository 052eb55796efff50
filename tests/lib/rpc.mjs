// tests/lib/rpc.mjs: a Node client for the onair-sfu RPC (docs/RPC.md) and a helper that runs
// the SFU under test.
//
//   const sfu = await startSfu();                 // spawns $ONAIR_BUILD/onair-sfu, waits "listening"
//   const rpc = await RpcClient.connect(sfu.rpcPath);
//   const hello = await rpc.call('hello', { version: 1, node: 'test' });   // result, or throws RpcError
//   const msg = await rpc.request('stats', {});   // the whole response {id, result} | {id, error}
//   const ev = await rpc.waitEvent('peer.state', (d) => d.peer === 'p1');
//   rpc.on('peer.candidate', (data) => ...);      // events by name ('error' comes as 'sfu-error')
//   rpc.close(); assert.equal(await sfu.stop(), 0); // SIGTERM; 0 = clean exit (no ASan/LSan report)
//
// Framing: 4-byte big-endian length + that many bytes of JSON. Every incoming message is kept
// (bounded) so a test can wait for one that arrived before it started waiting.
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sanitizerEnv } from './server.mjs';

export const MAX_FRAME = 1048576;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = process.env.ONAIR_BUILD || path.join(REPO, 'build/asan');
const DEFAULT_TIMEOUT = +(process.env.RPC_TIMEOUT_MS || 5000);

export class RpcError extends Error {
  constructor(method, error) {
    super(`${method}: ${error && error.code}: ${error && error.message}`);
    this.code = error && error.code;
    this.rpcMessage = error && error.message;
  }
}

// Encodes one frame. body: an object (JSON-encoded), a string or a Buffer (sent as is).
export function frame(body) {
  let b = body;
  if (!Buffer.isBuffer(b)) b = Buffer.from(typeof b === 'string' ? b : JSON.stringify(b), 'utf8');
  const h = Buffer.alloc(4);
  h.writeUInt32BE(b.length, 0);
  return Buffer.concat([h, b]);
}

// Resolves with the value of check() once it is truthy; rejects at the deadline with what.
export function waitFor(check, { timeoutMs = DEFAULT_TIMEOUT, what = 'condition', emitter, event } = {}) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (emitter) emitter.off(event, probe);
      err ? reject(err) : resolve(v);
    };
    const probe = () => {
      let v;
      try { v = check(); } catch (e) { return finish(e); }
      if (v) finish(null, v);
    };
    const timer = setTimeout(() => finish(new Error(`timeout after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    if (emitter) emitter.on(event, probe);
    probe();
  });
}

export class RpcClient extends EventEmitter {
  constructor(sock) {
    super();
    this.sock = sock;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer, method}
    this.messages = [];       // every message received, newest last (bounded)
    this.closed = false;
    this.closeError = null;
    this.rx = Buffer.alloc(0);
    this.frameErrors = [];
    this.closedPromise = new Promise((resolve) => { this._closedResolve = resolve; });
    sock.on('data', (d) => this._onData(d));
    sock.on('error', (e) => { this.closeError = e; });
    sock.on('close', () => this._onClose());
  }

  // Connects to the SFU's Unix socket. Resolves with a client (no hello sent).
  static connect(rpcPath, { timeoutMs = DEFAULT_TIMEOUT } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(rpcPath);
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`connect ${rpcPath}: timeout`)); }, timeoutMs);
      sock.once('error', (e) => { clearTimeout(timer); reject(e); });
      sock.once('connect', () => { clearTimeout(timer); resolve(new RpcClient(sock)); });
    });
  }

  // Connects and says hello; resolves with {rpc, hello}.
  static async open(rpcPath, { node = 'test-node' } = {}) {
    const rpc = await RpcClient.connect(rpcPath);
    const hello = await rpc.call('hello', { version: 1, node });
    return { rpc, hello };
  }

  // Like open(), for a new controller right after the previous connection went away: until the
  // SFU has seen that close it refuses the newcomer as a second controller (error event +
  // close), so this retries until hello is answered or timeoutMs passes.
  static async reopen(rpcPath, { node = 'test-node', timeoutMs = DEFAULT_TIMEOUT } = {}) {
    const end = Date.now() + timeoutMs;
    let last;
    while (Date.now() < end) {
      const rpc = await RpcClient.connect(rpcPath);
      try {
        const hello = await rpc.call('hello', { version: 1, node }, { timeoutMs: Math.max(100, end - Date.now()) });
        return { rpc, hello, refused: last };
      } catch (e) {
        last = e;
        rpc.destroy();
        if (!rpc.closed && !/closed/.test(e.message)) throw e;
      }
      await new Promise((r) => setTimeout(r, 20)); // retry interval
    }
    throw new Error(`no controller connection accepted within ${timeoutMs} ms: ${last && last.message}`);
  }

  _onData(d) {
    this.rx = this.rx.length ? Buffer.concat([this.rx, d]) : d;
    while (this.rx.length >= 4) {
      const n = this.rx.readUInt32BE(0);
      if (n === 0 || n > MAX_FRAME) {
        this.frameErrors.push(`bad frame length ${n}`);
        this.emit('frame-error', n);
        this.sock.destroy();
        return;
      }
      if (this.rx.length < 4 + n) break;
      const body = this.rx.subarray(4, 4 + n);
      this.rx = this.rx.subarray(4 + n);
      let msg;
      try {
        msg = JSON.parse(body.toString('utf8'));
      } catch (e) {
        this.frameErrors.push(`bad JSON from SFU: ${body.toString('utf8').slice(0, 200)}`);
        this.emit('frame-error', e);
        continue;
      }
      this._onMessage(msg);
    }
  }

  _onMessage(msg) {
    this.messages.push(msg);
    if (this.messages.length > 5000) this.messages.splice(0, 2500);
    if (msg && typeof msg === 'object' && typeof msg.event === 'string') {
      this.emit('event', msg);
      // 'error' is special to EventEmitter (throws without a listener): the SFU's error event
      // is emitted as 'sfu-error'.
      this.emit(msg.event === 'error' ? 'sfu-error' : msg.event, msg.data);
    } else if (msg && typeof msg.id === 'number' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      p.resolve(msg);
    }
    this.emit('message', msg);
  }

  _onClose() {
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${p.method}: connection closed before the response`));
    }
    this.pending.clear();
    this.emit('close');
    this._closedResolve();
  }

  // Sends raw bytes (for malformed-input tests).
  writeRaw(buf) {
    this.sock.write(buf);
  }

  // Sends one frame (object, string or Buffer) without tracking a response.
  send(body) {
    this.sock.write(frame(body));
  }

  // Sends a request and resolves with the whole response message ({id, result} or
  // {id, error}); rejects on timeout or when the connection closes first.
  request(method, params, { timeoutMs = DEFAULT_TIMEOUT, id } = {}) {
    if (this.closed) return Promise.reject(new Error(`${method}: connection is closed`));
    const rid = id ?? this.nextId++;
    const msg = { id: rid, method };
    if (params !== undefined) msg.params = params;
    return this.requestRaw(msg, { timeoutMs, method });
  }

  // Sends msg (which carries a numeric id) as is and waits for the response with that id.
  requestRaw(msg, { timeoutMs = DEFAULT_TIMEOUT, method = msg.method } = {}) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msg.id);
        reject(new Error(`${method} (id ${msg.id}): no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(msg.id, { resolve, reject, timer, method });
      this.sock.write(frame(msg));
    });
  }

  // Like request() but resolves with the result and throws RpcError for an error response.
  async call(method, params = {}, opts = {}) {
    const r = await this.request(method, params, opts);
    if (r.error) throw new RpcError(method, r.error);
    if (!('result' in r)) throw new Error(`${method}: response without result or error: ${JSON.stringify(r)}`);
    return r.result;
  }

  // Resolves with the first message (already received or future) for which pred is true.
  // from: index into this.messages to start at (default: everything kept).
  waitMessage(pred, { timeoutMs = DEFAULT_TIMEOUT, from = 0, what = 'message' } = {}) {
    let i = from;
    return waitFor(() => {
      for (; i < this.messages.length; i++) if (pred(this.messages[i])) return this.messages[i];
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      return null;
    }, { timeoutMs, what, emitter: this, event: 'message' });
  }

  // Resolves with the data of the first event called name whose data satisfies pred.
  async waitEvent(name, pred = () => true, opts = {}) {
    const m = await this.waitMessage((x) => x && x.event === name && pred(x.data), { what: `event ${name}`, ...opts });
    return m.data;
  }

  // Resolves when the SFU has closed the connection (or at once if it is closed).
  waitClosed({ timeoutMs = DEFAULT_TIMEOUT } = {}) {
    return waitFor(() => this.closed, { timeoutMs, what: 'connection close', emitter: this, event: 'close' });
  }

  // Half-closes our side and resolves once the SFU closed its side too (it has then seen the
  // EOF, so a new connection can become the controller). Rejects (and destroys the socket)
  // when the SFU keeps its side open past timeoutMs.
  async close({ timeoutMs = DEFAULT_TIMEOUT } = {}) {
    if (this.closed) return;
    this.sock.end();
    try {
      await this.waitClosed({ timeoutMs });
    } catch (e) {
      this.sock.destroy();
      throw new Error(`the SFU did not close the connection after our EOF: ${e.message}`);
    }
  }

  destroy() {
    this.sock.destroy();
    return this.closedPromise;
  }
}

// A random UDP port range for the SFU's media sockets: "lo-hi".
export function randomPortRange(n = 100) {
  const lo = 20000 + Math.floor(Math.random() * 400) * 100;
  return `${lo}-${lo + n - 1}`;
}

// Spawns $ONAIR_BUILD/onair-sfu --rpc <tmp>/rpc.sock --ip 127.0.0.1 --ports <range> --id <id>
// and resolves once it logged "msg":"listening". Rejects (with the log) when it exits first.
// Returns {proc, pid, rpcPath, logs, waitLog(pred), stop(), logText()}.
export async function startSfu({ id = 'test', ports = randomPortRange(), args = [], env = {}, timeoutMs = 15000, bin = path.join(BUILD, 'onair-sfu') } = {}) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} not built (make MODE=asan binaries)`);
  if (process.env.TEST_VERBOSE) env = { LOG_LEVEL: 'debug', ...env };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-sfu-'));
  const rpcPath = path.join(dir, 'rpc.sock');
  const argv = ['--rpc', rpcPath, '--ip', '127.0.0.1', '--ports', ports, '--id', id, ...args];
  const proc = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...sanitizerEnv(), ...env } });
  const ee = new EventEmitter();
  const logs = [];  // parsed JSON lines (non-JSON lines as {raw})
  const lines = []; // every stderr/stdout line as text
  let exit = null;  // {code, signal}
  const onLines = (stream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      rest += d;
      let nl;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        lines.push(line);
        if (process.env.TEST_VERBOSE) process.stderr.write(`[sfu ${proc.pid}] ${line}\n`);
        let j;
        try { j = JSON.parse(line); } catch { j = { raw: line }; }
        if (j === null || typeof j !== 'object') j = { raw: line };
        logs.push(j);
        ee.emit('log', j);
      }
    });
  };
  onLines(proc.stderr);
  onLines(proc.stdout);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    exit = { code, signal };
    ee.emit('exit');
    resolve(exit);
  }));
  const logText = () => lines.join('\n');
  const waitLog = (pred, { timeoutMs: t = DEFAULT_TIMEOUT, what = 'log line' } = {}) => {
    let i = 0;
    return waitFor(() => {
      for (; i < logs.length; i++) if (pred(logs[i])) return logs[i];
      if (exit) throw new Error(`onair-sfu exited (${JSON.stringify(exit)}) while waiting for ${what}:\n${logText()}`);
      return null;
    }, { timeoutMs: t, what, emitter: ee, event: 'log' });
  };
  // 'exit' also wakes waitLog so an early exit is reported at once.
  ee.on('exit', () => ee.emit('log', {}));

  const sfu = {
    proc, pid: proc.pid, rpcPath, dir, logs, lines, argv, waitLog, logText,
    get exit() { return exit; },
    exited,
    // SIGTERM, then resolves with the exit code (a signal death gives 128+signo; a hang past
    // timeoutMs is killed with SIGKILL and gives -1).
    async stop({ timeoutMs: t = 15000 } = {}) {
      if (!exit) proc.kill('SIGTERM');
      let timer;
      const r = await Promise.race([exited, new Promise((res) => { timer = setTimeout(() => res(null), t); })]);
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      if (!r) {
        proc.kill('SIGKILL');
        await exited;
        return -1;
      }
      if (r.signal) return 128 + (os.constants.signals[r.signal] || 0);
      return r.code;
    },
  };
  try {
    await waitLog((l) => l.msg === 'listening', { timeoutMs, what: '"msg":"listening"' });
  } catch (e) {
    if (!exit) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return sfu;
}
