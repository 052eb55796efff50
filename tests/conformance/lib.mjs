// tests/conformance/lib.mjs: raw-wire helpers for the conformance suites: plain HTTP requests
// (one connection each, so GETs can overlap), Engine.IO v4/v3 payload codecs written from the
// specifications, and a raw RFC 6455 client over a TCP socket that checks every server frame
// (unmasked, RSV 0, minimal length, control frames <= 125 and unfragmented) and can send
// malformed frames on purpose.
//
// The server under test is `$ONAIR_BUILD/onair-signal --app test` (tests/lib/server.mjs).
// CONFORMANCE_REF=1 runs the same suites against the Node reference (tests/bench/ref-server.mjs,
// official engine.io/socket.io), to check the expectations themselves; `REF` tells a test
// where the contract deliberately differs from Node (PROTOCOL.md section 1).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { HOST, REPO, sanitizerEnv, spawnProcess, startSignal } from '../lib/server.mjs';

export const REF = !!process.env.CONFORMANCE_REF;

/** Starts the server under test with extra flags; resolves {port, url, stop, logs, ...}. */
export async function startServer({ args = [] } = {}) {
  if (!REF) return startSignal({ args });
  const { freePort } = await import('../lib/server.mjs');
  const port = await freePort();
  const h = await spawnProcess({
    cmd: process.execPath,
    args: [path.join(REPO, 'tests/bench/ref-server.mjs'), '--app', 'test', '--host', HOST, '--port', String(port), ...args],
    env: sanitizerEnv(),
    name: 'ref-server',
    ready: (_l, j) => j && j.msg === 'listening',
  });
  return { ...h, port, url: `http://${HOST}:${port}`, logs: h.lines };
}

/** Stops the server and asserts a clean exit (code 0: under ASan, no leak and no report). */
export async function stopServer(srv) {
  if (!srv) return;
  const r = await srv.stop();
  assert.deepEqual(
    { code: r.code, signal: r.signal },
    { code: 0, signal: null },
    `server exit ${JSON.stringify(r)}; last output:\n${srv.logs.slice(-40).join('\n')}`,
  );
}

