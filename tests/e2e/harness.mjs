// tests/e2e/harness.mjs: drives the test pages (tests/e2e/pages/) from node:test and relays
// SDP and ICE candidates between them and the SFU's RPC (docs/RPC.md), or directly between two
// pages (P2P, to check the pages themselves). Must run inside `unshare -n` with lo up.
//
//   const env = await openEnv();                        // static server + one Chromium
//   const pub = await env.page('publisher');            // PeerPage
//   await pub.call('start', { width: 1280, height: 720 });
//   const link = await publishToSfu(rpc, pub, { room: 'r1', peer: 'pub1' });
//   const sub = await env.page('subscriber');
//   await subscribeFromSfu(rpc, sub, { room: 'r1', peer: 'sub1' });
//   await sub.waitStats('sub1', (s) => s.in_video?.framesDecoded >= 60);
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, servePages } from '../lib/chromium.mjs';

export const PAGES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages');
const POLL_MS = 200;

// One Chromium page running publisher.html or subscriber.html.
export class PeerPage {
  constructor(page, kind) {
    this.page = page;
    this.kind = kind; // 'pub' | 'sub'
    this.routes = new Map(); // id -> candidate sink (fn)
    this.held = new Map();   // id -> candidates produced before a sink was set
    this.logs = [];
    this.closed = false;
  }

  static async open(br, baseUrl, which) {
    const page = await br.newPage();
    const pp = new PeerPage(page, which === 'publisher' ? 'pub' : 'sub');
    await page.exposeFunction('onairCandidate', (id, cand) => pp._onCandidate(id, cand));
    await page.exposeFunction('onairLog', (id, text) => { pp.logs.push(`${id}: ${text}`); });
    await page.goto(`${baseUrl}${which}.html`);
    await page.waitForFunction((k) => window[k] && window[k].ready, pp.kind);
    return pp;
  }

  _onCandidate(id, cand) {
    const sink = this.routes.get(id);
    if (sink) sink(cand);
    else {
      if (!this.held.has(id)) this.held.set(id, []);
      this.held.get(id).push(cand);
    }
  }

  // Sends every local candidate of pc `id` (and null at the end of gathering) to sink.
  routeCandidates(id, sink) {
    this.routes.set(id, sink);
    for (const c of this.held.get(id) || []) sink(c);
    this.held.delete(id);
  }

  // Calls window.pub|sub[fn](...args) in the page.
  call(fn, ...args) {
    return this.page.evaluate(([k, f, a]) => window[k][f](...a), [this.kind, fn, args]);
  }

  stats(id) {
    return this.call('stats', id);
  }

