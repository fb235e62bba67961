// The Signals page: every detection the engine raised (GET
// /api/v1/signals), newest first, with a summary by severity, rule and
// tactic, filters, and each signal's raw event and the events around it.
import { h, replace, fmtNum, errorBox } from './dom.js';
import * as api from './api.js';
import { fmtTime } from './time.js';
import { sevBadge, entityLink, aroundURL } from './incidents.js';
import { tacticLabel, tacticsProgress } from './attack.js';

const RANGES = [['-1h', 'Last hour'], ['-24h', 'Last 24 hours'], ['-7d', 'Last 7 days'], ['-30d', 'Last 30 days']];
const SEVS = ['critical', 'high', 'medium', 'low', 'informational'];

// summarize counts signals by severity, rule and host.
export function summarize(signals) {
  const sev = {};
  const rules = new Map();
  const hosts = new Map();
  for (const s of signals) {
    const v = s.severity || s.level || 'informational';
    sev[v] = (sev[v] || 0) + 1;
    const r = rules.get(s.rule_id) || { id: s.rule_id, title: s.title || s.rule_id, severity: v, count: 0 };
    r.count++;
    rules.set(s.rule_id, r);
    if (s.event_host) hosts.set(s.event_host, (hosts.get(s.event_host) || 0) + 1);
  }
  return {
    sev,
    rules: [...rules.values()].sort((a, b) => b.count - a.count),
    hosts: [...hosts.entries()].map(([host, count]) => ({ host, count })).sort((a, b) => b.count - a.count),
  };
}

