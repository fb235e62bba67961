// VTable is a virtualized, keyboard-navigable table: only the rows in view
// (plus a margin) exist in the DOM, so 10,000+ rows scroll smoothly. Rows
// may expand into a detail panel of any height.
import { h, clear } from './dom.js';

const ROW_H = 25; // 24px cell + 1px border
const OVERSCAN = 12;

export class VTable {
  // opts: label (aria), detail(row) -> Node (makes rows expandable).
  constructor(opts) {
    this.opts = opts;
    this.rows = [];
    this.cols = [];
    this.expanded = new Map(); // row index -> measured height
    this.active = -1;
    this.tops = new Float64Array(1);
    this.head = h('div', { class: 'vt-head', role: 'row' });
    this.layer = h('div', { class: 'vt-rows', role: 'rowgroup' });
    this.body = h('div', { class: 'vt-body' }, this.layer);
    this.el = h('div', { class: 'vt', role: 'table', 'aria-label': opts.label, tabindex: 0, 'aria-rowcount': 0 }, this.head, this.body);
    this.el.addEventListener('scroll', () => this.schedule());
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    this.ro = new ResizeObserver(() => this.schedule());
    this.ro.observe(this.el);
  }

  // setColumns takes [{key, label, width (CSS), cls, render(row) -> string|Node}].
  setColumns(cols) {
    this.cols = cols;
    const expandable = !!this.opts.detail;
    const tpl = (expandable ? ['22px'] : []).concat(cols.map((c) => c.width || 'minmax(120px, 1fr)')).join(' ');
    this.el.style.setProperty('--vt-cols', tpl);
    const min = (expandable ? 22 : 0) + cols.reduce((a, c) => a + (parseInt(/\d+/.exec(c.width || '120') || 120, 10)), 0);
    this.el.style.setProperty('--vt-min', Math.max(min, 0) + 'px');
    clear(this.head);
    if (expandable) this.head.append(h('div', { class: 'vt-cell', role: 'columnheader' }, h('span', { class: 'sr-only' }, 'Expand')));
    for (const c of cols) this.head.append(h('div', { class: 'vt-cell', role: 'columnheader', title: c.label }, c.label));
    this.full();
  }

  // setRows replaces the data; append adds rows while a search streams in.
  setRows(rows) { this.rows = rows; this.expanded.clear(); this.active = -1; this.el.scrollTop = 0; this.full(); }
  append() { this.full(); }

  full() { this.layout(); this.schedule(); }

  layout() {
    const n = this.rows.length;
    this.tops = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) this.tops[i + 1] = this.tops[i] + (this.expanded.get(i) || ROW_H);
    this.body.style.height = this.tops[n] + 'px';
    this.el.setAttribute('aria-rowcount', String(n));
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  indexAt(y) {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tops[mid + 1] <= y) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  draw() {
    const top = Math.max(0, this.el.scrollTop - this.head.offsetHeight);
    const first = Math.max(0, this.indexAt(top) - OVERSCAN);
    const last = Math.min(this.rows.length, this.indexAt(top + this.el.clientHeight) + OVERSCAN);
    clear(this.layer);
    this.layer.style.transform = `translateY(${this.tops[first] || 0}px)`;
    let remeasure = false;
    for (let i = first; i < last; i++) {
      const item = this.renderRow(i);
      this.layer.append(item);
      if (this.expanded.has(i)) {
        const hgt = item.offsetHeight;
        if (hgt && Math.abs(hgt - this.expanded.get(i)) > 1) { this.expanded.set(i, hgt); remeasure = true; }
      }
    }
    if (remeasure) { this.layout(); this.layer.style.transform = `translateY(${this.tops[first] || 0}px)`; }
  }

  renderRow(i) {
    const r = this.rows[i];
    const exp = this.expanded.has(i);
    const line = h('div', { class: 'vt-row', role: 'row', 'aria-rowindex': i + 2 });
    if (this.opts.detail) line.append(h('div', { class: 'vt-cell vt-caret', role: 'cell', 'aria-hidden': 'true' }, exp ? '▾' : '▸'));
    for (const c of this.cols) {
      const v = c.render ? c.render(r) : r[c.key];
      const cell = h('div', { class: 'vt-cell ' + (c.cls || ''), role: 'cell' }, v instanceof Node ? v : fmtCell(v));
      if (!(v instanceof Node)) cell.title = fmtCell(v).slice(0, 2000);
      line.append(cell);
    }
    const item = h('div', { class: 'vt-item' + (i === this.active ? ' active' : ''), 'data-i': i }, line);
    if (this.opts.detail) {
      line.setAttribute('aria-expanded', String(exp));
      line.addEventListener('click', () => { this.active = i; this.toggle(i); });
      if (exp) item.append(h('div', { class: 'vt-detail', role: 'cell' }, this.opts.detail(r)));
    }
    return item;
  }

  toggle(i) {
    if (this.expanded.has(i)) this.expanded.delete(i); else this.expanded.set(i, ROW_H + 120);
    this.full();
  }

  onKey(e) {
    const n = this.rows.length;
    if (!n) return;
    let a = this.active;
    if (e.key === 'ArrowDown' || e.key === 'j') a = Math.min(n - 1, a + 1);
    else if (e.key === 'ArrowUp' || e.key === 'k') a = Math.max(0, a - 1);
    else if (e.key === 'PageDown') a = Math.min(n - 1, a + 20);
    else if (e.key === 'PageUp') a = Math.max(0, a - 20);
    else if (e.key === 'Home') a = 0;
    else if (e.key === 'End') a = n - 1;
    else if ((e.key === 'Enter' || e.key === ' ') && this.opts.detail && a >= 0) { e.preventDefault(); this.toggle(a); return; }
    else return;
    e.preventDefault();
    this.active = a;
    const y = this.tops[a];
    const view = this.el.clientHeight - this.head.offsetHeight;
    if (y < this.el.scrollTop) this.el.scrollTop = y;
    else if (y + ROW_H > this.el.scrollTop + view) this.el.scrollTop = y + ROW_H - view;
    this.schedule();
  }

  destroy() { this.ro.disconnect(); if (this.pending) cancelAnimationFrame(this.pending); }
}

// fmtCell renders any JSON value as one line of text.
export function fmtCell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