/** Rejects after ms unless p settles first. */
export function within(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: timeout after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// ---------------------------------------------------------------- HTTP

/**
 * One HTTP request on its own connection. Resolves {status, headers, body (Buffer), text};
 * rejects on a socket error (e.g. the server closed the connection) or after timeoutMs.
 */
export function request(port, { method = 'GET', path: p = '/', headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(t);
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: b, text: b.toString('utf8') });
      });
      res.on('error', reject);
    });
    const t = setTimeout(() => {
      req.destroy(new Error(`${method} ${p}: timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    // An array body is written piece by piece (with Transfer-Encoding: chunked if no length).
    for (const piece of Array.isArray(body) ? body : body === undefined ? [] : [body]) req.write(piece);
    req.end();
  });
}

/** The query path of an Engine.IO request. */
export function eioPath({ path: p = '/engine.io/', eio = 4, transport = 'polling', sid, extra = '' } = {}) {
  const q = [];
  if (eio !== null) q.push(`EIO=${eio}`);
  if (transport !== null) q.push(`transport=${transport}`);
  if (sid) q.push(`sid=${encodeURIComponent(sid)}`);
  if (extra) q.push(extra);
  return `${p}?${q.join('&')}`;
}

/** GET on a polling session. */
export function pollGet(port, opts = {}, timeoutMs = 5000) {
  return request(port, { path: eioPath(opts), timeoutMs });
}

/** POST a payload (string or Buffer) on a polling session. */
export function pollPost(port, opts, body, { headers = {}, timeoutMs = 5000 } = {}) {
  return request(port, {
    method: 'POST',
    path: eioPath(opts),
    body,
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    timeoutMs,
  });
}

// ---------------------------------------------------------------- Engine.IO payloads

/** Engine.IO v4 polling payload: packets joined by the record separator \x1e; a binary packet
 * is "b" + base64. Items: strings (already encoded packets) or Buffers (binary messages). */
export function encodeV4(packets) {
  return packets.map((p) => (Buffer.isBuffer(p) ? 'b' + p.toString('base64') : p)).join('\x1e');
}
/** Decodes a v4 polling payload into strings and Buffers (for "b" packets). */
export function decodeV4(text) {
  return text.split('\x1e').map((p) => (p.startsWith('b') ? Buffer.from(p.slice(1), 'base64') : p));
}

/** Engine.IO v3 string payload "<len>:<packet>...", len in UTF-16 code units (JS length). */
export function encodeV3(packets) {
  return packets.map((p) => `${p.length}:${p}`).join('');
}
export function decodeV3(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const c = text.indexOf(':', i);
    assert.ok(c > i, `v3 payload: no length at ${i} in ${JSON.stringify(text)}`);
    const n = Number(text.slice(i, c));
    assert.ok(Number.isInteger(n) && n > 0, `v3 payload: bad length ${text.slice(i, c)}`);
    out.push(text.slice(c + 1, c + 1 + n));
    assert.equal(out.at(-1).length, n, `v3 payload: truncated packet in ${JSON.stringify(text)}`);
    i = c + 1 + n;
  }
  return out;
}

/** Engine.IO v3 XHR2 binary payload (application/octet-stream): per packet a marker byte (0
 * string, 1 binary), the decimal length as one byte per digit, 0xFF, then the packet; a string
 * packet is UTF-8 and its length counts bytes; a binary packet starts with its type byte (4).
 * Items: strings (encoded packets) or Buffers (binary packets including the type byte). */
export function encodeV3Binary(packets) {
  return Buffer.concat(
    packets.map((p) => {
      const data = Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8');
      const digits = String(data.length).split('').map(Number);
      return Buffer.concat([Buffer.from([Buffer.isBuffer(p) ? 1 : 0, ...digits, 0xff]), data]);
    }),
  );
}
export function decodeV3Binary(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const isString = buf[i] === 0;
    assert.ok(buf[i] === 0 || buf[i] === 1, `v3 binary payload: bad marker ${buf[i]} at ${i}`);
    let j = i + 1;
    let n = 0;
    for (; buf[j] !== 0xff; j++) {
      assert.ok(j < buf.length && buf[j] <= 9 && j - i < 12, `v3 binary payload: bad length at ${j}`);
      n = n * 10 + buf[j];
    }
    const data = buf.subarray(j + 1, j + 1 + n);
    assert.equal(data.length, n, 'v3 binary payload: truncated packet');
    out.push(isString ? data.toString('utf8') : Buffer.from(data));
    i = j + 1 + n;
  }
  return out;
}

/** Parses an open packet "0{...}" and returns its JSON. */
export function parseOpen(packet) {
  assert.equal(packet[0], '0', `not an open packet: ${JSON.stringify(packet)}`);
  return JSON.parse(packet.slice(1));
}

/** Opens a polling session; resolves {sid, open (handshake JSON), res}. */
export async function openPolling(port, { path: p = '/engine.io/', eio = 4, extra = '' } = {}) {
  const res = await pollGet(port, { path: p, eio, extra });
  assert.equal(res.status, 200, `handshake: ${res.status} ${res.text}`);
  const packets = eio === 3 ? decodeV3(res.text) : decodeV4(res.text);
  const open = parseOpen(packets[0]);
  return { sid: open.sid, open, res, rest: packets.slice(1) };
}

/** Keys and types of a handshake. */
export function assertHandshake(open, { upgrades, pingInterval, pingTimeout, maxPayload }) {
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.equal(typeof open.sid, 'string');
  assert.match(open.sid, /^[A-Za-z0-9_-]{16,}$/);
  assert.deepEqual(open.upgrades, upgrades);
  assert.equal(open.pingInterval, pingInterval);
  assert.equal(open.pingTimeout, pingTimeout);
  assert.equal(open.maxPayload, maxPayload);
}

// ---------------------------------------------------------------- a message queue

/** A queue with bounded waits: push(m); next(pred, ms) resolves the first matching item. */
export class Queue {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
    this.ended = null;
  }
  push(m) {
    this.items.push(m);
    for (const w of [...this.waiters]) w();
  }
  end(reason) {
    this.ended = reason;
    for (const w of [...this.waiters]) w();
  }
  next(pred = () => true, ms = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.items.findIndex((m) => pred(m));
        if (i >= 0) {
          const [m] = this.items.splice(i, 1);
          done();
          resolve(m);
          return true;
        }
        if (this.ended) {
          done();
          reject(new Error(`${this.name}: ended (${this.ended}) with no matching item; left: ${show(this.items)}`));
          return true;
        }
        return false;
      };
      const done = () => {
        this.waiters.delete(check);
        clearTimeout(t);
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.name}: nothing matching within ${ms} ms; pending: ${show(this.items)}`));
      }, ms);
      if (!check()) this.waiters.add(check);
    });
  }
}

