// The Incidents page: incidents raised by the detection engine (signals
// about the same entities, grouped), with their entities, tactics and
// signals, and triage (status, resolution, assignee, comments).
import { h, clear, replace, fmtNum, errorBox, toast } from './dom.js';
import * as api from './api.js';
import { fmtTime } from './time.js';
import { quoteValue } from './lang.js';
import { progressStrip, graphView, tacticLabel } from './attack.js';

const RANGES = [['-24h', 'Last 24 hours'], ['-7d', 'Last 7 days'], ['-30d', 'Last 30 days'], ['', 'All time']];
const STATUSES = [['open', 'Open'], ['new', 'New'], ['in_progress', 'In progress'], ['closed', 'Closed'], ['', 'Any status']];
const TRIAGE = [['new', 'New'], ['in_progress', 'In progress'], ['closed', 'Closed']];
const RESOLUTIONS = ['true_positive', 'false_positive', 'benign', 'duplicate'];
const SEV_ORDER = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };

export function sevBadge(sev) { return h('span', { class: 'badge sev-' + (sev || 'informational') }, sev || 'informational'); }

function statusLabel(s) { return (TRIAGE.find(([v]) => v === s) || [s, s || 'new'])[1]; }

function ms(t) { return t ? fmtTime(Date.parse(t), false) : ''; }

// entityURL is a search for the entity's value over the last week.
export function entityURL(e) { return '/search?' + new URLSearchParams({ q: quoteValue(e.value), from: '-7d', to: 'now' }); }

// entityLink opens a search for the entity's value.
export function entityLink(e) {
  return h('a', { class: 'chip', href: entityURL(e), title: `Search for ${e.value}` },
    h('span', { class: 'chip-k' }, e.type), ' ', e.value);
}

// aroundURL opens a search for the events of the signal's host (or
// source) in the minutes around it: the context an analyst reads first.
export function aroundURL(s, minutes = 5) {
  const t = Date.parse(s.time);
  const q = s.event_host ? '_host=' + quoteValue(s.event_host) : s.event_source ? '_source=' + quoteValue(s.event_source) : '*';
  if (isNaN(t)) return '/search?' + new URLSearchParams({ q, from: '-24h', to: 'now' });
  const iso = (x) => new Date(x).toISOString();
  return '/search?' + new URLSearchParams({ q, from: iso(t - minutes * 60e3), to: iso(t + minutes * 60e3) });
}

// changeNote describes a triage change in words ("Status: new → in
// progress. Assignee: → ana."), or '' when nothing changed.
export function changeNote(inc, body) {
  const out = [];
  if (body.status && body.status !== inc.status) out.push(`Status: ${statusLabel(inc.status)} → ${statusLabel(body.status)}${body.resolution ? ` (${body.resolution.replace('_', ' ')})` : ''}.`);
  if (body.assignee !== undefined && body.assignee !== (inc.assignee || '')) out.push(`Assignee: ${inc.assignee || 'nobody'} → ${body.assignee || 'nobody'}.`);
  return out.join(' ');
}

// signalItem is one entry of an incident's timeline: what fired, where,
// the raw event and a link to the events around it.
export function signalItem(s) {
  return h('li', { class: 'tl-item' },
    h('div', { class: 'tl-head' },
      h('span', { class: 'tl-time mono' }, ms(s.time)), sevBadge(s.severity),
      h('strong', { class: 'grow tl-title', title: s.rule_id }, s.title || s.rule_id),
      h('a', { class: 'small', href: aroundURL(s), title: 'Search the events of this host 5 minutes before and after' }, 'Events around ↗')),
    h('div', { class: 'tl-meta muted small' },
      s.event_host ? ['host ', h('span', { class: 'mono' }, s.event_host)] : null,
      s.event_source ? [' · source ', h('span', { class: 'mono' }, s.event_source)] : null,
      (s.tactics || []).length ? ' · ' + s.tactics.map(tacticLabel).join(', ') : null),
    (s.entities || []).length ? h('div', { class: 'chips' }, s.entities.map(entityLink)) : null,
    s.event_raw ? h('details', { class: 'tl-raw' }, h('summary', {}, 'Raw event'), h('pre', { class: 'mono' }, s.event_raw)) : null);
}

