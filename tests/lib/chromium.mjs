// tests/lib/chromium.mjs: headless Debian Chromium through playwright-core for loopback WebRTC
// tests (research/webrtc-e2e.md section 3), and a tiny static server for the test pages.
// Run WebRTC tests inside `unshare -n` with lo up: Chromium then gathers 127.0.0.1 only.
//
//   const srv = await servePages(dir);           // http://127.0.0.1:<port>/
//   const br = await launchChromium();           // one browser (persistent context, fresh profile)
//   const page = await br.newPage(srv.url + 'publisher.html');
//   ...; await br.close(); await srv.close();
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export function chromiumArgs({ fps = 30, extra = [] } = {}) {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--use-fake-device-for-media-stream=fps=${fps}`, // the fake camera runs at 20 fps otherwise
    '--use-fake-ui-for-media-stream',                // grants camera/mic (and turns off mDNS hiding)
    '--autoplay-policy=no-user-gesture-required',
    '--allow-loopback-in-peer-connection',           // without it: no candidate in a lo-only netns
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    ...extra,
  ];
}

// Launches one browser with a fresh profile (launchPersistentContext(mkdtemp): playwright
// refuses --user-data-dir in args). Pages opened with newPage() share it. close() removes the
// profile. Page console errors and uncaught exceptions are collected in .pageErrors.
export async function launchChromium(opts = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs(opts),
      viewport: { width: 1280, height: 800 },
      timeout: 60000,
    });
  } catch (e) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const pageErrors = [];
  const first = context.pages()[0];
  let firstUsed = false;
  const br = {
    context,
    userDataDir,
    pageErrors,
    async newPage(url) {
      const page = !firstUsed && first ? first : await context.newPage();
      firstUsed = true;
      page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${page.url()}: console: ${m.text()}`); });
      if (url) await page.goto(url);
      return page;
    },
    async close() {
      try { await context.close(); } catch { /* already gone */ }
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
  return br;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css' };

// Serves the files of dir (no subdirectories, no listing) on http://127.0.0.1:<free port>/.
// Resolves with {url, port, close()}.
export function servePages(dir) {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, path.basename(name));
    fs.readFile(file, (err, data) => {
      if (err || path.basename(name) !== name) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(data);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/`,
        port,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}
