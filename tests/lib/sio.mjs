// tests/lib/sio.mjs: client-side helpers for the integration tests: the official
// socket.io-client 4.x and 2.x with bounded waits, and a raw Engine.IO-over-WebSocket client
// (for behaviour the official client hides, e.g. a peer that never answers pings).
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import ioV2 from 'socket.io-client-v2';
import WebSocket from 'ws';
import { withTimeout } from './server.mjs';

export { io, ioV2 };

/** Base options for tests: a fresh Manager per socket, no auto reconnection. */
export const NO_RECONNECT = { forceNew: true, reconnection: false };

/** Connects a socket.io-client 4.x socket to url (e.g. srv.url + '/custom') and resolves once
 * it is connected; rejects with the connect_error (or a timeout). opts go to io(). */
export function connect(url, opts = {}, timeoutMs = 5000) {
  const s = io(url, { ...NO_RECONNECT, timeout: timeoutMs, ...opts });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`connect ${url}: timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.off('connect_error');
      resolve(s);
    });
    s.once('connect_error', (err) => {
      clearTimeout(t);
      s.close();
      reject(err);
    });
  });
}

/** Emits event with args on a 4.x socket asking for an ack; resolves with the ack's argument
 * array, rejects after timeoutMs. */
export function emitAck(socket, event, ...args) {
  return emitAckT(socket, 5000, event, ...args);
}
export function emitAckT(socket, timeoutMs, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, ...args, (err, ...res) => {
      if (err) reject(new Error(`ack for ${event}: ${err.message}`));
      else resolve(res);
    });
  });
}

/** The same for socket.io-client 2.x: connect, emit with ack. */
export function connectV2(url, opts = {}, timeoutMs = 5000) {
  const s = ioV2(url, { forceNew: true, reconnection: false, timeout: timeoutMs, ...opts });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`connect(v2) ${url}: timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err) => {
      clearTimeout(t);
      s.close();
      reject(err instanceof Error ? err : new Error(typeof err === 'string' ? err : JSON.stringify(err)));
    };
    s.once('connect', () => {
      clearTimeout(t);
      s.off('connect_error');
      s.off('error');
      resolve(s);
    });
    s.once('connect_error', fail);
    s.once('error', fail); // v2 reports a namespace CONNECT_ERROR as 'error'
  });
}
export function emitAckV2(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))),
    5000,
    `v2 ack for ${event}`,
  );
}

/** Closes every socket (4.x or 2.x) in the list; ignores ones already closed. */
export function closeAll(sockets) {
  for (const s of sockets) {
    try {
      s.close();
    } catch {}
  }
}

/** Asserts that a server handle exited with code 0 after SIGTERM (under ASan: no leak, no
 * sanitizer report), showing the end of its output otherwise. */
export async function assertCleanExit(srv) {
  const r = await srv.stop();
  assert.deepEqual(
    { code: r.code, signal: r.signal },
    { code: 0, signal: null },
    `onair-signal exit ${JSON.stringify(r)}; last output:\n${srv.logs.slice(-40).join('\n')}`,
  );
}

/** Bytes of a received binary value (Buffer, ArrayBuffer, typed array) as a Buffer. */
export function bytes(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new Error(`not binary: ${Object.prototype.toString.call(v)}`);
}

/**
 * A raw Engine.IO client over WebSocket: connects to
 * ws://host:port<path>?EIO=<eio>&transport=websocket and records every text/binary message.
 * It sends nothing on its own (in particular no pong: answer pings yourself with send('3')).
 *   next(pred, ms) -> the first not yet consumed message m (string or Buffer) with pred(m) true
 *   send(data), close(), closed: promise of {code, reason} when the socket closes
 */
export async function rawEio(baseUrl, { eio = 4, path = '/socket.io/', query = '', timeoutMs = 5000 } = {}) {
  const url = `${baseUrl.replace(/^http/, 'ws')}${path}?EIO=${eio}&transport=websocket${query ? '&' + query : ''}`;
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = new Set();
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? Buffer.from(data) : data.toString();
    queue.push(m);
    for (const w of waiters) w();
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }),
    timeoutMs,
    `raw ws ${url}`,
  );
  const next = (pred = () => true, ms = 5000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const i = queue.findIndex((m) => pred(m));
        if (i < 0) return false;
        const [m] = queue.splice(i, 1);
        waiters.delete(check);
        clearTimeout(t);
        resolve(m);
        return true;
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`raw ws: no matching message within ${ms} ms; pending: ${JSON.stringify(queue.slice(0, 5))}`));
      }, ms);
      if (!check()) waiters.add(check);
    });
  return {
    ws,
    queue,
    next,
    send: (d) => ws.send(d),
    close: () => ws.close(),
    closed,
  };
}
