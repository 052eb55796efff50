// tests/bench/live_worker.mjs: a load-client process for tests/bench/live_run.mjs, driven over
// the IPC channel of child_process.fork. Its viewers are LiveClients (live_client.mjs) with
// their own HS256 tokens, minted here. Commands (each answered with {id, ok, ...} or
// {id, ok:false, error}):
//   {cmd:'connect', urls, n, conc, secret, tag}
//        -> opens n more viewers (sub "<tag>-<k>", role viewer), client k on urls[k % urls.length]
//           (so every worker spreads its viewers evenly over the nodes); {n, ms}
//   {cmd:'join', room, n, conc}
//        -> the next n viewers that have not joined emit join-stream {roomId} with an ack, conc
//           in flight; each emit -> ack time in µs; {lat: [µs...], fails, firstError}
//   {cmd:'rejoin', room, n, conc}
//        -> the next n joined viewers (round the joined ones, conc in flight) emit leave-stream,
//           then join-stream again (timed, as for join); {lat, fails, firstError}
//   {cmd:'expect', total} -> resolves once the joined viewers got `total` chat-message events
//                            in all (counted from the command); {tEnd} (epoch ms)
//   {cmd:'close'}         -> closes every viewer and waits for the closes; {n}
import { performance } from 'node:perf_hooks';
import { LiveClient, mintToken } from './live_client.mjs';

let clients = [];
let joined = 0; // clients[0..joined) have joined
let rejoined = 0; // rejoins so far (the next is clients[rejoined % joined])
const now = () => performance.timeOrigin + performance.now();

const handlers = {
  async connect({ urls, n, conc = 25, secret, tag }) {
    const t0 = now();
    const base = clients.length;
    const out = new Array(n);
    let next = 0;
    const lane = async () => {
      while (next < n) {
        const i = next++;
        const k = base + i;
        const token = mintToken(secret, { sub: `${tag}-${k}`, name: `viewer ${k}`, role: 'viewer' });
        out[i] = await new LiveClient(token).connect(urls[k % urls.length]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(conc, n) }, lane));
    clients.push(...out);
    return { n, ms: now() - t0 };
  },
  async join({ room, n, conc = 8 }) {
    const end = Math.min(clients.length, joined + n);
    const lat = [];
    let fails = 0;
    let firstError = null;
    const lane = async () => {
      while (joined < end) {
        const c = clients[joined++];
        const t0 = process.hrtime.bigint();
        const txt = await c.emitAck('join-stream', { roomId: room });
        lat.push(Number(process.hrtime.bigint() - t0) / 1000);
        const [r] = JSON.parse(txt);
        if (!r || r.ok !== true) {
          fails++;
          if (!firstError) firstError = txt.slice(0, 300);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(conc, end - joined) }, lane));
    return { lat, fails, firstError };
  },
  async rejoin({ room, n, conc = 1 }) {
    const lat = [];
    let fails = 0;
    let firstError = null;
    const check = (txt) => {
      const [r] = JSON.parse(txt);
      if (!r || r.ok !== true) {
        fails++;
        if (!firstError) firstError = txt.slice(0, 300);
      }
    };
    n = Math.min(n, joined); // each viewer at most once per command
    let left = n;
    const lane = async () => {
      while (left > 0) {
        left--;
        const c = clients[rejoined++ % joined];
        check(await c.emitAck('leave-stream', { roomId: room }));
        const t0 = process.hrtime.bigint();
        const txt = await c.emitAck('join-stream', { roomId: room });
        lat.push(Number(process.hrtime.bigint() - t0) / 1000);
        check(txt);
      }
    };
    await Promise.all(Array.from({ length: Math.min(conc, n) }, lane));
    return { lat, fails, firstError };
  },
  expect({ total }) {
    return new Promise((resolve) => {
      let count = 0;
      const members = clients.slice(0, joined);
      const on = () => {
        if (++count === total) {
          const tEnd = now();
          for (const c of members) c.onChat = null;
          resolve({ tEnd });
        }
      };
      for (const c of members) c.onChat = on;
    });
  },
  async close() {
    const n = clients.length;
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    joined = 0;
    rejoined = 0;
    return { n };
  },
};

process.on('message', async (m) => {
  try {
    const r = await handlers[m.cmd](m);
    process.send({ id: m.id, ok: true, ...r });
  } catch (e) {
    process.send({ id: m.id, ok: false, error: String(e && e.stack ? e.stack : e) });
  }
});
process.on('disconnect', () => process.exit(0)); // the coordinator is gone: do not linger
process.send({ ready: true });
