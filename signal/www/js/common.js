// common.js: helpers shared by the onair browser clients (admin.js, viewer.js).
// Plain ES module, no build step. Talks to the server only as PROTOCOL.md describes:
// Socket.IO v5 on `/socket.io/` (global `io` from /socket.io/socket.io.js) and
// POST /api/dev-token in demo mode. Never writes HTML from strings: all text goes through
// textContent, so chat messages and names cannot inject markup.

export const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const TITLE_MAX = 200; // code points (PROTOCOL §4)
export const CHAT_MAX = 500; // code points (PROTOCOL §4)
const ACK_TIMEOUT_MS = 10000;

export const $ = (id) => document.getElementById(id);

// el('li', {className: 'x', 'data-id': 1}, 'text', child) -> element. Keys that are element
// properties (className, textContent, type, disabled, hidden, title) are set as properties,
// the rest as attributes.
const PROPS = new Set(['className', 'textContent', 'type', 'disabled', 'hidden', 'title', 'value']);
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (PROPS.has(k)) e[k] = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---------------------------------------------------------------- text rules (PROTOCOL §4)

export const codePoints = (s) => [...s].length;

function wellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

// Returns null when `s` is acceptable text of 1..max code points (newline and tab allowed),
// else a short reason ("is too long (512 of at most 500 characters)").
export function textProblem(s, max) {
  if (!wellFormed(s)) return 'contains invalid characters';
  // C0 controls other than tab and newline, DEL, C1 controls.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/.test(s)) return 'contains control characters';
  const n = codePoints(s);
  if (n < 1) return 'is empty';
  if (n > max) return `is too long (${n} of at most ${max} characters)`;
  return null;
}

export const roomIdProblem = (id) =>
  ROOM_ID_RE.test(id) ? null : 'must be 1 to 64 letters, digits, "-" or "_"';

// Room id from the page URL: ?room=ID, or /viewer/ID as a convenience. '' when absent/invalid.
export function roomFromUrl() {
  const q = new URLSearchParams(location.search).get('room');
  if (q && ROOM_ID_RE.test(q)) return q;
  const m = /^\/(?:viewer|admin)\/([A-Za-z0-9_-]{1,64})\/?$/.exec(location.pathname);
  return m ? m[1] : '';
}

// Puts ?room=ID into the address bar (no reload), so a reload or a shared link keeps the room.
export function setRoomInUrl(id) {
  const u = new URL(location.href);
  if (id) u.searchParams.set('room', id);
  else u.searchParams.delete('room');
  history.replaceState(null, '', u.pathname + u.search + u.hash);
}

