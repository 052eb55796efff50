// viewer.js: the viewer page (/viewer?room=ID). Joins a room and plays what the media server
// offers through one receive-only RTCPeerConnection, following PROTOCOL.md §5-§7.
// Test hooks: window.onair (see docs/PAGES.md).
import {
  $, createNotices, createSocket, createChat, tokenStore, wireTokenPanel, request, errorText,
  roomFromUrl, setRoomInUrl, roomIdProblem, fmtBitrate, fmtCount,
} from './common.js';
import {
  localCandidates, remoteCandidates, isCandidate, statsDigest, bitrate, sdpIdentityChanged,
} from './rtc.js';

const notices = createNotices($('status'), $('errors'));
const store = tokenStore('onair.viewerToken');
const video = $('video');

const OFFER_TIMEOUT_MS = 15000; // live, joined, and no `offer` this long: join again
const REASONS = {
  stopped: 'The broadcaster ended the stream.',
  'publisher-left': 'The broadcaster disconnected.',
  'media-failed': "The broadcast's media failed.",
};

const S = {
  roomId: roomFromUrl(),
  joined: false,
  joining: false,
  joinError: '', // shown in the overlay while not joined
  session: 0, // +1 per successful join: offers of a new session get a new RTCPeerConnection
  live: false,
  room: null,
  ended: '', // reason of the last stream-ended
  kicked: null, // {reason} after `kicked`
  iceServers: [],
  pc: null,
  pcSession: -1,
  gate: null,
  remote: null,
  remoteSdp: '',
  offerChain: Promise.resolve(),
  offersPending: 0,
  early: [], // remote candidates that arrived while an offer was pending
  mediaStream: null,
  playing: false,
  userUnmuted: false,
  mediaState: null,
  viewerCount: null,
  title: '',
  retryTimer: 0,
  retries: 0,
  iceRestarts: 0,
  iceTimer: 0,
  offerTimer: 0,
  restarting: false,
  lastIn: null,
  lastInAt: 0,
  pcCount: 0, // RTCPeerConnections made so far (test hook)
  timing: null, // milestones of the current RTCPeerConnection (performance.now() ms)
};

// ---------------------------------------------------------------- connection

let renewTried = false;
const conn = createSocket({
  getToken: () => store.get(),
  ui: { pill: $('conn-state'), notices, reconnectBtn: $('reconnect') },
  onConnect() {
    renewTried = false;
    if (store.get()) tokenUi.collapse();
    if (S.roomId && !S.kicked) join();
    else if (!S.roomId) notices.status('Connected. Enter a room id to watch.', 'ok');
    render();
  },
  onDisconnect(reason) {
    S.joined = false;
    if (reason !== 'io client disconnect') notices.status('Connection lost; reconnecting…', 'warn');
    render();
  },
  async onRefused(msg) {
    if (msg === 'unauthorized' && !renewTried && (await tokenUi.renew())) {
      renewTried = true;
      conn.connect();
      return;
    }
    if (!store.get()) {
      notices.error(`This server does not let you watch without a token (${msg}). Get a demo token or paste one.`);
      notices.status('A token is needed to watch.', 'warn');
    } else {
      notices.error(
        msg === 'unauthorized'
          ? 'The server refused the token (unauthorized): it is invalid or expired. Get a new one or paste another.'
          : `The server refused the connection: ${msg}.`,
      );
      notices.status('Not connected: the token was refused.', 'error');
    }
    tokenUi.expand();
    render();
  },
});
const socket = conn && conn.socket;

const tokenUi = wireTokenPanel({
  store,
  role: 'viewer',
  notices,
  onToken() {
    if (socket) conn.reconnect(); // with the new token, or anonymously after "forget"
  },
});

// ---------------------------------------------------------------- joining

async function join() {
  if (!S.roomId || S.joining || !socket || !socket.connected) return;
  clearTimeout(S.retryTimer);
  S.joining = true;
  S.kicked = null;
  render();
  notices.status(`Joining room "${S.roomId}"…`);
  const roomId = S.roomId;
  const res = await request(socket, 'join-stream', { roomId });
  S.joining = false;
  if (roomId !== S.roomId) return;
  if (!res.ok) {
    onJoinFailed(res.error);
    render();
    return;
  }
  S.joined = true;
  S.joinError = '';
  S.retries = 0;
  S.session++;
  S.iceServers = Array.isArray(res.iceServers) ? res.iceServers : [];
  setRoom(res.room);
  chat.reset(res.chat);
  if (S.live) expectOffer();
  notices.status(S.live ? `Joined "${S.title}". Connecting to the stream…` : `Joined "${S.title}". Waiting for the broadcast to start.`, 'ok');
  render();
}

