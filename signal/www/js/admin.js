// admin.js: the broadcaster page (/admin). Publishes the camera and microphone to the media
// server through one send-only RTCPeerConnection, following PROTOCOL.md §5-§7.
// Test hooks: window.onair (see docs/PAGES.md).
import {
  $, el, createNotices, createSocket, createChat, tokenStore, wireTokenPanel, request, errorText,
  roomFromUrl, setRoomInUrl, randomRoomId, roomIdProblem, textProblem, TITLE_MAX, fmtBitrate,
  fmtCount, fmtTime,
} from './common.js';
import {
  localCandidates, remoteCandidates, isCandidate, getLocalMedia, mediaErrorText, statsDigest, bitrate,
} from './rtc.js';

const notices = createNotices($('status'), $('errors'));
const store = tokenStore('onair.adminToken');
const params = new URLSearchParams(location.search);
const ANSWER_TIMEOUT_MS = 15000; // no `answer` this long after the offer: publish again
const preferredCodec = (params.get('codec') || '').toUpperCase(); // debug: VP8 | H264 | VP9

const S = {
  roomId: '',
  wantLive: false, // the user asked to be on air (survives reconnects and media failures)
  live: false, // the server confirmed the current broadcast
  busy: false, // a start/stop is in progress
  room: null,
  iceServers: [],
  stream: null,
  pc: null,
  gate: null, // local candidate gate of S.pc
  remote: null, // remote candidate queue of S.pc
  gen: 0, // publish generation; stale async steps compare and stop
  audioOn: true,
  videoOn: true,
  viewers: new Map(), // viewer id -> {id, userId, name, joinedAt}
  viewerCount: null,
  streamStats: null,
  recording: null,
  recordingChangedAt: -1e9, // performance.now() of our last start/stop-recording answer
  recordingUnavailable: '',
  retryTimer: 0,
  retries: 0,
  iceRestarts: 0,
  iceTimer: 0,
  answerTimer: 0,
  restarting: false,
  lastOut: null,
  lastOutAt: 0,
  outDigest: null,
  pcCount: 0, // RTCPeerConnections made so far (test hook)
};

// ---------------------------------------------------------------- connection

const conn = createSocket({
  getToken: () => store.get(),
  ui: { pill: $('conn-state'), notices, reconnectBtn: $('reconnect') },
  onConnect,
  onDisconnect,
  async onRefused(msg) {
    if (msg === 'unauthorized' && !renewTried && (await tokenUi.renew())) {
      // An expired demo token (they last 1 h): fetched a fresh one, try again once.
      renewTried = true;
      conn.connect();
      return;
    }
    notices.error(
      msg === 'unauthorized'
        ? 'The server refused the token (unauthorized): it is invalid or expired. Get a new one or paste another.'
        : `The server refused the connection: ${msg}.`,
    );
    notices.status('Not connected: the token was refused.', 'error');
    tokenUi.expand();
  },
});
const socket = conn && conn.socket;
let renewTried = false;

function onConnect() {
  renewTried = false;
  tokenUi.collapse();
  if (S.wantLive) {
    // The server or the media server may have restarted: publish again from scratch.
    notices.status('Reconnected; publishing again…', 'warn');
    publish('reconnect');
  } else {
    notices.status(S.stream ? 'Connected. Ready to go live.' : 'Connected. Start the camera, then go live.', 'ok');
  }
  render();
}

function onDisconnect(reason) {
  S.live = false;
  if (reason !== 'io client disconnect') {
    notices.status(S.wantLive ? 'Connection lost; the broadcast resumes when it is back…' : 'Connection lost; reconnecting…', 'warn');
  }
  render();
}

const tokenUi = wireTokenPanel({
  store,
  role: 'admin',
  notices,
  onToken(t) {
    if (!socket) return;
    if (t) conn.reconnect();
    else {
      socket.disconnect();
      notices.status('No token: get a demo token or paste one.', 'warn');
    }
  },
});

// ---------------------------------------------------------------- camera and microphone

