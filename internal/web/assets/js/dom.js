// Small DOM helpers shared by the pages. Everything is built with
// createElement and textContent: no HTML strings built from data, no inline styles
// in markup (the Content-Security-Policy forbids both).

// h creates an element. attrs: class, text, on<event> handlers, style (an
// object applied through CSSOM), dataset, and plain attributes (false/null
// values are skipped). children: nodes, strings, arrays, null.
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// svg creates an SVG element.
export function svg(tag, attrs, ...children) { return h('svg:' + tag, attrs, ...children); }

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

export function replace(el, ...children) { clear(el); return append(el, children); }

// toast shows a short message in the corner; kind is 'ok' or 'error'.
export function toast(msg, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: 'toast ' + kind, role: kind === 'error' ? 'alert' : 'status' }, msg);
  box.append(t);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3500);
}

// errorBox renders an error for the user, in words.
export function errorBox(title, err) {
  return h('div', { class: 'alert error', role: 'alert' }, h('strong', {}, title), ' ', err && err.message ? err.message : String(err || ''));
}

const nf = new Intl.NumberFormat();
export function fmtNum(n) { return typeof n === 'number' ? nf.format(n) : String(n); }

export function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

export function fmtDuration(ms) {
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
}

// popover opens content below anchor; it closes on Escape, outside clicks
// and close(). Focus returns to the anchor.
export function popover(anchor, content, { align = 'right', onClose } = {}) {
  const host = anchor.parentElement;
  const pop = h('div', { class: 'pop' + (align === 'left' ? ' left' : ''), role: 'dialog' }, content);
  host.append(pop);
  anchor.setAttribute('aria-expanded', 'true');
  const onDoc = (e) => { if (!pop.contains(e.target) && !anchor.contains(e.target)) close(); };
  const onKey = (e) => { if (e.key === 'Escape') { e.stopPropagation(); close(); anchor.focus(); } };
  setTimeout(() => document.addEventListener('mousedown', onDoc), 0);
  pop.addEventListener('keydown', onKey);
  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    document.removeEventListener('mousedown', onDoc);
    anchor.setAttribute('aria-expanded', 'false');
    pop.remove();
    if (onClose) onClose();
  }
  const first = pop.querySelector('input, button, select, textarea, [tabindex]');
  if (first) first.focus();
  return { el: pop, close };
}

// modal shows a <dialog> with content and resolves with the value passed to
// done(value), or null when cancelled.
export function modal(title, build) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { 'aria-label': title });
    let result = null;
    const done = (v) => { result = v; dlg.close(); };
    dlg.append(h('h2', {}, title), build(done));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// confirmDialog asks a yes/no question.
export function confirmDialog(title, text, yes = 'OK', danger = false) {
  return modal(title, (done) => h('div', {},
    h('p', {}, text),
    h('div', { class: 'row' },
      h('button', { type: 'button', onclick: () => done(false) }, 'Cancel'),
      h('button', { type: 'button', class: danger ? 'primary danger' : 'primary', onclick: () => done(true) }, yes))));
}

// promptDialog asks for one line of text.
export function promptDialog(title, label, initial = '') {
  return modal(title, (done) => {
    const input = h('input', { type: 'text', value: initial, required: true, id: 'prompt-input' });
    const form = h('form', { onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) done(input.value.trim()); } },
      h('label', { for: 'prompt-input' }, label), input,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Save')));
    setTimeout(() => input.focus(), 0);
    return form;
  });
}

// download saves text as a file.
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard');
  } catch {
    toast('The browser refused clipboard access; select the text and copy it by hand', 'error');
  }
}

// isTyping reports whether a key event comes from a text field (so page
// shortcuts must not fire).
export function isTyping(e) {
  const t = e.target;
  return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}
