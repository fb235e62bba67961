// Query history and saved searches, kept in localStorage until the server
// has an API for them.
// TODO(web): move saved searches to the server when the API exists (#web-ui).

const HISTORY_KEY = 'mamori.history';
const SAVED_KEY = 'mamori.saved';
const MAX_HISTORY = 100;

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

export function saved() { return load(SAVED_KEY); }

export function save(name, q, from, to) {
  const list = saved().filter((e) => e.name !== name);
  list.unshift({ name, q, from, to, at: Date.now() });
  store(SAVED_KEY, list);
}

export function unsave(name) { store(SAVED_KEY, saved().filter((e) => e.name !== name)); }
