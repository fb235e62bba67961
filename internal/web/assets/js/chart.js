// Hand-drawn SVG charts: the match histogram (with drag to zoom) and the
// aggregate chart (line or bar). Colours come from CSS classes, so both
// themes work and no inline style is needed.
import { h, svg, clear, fmtNum } from './dom.js';
import { fmtTime } from './time.js';

const PAD = { l: 44, r: 10, t: 8, b: 20 };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function shortNum(v) {
  if (Math.abs(v) >= 1e9) return (v / 1e9).toFixed(1).replace(/\.0$/, '') + 'G';
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M';
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1).replace(/\.0$/, '') + 'k';
  return String(Math.round(v * 100) / 100);
}

function timeTick(ms, spanMs) {
  const s = fmtTime(ms, false);
  if (spanMs > 2 * 864e5) return s.slice(5, 16);
  return spanMs > 3e5 ? s.slice(11, 16) : s.slice(11, 19);
}

function yAxis(g, w, hgt, max) {
  for (let i = 0; i <= 2; i++) {
    if (i === 1 && max < 2) continue; // no fractional tick for counts of 0 or 1
    const v = (max * i) / 2;
    const y = PAD.t + hgt - (hgt * i) / 2;
    g.append(svg('line', { class: 'gridline', x1: PAD.l, x2: w - PAD.r, y1: y, y2: y }));
    g.append(svg('text', { x: PAD.l - 6, y: y + 3, 'text-anchor': 'end' }, shortNum(v)));
  }
}

function xTimeAxis(g, x, from, to, hgt, w) {
  const n = Math.max(2, Math.floor((w - PAD.l - PAD.r) / 110));
  for (let i = 0; i <= n; i++) {
    const t = from + ((to - from) * i) / n;
    const px = x(t);
    g.append(svg('text', { x: px, y: PAD.t + hgt + 14, 'text-anchor': i === 0 ? 'start' : i === n ? 'end' : 'middle' }, timeTick(t, to - from)));
  }
}

function tip(container) {
  let el = container.querySelector('.chart-tip');
  if (!el) { el = h('div', { class: 'chart-tip hidden', role: 'presentation' }); container.append(el); }
  return {
    show(x, y, text) { el.textContent = text; el.classList.remove('hidden'); el.style.left = Math.min(x + 12, container.clientWidth - el.offsetWidth - 4) + 'px'; el.style.top = Math.max(0, y - 28) + 'px'; },
    hide() { el.classList.add('hidden'); },
  };
}

