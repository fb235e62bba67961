// The Dashboards page: panels built from searches (time series, bar,
// table, single value) on a 12-column grid, with one time range for every
// panel and auto-refresh. Dashboards live on the server
// (/api/v1/dashboards): private to their owner or shared with everyone who
// may search (only the owner or an admin changes a shared one; others can
// save a copy). They can also be exported and imported as JSON. Dashboards
// an older version kept in localStorage move to the server on first use.
import { h, clear, replace, fmtNum, errorBox, toast, confirmDialog, modal, download } from './dom.js';
import * as api from './api.js';
import { PRESETS, toMs } from './time.js';
import { seriesFrom, aggChart } from './chart.js';
import { saved } from './saved.js';

const KEY = 'mamori.dashboards'; // legacy localStorage key, migrated to the server
const PATH = '/api/v1/dashboards';
const KINDS = [['line', 'Time series'], ['bar', 'Bar'], ['table', 'Table'], ['single', 'Single value']];
const WIDTHS = [[3, 'Quarter'], [4, 'Third'], [6, 'Half'], [8, 'Two thirds'], [12, 'Full']];
const REFRESH = [[0, 'Off'], [30, '30 s'], [60, '1 min'], [300, '5 min']];

// STARTER is the dashboard offered when there is none: an overview of
// what the server holds (all numbers come from the server).
export const STARTER = {
  name: 'Overview',
  panels: [
    { title: 'Events', query: '* | count', kind: 'single', w: 3 },
    { title: 'Sources', query: '* | count_distinct(_source)', kind: 'single', w: 3 },
    { title: 'Hosts', query: '* | count_distinct(_host)', kind: 'single', w: 3 },
    { title: 'Parse errors', query: '_parse_error=* | count', kind: 'single', w: 3 },
    { title: 'Events over time by source', query: '* | timeslice 60 buckets | count by _timeslice, _source', kind: 'line', w: 8 },
    { title: 'Top sources', query: '* | count by _source | sort by _count | limit 10', kind: 'bar', w: 4 },
    { title: 'Top hosts', query: '* | count by _host | sort by _count | limit 10', kind: 'table', w: 6 },
    { title: 'Signals by rule', query: '_partition=signals | count by rule.title | sort by _count | limit 10', kind: 'table', w: 6 },
  ],
};

let seq = 0;
const newID = () => Date.now().toString(36) + (seq++).toString(36);

// load reads the dashboards an older version kept in localStorage,
// dropping malformed entries.
export function load(storage = globalThis.localStorage) {
  let list;
  try { list = JSON.parse(storage.getItem(KEY) || '[]'); } catch { list = []; }
  return sanitize(list);
}

// sanitize keeps well-formed dashboards and panels (imported JSON is
// untrusted) and fills defaults.
export function sanitize(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((d) => d && typeof d === 'object' && typeof d.name === 'string').map((d) => ({
    id: typeof d.id === 'string' && d.id ? d.id : newID(),
    name: d.name.slice(0, 100),
    panels: (Array.isArray(d.panels) ? d.panels : []).filter((p) => p && typeof p.query === 'string').map((p) => ({
      id: typeof p.id === 'string' && p.id ? p.id : newID(),
      title: String(p.title || p.query).slice(0, 100),
      query: p.query.slice(0, 10000),
      kind: KINDS.some(([k]) => k === p.kind) ? p.kind : 'table',
      w: WIDTHS.some(([w]) => w === p.w) ? p.w : 6,
    })),
  }));
}

// body is what the server stores of a dashboard.
function body(d) {
  return { name: d.name, from: d.from || '-1h', refresh: d.refresh || 0, shared: !!d.shared, panels: d.panels.map((p) => ({ id: p.id, title: p.title, query: p.query, kind: p.kind, w: p.w })) };
}

// fromServer maps an API dashboard to the page's shape.
function fromServer(it, me) {
  const d = sanitize([it])[0];
  return { ...d, from: typeof it.from === 'string' && it.from ? it.from : '-1h', refresh: REFRESH.some(([v]) => v === it.refresh) ? it.refresh : 0,
    shared: !!it.shared, mine: it.owner === me, owner: it.owner_name || it.owner || '' };
}

