// tests/bench/live_client.mjs: a minimal Socket.IO v5 / Engine.IO v4 client over a raw
// WebSocket (the `ws` package) for the livestream benchmark (tests/bench/live_run.mjs). Like
// rawclient.mjs, but its namespace CONNECT carries the JWT auth payload of PROTOCOL.md 2
// (`40{"token":"..."}`), it refuses a CONNECT_ERROR, and it counts `chat-message` events without
// parsing them. Answers pings, resolves acks by id with their raw JSON text. Text packets only.
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';

const B0 = 0x30, B2 = 0x32, B3 = 0x33, B4 = 0x34, BQ = 0x22, BC = 0x63; // '0' '2' '3' '4' '"' 'c'

/** An HS256 token for claims, valid for an hour (the benchmark's tokens, minted client-side). */
export function mintToken(secret, claims) {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iat: now, exp: now + 3600, ...claims }, secret, { algorithm: 'HS256', noTimestamp: true });
}

export class LiveClient {
  constructor(token) {
    this.token = token;
    this.ws = null;
    this.chats = 0; // chat-message events received
    this.onChat = null;
    this.onEvent = null; // (text) for every other event packet, when set (the admin's)
    this.nextAck = 0;
    this.acks = new Map(); // id -> resolve(argsJsonText)
    this.closed = null;
  }

  /** Opens ws://.../socket.io/?EIO=4&transport=websocket and completes the namespace CONNECT
   * with {token}; resolves with this, rejects on a CONNECT_ERROR, a close or the timeout. */
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
        const c0 = data[0];
        if (c0 === B2 && data.length === 1) return ws.send('3'); // ping -> pong
        if (c0 === B4) {
          const c1 = data[1];
          if (c1 === B2) {
            // 42["chat-message",...]: the only server event whose name starts with 'c'
            if (data[3] === BQ && data[4] === BC) {
              this.chats++;
              if (this.onChat) this.onChat();
            } else if (this.onEvent) {
              this.onEvent(data.toString());
            }
            return;
          }
          if (c1 === B3) {
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
          if (c1 === B0 && !done) {
            done = true;
            clearTimeout(t);
            resolve(this);
            return;
          }
          if (c1 === B4) fail(new Error(`connect refused: ${data.toString()}`));
          return;
        }
        if (c0 === B0) ws.send(`40${JSON.stringify({ token: this.token })}`); // open -> CONNECT
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

  close() {
    if (this.ws && this.ws.readyState <= 1) this.ws.close();
    return this.closed || Promise.resolve();
  }
}