function onJoinFailed(err) {
  const code = err.code;
  let retryMs = 0;
  if (code === 'not_found') {
    // 2, 4, 8, then every 10 s: soon after a server restart the broadcaster is usually back
    retryMs = Math.min(10000, 2000 * 2 ** Math.min(S.retries++, 3));
    S.joinError = `There is no room "${S.roomId}" yet. Checking again in ${Math.round(retryMs / 1000)} s…`;
  } else if (code === 'forbidden') {
    S.joinError = `You cannot watch this room${err.message ? ` (${err.message})` : ''}.`;
  } else if (code === 'conflict') {
    S.joinError = 'The room is full. Trying again in 15 s…';
    retryMs = 15000;
  } else if (['rate_limited', 'timeout', 'unavailable', 'internal'].includes(code)) {
    retryMs = Math.min(30000, 2000 * 2 ** Math.min(S.retries++, 4));
    S.joinError = `Could not join (${code}). Trying again in ${Math.round(retryMs / 1000)} s…`;
  } else {
    S.joinError = errorText('Could not join', err);
  }
  if (code !== 'not_found' && code !== 'conflict') notices.error(errorText('Could not join the room', err));
  notices.status(S.joinError, 'warn');
  if (retryMs) S.retryTimer = setTimeout(join, retryMs);
}

function setRoom(room) {
  if (!room || typeof room !== 'object') return;
  S.room = room;
  S.live = !!room.live;
  S.title = String(room.title || room.roomId || S.roomId);
  if (typeof room.viewerCount === 'number') S.viewerCount = room.viewerCount;
  S.mediaState = room.mediaState && typeof room.mediaState === 'object' ? room.mediaState : null;
  if (S.live) S.ended = '';
}

async function leave() {
  clearTimeout(S.retryTimer);
  const roomId = S.roomId;
  const wasJoined = S.joined;
  S.joined = false;
  closePc();
  clearVideo();
  if (wasJoined) {
    const res = await request(socket, 'leave-stream', { roomId });
    if (!res.ok && res.error.code !== 'offline') notices.error(errorText('Leave', res.error));
  }
  notices.status(`You left "${roomId}".`, 'ok');
  $('room-form').dataset.show = '1';
  render();
}

// ---------------------------------------------------------------- media

function closePc() {
  clearTimeout(S.iceTimer);
  if (S.pc) {
    S.pc.onconnectionstatechange = null;
    S.pc.oniceconnectionstatechange = null;
    S.pc.ontrack = null;
    S.pc.close();
  }
  S.pc = S.gate = S.remote = null;
  S.remoteSdp = '';
  S.lastIn = null;
  $('media-info').textContent = 'No video.';
}

function clearVideo() {
  video.srcObject = null;
  S.mediaStream = null;
  S.playing = false;
  $('unmute').hidden = true;
  $('play').hidden = true;
}

function newPc() {
  closePc();
  const pc = new RTCPeerConnection({ iceServers: S.iceServers });
  S.pc = pc;
  S.pcCount++;
  S.pcSession = S.session;
  S.remote = remoteCandidates(pc);
  S.gate = localCandidates(pc, (c) => {
    if (S.pc === pc) request(socket, 'ice-candidate', { roomId: S.roomId, candidate: c }).then((r) => {
      if (!r.ok && r.error.code !== 'offline') console.warn('onair: ice-candidate refused', r.error);
    });
  });
  S.mediaStream = new MediaStream();
  const t = { createdAt: performance.now(), iceConnectedAt: null, connectedAt: null, firstFrameAt: null, firstFrame: null };
  S.timing = t;
  pc.ontrack = (e) => {
    if (S.pc !== pc) return;
    S.mediaStream.addTrack(e.track);
    if (video.srcObject !== S.mediaStream) video.srcObject = S.mediaStream;
    if (e.track.kind === 'video') watchFirstFrame(pc, t);
    startPlayback();
  };
  pc.oniceconnectionstatechange = () => {
    const st = pc.iceConnectionState;
    if (!t.iceConnectedAt && (st === 'connected' || st === 'completed')) t.iceConnectedAt = performance.now();
  };
  pc.onconnectionstatechange = () => onPcState(pc);
  return pc;
}

