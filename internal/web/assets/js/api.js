// The API client: bearer token from the session, errors in words, and the
// NDJSON search stream.

const AUTH_KEY = 'mamori.auth';

function loadAuth() {
  try { return JSON.parse(sessionStorage.getItem(AUTH_KEY) || 'null'); } catch { return null; }
}

// session is the credential of this browser tab, kept in sessionStorage
// (gone when the tab closes; other sites cannot read it). mode 'token'
// sends the API token as a bearer header; mode 'session' relies on the
// server's HttpOnly session cookie and sends the CSRF token on writes.
export const session = {
  get active() { const a = loadAuth(); return !!(a && (a.token || a.csrf)); },
  get mode() { return loadAuth()?.mode || ''; },
  get token() { return loadAuth()?.token || ''; },
  get csrf() { return loadAuth()?.csrf || ''; },
  get name() { return loadAuth()?.name || ''; },
  get roles() { return loadAuth()?.roles || []; },
  // can reports whether the signed-in principal has a capability.
  can(cap) { const c = loadAuth()?.caps || []; return c.includes(cap) || c.includes('admin'); },
  set(a) { sessionStorage.setItem(AUTH_KEY, JSON.stringify(a)); },
  clear() { sessionStorage.removeItem(AUTH_KEY); },
};

// APIError carries the HTTP status, the server's message and, for query
// errors, the byte offset into the query.
export class APIError extends Error {
  constructor(status, message, offset, detail) {
    super(message);
    this.status = status;
    this.offset = offset;
    this.detail = detail || message; // the server's own words, without the status prefix
  }
}

const statusWords = {
  400: 'The server rejected the request',
  401: 'The token is missing, unknown, revoked or expired',
  403: 'This token is not allowed to do that',
  404: 'Not found',
  413: 'The request is too large',
  429: 'The server is busy; try again in a moment',
  500: 'The server failed; see its log',
  502: 'The server is unreachable (bad gateway)',
  503: 'The server is starting or shutting down',
  504: 'The server took too long to answer',
};

// errorFrom turns a failed response into an APIError.
async function errorFrom(res) {
  let msg = '';
  let offset;
  let errors;
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text);
    msg = j.error || '';
    if (typeof j.offset === 'number') offset = j.offset;
    if (Array.isArray(j.errors)) errors = j.errors;
  } catch {
    msg = text.trim().slice(0, 300);
  }
  const words = statusWords[res.status] || `The server answered ${res.status} ${res.statusText}`;
  const e = new APIError(res.status, msg ? `${words}: ${msg}` : words + '.', offset, msg);
  e.errors = errors;
  return e;
}

function onUnauthorized(res, usedSession) {
  if (res.status === 401 && usedSession && session.active) {
    session.clear();
    window.dispatchEvent(new CustomEvent('mamori:signedout', { detail: 'Your token is no longer accepted; sign in again.' }));
  }
}

// call sends a request with the tab's credential and returns the Response.
// opts.token sends that bearer token instead; opts.token === '' sends the
// session cookie only (login). it throws an APIError for network failures and non-2xx
// answers.
export async function call(method, path, { body, token, signal, headers } = {}) {
  const h = { ...(headers || {}) };
  const usedSession = token === undefined;
  let credentials = 'omit';
  if (token) h.Authorization = 'Bearer ' + token;
  else if (usedSession && session.mode === 'token') h.Authorization = 'Bearer ' + session.token;
  else if (usedSession && session.mode === 'session' || token === '') {
    credentials = 'same-origin';
    if (method !== 'GET' && method !== 'HEAD' && session.csrf) h['X-CSRF-Token'] = session.csrf;
  }
  if (body !== undefined && typeof body !== 'string') { h['Content-Type'] = 'application/json'; body = JSON.stringify(body); }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body, signal, cache: 'no-store', credentials });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, 'Cannot reach the Mamori server (' + (err.message || 'network error') + '). Is it running?');
  }
  if (!res.ok) {
    onUnauthorized(res, usedSession);
    throw await errorFrom(res);
  }
  return res;
}

export async function getJSON(path, opts) { return (await call('GET', path, opts)).json(); }
export async function sendJSON(method, path, body, opts) { return (await call(method, path, { ...opts, body })).json(); }
export async function getText(path, opts) { return (await call('GET', path, opts)).text(); }

// search runs a query and calls onRows with batches of rows as they stream
// in. It resolves with {stats, error}: error is the message of a
// mid-stream {"_error"} line. A bad query rejects with an APIError that
// has an offset.
export async function search(req, onRows, signal) {
  const res = await call('POST', '/api/v1/search', { body: req, signal, headers: { Accept: 'application/x-ndjson' } });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let stats = null;
  let error = null;
  let batch = [];
  const line = (s) => {
    if (!s.trim()) return;
    let o;
    try { o = JSON.parse(s); } catch { error = 'the server sent a line that is not JSON: ' + s.slice(0, 120); return; }
    if (o && typeof o === 'object' && !Array.isArray(o)) {
      if ('_stats' in o && Object.keys(o).length === 1) { stats = o._stats; return; }
      if ('_error' in o && Object.keys(o).length === 1) { error = String(o._error); return; }
    }
    batch.push(o);
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { line(buf.slice(0, i)); buf = buf.slice(i + 1); }
    if (batch.length) { onRows(batch); batch = []; }
  }
  buf += dec.decode();
  line(buf);
  if (batch.length) onRows(batch);
  return { stats, error };
}

// tail follows new events that match a search expression (GET
// /api/v1/tail, Server-Sent Events read through fetch so the credential
// travels in a header). onEvent gets each row; onDropped the number of
// events the server skipped because this client fell behind; onOpen (if
// given) once the server has answered, that is, subscribed. It resolves
// when the stream ends or signal aborts.
export async function tail(expr, onEvent, onDropped, signal, onOpen) {
  const res = await call('GET', '/api/v1/tail?' + new URLSearchParams({ query: expr }), { signal, headers: { Accept: 'text/event-stream' } });
  if (onOpen) onOpen();
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const message = (block) => {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const k = i < 0 ? line : line.slice(0, i);
      const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (k === 'event') type = v;
      else if (k === 'data') data.push(v);
    }
    if (!data.length) return;
    let o;
    try { o = JSON.parse(data.join('\n')); } catch { return; } // not ours: skip it
    if (type === 'event') onEvent(o);
    else if (type === 'dropped' && typeof o.dropped === 'number') onDropped(o.dropped);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) { message(buf.slice(0, i)); buf = buf.slice(i + 2); }
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  }
}