function show(items) {
  return JSON.stringify(items.slice(0, 6).map((m) => (Buffer.isBuffer(m?.data) ? { ...m, data: `<${m.data.toString('hex')}>` } : m)));
}

// ---------------------------------------------------------------- raw WebSocket

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Encodes one client frame. Options allow malformed frames: rsv (0..7), mask (false for an
 * unmasked client frame), len16/len64 to force a non-minimal length form. */
export function frame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0, len64 = false, len16 = false } = {}) {
  const data = Buffer.from(payload);
  const n = data.length;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (len64 || n > 0xffff) {
    head.push(m | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    head.push(...b);
  } else if (len16 || n >= 126) {
    head.push(m | 126, n >> 8, n & 0xff);
  } else {
    head.push(m | n);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, out]);
}

/** A close frame payload: 2-byte code + UTF-8 reason. */
export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

/**
 * Sends an HTTP upgrade request on a fresh TCP connection. Resolves {status, headers, sock,
 * rest (bytes after the response head), key, head (raw text)} once the response head arrived.
 * For a non-101 response the body (by Content-Length, or until close) is in `body`.
 */
export function upgradeRequest(port, reqPath, { headers = {}, omit = [], timeoutMs = 5000 } = {}) {
  const key = crypto.randomBytes(16).toString('base64');
  const h = {
    Host: `${HOST}:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  for (const k of omit) delete h[k];
  const text = `GET ${reqPath} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST);
    let buf = Buffer.alloc(0);
    let parsed = null;
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`upgrade ${reqPath}: no response within ${timeoutMs} ms (got ${JSON.stringify(buf.toString('latin1'))})`));
    }, timeoutMs);
    const finish = (res) => {
      clearTimeout(t);
      sock.off('data', onData);
      resolve(res);
    };
    let headEnd = -1;
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      if (!parsed) {
        headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buf.subarray(0, headEnd).toString('latin1');
        const [statusLine, ...lines] = head.split('\r\n');
        const status = Number(statusLine.split(' ')[1]);
        const hs = {};
        for (const l of lines) {
          const i = l.indexOf(':');
          hs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        parsed = { status, headers: hs, head, key, sock, rest: buf.subarray(headEnd + 4) };
        if (status === 101) return finish(parsed);
      }
      const body = buf.subarray(headEnd + 4);
      const cl = Number(parsed.headers['content-length']);
      if (Number.isFinite(cl) && body.length >= cl) finish({ ...parsed, body: body.subarray(0, cl).toString('utf8') });
    };
    sock.on('data', onData);
    sock.on('error', (e) => {
      clearTimeout(t);
      if (parsed) finish({ ...parsed, body: buf.subarray(headEnd + 4).toString('utf8') });
      else reject(e);
    });
    sock.on('close', () => {
      if (parsed) finish({ ...parsed, body: buf.subarray(headEnd + 4).toString('utf8') });
      else {
        clearTimeout(t);
        reject(new Error(`upgrade ${reqPath}: connection closed without a response`));
      }
    });
    sock.write(text);
  });
}

