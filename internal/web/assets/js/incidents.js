// The Incidents page: incidents raised by the detection engine (signals
// about the same entities, grouped), with their entities, tactics and
// signals, and triage (status, resolution, assignee, comments).
import { h, clear, replace, fmtNum, errorBox, toast } from './dom.js';
import * as api from './api.js';
import { fmtTime } from './time.js';
import { quoteValue } from './lang.js';

const RANGES = [['-24h', 'Last 24 hours'], ['-7d', 'Last 7 days'], ['-30d', 'Last 30 days'], ['', 'All time']];
const STATUSES = [['open', 'Open'], ['new', 'New'], ['in_progress', 'In progress'], ['closed', 'Closed'], ['', 'Any status']];
const TRIAGE = [['new', 'New'], ['in_progress', 'In progress'], ['closed', 'Closed']];
const RESOLUTIONS = ['true_positive', 'false_positive', 'benign', 'duplicate'];
const SEV_ORDER = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };

export function sevBadge(sev) { return h('span', { class: 'badge sev-' + (sev || 'informational') }, sev || 'informational'); }

function statusLabel(s) { return (TRIAGE.find(([v]) => v === s) || [s, s || 'new'])[1]; }

function ms(t) { return t ? fmtTime(Date.parse(t), false) : ''; }

// entityLink opens a search for the entity's value.
export function entityLink(e) {
  const q = quoteValue(e.value);
  return h('a', { class: 'chip', href: '/search?' + new URLSearchParams({ q, from: '-7d', to: 'now' }), title: `Search for ${e.value}` },
    h('span', { class: 'chip-k' }, e.type), ' ', e.value);
}

