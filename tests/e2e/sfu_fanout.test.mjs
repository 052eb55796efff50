// tests/e2e/sfu_fanout.test.mjs: rooms big enough for the fan-out helper threads, and an SFU
// pushed far past its capacity. The viewers are build/release/tools/sfu_load (the benchmark's
// load viewer: one C process, real ICE with libnice's STUN, DTLS and SRTP per subscriber, every
// RTP packet counted by sequence number, one in 16 authenticated) and its publisher sfu_pub;
// the SFU under test is the ASan build. Runs inside `unshare -n` with lo up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpcClient, startSfu, randomPortRange } from '../lib/rpc.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RELEASE = process.env.ONAIR_RELEASE_BUILD || path.join(REPO, 'build/release');
const LOAD = path.join(RELEASE, 'tools/sfu_load');

// Runs sfu_load to the end; resolves with its exit code, its JSON result and its stderr.
function runLoad(rpcPath, ports, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const p = spawn(LOAD, ['--rpc', rpcPath, '--sfu-ports', ports, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`sfu_load still running after ${timeoutMs} ms:\n${err}`)); }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      resolve({ code, r: line ? JSON.parse(line) : null, err });
    });
  });
}

test('80 subscribers through the fan-out helpers and direct sends: every packet reaches every subscriber', { timeout: 120000 }, async (t) => {
  assert.ok(fs.existsSync(LOAD), `${LOAD} not built (make MODE=release tools)`);
  const ports = randomPortRange(200);
  const sfu = await startSfu({ id: 'e2e-fanout', ports, args: ['--fanout-threads', '2', '--fanout-min', '8', '--max-peers', '200'] });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));
  const listening = sfu.logs.find((l) => l.msg === 'listening');
  assert.equal(listening.fanout_threads, 2);

  const { code, r, err } = await runLoad(sfu.rpcPath, ports, ['--subs', '80', '--kbps', '800', '--warmup', '2', '--window', '3'], 90000);
  assert.equal(code, 0, err);
  assert.equal(r.connected, 80, err);
  assert.equal(r.failed, 0);
  assert.ok(r.pkts_in > 100, `the publisher sent ${r.pkts_in} packets in the window`);
  // Every packet the publisher sent in the window, to every subscriber, exactly as numbered.
  assert.equal(r.received, r.expected, `lost ${r.expected - r.received} of ${r.expected}`);
  assert.equal(r.auth_fail, 0);
  assert.ok(r.auth_ok > 0);
  assert.equal(r.bad_payload, 0);

  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.destroy());
  const st = await rpc.call('stats', {});
  assert.equal(st.load.fanout_threads, 3);
  assert.equal(st.load.overload_drops, 0);
});

test('overload: far past its capacity the SFU drops publisher media and keeps serving (RPC, handshakes, consent)', { timeout: 120000 }, async (t) => {
  assert.ok(fs.existsSync(LOAD), `${LOAD} not built (make MODE=release tools)`);
  const ports = randomPortRange(200);
  // One thread and a 20 ms budget; 60 viewers of an 80 Mbit/s stream are ~500k sends/s, several
  // times what the ASan build can do. Without the guard (--media-budget-ms 0) the publisher's
  // receive callback never returns: no RPC, no DTLS for new viewers, no consent checks; this
  // run then hangs (sfu_load waits for its RPC) until the timeout below.
  const sfu = await startSfu({ id: 'e2e-overload', ports, args: ['--fanout-threads', '0', '--media-budget-ms', '20', '--max-peers', '200'] });
  t.after(async () => assert.equal(await sfu.stop(), 0, sfu.logText().slice(-20000)));

  const { code, r, err } = await runLoad(sfu.rpcPath, ports, ['--subs', '60', '--kbps', '80000', '--warmup', '1', '--window', '3'], 60000);
  assert.equal(code, 0, err);
  // every viewer completed ICE and DTLS while the publisher flooded the SFU
  assert.equal(r.connected, 60, err);
  assert.equal(r.failed, 0);
  // the controller's probe (a cheap RPC every 250 ms) was answered within a second throughout
  assert.ok(r.rpc_probe_max_us < 1000000, `RPC waited ${r.rpc_probe_max_us} µs`);
  // media was shed, not all of it
  assert.ok(r.received > 0);
  assert.ok(r.loss_pct > 0, 'the SFU was not overloaded: nothing to test');

  await sfu.waitLog((l) => l.msg === 'overloaded: publisher media dropped until the loop catches up', { what: 'the overload warning' });
  const { rpc } = await RpcClient.open(sfu.rpcPath);
  t.after(() => rpc.destroy());
  const st = await rpc.call('stats', {});
  assert.ok(st.load.overload_drops > 0);
  // the room survived: its publisher was connected to the end (sfu_load closes it itself)
  assert.ok(!sfu.logs.some((l) => l.msg === 'failed' && l.mod === 'peer'), 'a peer failed');
});