export function randomRoomId() {
  const a = new Uint8Array(4);
  crypto.getRandomValues(a);
  return 'live-' + [...a].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------- formatting

export function fmtTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// bits per second -> "1.2 Mbps"
export function fmtBitrate(bps) {
  if (typeof bps !== 'number' || !Number.isFinite(bps) || bps < 0) return '–';
  if (bps >= 1e6) return (bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1) + ' Mbps';
  if (bps >= 1e3) return Math.round(bps / 1e3) + ' kbps';
  return Math.round(bps) + ' bps';
}

export const fmtCount = (n) => (typeof n === 'number' && Number.isFinite(n) ? String(n) : '–');

const CODE_TEXT = {
  unauthorized: 'not authorized (token missing, invalid or expired)',
  forbidden: 'not allowed',
  not_found: 'not found',
  invalid_payload: 'invalid request',
  rate_limited: 'too many requests, slow down',
  conflict: 'conflict',
  unavailable: 'unavailable on the server',
  internal: 'server error',
  timeout: 'no answer from the server',
  offline: 'not connected to the server',
};

// "Start stream failed: conflict (room is live by another admin)"
export function errorText(action, err) {
  const code = err && typeof err.code === 'string' ? err.code : 'internal';
  const label = CODE_TEXT[code] || code;
  const msg = err && err.message ? String(err.message) : '';
  const detail = msg && msg !== code && msg !== label ? ` (${msg})` : '';
  return `${action}: ${label}${detail}`;
}

// ---------------------------------------------------------------- status line and errors

// statusEl: the one-line status (role=status). errorsEl: a <ul> inside a role=alert region.
export function createNotices(statusEl, errorsEl) {
  const log = []; // every error shown, for the test hooks
  function status(text, kind = 'info') {
    statusEl.textContent = text;
    statusEl.dataset.kind = kind;
  }
  function error(text) {
    log.push({ text, at: Date.now() });
    if (log.length > 200) log.splice(0, 100);
    const last = errorsEl.firstElementChild;
    if (last && last.dataset.text === text) {
      // Same error again: count it instead of stacking copies.
      const n = Number(last.dataset.count || '1') + 1;
      last.dataset.count = String(n);
      last.querySelector('.err-text').textContent = `${text} (×${n})`;
      return;
    }
    const close = el('button', { type: 'button', className: 'err-close', 'aria-label': 'Dismiss this message' }, '×');
    const li = el('li', { 'data-testid': 'error' }, el('span', { className: 'err-text' }, text), close);
    li.dataset.text = text;
    close.addEventListener('click', () => li.remove());
    errorsEl.prepend(li);
    while (errorsEl.children.length > 4) errorsEl.lastElementChild.remove();
  }
  function clearErrors() {
    errorsEl.replaceChildren();
  }
  return { status, error, clearErrors, errors: () => log.map((e) => e.text) };
}

// ---------------------------------------------------------------- tokens

// sessionStorage-backed token slot (falls back to memory when storage is blocked). Also
// remembers the name a demo token was asked for, to renew it when it expires.
export function tokenStore(key) {
  let mem = '';
  let demo = '';
  return {
    demoName() {
      try {
        return sessionStorage.getItem(key + '.demoName') || '';
      } catch {
        return demo;
      }
    },
    setDemoName(n) {
      demo = n;
      try {
        if (n) sessionStorage.setItem(key + '.demoName', n);
        else sessionStorage.removeItem(key + '.demoName');
      } catch {
        /* memory only */
      }
    },
    get() {
      try {
        return sessionStorage.getItem(key) || '';
      } catch {
        return mem;
      }
    },
    set(t) {
      mem = t;
      try {
        sessionStorage.setItem(key, t);
      } catch {
        /* memory only */
      }
    },
    clear() {
      mem = '';
      try {
        sessionStorage.removeItem(key);
      } catch {
        /* memory only */
      }
    },
  };
}

export const looksLikeJwt = (t) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(t);

// Claims of a JWT for display only (the server verifies; the page never trusts this).
export function jwtClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      [...atob(part + '='.repeat((4 - (part.length % 4)) % 4))]
        .map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))
        .join(''),
    );
    const c = JSON.parse(json);
    return c && typeof c === 'object' ? c : null;
  } catch {
    return null;
  }
}

// "alice (admin), valid until 14:05" / "expired at 13:00"
export function describeToken(token) {
  const c = jwtClaims(token);
  if (!c) return 'a token the page cannot read (the server will check it)';
  const who = String(c.name || c.sub || 'unknown');
  const role = c.role ? ` (${c.role})` : '';
  let when = '';
  if (typeof c.exp === 'number') {
    const ms = c.exp * 1000;
    when = ms < Date.now() ? `, expired at ${fmtTime(ms)}` : `, valid until ${fmtTime(ms)}`;
  }
  return who + role + when;
}

export class UiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// POST /api/dev-token {name, role} -> token. Throws UiError: code 'production' on 404.
export async function fetchDevToken(name, role) {
  let res;
  try {
    res = await fetch('/api/dev-token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, role }),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new UiError('network', 'Could not reach the server to get a demo token.');
  }
  if (res.status === 404) {
    throw new UiError(
      'production',
      'This server runs in production mode, so it gives out no demo tokens. ' +
        'Paste a token from your operator (e.g. made with "onair-signal token --role ' +
        role + ' --sub you --ttl 1h").',
    );
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* handled below */
  }
  if (!res.ok) {
    const m = body && (body.error?.message || body.message);
    throw new UiError('http', `The server answered ${res.status} to the demo token request${m ? ': ' + m : ''}.`);
  }
  if (!body || typeof body.token !== 'string' || !body.token) {
    throw new UiError('http', 'The server sent no token.');
  }
  return body.token;
}

// ---------------------------------------------------------------- socket

// Emits `event` with an ack and resolves (never rejects) with the ack object, normalised:
// {ok:true,...} or {ok:false, error:{code, message}}. Not connected: code 'offline' without
// sending (socket.io would otherwise buffer a stale offer until the next connection).
export function request(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (!socket || !socket.connected) {
      resolve({ ok: false, error: { code: 'offline', message: `cannot send ${event} while disconnected` } });
      return;
    }
    socket.timeout(timeoutMs).emit(event, payload, (err, res) => {
      if (err) resolve({ ok: false, error: { code: 'timeout', message: `no answer to ${event} within ${timeoutMs / 1000} s` } });
      else if (!res || typeof res !== 'object') resolve({ ok: false, error: { code: 'internal', message: 'malformed answer' } });
      else if (res.ok !== true) {
        const e = res.error && typeof res.error === 'object' ? res.error : { code: 'internal', message: 'request failed' };
        resolve({ ok: false, error: e });
      } else resolve(res);
    });
  });
}