export function mount(root) {
  const st = { status: 'open', range: '-7d', list: [], sel: null, alive: true };
  const params = new URLSearchParams(location.search);
  if (params.has('status')) st.status = params.get('status');
  if (params.has('from')) st.range = params.get('from');
  const listEl = h('div', { class: 'inc-list' });
  const detailEl = h('section', { class: 'inc-detail card', 'aria-label': 'Incident', 'aria-live': 'polite' });
  const statusSel = h('select', { id: 'inc-status', onchange: (e) => { st.status = e.target.value; load(); } }, STATUSES.map(([v, l]) => h('option', { value: v, selected: v === st.status }, l)));
  const rangeSel = h('select', { id: 'inc-range', onchange: (e) => { st.range = e.target.value; load(); } }, RANGES.map(([v, l]) => h('option', { value: v, selected: v === st.range }, l)));
  replace(root, h('div', { class: 'page' },
    h('div', { class: 'row' }, h('h1', { class: 'grow' }, 'Incidents'),
      h('label', { for: 'inc-status', class: 'sr-only' }, 'Status'), statusSel,
      h('label', { for: 'inc-range', class: 'sr-only' }, 'Time range'), rangeSel,
      h('button', { type: 'button', onclick: () => load() }, 'Refresh')),
    h('div', { class: 'split' }, listEl, detailEl)));
  detailEl.classList.add('hidden');

  async function load() {
    const q = new URLSearchParams();
    if (st.status && st.status !== 'open') q.set('status', st.status); // open = not closed, filtered here
    if (st.range) q.set('from', st.range);
    window.history.replaceState(null, '', '/incidents?' + new URLSearchParams({ status: st.status, from: st.range }));
    replace(listEl, h('div', { class: 'muted' }, h('span', { class: 'spinner' }), ' Loading…'));
    let list;
    try {
      list = (await api.getJSON('/api/v1/incidents?' + q)).incidents || [];
      if (st.status === 'open') list = list.filter((i) => i.status !== 'closed');
    } catch (err) {
      if (!st.alive) return;
      if (err.status === 404) replace(listEl, h('div', { class: 'empty' }, h('h2', {}, 'Detection is off on this node'), h('p', {}, 'Incidents appear when the server runs detection rules. ' + (err.detail || ''))));
      else replace(listEl, errorBox('Could not load the incidents.', err));
      return;
    }
    if (!st.alive) return;
    list.sort((a, b) => (SEV_ORDER[a.severity] ?? 9) - (SEV_ORDER[b.severity] ?? 9) || String(b.last_seen).localeCompare(String(a.last_seen)));
    st.list = list;
    drawList();
    if (st.sel) { const again = list.find((i) => i.id === st.sel); if (again) show(again.id); }
  }

  function drawList() {
    if (!st.list.length) {
      replace(listEl, h('div', { class: 'empty' }, h('h2', {}, 'No incidents'),
        h('p', {}, `Nothing ${st.status ? (STATUSES.find(([v]) => v === st.status) || ['', ''])[1].toLowerCase() + ' ' : ''}in this range. Incidents appear when detection rules raise signals about the same hosts, users or addresses.`)));
      return;
    }
    replace(listEl, h('table', { class: 'grid inc-table', 'aria-label': 'Incidents' },
      h('thead', {}, h('tr', {}, ['Severity', 'Incident', 'Entities', 'Signals', 'Status', 'Last seen'].map((t) => h('th', {}, t)))),
      h('tbody', {}, st.list.map((inc) => h('tr', { class: inc.id === st.sel ? 'selected' : '', tabindex: 0, 'data-id': inc.id,
        onclick: () => show(inc.id), onkeydown: (e) => { if (e.key === 'Enter') show(inc.id); } },
      h('td', {}, sevBadge(inc.severity)),
      h('td', {}, h('div', { class: 'inc-title' }, inc.title || inc.id), h('div', { class: 'muted small' }, (inc.tactics || []).join(' · '))),
      h('td', {}, (inc.entities || []).slice(0, 3).map((e) => h('span', { class: 'chip static' }, h('span', { class: 'chip-k' }, e.type), ' ', e.value)),
        (inc.entities || []).length > 3 ? h('span', { class: 'muted' }, ` +${inc.entities.length - 3}`) : null),
      h('td', { class: 'num' }, fmtNum((inc.signals || []).length)),
      h('td', {}, statusLabel(inc.status) + (inc.assignee ? ' · ' + inc.assignee : '')),
      h('td', {}, ms(inc.last_seen)))))));
  }

  async function show(id) {
    st.sel = id;
    drawList();
    detailEl.classList.remove('hidden');
    replace(detailEl, h('span', { class: 'spinner' }), ' Loading…');
    let inc;
    try {
      inc = await api.getJSON('/api/v1/incidents/' + encodeURIComponent(id));
    } catch (err) {
      if (st.alive) replace(detailEl, errorBox('Could not load the incident.', err));
      return;
    }
    if (!st.alive || st.sel !== id) return;
    drawDetail(inc);
  }

  function drawDetail(inc) {
    const statusIn = h('select', { id: 'tri-status' }, TRIAGE.map(([v, l]) => h('option', { value: v, selected: v === inc.status }, l)));
    const resIn = h('select', { id: 'tri-res' }, h('option', { value: '' }, '—'), RESOLUTIONS.map((r) => h('option', { value: r, selected: r === inc.resolution }, r.replace('_', ' '))));
    const assIn = h('input', { id: 'tri-assignee', type: 'text', value: inc.assignee || '', placeholder: 'user name' });
    const comment = h('textarea', { id: 'tri-comment', rows: 2, placeholder: 'What did you find?' });
    const msg = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const form = h('form', { class: 'triage', 'aria-label': 'Triage', onsubmit: async (e) => {
      e.preventDefault();
      clear(msg);
      const body = { status: statusIn.value, assignee: assIn.value.trim(), comment: comment.value.trim() };
      if (statusIn.value === 'closed') body.resolution = resIn.value;
      save.disabled = true;
      try {
        const upd = await api.sendJSON('PATCH', '/api/v1/incidents/' + encodeURIComponent(inc.id), body);
        toast('Incident updated');
        drawDetail(upd);
        load();
      } catch (err) {
        msg.append(errorBox('Could not update the incident.', err));
      } finally {
        save.disabled = false;
      }
    } },
    h('div', { class: 'form-grid tri-grid' },
      h('div', {}, h('label', { for: 'tri-status' }, 'Status'), statusIn),
      h('div', {}, h('label', { for: 'tri-res' }, 'Resolution (when closed)'), resIn),
      h('div', {}, h('label', { for: 'tri-assignee' }, 'Assignee'), assIn)),
    h('label', { for: 'tri-comment' }, 'Comment'), comment, msg, h('div', { class: 'row' }, save));
    replace(detailEl,
      h('div', { class: 'card-head' }, sevBadge(inc.severity), h('h2', {}, inc.title || inc.id),
        h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Close', onclick: () => { st.sel = null; detailEl.classList.add('hidden'); drawList(); } }, '✕')),
      h('div', { class: 'kv' },
        h('span', { class: 'k' }, 'status'), h('span', {}), h('span', {}, statusLabel(inc.status) + (inc.resolution ? ` (${inc.resolution.replace('_', ' ')})` : '')),
        h('span', { class: 'k' }, 'score'), h('span', {}), h('span', {}, String(Math.round((inc.score || 0) * 10) / 10)),
        h('span', { class: 'k' }, 'first seen'), h('span', {}), h('span', {}, ms(inc.first_seen)),
        h('span', { class: 'k' }, 'last seen'), h('span', {}), h('span', {}, ms(inc.last_seen)),
        inc.assignee ? [h('span', { class: 'k' }, 'assignee'), h('span', {}), h('span', {}, inc.assignee)] : null,
        (inc.sources || []).length ? [h('span', { class: 'k' }, 'sources'), h('span', {}), h('span', {}, inc.sources.join(', '))] : null),
      h('h3', {}, 'Entities'), h('div', { class: 'chips' }, (inc.entities || []).map(entityLink)),
      (inc.tactics || []).length ? [h('h3', {}, 'ATT&CK tactics'), h('div', { class: 'chips' }, inc.tactics.map((t) => h('span', { class: 'chip static' }, t)))] : null,
      h('h3', {}, `Signals (${(inc.signals || []).length})`),
      h('table', { class: 'grid', 'aria-label': 'Signals' },
        h('thead', {}, h('tr', {}, ['Time', 'Severity', 'Rule', 'Host', 'Source'].map((t) => h('th', {}, t)))),
        h('tbody', {}, (inc.signals || []).map((s) => h('tr', {},
          h('td', {}, ms(s.time)), h('td', {}, sevBadge(s.severity)), h('td', { title: s.rule_id }, s.title || s.rule_id),
          h('td', {}, s.event_host || ''), h('td', {}, s.event_source || ''))))),
      (inc.comments || []).length ? [h('h3', {}, 'Comments'), h('ul', { class: 'comments' }, inc.comments.map((c) => h('li', {}, h('div', { class: 'muted small' }, `${c.author} · ${ms(c.time)}`), h('div', {}, c.text))))] : null,
      h('h3', {}, 'Triage'), form);
  }

  load();
  return () => { st.alive = false; };
}
