// Knowledge of the query language for the editor: a tolerant tokenizer for
// highlighting, the operator list for autocompletion, and helpers that edit
// query text. The server's parser (internal/query) stays the authority:
// this code never rejects a query, it only colours it.

// Pipe operators (docs/query-language.md) with a one-line summary.
export const OPERATORS = [
  ['where', 'keep rows where an expression is true: where status >= 500'],
  ['filter', 'same as where'],
  ['count', 'count rows, optionally by fields: count by host'],
  ['count_distinct', 'distinct values of a field: count_distinct(user) by host'],
  ['sum', 'sum of a numeric field: sum(bytes) by host'],
  ['avg', 'average: avg(latency) by service'],
  ['min', 'minimum: min(latency)'],
  ['max', 'maximum: max(latency)'],
  ['stddev', 'standard deviation: stddev(latency)'],
  ['pct', 'percentile: pct(latency, 95)'],
  ['first', 'first value in a group'],
  ['last', 'last value in a group'],
  ['most_recent', 'value of the newest row in a group'],
  ['least_recent', 'value of the oldest row in a group'],
  ['values', 'distinct values in a group'],
  ['timeslice', 'bucket time: timeslice 1m, then count by _timeslice'],
  ['top', 'most frequent values: top 10 user'],
  ['count_frequent', 'most frequent value combinations: count_frequent host, user'],
  ['sort', 'order rows: sort by _count desc'],
  ['order', 'same as sort'],
  ['limit', 'keep the first N rows: limit 100'],
  ['head', 'same as limit'],
  ['dedup', 'drop repeated rows: dedup user'],
  ['fields', 'keep or drop fields: fields host, user'],
  ['eval', 'compute a field: eval kb = bytes / 1024'],
  ['parse', 'extract fields with a pattern: parse "user=* " as user'],
  ['json', 'extract JSON fields from _raw: json "a.b" as b'],
  ['kv', 'extract key=value pairs'],
  ['lookup', 'enrich from a lookup table'],
  ['outlier', 'flag values far from their moving average'],
  ['logreduce', 'group similar messages into patterns'],
  ['logcompare', 'compare message patterns between two time ranges'],
];

export const FUNCTIONS = ['abs', 'ceil', 'floor', 'sqrt', 'exp', 'log', 'round', 'pow', 'tolong', 'num', 'todouble',
  'tostring', 'concat', 'tolowercase', 'touppercase', 'trim', 'length', 'substring', 'replace', 'contains',
  'startswith', 'endswith', 'indexof', 'if', 'isnull'];

export const KEYWORDS = ['and', 'or', 'not', 'by', 'as', 'in', 'asc', 'desc', 'buckets', 'nodrop'];

export const META_FIELDS = ['_time', '_raw', '_source', '_host', '_category', '_partition', '_received', '_timeslice', '_count'];

const opSet = new Set(OPERATORS.map((o) => o[0]));
const kwSet = new Set(KEYWORDS);

const isSpace = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c) => c >= '0' && c <= '9';
const isWord = (c) => /[\p{L}\p{N}_.\-*?@:\/\\\[\]{}#$%^~]/u.test(c);

// tokenize splits text into {type, start, end} tokens. Types: ws, pipe, op,
// kw, str, num, field, fn, cmp, punct, word.
export function tokenize(text) {
  const out = [];
  let i = 0;
  let stageStart = true; // the next word is an operator name
  const n = text.length;
  const push = (type, start, end) => out.push({ type, start, end });
  while (i < n) {
    const c = text[i];
    const s = i;
    if (isSpace(c)) {
      while (i < n && isSpace(text[i])) i++;
      push('ws', s, i);
      continue;
    }
    if (c === '|') { i++; push('pipe', s, i); stageStart = true; continue; }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && text[i] !== c) { if (text[i] === '\\') i++; i++; }
      i = Math.min(n, i + 1);
      push('str', s, i);
      stageStart = false;
      continue;
    }
    if ('=!<>'.includes(c)) {
      i++;
      if (i < n && text[i] === '=') i++;
      push('cmp', s, i);
      continue;
    }
    if ('(),+'.includes(c) || (c === '-' && !(i + 1 < n && isWord(text[i + 1])))) { i++; push('punct', s, i); continue; }
    if (isDigit(c) && !stageStart) {
      while (i < n && isWord(text[i])) i++;
      const w = text.slice(s, i);
      push(/^\d+(\.\d+)?([a-zA-Z]{1,3})?$/.test(w) ? 'num' : 'word', s, i);
      continue;
    }
    if (isWord(c)) {
      while (i < n && isWord(text[i])) i++;
      const w = text.slice(s, i);
      const lw = w.toLowerCase();
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
      const next = text[j] || '';
      let type = 'word';
      if (stageStart && opSet.has(lw)) type = 'op';
      else if (next === '(') type = 'fn';
      else if ('=!<>'.includes(next) && text.slice(j, j + 2) !== '=>' ) type = 'field';
      else if (kwSet.has(lw)) type = 'kw';
      push(type, s, i);
      stageStart = false;
      continue;
    }
    i++;
    push('punct', s, i);
  }
  return out;
}

