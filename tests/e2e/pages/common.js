'use strict';
// Shared by publisher.html and subscriber.html: one RTCPeerConnection per id (the harness picks
// ids), trickled local candidates pushed to the harness, remote candidates held until the
// remote description is set, timestamps of the state changes, and a getStats digest.
// The harness (tests/e2e/harness.mjs) installs window.onairCandidate(id, cand|null) and
// window.onairLog(id, text) with page.exposeFunction before loading the page.
(function () {
  const peers = new Map(); // id -> {pc, pending: [], times: {}, errors: [], video, frames, first}
  const now = () => +performance.now().toFixed(1);

  function push(fn, ...args) {
    if (typeof window[fn] === 'function') window[fn](...args).catch(() => {});
  }

  // config: extra RTCConfiguration (e.g. {iceServers: [{urls, username, credential}],
  // iceTransportPolicy: 'relay'}); by default no ICE server at all (host candidates only).
  function newPeer(id, config = {}) {
    if (peers.has(id)) throw new Error(`peer ${id} exists`);
    const pc = new RTCPeerConnection({ iceServers: [], ...config });
    const p = { id, pc, pending: [], times: { created: now() }, errors: [], states: [], video: null, frames: 0, first: null, candidates: 0 };
    peers.set(id, p);
    const mark = (k) => { if (!(k in p.times)) p.times[k] = now(); };
    pc.onicecandidate = (e) => {
      if (e.candidate) {
        p.candidates++;
        push('onairCandidate', id, e.candidate.toJSON());
      } else {
        mark('gathered');
        push('onairCandidate', id, null);
      }
    };
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      p.states.push('ice:' + s);
      mark('ice_' + s);
      push('onairLog', id, 'ice ' + s);
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      p.states.push('pc:' + s);
      mark('pc_' + s);
      push('onairLog', id, 'connection ' + s);
    };
    return p;
  }

  function get(id) {
    const p = peers.get(id);
    if (!p) throw new Error(`no peer ${id}`);
    return p;
  }

  async function setRemote(p, desc) {
    await p.pc.setRemoteDescription(desc);
    const held = p.pending.splice(0);
    for (const c of held) await p.pc.addIceCandidate(c);
  }

  // cand: RTCIceCandidateInit, or null for end-of-candidates.
  async function addCandidate(id, cand) {
    const p = get(id);
    const c = cand === null ? null : cand;
    if (!p.pc.remoteDescription) { p.pending.push(c); return 'held'; }
    await p.pc.addIceCandidate(c);
    return 'added';
  }

  // Counts decoded frames of the remote video of p and notes when the first one was shown.
  function watchVideo(p, track, stream) {
    if (p.video) return;
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.width = 320;
    document.body.appendChild(v);
    v.srcObject = stream || new MediaStream([track]);
    p.video = v;
    v.play().catch((e) => p.errors.push('play: ' + e));
    const onFrame = (t, md) => {
      p.frames++;
      if (!p.first) p.first = { at: +t.toFixed(1), width: md.width, height: md.height };
      if (p.video === v) v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }

  async function stats(id) {
    const p = get(id);
    const pc = p.pc;
    const r = await pc.getStats();
    const byId = new Map();
    r.forEach((s) => byId.set(s.id, s));
    const pick = (s, keys) => Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
    const o = {
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState,
      signalingState: pc.signalingState,
      times: p.times, states: p.states, errors: p.errors, candidates: p.candidates,
      frames: p.frames, firstFrame: p.first,
    };
    r.forEach((s) => {
      const codec = s.codecId && byId.get(s.codecId);
      if (s.type === 'inbound-rtp') {
        o['in_' + s.kind] = Object.assign({ codec: codec && codec.mimeType }, pick(s, ['ssrc', 'packetsReceived', 'packetsLost', 'bytesReceived', 'framesReceived', 'framesDecoded', 'framesDropped', 'keyFramesDecoded', 'frameWidth', 'frameHeight', 'framesPerSecond', 'nackCount', 'pliCount', 'firCount', 'freezeCount', 'totalSamplesReceived', 'concealedSamples']));
      } else if (s.type === 'outbound-rtp') {
        o['out_' + s.kind] = Object.assign({ codec: codec && codec.mimeType }, pick(s, ['ssrc', 'packetsSent', 'bytesSent', 'framesEncoded', 'keyFramesEncoded', 'frameWidth', 'frameHeight', 'framesPerSecond', 'qualityLimitationReason', 'nackCount', 'pliCount', 'firCount']));
      } else if (s.type === 'transport') {
        o.transport = pick(s, ['dtlsState', 'dtlsRole', 'tlsVersion', 'dtlsCipher', 'srtpCipher', 'iceRole', 'iceState']);
        const cp = byId.get(s.selectedCandidatePairId);
        if (cp) {
          const l = byId.get(cp.localCandidateId), rc = byId.get(cp.remoteCandidateId);
          o.pair = {
            local: l && `${l.candidateType} ${l.protocol} ${l.address}:${l.port}`,
            remote: rc && `${rc.candidateType} ${rc.protocol} ${rc.address}:${rc.port}`,
          };
        }
      }
    });
    return o;
  }

  function close(id) {
    const p = peers.get(id);
    if (!p) return false;
    p.pc.close();
    if (p.video) { p.video.srcObject = null; p.video.remove(); p.video = null; }
    peers.delete(id);
    return true;
  }

  window.onairPeers = { peers, newPeer, get, setRemote, addCandidate, watchVideo, stats, close, now };
})();