/** The Sec-WebSocket-Accept value for a key (RFC 6455 4.2.2). */
export function acceptFor(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

/**
 * A raw WebSocket client. Every received frame is checked against what RFC 6455 requires of a
 * server; violations are collected in `violations` (assert it is empty). Messages (reassembled)
 * and control frames go to `queue` as {type: 'text'|'binary'|'ping'|'pong'|'close', data
 * (string for text, Buffer otherwise), code, reason}. `ended` resolves when TCP closes.
 */
export class RawWs {
  static async connect(port, reqPath, opts = {}) {
    const r = await upgradeRequest(port, reqPath, opts);
    assert.equal(r.status, 101, `upgrade ${reqPath}: status ${r.status}: ${r.body ?? ''}`);
    assert.equal(r.headers.upgrade?.toLowerCase(), 'websocket');
    assert.match(r.headers.connection ?? '', /upgrade/i);
    assert.equal(r.headers['sec-websocket-accept'], acceptFor(r.key));
    return new RawWs(r.sock, r.rest, reqPath);
  }

  constructor(sock, initial, name) {
    this.sock = sock;
    this.queue = new Queue(`ws ${name}`);
    this.violations = [];
    this.buf = Buffer.alloc(0);
    this.frag = null;
    this.closeReceived = null;
    this.ended = new Promise((resolve) => {
      sock.on('close', () => {
        this.queue.end('tcp closed');
        resolve(this.closeReceived);
      });
    });
    sock.on('error', () => {});
    sock.on('data', (d) => this.onData(d));
    if (initial.length) this.onData(initial);
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const f = this.parse();
      if (!f) return;
      this.onFrame(f);
    }
  }

  parse() {
    const b = this.buf;
    if (b.length < 2) return null;
    const fin = !!(b[0] & 0x80);
    const rsv = (b[0] >> 4) & 7;
    const opcode = b[0] & 15;
    const masked = !!(b[1] & 0x80);
    let len = b[1] & 127;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      off = 4;
      if (len < 126) this.violations.push(`non-minimal 16-bit length ${len}`);
    } else if (len === 127) {
      if (b.length < 10) return null;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('absurd frame length');
      len = Number(big);
      off = 10;
      if (len <= 0xffff) this.violations.push(`non-minimal 64-bit length ${len}`);
    }
    if (masked) off += 4;
    if (b.length < off + len) return null;
    let payload = Buffer.from(b.subarray(off, off + len));
    if (masked) {
      this.violations.push('server frame is masked (RFC 6455 5.1)');
      const key = b.subarray(off - 4, off);
      payload = Buffer.from(payload.map((x, i) => x ^ key[i & 3]));
    }
    this.buf = b.subarray(off + len);
    if (rsv) this.violations.push(`RSV bits ${rsv} set`);
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) this.violations.push(`reserved opcode ${opcode}`);
    if (opcode & 8 && (!fin || len > 125)) this.violations.push(`bad control frame op ${opcode} fin ${fin} len ${len}`);
    if (this.closeReceived) this.violations.push(`frame op ${opcode} after the server's close frame`);
    return { fin, opcode, payload };
  }

  onFrame({ fin, opcode, payload }) {
    if (opcode === OP.CLOSE) {
      let code = 1005;
      let reason = '';
      if (payload.length >= 2) {
        code = payload.readUInt16BE(0);
        reason = payload.subarray(2).toString('utf8');
      } else if (payload.length === 1) this.violations.push('1-byte close payload');
      this.closeReceived = { code, reason };
      this.queue.push({ type: 'close', code, reason, data: payload });
      // RFC 6455 5.5.1: answer with a close frame (the server then closes TCP).
      if (!this.closeSent) this.write(frame(OP.CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0)));
      return;
    }
    if (opcode === OP.PING || opcode === OP.PONG) {
      this.queue.push({ type: opcode === OP.PING ? 'ping' : 'pong', data: payload });
      return;
    }
    if (opcode === OP.CONT) {
      if (!this.frag) return this.violations.push('continuation without a message');
      this.frag.parts.push(payload);
    } else {
      if (this.frag) this.violations.push('new data frame inside a fragmented message');
      this.frag = { opcode, parts: [payload] };
    }
    if (!fin) return;
    const data = Buffer.concat(this.frag.parts);
    const op = this.frag.opcode;
    this.frag = null;
    if (op === OP.TEXT) {
      const s = data.toString('utf8');
      if (!Buffer.from(s).equals(data)) this.violations.push('text message is not valid UTF-8');
      this.queue.push({ type: 'text', data: s });
    } else this.queue.push({ type: 'binary', data });
  }

  write(bytes) {
    if ((bytes[0] & 15) === OP.CLOSE) this.closeSent = true;
    if (!this.sock.destroyed) this.sock.write(bytes);
  }
  send(data, opts = {}) {
    const isBin = Buffer.isBuffer(data);
    this.write(frame(opts.opcode ?? (isBin ? OP.BINARY : OP.TEXT), isBin ? data : Buffer.from(data), opts));
  }
  close(code = 1000, reason = '') {
    this.write(frame(OP.CLOSE, closePayload(code, reason)));
  }
  destroy() {
    this.sock.destroy();
  }

  /** Next text/binary message (skipping nothing else: control frames stay queued). */
  nextMessage(ms = 5000) {
    return this.queue.next((m) => m.type === 'text' || m.type === 'binary', ms);
  }
  /** Next text message's string. */
  async nextText(ms = 5000) {
    const m = await this.queue.next((x) => x.type === 'text' || x.type === 'binary', ms);
    assert.equal(m.type, 'text', `expected a text message, got binary <${m.data.toString('hex')}>`);
    return m.data;
  }
  nextOf(type, ms = 5000) {
    return this.queue.next((m) => m.type === type, ms);
  }

  /** Waits for the server to close: a close frame (returned) and then the TCP close. */
  async closedByServer(ms = 5000) {
    const c = await within(this.ended, ms, 'server closes the TCP connection');
    return c;
  }

  assertClean() {
    assert.deepEqual(this.violations, [], 'server frames break RFC 6455');
  }
}

