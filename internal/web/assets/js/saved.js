// Query history (kept in this browser's localStorage) and saved searches
// (kept on the server, /api/v1/saved-searches: private to their owner or
// shared with everyone who may search; only the owner or an admin changes
// or deletes one). Saved searches an older version kept in localStorage
// are moved to the server the first time the list is read.
import * as api from './api.js';

const HISTORY_KEY = 'mamori.history';
const LEGACY_SAVED_KEY = 'mamori.saved';
const MAX_HISTORY = 100;
const PATH = '/api/v1/saved-searches';

function load(key) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function store(key, list) {
  try { localStorage.setItem(key, JSON.stringify(list)); } catch { /* storage full or disabled: history is best effort */ }
}

export function history() { return load(HISTORY_KEY); }

export function remember(q, from, to) {
  if (!q.trim()) return;
  const list = history().filter((e) => !(e.q === q && e.from === from && e.to === to));
  list.unshift({ q, from, to, at: Date.now() });
  store(HISTORY_KEY, list.slice(0, MAX_HISTORY));
}

export function clearHistory() { store(HISTORY_KEY, []); }

// fromServer maps an API item to the UI's shape ({q, from, to, name, ...}).
export function fromServer(it, me) {
  return {
    id: it.id, name: it.name, q: it.query || '', from: it.from || '-1h', to: it.to || 'now', shared: !!it.shared,
    mine: it.owner === me, owner: it.owner_name || it.owner || '', at: Date.parse(it.updated || it.created || '') || 0,
  };
}

let migrating = null;

// migrateLocal moves saved searches kept by an older version in this
// browser to the server, once; entries the server refuses stay local.
async function migrateLocal() {
  const local = load(LEGACY_SAVED_KEY);
  if (!local.length) return;
  const left = [];
  for (const e of local) {
    if (!e || typeof e.name !== 'string' || typeof e.q !== 'string' || !e.q.trim()) continue;
    try {
      await api.sendJSON('POST', PATH, { name: e.name.slice(0, 100), query: e.q, from: e.from || '-1h', to: e.to || 'now', shared: false });
    } catch (err) {
      if (err.status === 404) return; // a server without the API: keep them here
      left.push(e);
    }
  }
  if (left.length) store(LEGACY_SAVED_KEY, left); else localStorage.removeItem(LEGACY_SAVED_KEY);
}

// saved lists the saved searches the signed-in principal may use: its own
// first, then the shared ones. It throws an APIError in words.
export async function saved() {
  if (!migrating) migrating = migrateLocal().catch(() => {}).finally(() => { migrating = null; });
  await migrating;
  const ans = await api.getJSON(PATH);
  return (ans.saved_searches || []).map((it) => fromServer(it, ans.me));
}

// save creates a saved search, or replaces the caller's own one of the
// same name (id given).
export async function save({ id, name, q, from, to, shared }) {
  const body = { name, query: q, from, to, shared: !!shared };
  const it = id ? await api.sendJSON('PUT', PATH + '/' + encodeURIComponent(id), body) : await api.sendJSON('POST', PATH, body);
  return it;
}

export async function unsave(id) { await api.call('DELETE', PATH + '/' + encodeURIComponent(id)); }
