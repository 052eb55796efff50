// tests/bench/worker.mjs: a load-client process for tests/bench/run.mjs, driven over the IPC
// channel of child_process.fork. Commands (each answered with {id, ok, ...} or {id, ok:false, error}):
//   {cmd:'connect', url, n, conc}  -> opens n more raw clients; {n, ms}
//   {cmd:'join', room, n}          -> the first n clients join room; {maxSize}
//   {cmd:'expect', total}          -> resolves once those room members got `total` bcasts in
//                                     all (counted from the command); {tEnd} (epoch ms)
//   {cmd:'close'}                  -> closes every client and waits for the closes; {n}
import { performance } from 'node:perf_hooks';
import { connectMany } from './rawclient.mjs';

let clients = [];
const now = () => performance.timeOrigin + performance.now();

const handlers = {
  async connect({ url, n, conc = 50 }) {
    const t0 = now();
    const got = await connectMany(url, n, conc);
    clients.push(...got);
    return { n: got.length, ms: now() - t0 };
  },
  async join({ room, n }) {
    let maxSize = 0;
    const lanes = 20;
    let next = 0;
    const lane = async () => {
      while (next < n) {
        const c = clients[next++];
        const [r] = JSON.parse(await c.emitAck('join', room));
        if (r.size > maxSize) maxSize = r.size;
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return { maxSize };
  },
  expect({ total }) {
    return new Promise((resolve) => {
      let count = 0;
      const members = clients.filter((c) => c.bcasts >= 0);
      const on = () => {
        if (++count === total) {
          const tEnd = now();
          for (const c of members) c.onBcast = null;
          resolve({ tEnd });
        }
      };
      for (const c of members) c.onBcast = on;
    });
  },
  async close() {
    const n = clients.length;
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
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
process.send({ ready: true });
