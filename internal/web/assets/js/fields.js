// The field sidebar: every field seen in the results with how many rows
// carry it and its top values; a value adds field=value (or !field=value)
// to the query, and a field can be shown as a table column.
import { h, clear, fmtNum } from './dom.js';
import { fmtCell } from './vtable.js';

const MAX_DISTINCT = 5000; // per field; beyond it the counts are partial

// fieldStats counts, for each field (except _raw), the rows carrying it and
// its values.
export function fieldStats(rows) {
  const stats = new Map();
  for (const r of rows) {
    for (const k in r) {
      if (k === '_raw') continue;
      let s = stats.get(k);
      if (!s) { s = { name: k, rows: 0, values: new Map(), partial: false }; stats.set(k, s); }
      s.rows++;
      const v = fmtCell(r[k]);
      const c = s.values.get(v);
      if (c !== undefined) s.values.set(v, c + 1);
      else if (s.values.size < MAX_DISTINCT) s.values.set(v, 1);
      else s.partial = true;
    }
  }
  return stats;
}

// FieldSidebar renders fieldStats. opts: onFilter(field, value, negate),
// onToggleColumn(field), columns (Set of shown fields).
export class FieldSidebar {
  constructor(opts) {
    this.opts = opts;
    this.open = new Set();
    this.filter = '';
    this.stats = new Map();
    this.total = 0;
    const search = h('input', { type: 'search', placeholder: 'Filter fields', 'aria-label': 'Filter fields',
      oninput: (e) => { this.filter = e.target.value.toLowerCase(); this.draw(); } });
    this.list = h('div', {});
    this.el = h('aside', { class: 'side', 'aria-label': 'Fields' }, search, this.list);
  }

  update(rows) {
    this.stats = fieldStats(rows);
    this.total = rows.length;
    this.draw();
  }

  draw() {
    clear(this.list);
    if (!this.total) { this.list.append(h('div', { class: 'muted' }, 'Fields of the results appear here.')); return; }
    const all = [...this.stats.values()].filter((s) => s.name.toLowerCase().includes(this.filter));
    const shown = all.filter((s) => this.opts.columns.has(s.name));
    const meta = all.filter((s) => !this.opts.columns.has(s.name) && s.name.startsWith('_'));
    const other = all.filter((s) => !this.opts.columns.has(s.name) && !s.name.startsWith('_'));
    other.sort((a, b) => b.rows - a.rows || a.name.localeCompare(b.name));
    const group = (title, list) => list.length ? [h('h3', {}, title), h('ul', { class: 'fl' }, list.map((s) => this.item(s)))] : null;
    this.list.append(...[group('Shown as columns', shown), group('Fields', other), group('Metadata', meta)].flat().filter(Boolean));
  }

  item(s) {
    const isOpen = this.open.has(s.name);
    const pct = Math.round((100 * s.rows) / this.total);
    const shown = this.opts.columns.has(s.name);
    const li = h('li', {},
      h('div', { class: 'fl-head' },
        h('button', { type: 'button', class: 'fl-name', 'aria-expanded': String(isOpen), title: `${s.name}: in ${fmtNum(s.rows)} of ${fmtNum(this.total)} rows; ${s.values.size}${s.partial ? '+' : ''} distinct values`,
          onclick: () => { if (isOpen) this.open.delete(s.name); else this.open.add(s.name); this.draw(); } }, (isOpen ? '▾ ' : '▸ ') + s.name),
        h('span', { class: 'fl-count' }, pct + '%'),
        h('button', { type: 'button', class: 'fl-col ghost', 'aria-pressed': String(shown), title: shown ? 'Hide column' : 'Show as column',
          'aria-label': (shown ? 'Hide column ' : 'Show column ') + s.name, onclick: () => this.opts.onToggleColumn(s.name) }, shown ? '−col' : '+col')));
    if (isOpen) li.append(this.values(s));
    return li;
  }

  values(s) {
    const top = [...s.values.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
    const max = top.length ? top[0][1] : 1;
    return h('ul', { class: 'vals', 'aria-label': `Top values of ${s.name}` }, top.map(([v, n]) => {
      const meter = h('span', { class: 'meter' });
      meter.style.width = Math.max(2, (100 * n) / max) + '%';
      return h('li', {},
        h('span', { class: 'v', title: v }, v === '' ? '(empty)' : v, meter),
        h('span', { class: 'fl-count' }, fmtNum(n)),
        h('button', { type: 'button', class: 'small', title: `Add ${s.name}=${v} to the query`, 'aria-label': `Filter ${s.name} equals ${v}`,
          onclick: () => this.opts.onFilter(s.name, v, false) }, '+'),
        h('button', { type: 'button', class: 'small', title: `Add !${s.name}=${v} to the query`, 'aria-label': `Exclude ${s.name} equals ${v}`,
          onclick: () => this.opts.onFilter(s.name, v, true) }, '−'));
    }), s.values.size > 10 ? h('li', { class: 'muted' }, `${fmtNum(s.values.size)}${s.partial ? '+' : ''} distinct values`) : null);
  }
}
