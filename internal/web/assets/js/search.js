// The search page: query editor, time range, histogram, results (events or
// aggregates), field sidebar, export, history and saved searches. The URL
// holds the query and the time range, so a search can be shared.
import { h, clear, replace, fmtNum, fmtDuration, popover, modal, confirmDialog, download, errorBox, toast, isTyping, copyText } from './dom.js';
import * as api from './api.js';
import { QueryEditor } from './editor.js';
import { TimePicker, resolve, bucketFor, toMs, fmtTime } from './time.js';
import { searchExpression, addFilter } from './lang.js';
import { histogram, seriesFrom, aggChart } from './chart.js';
import { VTable, fmtCell } from './vtable.js';
import { FieldSidebar } from './fields.js';
import * as saved from './saved.js';
import * as dashboards from './dashboards.js';

const LIMIT = 10000;
const COLS_KEY = 'mamori.columns';

const EXAMPLES = [
  '*',
  'error OR fail*',
  '* | count by _source',
  '* | timeslice 1h | count by _timeslice',
];

function loadColumns() {
  try {
    const v = JSON.parse(localStorage.getItem(COLS_KEY) || 'null');
    if (Array.isArray(v)) return new Set(v);
  } catch { /* fall through to the default */ }
  return new Set(['_host', '_source']);
}

