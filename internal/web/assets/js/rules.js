// The Rules page: the Sigma rules the detection engine runs, their hits,
// enable/disable, upload and test of a rule, retro-hunts over stored
// events, and the problems found while loading rule folders.
import { h, clear, replace, fmtNum, errorBox, toast, confirmDialog, modal } from './dom.js';
import * as api from './api.js';
import { sevBadge } from './incidents.js';
import { PRESETS } from './time.js';
import { coverageMatrix, tacticLabel } from './attack.js';

const EXAMPLE = `title: Failed logins from one address
id: 5b6f0e8e-0000-4000-8000-000000000001
status: experimental
description: A user's login failed.
logsource:
  product: linux
  service: auth
detection:
  selection:
    outcome: failure
    action: login
  condition: selection
level: medium
tags:
  - attack.credential_access
  - attack.t1110
`;

export function mount(root) {
  const st = { rules: [], filter: '', tactic: '', alive: true };
  const canEdit = api.session.can('rules');
  const head = h('div', { class: 'row wrap rule-stats' });
  const issuesEl = h('div', {});
  const matrixEl = h('section', { class: 'card wide', 'aria-labelledby': 'rule-cov' });
  const listEl = h('div', {});
  const search = h('input', { type: 'search', placeholder: 'Filter by title, id, level, tag', 'aria-label': 'Filter rules', oninput: (e) => { st.filter = e.target.value.toLowerCase(); draw(); } });
  replace(root, h('div', { class: 'page' },
    h('div', { class: 'row' }, h('h1', { class: 'grow' }, 'Rules'), search, h('button', { type: 'button', onclick: () => load() }, 'Refresh')),
    head, issuesEl,
    h('div', { class: 'cards' }, matrixEl, h('section', { class: 'card wide', 'aria-label': 'Rules' }, listEl),
      canEdit ? h('section', { class: 'card wide', 'aria-labelledby': 'rule-up' }, h('div', { class: 'card-head' }, h('h2', { id: 'rule-up' }, 'Add or test a Sigma rule')), uploadForm()) : null)));

  async function load() {
    replace(listEl, h('span', { class: 'spinner' }), ' Loading…');
    let res;
    try {
      res = await api.getJSON('/api/v1/rules');
    } catch (err) {
      if (!st.alive) return;
      if (err.status === 404) replace(listEl, h('div', { class: 'empty' }, h('h2', {}, 'Detection is off on this node'), h('p', {}, err.detail || '')));
      else replace(listEl, errorBox('Could not load the rules.', err));
      return;
    }
    if (!st.alive) return;
    st.rules = res.rules || [];
    const c = res.counts || {};
    const enabled = st.rules.filter((r) => r.enabled).length;
    replace(head,
      stat(fmtNum(st.rules.length), 'rules'), stat(fmtNum(enabled), 'enabled'),
      stat(fmtNum(c.Processed ?? c.processed ?? 0), 'events checked'), stat(fmtNum(c.Raised ?? c.raised ?? 0), 'signals raised'),
      stat(fmtNum(c.Suppressed ?? c.suppressed ?? 0), 'repeats suppressed'));
    const issues = res.issues || [];
    replace(issuesEl, issues.length ? h('details', { class: 'alert warn' }, h('summary', {}, `${issues.length} problem${issues.length > 1 ? 's' : ''} while loading rules`),
      h('ul', { class: 'mono small' }, issues.slice(0, 200).map((i) => h('li', {}, i)))) : null);
    drawMatrix();
    draw();
  }

  function drawMatrix() {
    replace(matrixEl, h('div', { class: 'card-head' }, h('h2', { id: 'rule-cov' }, 'ATT&CK coverage of the enabled rules'),
      st.tactic ? h('button', { type: 'button', class: 'small', onclick: () => pick('') }, `Showing ${tacticLabel(st.tactic)} · show all`) : h('span', { class: 'muted small' }, 'Click a tactic to list its rules')),
    coverageMatrix(st.rules, pick, st.tactic));
  }

  function pick(t) { st.tactic = t; drawMatrix(); draw(); }

  function stat(n, what) { return h('div', { class: 'stat' }, h('strong', {}, n), ' ', h('span', { class: 'muted' }, what)); }

  function draw() {
    const f = st.filter;
    const list = st.rules.filter((r) => (!st.tactic || (r.enabled && (r.tactics || []).includes(st.tactic))) && (!f || [r.title, r.id, r.level, r.status, ...(r.tags || [])].some((x) => String(x || '').toLowerCase().includes(f))));
    list.sort((a, b) => (b.hits || 0) - (a.hits || 0) || String(a.title).localeCompare(String(b.title)));
    if (!st.rules.length) { replace(listEl, h('div', { class: 'empty' }, h('h2', {}, 'No rules loaded'), h('p', {}, 'Start the server with rule folders (SigmaHQ works as-is) or add a rule below.'))); return; }
    const shown = list.slice(0, 500);
    replace(listEl, h('table', { class: 'grid', 'aria-label': 'Rules' },
      h('thead', {}, h('tr', {}, ['On', 'Rule', 'Level', 'Tactics', 'Hits', ''].map((t) => h('th', { class: t === 'Hits' ? 'num' : '' }, t)))),
      h('tbody', {}, shown.map((r) => h('tr', { class: r.enabled ? '' : 'disabled' },
        h('td', {}, h('input', { type: 'checkbox', checked: r.enabled, disabled: !canEdit || !r.compiled, 'aria-label': `Enable ${r.title}`, onchange: (e) => toggle(r, e.target) })),
        h('td', {}, h('div', {}, r.title || r.id), h('div', { class: 'muted small mono' }, r.id, r.uploaded ? ' · uploaded' : r.path ? ' · ' + r.path : '', r.compiled ? '' : ' · not compiled')),
        h('td', {}, sevBadge(r.level)),
        h('td', { class: 'small' }, (r.tactics || []).map(tacticLabel).join(', ')),
        h('td', { class: 'num' }, fmtNum(r.hits || 0)),
        h('td', {}, canEdit ? h('div', { class: 'row' },
          h('button', { type: 'button', class: 'small', onclick: () => hunt(r), title: 'Run this rule over stored events' }, 'Hunt'),
          r.uploaded ? h('button', { type: 'button', class: 'small danger', onclick: () => del(r) }, 'Delete') : null) : null))))),
    list.length > shown.length ? h('p', { class: 'muted' }, `${list.length - shown.length} more; filter to narrow.`) : null);
  }

  async function toggle(r, box) {
    try {
      await api.sendJSON('PATCH', '/api/v1/rules/' + encodeURIComponent(r.id), { enabled: box.checked });
      r.enabled = box.checked;
      drawMatrix();
      toast(`${r.enabled ? 'Enabled' : 'Disabled'} "${r.title}"`);
    } catch (err) {
      box.checked = !box.checked;
      toast('Could not change the rule: ' + err.message, 'error');
    }
  }

  async function del(r) {
    if (!(await confirmDialog('Delete rule', `Delete the uploaded rule "${r.title}"?`, 'Delete', true))) return;
    try {
      await api.call('DELETE', '/api/v1/rules/' + encodeURIComponent(r.id));
      toast(`Deleted "${r.title}"`);
    } catch (err) {
      toast('Could not delete the rule: ' + err.message, 'error');
    }
    load();
  }

  async function hunt(r) {
    const from = await modal(`Hunt: ${r.title}`, (done) => h('div', {},
      h('p', {}, 'Run the rule over stored events. Matches are listed here and not stored as signals.'),
      h('div', { class: 'tp-presets' }, PRESETS.map(([v, l]) => h('button', { type: 'button', onclick: () => done(v) }, l))),
      h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'))));
    if (!from) return;
    const found = [];
    let stats = null;
    let error = null;
    const out = h('div', {}, h('span', { class: 'spinner' }), ' Hunting…');
    const ctrl = new AbortController();
    const dlg = modal(`Hunt results: ${r.title}`, (done) => h('div', {}, out, h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => { ctrl.abort(); done(true); } }, 'Close'))));
    try {
      const res = await api.call('POST', '/api/v1/rules/' + encodeURIComponent(r.id) + '/hunt', { body: { from, to: 'now' }, signal: ctrl.signal });
      const text = await res.text();
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let o;
        try { o = JSON.parse(line); } catch { continue; } // a torn last line: skip it
        if (o._stats) stats = o._stats; else if (o._error) error = o._error; else found.push(o);
      }
    } catch (err) {
      if (ctrl.signal.aborted) return;
      error = err.message;
    }
    replace(out,
      error ? errorBox('The hunt failed.', error) : null,
      h('p', {}, h('strong', {}, fmtNum(found.length)), ' matches', stats && stats.rows_scanned !== undefined ? ` in ${fmtNum(stats.rows_scanned)} events` : ''),
      found.length ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['Host', 'Source', 'Entities', 'Event'].map((t) => h('th', {}, t)))),
        h('tbody', {}, found.slice(0, 200).map((s) => h('tr', {}, h('td', {}, s.event_host || ''), h('td', {}, s.event_source || ''),
          h('td', { class: 'small' }, (s.entities || []).map((e) => `${e.type}:${e.value}`).join(' ')),
          h('td', { class: 'mono small' }, String(s.event_raw || '').slice(0, 160)))))) : null);
    await dlg;
  }

  function uploadForm() {
    const yaml = h('textarea', { id: 'rule-yaml', rows: 12, spellcheck: 'false', class: 'mono code-area' });
    yaml.value = EXAMPLE;
    const events = h('textarea', { id: 'rule-events', rows: 4, spellcheck: 'false', class: 'mono code-area', placeholder: '{"action":"login","outcome":"failure","user":"alice"}' });
    const msg = h('div', { 'aria-live': 'polite' });
    const testBtn = h('button', { type: 'button', onclick: async () => {
      clear(msg);
      const evs = [];
      for (const [i, line] of events.value.split('\n').entries()) {
        if (!line.trim()) continue;
        try { evs.push(JSON.parse(line)); } catch { msg.append(errorBox('Sample events:', `line ${i + 1} is not JSON.`)); return; }
      }
      try {
        const res = await api.sendJSON('POST', '/api/v1/rules/test', { rule: yaml.value, events: evs });
        msg.append(h('div', { class: 'alert' }, h('strong', {}, fmtNum(res.matches || 0)), ` of ${evs.length} sample events match.`,
          res.outside_logsource ? ` ${fmtNum(res.outside_logsource)} more match the detection but not the rule's log source: a Sigma rule runs only on events of its logsource (product, service, category), as the parsers or shippers label them (see docs/sigma.md).` : ''));
      } catch (err) {
        msg.append(errorBox('The rule does not work:', err));
      }
    } }, 'Test on sample events');
    const upBtn = h('button', { type: 'submit', class: 'primary' }, 'Add rule');
    return h('form', { onsubmit: async (e) => {
      e.preventDefault();
      clear(msg);
      upBtn.disabled = true;
      try {
        const res = await api.call('POST', '/api/v1/rules', { body: yaml.value, headers: { 'Content-Type': 'application/yaml' } }).then((r) => r.json());
        toast(`Added ${(res.rules || []).map((r) => `"${r.title}"`).join(', ') || 'the rule'}`);
        load();
      } catch (err) {
        msg.append(errorBox('The server refused the rule:', err));
      } finally {
        upBtn.disabled = false;
      }
    } },
    h('label', { for: 'rule-yaml' }, 'Sigma rule (YAML)'), yaml,
    h('label', { for: 'rule-events' }, 'Sample events to test with (one JSON object per line)'), events,
    msg, h('div', { class: 'row' }, testBtn, upBtn));
  }

  load();
  return () => { st.alive = false; };
}