// Notes when the first video frame of this connection is shown (requestVideoFrameCallback),
// for the join-to-picture time in window.onair.timing().
function watchFirstFrame(pc, t) {
  if (typeof video.requestVideoFrameCallback !== 'function' || t.watching) return;
  t.watching = true;
  video.requestVideoFrameCallback((now, meta) => {
    if (S.pc !== pc) return;
    t.firstFrameAt = now;
    t.firstFrame = { width: meta.width, height: meta.height, presentationTime: meta.presentationTime, receiveTime: meta.receiveTime ?? null };
  });
}

function onOffer(m) {
  if (!m || typeof m.sdp !== 'string' || m.roomId !== S.roomId || S.kicked) return;
  clearTimeout(S.offerTimer);
  S.offersPending++;
  S.offerChain = S.offerChain.then(async () => {
    try {
      await handleOffer(m.sdp);
    } catch (e) {
      notices.error(`Could not start the video: ${e.message || e}`);
    } finally {
      S.offersPending--;
      const early = S.early;
      S.early = [];
      if (S.remote) {
        early.forEach((c) => S.remote.add(c));
        await S.remote.flush();
      }
    }
  });
}

// Offer -> answer. A renegotiation (ICE restart) of the same session reuses the connection;
// a new session or a different far end (media server restarted) gets a new one.
async function handleOffer(sdp) {
  const reuse = S.pc && S.pcSession === S.session && S.pc.connectionState !== 'closed' &&
    S.pc.signalingState === 'stable' && S.remoteSdp && !sdpIdentityChanged(S.remoteSdp, sdp);
  try {
    await answer(reuse ? S.pc : newPc(), sdp);
  } catch (e) {
    if (!reuse) throw e;
    console.warn('onair: renegotiation failed, new connection', e);
    await answer(newPc(), sdp);
  }
}

async function answer(pc, sdp) {
  S.gate.hold();
  await pc.setRemoteDescription({ type: 'offer', sdp });
  const ans = await pc.createAnswer();
  await pc.setLocalDescription(ans);
  if (S.pc !== pc) return;
  S.remoteSdp = sdp;
  S.live = true;
  S.ended = '';
  render();
  const res = await request(socket, 'answer', { roomId: S.roomId, sdp: pc.localDescription.sdp });
  if (S.pc !== pc) return;
  if (!res.ok) throw new Error(errorText('the server refused the answer', res.error));
  S.gate.release();
}

function onRemoteCandidate(m) {
  if (!m || m.roomId !== S.roomId || !isCandidate(m.candidate)) return;
  if (S.offersPending || !S.remote) S.early.push(m.candidate);
  else S.remote.add(m.candidate);
}

function onPcState(pc) {
  if (pc !== S.pc) return;
  const st = pc.connectionState;
  clearTimeout(S.iceTimer);
  if (st === 'connected') {
    S.iceRestarts = 0;
    if (S.timing && !S.timing.connectedAt) S.timing.connectedAt = performance.now();
    notices.status(`Watching "${S.title}".`, 'ok');
  } else if (st === 'failed') restartIce('the video connection failed');
  else if (st === 'disconnected') S.iceTimer = setTimeout(() => restartIce('the video connection was interrupted'), 4000);
  render();
}

// Asks the server for an ICE restart (it sends a new offer). After three attempts, or when the
// server refuses, leaves and joins the room again for a fresh session.
async function restartIce(why) {
  if (!S.joined || !S.live || S.restarting || !socket || !socket.connected) return;
  if (S.iceRestarts >= 3) {
    rejoin(why);
    return;
  }
  S.iceRestarts++;
  S.restarting = true;
  notices.status(`Reconnecting the video (${why})…`, 'warn');
  const res = await request(socket, 'restart-ice', { roomId: S.roomId });
  S.restarting = false;
  if (!res.ok) {
    notices.error(errorText('Could not restart the video connection', res.error));
    rejoin(why);
  }
}

async function rejoin(why) {
  clearTimeout(S.retryTimer);
  const delay = Math.min(30000, 1000 * 2 ** Math.min(S.retries++, 5));
  notices.status(`Joining again in ${Math.round(delay / 1000)} s (${why})…`, 'warn');
  S.retryTimer = setTimeout(async () => {
    if (!S.joined || S.kicked) return;
    S.iceRestarts = 0;
    closePc();
    await request(socket, 'leave-stream', { roomId: S.roomId });
    S.joined = false;
    join();
  }, delay);
}

// The server sends an offer after join-stream once the room is live, and after stream-started.
// If none comes, join again (with backoff).
function expectOffer() {
  clearTimeout(S.offerTimer);
  S.offerTimer = setTimeout(() => {
    if (S.joined && S.live && !S.kicked && !S.pc) rejoin('no video offer from the server');
  }, OFFER_TIMEOUT_MS);
}

