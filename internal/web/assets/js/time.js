// Time ranges: the server takes from/to as RFC 3339 or relative ("-15m",
// "now"); the UI keeps that text (so a shared URL stays relative) and
// resolves it to milliseconds when it needs numbers.
import { h, popover } from './dom.js';

export const PRESETS = [
  ['-5m', 'Last 5 minutes'], ['-15m', 'Last 15 minutes'], ['-1h', 'Last hour'], ['-4h', 'Last 4 hours'],
  ['-24h', 'Last 24 hours'], ['-7d', 'Last 7 days'], ['-30d', 'Last 30 days'],
];

const unitMs = { ms: 1, s: 1e3, m: 6e4, min: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

// resolve turns a time argument into epoch milliseconds, or NaN.
export function resolve(arg, now = Date.now()) {
  const s = String(arg || '').trim().toLowerCase();
  if (s === '' ) return NaN;
  if (s === 'now') return now;
  const m = /^(?:now)?([+-])(\d+(?:\.\d+)?)(ms|s|min|m|h|d|w)$/.exec(s);
  if (m) return now + (m[1] === '-' ? -1 : 1) * parseFloat(m[2]) * unitMs[m[3]];
  if (/^\d+$/.test(s)) return epochToMs(Number(s));
  let t = Date.parse(arg);
  if (isNaN(t) && /^\d{4}-\d{2}-\d{2} \d/.test(arg)) t = Date.parse(arg.replace(' ', 'T'));
  return t;
}

// epochToMs guesses the unit of an epoch number from its size.
export function epochToMs(n) {
  if (n > 1e17) return n / 1e6; // nanoseconds
  if (n > 1e14) return n / 1e3; // microseconds
  if (n > 1e11) return n; // milliseconds
  return n * 1e3; // seconds
}

// toMs converts a row's time value (RFC 3339 text or an epoch number) to
// epoch milliseconds, or NaN.
export function toMs(v) {
  if (typeof v === 'number') return epochToMs(v);
  if (typeof v === 'string') return /^\d+$/.test(v) ? epochToMs(Number(v)) : Date.parse(v);
  return NaN;
}

// normalize prepares a user's time text for the server: relative forms
// pass through, absolute local times become RFC 3339 UTC.
export function normalize(arg) {
  const s = String(arg || '').trim();
  if (/^(now)?([+-]\d+(\.\d+)?(ms|s|min|m|h|d|w))?$/i.test(s) || /^\d+$/.test(s)) return s;
  const t = resolve(s);
  return isNaN(t) ? s : new Date(t).toISOString();
}

export function label(from, to) {
  const p = PRESETS.find(([v]) => v === from);
  if (p && (to === 'now' || !to)) return p[1];
  if (/^-\d/.test(from) && (to === 'now' || !to)) return 'Last ' + from.slice(1);
  return fmtTime(resolve(from)) + ' → ' + (to === 'now' ? 'now' : fmtTime(resolve(to)));
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// fmtTime formats epoch ms as local "YYYY-MM-DD HH:MM:SS.mmm".
export function fmtTime(ms, withMs = true) {
  if (isNaN(ms)) return '';
  const d = new Date(ms);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? s + '.' + pad(d.getMilliseconds(), 3) : s;
}

// bucketFor picks a timeslice span giving at most ~120 bars over the range.
export function bucketFor(rangeMs) {
  const spans = [['1s', 1e3], ['5s', 5e3], ['10s', 1e4], ['30s', 3e4], ['1m', 6e4], ['5m', 3e5], ['10m', 6e5], ['15m', 9e5],
    ['30m', 18e5], ['1h', 36e5], ['3h', 108e5], ['6h', 216e5], ['12h', 432e5], ['1d', 864e5], ['7d', 6048e5]];
  for (const s of spans) if (rangeMs / s[1] <= 120) return { text: s[0], ms: s[1] };
  return { text: '30d', ms: 2592e6 };
}

// TimePicker is a button that opens presets and absolute from/to fields.
export class TimePicker {
  constructor({ from, to, onChange }) {
    this.from = from;
    this.to = to;
    this.onChange = onChange;
    this.btn = h('button', { type: 'button', class: 'tp-btn', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', title: 'Time range',
      onclick: () => this.open() });
    this.el = h('div', { class: 'tp' }, this.btn);
    this.update();
  }

  set(from, to) { this.from = from; this.to = to; this.update(); }

  update() { this.btn.textContent = label(this.from, this.to) + ' ▾'; }

  open() {
    if (this.pop) { this.pop.close(); return; }
    const fromIn = h('input', { id: 'tp-from', type: 'text', value: this.from, spellcheck: 'false', placeholder: '-1h or 2026-11-25 10:00' });
    const toIn = h('input', { id: 'tp-to', type: 'text', value: this.to, spellcheck: 'false', placeholder: 'now' });
    const msg = h('div', { class: 'q-error', role: 'alert' });
    const apply = (f, t) => {
      if (isNaN(resolve(f)) || isNaN(resolve(t))) { msg.textContent = 'Use a relative time (-15m, -2h, -7d, now) or a date like 2026-11-25 10:00 or RFC 3339.'; return; }
      if (resolve(f) >= resolve(t)) { msg.textContent = '"From" must be before "to".'; return; }
      this.pop.close();
      this.set(normalize(f), normalize(t));
      this.onChange(this.from, this.to);
    };
    const presets = h('div', { class: 'tp-presets', role: 'group', 'aria-label': 'Relative ranges' },
      PRESETS.map(([v, l]) => h('button', { type: 'button', 'aria-pressed': String(v === this.from && this.to === 'now'), onclick: () => apply(v, 'now') }, l)));
    const form = h('form', { class: 'tp-abs', onsubmit: (e) => { e.preventDefault(); apply(fromIn.value, toIn.value); } },
      h('h3', {}, 'Custom range'),
      h('label', { for: 'tp-from' }, 'From'), fromIn,
      h('label', { for: 'tp-to' }, 'To'), toIn,
      h('div', { class: 'field-hint' }, 'Relative (-15m, -24h, -7d, now) or absolute local time (2026-11-25 10:00) or RFC 3339.'),
      msg,
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
    this.pop = popover(this.btn, h('div', { class: 'tp-pop' }, presets, form), { onClose: () => { this.pop = null; } });
  }
}
