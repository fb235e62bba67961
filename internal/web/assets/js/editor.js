// The query editor: a textarea over a highlighted copy of its text (the
// textarea's own text is transparent, its caret is not), autocompletion of
// operators, fields, functions and keywords, and inline errors at the offset
// the server reports.
import { h, clear } from './dom.js';
import { tokenize, completions, byteToIndex } from './lang.js';

let seq = 0;

export class QueryEditor {
  // opts: value, placeholder, onRun(), onChange(text), fields() -> string[].
  constructor(opts) {
    this.opts = opts;
    this.err = null; // {start, end, msg}
    this.ac = { open: false, items: [], sel: 0, start: 0 };
    const id = 'q' + ++seq;
    this.hl = h('pre', { class: 'q-hl', 'aria-hidden': 'true' });
    this.ta = h('textarea', {
      class: 'q-input', id: id + '-input', rows: 1, spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off',
      'aria-label': 'Query', placeholder: opts.placeholder || '', 'aria-autocomplete': 'list', 'aria-controls': id + '-ac',
      'aria-expanded': 'false', 'aria-describedby': id + '-err', role: 'combobox', 'aria-multiline': 'true',
    });
    this.ta.value = opts.value || '';
    this.list = h('ul', { class: 'ac hidden', role: 'listbox', id: id + '-ac', 'aria-label': 'Suggestions' });
    this.errEl = h('div', { class: 'q-error', id: id + '-err', 'aria-live': 'polite' });
    this.box = h('div', { class: 'q-editor' }, this.hl, this.ta);
    this.el = h('div', { class: 'q-wrap' }, this.box, this.list, this.errEl);
    this.ta.addEventListener('input', () => this.onInput());
    this.ta.addEventListener('keydown', (e) => this.onKey(e));
    this.ta.addEventListener('scroll', () => { this.hl.scrollTop = this.ta.scrollTop; });
    this.ta.addEventListener('blur', () => setTimeout(() => this.closeAC(), 120));
    this.ta.addEventListener('click', () => this.closeAC());
    this.render();
    requestAnimationFrame(() => this.autosize());
  }

  get value() { return this.ta.value; }
  set value(v) { this.ta.value = v; this.clearError(); this.render(); this.autosize(); }
  focus() { this.ta.focus(); }

  // setError marks the query at byteOffset (UTF-8, as the server counts)
  // and shows msg under the editor.
  setError(msg, byteOffset) {
    const text = this.ta.value;
    if (typeof byteOffset === 'number' && byteOffset >= 0) {
      const start = byteToIndex(text, byteOffset);
      let end = start + 1;
      for (const t of tokenize(text)) if (t.type !== 'ws' && t.start <= start && start < t.end) { end = t.end; break; }
      this.err = { start, end: Math.min(end, text.length), msg };
    } else {
      this.err = { start: -1, end: -1, msg };
    }
    this.box.classList.add('has-error');
    this.ta.setAttribute('aria-invalid', 'true');
    clear(this.errEl);
    const col = this.err.start >= 0 ? this.position(this.err.start) : '';
    this.errEl.append(h('strong', {}, 'Query error'), col ? ` at ${col}: ` : ': ', msg);
    this.render();
  }

  clearError() {
    if (!this.err) return;
    this.err = null;
    this.box.classList.remove('has-error');
    this.ta.removeAttribute('aria-invalid');
    clear(this.errEl);
    this.render();
  }

  position(i) {
    const before = this.ta.value.slice(0, i).split('\n');
    return before.length > 1 ? `line ${before.length}, column ${before[before.length - 1].length + 1}` : `column ${i + 1}`;
  }

  onInput() {
    this.clearError();
    this.render();
    this.autosize();
    this.updateAC(false);
    if (this.opts.onChange) this.opts.onChange(this.ta.value);
  }

  autosize() {
    this.ta.style.height = 'auto';
    this.ta.style.height = Math.min(200, this.ta.scrollHeight + 2) + 'px';
  }