// histogram draws counts per time bucket. opts: buckets [{t, n}] (t in ms),
// bucketMs, from, to (ms), onZoom(fromMs, toMs).
export function histogram(container, opts) {
  const { buckets, bucketMs, from, to, onZoom } = opts;
  if (!container.isConnected || container.clientWidth === 0 || container.clientHeight < 40) return; // not displayed
  // Measure before clearing: an empty histogram box is hidden by CSS.
  const w = Math.max(200, container.clientWidth - 24);
  const H = container.clientHeight - 6;
  clear(container);
  const hgt = H - PAD.t - PAD.b;
  const total = buckets.reduce((a, b) => a + b.n, 0);
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.n)));
  const x = (t) => PAD.l + ((t - from) / (to - from)) * (w - PAD.l - PAD.r);
  const root = svg('svg', { width: w, height: H, role: 'img', 'aria-label': `Histogram of ${fmtNum(total)} matching events over time; drag to zoom` });
  const g = svg('g', { class: 'axis' });
  root.append(g);
  yAxis(g, w, hgt, max);
  xTimeAxis(g, x, from, to, hgt, w);
  const bw = Math.max(1, x(from + bucketMs) - x(from) - 1);
  const bars = svg('g', {});
  for (const b of buckets) {
    if (b.t + bucketMs < from || b.t > to || !b.n) continue;
    const bh = Math.max(1, (b.n / max) * hgt);
    bars.append(svg('rect', { class: 'bar', x: Math.max(PAD.l, x(b.t)), y: PAD.t + hgt - bh, width: bw, height: bh, 'data-t': b.t, 'data-n': b.n }));
  }
  root.append(bars);
  const sel = svg('rect', { class: 'selrect hidden', y: PAD.t, height: hgt });
  root.append(sel);
  container.append(root);
  const tp = tip(container);
  const inv = (px) => from + ((px - PAD.l) / (w - PAD.l - PAD.r)) * (to - from);
  let drag = null;
  const px = (e) => e.clientX - root.getBoundingClientRect().left;
  root.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    drag = { x0: px(e) };
    try { root.setPointerCapture(e.pointerId); } catch { /* a synthetic event has no live pointer */ }
  });
  root.addEventListener('pointermove', (e) => {
    const p = px(e);
    if (drag) {
      const a = Math.max(PAD.l, Math.min(drag.x0, p));
      const b = Math.min(w - PAD.r, Math.max(drag.x0, p));
      sel.setAttribute('x', a);
      sel.setAttribute('width', Math.max(0, b - a));
      sel.classList.toggle('hidden', b - a < 3);
      tp.show(p, e.clientY - container.getBoundingClientRect().top, fmtTime(inv(a), false) + ' → ' + fmtTime(inv(b), false));
      return;
    }
    const t = inv(p);
    const b = buckets.find((bk) => t >= bk.t && t < bk.t + bucketMs);
    if (b) tp.show(p, e.clientY - container.getBoundingClientRect().top, `${fmtTime(b.t, false)}  ${fmtNum(b.n)} events`);
    else tp.hide();
  });
  root.addEventListener('pointerleave', () => { if (!drag) tp.hide(); });
  root.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const p = px(e);
    const a = Math.max(PAD.l, Math.min(drag.x0, p));
    const b = Math.min(w - PAD.r, Math.max(drag.x0, p));
    drag = null;
    sel.classList.add('hidden');
    tp.hide();
    if (b - a >= 3) { onZoom(Math.floor(inv(a)), Math.ceil(inv(b))); return; }
    const t = inv(p);
    const bk = buckets.find((x) => t >= x.t && t < x.t + bucketMs && x.n);
    if (bk) onZoom(bk.t, bk.t + bucketMs);
  });
}

// seriesFrom turns aggregate rows into chart data: {xs, time, series:[{name, values}]}.
// A _timeslice (or time-valued first) column becomes the x axis; other
// text columns name the series; numeric columns are the values.
export function seriesFrom(rows, columns, toMs) {
  if (!rows.length) return null;
  const numeric = columns.filter((c) => rows.every((r) => r[c] === undefined || r[c] === null || (typeof r[c] === 'number') || (typeof r[c] === 'string' && r[c] !== '' && !isNaN(Number(r[c])))) && c !== '_timeslice');
  if (!numeric.length) return null;
  const timeCol = columns.includes('_timeslice') ? '_timeslice' : null;
  const labelCols = columns.filter((c) => c !== timeCol && !numeric.includes(c));
  if (timeCol) {
    const xsSet = new Map();
    const series = new Map();
    for (const r of rows) {
      const t = toMs(r[timeCol]);
      if (isNaN(t)) continue;
      xsSet.set(t, true);
      for (const nc of numeric) {
        const name = [labelCols.map((c) => r[c]).join(' · '), numeric.length > 1 || !labelCols.length ? nc : ''].filter(Boolean).join(' ');
        if (!series.has(name)) series.set(name, new Map());
        series.get(name).set(t, Number(r[nc]));
      }
    }
    const xs = [...xsSet.keys()].sort((a, b) => a - b);
    let list = [...series.entries()].map(([name, m]) => ({ name, values: xs.map((x) => m.get(x) ?? 0), total: [...m.values()].reduce((a, b) => a + b, 0) }));
    list.sort((a, b) => b.total - a.total);
    return { time: true, xs, series: list.slice(0, 10), dropped: Math.max(0, list.length - 10) };
  }
  const xs = rows.slice(0, 50).map((r) => labelCols.length ? labelCols.map((c) => String(r[c] ?? '')).join(' · ') : '');
  const series = numeric.slice(0, 10).map((nc) => ({ name: nc, values: rows.slice(0, 50).map((r) => Number(r[nc]) || 0) }));
  return { time: false, xs, series, dropped: Math.max(0, rows.length - 50) };
}