// firstPipe returns the index of the first pipe outside quotes, or -1.
export function firstPipe(text) {
  for (const t of tokenize(text)) if (t.type === 'pipe') return t.start;
  return -1;
}

// searchExpression returns the part of a query before its first pipe.
export function searchExpression(text) {
  const i = firstPipe(text);
  return (i < 0 ? text : text.slice(0, i)).trim();
}

// byteToIndex converts a UTF-8 byte offset (as the server reports it) to a
// JavaScript string index.
export function byteToIndex(text, byteOff) {
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    if (bytes >= byteOff) return i;
    const cp = ch.codePointAt(0);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += ch.length;
  }
  return text.length;
}

// quoteValue writes a value for field=value: bare when it is a plain word.
export function quoteValue(v) {
  const s = String(v);
  if (/^[\p{L}\p{N}_.:@\/\-]+$/u.test(s) && !kwSet.has(s.toLowerCase())) return s;
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

function fieldName(f) {
  return /^[\p{L}\p{N}_.\-]+$/u.test(f) ? f : '"' + f.replace(/"/g, '\\"') + '"';
}

// addFilter adds field=value (or !field=value) to the search expression of
// query, keeping its pipe stages.
export function addFilter(query, field, value, negate) {
  const clause = (negate ? '!' : '') + fieldName(field) + '=' + quoteValue(value);
  const i = firstPipe(query);
  const head = (i < 0 ? query : query.slice(0, i)).trim();
  const tail = i < 0 ? '' : ' ' + query.slice(i).trim();
  const expr = head === '' || head === '*' ? clause : head + ' ' + clause;
  return expr + tail;
}

// wordAt returns the word being typed at caret: {start, prefix}.
export function wordAt(text, caret) {
  let s = caret;
  while (s > 0 && /[\p{L}\p{N}_.\-]/u.test(text[s - 1])) s--;
  return { start: s, prefix: text.slice(s, caret) };
}

function inQuotes(text, caret) {
  let q = null;
  for (let i = 0; i < caret; i++) {
    const c = text[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
  }
  return q !== null;
}

// completions lists suggestions for the caret position: operators at the
// start of a stage, else fields, functions and keywords.
export function completions(text, caret, fields, force) {
  const { start, prefix } = wordAt(text, caret);
  const before = text.slice(0, start).trimEnd();
  const lp = prefix.toLowerCase();
  if (inQuotes(text, caret)) return { start, items: [] };
  const atStage = before.endsWith('|');
  if (!atStage && !prefix && !force) return { start, items: [] };
  let items = [];
  if (atStage) {
    items = OPERATORS.filter(([name]) => name.startsWith(lp) && name !== lp).map(([name, doc]) => ({ text: name, kind: 'operator', doc, suffix: ' ' }));
  } else {
    const seen = new Set();
    const add = (text, kind, doc, suffix) => { if (!seen.has(text) && text.toLowerCase().startsWith(lp) && text !== prefix) { seen.add(text); items.push({ text, kind, doc, suffix }); } };
    for (const f of fields) add(f, 'field', '', '');
    for (const f of META_FIELDS) add(f, 'field', 'metadata', '');
    if (firstPipe(text) >= 0 && firstPipe(text) < caret) {
      for (const f of FUNCTIONS) add(f, 'function', '', '(');
      for (const k of KEYWORDS) add(k, 'keyword', '', ' ');
    } else {
      for (const k of ['and', 'or', 'not']) add(k, 'keyword', '', ' ');
    }
  }
  return { start, items: items.slice(0, 50) };
}
