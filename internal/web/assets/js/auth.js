// Sign-in. Today the only credential is an API token (kept in
// sessionStorage). signIn takes a credentials object so that a username and
// password form can replace the token form when the server has sessions:
// only signIn and the form change, not the callers.
import { h, replace } from './dom.js';
import * as api from './api.js';

// signIn checks credentials with the server and stores the session. It
// resolves with the role, or throws an Error whose message is for the user.
export async function signIn(creds) {
  const token = (creds.token || '').trim();
  if (!token) throw new Error('Enter an API token.');
  try {
    await api.call('GET', '/metrics', { token }); // any reader or admin token may read it
  } catch (err) {
    if (err.status === 401) throw new Error('The server does not accept this token (unknown, revoked or expired).');
    if (err.status === 403) throw new Error('This token can only send data (ingest role); sign in with a reader or admin token.');
    throw err;
  }
  let role = 'reader';
  try {
    await api.call('GET', '/api/v1/tokens', { token });
    role = 'admin';
  } catch (err) {
    if (err.status !== 403) throw err;
  }
  api.session.set(token, role);
  return role;
}

export function signOut() { api.session.clear(); }

// mount renders the sign-in page; onDone runs after a successful sign-in.
export function mount(root, { onDone, message }) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true,
    spellcheck: 'false', placeholder: 'mamori_…', 'aria-describedby': 'token-hint' });
  const err = h('div', { 'aria-live': 'assertive' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin-card', 'aria-labelledby': 'signin-title', onsubmit: async (e) => {
    e.preventDefault();
    replace(err);
    btn.disabled = true;
    btn.textContent = 'Signing in…';
    try {
      await signIn({ token: input.value });
      onDone();
    } catch (e2) {
      replace(err, h('div', { class: 'alert error', role: 'alert' }, e2.message));
      btn.disabled = false;
      btn.textContent = 'Sign in';
      input.select();
    }
  } },
  h('div', { class: 'brand' }, h('img', { src: logoURL(), alt: '' }), h('span', {}, 'Mamori ', h('span', { class: 'jp', lang: 'ja' }, '守り'))),
  h('h1', { id: 'signin-title' }, 'Sign in'),
  message ? h('div', { class: 'alert warn', role: 'status' }, message) : null,
  h('label', { for: 'token' }, 'API token'), input,
  h('div', { class: 'field-hint', id: 'token-hint' }, 'A reader or admin token. The admin token is the one in MAMORI_ADMIN_TOKEN or the one the server printed on first start. It stays in this tab only.'),
  err, btn);
  replace(root, h('main', { class: 'signin' }, form));
  input.focus();
}

// logoURL finds the logo next to the running script (assets live under a
// build-hash path).
export function logoURL() { return new URL('../img/logo.svg', import.meta.url).pathname; }
