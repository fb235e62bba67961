// ATT&CK and entity views shared by the Incidents, Signals and Rules pages:
// the tactics in kill-chain order, the progression strip of an incident,
// the coverage matrix of the enabled rules, and the entity graph (hosts,
// users, addresses... linked by the signals that name them together),
// drawn as hand-laid-out SVG. The pure functions (tacticsProgress,
// coverage, entityGraph, layoutGraph) have unit tests in testdata/units.mjs.
import { h, svg, fmtNum } from './dom.js';

// TACTICS lists the ATT&CK enterprise tactics in kill-chain order (the
// server's detect.Tactics).
export const TACTICS = ['reconnaissance', 'resource_development', 'initial_access', 'execution', 'persistence', 'privilege_escalation',
  'defense_evasion', 'credential_access', 'discovery', 'lateral_movement', 'collection', 'command_and_control', 'exfiltration', 'impact'];

// tacticLabel turns "credential_access" into "Credential Access".
export function tacticLabel(t) { return String(t).split('_').map((w) => (w === 'and' ? w : w.charAt(0).toUpperCase() + w.slice(1))).join(' '); }

const tms = (t) => (typeof t === 'number' ? t : Date.parse(t));

// tacticsProgress returns, for each tactic, the signals of an incident that
// carry it: [{tactic, count, first, last}] in kill-chain order (first/last
// are epoch ms, NaN when the tactic was not seen).
export function tacticsProgress(signals) {
  const out = TACTICS.map((tactic) => ({ tactic, count: 0, first: NaN, last: NaN }));
  const idx = new Map(TACTICS.map((t, i) => [t, i]));
  for (const s of signals || []) {
    const t = tms(s.time);
    for (const tac of s.tactics || []) {
      let i = idx.get(tac);
      if (i === undefined) { out.push({ tactic: tac, count: 0, first: NaN, last: NaN }); i = out.length - 1; idx.set(tac, i); }
      const e = out[i];
      e.count++;
      if (!(e.first <= t)) e.first = t;
      if (!(e.last >= t)) e.last = t;
    }
  }
  return out;
}

// coverage counts enabled rules per tactic: {rows: [{tactic, rules, hits,
// levels: {high: n...}}], untagged} where untagged counts enabled rules
// with no tactic.
export function coverage(rules) {
  const rows = TACTICS.map((tactic) => ({ tactic, rules: 0, hits: 0, levels: {} }));
  const idx = new Map(TACTICS.map((t, i) => [t, i]));
  let untagged = 0;
  for (const r of rules || []) {
    if (!r.enabled) continue;
    const tacs = r.tactics || [];
    if (!tacs.length) { untagged++; continue; }
    for (const t of tacs) {
      let i = idx.get(t);
      if (i === undefined) { rows.push({ tactic: t, rules: 0, hits: 0, levels: {} }); i = rows.length - 1; idx.set(t, i); }
      const row = rows[i];
      row.rules++;
      row.hits += r.hits || 0;
      const lv = r.level || 'informational';
      row.levels[lv] = (row.levels[lv] || 0) + 1;
    }
  }
  return { rows, untagged };
}

// progressStrip draws the kill chain with the tactics an incident reached
// lit, in order, with how many signals carry each.
export function progressStrip(signals) {
  const prog = tacticsProgress(signals);
  const seen = prog.filter((p) => p.count);
  return h('ol', { class: 'killchain', 'aria-label': `ATT&CK tactics: ${seen.map((p) => tacticLabel(p.tactic)).join(', ') || 'none'}` },
    prog.map((p) => h('li', { class: p.count ? 'hit' : '', title: p.count ? `${p.count} signal${p.count > 1 ? 's' : ''}, first ${new Date(p.first).toISOString()}` : 'not seen' },
      h('span', { class: 'kc-name' }, tacticLabel(p.tactic)), p.count ? h('span', { class: 'kc-n' }, fmtNum(p.count)) : null)));
}