async function ensureMedia() {
  if (S.stream) return true;
  $('camera-start').disabled = true;
  notices.status('Starting the camera and microphone…');
  try {
    S.stream = await getLocalMedia();
  } catch (e) {
    notices.error(mediaErrorText(e));
    notices.status('The camera is off.', 'error');
    $('camera-start').disabled = false;
    return false;
  }
  const v = $('preview');
  v.srcObject = S.stream;
  v.play().catch(() => {});
  applyTrackStates();
  const kinds = S.stream.getTracks().map((t) => t.kind);
  if (!kinds.includes('audio')) notices.error('No microphone: the stream will have no sound.');
  if (!kinds.includes('video')) notices.error('No camera: the stream will have no picture.');
  notices.status('Camera ready.', 'ok');
  listDevices();
  render();
  return true;
}

async function listDevices() {
  let devs = [];
  try {
    devs = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const fill = (sel, kind, track) => {
    const cur = track ? track.getSettings().deviceId : '';
    sel.replaceChildren(
      ...devs.filter((d) => d.kind === kind).map((d, i) =>
        el('option', { value: d.deviceId }, d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`)),
    );
    if (cur) sel.value = cur;
    return sel.options.length;
  };
  const nv = fill($('camera-select'), 'videoinput', S.stream.getVideoTracks()[0]);
  const na = fill($('mic-select'), 'audioinput', S.stream.getAudioTracks()[0]);
  $('devices').hidden = nv < 2 && na < 2;
}

// Switches the camera or microphone; on air the sender's track is replaced without renegotiation.
async function switchDevice(kind, deviceId) {
  if (!S.stream || !deviceId) return;
  let ns;
  try {
    const c = kind === 'video'
      ? { video: { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } } }
      : { audio: { deviceId: { exact: deviceId } } };
    ns = await navigator.mediaDevices.getUserMedia(c);
  } catch (e) {
    notices.error(mediaErrorText(e));
    return;
  }
  const nt = ns.getTracks()[0];
  const old = kind === 'video' ? S.stream.getVideoTracks()[0] : S.stream.getAudioTracks()[0];
  if (old) {
    S.stream.removeTrack(old);
    old.stop();
  }
  S.stream.addTrack(nt);
  applyTrackStates();
  const sender = S.pc && S.pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
  if (sender) await sender.replaceTrack(nt).catch((e) => notices.error(`Could not switch the ${kind} device: ${e.message}`));
  $('preview').srcObject = S.stream;
}

function applyTrackStates() {
  if (!S.stream) return;
  S.stream.getAudioTracks().forEach((t) => (t.enabled = S.audioOn));
  S.stream.getVideoTracks().forEach((t) => (t.enabled = S.videoOn));
}

async function toggle(kind) {
  if (kind === 'audio') S.audioOn = !S.audioOn;
  else S.videoOn = !S.videoOn;
  applyTrackStates();
  render();
  if (S.live) await sendMediaState();
}

async function sendMediaState() {
  const res = await request(socket, 'media-state', { roomId: S.roomId, audio: S.audioOn, video: S.videoOn });
  if (!res.ok) notices.error(errorText('Could not tell viewers about the mute', res.error));
}

// ---------------------------------------------------------------- publishing

async function onStart(ev) {
  ev.preventDefault();
  if (S.busy) return;
  const roomId = $('room-id').value.trim();
  const title = $('room-title').value.trim();
  const rp = roomIdProblem(roomId);
  if (rp) {
    notices.error(`The room id ${rp}.`);
    $('room-id').focus();
    return;
  }
  const tp = title ? textProblem(title, TITLE_MAX) : null;
  if (tp) {
    notices.error(`The title ${tp}.`);
    $('room-title').focus();
    return;
  }
  if (!socket || !socket.connected) {
    notices.error('Not connected to the server yet' + (store.get() ? '; wait a moment.' : ': get or paste a token first.'));
    return;
  }
  if (S.wantLive && S.live && S.roomId === roomId) {
    // Already on air: a repeated start-stream only updates the title (PROTOCOL §10).
    S.busy = true;
    render();
    const res = await request(socket, 'start-stream', title ? { roomId, title } : { roomId });
    S.busy = false;
    if (res.ok) {
      setRoom(res.room);
      notices.status('Title updated.', 'ok');
    } else notices.error(errorText('Could not update the title', res.error));
    render();
    return;
  }
  if (!(await ensureMedia())) return;
  if (S.wantLive && S.roomId !== roomId) await stopStream(true);
  S.roomId = roomId;
  S.wantLive = true;
  S.retries = 0;
  S.recordingUnavailable = '';
  setRoomInUrl(roomId);
  try {
    sessionStorage.setItem('onair.adminRoom', roomId);
  } catch {
    /* ignore */
  }
  await publish('user');
}

// start-stream -> join-stream (iceServers, chat) -> get-viewers -> new RTCPeerConnection + offer.
// why: 'user' (button), 'reconnect', 'retry' (after stream-ended or a failure).
async function publish(why) {
  const gen = ++S.gen;
  clearTimeout(S.retryTimer);
  S.busy = true;
  render();
  const title = $('room-title').value.trim();
  notices.status(why === 'user' ? `Going live in room "${S.roomId}"…` : `Publishing again in room "${S.roomId}"…`);
  const res = await request(socket, 'start-stream', title ? { roomId: S.roomId, title } : { roomId: S.roomId });
  if (gen !== S.gen) return;
  if (!res.ok) {
    S.busy = false;
    notices.error(errorText('Could not start the stream', res.error));
    const permanent = ['forbidden', 'conflict', 'invalid_payload', 'unauthorized'].includes(res.error.code);
    if (why === 'user' || permanent) {
      S.wantLive = false;
      notices.status('Off air.', 'error');
      render();
    } else scheduleRetry('the server refused to start the stream');
    return;
  }
  S.live = true;
  setRoom(res.room);
  let ice = Array.isArray(res.iceServers) ? res.iceServers : res.room && Array.isArray(res.room.iceServers) ? res.room.iceServers : null;
  const joined = await request(socket, 'join-stream', { roomId: S.roomId });
  if (gen !== S.gen) return;
  if (joined.ok) {
    if (!ice && Array.isArray(joined.iceServers)) ice = joined.iceServers;
    if (joined.room) setRoom(joined.room);
    chat.reset(joined.chat);
  } else {
    notices.error(errorText('Could not load the chat and ICE servers', joined.error));
  }
  S.iceServers = ice || [];
  chat.setEnabled(true);
  refreshViewers();
  try {
    await negotiate(gen, false);
  } catch (e) {
    if (gen !== S.gen) return;
    S.busy = false;
    notices.error(`Could not set up the media connection: ${e.message || e}`);
    scheduleRetry('the media connection could not be set up');
    return;
  }
  if (gen !== S.gen) return;
  S.busy = false;
  if (!S.audioOn || !S.videoOn || (S.room && S.room.mediaState)) sendMediaState();
  notices.status(`On air in room "${S.roomId}". Waiting for the media server…`, 'ok');
  render();
}

function setRoom(room) {
  if (!room || typeof room !== 'object') return;
  S.room = room;
  if (typeof room.viewerCount === 'number') S.viewerCount = room.viewerCount;
  if ('recording' in room) S.recording = room.recording || null;
  if (room.title && !$('room-title').value.trim() && room.title !== room.roomId) $('room-title').value = room.title;
}

function closePc() {
  clearTimeout(S.iceTimer);
  clearTimeout(S.answerTimer);
  if (S.pc) {
    S.pc.onconnectionstatechange = null;
    S.pc.close();
  }
  S.pc = S.gate = S.remote = null;
  S.lastOut = null;
  S.outDigest = null;
}

// Builds a fresh RTCPeerConnection (sendonly audio + video) and sends its offer.
async function negotiate(gen) {
  closePc();
  const pc = new RTCPeerConnection({ iceServers: S.iceServers });
  S.pc = pc;
  S.pcCount++;
  S.remote = remoteCandidates(pc);
  S.gate = localCandidates(pc, (c) => {
    if (S.pc === pc) request(socket, 'ice-candidate', { roomId: S.roomId, candidate: c }).then((r) => {
      if (!r.ok && r.error.code !== 'offline') console.warn('onair: ice-candidate refused', r.error);
    });
  });
  pc.onconnectionstatechange = () => onPcState(pc);
  const a = S.stream.getAudioTracks()[0];
  const v = S.stream.getVideoTracks()[0];
  pc.addTransceiver(a || 'audio', { direction: 'sendonly', streams: [S.stream] });
  const vt = pc.addTransceiver(v || 'video', { direction: 'sendonly', streams: [S.stream] });
  preferCodec(vt);
  try {
    // Start at full resolution instead of ramping up from 320x180 (research/webrtc-e2e.md §3).
    const p = vt.sender.getParameters();
    if (!p.encodings || !p.encodings.length) p.encodings = [{}];
    p.degradationPreference = 'maintain-resolution';
    await vt.sender.setParameters(p);
  } catch (e) {
    console.warn('onair: degradationPreference not applied', e);
  }
  await sendOffer(pc, gen, false);
}

function preferCodec(tr) {
  if (!preferredCodec || !tr.setCodecPreferences || !RTCRtpSender.getCapabilities) return;
  const caps = RTCRtpSender.getCapabilities('video').codecs;
  const want = caps.filter((c) => c.mimeType.toUpperCase() === 'VIDEO/' + preferredCodec);
  if (want.length) tr.setCodecPreferences(want.concat(caps.filter((c) => !want.includes(c))));
}

async function sendOffer(pc, gen, iceRestart) {
  S.gate.hold();
  const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
  await pc.setLocalDescription(offer);
  if (gen !== S.gen || S.pc !== pc) return;
  const res = await request(socket, 'offer', { roomId: S.roomId, sdp: pc.localDescription.sdp });
  if (gen !== S.gen || S.pc !== pc) return;
  if (!res.ok) throw new Error(errorText('the server refused the offer', res.error));
  S.gate.release();
  clearTimeout(S.answerTimer);
  S.answerTimer = setTimeout(() => {
    if (S.pc === pc && pc.signalingState === 'have-local-offer') scheduleRetry('the media server did not answer');
  }, ANSWER_TIMEOUT_MS);
}

async function onAnswer(m) {
  if (!m || m.roomId !== S.roomId || typeof m.sdp !== 'string') return;
  const pc = S.pc;
  clearTimeout(S.answerTimer);
  if (!pc || pc.signalingState !== 'have-local-offer') {
    console.warn('onair: answer ignored in state', pc && pc.signalingState);
    return;
  }
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    await S.remote.flush();
  } catch (e) {
    notices.error(`The media server's answer was not accepted: ${e.message}`);
    scheduleRetry('the answer was not accepted');
  }
}

function onRemoteCandidate(m) {
  if (!m || m.roomId !== S.roomId || !isCandidate(m.candidate) || !S.remote) return;
  S.remote.add(m.candidate);
}

function onPcState(pc) {
  if (pc !== S.pc) return;
  const st = pc.connectionState;
  clearTimeout(S.iceTimer);
  if (st === 'connected') {
    S.iceRestarts = 0;
    S.retries = 0;
    notices.status(`On air in room "${S.roomId}".`, 'ok');
  } else if (st === 'failed') restartIce('the media connection failed');
  else if (st === 'disconnected') S.iceTimer = setTimeout(() => restartIce('the media connection was interrupted'), 4000);
  render();
}

// restart-ice, then a new offer with iceRestart on the same connection. After two failed
// restarts (or when the server refuses) the whole connection is rebuilt.
async function restartIce(why) {
  if (!S.wantLive || !S.pc || S.restarting || !socket || !socket.connected) return; // a reconnect republishes
  if (S.iceRestarts >= 2) {
    scheduleRetry(why);
    return;
  }
  S.iceRestarts++;
  S.restarting = true;
  const gen = S.gen;
  const pc = S.pc;
  notices.status(`Restarting the media connection (${why})…`, 'warn');
  try {
    const res = await request(socket, 'restart-ice', { roomId: S.roomId });
    if (!res.ok) throw new Error(errorText('restart-ice refused', res.error));
    if (gen === S.gen && pc === S.pc) await sendOffer(pc, gen, true);
  } catch (e) {
    notices.error(`ICE restart failed: ${e.message || e}`);
    scheduleRetry(why);
  } finally {
    S.restarting = false;
  }
}

// Publishes again after a backoff (1 s, 2 s, 4 s … 30 s) while the user wants to be on air.
function scheduleRetry(why) {
  if (!S.wantLive) return;
  clearTimeout(S.retryTimer);
  const delay = Math.min(30000, 1000 * 2 ** Math.min(S.retries, 5));
  S.retries++;
  S.gen++; // cancels whatever publish step is in flight
  S.busy = false;
  notices.status(`Publishing again in ${Math.round(delay / 1000)} s (${why})…`, 'warn');
  S.retryTimer = setTimeout(() => {
    if (S.wantLive && socket && socket.connected) publish('retry');
  }, delay);
  render();
}

async function stopStream(quiet) {
  S.wantLive = false;
  S.gen++;
  clearTimeout(S.retryTimer);
  S.busy = true;
  render();
  const res = await request(socket, 'stop-stream', { roomId: S.roomId });
  S.busy = false;
  closePc();
  S.live = false;
  S.streamStats = null;
  S.recording = null;
  if (!res.ok && !quiet) notices.error(errorText('Stop stream', res.error));
  if (!quiet) notices.status('Off air. The room and its chat stay open.', 'ok');
  render();
}

// ---------------------------------------------------------------- room events

function onStreamEnded(m) {
  if (!m || m.roomId !== S.roomId) return;
  S.live = false;
  S.streamStats = null;
  if (!S.wantLive) {
    render();
    return;
  }
  if (m.reason === 'stopped') {
    // Stopped elsewhere (another window of the same user).
    S.wantLive = false;
    closePc();
    notices.status('The stream was stopped (from another window?).', 'warn');
  } else {
    closePc();
    scheduleRetry(m.reason === 'media-failed' ? 'the media failed' : `stream ended: ${m.reason}`);
  }
  render();
}

async function refreshViewers() {
  if (!S.roomId || !socket || !socket.connected) return;
  const res = await request(socket, 'get-viewers', { roomId: S.roomId });
  if (!res.ok) {
    notices.error(errorText('Could not list the viewers', res.error));
    return;
  }
  S.viewers.clear();
  for (const v of Array.isArray(res.viewers) ? res.viewers : []) if (v && v.id !== undefined) S.viewers.set(String(v.id), v);
  renderViewers();
}

async function kick(id, btn) {
  const v = S.viewers.get(id);
  btn.disabled = true;
  const res = await request(socket, 'kick-viewer', { roomId: S.roomId, viewerId: v ? v.id : id });
  if (res.ok) {
    notices.status(`Removed ${v ? v.name || v.userId : 'the viewer'} from the room.`, 'ok');
    S.viewers.delete(id);
    renderViewers();
    refreshViewers();
  } else {
    btn.disabled = false;
    notices.error(errorText('Could not kick the viewer', res.error));
  }
}

async function onRecord() {
  const starting = !S.recording;
  $('record').disabled = true;
  const res = await request(socket, starting ? 'start-recording' : 'stop-recording', { roomId: S.roomId });
  if (res.ok) {
    S.recording = starting ? res.recording || { startedAt: Date.now() } : null;
    S.recordingChangedAt = performance.now();
    notices.status(starting ? 'Recording.' : 'Recording stopped.', 'ok');
  } else {
    notices.error(errorText(starting ? 'Could not start recording' : 'Could not stop recording', res.error));
    if (starting && !['rate_limited', 'timeout', 'offline', 'conflict'].includes(res.error.code)) {
      const m = res.error.message || '';
      S.recordingUnavailable = /not available/i.test(m)
        ? `${m.charAt(0).toUpperCase()}${m.slice(1).replace(/\.?$/, '.')}`
        : `Recording is not available on this server yet${m ? ` (${m})` : ''}.`;
    }
  }
  render();
}

// ---------------------------------------------------------------- rendering

function render() {
  const connected = !!(socket && socket.connected);
  const onAir = S.wantLive;
  $('live-badge').dataset.live = String(S.live);
  $('live-badge').textContent = S.live ? 'Live' : onAir ? 'Connecting' : 'Off air';
  $('start-stream').disabled = S.busy || !connected || (onAir && !S.live);
  $('start-stream').textContent = onAir ? 'Update title' : 'Go live';
  $('stop-stream').disabled = !onAir && !S.live;
  $('restart-ice').hidden = !S.pc || !S.live;
  $('room-id').readOnly = onAir;
  $('camera-start').disabled = !!S.stream;
  $('camera-start').textContent = S.stream ? 'Camera on' : 'Start camera';
  $('preview-empty').hidden = !!S.stream;
  const mic = $('mute-mic');
  mic.disabled = !S.stream;
  mic.setAttribute('aria-pressed', String(!S.audioOn));
  mic.textContent = S.audioOn ? 'Mute mic' : 'Unmute mic';
  const cam = $('mute-camera');
  cam.disabled = !S.stream;
  cam.setAttribute('aria-pressed', String(!S.videoOn));
  cam.textContent = S.videoOn ? 'Turn camera off' : 'Turn camera on';
  $('tag-mic-muted').hidden = S.audioOn || !S.stream;
  $('tag-camera-off').hidden = S.videoOn || !S.stream;
  const rid = $('room-id').value.trim();
  const link = `${location.origin}/viewer?room=${encodeURIComponent(S.roomId || rid)}`;
  $('viewer-link').href = link;
  $('viewer-link').textContent = link;
  // Record
  const rec = $('record');
  rec.textContent = S.recording ? 'Stop recording' : 'Start recording';
  if (!S.live) {
    rec.disabled = true;
    $('record-reason').textContent = S.recordingUnavailable || 'Start the stream to record.';
  } else if (S.recordingUnavailable && !S.recording) {
    rec.disabled = true;
    $('record-reason').textContent = S.recordingUnavailable;
  } else {
    rec.disabled = false;
    $('record-reason').textContent = S.recording
      ? `Recording${S.recording.startedAt ? ' since ' + fmtTime(S.recording.startedAt) : ''}${S.recording.file ? ' to ' + S.recording.file : ''}.`
      : 'Not recording.';
  }
  // Stats
  $('viewer-count').textContent = fmtCount(S.viewerCount);
  const st = S.streamStats;
  $('stat-bitrate').textContent = st ? fmtBitrate(st.bitrateIn) : '–';
  $('stat-lost').textContent = st ? fmtCount(st.packetsLost) : '–';
  $('stat-recording').textContent = S.recording || (st && st.recording) ? 'yes' : 'no';
  $('stat-pc').textContent = S.pc ? S.pc.connectionState : 'none';
  $('refresh-viewers').disabled = !S.live || !connected;
  if (!onAir && !S.live) chat.setEnabled(false, 'Chat opens when you are live.');
  else if (!connected) chat.setEnabled(false, 'Reconnecting…');
  else if (S.live) chat.setEnabled(true);
}

function renderViewers() {
  const list = $('viewer-list');
  const items = [...S.viewers.values()].sort((a, b) => (a.joinedAt || 0) - (b.joinedAt || 0));
  list.replaceChildren(
    ...items.map((v) => {
      const id = String(v.id);
      const name = String(v.name || v.userId || 'viewer');
      const btn = el('button', {
        type: 'button', className: 'btn btn-small btn-danger kick', 'data-testid': 'kick', 'data-viewer-id': id,
        'aria-label': `Kick ${name}`,
      }, 'Kick');
      btn.addEventListener('click', () => kick(id, btn));
      return el(
        'li',
        { 'data-testid': 'viewer', 'data-viewer-id': id, 'data-user-id': v.userId ?? '' },
        el('span', { className: 'viewer-name' }, name),
        el('span', { className: 'muted small' }, v.joinedAt ? ` since ${fmtTime(v.joinedAt)}` : ''),
        btn,
      );
    }),
  );
  $('viewers-empty').hidden = items.length > 0;
}

// Local send stats, every 2 s.
setInterval(async () => {
  if (!S.pc) {
    $('stat-out').textContent = '–';
    return;
  }
  const d = await statsDigest(S.pc, 'out');
  const now = performance.now();
  const bps = bitrate(S.lastOut, d, 'videoBytesSent', now - S.lastOutAt);
  S.lastOut = d;
  S.lastOutAt = now;
  S.outDigest = d;
  $('stat-out').textContent = d.frameWidth
    ? `${d.frameWidth}×${d.frameHeight}, ${Math.round(d.framesPerSecond || 0)} fps${bps !== null ? ', ' + fmtBitrate(bps) : ''}`
    : '–';
  $('stat-pc').textContent = S.pc.connectionState;
}, 2000);

// ---------------------------------------------------------------- wiring

const chat = createChat({
  notices,
  send: (text) => request(socket, 'chat-message', { roomId: S.roomId, text }),
});

if (socket) {
  socket.on('answer', onAnswer);
  socket.on('ice-candidate', onRemoteCandidate);
  socket.on('stream-started', (m) => {
    if (m && m.roomId === S.roomId && S.wantLive) S.live = true;
    render();
  });
  socket.on('stream-ended', onStreamEnded);
  socket.on('viewer-joined', (m) => {
    if (!m || m.roomId !== S.roomId || !m.viewer || m.viewer.id === undefined) return;
    S.viewers.set(String(m.viewer.id), { joinedAt: Date.now(), ...m.viewer });
    renderViewers();
  });
  socket.on('viewer-left', (m) => {
    if (!m || m.roomId !== S.roomId) return;
    S.viewers.delete(String(m.viewerId));
    renderViewers();
  });
  socket.on('viewer-count', (m) => {
    if (!m || m.roomId !== S.roomId || typeof m.count !== 'number') return;
    S.viewerCount = m.count;
    render();
  });
  socket.on('chat-message', (m) => {
    if (m && m.roomId === S.roomId) chat.add(m);
  });
  socket.on('media-state', (m) => {
    if (!m || m.roomId !== S.roomId || !S.room) return;
    S.room.mediaState = { audio: !!m.audio, video: !!m.video };
  });
  socket.on('stream-stats', (m) => {
    if (!m || m.roomId !== S.roomId) return;
    S.streamStats = m;
    if (typeof m.viewers === 'number') S.viewerCount = m.viewers;
    // Stats may have been read just before our own start/stop took effect: trust our answer
    // for one stats period, then the server's view (started or stopped elsewhere).
    if (performance.now() - S.recordingChangedAt > 3000) {
      if (m.recording && typeof m.recording === 'object') S.recording = m.recording;
      else if (m.recording === true && !S.recording) S.recording = {};
      else if (m.recording === null || m.recording === false) S.recording = null;
    }
    render();
  });
}

$('stream-form').addEventListener('submit', onStart);
$('stop-stream').addEventListener('click', () => stopStream(false));
$('restart-ice').addEventListener('click', () => {
  S.iceRestarts = 0;
  restartIce('asked by you');
});
$('camera-start').addEventListener('click', ensureMedia);
$('mute-mic').addEventListener('click', () => toggle('audio'));
$('mute-camera').addEventListener('click', () => toggle('video'));
$('camera-select').addEventListener('change', (e) => switchDevice('video', e.target.value));
$('mic-select').addEventListener('change', (e) => switchDevice('audio', e.target.value));
$('record').addEventListener('click', onRecord);
$('refresh-viewers').addEventListener('click', refreshViewers);
$('room-id').addEventListener('input', render);
$('copy-link').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('viewer-link').href);
    notices.status('Viewer link copied.', 'ok');
  } catch {
    notices.status('Copying is not allowed here; select the link and copy it.', 'warn');
  }
});

