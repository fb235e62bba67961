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

// options asks the server what the sign-in page should offer (single
// sign-on, first-run setup); an older server without the endpoint offers
// the token and password forms only.
async function options() {
  try {
    return await api.getJSON('/api/v1/signin', { token: '' });
  } catch {
    return { sso: false, setup_needed: false };
  }
}

// finishSSO picks up the session the single sign-on callback opened (an
// HttpOnly cookie): the CSRF token comes from /api/v1/oidc/session.
export async function finishSSO() {
  let me;
  try {
    me = await api.getJSON('/api/v1/oidc/session', { token: '' });
  } catch (err) {
    if (err.status === 401) throw new Error('Single sign-on did not finish (no session came back from the identity provider); try again.');
    throw err;
  }
  api.session.set(fromMe(me, { mode: 'session', csrf: me.csrf || '' }));
}

// setupAdmin creates the first admin user (POST /api/v1/setup) and signs
// it in. token is the admin token, needed unless the browser runs on the
// server's own machine.
export async function setupAdmin({ user, password, confirm, token }) {
  if (!user || !password) throw new Error('Enter a user name and a password.');
  if (password !== confirm) throw new Error('The two passwords differ.');
  const headers = token ? { Authorization: 'Bearer ' + token.trim() } : {};
  let me;
  try {
    me = await api.sendJSON('POST', '/api/v1/setup', { user, password }, { token: '', headers });
  } catch (err) {
    if (err.status === 403 && !token && /own machine/.test(err.detail || '')) {
      throw new Error('This browser is not on the server\'s own machine: paste the admin token (MAMORI_ADMIN_TOKEN, or the file auth/admin-token in the data directory) to create the first admin.');
    }
    if (err.status === 401) throw new Error('The server does not accept this admin token.');
    throw new Error(err.detail || err.message);
  }
  api.session.set(fromMe(me, { mode: 'session', csrf: me.csrf || '' }));
}

// mount renders the sign-in page; onDone runs after a successful sign-in.
export function mount(root, { onDone, message }) {
  const box = h('main', { class: 'signin' }, h('div', { class: 'signin-card' }, h('span', { class: 'spinner' }), ' Loading…'));
  replace(root, box);
  const params = new URLSearchParams(location.search);
  (async () => {
    if (params.get('sso') === '1') {
      try {
        await finishSSO();
        onDone();
        return;
      } catch (err) {
        message = err.message;
      }
    }
    const opts = await options();
    if (opts.setup_needed && localStorage.getItem(SETUP_SKIP_KEY) !== '1') mountSetup(box, opts, onDone, () => mountSignIn(box, { onDone, message, opts }));
    else mountSignIn(box, { onDone, message, opts });
  })();
}

const SETUP_SKIP_KEY = 'mamori.setup.skip';

// mountSetup renders the first-run setup: the first admin user.
function mountSetup(root, opts, onDone, skip) {
  const err = h('div', { 'aria-live': 'assertive' });
  const user = h('input', { id: 'setup-user', name: 'username', type: 'text', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'off', value: 'admin' });
  const pass = h('input', { id: 'setup-password', name: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: opts.min_password || 12 });
  const confirm = h('input', { id: 'setup-confirm', type: 'password', autocomplete: 'new-password', required: true });
  const token = h('input', { id: 'setup-token', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'mmr_…', 'aria-describedby': 'setup-token-hint' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Create the admin and sign in');
  const form = h('form', { class: 'signin-card', 'aria-labelledby': 'setup-title', onsubmit: async (e) => {
    e.preventDefault();
    replace(err);
    btn.disabled = true;
    try {
      await setupAdmin({ user: user.value.trim(), password: pass.value, confirm: confirm.value, token: token.value });
      onDone();
      return;
    } catch (e2) {
      replace(err, h('div', { class: 'alert error', role: 'alert' }, e2.message));
    }
    btn.disabled = false;
  } },
  h('div', { class: 'brand', title: 'Mamori (守り, protection)' }, h('img', { src: logoURL(), alt: '' }), h('span', {}, 'Mamori')),
  h('h1', { id: 'setup-title' }, 'Welcome: create the first admin'),
  h('p', { class: 'muted' }, 'No user account exists yet. The first one gets the admin role; add other users and roles later in Settings.'),
  h('label', { for: 'setup-user' }, 'User name'), user,
  h('label', { for: 'setup-password' }, `Password (at least ${opts.min_password || 12} characters)`), pass,
  h('label', { for: 'setup-confirm' }, 'Password again'), confirm,
  opts.setup_here ? h('p', { class: 'field-hint' }, 'This browser runs on the server\'s own machine, so no token is needed.') :
    [h('label', { for: 'setup-token' }, 'Admin token'), token,
      h('div', { class: 'field-hint', id: 'setup-token-hint' }, 'From another machine, setup needs the admin token: MAMORI_ADMIN_TOKEN, or the file auth/admin-token in the server\'s data directory.')],
  err, btn,
  h('button', { type: 'button', class: 'ghost small switch', onclick: () => { localStorage.setItem(SETUP_SKIP_KEY, '1'); skip(); } }, 'Skip: sign in with an API token instead'),
  opts.sso ? ssoBlock() : null);
  replace(root, form);
  user.select();
}

function mountSignIn(root, { onDone, message, opts }) {
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
  fields, err, btn, switchBtn, opts.sso ? ssoBlock() : null,
  opts.setup_needed ? h('button', { type: 'button', class: 'ghost small switch', onclick: () => { localStorage.removeItem(SETUP_SKIP_KEY); mountSetup(root, opts, onDone, () => mountSignIn(root, { onDone, message, opts })); } }, 'No user yet? Create the first admin') : null);
  replace(root, form);
  draw();
}

// ssoBlock is the single sign-on button: a plain link, because the
// provider's page must load in the tab. It comes back to /signin?sso=1.
function ssoBlock() {
  const next = new URLSearchParams(location.search).get('next') || '';
  const back = '/signin?sso=1' + (next ? '&next=' + encodeURIComponent(next) : '');
  return h('div', { class: 'sso' }, h('div', { class: 'or', role: 'separator' }, 'or'),
    h('a', { class: 'btn sso-button', id: 'sso-login', href: '/api/v1/oidc/login?return=' + encodeURIComponent(back) }, 'Sign in with single sign-on'));
}

// logoURL finds the logo next to the running script (assets live under a
// build-hash path).
export function logoURL() { return new URL('../img/logo.svg', import.meta.url).pathname; }