// coverageMatrix draws one column per tactic: the number of enabled rules,
// a bar split by level, and the hits of those rules. onPick(tactic) filters
// the rule list.
export function coverageMatrix(rules, onPick, picked) {
  const { rows, untagged } = coverage(rules);
  const max = Math.max(1, ...rows.map((r) => r.rules));
  const levels = ['critical', 'high', 'medium', 'low', 'informational'];
  return h('div', { class: 'matrix-wrap' },
    h('div', { class: 'matrix', role: 'list', 'aria-label': 'ATT&CK coverage of the enabled rules' },
      rows.map((r) => h('button', { type: 'button', role: 'listitem', class: 'mx-col' + (r.rules ? '' : ' none') + (picked === r.tactic ? ' picked' : ''),
        'aria-pressed': String(picked === r.tactic), title: `${tacticLabel(r.tactic)}: ${r.rules} enabled rule${r.rules === 1 ? '' : 's'}, ${r.hits} hits`,
        onclick: () => onPick(picked === r.tactic ? '' : r.tactic) },
      h('span', { class: 'mx-name' }, tacticLabel(r.tactic)),
      h('span', { class: 'mx-n' }, fmtNum(r.rules)),
      h('span', { class: 'mx-bar' }, levels.filter((l) => r.levels[l]).map((l) => {
        const seg = h('span', { class: 'mx-seg sev-' + l, title: `${r.levels[l]} ${l}` });
        seg.style.height = Math.max(2, (r.levels[l] / max) * 100) + '%';
        return seg;
      })),
      h('span', { class: 'mx-hits' }, r.hits ? fmtNum(r.hits) + ' hits' : '—')))),
    untagged ? h('p', { class: 'field-hint' }, `${fmtNum(untagged)} enabled rule${untagged > 1 ? 's have' : ' has'} no ATT&CK tactic tag.`) : null);
}

// TYPE_ORDER places entity types in columns, left to right: where an
// attack runs, who runs it, then what it touches.
const TYPE_ORDER = ['host', 'user', 'process', 'ip', 'domain', 'hash', 'address'];

const key = (e) => e.type + '\u0000' + e.value;

// entityGraph builds {nodes: [{id, type, value, signals}], edges: [{a, b,
// weight}]} from signals: two entities are linked when one signal names
// both; weight counts those signals. At most maxNodes nodes (the most
// mentioned) are kept.
export function entityGraph(signals, maxNodes = 40) {
  const nodes = new Map();
  const edges = new Map();
  for (const s of signals || []) {
    const ents = [];
    const seen = new Set();
    for (const e of s.entities || []) {
      if (!e || !e.value) continue;
      const k = key(e);
      if (seen.has(k)) continue;
      seen.add(k);
      ents.push(k);
      if (!nodes.has(k)) nodes.set(k, { id: k, type: e.type || 'other', value: String(e.value), signals: 0 });
      nodes.get(k).signals++;
    }
    for (let i = 0; i < ents.length; i++) {
      for (let j = i + 1; j < ents.length; j++) {
        const [a, b] = ents[i] < ents[j] ? [ents[i], ents[j]] : [ents[j], ents[i]];
        const ek = a + '\u0001' + b;
        if (!edges.has(ek)) edges.set(ek, { a, b, weight: 0 });
        edges.get(ek).weight++;
      }
    }
  }
  let list = [...nodes.values()].sort((x, y) => y.signals - x.signals || x.id.localeCompare(y.id));
  const dropped = Math.max(0, list.length - maxNodes);
  list = list.slice(0, maxNodes);
  const kept = new Set(list.map((n) => n.id));
  return { nodes: list, edges: [...edges.values()].filter((e) => kept.has(e.a) && kept.has(e.b)), dropped };
}