let initialRoom = roomFromUrl();
if (!initialRoom) {
  try {
    initialRoom = sessionStorage.getItem('onair.adminRoom') || '';
  } catch {
    /* ignore */
  }
}
$('room-id').value = initialRoom || randomRoomId();
render();
renderViewers();

if (socket) {
  if (store.get()) conn.connect();
  else notices.status('To start: get a demo token or paste one.', 'info');
}

// ---------------------------------------------------------------- test hooks

window.onair = {
  page: 'admin',
  state: () => ({
    connection: conn ? conn.state() : 'unavailable',
    socketId: socket ? socket.id || null : null,
    roomId: S.roomId,
    wantLive: S.wantLive,
    live: S.live,
    busy: S.busy,
    room: S.room,
    camera: !!S.stream,
    audio: S.audioOn,
    video: S.videoOn,
    pcState: S.pc ? S.pc.connectionState : 'none',
    iceState: S.pc ? S.pc.iceConnectionState : 'none',
    signalingState: S.pc ? S.pc.signalingState : 'none',
    pcCount: S.pcCount,
    iceServers: S.iceServers,
    recording: S.recording,
    recordingUnavailable: S.recordingUnavailable,
    streamStats: S.streamStats,
    status: $('status').textContent,
  }),
  stats: () => statsDigest(S.pc, 'out'),
  chatLog: () => chat.entries(),
  viewerCount: () => S.viewerCount,
  viewers: () => [...S.viewers.values()],
  errors: () => notices.errors(),
  events: () => (conn ? conn.events() : []),
  socket: () => socket,
  restartIce: () => {
    S.iceRestarts = 0;
    return restartIce('asked by a test');
  },
};
