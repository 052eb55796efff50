// rtc.js: WebRTC helpers shared by admin.js and viewer.js: local media with fallbacks,
// ordered trickle ICE in both directions, getStats digests.

// RTCIceCandidate -> the RTCIceCandidateInit of PROTOCOL §5 (exactly these three fields).
export function candidateInit(c) {
  return { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
}

// A valid incoming candidate: null (end of candidates) or an object with a string `candidate`.
export function isCandidate(c) {
  return c === null || (c !== undefined && typeof c === 'object' && typeof c.candidate === 'string');
}

// Sends the local candidates of `pc` through send(init|null), holding them while held: the
// offer/answer must reach the server before its candidates. Starts held.
export function localCandidates(pc, send) {
  let held = true;
  let queue = [];
  pc.addEventListener('icecandidate', (e) => {
    if (e.candidate && !e.candidate.candidate) return; // empty string: per-generation end marker
    const c = e.candidate ? candidateInit(e.candidate) : null;
    if (held) queue.push(c);
    else send(c);
  });
  return {
    hold() {
      held = true;
    },
    release() {
      held = false;
      const q = queue;
      queue = [];
      q.forEach(send);
    },
  };
}

// Applies remote candidates to `pc`, keeping the ones that arrive before the remote
// description, or between pause() and flush() (while an offer/answer is being applied).
export function remoteCandidates(pc) {
  const pending = [];
  let paused = false;
  async function apply(c) {
    try {
      if (c === null) await pc.addIceCandidate();
      else await pc.addIceCandidate(c);
    } catch (e) {
      console.warn('onair: addIceCandidate failed', e, c);
    }
  }
  return {
    add(c) {
      if (paused || !pc.remoteDescription || pc.signalingState === 'have-local-offer') pending.push(c);
      else apply(c);
    },
    pause() {
      paused = true;
    },
    async flush() {
      paused = false;
      while (pending.length) await apply(pending.shift());
    },
  };
}

// getUserMedia: 1280x720 first, then without constraints, then video only, then audio only.
// Permission refusals stop at once. Throws the last error.
export async function getLocalMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const e = new Error('no mediaDevices');
    e.name = 'InsecureContext';
    throw e;
  }
  const attempts = [
    { video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }, audio: true },
    { video: true, audio: true },
    { video: true, audio: false },
    { video: false, audio: true },
  ];
  let last = null;
  for (const c of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(c);
    } catch (e) {
      last = e;
      if (e.name === 'NotAllowedError' || e.name === 'SecurityError') break;
    }
  }
  throw last;
}

export function mediaErrorText(e) {
  switch (e && e.name) {
    case 'InsecureContext':
      return 'The browser offers the camera only on HTTPS pages (or http://localhost). Open this page over HTTPS.';
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera and microphone access was refused. Allow it in the browser (the icon in the address bar) and try again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another application, or failed to start.';
    default:
      return `Could not start the camera or microphone (${(e && (e.message || e.name)) || 'unknown error'}).`;
  }
}

// Reads one getStats() report into a flat digest. dir 'in' (viewer) or 'out' (admin).
export async function statsDigest(pc, dir) {
  const d = {
    connectionState: pc ? pc.connectionState : 'none',
    iceConnectionState: pc ? pc.iceConnectionState : 'none',
  };
  if (dir === 'in') Object.assign(d, { framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioPacketsReceived: 0 });
  else Object.assign(d, { framesEncoded: 0, frameWidth: 0, frameHeight: 0, audioPacketsSent: 0 });
  if (!pc) return d;
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return d;
  }
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  report.forEach((s) => {
    if (dir === 'in' && s.type === 'inbound-rtp') {
      if (s.kind === 'video') {
        d.framesDecoded = s.framesDecoded ?? 0;
        d.framesReceived = s.framesReceived ?? 0;
        d.frameWidth = s.frameWidth ?? 0;
        d.frameHeight = s.frameHeight ?? 0;
        d.framesPerSecond = s.framesPerSecond ?? 0;
        d.videoPacketsReceived = s.packetsReceived ?? 0;
        d.videoPacketsLost = s.packetsLost ?? 0;
        d.videoBytesReceived = s.bytesReceived ?? 0;
        d.videoCodec = byId.get(s.codecId)?.mimeType ?? '';
      } else if (s.kind === 'audio') {
        d.audioPacketsReceived = s.packetsReceived ?? 0;
        d.audioPacketsLost = s.packetsLost ?? 0;
        d.audioBytesReceived = s.bytesReceived ?? 0;
        d.audioCodec = byId.get(s.codecId)?.mimeType ?? '';
      }
    } else if (dir === 'out' && s.type === 'outbound-rtp') {
      if (s.kind === 'video') {
        d.framesEncoded = s.framesEncoded ?? 0;
        d.framesSent = s.framesSent ?? 0;
        d.frameWidth = s.frameWidth ?? 0;
        d.frameHeight = s.frameHeight ?? 0;
        d.framesPerSecond = s.framesPerSecond ?? 0;
        d.videoPacketsSent = s.packetsSent ?? 0;
        d.videoBytesSent = s.bytesSent ?? 0;
        d.qualityLimitationReason = s.qualityLimitationReason ?? '';
        d.videoCodec = byId.get(s.codecId)?.mimeType ?? '';
      } else if (s.kind === 'audio') {
        d.audioPacketsSent = s.packetsSent ?? 0;
        d.audioBytesSent = s.bytesSent ?? 0;
        d.audioCodec = byId.get(s.codecId)?.mimeType ?? '';
      }
    }
  });
  return d;
}

// Bitrate between two digests (bits/s) from byte counters; null when unknown.
export function bitrate(prev, cur, key, dtMs) {
  if (!prev || !cur || !(dtMs > 0) || typeof prev[key] !== 'number' || typeof cur[key] !== 'number') return null;
  const db = cur[key] - prev[key];
  return db >= 0 ? (db * 8 * 1000) / dtMs : null;
}

// True when the new SDP is not a renegotiation of the old one's session: a different o=
// session id (RFC 3264 8: a modified offer keeps it; the media server made a new peer, e.g.
// for a publisher that came back), different DTLS fingerprints (the media server restarted)
// or fewer m-sections. The peer connection must be recreated then: the far end expects a new
// DTLS handshake, which a renegotiation of the old connection never starts.
export function sdpIdentityChanged(oldSdp, newSdp) {
  const sess = (s) => (/^o=\S+ (\S+) /m.exec(s) || [])[1] || '';
  const fp = (s) => (s.match(/^a=fingerprint:.*$/gm) || []).map((l) => l.trim().toLowerCase()).sort().join('|');
  const mc = (s) => (s.match(/^m=/gm) || []).length;
  return sess(oldSdp) !== sess(newSdp) || fp(oldSdp) !== fp(newSdp) || mc(oldSdp) > mc(newSdp);
}
