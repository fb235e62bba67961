// Entry point: theme, routing (History API; the server answers index.html
// for every page path), the sign-in gate and the shell with navigation.
import { h, replace, toast, isTyping, modal } from './dom.js';
import * as api from './api.js';
import * as auth from './auth.js';
import * as search from './search.js';
import * as sources from './sources.js';
import * as signals from './signals.js';
import * as dashboards from './dashboards.js';
import * as settings from './settings.js';
import * as incidents from './incidents.js';
import * as rules from './rules.js';

const THEME_KEY = 'mamori.theme';

const ROUTES = [
  { path: '/search', title: 'Search', icon: '⌕', mount: (el) => search.mount(el) },
  { path: '/sources', title: 'Sources', icon: '⇄', mount: (el) => sources.mount(el) },
  { sep: true },
  { path: '/incidents', title: 'Incidents', icon: '⚑', mount: (el) => incidents.mount(el) },
  { path: '/signals', title: 'Signals', icon: '⚡', mount: (el) => signals.mount(el) },
  { path: '/rules', title: 'Rules', icon: '≡', mount: (el) => rules.mount(el) },
  { sep: true },
  { path: '/dashboards', title: 'Dashboards', icon: '▦', mount: (el) => dashboards.mount(el) },
  { path: '/settings', title: 'Settings', icon: '⚙', mount: (el) => settings.mount(el) },
];

const app = document.getElementById('app');
let cleanup = null;
let shell = null;

function applyTheme(t) {
  document.documentElement.dataset.theme = t;
  try { localStorage.setItem(THEME_KEY, t); } catch { /* private mode: the theme just isn't remembered */ }
}
applyTheme(localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark');

export function navigate(url, replaceState = false) {
  window.history[replaceState ? 'replaceState' : 'pushState'](null, '', url);
  route();
}

function unmount() {
  if (cleanup) { try { cleanup(); } catch (err) { toast('Leaving the page failed: ' + err.message, 'error'); } }
  cleanup = null;
}

function route(signinMessage) {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (!api.session.active) {
    unmount();
    shell = null;
    if (path !== '/signin') {
      const next = path === '/' ? '' : location.pathname + location.search;
      window.history.replaceState(null, '', '/signin' + (next ? '?next=' + encodeURIComponent(next) : ''));
    }
    document.title = 'Sign in · Mamori';
    auth.mount(app, { message: typeof signinMessage === 'string' ? signinMessage : '', onDone: () => {
      const next = new URLSearchParams(location.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/search', true);
    } });
    return;
  }
  if (path === '/' || path === '/signin') { navigate('/search', true); return; }
  const r = ROUTES.find((x) => x.path === path);
  unmount();
  if (!shell) shell = buildShell();
  for (const a of shell.nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = (r ? r.title : 'Not found') + ' · Mamori';
  if (!r) {
    replace(shell.main, h('div', { class: 'page' }, h('h1', {}, 'Page not found'), h('p', {}, 'There is no page at ', h('code', {}, path), '. ', h('a', { href: '/search' }, 'Go to Search'), '.')));
    return;
  }
  cleanup = r.mount(shell.main) || null;
  shell.main.focus({ preventScroll: true });
}

function buildShell() {
  const nav = h('nav', { class: 'nav', 'aria-label': 'Main' }, ROUTES.map((r) => r.sep ? h('div', { class: 'nav-sep', role: 'separator' }) :
    h('a', { href: r.path }, h('span', { class: 'icon', 'aria-hidden': 'true' }, r.icon), r.title, r.soon ? h('span', { class: 'soon' }, 'soon') : null)));
  const main = h('main', { class: 'main', id: 'main', tabindex: -1 });
  const themeBtn = h('button', { type: 'button', class: 'ghost', onclick: () => {
    applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
    themeBtn.textContent = themeLabel();
  } }, themeLabel());
  const top = h('header', { class: 'topbar' },
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('a', { class: 'brand', href: '/search', 'aria-label': 'Mamori home' }, h('img', { src: auth.logoURL(), alt: '' }), h('span', {}, 'Mamori')),
    h('div', { class: 'spacer' }),
    h('span', { class: 'muted', title: api.session.mode === 'token' ? 'Signed in with an API token' : 'Signed in as a user' },
      (api.session.name || (api.session.mode === 'token' ? 'API token' : '')) + (api.session.roles.length ? ' · ' + api.session.roles.join(', ') : '')),
    themeBtn,
    h('button', { type: 'button', class: 'ghost', onclick: async () => { unmount(); await auth.signOut(); shell = null; route(); } }, 'Sign out'));
  replace(app, h('div', { class: 'shell' }, top, nav, main));
  return { nav, main };
}

function themeLabel() { return document.documentElement.dataset.theme === 'dark' ? '☀ Light' : '☾ Dark'; }

// Same-origin links are handled here so page changes keep the shell.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.hash && url.pathname === location.pathname) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

// Shortcuts: g then s (Search), o (Sources), i, r, d.
let gPressed = 0;
document.addEventListener('keydown', (e) => {
  if (isTyping(e) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === '?' && api.session.active && !document.querySelector('dialog[open]')) { showKeys(); return; }
  if (e.key === 'g') { gPressed = Date.now(); return; }
  if (gPressed && Date.now() - gPressed < 1000) {
    gPressed = 0;
    const to = { s: '/search', o: '/sources', i: '/incidents', a: '/signals', r: '/rules', d: '/dashboards', t: '/settings' }[e.key];
    if (to && api.session.active) navigate(to);
  }
});

const KEYS = [
  ['/', 'Focus the query'], ['Enter', 'Run the query (Shift+Enter: new line)'], ['Ctrl+Space', 'Suggest operators, fields and functions'],
  ['↑ ↓ Tab Esc', 'Choose, accept or close a suggestion'], ['↑ ↓ j k PgUp PgDn Home End', 'Move in the results (when the table has focus)'],
  ['Enter / Space', 'Expand or collapse the current row'], ['g s / g o / g i / g a / g r / g d / g t', 'Go to Search, Sources, Incidents, Signals (alerts), Rules, Dashboards, Settings'],
  ['?', 'This help'],
];

function showKeys() {
  modal('Keyboard shortcuts', (done) => h('div', {},
    h('table', { class: 'grid' }, h('tbody', {}, KEYS.map(([k, what]) => h('tr', {}, h('td', {}, h('kbd', {}, k)), h('td', {}, what))))),
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => done(true) }, 'Close'))));
}

window.addEventListener('popstate', () => route());
// Pages ask for a page change with an event (they do not import app.js).
window.addEventListener('mamori:navigate', (e) => { if (typeof e.detail === 'string' && e.detail.startsWith('/')) navigate(e.detail); });
window.addEventListener('mamori:signedout', (e) => { shell = null; unmount(); route(e.detail); });
window.addEventListener('unhandledrejection', (e) => {
  toast('Unexpected error: ' + (e.reason && e.reason.message ? e.reason.message : String(e.reason)), 'error');
});

route();