// aggChart draws data from seriesFrom as 'line' or 'bar'.
export function aggChart(container, data, kind) {
  if (!container.isConnected || container.clientWidth === 0) return; // not displayed
  const w = Math.max(240, container.clientWidth - 24);
  clear(container);
  const H = 220;
  const pad = { ...PAD, b: data.time ? 20 : 46 };
  const hgt = H - pad.t - pad.b;
  const all = data.series.flatMap((s) => s.values);
  const max = niceMax(Math.max(0, ...all));
  const root = svg('svg', { width: w, height: H, role: 'img', 'aria-label': `${kind} chart of ${data.series.map((s) => s.name).join(', ')}` });
  const g = svg('g', { class: 'axis' });
  root.append(g);
  yAxis(g, w, hgt, max);
  const n = data.xs.length;
  const inner = w - pad.l - pad.r;
  let xpos;
  if (data.time && n > 1 && kind === 'line') {
    const lo = data.xs[0];
    const hi = data.xs[n - 1];
    xpos = (i) => pad.l + ((data.xs[i] - lo) / (hi - lo || 1)) * inner;
    xTimeAxis(g, (t) => pad.l + ((t - lo) / (hi - lo || 1)) * inner, lo, hi, hgt, w);
  } else {
    xpos = (i) => pad.l + (inner * (i + 0.5)) / Math.max(1, n);
    const step = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(inner / 60))));
    for (let i = 0; i < n; i += step) {
      const lbl = data.time ? timeTick(data.xs[i], data.xs[n - 1] - data.xs[0]) : data.xs[i];
      const t = svg('text', { x: xpos(i), y: pad.t + hgt + 14, 'text-anchor': 'middle' }, lbl.length > 14 ? lbl.slice(0, 13) + '…' : lbl);
      g.append(t);
    }
  }
  const yv = (v) => pad.t + hgt - (v / max) * hgt;
  const tp = tip(container);
  const label = (i) => (data.time ? fmtTime(data.xs[i], false) : data.xs[i] || '(all)');
  data.series.forEach((s, si) => {
    const cls = 'series-' + (si % 10);
    if (kind === 'line') {
      const d = s.values.map((v, i) => (i ? 'L' : 'M') + xpos(i).toFixed(1) + ' ' + yv(v).toFixed(1)).join(' ');
      root.append(svg('path', { class: 'line ' + cls, d }));
      if (n <= 60) s.values.forEach((v, i) => {
        const c = svg('circle', { class: cls, cx: xpos(i), cy: yv(v), r: 2.5 });
        c.addEventListener('pointerenter', (e) => tp.show(xpos(i), yv(v), `${label(i)}  ${s.name}: ${fmtNum(v)}`));
        c.addEventListener('pointerleave', () => tp.hide());
        root.append(c);
      });
    } else {
      const slot = inner / Math.max(1, n);
      const bw = Math.max(1, (slot * 0.8) / data.series.length);
      s.values.forEach((v, i) => {
        const x0 = xpos(i) - (slot * 0.8) / 2 + si * bw;
        const r = svg('rect', { class: cls, x: x0, y: yv(v), width: Math.max(1, bw - 1), height: Math.max(0, pad.t + hgt - yv(v)) });
        r.addEventListener('pointerenter', () => tp.show(x0, yv(v), `${label(i)}  ${s.name}: ${fmtNum(v)}`));
        r.addEventListener('pointerleave', () => tp.hide());
        root.append(r);
      });
    }
  });
  container.append(root);
  const legend = h('div', { class: 'legend' }, data.series.map((s, si) => h('span', {}, h('span', { class: 'sw series-' + (si % 10) }), s.name || 'value')));
  if (data.dropped) legend.append(h('span', { class: 'muted' }, `(${data.dropped} more not charted)`));
  container.append(legend);
}