  // Polls getStats of pc `id` until pred(stats) is truthy; resolves with those stats. At the
  // deadline rejects with the last stats, so a failure shows what the page saw.
  async waitStats(id, pred, { timeoutMs = 15000, what = 'stats condition' } = {}) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.stats(id);
      if (pred(last)) return last;
      if (Date.now() > end) {
        throw new Error(`${this.kind} ${id}: timeout after ${timeoutMs} ms waiting for ${what}; last stats: ${JSON.stringify(last)}; log: ${this.logs.slice(-20).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS)); // polling interval, not synchronisation
    }
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.page.close().catch(() => {});
  }
}

// Static page server + one Chromium. close() ends both.
export async function openEnv(opts = {}) {
  const srv = await servePages(PAGES);
  let br;
  try {
    br = await launchChromium(opts);
  } catch (e) {
    await srv.close();
    throw e;
  }
  const pages = [];
  return {
    srv, br, pages,
    async page(which) {
      const p = await PeerPage.open(br, srv.url, which);
      pages.push(p);
      return p;
    },
    async close() {
      for (const p of pages) await p.close();
      await br.close();
      await srv.close();
    },
  };
}

// A queue that holds items until open() and then passes them (and later ones) to fn.
function gate(fn) {
  let open = false;
  const q = [];
  return {
    push(x) { if (open) fn(x); else q.push(x); },
    open() { open = true; for (const x of q.splice(0)) fn(x); },
  };
}

// Connects publisher page pc `pubId` to subscriber page pc `subId` directly (no SFU).
export async function linkP2P(pub, pubId, sub, subId, offerOpts = {}) {
  const errors = [];
  const toSub = gate((c) => sub.call('candidate', subId, c).catch((e) => errors.push(`sub cand: ${e.message}`)));
  const toPub = gate((c) => pub.call('candidate', pubId, c).catch((e) => errors.push(`pub cand: ${e.message}`)));
  pub.routeCandidates(pubId, (c) => toSub.push(c));
  sub.routeCandidates(subId, (c) => toPub.push(c));
  const offer = await pub.call('offer', pubId, offerOpts);
  const answer = await sub.call('answerOffer', subId, offer);
  toSub.open();
  await pub.call('answer', pubId, answer);
  toPub.open();
  return { errors, offer, answer };
}

// Relays the SFU's peer.candidate events for `peer` to page pc `peer`, and the page's
// candidates to the SFU (peer.candidate requests) once `gateToSfu` is opened (after the request
// that creates the peer was sent). Returns {errors, toSfu, stop()}.
function relayCandidates(rpc, pp, peer) {
  const errors = [];
  const sent = [];
  const toPage = gate((c) => pp.call('candidate', peer, c).catch((e) => { if (!pp.closed) errors.push(`page cand: ${e.message}`); }));
  const onEv = (d) => { if (d && d.peer === peer) toPage.push(d.candidate); };
  rpc.on('peer.candidate', onEv);
  const toSfu = gate((c) => {
    sent.push(c);
    rpc.request('peer.candidate', { peer, candidate: c }).then((r) => {
      if (r.error) errors.push(`peer.candidate ${JSON.stringify(c)} -> ${JSON.stringify(r.error)}`);
    }, (e) => { if (!rpc.closed) errors.push(`peer.candidate: ${e.message}`); });
  });
  pp.routeCandidates(peer, (c) => toSfu.push(c));
  return { errors, sent, toSfu, toPage, stop() { rpc.off('peer.candidate', onEv); } };
}

// Publishes the page's stream to the SFU: offer -> publisher.offer -> answer, with candidates
// relayed both ways. Returns {errors, offer, answer, stop()}.
export async function publishToSfu(rpc, pub, { room, peer, codec = '', degradation } = {}) {
  const rel = relayCandidates(rpc, pub, peer);
  const offer = await pub.call('offer', peer, { codec, degradation });
  const resP = rpc.call('publisher.offer', { room, peer, sdp: offer }, { timeoutMs: 10000 });
  rel.toSfu.open(); // publisher.offer is written: the SFU knows the peer before its candidates
  const res = await resP;
  await pub.call('answer', peer, res.sdp);
  rel.toPage.open();
  return { errors: rel.errors, offer, answer: res.sdp, stop: rel.stop };
}

// Creates a subscriber on the SFU and connects the page to it: subscriber.create -> offer ->
// page answer -> subscriber.answer. candidatesFirst: send the page's first candidate to the SFU
// before subscriber.answer (the SFU must hold it until it has the answer). rtcConfig: extra
// RTCConfiguration of the page's pc (e.g. TURN iceServers and iceTransportPolicy 'relay').
// Returns {errors, offer, answer, sent, stop()}.
export async function subscribeFromSfu(rpc, sub, { room, peer, candidatesFirst = false, rtcConfig } = {}) {
  const rel = relayCandidates(rpc, sub, peer);
  const res = await rpc.call('subscriber.create', { room, peer }, { timeoutMs: 10000 });
  const answer = await sub.call('answerOffer', peer, res.sdp, rtcConfig);
  rel.toPage.open();
  if (candidatesFirst) {
    rel.toSfu.open();
    const end = Date.now() + 5000;
    while (!rel.sent.some((c) => c)) {
      if (Date.now() > end) throw new Error(`${peer}: the page gathered no candidate`);
      await new Promise((r) => setTimeout(r, 10)); // polling interval
    }
  }
  const ansP = rpc.call('subscriber.answer', { peer, sdp: answer }, { timeoutMs: 10000 });
  rel.toSfu.open();
  await ansP;
  return { errors: rel.errors, offer: res.sdp, answer, sent: rel.sent, stop: rel.stop };
}

// Video decoding as the tests want it: >= n frames decoded at w x h.
export const decoded = (n, w = 1280, h = 720) => (s) =>
  s.in_video && s.in_video.framesDecoded >= n && s.in_video.frameWidth === w && s.in_video.frameHeight === h;
export const audioFlowing = (s) => s.in_audio && s.in_audio.packetsReceived > 0;