export function mount(root) {
  const params = new URLSearchParams(location.search);
  const st = { range: params.get('from') || '-24h', query: params.get('q') || '', sev: '', rule: '', list: [], alive: true, open: new Set() };
  const sumEl = h('div', { class: 'sig-summary' });
  const listEl = h('div', {});
  const q = h('input', { type: 'search', id: 'sig-q', value: st.query, placeholder: 'Filter with a search expression, e.g. _host=web-1 or user=zoe', spellcheck: 'false', class: 'grow mono',
    onkeydown: (e) => { if (e.key === 'Enter') { st.query = q.value.trim(); load(); } } });
  const rangeSel = h('select', { id: 'sig-range', 'aria-label': 'Time range', onchange: (e) => { st.range = e.target.value; load(); } },
    RANGES.map(([v, l]) => h('option', { value: v, selected: v === st.range }, l)));
  const sevSel = h('select', { id: 'sig-sev', 'aria-label': 'Severity', onchange: (e) => { st.sev = e.target.value; draw(); } },
    h('option', { value: '' }, 'Any severity'), SEVS.map((s) => h('option', { value: s }, s)));
  replace(root, h('div', { class: 'page' },
    h('div', { class: 'row' }, h('h1', { class: 'grow' }, 'Signals'), rangeSel, sevSel,
      h('button', { type: 'button', onclick: () => { st.query = q.value.trim(); load(); } }, 'Refresh')),
    h('div', { class: 'row' }, h('label', { for: 'sig-q', class: 'sr-only' }, 'Filter'), q),
    sumEl, h('section', { class: 'card', 'aria-label': 'Signals' }, listEl)));

  async function load() {
    const p = new URLSearchParams({ from: st.range, to: 'now', limit: '2000' });
    if (st.query) p.set('query', st.query);
    window.history.replaceState(null, '', '/signals?' + new URLSearchParams({ from: st.range, ...(st.query ? { q: st.query } : {}) }));
    replace(listEl, h('span', { class: 'spinner' }), ' Loading…');
    let list;
    try {
      list = (await api.getJSON('/api/v1/signals?' + p)).signals || [];
    } catch (err) {
      if (st.alive) replace(listEl, errorBox('Could not load the signals.', err));
      return;
    }
    if (!st.alive) return;
    st.list = list;
    draw();
  }

  function draw() {
    const sum = summarize(st.list);
    const prog = tacticsProgress(st.list).filter((p) => p.count);
    replace(sumEl,
      h('div', { class: 'row wrap rule-stats' },
        h('div', { class: 'stat' }, h('strong', {}, fmtNum(st.list.length)), ' ', h('span', { class: 'muted' }, 'signals')),
        SEVS.filter((s) => sum.sev[s]).map((s) => h('button', { type: 'button', class: 'ghost stat-btn', 'aria-pressed': String(st.sev === s),
          onclick: () => { st.sev = st.sev === s ? '' : s; sevSel.value = st.sev; draw(); } }, sevBadge(s), ' ', h('strong', {}, fmtNum(sum.sev[s]))))),
      st.list.length ? h('div', { class: 'cards tight' },
        h('section', { class: 'card', 'aria-label': 'Top rules' }, h('h2', {}, 'Top rules'),
          h('table', { class: 'grid' }, h('tbody', {}, sum.rules.slice(0, 6).map((r) => h('tr', { class: st.rule === r.id ? 'selected' : '' },
            h('td', { class: 'shrink' }, sevBadge(r.severity)),
            h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => { st.rule = st.rule === r.id ? '' : r.id; draw(); } }, r.title)),
            h('td', { class: 'num' }, fmtNum(r.count))))))),
        h('section', { class: 'card', 'aria-label': 'Tactics and hosts' }, h('h2', {}, 'Tactics and hosts'),
          h('div', { class: 'chips' }, prog.map((p) => h('span', { class: 'chip static' }, tacticLabel(p.tactic), ' ', h('span', { class: 'chip-k' }, fmtNum(p.count))))),
          h('div', { class: 'chips' }, sum.hosts.slice(0, 12).map((x) => h('span', { class: 'chip static' }, h('span', { class: 'chip-k' }, 'host'), ' ', x.host, ' ', h('span', { class: 'chip-k' }, fmtNum(x.count))))))) : null);
    const shown = st.list.filter((s) => (!st.sev || (s.severity || s.level) === st.sev) && (!st.rule || s.rule_id === st.rule));
    if (!shown.length) {
      replace(listEl, h('div', { class: 'empty' }, h('h2', {}, 'No signals'),
        h('p', {}, st.list.length ? 'None match the filters.' : 'The detection rules raised nothing in this range.')));
      return;
    }
    replace(listEl, h('table', { class: 'grid sig-table', 'aria-label': 'Signals list' },
      h('thead', {}, h('tr', {}, ['', 'Time', 'Severity', 'Rule', 'Host', 'Source', 'Tactics', 'Entities'].map((t) => h('th', {}, t)))),
      h('tbody', {}, shown.slice(0, 1000).map(row))),
    shown.length > 1000 ? h('p', { class: 'muted' }, `${fmtNum(shown.length - 1000)} more; narrow the filter.`) : null);
  }

  function row(s) {
    const open = st.open.has(s.id);
    const toggle = () => { if (open) st.open.delete(s.id); else st.open.add(s.id); draw(); };
    const tr = h('tr', { class: 'sig-row' + (open ? ' selected' : ''), tabindex: 0, 'aria-expanded': String(open), onclick: (e) => { if (!e.target.closest('a')) toggle(); },
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } } },
    h('td', { class: 'muted' }, open ? '▾' : '▸'),
    h('td', { class: 'mono nowrap' }, s.time ? fmtTime(Date.parse(s.time), false) : ''),
    h('td', {}, sevBadge(s.severity || s.level)),
    h('td', { title: s.rule_id }, s.title || s.rule_id, s.suppressed ? h('span', { class: 'muted small' }, ` +${s.suppressed} repeats`) : null),
    h('td', { class: 'mono' }, s.event_host || ''),
    h('td', { class: 'mono' }, s.event_source || ''),
    h('td', { class: 'small' }, (s.tactics || []).map(tacticLabel).join(', ')),
    h('td', { class: 'small' }, (s.entities || []).slice(0, 3).map((e) => `${e.type}:${e.value}`).join('  '), (s.entities || []).length > 3 ? ` +${s.entities.length - 3}` : ''));
    if (!open) return tr;
    return [tr, h('tr', { class: 'sig-detail' }, h('td', {}), h('td', { colspan: 7 },
      h('div', { class: 'row wrap' }, h('a', { href: aroundURL(s) }, 'Events around this signal ↗'), h('span', { class: 'muted small mono' }, 'rule ', s.rule_id, ' · signal ', s.id)),
      (s.entities || []).length ? h('div', { class: 'chips' }, s.entities.map(entityLink)) : null,
      s.event_raw ? h('pre', { class: 'mono raw-event' }, s.event_raw) : h('p', { class: 'muted' }, 'No raw event kept.')))];
  }

  load();
  return () => { st.alive = false; };
}