// activity lists what happened to the incident: created, then every
// comment (triage changes are written into comments), newest last.
function activity(inc) {
  const items = [{ time: inc.created_at || inc.first_seen, who: 'mamori', text: 'Incident opened by the correlation engine.' }]
    .concat((inc.comments || []).map((c) => ({ time: c.time, who: c.author, text: c.text })));
  return h('ul', { class: 'comments' }, items.map((c) => h('li', {},
    h('div', { class: 'muted small' }, `${c.who} · ${ms(c.time)}`),
    String(c.text || '').split('\n').map((line) => h('div', { class: /^(Status|Assignee):/.test(line) ? 'change' : '' }, line)))));
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

  // load redraws the list. The open incident is fetched again in place
  // (no spinner, so the pane does not flicker) unless opts.detail is false:
  // after a triage update the pane already shows the server's answer.
  async function load(opts = {}) {
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
    if (st.sel && opts.detail !== false) { const again = list.find((i) => i.id === st.sel); if (again) show(again.id, true); }
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
      h('td', {}, h('div', { class: 'inc-title' }, inc.title || inc.id), h('div', { class: 'muted small' }, (inc.tactics || []).map(tacticLabel).join(' · '))),
      h('td', {}, (inc.entities || []).slice(0, 3).map((e) => h('span', { class: 'chip static' }, h('span', { class: 'chip-k' }, e.type), ' ', e.value)),
        (inc.entities || []).length > 3 ? h('span', { class: 'muted' }, ` +${inc.entities.length - 3}`) : null),
      h('td', { class: 'num' }, fmtNum((inc.signals || []).length)),
      h('td', {}, statusLabel(inc.status) + (inc.assignee ? ' · ' + inc.assignee : '')),
      h('td', {}, ms(inc.last_seen)))))));
  }

  async function show(id, quiet = false) {
    st.sel = id;
    drawList();
    detailEl.classList.remove('hidden');
    if (!quiet) replace(detailEl, h('span', { class: 'spinner' }), ' Loading…');
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
      const body = { status: statusIn.value, assignee: assIn.value.trim() };
      if (statusIn.value === 'closed') body.resolution = resIn.value;
      // The server keeps comments, not a change log: the change is written
      // into the comment so the activity list shows who changed what.
      body.comment = [changeNote(inc, body), comment.value.trim()].filter(Boolean).join('\n');
      save.disabled = true;
      try {
        const upd = await api.sendJSON('PATCH', '/api/v1/incidents/' + encodeURIComponent(inc.id), body);
        toast('Incident updated');
        drawDetail(upd);
        load({ detail: false });
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
    const sigs = [...(inc.signals || [])].sort((a, b) => String(a.time).localeCompare(String(b.time)));
    const graphHost = h('div', { class: 'graph-host' });
    replace(detailEl,
      h('div', { class: 'card-head' }, sevBadge(inc.severity), h('h2', {}, inc.title || inc.id),
        (!inc.status || inc.status === 'new') && api.session.can('triage') ? h('button', { type: 'button', class: 'primary small', id: 'inc-ack',
          title: 'Set the status to In progress' + (inc.assignee ? '' : ' and take it'), onclick: () => {
            statusIn.value = 'in_progress';
            if (!assIn.value.trim() && api.session.name) assIn.value = api.session.name;
            form.requestSubmit();
          } }, 'Acknowledge') : null,
        h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Close', onclick: () => { st.sel = null; detailEl.classList.add('hidden'); drawList(); } }, '✕')),
      h('div', { class: 'kv' },
        h('span', { class: 'k' }, 'status'), h('span', {}), h('span', {}, statusLabel(inc.status) + (inc.resolution ? ` (${inc.resolution.replace('_', ' ')})` : '')),
        h('span', { class: 'k' }, 'score'), h('span', {}), h('span', {}, String(Math.round((inc.score || 0) * 10) / 10)),
        h('span', { class: 'k' }, 'first seen'), h('span', {}), h('span', {}, ms(inc.first_seen)),
        h('span', { class: 'k' }, 'last seen'), h('span', {}), h('span', {}, ms(inc.last_seen)),
        h('span', { class: 'k' }, 'assignee'), h('span', {}), h('span', {}, inc.assignee || h('span', { class: 'muted' }, 'nobody')),
        (inc.sources || []).length ? [h('span', { class: 'k' }, 'sources'), h('span', {}), h('span', {}, inc.sources.join(', '))] : null,
        inc.merged_into ? [h('span', { class: 'k' }, 'merged into'), h('span', {}), h('span', { class: 'mono' }, inc.merged_into)] : null),
      h('h3', {}, 'ATT&CK progression'), progressStrip(sigs),
      h('h3', {}, 'Entity graph'), graphHost,
      h('div', { class: 'chips' }, (inc.entities || []).map(entityLink)),
      h('h3', {}, `Timeline (${sigs.length} signal${sigs.length === 1 ? '' : 's'})`),
      h('ol', { class: 'timeline', 'aria-label': 'Signals' }, sigs.map(signalItem)),
      h('h3', {}, 'Activity'), activity(inc),
      h('h3', {}, 'Triage'), form);
    // The graph's width follows the pane, so it is drawn once the pane is laid out.
    requestAnimationFrame(() => {
      if (!graphHost.isConnected) return;
      replace(graphHost, graphView(sigs, { width: Math.max(320, graphHost.clientWidth), onPick: (e) => window.dispatchEvent(new CustomEvent('mamori:navigate', { detail: entityURL(e) })) }));
    });
  }

  load();
  return () => { st.alive = false; };
}