  // render rebuilds the highlighted copy, with a marker at the caret used
  // to place the suggestion list.
  render() {
    const text = this.ta.value;
    const caret = this.ta.selectionStart ?? text.length;
    const frag = document.createDocumentFragment();
    const err = this.err && this.err.start >= 0 ? this.err : null;
    const cuts = new Set([caret]);
    if (err) { cuts.add(err.start); cuts.add(err.end); }
    for (const t of tokenize(text)) {
      let s = t.start;
      const points = [...cuts].filter((c) => c > t.start && c < t.end).sort((a, b) => a - b);
      for (const p of [...points, t.end]) {
        this.piece(frag, t.type, s, p, text, err);
        if (p === caret && p !== t.end) frag.append(this.mark());
        s = p;
      }
      if (t.end === caret) frag.append(this.mark());
    }
    if (caret === 0) frag.prepend(this.mark());
    if (err && err.start >= text.length) frag.append(h('span', { class: 't-err-eol' }));
    frag.append('\n');
    clear(this.hl).append(frag);
    this.hl.scrollTop = this.ta.scrollTop;
  }

  mark() { return (this.caretMark = h('span', { class: 'caret-mark' })); }

  piece(frag, type, s, e, text, err) {
    if (e <= s) return;
    let cls = type === 'ws' || type === 'word' || type === 'punct' ? '' : 't-' + type;
    if (type === 'cmp') cls = 't-kw';
    if (err && s >= err.start && e <= err.end) cls += ' t-err';
    const str = text.slice(s, e);
    frag.append(cls ? h('span', { class: cls.trim() }, str) : str);
  }

  onKey(e) {
    if (this.ac.open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = this.ac.items.length;
        this.ac.sel = (this.ac.sel + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        this.drawAC();
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); this.accept(this.ac.sel); return; }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); this.closeAC(); return; }
    }
    if (e.key === ' ' && e.ctrlKey) { e.preventDefault(); this.updateAC(true); return; }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey) {
      e.preventDefault();
      this.closeAC();
      this.opts.onRun();
    }
  }

  updateAC(force) {
    const caret = this.ta.selectionStart;
    if (caret !== this.ta.selectionEnd) { this.closeAC(); return; }
    const { start, items } = completions(this.ta.value, caret, this.opts.fields ? this.opts.fields() : [], force);
    if (!items.length) { this.closeAC(); return; }
    this.ac = { open: true, items, sel: 0, start };
    this.drawAC();
  }

  drawAC() {
    const list = clear(this.list);
    this.ac.items.forEach((it, i) => {
      const li = h('li', { role: 'option', id: list.id + '-' + i, 'aria-selected': i === this.ac.sel ? 'true' : 'false',
        onmousedown: (e) => { e.preventDefault(); this.accept(i); } },
      h('span', { class: 'ac-name' }, it.text), it.doc ? h('span', { class: 'ac-doc' }, it.doc) : null, h('span', { class: 'ac-kind' }, it.kind));
      list.append(li);
    });
    list.classList.remove('hidden');
    this.ta.setAttribute('aria-expanded', 'true');
    this.ta.setAttribute('aria-activedescendant', list.id + '-' + this.ac.sel);
    const m = this.caretMark;
    if (m) {
      list.style.left = Math.max(0, Math.min(m.offsetLeft, this.box.clientWidth - 260)) + 'px';
      list.style.top = (m.offsetTop - this.hl.scrollTop + 26) + 'px';
    }
    const selEl = list.children[this.ac.sel];
    if (selEl) selEl.scrollIntoView({ block: 'nearest' });
  }

  closeAC() {
    if (!this.ac.open) return;
    this.ac.open = false;
    this.list.classList.add('hidden');
    this.ta.setAttribute('aria-expanded', 'false');
    this.ta.removeAttribute('aria-activedescendant');
  }

  accept(i) {
    const it = this.ac.items[i];
    if (!it) return;
    const v = this.ta.value;
    const caret = this.ta.selectionStart;
    const ins = it.text + (v[caret] === it.suffix ? '' : it.suffix);
    this.ta.value = v.slice(0, this.ac.start) + ins + v.slice(caret);
    const pos = this.ac.start + ins.length;
    this.ta.setSelectionRange(pos, pos);
    this.closeAC();
    this.onInput();
    if (it.kind === 'operator') this.closeAC();
  }
}