let migrating = null;

// migrateLocal moves dashboards kept by an older version in this browser
// to the server, once; those the server refuses stay local.
async function migrateLocal() {
  let local;
  try { local = load(); } catch { return; }
  if (!local.length) return;
  const left = [];
  for (const d of local) {
    try { await api.sendJSON('POST', PATH, body(d)); } catch (err) { if (err.status === 404) return; left.push(d); }
  }
  try { if (left.length) localStorage.setItem(KEY, JSON.stringify(left)); else localStorage.removeItem(KEY); } catch { /* storage disabled: nothing to keep */ }
}

// list reads the dashboards the principal may see (own first, then
// shared ones). It throws an APIError in words.
export async function list() {
  if (!migrating) migrating = migrateLocal().catch(() => {}).finally(() => { migrating = null; });
  await migrating;
  const ans = await api.getJSON(PATH);
  return (ans.dashboards || []).map((it) => fromServer(it, ans.me));
}

// editable reports whether the principal may change d.
const editable = (d) => d.mine || api.session.can('admin');

// put stores a changed dashboard and returns the server's copy.
async function put(d) {
  return fromServer(await api.sendJSON('PUT', PATH + '/' + encodeURIComponent(d.id), body(d)), null);
}

// create stores a new dashboard (owned by the caller).
async function createOnServer(d) {
  const it = await api.sendJSON('POST', PATH, body(d));
  return { ...fromServer(it, it.owner), mine: true };
}

// guessKind picks a panel kind for a query: a time series for timeslice
// aggregates, a single value for a bare count, a bar chart for other
// aggregates, a table otherwise.
export function guessKind(q) {
  if (/\|\s*timeslice\b/i.test(q)) return 'line';
  if (/\|\s*count\s*(\||$)/i.test(q)) return 'single';
  if (/\|\s*(count|sum|avg|min|max|count_distinct|top)\b/i.test(q)) return 'bar';
  return 'table';
}

// addPanel appends a panel to the dashboard with the given id, or to a
// new dashboard named newName; it resolves with the dashboard's id.
export async function addPanel(id, newName, panel) {
  const p = sanitize([{ name: 'x', panels: [panel] }])[0].panels[0];
  const d = id ? (await list()).find((x) => x.id === id) : null;
  if (d) {
    d.panels.push(p);
    return (await put(d)).id;
  }
  return (await createOnServer({ ...sanitize([{ name: newName || 'My dashboard', panels: [] }])[0], panels: [p] })).id;
}

// singleValue picks the number a single-value panel shows: the first
// numeric field of the first row (_count first).
export function singleValue(rows) {
  const r = rows[0];
  if (!r) return null;
  if (r._count !== undefined) return { name: '_count', value: r._count };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'number' || (typeof v === 'string' && v !== '' && !isNaN(Number(v)))) return { name: k, value: v };
  }
  const [k, v] = Object.entries(r)[0] || [];
  return k === undefined ? null : { name: k, value: v };
}

function columnsOf(rows) {
  const cols = [];
  const seen = new Set();
  for (const r of rows.slice(0, 200)) for (const k of Object.keys(r)) if (!seen.has(k)) { seen.add(k); cols.push(k); }
  return cols;
}