/** Connects a raw WebSocket to an Engine.IO endpoint; for a fresh session (no sid) waits for
 * the open packet and returns {ws, open}. */
export async function eioWs(port, { path: p = '/engine.io/', eio = 4, sid, extra = '' } = {}) {
  const ws = await RawWs.connect(port, eioPath({ path: p, eio, transport: 'websocket', sid, extra }));
  if (sid) return { ws, open: null };
  const open = parseOpen(await ws.nextText());
  return { ws, open };
}

// ---------------------------------------------------------------- raw HTTP/1.1 connection

/** One raw keep-alive HTTP/1.1 connection: write requests (pipelined if you like) and read
 * the responses in order (Content-Length or chunked bodies). */
export class HttpConn {
  static async open(port) {
    const sock = net.connect(port, HOST);
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new HttpConn(sock);
  }
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.queue = new Queue('http conn');
    this.closed = new Promise((resolve) => sock.on('close', resolve));
    sock.on('error', () => {});
    sock.on('close', () => this.queue.end('connection closed'));
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (let r; (r = this.parse()); ) this.queue.push(r);
    });
  }
  /** Formats and writes one request; body is a string or Buffer. */
  request(method, p, { headers = {}, body } = {}) {
    const b = body === undefined ? null : Buffer.from(body);
    const h = { Host: `${HOST}`, ...headers };
    if (b && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['Content-Length'] = b.length;
    const head = `${method} ${p} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
    return Buffer.concat([Buffer.from(head, 'latin1'), b ?? Buffer.alloc(0)]);
  }
  write(bytes) {
    this.sock.write(bytes);
  }
  response(ms = 5000) {
    return this.queue.next(() => true, ms);
  }
  parse() {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const [statusLine, ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let rest = this.buf.subarray(end + 4);
    let body;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts = [];
      let off = 0;
      for (;;) {
        const le = rest.indexOf('\r\n', off);
        if (le < 0) return null;
        const n = parseInt(rest.subarray(off, le).toString('latin1'), 16);
        if (rest.length < le + 2 + n + 2) return null;
        if (n === 0) {
          off = le + 4;
          break;
        }
        parts.push(rest.subarray(le + 2, le + 2 + n));
        off = le + 2 + n + 2;
      }
      body = Buffer.concat(parts);
      rest = rest.subarray(off);
    } else {
      const n = Number(headers['content-length'] ?? 0);
      if (rest.length < n) return null;
      body = Buffer.from(rest.subarray(0, n));
      rest = rest.subarray(n);
    }
    this.buf = Buffer.from(rest);
    return { status: Number(statusLine.split(' ')[1]), headers, body, text: body.toString('utf8') };
  }
  close() {
    this.sock.destroy();
  }
}
