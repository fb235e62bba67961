// Sign-in: a user name and password (with a TOTP code when the account has
// one) opens a server session (HttpOnly cookie plus a CSRF token kept in
// this tab); an API token works too. signIn takes a credentials object, so
// callers do not care which.
import { h, replace } from './dom.js';
import * as api from './api.js';

const METHOD_KEY = 'mamori.signin';

// TOTPRequired is thrown when the password was right and a code is needed.
export class TOTPRequired extends Error {}

function fromMe(me, extra) {
  return { ...extra, name: me.name || me.id || '', roles: me.roles || [], caps: me.capabilities || [] };
}

// signIn checks credentials with the server and stores the session.
// creds: {token} or {user, password, code}. It throws an Error whose
// message is for the user.
export async function signIn(creds) {
  if ('token' in creds) return signInToken((creds.token || '').trim());
  if (!creds.user || !creds.password) throw new Error('Enter your user name and password.');
  let me;
  try {
    me = await api.sendJSON('POST', '/api/v1/login', { user: creds.user, password: creds.password, code: creds.code || '' }, { token: '' });
  } catch (err) {
    if (err.status === 401 && /totp|code/i.test(err.detail || '')) {
      if (creds.code) throw new Error('The one-time code is wrong or expired; try the current one.');
      throw new TOTPRequired('Enter the 6-digit code from your authenticator app.');
    }
    if (err.status === 401) throw new Error('Wrong user name or password, or the account is disabled.');
    if (err.status === 429) throw new Error('Too many attempts; wait a minute and try again.');
    if (err.status === 404) throw new Error('This server has no user accounts yet; sign in with an API token.');
    throw err;
  }
  api.session.set(fromMe(me, { mode: 'session', csrf: me.csrf || '' }));
}

async function signInToken(token) {
  if (!token) throw new Error('Enter an API token.');
  try {
    const me = await api.getJSON('/api/v1/me', { token });
    api.session.set(fromMe(me, { mode: 'token', token }));
    if (!api.session.can('search')) {
      api.session.clear();
      throw new Error('This token can only send data (no search capability); sign in with a reader or admin token.');
    }
    return;
  } catch (err) {
    if (err.status === 401) throw new Error('The server does not accept this token (unknown, revoked or expired).');
    if (err.status !== 404) throw err;
  }
  // A server without /api/v1/me: probe what the token may do.
  try {
    await api.call('GET', '/metrics', { token });
  } catch (err) {
    if (err.status === 403) throw new Error('This token can only send data (ingest role); sign in with a reader or admin token.');
    throw err;
  }
  let caps = ['search'];
  try {
    await api.call('GET', '/api/v1/tokens', { token });
    caps = ['admin'];
  } catch (err) {
    if (err.status !== 403) throw err;
  }
  api.session.set({ mode: 'token', token, name: '', roles: caps[0] === 'admin' ? ['admin'] : ['reader'], caps });
}

// signOut ends the server session (if any) and forgets the credential.
export async function signOut() {
  if (api.session.mode === 'session') {
    try { await api.call('POST', '/api/v1/logout'); } catch { /* the session may be gone already; sign out locally anyway */ }
  }
  api.session.clear();
}

// mount renders the sign-in page; onDone runs after a successful sign-in.
export function mount(root, { onDone, message }) {
  let method = localStorage.getItem(METHOD_KEY) === 'password' ? 'password' : 'token';
  const err = h('div', { 'aria-live': 'assertive' });
  const fields = h('div', {});
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const switchBtn = h('button', { type: 'button', class: 'ghost small switch', onclick: () => { method = method === 'token' ? 'password' : 'token'; localStorage.setItem(METHOD_KEY, method); draw(); } });
  let needCode = false;
  const inputs = {};
  function draw() {
    replace(err);
    if (method === 'token') {
      inputs.token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true,
        spellcheck: 'false', placeholder: 'mmr_…', 'aria-describedby': 'token-hint' });
      replace(fields, h('label', { for: 'token' }, 'API token'), inputs.token,
        h('div', { class: 'field-hint', id: 'token-hint' }, 'A token with the search capability (reader, analyst or admin). The first admin token is MAMORI_ADMIN_TOKEN or the one the server wrote on first start. It stays in this tab only.'));
      switchBtn.textContent = 'Sign in with a user name and password instead';
      inputs.token.focus();
    } else {
      inputs.user = h('input', { id: 'user', name: 'username', type: 'text', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'off' });
      inputs.password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
      inputs.code = h('input', { id: 'code', name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9 ]{6,8}', maxlength: 8 });
      replace(fields, h('label', { for: 'user' }, 'User name'), inputs.user, h('label', { for: 'password' }, 'Password'), inputs.password,
        h('div', { class: needCode ? '' : 'hidden', id: 'code-row' }, h('label', { for: 'code' }, 'One-time code'), inputs.code));
      switchBtn.textContent = 'Use an API token instead';
      inputs.user.focus();
    }
  }
  const form = h('form', { class: 'signin-card', 'aria-labelledby': 'signin-title', onsubmit: async (e) => {
    e.preventDefault();
    replace(err);
    btn.disabled = true;
    btn.textContent = 'Signing in…';
    try {
      await signIn(method === 'token' ? { token: inputs.token.value } : { user: inputs.user.value.trim(), password: inputs.password.value, code: inputs.code.value.replace(/\s/g, '') });
      onDone();
      return;
    } catch (e2) {
      if (e2 instanceof TOTPRequired) {
        needCode = true;
        document.getElementById('code-row')?.classList.remove('hidden');
        inputs.code.focus();
      }
      replace(err, h('div', { class: 'alert error', role: 'alert' }, e2.message));
      if (method === 'token') inputs.token.select();
    }
    btn.disabled = false;
    btn.textContent = 'Sign in';
  } },
  h('div', { class: 'brand', title: 'Mamori (守り, protection)' }, h('img', { src: logoURL(), alt: '' }), h('span', {}, 'Mamori')),
  h('h1', { id: 'signin-title' }, 'Sign in'),
  message ? h('div', { class: 'alert warn', role: 'status' }, message) : null,
  fields, err, btn, switchBtn);
  replace(root, h('main', { class: 'signin' }, form));
  draw();
}

// logoURL finds the logo next to the running script (assets live under a
// build-hash path).
export function logoURL() { return new URL('../img/logo.svg', import.meta.url).pathname; }
