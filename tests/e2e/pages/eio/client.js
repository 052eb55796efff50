// tests/e2e/pages/eio/client.js: helpers for tests/e2e/browser_clients.test.mjs, loaded after
// the socket.io-client bundle (2.x or 4.x: both define the global `io`). Every wait is bounded;
// results are returned to node as plain data (bytes as arrays of numbers).
(function () {
  'use strict';
  const sockets = {};
  const armed = {};
  const WAIT_MS = 8000;

  function bounded(p, what) {
    let t;
    const timeout = new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: timeout after ${WAIT_MS} ms`)), WAIT_MS);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  }

  // Describes a received value: binary becomes {bin: kind, bytes: [...]}, objects and arrays
  // are walked, anything else is kept as is.
  function plain(v) {
    if (v instanceof ArrayBuffer) return { bin: 'ArrayBuffer', bytes: Array.from(new Uint8Array(v)) };
    if (ArrayBuffer.isView(v)) {
      return { bin: v.constructor.name, bytes: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
    }
    if (typeof Blob !== 'undefined' && v instanceof Blob) return { bin: 'Blob', size: v.size };
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v)) o[k] = plain(v[k]);
      return o;
    }
    return v;
  }

  // Bytes 0..n-1 of a repeating pattern, so an offset or truncation shows.
  function pattern(n, seed = 0) {
    const u = new Uint8Array(n);
    for (let i = 0; i < n; i++) u[i] = (i * 7 + seed) & 0xff;
    return u;
  }

  window.EIO = {
    ready: true,
    plain,
    pattern,
    sockets,
    // Connects sockets[name] and resolves with the transport in use once connected (and, with
    // waitUpgrade, once the upgrade to WebSocket happened).
    async connect(name, url, opts, waitUpgrade) {
      const s = io(url, { forceNew: true, reconnection: false, timeout: WAIT_MS, ...opts });
      sockets[name] = s;
      s.events = [];
      await bounded(new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', (e) => reject(new Error(`connect_error: ${e && e.message}`)));
        s.once('error', (e) => reject(new Error(`error: ${e && (e.message || e)}`)));
      }), `connect ${name}`);
      if (waitUpgrade && s.io.engine.transport.name !== 'websocket') {
        await bounded(new Promise((resolve) => s.io.engine.once('upgrade', resolve)), `upgrade ${name}`);
      }
      return s.io.engine.transport.name;
    },
    transport(name) {
      return sockets[name].io.engine.transport.name;
    },
    // Emits event with args and resolves with the plain form of the next `reply` event's args.
    emitFor(name, reply, event, ...args) {
      const s = sockets[name];
      const got = new Promise((resolve) => s.once(reply, (...a) => resolve(plain(a))));
      s.emit(event, ...args);
      return bounded(got, `${event} -> ${reply}`);
    },
    // Emits each [event, ...args] of list in one go (one tick, so the transport batches them)
    // and resolves with the plain args of the next list.length `reply` events.
    emitMany(name, reply, list) {
      const s = sockets[name];
      const got = [];
      const all = new Promise((resolve) => {
        const on = (...a) => {
          got.push(plain(a));
          if (got.length === list.length) {
            s.off(reply, on);
            resolve(got);
          }
        };
        s.on(reply, on);
      });
      for (const [event, ...args] of list) s.emit(event, ...args);
      return bounded(all, `${list.length} x ${reply}`);
    },
    // Emits event with args and an ack; resolves with the plain form of the ack's args.
    emitAck(name, event, ...args) {
      const s = sockets[name];
      return bounded(new Promise((resolve) => s.emit(event, ...args, (...a) => resolve(plain(a)))), `ack of ${event}`);
    },
    // arm() starts listening for the next `event` on sockets[name] (returns at once, so the
    // caller knows the listener is in place); take() resolves with that event's plain args.
    arm(name, event) {
      const s = sockets[name];
      armed[`${name}/${event}`] = new Promise((resolve) => s.once(event, (...a) => resolve(plain(a))));
      return true;
    },
    take(name, event) {
      return bounded(armed[`${name}/${event}`], `${name}: ${event}`);
    },
    close(name) {
      const s = sockets[name];
      if (s) s.close();
      delete sockets[name];
    },
  };
})();
