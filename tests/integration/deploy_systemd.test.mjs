// tests/integration/deploy_systemd.test.mjs: the systemd units of deploy/ load without a single
// complaint from `systemd-analyze verify` (which exits 0 on most unit-file mistakes and only
// prints them, so the output must be empty too), their sandboxing keeps the exposure score low
// (`systemd-analyze security --offline`), the env file examples name only variables the binaries
// know (from their --help), and every ${VAR} of an ExecStart= is set there.
// The units are copied to a temp dir with the binaries' and env files' paths pointed at
// existing files (the build under test, the examples); nothing is installed or started.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, buildDir } from '../lib/server.mjs';

const DEPLOY = path.join(REPO, 'deploy');
const UNITS = ['onair-signal.service', 'onair-sfu@.service', 'onair-sfus.target'];
// what the systemd-analyze checks look at (the instance is made from the template)
const VERIFY = ['onair-signal.service', 'onair-sfu@1.service', 'onair-sfu@2.service', 'onair-sfus.target'];
const MAX_EXPOSURE = 2.5; // systemd-analyze security: 0 (locked down) .. 10 (nothing)

function run(cmd, args, { cwd, timeoutMs = 20000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, out: stdout + stderr }));
  });
}

const haveAnalyze = fs.existsSync('/usr/bin/systemd-analyze') || fs.existsSync('/bin/systemd-analyze');

// Copies the units into dir with the paths of this machine: the binaries of the build under
// test, the env examples as the EnvironmentFile=s, dir as the working directory. Each rewrite
// must match, so a unit that changes its paths makes this fail instead of testing nothing.
function renderUnits(dir, bin) {
  const subst = [
    [/\/usr\/local\/bin\/onair-signal\b/g, path.join(bin, 'onair-signal')],
    [/\/usr\/local\/bin\/onair-sfu\b/g, path.join(bin, 'onair-sfu')],
    [/\/etc\/onair\/onair\.env\b/g, path.join(dir, 'onair.env')],
    [/\/etc\/onair\/sfu-%i\.env\b/g, path.join(dir, 'sfu-%i.env')],
    [/^WorkingDirectory=\/usr\/local\/share\/onair$/m, `WorkingDirectory=${dir}`],
  ];
  const used = new Set();
  for (const u of UNITS) {
    let text = fs.readFileSync(path.join(DEPLOY, u), 'utf8');
    subst.forEach(([re, to], i) => {
      const next = text.replace(re, to);
      if (next !== text) used.add(i);
      text = next;
    });
    fs.writeFileSync(path.join(dir, u), text);
  }
  assert.equal(used.size, subst.length, `every path rewrite matched a unit (unmatched: ${subst.filter((_, i) => !used.has(i)).map(([re]) => re).join(', ')})`);
  fs.copyFileSync(path.join(DEPLOY, 'onair.env.example'), path.join(dir, 'onair.env'));
  fs.copyFileSync(path.join(DEPLOY, 'sfu-N.env.example'), path.join(dir, 'sfu-2.env'));
}

// `systemd-analyze verify`: ok only when it exits 0 and prints nothing.
async function verify(dir, names) {
  const r = await run('systemd-analyze', ['verify', '--man=no', ...names.map((n) => `./${n}`)], { cwd: dir });
  return { ok: r.code === 0 && r.out.trim() === '', ...r };
}

// KEY=VALUE lines of an EnvironmentFile (comments and blank lines skipped).
function parseEnvFile(file) {
  const vars = new Map();
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const m = l.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    assert.ok(m, `${path.basename(file)}:${i + 1}: not KEY=VALUE: ${line}`);
    vars.set(m[1], m[2]);
  });
  return vars;
}