export function mount(root) {
  const params = new URLSearchParams(location.search);
  const st = { list: [], cur: params.get('d') || '', from: params.get('from') || '', refresh: 0, alive: true, ctrls: [], timer: null };
  const head = h('div', { class: 'row wrap dash-head' });
  const grid = h('div', { class: 'dash-grid' });
  const stamp = h('span', { class: 'muted small', 'aria-live': 'polite' });
  replace(root, h('div', { class: 'page' }, head, grid));
  const onResize = () => { clearTimeout(st.rt); st.rt = setTimeout(() => run(), 250); };
  window.addEventListener('resize', onResize);

  const dash = () => st.list.find((d) => d.id === st.cur);

  // select makes d current, taking its saved time range and refresh
  // unless the URL chose a range.
  function select(d, keepRange) {
    st.cur = d ? d.id : '';
    if (d && !keepRange) { st.from = d.from || '-1h'; st.refresh = d.refresh || 0; }
    if (!st.from) st.from = '-1h';
  }

  async function reload(keepRange) {
    replace(grid, h('span', { class: 'spinner' }), ' Loading dashboards…');
    try {
      st.list = await list();
    } catch (err) {
      if (!st.alive) return;
      replace(head, h('h1', {}, 'Dashboards'));
      replace(grid, errorBox('Could not load the dashboards.', err));
      return;
    }
    if (!st.alive) return;
    select(st.list.find((d) => d.id === st.cur) || st.list[0], keepRange);
    draw();
  }

  // save stores d on the server; on failure it says why and shows the
  // server's copy again.
  async function save(d) {
    try {
      const got = await put(d);
      Object.assign(d, got, { mine: d.mine });
      return true;
    } catch (err) {
      toast('Could not save the dashboard: ' + err.message, 'error');
      await reload(true);
      return false;
    }
  }

  function drawHead() {
    const d = dash();
    const sel = h('select', { id: 'dash-pick', 'aria-label': 'Dashboard', onchange: (e) => { select(st.list.find((x) => x.id === e.target.value)); draw(); } },
      st.list.map((x) => h('option', { value: x.id, selected: x.id === st.cur }, x.name + (x.mine ? '' : ' (shared by ' + x.owner + ')'))));
    const range = h('select', { id: 'dash-range', 'aria-label': 'Time range', onchange: (e) => { st.from = e.target.value; draw(); } },
      PRESETS.map(([v, l]) => h('option', { value: v, selected: v === st.from }, l)));
    if (![...range.options].some((o) => o.selected)) range.prepend(h('option', { value: st.from, selected: true }, st.from));
    const refresh = h('select', { id: 'dash-refresh', 'aria-label': 'Auto-refresh', onchange: (e) => { st.refresh = Number(e.target.value); schedule(); } },
      REFRESH.map(([v, l]) => h('option', { value: v, selected: v === st.refresh }, 'Refresh: ' + l)));
    const badge = d ? (d.shared ? h('span', { class: 'badge', title: d.mine ? 'Everyone who can search sees this dashboard' : 'Only ' + d.owner + ' or an admin can change it' },
      d.mine ? 'Shared' : 'Shared by ' + d.owner + (editable(d) ? '' : ' · read-only')) : h('span', { class: 'badge muted', title: 'Only you (and admins) see it' }, 'Private')) : null;
    replace(head, h('h1', {}, 'Dashboards'), st.list.length ? sel : null, badge, h('div', { class: 'grow' }), stamp,
      d ? [range, refresh, h('button', { type: 'button', onclick: () => run() }, 'Run'),
        editable(d) ? h('button', { type: 'button', class: 'primary', onclick: () => editPanel(null) }, '+ Panel') : null,
        h('button', { type: 'button', onclick: () => menu() }, 'More…')] : null,
      h('button', { type: 'button', onclick: () => create() }, 'New dashboard'));
  }

  function draw() {
    window.history.replaceState(null, '', '/dashboards?' + new URLSearchParams({ ...(st.cur ? { d: st.cur } : {}), from: st.from }));
    drawHead();
    const d = dash();
    if (!d) {
      replace(grid, h('div', { class: 'empty dash-empty' }, h('h2', {}, 'No dashboards yet'),
        h('p', {}, 'A dashboard shows panels built from searches, side by side, over one time range. It is kept on the server: private, or shared with your team.'),
        h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => create(STARTER) }, 'Create the overview dashboard'),
          h('button', { type: 'button', onclick: () => create() }, 'Start empty'))));
      return;
    }
    if (!d.panels.length) {
      replace(grid, h('div', { class: 'empty dash-empty' }, h('h2', {}, d.name + ' has no panels'), h('p', {}, 'Add a panel from a search: an aggregate (count by, timeslice) draws best.'),
        editable(d) ? h('button', { type: 'button', class: 'primary', onclick: () => editPanel(null) }, '+ Panel') : null));
      return;
    }
    replace(grid, d.panels.map((p, i) => panelShell(d, p, i)));
    run();
  }

  function panelShell(d, p, i) {
    const body = h('div', { class: 'panel-body' });
    const meta = h('span', { class: 'muted small panel-meta' });
    const tools = editable(d) ? h('span', { class: 'panel-tools' }, h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Move left ' + p.title, disabled: i === 0, onclick: () => move(d, i, -1) }, '←'),
      h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Move right ' + p.title, disabled: i === d.panels.length - 1, onclick: () => move(d, i, 1) }, '→'),
      h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Edit ' + p.title, onclick: () => editPanel(p) }, '✎'),
      h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Remove ' + p.title, onclick: async () => {
        if (!(await confirmDialog('Remove panel', `Remove "${p.title}"?`, 'Remove', true))) return;
        d.panels.splice(i, 1);
        if (await save(d)) draw();
      } }, '✕')) : null;
    const el = h('section', { class: 'panel card w' + p.w, 'aria-label': p.title, dataset: { id: p.id } },
      h('div', { class: 'panel-head' }, h('h2', { title: p.query }, p.title), meta,
        h('a', { class: 'small', href: '/search?' + new URLSearchParams({ q: p.query, from: st.from, to: 'now' }), title: 'Open in Search', 'aria-label': 'Open ' + p.title + ' in Search' }, '↗'),
        tools),
      body);
    el.run = async (signal) => {
      if (!body.firstChild) body.append(h('span', { class: 'spinner' }));
      const rows = [];
      const t0 = performance.now();
      let res;
      try {
        res = await api.search({ query: p.query, from: st.from, to: 'now', limit: 1000 }, (b) => rows.push(...b), signal);
      } catch (err) {
        if (err.name === 'AbortError' || !st.alive) return;
        replace(body, errorBox('The search failed.', err));
        return;
      }
      if (!st.alive || signal.aborted) return;
      meta.textContent = `${fmtNum(rows.length)} row${rows.length === 1 ? '' : 's'} · ${Math.round(performance.now() - t0)} ms`;
      if (res.error) { replace(body, errorBox('The search stopped:', res.error)); return; }
      render(body, p, rows);
    };
    return el;
  }

  function render(body, p, rows) {
    clear(body);
    if (!rows.length) { body.append(h('p', { class: 'muted panel-none' }, 'No results in this range.')); return; }
    if (p.kind === 'single') {
      const v = singleValue(rows);
      body.append(h('div', { class: 'single' }, h('div', { class: 'single-v' }, typeof v.value === 'number' || !isNaN(Number(v.value)) ? fmtNum(Number(v.value)) : String(v.value)),
        h('div', { class: 'muted small' }, v.name)));
      return;
    }
    const cols = columnsOf(rows);
    if (p.kind === 'line' || p.kind === 'bar') {
      const data = seriesFrom(rows, cols, toMs);
      if (data) { aggChart(body, data, p.kind); return; }
      body.append(h('p', { class: 'muted small' }, 'These rows have no numbers to chart; shown as a table.'));
    }
    const show = cols.filter((c) => c !== '_raw').slice(0, 8);
    body.append(h('div', { class: 'panel-table' }, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, show.map((c) => h('th', { class: typeof rows[0][c] === 'number' ? 'num' : '' }, c)))),
      h('tbody', {}, rows.slice(0, 100).map((r) => h('tr', {}, show.map((c) => {
        const v = r[c];
        return h('td', { class: typeof v === 'number' ? 'num' : '' }, v === undefined || v === null ? '' : typeof v === 'number' ? fmtNum(v) : typeof v === 'object' ? JSON.stringify(v) : String(v));
      })))))));
  }

  function run() {
    for (const c of st.ctrls) c.abort();
    st.ctrls = [];
    const panels = [...grid.querySelectorAll('.panel')];
    // Two panels at a time: the machine (and the server) stay responsive.
    let next = 0;
    const worker = async () => {
      while (next < panels.length && st.alive) {
        const el = panels[next++];
        const c = new AbortController();
        st.ctrls.push(c);
        await el.run(c.signal);
      }
    };
    Promise.all([worker(), worker()]).then(() => { if (st.alive) stamp.textContent = 'Updated ' + new Date().toLocaleTimeString(); });
    schedule();
  }

  function schedule() {
    clearTimeout(st.timer);
    if (st.refresh > 0) st.timer = setTimeout(() => { if (st.alive && !document.hidden) run(); else schedule(); }, st.refresh * 1000);
  }

  async function move(d, i, by) {
    const [p] = d.panels.splice(i, 1);
    d.panels.splice(i + by, 0, p);
    if (await save(d)) draw();
  }

  async function create(from) {
    const name = from ? from.name : await askName('New dashboard', '');
    if (!name) return;
    let d;
    try {
      d = await createOnServer({ ...sanitize([{ name, panels: from ? from.panels : [] }])[0], from: from && from.from || st.from || '-1h', refresh: from && from.refresh || 0 });
    } catch (err) {
      toast('Could not create the dashboard: ' + err.message, 'error');
      return;
    }
    st.list.push(d);
    select(d);
    draw();
  }

  function askName(title, initial) {
    return modal(title, (done) => {
      const input = h('input', { type: 'text', id: 'dash-name', value: initial, required: true, maxlength: 100 });
      setTimeout(() => input.focus(), 0);
      return h('form', { onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) done(input.value.trim()); } },
        h('label', { for: 'dash-name' }, 'Name'), input,
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')));
    });
  }

  async function menu() {
    const d = dash();
    const can = editable(d);
    const what = await modal(d.name, (done) => h('div', { class: 'menu-col' },
      can ? h('button', { type: 'button', onclick: () => done('rename') }, 'Rename') : null,
      can ? h('button', { type: 'button', onclick: () => done('share') }, d.shared ? 'Stop sharing (make it private)' : 'Share with everyone who can search') : null,
      can ? h('button', { type: 'button', onclick: () => done('view') }, 'Keep this time range and refresh as the default') : null,
      h('button', { type: 'button', onclick: () => done('copy') }, 'Save a copy as mine'),
      h('button', { type: 'button', onclick: () => done('export') }, 'Export as JSON'),
      h('button', { type: 'button', onclick: () => done('import') }, 'Import from JSON…'),
      can ? h('button', { type: 'button', class: 'danger', onclick: () => done('delete') }, 'Delete this dashboard') : null,
      h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Close'))));
    if (what === 'rename') { const n = await askName('Rename dashboard', d.name); if (n) { d.name = n; if (await save(d)) draw(); } }
    if (what === 'share') {
      d.shared = !d.shared;
      if (await save(d)) { toast(d.shared ? `"${d.name}" is shared` : `"${d.name}" is private`); draw(); }
    }
    if (what === 'view') {
      d.from = st.from;
      d.refresh = st.refresh;
      if (await save(d)) toast('Default range and refresh kept');
    }
    if (what === 'copy') await create({ name: d.name + ' (copy)', panels: d.panels, from: st.from, refresh: st.refresh });
    if (what === 'export') download(d.name.replace(/[^\w.-]+/g, '_') + '.json', 'application/json', JSON.stringify({ name: d.name, from: d.from, refresh: d.refresh, panels: d.panels.map(({ id, ...p }) => p) }, null, 2));
    if (what === 'import') importJSON();
    if (what === 'delete' && await confirmDialog('Delete dashboard', `Delete "${d.name}"${d.shared ? ', shared with everyone,' : ''} from the server?`, 'Delete', true)) {
      try {
        await api.call('DELETE', PATH + '/' + encodeURIComponent(d.id));
      } catch (err) {
        toast('Could not delete the dashboard: ' + err.message, 'error');
        return;
      }
      st.list = st.list.filter((x) => x.id !== d.id);
      select(st.list[0]);
      draw();
    }
  }

  async function importJSON() {
    const text = await modal('Import a dashboard', (done) => {
      const ta = h('textarea', { id: 'dash-json', rows: 10, class: 'mono code-area', spellcheck: 'false', placeholder: '{"name": "...", "panels": [...]}' });
      return h('form', { onsubmit: (e) => { e.preventDefault(); done(ta.value); } }, h('label', { for: 'dash-json' }, 'Dashboard JSON (from Export)'), ta,
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Import')));
    });
    if (!text) return;
    let v;
    try { v = JSON.parse(text); } catch (err) { toast('That is not JSON: ' + err.message, 'error'); return; }
    const raw = Array.isArray(v) ? v : [v];
    const got = sanitize(raw);
    if (!got.length) { toast('No dashboard found in that JSON (it needs a "name" and "panels").', 'error'); return; }
    let first = null;
    for (const [i, d] of got.entries()) {
      const r = raw.filter((x) => x && typeof x === 'object' && typeof x.name === 'string')[i] || {};
      try {
        const made = await createOnServer({ ...d, from: typeof r.from === 'string' ? r.from.slice(0, 64) : '-1h', refresh: REFRESH.some(([s]) => s === r.refresh) ? r.refresh : 0 });
        st.list.push(made);
        first = first || made;
      } catch (err) {
        toast(`Could not import "${d.name}": ` + err.message, 'error');
      }
    }
    if (!first) return;
    select(first);
    draw();
    toast(`Imported ${got.length} dashboard${got.length > 1 ? 's' : ''}`);
  }

  async function editPanel(p) {
    const d = dash();
    let fromSaved = [];
    try { fromSaved = await saved(); } catch { /* the panel form works without saved searches */ }
    const res = await modal(p ? 'Edit panel' : 'Add a panel', (done) => {
      const title = h('input', { id: 'pn-title', type: 'text', value: p ? p.title : '', maxlength: 100, placeholder: 'e.g. Failed logins by user' });
      const q = h('textarea', { id: 'pn-query', rows: 3, class: 'mono code-area', spellcheck: 'false', required: true, placeholder: 'failure | count by user | sort by _count | limit 10' });
      q.value = p ? p.query : '';
      const kind = h('select', { id: 'pn-kind' }, KINDS.map(([k, l]) => h('option', { value: k, selected: p ? p.kind === k : k === 'line' }, l)));
      const w = h('select', { id: 'pn-w' }, WIDTHS.map(([v, l]) => h('option', { value: v, selected: (p ? p.w : 6) === v }, l)));
      const pick = fromSaved.length ? h('select', { id: 'pn-saved', onchange: (e) => {
        const s = fromSaved[Number(e.target.value)];
        if (s) { q.value = s.q; if (!title.value) title.value = s.name; kind.value = guessKind(s.q); }
      } }, h('option', { value: '' }, 'Start from a saved search…'), fromSaved.map((s, i) => h('option', { value: i }, s.name + (s.mine ? '' : ' (shared by ' + s.owner + ')')))) : null;
      setTimeout(() => (pick || q).focus(), 0);
      return h('form', { class: 'panel-form', onsubmit: (e) => { e.preventDefault(); if (q.value.trim()) done({ title: title.value.trim() || q.value.trim(), query: q.value.trim(), kind: kind.value, w: Number(w.value) }); } },
        pick ? [h('label', { for: 'pn-saved' }, 'Saved search'), pick] : null,
        h('label', { for: 'pn-query' }, 'Query'), q,
        h('p', { class: 'field-hint' }, 'Time series want `| timeslice … | count by _timeslice[, field]`; bar and table want `count by field`; a single value shows the first number of the first row.'),
        h('div', { class: 'form-grid form-grid-3' },
          h('div', {}, h('label', { for: 'pn-title' }, 'Title'), title),
          h('div', {}, h('label', { for: 'pn-kind' }, 'Show as'), kind),
          h('div', {}, h('label', { for: 'pn-w' }, 'Width'), w)),
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, p ? 'Save' : 'Add panel')));
    });
    if (!res) return;
    if (p) Object.assign(p, res); else d.panels.push(sanitize([{ name: 'x', panels: [res] }])[0].panels[0]);
    if (await save(d)) draw();
  }

  reload(!!params.get('from'));
  return () => {
    st.alive = false;
    clearTimeout(st.timer);
    clearTimeout(st.rt);
    window.removeEventListener('resize', onResize);
    for (const c of st.ctrls) c.abort();
  };
}