// Muted autoplay first (allowed everywhere); sound after the user presses "Unmute".
function startPlayback() {
  video.muted = !S.userUnmuted;
  video.play().then(
    () => {
      $('play').hidden = true;
      render();
    },
    (e) => {
      if (e.name === 'NotAllowedError' && !video.muted) {
        video.muted = true;
        S.userUnmuted = false;
        startPlayback();
      } else if (e.name !== 'AbortError') {
        $('play').hidden = false;
      }
      render();
    },
  );
}

// ---------------------------------------------------------------- rendering

function overlayText() {
  if (S.kicked) return `You were removed from this stream${S.kicked.reason ? ` (${S.kicked.reason})` : ''}.`;
  if (!S.roomId) return 'Enter a room id to watch.';
  if (!socket) return 'The page could not load its client library.';
  if (!socket.connected) {
    if (socket.active) return 'Connecting to the server…';
    return $('conn-state').dataset.state === 'refused' ? 'Not connected: see "Access token" above.' : 'Not connected.';
  }
  if (!S.joined) return S.joinError || 'Joining…';
  if (S.ended) return `The stream has ended. ${REASONS[S.ended] || `(${S.ended})`} It will appear here if it starts again.`;
  if (!S.live) return 'Waiting for the broadcast to start…';
  const pcs = S.pc ? S.pc.connectionState : 'new';
  if (pcs === 'failed' || pcs === 'disconnected') return 'The video was interrupted; reconnecting…';
  if (!S.playing) return 'Connecting to the stream…';
  return '';
}

function render() {
  const text = overlayText();
  $('overlay').hidden = !text;
  $('overlay-text').textContent = text;
  $('stream-title').textContent = S.title || (S.roomId ? S.roomId : 'Stream');
  document.title = S.title ? `${S.title} · onair` : 'onair: watch';
  $('live-badge').dataset.live = String(S.live && S.joined);
  $('live-badge').textContent = S.live && S.joined ? 'Live' : 'Off air';
  $('viewer-count').textContent = fmtCount(S.viewerCount);
  $('viewer-count-wrap').hidden = S.viewerCount === null || !S.joined;
  const ms = S.joined && S.live && S.mediaState;
  $('overlay-camera-off').hidden = !(ms && ms.video === false);
  $('overlay-mic-muted').hidden = !(ms && ms.audio === false);
  const hasAudio = !!(S.mediaStream && S.mediaStream.getAudioTracks().length);
  $('unmute').hidden = !(S.playing && video.muted && hasAudio);
  $('fullscreen').disabled = !S.playing;
  $('leave').disabled = !S.joined;
  $('rejoin').hidden = !(S.kicked || (!S.joined && S.roomId && socket && socket.connected && !S.joining));
  $('room-form').hidden = !!S.roomId && !$('room-form').dataset.show;
  if (S.kicked) chat.setEnabled(false, 'You were removed from this room.');
  else if (!S.joined) chat.setEnabled(false, S.roomId ? 'Chat opens when you have joined.' : 'Chat opens when you join a room.');
  else chat.setEnabled(true);
}

setInterval(async () => {
  if (!S.pc) {
    $('media-info').textContent = 'No video.';
    return;
  }
  const d = await statsDigest(S.pc, 'in');
  const now = performance.now();
  const bps = bitrate(S.lastIn, d, 'videoBytesReceived', now - S.lastInAt);
  S.lastIn = d;
  S.lastInAt = now;
  $('media-info').textContent = d.frameWidth
    ? `${d.frameWidth}×${d.frameHeight}, ${Math.round(d.framesPerSecond || 0)} fps${bps !== null ? ', ' + fmtBitrate(bps) : ''}${d.videoCodec ? ', ' + d.videoCodec.replace('video/', '') : ''}`
    : `Video link: ${d.connectionState}.`;
}, 2000);

// ---------------------------------------------------------------- wiring

const chat = createChat({
  notices,
  send: (text) => request(socket, 'chat-message', { roomId: S.roomId, text }),
});