// Creates the Socket.IO connection (not connected yet: call .connect()). The token is read at
// every (re)connection attempt, so a new token takes effect on the next connect.
// ui: {pill, notices, reconnectBtn}. Hooks: onConnect(first), onDisconnect(reason),
// onRefused(message) when the server refused the CONNECT (no automatic retry then).
export function createSocket({ getToken, ui, onConnect, onDisconnect, onRefused }) {
  if (typeof window.io !== 'function') {
    ui.notices.error('The Socket.IO client (/socket.io/socket.io.js) did not load, so the page cannot connect.');
    setPill(ui.pill, 'refused', 'No client library');
    return null;
  }
  const socket = window.io({
    autoConnect: false,
    auth: (cb) => {
      const t = getToken();
      cb(t ? { token: t } : {});
    },
  });
  const events = []; // [ms, name] ring, for the test hooks
  let connectedOnce = false;
  let refused = false; // the last attempt was refused: its error is solved once connected
  socket.onAny((name) => {
    events.push([Date.now(), name]);
    if (events.length > 500) events.splice(0, 250);
  });
  socket.on('connect', () => {
    if (refused) ui.notices.clearErrors();
    refused = false;
    setPill(ui.pill, 'online', 'Connected');
    if (ui.reconnectBtn) ui.reconnectBtn.hidden = true;
    const first = !connectedOnce;
    connectedOnce = true;
    onConnect(first);
  });
  socket.on('connect_error', (err) => {
    const msg = (err && err.message) || 'connection error';
    if (!socket.active) {
      // The server answered CONNECT_ERROR (e.g. {"message":"unauthorized"}): no retry.
      // The fix is a token, not a retry: no "Reconnect" button here.
      refused = true;
      setPill(ui.pill, 'refused', 'Refused');
      onRefused(msg);
    } else {
      setPill(ui.pill, 'connecting', 'Cannot reach server, retrying…');
      ui.notices.status(`Cannot reach the server (${msg}); retrying…`, 'warn');
    }
  });
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') setPill(ui.pill, 'offline', 'Not connected');
    else if (reason === 'io server disconnect') {
      setPill(ui.pill, 'offline', 'Disconnected by server');
      if (ui.reconnectBtn) ui.reconnectBtn.hidden = false;
      ui.notices.error('The server closed the connection. Use "Reconnect" to connect again.');
    } else setPill(ui.pill, 'connecting', 'Reconnecting…');
    onDisconnect(reason);
  });
  socket.io.on('reconnect_attempt', (n) => setPill(ui.pill, 'connecting', `Reconnecting (attempt ${n})…`));
  socket.on('app-error', (e) => {
    if (!e || typeof e !== 'object') return;
    ui.notices.error(errorText(`Server error on "${e.event || 'request'}"`, e));
  });
  if (ui.reconnectBtn) {
    ui.reconnectBtn.addEventListener('click', () => {
      ui.reconnectBtn.hidden = true;
      connect();
    });
  }
  function connect() {
    setPill(ui.pill, 'connecting', 'Connecting…');
    socket.connect();
  }
  // Connects again with the current token. A refused socket just sends a new CONNECT on the
  // transport that is still open; a connected one is dropped first.
  function reconnect() {
    if (socket.connected || socket.active) socket.disconnect();
    connect();
  }
  function state() {
    if (socket.connected) return 'connected';
    if (socket.active) return 'connecting';
    return ui.pill.dataset.state === 'refused' ? 'refused' : 'disconnected';
  }
  return { socket, connect, reconnect, state, events: () => events.slice() };
}

export function setPill(pill, state, text) {
  pill.dataset.state = state;
  pill.textContent = text;
}

// ---------------------------------------------------------------- token panel