// layoutGraph places nodes in one column per entity type (ordered by
// TYPE_ORDER, unknown types last), each column sorted to reduce crossings
// (by the mean row of its neighbours in the previous column), and returns
// {width, height, columns: [{type, x}], pos: Map(id → {x, y})}.
export function layoutGraph(g, { width = 640, rowH = 26, top = 40, pad = 80 } = {}) {
  const types = [...new Set(g.nodes.map((n) => n.type))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const cols = types.map((t) => g.nodes.filter((n) => n.type === t));
  const adj = new Map();
  for (const e of g.edges) {
    if (!adj.has(e.a)) adj.set(e.a, []);
    if (!adj.has(e.b)) adj.set(e.b, []);
    adj.get(e.a).push(e.b);
    adj.get(e.b).push(e.a);
  }
  const row = new Map();
  cols.forEach((col, ci) => {
    if (ci > 0) {
      const score = (n) => {
        const ys = (adj.get(n.id) || []).filter((m) => row.has(m)).map((m) => row.get(m));
        return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : Infinity;
      };
      const sc = new Map(col.map((n) => [n.id, score(n)]));
      col.sort((a, b) => sc.get(a.id) - sc.get(b.id) || b.signals - a.signals);
    }
    col.forEach((n, i) => row.set(n.id, i));
  });
  const tallest = Math.max(1, ...cols.map((c) => c.length));
  const height = top + tallest * rowH + 8;
  const step = cols.length > 1 ? (width - 2 * pad) / (cols.length - 1) : 0;
  const pos = new Map();
  const columns = [];
  cols.forEach((col, ci) => {
    const x = cols.length > 1 ? pad + ci * step : width / 2;
    const off = top + ((tallest - col.length) * rowH) / 2;
    columns.push({ type: types[ci], x });
    col.forEach((n, i) => pos.set(n.id, { x, y: off + i * rowH + rowH / 2 }));
  });
  return { width, height, columns, pos };
}

function rank(t) { const i = TYPE_ORDER.indexOf(t); return i < 0 ? TYPE_ORDER.length : i; }

// graphView draws the entity graph of signals. onPick(entity) runs when a
// node is clicked (or Enter is pressed on it).
export function graphView(signals, { width = 640, onPick } = {}) {
  const g = entityGraph(signals);
  if (!g.nodes.length) return h('p', { class: 'muted' }, 'The signals name no entities.');
  const L = layoutGraph(g, { width });
  const maxW = Math.max(1, ...g.edges.map((e) => e.weight));
  const root = svg('svg', { class: 'egraph', width: L.width, height: L.height, viewBox: `0 0 ${L.width} ${L.height}`, role: 'img',
    'aria-label': `Entity graph: ${g.nodes.length} entities, ${g.edges.length} links` });
  for (const c of L.columns) root.append(svg('text', { class: 'eg-col', x: c.x, y: 14, 'text-anchor': 'middle' }, c.type));
  const edgeEls = new Map();
  for (const e of g.edges) {
    const a = L.pos.get(e.a);
    const b = L.pos.get(e.b);
    const mx = (a.x + b.x) / 2;
    // A link that skips a column bows upward so it does not run through
    // the nodes between.
    const skips = L.columns.some((c) => c.x > Math.min(a.x, b.x) + 1 && c.x < Math.max(a.x, b.x) - 1);
    const d = a.x === b.x
      ? `M${a.x} ${a.y} C${a.x + 40} ${a.y} ${b.x + 40} ${b.y} ${b.x} ${b.y}`
      : skips ? `M${a.x} ${a.y} Q${mx} ${Math.min(a.y, b.y) - 40} ${b.x} ${b.y}`
        : `M${a.x} ${a.y} C${mx} ${a.y} ${mx} ${b.y} ${b.x} ${b.y}`;
    const p = svg('path', { class: 'eg-edge', d, 'stroke-width': (1 + (3 * e.weight) / maxW).toFixed(1) },
      svg('title', {}, `${e.weight} signal${e.weight > 1 ? 's' : ''} name both`));
    edgeEls.set(e, p);
    root.append(p);
  }
  for (const n of g.nodes) {
    const p = L.pos.get(n.id);
    const label = n.value.length > 22 ? n.value.slice(0, 21) + '…' : n.value;
    const node = svg('g', { class: 'eg-node t-' + n.type.replace(/[^a-z]/g, ''), tabindex: 0, role: 'button', 'aria-label': `${n.type} ${n.value}, in ${n.signals} signals` },
      svg('title', {}, `${n.type} ${n.value}\n${n.signals} signal${n.signals > 1 ? 's' : ''}`),
      svg('circle', { cx: p.x, cy: p.y, r: 4 + Math.min(5, n.signals) }),
      svg('text', { x: p.x, y: p.y - 9, 'text-anchor': 'middle' }, label));
    const hot = (on) => { for (const [e, el] of edgeEls) if (e.a === n.id || e.b === n.id) el.classList.toggle('hot', on); };
    node.addEventListener('pointerenter', () => hot(true));
    node.addEventListener('pointerleave', () => hot(false));
    node.addEventListener('focus', () => hot(true));
    node.addEventListener('blur', () => hot(false));
    if (onPick) {
      node.addEventListener('click', () => onPick({ type: n.type, value: n.value }));
      node.addEventListener('keydown', (e) => { if (e.key === 'Enter') onPick({ type: n.type, value: n.value }); });
    }
    root.append(node);
  }
  return h('div', { class: 'egraph-wrap' }, root,
    g.dropped ? h('p', { class: 'field-hint' }, `${g.dropped} less-mentioned entities not drawn.`) : null);
}
