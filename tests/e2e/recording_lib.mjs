// tests/e2e/recording_lib.mjs: helpers of the recording tests (recording_*.test.mjs):
// ffprobe of a file, and onair-recorder started on its own (--port 0) for the SFU-level test.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { BUILD } from '../lib/rpc.mjs';
import { spawnProcess, sanitizerEnv } from '../lib/server.mjs';

export const RECORDER = path.join(BUILD, 'onair-recorder');

// `ffprobe -v error -show_streams -show_format -of json file`, parsed.
export async function ffprobe(file) {
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  return JSON.parse(stdout);
}

// Starts onair-recorder writing out, bound to a free loopback port; resolves once it logged
// "listening" (the handle of spawnProcess, plus .port).
export async function startRecorder(out, { args = [], id = 'rec' } = {}) {
  const rec = await spawnProcess({
    cmd: RECORDER,
    args: ['--port', '0', '--out', out, '--id', id, ...args],
    env: sanitizerEnv(),
    ready: (_l, j) => j && j.msg === 'listening',
  });
  rec.port = rec.records.find((j) => j.msg === 'listening').port;
  return rec;
}