// Wires the token controls shared by both pages. ids: token-name, get-token, token, use-token,
// forget-token, token-info, token-panel (a <details>). onToken(token|'') after every change.
export function wireTokenPanel({ store, role, notices, onToken }) {
  const panel = $('token-panel');
  const info = $('token-info');
  const input = $('token');
  const getBtn = $('get-token');
  function show() {
    const t = store.get();
    info.textContent = t ? describeToken(t) : 'none';
    $('forget-token').hidden = !t;
    const c = t ? jwtClaims(t) : null;
    // Admin tokens may watch too; only the studio insists on its role.
    if (role === 'admin' && c && c.role && c.role !== 'admin') {
      notices.error(`This token's role is "${c.role}"; the studio needs an admin token.`);
    }
  }
  getBtn.addEventListener('click', async () => {
    const name = $('token-name').value.trim() || (role === 'admin' ? 'Admin' : 'Viewer');
    const problem = textProblem(name, 100);
    if (problem) {
      notices.error(`The name ${problem}.`);
      return;
    }
    getBtn.disabled = true;
    notices.status('Asking the server for a demo token…');
    try {
      const t = await fetchDevToken(name, role);
      store.set(t);
      store.setDemoName(name);
      show();
      notices.status('Got a demo token.', 'ok');
      onToken(t);
    } catch (e) {
      notices.error(e.message);
      if (e.code === 'production') {
        panel.open = true;
        input.focus();
      }
      notices.status('No token yet.', 'warn');
    } finally {
      getBtn.disabled = false;
    }
  });
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!looksLikeJwt(t)) {
      notices.error('That does not look like a token (expected three dot-separated parts, like xxxxx.yyyyy.zzzzz).');
      input.focus();
      return;
    }
    input.value = '';
    store.set(t);
    store.setDemoName('');
    show();
    onToken(t);
  });
  $('forget-token').addEventListener('click', () => {
    store.clear();
    store.setDemoName('');
    show();
    panel.open = true;
    onToken('');
  });
  // A demo token that was refused (expired): gets a fresh one with the same name. -> bool.
  async function renew() {
    const name = store.demoName();
    const t = store.get();
    const c = t ? jwtClaims(t) : null;
    if (!name || !c || typeof c.exp !== 'number' || c.exp * 1000 > Date.now()) return false;
    try {
      store.set(await fetchDevToken(name, role));
      show();
      notices.status('The demo token had expired; got a fresh one.', 'warn');
      return true;
    } catch {
      return false;
    }
  }
  show();
  return { show, renew, collapse: () => (panel.open = false), expand: () => (panel.open = true) };
}

// ---------------------------------------------------------------- chat

// Chat list + form. send(text) -> Promise<ack>. ids: chat-log, chat-form, chat-input,
// chat-send, chat-hint.
export function createChat({ notices, send }) {
  const logEl = $('chat-log');
  const form = $('chat-form');
  const input = $('chat-input');
  const btn = $('chat-send');
  const hint = $('chat-hint');
  const entries = [];
  const seen = new Set();
  let enabled = false;

  function valid(m) {
    return m && typeof m === 'object' && typeof m.text === 'string';
  }
  function render(m) {
    const from = m.from && typeof m.from === 'object' ? m.from : {};
    const name = String(from.name || from.id || 'someone');
    const li = el(
      'li',
      { className: 'chat-msg', 'data-testid': 'chat-message', 'data-id': m.id ?? '' },
      el('span', { className: 'chat-who' }, name),
      from.role === 'admin' ? el('span', { className: 'chat-badge' }, 'host') : null,
      el('time', { className: 'chat-time', datetime: typeof m.ts === 'number' ? new Date(m.ts).toISOString() : '' }, fmtTime(m.ts)),
      el('p', { className: 'chat-text' }, m.text),
    );
    const nearBottom = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 40;
    logEl.append(li);
    while (logEl.children.length > 300) logEl.firstElementChild.remove();
    if (nearBottom) logEl.scrollTop = logEl.scrollHeight;
  }
  function add(m) {
    if (!valid(m)) return;
    if (m.id !== undefined && m.id !== null) {
      const k = String(m.id);
      if (seen.has(k)) return;
      seen.add(k);
    }
    entries.push({ id: m.id, roomId: m.roomId, from: m.from, text: m.text, ts: m.ts });
    if (entries.length > 1000) entries.splice(0, 500);
    render(m);
  }
  function reset(history) {
    entries.length = 0;
    seen.clear();
    logEl.replaceChildren();
    if (Array.isArray(history)) history.forEach(add);
  }
  function setEnabled(on, why) {
    enabled = on;
    input.disabled = !on;
    btn.disabled = !on;
    hint.textContent = on ? `Up to ${CHAT_MAX} characters. Enter sends.` : why || 'Chat is not available.';
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!enabled) return;
    const text = input.value.trim();
    if (!text) return;
    const problem = textProblem(text, CHAT_MAX);
    if (problem) {
      notices.error(`The message ${problem}.`);
      return;
    }
    btn.disabled = true;
    const res = await send(text);
    btn.disabled = !enabled;
    if (res.ok) {
      if (input.value.trim() === text) input.value = '';
    } else notices.error(errorText('Chat message not sent', res.error));
    input.focus();
  });
  setEnabled(false);
  return { add, reset, setEnabled, entries: () => entries.slice() };
}
