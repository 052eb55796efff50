// tests/bench/rawclient.mjs: a minimal Socket.IO v5 / Engine.IO v4 client over a raw
// WebSocket (the `ws` package) for load generation: thousands of these cost far less client
// CPU and memory than socket.io-client instances, so the server under test is what we measure.
// It answers pings, connects namespace "/", counts `bcast` events without parsing them and
// resolves acks by id. Not a general client: text packets only.
import WebSocket from 'ws';

const B4 = 0x34, B2 = 0x32, B3 = 0x33, BQ = 0x22, BB = 0x62; // '4' '2' '3' '"' 'b'

export class RawClient {
  constructor() {
    this.ws = null;
    this.bcasts = 0; // `bcast` events received
    this.onBcast = null;
    this.nextAck = 0;
    this.acks = new Map(); // id -> resolve(argsJsonText)
    this.closed = null;
  }

  /** Opens ws://.../socket.io/?EIO=4&transport=websocket and completes the namespace CONNECT;
   * resolves with this. */
  connect(baseUrl, timeoutMs = 30000) {
    const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      this.ws = ws;
      let done = false;
      const t = setTimeout(() => fail(new Error('connect timeout')), timeoutMs);
      const fail = (e) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        ws.terminate();
        reject(e);
      };
      this.closed = new Promise((r) => ws.on('close', r));
      ws.on('error', fail);
      ws.on('close', () => fail(new Error('closed before connect')));
      ws.on('message', (data) => {
        // data: Buffer (text frames arrive as Buffers in ws 8)
        const c0 = data[0];
        if (c0 === B2 && data.length === 1) return ws.send('3'); // ping -> pong
        if (c0 === B4) {
          const c1 = data[1];
          if (c1 === B2) {
            // 42["bcast",...] (a `bcast` event) or something else (auth)
            if (data[3] === BQ && data[4] === BB) {
              this.bcasts++;
              if (this.onBcast) this.onBcast();
            }
            return;
          }
          if (c1 === B3) {
            // 43<id>[...]
            const s = data.toString();
            const i = s.indexOf('[');
            const id = Number(s.slice(2, i));
            const r = this.acks.get(id);
            if (r) {
              this.acks.delete(id);
              r(s.slice(i));
            }
            return;
          }
          if (data[1] === 0x30 && !done) {
            // 40{"sid":...}: connected to "/"
            done = true;
            clearTimeout(t);
            resolve(this);
          }
          return;
        }
        if (c0 === 0x30) ws.send('40'); // Engine.IO open -> Socket.IO CONNECT "/"
      });
    });
  }

  /** Emits event with JSON-able args asking for an ack; resolves with the ack's raw JSON text. */
  emitAck(event, ...args) {
    const id = this.nextAck++;
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.ws.send(`42${id}${JSON.stringify([event, ...args])}`);
    });
  }

  emit(event, ...args) {
    this.ws.send(`42${JSON.stringify([event, ...args])}`);
  }

  close() {
    if (this.ws && this.ws.readyState <= 1) this.ws.close();
    return this.closed || Promise.resolve();
  }
}

/** Connects n clients to url with at most `conc` handshakes in flight; resolves with them. */
export async function connectMany(url, n, conc = 50) {
  const out = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await new RawClient().connect(url);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, lane));
  return out;
}
