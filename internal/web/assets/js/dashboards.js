// The Dashboards page: panels built from searches (time series, bar,
// table, single value) on a 12-column grid, with one time range for every
// panel and auto-refresh. Dashboards live in this browser's localStorage
// until the server has an API for them; they can be exported and imported
// as JSON to share.
import { h, clear, replace, fmtNum, errorBox, toast, confirmDialog, modal, download } from './dom.js';
import * as api from './api.js';
import { PRESETS, toMs } from './time.js';
import { seriesFrom, aggChart } from './chart.js';
import { saved } from './saved.js';

const KEY = 'mamori.dashboards';
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

// load reads the dashboards, dropping malformed entries.
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

function store(list) {
  try { localStorage.setItem(KEY, JSON.stringify(list)); } catch (err) { toast('Could not save the dashboards in this browser: ' + err.message, 'error'); }
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
// new dashboard named newName; it returns the dashboard's id.
export function addPanel(id, newName, panel) {
  const list = load();
  let d = list.find((x) => x.id === id);
  if (!d) {
    d = sanitize([{ name: newName || 'My dashboard', panels: [] }])[0];
    list.push(d);
  }
  d.panels.push(sanitize([{ name: 'x', panels: [panel] }])[0].panels[0]);
  store(list);
  return d.id;
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
  const st = { list: load(), cur: params.get('d') || '', from: params.get('from') || '-1h', refresh: 0, alive: true, ctrls: [], timer: null };
  if (!st.list.some((d) => d.id === st.cur)) st.cur = st.list[0] ? st.list[0].id : '';
  const head = h('div', { class: 'row wrap dash-head' });
  const grid = h('div', { class: 'dash-grid' });
  const stamp = h('span', { class: 'muted small', 'aria-live': 'polite' });
  replace(root, h('div', { class: 'page' }, head, grid));
  const onResize = () => { clearTimeout(st.rt); st.rt = setTimeout(() => run(), 250); };
  window.addEventListener('resize', onResize);

  const dash = () => st.list.find((d) => d.id === st.cur);
  const save = () => store(st.list);

  function drawHead() {
    const d = dash();
    const sel = h('select', { id: 'dash-pick', 'aria-label': 'Dashboard', onchange: (e) => { st.cur = e.target.value; draw(); } },
      st.list.map((x) => h('option', { value: x.id, selected: x.id === st.cur }, x.name)));
    const range = h('select', { id: 'dash-range', 'aria-label': 'Time range', onchange: (e) => { st.from = e.target.value; draw(); } },
      PRESETS.map(([v, l]) => h('option', { value: v, selected: v === st.from }, l)));
    const refresh = h('select', { id: 'dash-refresh', 'aria-label': 'Auto-refresh', onchange: (e) => { st.refresh = Number(e.target.value); schedule(); } },
      REFRESH.map(([v, l]) => h('option', { value: v, selected: v === st.refresh }, 'Refresh: ' + l)));
    replace(head, h('h1', {}, 'Dashboards'), st.list.length ? sel : null, h('div', { class: 'grow' }), stamp,
      d ? [range, refresh, h('button', { type: 'button', onclick: () => run() }, 'Run'),
        h('button', { type: 'button', class: 'primary', onclick: () => editPanel(null) }, '+ Panel'),
        h('button', { type: 'button', onclick: () => menu() }, 'More…')] : null,
      h('button', { type: 'button', onclick: () => create() }, 'New dashboard'));
  }

  function draw() {
    window.history.replaceState(null, '', '/dashboards?' + new URLSearchParams({ ...(st.cur ? { d: st.cur } : {}), from: st.from }));
    drawHead();
    const d = dash();
    if (!d) {
      replace(grid, h('div', { class: 'empty dash-empty' }, h('h2', {}, 'No dashboards yet'),
        h('p', {}, 'A dashboard shows panels built from searches, side by side, over one time range.'),
        h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => create(STARTER) }, 'Create the overview dashboard'),
          h('button', { type: 'button', onclick: () => create() }, 'Start empty'))));
      return;
    }
    if (!d.panels.length) {
      replace(grid, h('div', { class: 'empty dash-empty' }, h('h2', {}, d.name + ' has no panels'), h('p', {}, 'Add a panel from a search: an aggregate (count by, timeslice) draws best.'),
        h('button', { type: 'button', class: 'primary', onclick: () => editPanel(null) }, '+ Panel')));
      return;
    }
    replace(grid, d.panels.map((p, i) => panelShell(d, p, i)));
    run();
  }

  function panelShell(d, p, i) {
    const body = h('div', { class: 'panel-body' });
    const meta = h('span', { class: 'muted small panel-meta' });
    const el = h('section', { class: 'panel card w' + p.w, 'aria-label': p.title, dataset: { id: p.id } },
      h('div', { class: 'panel-head' }, h('h2', { title: p.query }, p.title), meta,
        h('a', { class: 'small', href: '/search?' + new URLSearchParams({ q: p.query, from: st.from, to: 'now' }), title: 'Open in Search', 'aria-label': 'Open ' + p.title + ' in Search' }, '↗'),
        h('span', { class: 'panel-tools' }, h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Move left ' + p.title, disabled: i === 0, onclick: () => move(d, i, -1) }, '←'),
        h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Move right ' + p.title, disabled: i === d.panels.length - 1, onclick: () => move(d, i, 1) }, '→'),
        h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Edit ' + p.title, onclick: () => editPanel(p) }, '✎'),
        h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Remove ' + p.title, onclick: async () => {
          if (!(await confirmDialog('Remove panel', `Remove "${p.title}"?`, 'Remove', true))) return;
          d.panels.splice(i, 1); save(); draw();
        } }, '✕'))),
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

  function move(d, i, by) {
    const [p] = d.panels.splice(i, 1);
    d.panels.splice(i + by, 0, p);
    save();
    draw();
  }

  async function create(from) {
    const name = from ? from.name : await askName('New dashboard', '');
    if (!name) return;
    const d = sanitize([{ name, panels: from ? from.panels : [] }])[0];
    st.list.push(d);
    st.cur = d.id;
    save();
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
    const what = await modal(d.name, (done) => h('div', { class: 'menu-col' },
      h('button', { type: 'button', onclick: () => done('rename') }, 'Rename'),
      h('button', { type: 'button', onclick: () => done('export') }, 'Export as JSON'),
      h('button', { type: 'button', onclick: () => done('import') }, 'Import from JSON…'),
      h('button', { type: 'button', class: 'danger', onclick: () => done('delete') }, 'Delete this dashboard'),
      h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Close'))));
    if (what === 'rename') { const n = await askName('Rename dashboard', d.name); if (n) { d.name = n; save(); draw(); } }
    if (what === 'export') download(d.name.replace(/[^\w.-]+/g, '_') + '.json', 'application/json', JSON.stringify({ name: d.name, panels: d.panels.map(({ id, ...p }) => p) }, null, 2));
    if (what === 'import') importJSON();
    if (what === 'delete' && await confirmDialog('Delete dashboard', `Delete "${d.name}" from this browser?`, 'Delete', true)) {
      st.list = st.list.filter((x) => x.id !== d.id);
      st.cur = st.list[0] ? st.list[0].id : '';
      save();
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
    const got = sanitize(Array.isArray(v) ? v : [v]);
    if (!got.length) { toast('No dashboard found in that JSON (it needs a "name" and "panels").', 'error'); return; }
    st.list.push(...got);
    st.cur = got[0].id;
    save();
    draw();
    toast(`Imported ${got.length} dashboard${got.length > 1 ? 's' : ''}`);
  }

  async function editPanel(p) {
    const d = dash();
    const res = await modal(p ? 'Edit panel' : 'Add a panel', (done) => {
      const title = h('input', { id: 'pn-title', type: 'text', value: p ? p.title : '', maxlength: 100, placeholder: 'e.g. Failed logins by user' });
      const q = h('textarea', { id: 'pn-query', rows: 3, class: 'mono code-area', spellcheck: 'false', required: true, placeholder: 'failure | count by user | sort by _count | limit 10' });
      q.value = p ? p.query : '';
      const kind = h('select', { id: 'pn-kind' }, KINDS.map(([k, l]) => h('option', { value: k, selected: p ? p.kind === k : k === 'line' }, l)));
      const w = h('select', { id: 'pn-w' }, WIDTHS.map(([v, l]) => h('option', { value: v, selected: (p ? p.w : 6) === v }, l)));
      const fromSaved = saved();
      const pick = fromSaved.length ? h('select', { id: 'pn-saved', onchange: (e) => {
        const s = fromSaved[Number(e.target.value)];
        if (s) { q.value = s.q; if (!title.value) title.value = s.name; }
      } }, h('option', { value: '' }, 'Start from a saved search…'), fromSaved.map((s, i) => h('option', { value: i }, s.name))) : null;
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
    save();
    draw();
  }

  draw();
  return () => {
    st.alive = false;
    clearTimeout(st.timer);
    clearTimeout(st.rt);
    window.removeEventListener('resize', onResize);
    for (const c of st.ctrls) c.abort();
  };
}