if (socket) {
  socket.on('offer', onOffer);
  socket.on('ice-candidate', onRemoteCandidate);
  socket.on('stream-started', (m) => {
    if (!m || m.roomId !== S.roomId) return;
    S.live = true;
    S.ended = '';
    S.mediaState = null;
    if (m.title) S.title = String(m.title);
    if (S.joined && !S.pc) expectOffer();
    notices.status(`"${S.title}" is starting…`, 'ok');
    render();
  });
  socket.on('stream-ended', (m) => {
    if (!m || m.roomId !== S.roomId) return;
    S.live = false;
    S.ended = String(m.reason || 'ended');
    S.mediaState = null;
    closePc();
    clearVideo();
    notices.status(`The stream has ended. ${REASONS[S.ended] || ''}`, 'info');
    render();
  });
  socket.on('kicked', (m) => {
    if (!m || m.roomId !== S.roomId) return;
    S.kicked = { reason: m.reason ? String(m.reason) : '' };
    S.joined = false;
    clearTimeout(S.retryTimer);
    closePc();
    clearVideo();
    notices.error(`You were removed from this stream${m.reason ? `: ${m.reason}` : '.'}`);
    notices.status('Removed from the room.', 'error');
    render();
  });
  socket.on('media-state', (m) => {
    if (!m || m.roomId !== S.roomId) return;
    S.mediaState = { audio: !!m.audio, video: !!m.video };
    render();
  });
  socket.on('viewer-count', (m) => {
    if (!m || m.roomId !== S.roomId || typeof m.count !== 'number') return;
    S.viewerCount = m.count;
    render();
  });
  socket.on('chat-message', (m) => {
    if (m && m.roomId === S.roomId) chat.add(m);
  });
}

video.addEventListener('playing', () => {
  S.playing = true;
  render();
});
video.addEventListener('emptied', () => {
  S.playing = false;
  render();
});
$('unmute').addEventListener('click', () => {
  S.userUnmuted = true;
  video.muted = false;
  video.play().catch(() => {});
  render();
});
$('play').addEventListener('click', () => {
  $('play').hidden = true;
  startPlayback();
});
$('fullscreen').addEventListener('click', () => {
  const wrap = video.parentElement;
  if (wrap.requestFullscreen) wrap.requestFullscreen().catch(() => {});
  else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen();
});
$('leave').addEventListener('click', leave);
$('rejoin').addEventListener('click', () => {
  S.kicked = null;
  join();
});
$('room-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = $('room-id').value.trim();
  const p = roomIdProblem(id);
  if (p) {
    notices.error(`The room id ${p}.`);
    $('room-id').focus();
    return;
  }
  if (S.joined && id !== S.roomId) await leave();
  S.roomId = id;
  S.title = '';
  S.ended = '';
  S.joinError = '';
  S.kicked = null;
  S.viewerCount = null;
  setRoomInUrl(id);
  $('room-form').dataset.show = '1';
  join();
  render();
});

$('room-id').value = S.roomId;
if (!S.roomId) {
  $('room-form').dataset.show = '1';
  const bad = new URLSearchParams(location.search).get('room');
  if (bad) {
    $('room-id').value = bad.slice(0, 64);
    notices.error(`The room id in this link is not valid: it ${roomIdProblem(bad)}.`);
  }
  notices.status('Enter a room id to watch.', 'info');
}
render();
if (socket) conn.connect(); // with the stored token, or anonymously

// ---------------------------------------------------------------- test hooks

window.onair = {
  page: 'viewer',
  state: () => ({
    connection: conn ? conn.state() : 'unavailable',
    socketId: socket ? socket.id || null : null,
    roomId: S.roomId,
    joined: S.joined,
    live: S.live,
    ended: S.ended || null,
    kicked: S.kicked,
    title: S.title,
    playing: S.playing,
    muted: video.muted,
    mediaState: S.mediaState,
    pcState: S.pc ? S.pc.connectionState : 'none',
    iceState: S.pc ? S.pc.iceConnectionState : 'none',
    signalingState: S.pc ? S.pc.signalingState : 'none',
    pcCount: S.pcCount,
    iceServers: S.iceServers,
    viewerCount: S.viewerCount,
    overlay: overlayText(),
    status: $('status').textContent,
  }),
  stats: () => statsDigest(S.pc, 'in'),
  timing: () => {
    const t = S.timing;
    if (!t) return null;
    const since = (a) => (a !== null && t.iceConnectedAt !== null ? a - t.iceConnectedAt : null);
    return {
      pcCount: S.pcCount,
      iceConnectedMs: t.iceConnectedAt !== null ? t.iceConnectedAt - t.createdAt : null,
      connectedAfterIceMs: since(t.connectedAt),
      firstFrameAfterIceMs: since(t.firstFrameAt),
      firstFrame: t.firstFrame,
    };
  },
  chatLog: () => chat.entries(),
  viewerCount: () => S.viewerCount,
  errors: () => notices.errors(),
  events: () => (conn ? conn.events() : []),
  socket: () => socket,
  restartIce: () => {
    S.iceRestarts = 0;
    return restartIce('asked by a test');
  },
};