export function mount(root) {
  const params = new URLSearchParams(location.search);
  const st = {
    rows: [], agg: false, stats: null, ctrl: null, running: false, took: 0,
    columns: loadColumns(), chartKind: null, fields: new Set(), hist: null, lastQuery: null,
  };

  const editor = new QueryEditor({
    value: params.get('q') || '',
    placeholder: 'Search: error host=web-1 | count by _source   (Enter runs, Shift+Enter new line, Ctrl+Space suggests)',
    onRun: () => run(),
    fields: () => [...st.fields],
  });
  const tp = new TimePicker({ from: params.get('from') || '-15m', to: params.get('to') || 'now', onChange: () => run() });
  const runBtn = h('button', { type: 'button', class: 'primary', onclick: () => run(), title: 'Run (Enter)' }, 'Search');
  const histBtn = h('button', { type: 'button', 'aria-haspopup': 'dialog', onclick: () => historyMenu(histBtn) }, 'History');
  const savedBtn = h('button', { type: 'button', 'aria-haspopup': 'dialog', onclick: () => savedMenu(savedBtn) }, 'Saved');
  const saveBtn = h('button', { type: 'button', onclick: () => saveSearch(), title: 'Save this search' }, 'Save');
  const dashBtn = h('button', { type: 'button', onclick: () => toDashboard(), title: 'Add this search to a dashboard as a panel' }, '+ Dashboard');
  const liveBtn = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => toggleLive(), title: 'Follow new events matching the search expression as they arrive' }, 'Live');
  const explainBtn = h('button', { type: 'button', onclick: () => explain(), title: 'Show how the server plans this query (what it prunes)' }, 'Explain');
  const bar = h('div', { class: 'search-bar', role: 'search' }, editor.el, tp.el,
    h('div', { class: 'actions' }, runBtn, h('div', { class: 'tp' }, histBtn), h('div', { class: 'tp' }, savedBtn), saveBtn, dashBtn, explainBtn, liveBtn));
  const alerts = h('div', { class: 'alerts', 'aria-live': 'polite' });
  const histEl = h('div', { class: 'hist', 'aria-label': 'Matches over time' });
  const side = new FieldSidebar({
    columns: st.columns,
    onFilter: (f, v, neg) => { editor.value = addFilter(editor.value, f, v, neg); run(); },
    onToggleColumn: (f) => {
      if (st.columns.has(f)) st.columns.delete(f); else st.columns.add(f);
      localStorage.setItem(COLS_KEY, JSON.stringify([...st.columns]));
      side.draw();
      render(true);
    },
  });
  const status = h('div', { class: 'status grow', role: 'status' });
  const chartTools = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Chart type' });
  const exportTools = h('div', { class: 'row' },
    h('button', { type: 'button', class: 'small', onclick: () => exportAs('csv'), title: 'Download the rows as CSV' }, 'CSV'),
    h('button', { type: 'button', class: 'small', onclick: () => exportAs('ndjson'), title: 'Download the rows as NDJSON' }, 'NDJSON'));
  const toolbar = h('div', { class: 'toolbar' }, status, chartTools, exportTools);
  const chartEl = h('div', { class: 'chart hidden', 'aria-label': 'Aggregate chart' });
  const tableHost = h('div', { class: 'table-host' });
  const table = new VTable({ label: 'Search results', detail: (r) => detail(r) });
  const aggTable = new VTable({ label: 'Aggregate results' });
  const main = h('section', { class: 'res-main', 'aria-label': 'Results' }, toolbar, chartEl, tableHost);
  const results = h('div', { class: 'results' }, side.el, main);
  const page = h('div', { class: 'search' }, bar, alerts, histEl, results);
  replace(root, page);
  exportTools.classList.add('hidden');

  const onKey = (e) => {
    if (e.key === '/' && !isTyping(e) && !e.ctrlKey && !e.metaKey) { e.preventDefault(); editor.focus(); }
  };
  document.addEventListener('keydown', onKey);
  const ro = new ResizeObserver(() => { drawHist(); if (st.agg) drawChart(); });
  ro.observe(histEl);

  // detail renders an expanded event: every field with filter buttons, and _raw.
  function detail(r) {
    const kv = h('div', { class: 'kv' });
    for (const [k, v] of Object.entries(r)) {
      if (k === '_raw') continue;
      const text = fmtCell(v);
      kv.append(h('span', { class: 'k' }, k),
        h('span', { class: 'acts' },
          h('button', { type: 'button', class: 'small', title: `Add ${k}=${text}`, 'aria-label': `Filter ${k} equals ${text}`, onclick: (e) => { e.stopPropagation(); editor.value = addFilter(editor.value, k, text, false); run(); } }, '+'),
          h('button', { type: 'button', class: 'small', title: `Add !${k}=${text}`, 'aria-label': `Exclude ${k} equals ${text}`, onclick: (e) => { e.stopPropagation(); editor.value = addFilter(editor.value, k, text, true); run(); } }, '−')),
        h('span', { class: 'v' }, text));
    }
    const el = h('div', { onclick: (e) => e.stopPropagation() },
      '_raw' in r ? h('pre', {}, fmtCell(r._raw)) : null, kv,
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'small', onclick: () => copyText(JSON.stringify(r)) }, 'Copy as JSON')));
    return el;
  }

  function showEmpty() {
    replace(tableHost, h('div', { class: 'empty' },
      h('h2', {}, 'Search your logs'),
      h('p', {}, 'Type a search expression and pipe stages, pick a time range, and press Enter. Press ', h('kbd', {}, '/'), ' to focus the query.'),
      h('div', { class: 'examples' }, EXAMPLES.map((q) => h('button', { type: 'button', class: 'ghost', onclick: () => { editor.value = q; run(); } }, q)))));
  }

  function setStatus(...parts) { replace(status, ...parts); }

  async function run({ push = true } = {}) {
    stopLive();
    const q = editor.value;
    if (st.ctrl) st.ctrl.abort();
    const ctrl = new AbortController();
    st.ctrl = ctrl;
    editor.clearError();
    clear(alerts);
    const url = '/search?' + new URLSearchParams({ q, from: tp.from, to: tp.to });
    if (location.pathname + location.search !== url) window.history[push && st.lastQuery !== null ? 'pushState' : 'replaceState'](null, '', url);
    st.lastQuery = q;
    saved.remember(q, tp.from, tp.to);
    st.rows = [];
    st.stats = null;
    st.agg = false;
    st.running = true;
    runBtn.disabled = false;
    const t0 = performance.now();
    setStatus(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Searching…');
    render(true);
    // The histogram's query starts once the first rows are in (or the
    // search ended): on a busy server the two would share the CPU and
    // delay the rows, which are what the user waits for.
    replace(histEl, h('div', { class: 'hist-msg' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Counting matches over time…'));
    let histStarted = false;
    const startHist = () => { if (!histStarted && !ctrl.signal.aborted) { histStarted = true; runHistogram(q, ctrl.signal); } };
    let midError = null;
    try {
      const res = await api.search({ query: q, from: tp.from, to: tp.to, limit: LIMIT }, (batch) => {
        const first = !st.rows.length;
        for (const r of batch) st.rows.push(r);
        // The first rows are drawn at once (time to first row is what a
        // user feels); later batches every 150 ms.
        if (first) { render(false); startHist(); } else throttled();
      }, ctrl.signal);
      st.stats = res.stats;
      midError = res.error;
      startHist();
    } catch (err) {
      if (err.name === 'AbortError' || ctrl.signal.aborted) return;
      st.running = false;
      if (err instanceof api.APIError && err.status === 400) {
        const more = err.errors && err.errors.length > 1 ? ` (${err.errors.length - 1} more: ${err.errors.slice(1).map((e) => e.error).join('; ')})` : '';
        editor.setError(err.detail + more, err.offset);
        setStatus('The query has an error.');
      } else {
        alerts.append(errorBox('Search failed.', err));
        setStatus('Search failed.');
      }
      clearHist();
      render(true);
      return;
    }
    if (ctrl.signal.aborted) return;
    st.running = false;
    st.took = performance.now() - t0;
    if (midError) alerts.append(errorBox('The search stopped early; the rows below are partial.', midError));
    render(true);
  }

  let timer = 0;
  function throttled() {
    if (timer) return;
    timer = setTimeout(() => { timer = 0; if (st.running) render(false); }, 150);
  }

  function columnsOf(rows) {
    const seen = new Map();
    for (const r of rows.slice(0, 200)) for (const k of Object.keys(r)) if (!seen.has(k)) seen.set(k, true);
    return [...seen.keys()];
  }

  function render(final) {
    const rows = st.rows;
    const wasAgg = st.agg;
    st.agg = rows.length > 0 && !rows.some((r, i) => i < 500 && ('_raw' in r || '_time' in r && !('_count' in r)));
    if (final && !st.running) {
      const fs = new Set();
      for (const r of rows.slice(0, 2000)) for (const k of Object.keys(r)) fs.add(k);
      st.fields = fs;
    }
    side.update(st.agg ? [] : rows);
    results.classList.toggle('no-side', st.agg);
    exportTools.classList.toggle('hidden', !rows.length);
    if (!rows.length) {
      chartEl.classList.add('hidden');
      clear(chartTools);
      if (st.live && !st.live.open) replace(tableHost, h('div', { class: 'empty' }, h('span', { class: 'spinner' }), ' Connecting to the live stream…'));
      else if (st.live) replace(tableHost, h('div', { class: 'empty' }, h('span', { class: 'spinner' }), ' Waiting for new events that match ', h('code', {}, searchExpression(editor.value) || '*'), '…'));
      else if (st.running) replace(tableHost, h('div', { class: 'empty' }, h('span', { class: 'spinner' }), ' Waiting for results…'));
      else if (st.lastQuery === null) showEmpty();
      else if (editor.err || alerts.firstChild) clear(tableHost);
      else replace(tableHost, h('div', { class: 'empty' }, h('h2', {}, 'No results'), h('p', {}, 'Nothing matched in ' + tp.btn.textContent.replace(' ▾', '').toLowerCase() + '. Try a wider time range or fewer terms.')));
    } else if (st.agg) {
      renderAgg(wasAgg !== st.agg || final);
    } else {
      renderEvents(wasAgg !== st.agg || final || tableHost.firstChild !== table.el);
    }
    const n = rows.length;
    if (st.running) {
      if (n) setStatus(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ` ${fmtNum(n)} rows so far…`);
    } else if (st.lastQuery !== null && !editor.err && !alerts.firstChild && !st.live) {
      setStatus(h('strong', {}, fmtNum(n)), st.agg ? ' aggregate rows' : ' events', n >= LIMIT ? ` (the first ${fmtNum(LIMIT)}; narrow the search to see the rest)` : '',
        ' in ', fmtDuration(st.took), ' ', statsDetails(st.stats));
    }
  }

  function renderEvents(reset) {
    chartEl.classList.add('hidden');
    clear(chartTools);
    const cols = [{ key: '_time', label: 'Time', width: '190px', cls: 'time', render: (r) => { const t = toMs(r._time); return isNaN(t) ? fmtCell(r._time) : fmtTime(t); } }];
    for (const c of st.columns) if (c !== '_time' && c !== '_raw') cols.push({ key: c, label: c, width: '150px', cls: 'mono' });
    cols.push({ key: '_raw', label: 'Message (_raw)', width: 'minmax(320px, 1fr)', cls: 'raw', render: (r) => '_raw' in r ? fmtCell(r._raw) : JSON.stringify(r) });
    if (tableHost.firstChild !== table.el) replace(tableHost, table.el);
    table.setColumns(cols);
    if (reset) table.setRows(st.rows); else table.append();
  }

  function renderAgg(reset) {
    const cols = columnsOf(st.rows);
    const numeric = new Set(cols.filter((c) => st.rows.slice(0, 200).every((r) => r[c] === undefined || typeof r[c] === 'number')));
    if (tableHost.firstChild !== aggTable.el) replace(tableHost, aggTable.el);
    aggTable.setColumns(cols.map((c) => ({
      key: c, label: c, width: c === '_timeslice' ? '190px' : 'minmax(140px, 1fr)', cls: numeric.has(c) ? 'num' : 'mono',
      render: c === '_timeslice' ? (r) => { const t = toMs(r[c]); return isNaN(t) ? fmtCell(r[c]) : fmtTime(t, false); } : numeric.has(c) ? (r) => (typeof r[c] === 'number' ? fmtNum(r[c]) : fmtCell(r[c])) : undefined,
    })));
    if (reset) aggTable.setRows(st.rows); else aggTable.append();
    st.series = seriesFrom(st.rows, cols, toMs);
    if (!st.series) { chartEl.classList.add('hidden'); clear(chartTools); return; }
    if (!st.chartKind || reset) st.chartKind = st.series.time ? 'line' : 'bar';
    clear(chartTools);
    for (const k of ['line', 'bar']) {
      chartTools.append(h('button', { type: 'button', class: 'small', 'aria-pressed': String(st.chartKind === k), onclick: () => { st.chartKind = k; renderAgg(false); } }, k === 'line' ? 'Line' : 'Bar'));
    }
    chartEl.classList.remove('hidden');
    drawChart();
  }

  function drawChart() {
    if (st.series && !chartEl.classList.contains('hidden')) aggChart(chartEl, st.series, st.chartKind);
  }

  function statsDetails(stats) {
    if (!stats || typeof stats !== 'object') return null;
    const kv = h('div', { class: 'kv' });
    for (const [k, v] of Object.entries(stats)) {
      const text = k === 'took_ns' && typeof v === 'number' ? fmtDuration(v / 1e6) : typeof v === 'number' ? fmtNum(v) : fmtCell(v);
      kv.append(h('span', { class: 'k' }, k), h('span', {}), h('span', { class: 'v' }, text));
    }
    const parts = [];
    if (typeof stats.blocks_total === 'number') parts.push(`${fmtNum(stats.blocks_scanned || 0)} of ${fmtNum(stats.blocks_total)} blocks read`);
    if (typeof stats.rows_scanned === 'number') parts.push(`${fmtNum(stats.rows_scanned)} rows scanned`);
    return h('details', { class: 'stats' }, h('summary', {}, parts.length ? '· ' + parts.join(' · ') : 'statistics'), kv);
  }

  function clearHist() { st.hist = null; clear(histEl); }

  // runHistogram counts the search expression's matches per time bucket:
  // POST /api/v1/histogram when the server has it, else the same search
  // with "| timeslice <bucket> | count by _timeslice".
  async function runHistogram(q, signal) {
    const now = Date.now();
    const from = resolve(tp.from, now);
    const to = resolve(tp.to, now);
    if (isNaN(from) || isNaN(to) || to <= from) { clearHist(); return; }
    replace(histEl, h('div', { class: 'hist-msg' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Counting matches over time…'));
    let buckets;
    let bucketMs;
    try {
      ({ buckets, bucketMs } = await histogramAPI(q, signal));
    } catch (err) {
      if (err.name === 'AbortError' || signal.aborted) return;
      if (editor.err || (err instanceof api.APIError && err.status === 400)) { clearHist(); return; } // the main search shows the query error
      st.hist = null;
      replace(histEl, h('div', { class: 'hist-msg' }, 'The histogram is unavailable: ' + err.message));
      return;
    }
    if (signal.aborted) return;
    st.hist = { buckets, bucketMs, from, to };
    drawHist();
  }

  async function histogramAPI(q, signal) {
    try {
      const res = await api.sendJSON('POST', '/api/v1/histogram', { query: q, from: tp.from, to: tp.to, buckets: 120 }, { signal });
      const m = /^(\d+)(s|m|h|d)$/.exec(res.bucket || '');
      const bucketMs = m ? Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2]] : NaN;
      if (!isNaN(bucketMs) && Array.isArray(res.buckets)) {
        return { bucketMs, buckets: res.buckets.map((b) => ({ t: toMs(b.time), n: Number(b.count) })).filter((b) => !isNaN(b.t) && !isNaN(b.n)) };
      }
    } catch (err) {
      if (!(err instanceof api.APIError) || err.status !== 404) throw err;
    }
    // An older server: run the timeslice search ourselves.
    const b = bucketFor(resolve(tp.to) - resolve(tp.from));
    const hq = (searchExpression(q) || '*') + ` | timeslice ${b.text} | count by _timeslice`;
    const rows = [];
    await api.search({ query: hq, from: tp.from, to: tp.to, limit: 100000 }, (batch) => { for (const r of batch) rows.push(r); }, signal);
    const buckets = [];
    for (const r of rows) {
      const t = toMs(r._timeslice);
      const n = Number(r._count);
      if (!isNaN(t) && !isNaN(n)) buckets.push({ t, n });
    }
    return { buckets, bucketMs: b.ms };
  }

  function drawHist() {
    if (!st.hist) return;
    histogram(histEl, { ...st.hist, onZoom: (a, b) => { tp.set(new Date(a).toISOString(), new Date(b).toISOString()); run(); } });
  }

  function exportAs(kind) {
    const rows = st.rows;
    if (!rows.length) return;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    if (kind === 'ndjson') {
      download(`mamori-${stamp}.ndjson`, 'application/x-ndjson', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return;
    }
    const keys = new Map();
    for (const r of rows) for (const k of Object.keys(r)) keys.set(k, true);
    let cols = [...keys.keys()];
    if (!st.agg) cols = ['_time', ...cols.filter((c) => c !== '_time' && c !== '_raw').sort(), ...(keys.has('_raw') ? ['_raw'] : [])].filter((c) => keys.has(c));
    const esc = (v) => { const s = fmtCell(v); return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    const out = [cols.map(esc).join(',')];
    for (const r of rows) out.push(cols.map((c) => esc(r[c])).join(','));
    download(`mamori-${stamp}.csv`, 'text/csv', out.join('\r\n') + '\r\n');
  }

  function pickList(anchor, list, empty, onPick, onDelete, footer) {
    const ul = h('ul', { class: 'menu-list' });
    const pop = popover(anchor, h('div', {}, list.length ? ul : h('div', { class: 'menu-empty' }, empty), footer ? footer(() => pop.close()) : null));
    for (const e of list) {
      ul.append(h('li', {},
        h('button', { type: 'button', class: 'pick', title: e.q, onclick: () => { pop.close(); onPick(e); } },
          e.name ? h('div', {}, h('strong', {}, e.name)) : null,
          h('div', { class: 'mono' }, e.q || '(empty query)'),
          h('div', { class: 'muted' }, (e.from || '') + ' → ' + (e.to || '') + (e.at ? ' · ' + fmtTime(e.at, false) : '') +
            (e.shared ? ' · shared' + (e.mine ? '' : ' by ' + e.owner) : ''))),
        onDelete && (e.mine === undefined || e.mine || api.session.can('admin')) ? h('button', { type: 'button', class: 'small ghost', 'aria-label': 'Delete ' + (e.name || ''), onclick: () => { onDelete(e); pop.close(); } }, '✕') : null));
    }
    const first = ul.querySelector('button');
    if (first) first.focus();
  }

  function load(e) { editor.value = e.q; tp.set(e.from || '-15m', e.to || 'now'); run(); }

  function historyMenu(anchor) {
    pickList(anchor, saved.history(), 'No searches yet.', load, null,
      (close) => h('div', { class: 'row' }, h('button', { type: 'button', class: 'small', onclick: () => { saved.clearHistory(); close(); toast('History cleared'); } }, 'Clear history')));
  }

  async function savedMenu(anchor) {
    let list;
    try { list = await saved.saved(); } catch (err) { toast('Could not load the saved searches: ' + err.message, 'error'); return; }
    pickList(anchor, list, 'No saved searches. Use Save to keep the current one.', load, async (e) => {
      if (!(await confirmDialog('Delete saved search', `Delete "${e.name}"${e.shared ? ' (shared with everyone)' : ''}?`, 'Delete', true))) return;
      try { await saved.unsave(e.id); toast(`Deleted "${e.name}"`); } catch (err) { toast('Could not delete: ' + err.message, 'error'); }
    });
  }

  // Live tail: new matching events are appended (newest at the bottom) and
  // the table follows them while it is scrolled to the end.
  const LIVE_MAX = 10000;
  function stopLive() {
    if (!st.live) return;
    st.live.ctrl.abort();
    st.live = null;
    liveBtn.setAttribute('aria-pressed', 'false');
    liveBtn.textContent = 'Live';
  }

  async function toggleLive() {
    if (st.live) { stopLive(); st.running = false; render(true); return; }
    if (st.ctrl) st.ctrl.abort();
    editor.clearError();
    clear(alerts);
    const expr = searchExpression(editor.value);
    if (expr !== editor.value.trim()) alerts.append(h('div', { class: 'alert warn', role: 'status' }, 'Live tail follows the search expression only; the pipe stages are ignored.'));
    const ctrl = new AbortController();
    const live = { ctrl, dropped: 0, open: false };
    st.live = live;
    liveBtn.setAttribute('aria-pressed', 'true');
    liveBtn.textContent = '● Live';
    st.rows = [];
    st.agg = false;
    st.running = false;
    st.lastQuery = editor.value;
    clearHist();
    render(true);
    setStatus(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Waiting for new events…');
    const status = () => setStatus(h('strong', {}, fmtNum(st.rows.length)), ' live events', live.dropped ? ` · ${fmtNum(live.dropped)} skipped because the browser fell behind` : '');
    let pending = 0;
    const flush = () => {
      pending = 0;
      if (st.live !== live) return;
      const v = table.el;
      const atEnd = v.scrollTop + v.clientHeight >= v.scrollHeight - 30;
      if (st.rows.length > LIVE_MAX) { st.rows.splice(0, st.rows.length - LIVE_MAX + 1000); table.setRows(st.rows); }
      if (tableHost.firstChild !== table.el) render(true); else { side.update(st.rows); table.append(); }
      if (atEnd) requestAnimationFrame(() => { v.scrollTop = v.scrollHeight; });
      status();
    };
    try {
      await api.tail(expr, (row) => { st.rows.push(row); if (!pending) pending = setTimeout(flush, 200); },
        (n) => { live.dropped += n; status(); }, ctrl.signal,
        // The server subscribes before it answers: from here on no event is missed.
        () => { live.open = true; if (st.live === live && !st.rows.length) render(true); });
      if (st.live === live) { stopLive(); alerts.append(errorBox('Live tail ended.', 'The server closed the stream.')); }
    } catch (err) {
      if (ctrl.signal.aborted) return;
      stopLive();
      if (err instanceof api.APIError && err.status === 400) editor.setError(err.detail, err.offset);
      else alerts.append(errorBox('Live tail failed.', err));
    }
  }

  async function explain() {
    editor.clearError();
    try {
      const plan = await api.sendJSON('POST', '/api/v1/search', { query: editor.value, from: tp.from, to: tp.to, explain: true });
      await modal('Query plan', (done) => h('div', {},
        h('pre', { class: 'snippet plan' }, JSON.stringify(plan, null, 2)),
        h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => done(true) }, 'Close'))));
    } catch (err) {
      if (err instanceof api.APIError && err.status === 400) editor.setError(err.detail, err.offset);
      else toast('Explain failed: ' + err.message, 'error');
    }
  }

  async function saveSearch() {
    let list = [];
    try { list = (await saved.saved()).filter((e) => e.mine); } catch (err) { toast('Could not load the saved searches: ' + err.message, 'error'); return; }
    const res = await modal('Save search', (done) => {
      const name = h('input', { type: 'text', id: 'sv-name', required: true, maxlength: 100, list: 'sv-names', autocomplete: 'off' });
      const shared = h('input', { type: 'checkbox', id: 'sv-shared' });
      setTimeout(() => name.focus(), 0);
      return h('form', { onsubmit: (e) => { e.preventDefault(); if (name.value.trim()) done({ name: name.value.trim(), shared: shared.checked }); } },
        h('label', { for: 'sv-name' }, 'Name'), name,
        h('datalist', { id: 'sv-names' }, list.map((e) => h('option', { value: e.name }))),
        h('label', { class: 'check' }, shared, ' Share with everyone who can search (only you and admins can change it)'),
        h('p', { class: 'field-hint' }, 'Saved on the server with the query and the time range (', tp.from, ' → ', tp.to, '). A name you already use replaces that search.'),
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')));
    });
    if (!res) return;
    const same = list.find((e) => e.name === res.name);
    try {
      await saved.save({ id: same && same.id, name: res.name, q: editor.value, from: tp.from, to: tp.to, shared: res.shared });
      toast(`Saved "${res.name}"` + (res.shared ? ', shared' : ''));
    } catch (err) {
      toast('Could not save the search: ' + err.message, 'error');
    }
  }

  async function toDashboard() {
    const q = editor.value.trim();
    if (!q) { toast('Write a search first', 'error'); return; }
    let list;
    try {
      list = (await dashboards.list()).filter((d) => d.mine || api.session.can('admin'));
    } catch (err) {
      toast('Could not load the dashboards: ' + err.message, 'error');
      return;
    }
    const res = await modal('Add to a dashboard', (done) => {
      const pick = h('select', { id: 'td-dash' }, list.map((d) => h('option', { value: d.id }, d.name)), h('option', { value: '' }, 'A new dashboard…'));
      const name = h('input', { id: 'td-name', type: 'text', placeholder: 'New dashboard name', value: list.length ? '' : 'My dashboard' });
      const title = h('input', { id: 'td-title', type: 'text', value: q.length > 60 ? q.slice(0, 59) + '…' : q, maxlength: 100 });
      const kind = h('select', { id: 'td-kind' }, [['line', 'Time series'], ['bar', 'Bar'], ['table', 'Table'], ['single', 'Single value']]
        .map(([k, l]) => h('option', { value: k, selected: k === dashboards.guessKind(q) }, l)));
      return h('form', { onsubmit: (e) => { e.preventDefault(); done({ id: pick.value, name: name.value.trim(), title: title.value.trim() || q, kind: kind.value }); } },
        h('div', { class: 'form-grid form-grid-3' },
          h('div', {}, h('label', { for: 'td-dash' }, 'Dashboard'), pick),
          h('div', {}, h('label', { for: 'td-name' }, 'Name (for a new one)'), name),
          h('div', {}, h('label', { for: 'td-kind' }, 'Show as'), kind)),
        h('label', { for: 'td-title' }, 'Panel title'), title,
        h('p', { class: 'field-hint' }, 'The panel runs this query over the dashboard\'s time range.'),
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Add panel')));
    });
    if (!res) return;
    let id;
    try {
      id = await dashboards.addPanel(res.id, res.name, { title: res.title, query: q, kind: res.kind, w: res.kind === 'single' ? 3 : 6 });
    } catch (err) {
      toast('Could not add the panel: ' + err.message, 'error');
      return;
    }
    toast(h('span', {}, 'Added to the dashboard. ', h('a', { href: '/dashboards?d=' + encodeURIComponent(id) }, 'Open it')));
  }

  if (params.has('q')) run({ push: false }); else { showEmpty(); setStatus('Ready.'); }
  setTimeout(() => editor.focus(), 0);

  return () => {
    stopLive();
    if (st.ctrl) st.ctrl.abort();
    document.removeEventListener('keydown', onKey);
    ro.disconnect();
    table.destroy();
    aggTable.destroy();
    clearTimeout(timer);
  };
}