describe('deploy: systemd units', { timeout: 60000, skip: haveAnalyze ? false : 'systemd-analyze not installed' }, () => {
  let dir;
  const bin = buildDir();
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-units-'));
    for (const b of ['onair-signal', 'onair-sfu']) assert.ok(fs.existsSync(path.join(bin, b)), `${bin}/${b} is built`);
    renderUnits(dir, bin);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('systemd-analyze verify: no error, no warning', async () => {
    const r = await verify(dir, VERIFY);
    assert.ok(r.ok, `systemd-analyze verify exit ${r.code}:\n${r.out}`);
  });

  test('the check catches broken units (unknown key, bad value, missing binary)', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-units-bad-'));
    try {
      const base = fs.readFileSync(path.join(dir, 'onair-signal.service'), 'utf8');
      const cases = {
        'typo-key.service': base.replace('NoNewPrivileges=yes', 'NoNewPrivilges=yes'),
        'bad-value.service': base.replace('ProtectSystem=strict', 'ProtectSystem=stricter'),
        'no-binary.service': base.replace(/^ExecStart=\S+/m, `ExecStart=${path.join(bad, 'missing-binary')}`),
      };
      for (const [name, text] of Object.entries(cases)) {
        assert.notEqual(text, base, `${name}: the fault was injected`);
        fs.writeFileSync(path.join(bad, name), text);
        const r = await verify(bad, [name]);
        assert.equal(r.ok, false, `${name} passed verification:\n${r.out}`);
      }
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  test('sandboxing: exposure level <= 2.5 and the required hardening is on', async () => {
    for (const u of ['onair-signal.service', 'onair-sfu@1.service']) {
      const r = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', `./${u}`], { cwd: dir });
      const m = r.out.match(/Overall exposure level for \S+: ([\d.]+)/);
      assert.ok(m, `no exposure level for ${u} (exit ${r.code}):\n${r.out.slice(-2000)}`);
      assert.ok(+m[1] <= MAX_EXPOSURE, `${u}: exposure ${m[1]} > ${MAX_EXPOSURE}:\n${r.out}`);
    }
    for (const u of ['onair-signal.service', 'onair-sfu@.service']) {
      const text = fs.readFileSync(path.join(DEPLOY, u), 'utf8');
      for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'RuntimeDirectory=onair',
        'RuntimeDirectoryPreserve=yes', 'User=onair', 'CapabilityBoundingSet=']) {
        assert.match(text, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `${u} has ${line}`);
      }
    }
  });

  test('env examples: only variables the binaries know; ExecStart variables all set', async () => {
    const known = new Set(['ONAIR_ENV', 'NODE_ENV', 'LOG_LEVEL', 'WWW_DIR', 'SFU_ID_PREFIX']);
    for (const [b, args] of [['onair-signal', ['--app', 'livestream', '--help']], ['onair-sfu', ['--help']]]) {
      const r = await run(path.join(bin, b), args);
      const names = [...r.out.matchAll(/^\s+--[a-z0-9-]+\s+([A-Z][A-Z0-9_]+)\s/gm)].map((m) => m[1]);
      assert.ok(names.length > 5, `${b} --help lists its variables:\n${r.out}`);
      names.forEach((n) => known.add(n));
    }
    const env = parseEnvFile(path.join(DEPLOY, 'onair.env.example'));
    const sfuEnv = parseEnvFile(path.join(DEPLOY, 'sfu-N.env.example'));
    for (const k of [...env.keys(), ...sfuEnv.keys()]) assert.ok(known.has(k), `${k} is not a variable of onair-signal or onair-sfu`);
    for (const u of ['onair-signal.service', 'onair-sfu@.service']) {
      const exec = fs.readFileSync(path.join(DEPLOY, u), 'utf8').match(/^ExecStart=(.*)$/m)[1];
      for (const [, v] of exec.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)) assert.ok(env.has(v), `${u}: ExecStart uses ${v}, which onair.env.example does not set`);
    }
    // each SFU socket named in SFU_SOCKETS is one an onair-sfu@N instance listens on
    for (const s of env.get('SFU_SOCKETS').split(',')) assert.match(s, /^\/run\/onair\/sfu-\d+\.sock$/);
  });
});
