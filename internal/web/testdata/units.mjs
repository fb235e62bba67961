// Unit tests of the UI's pure functions, run by TestJSUnits with Node.js:
// node testdata/units.mjs ASSETS_JS_DIR
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const load = (name) => import(pathToFileURL(path.join(dir, name)).href);
const lang = await load('lang.js');
const time = await load('time.js');
const sources = await load('sources.js');

let failed = 0;
function test(name, fn) {
  try { fn(); } catch (err) { failed++; console.log(`FAIL ${name}: ${err.message}`); }
}

test('tokenize types', () => {
  const q = 'error host="web 1" | count by user | where n > 5 | eval x = tolowercase(user)';
  const types = lang.tokenize(q).filter((t) => t.type !== 'ws').map((t) => q.slice(t.start, t.end) + ':' + t.type);
  assert.deepEqual(types, ['error:word', 'host:field', '=:cmp', '"web 1":str', '|:pipe', 'count:op', 'by:kw', 'user:word', '|:pipe',
    'where:op', 'n:field', '>:cmp', '5:num', '|:pipe', 'eval:op', 'x:field', '=:cmp', 'tolowercase:fn', '(:punct', 'user:word', '):punct']);
});

test('tokenize covers every character', () => {
  for (const q of ['', '|', '"unterminated', 'a\\"b', 'x | | y', '!host=a', 'ünïcode | count', '10.0.0.1', '"a\\"b" | x']) {
    const toks = lang.tokenize(q);
    let at = 0;
    for (const t of toks) { assert.equal(t.start, at, q); assert.ok(t.end > t.start, q); at = t.end; }
    assert.equal(at, q.length, q);
  }
});

test('searchExpression and firstPipe', () => {
  assert.equal(lang.searchExpression('error "a|b" | count'), 'error "a|b"');
  assert.equal(lang.searchExpression('error'), 'error');
  assert.equal(lang.searchExpression('| count'), '');
  assert.equal(lang.firstPipe('"|"'), -1);
});

test('addFilter', () => {
  const f = (q, field, v, neg, want) => assert.equal(lang.addFilter(q, field, v, neg), want);
  f('', 'user', 'alice', false, 'user=alice');
  f('*', 'user', 'alice', true, '!user=alice');
  f('error | count by host', 'host', 'web-1', false, 'error host=web-1 | count by host');
  f('error', 'msg', 'a "b" c', false, 'error msg="a \\"b\\" c"');
  f('error', 'level', 'and', false, 'error level="and"');
  f('error', 'odd field', '1', false, 'error "odd field"=1');
});

test('byteToIndex', () => {
  assert.equal(lang.byteToIndex('abc', 2), 2);
  assert.equal(lang.byteToIndex('é | x', 3), 2); // é is 2 bytes
  assert.equal(lang.byteToIndex('日本 | x', 7), 3);
  assert.equal(lang.byteToIndex('ab', 99), 2);
});

test('completions', () => {
  const names = (q, fields = [], force = false) => lang.completions(q, q.length, fields, force).items.map((i) => i.text);
  assert.deepEqual(names('error | co'), ['count', 'count_distinct', 'count_frequent']);
  assert.ok(names('error | ').includes('where'));
  assert.deepEqual(names('error | count'), ['count_distinct', 'count_frequent']);
  assert.deepEqual(names('us', ['user', 'bytes']), ['user']);
  assert.deepEqual(names('error "us', ['user']), []);
  assert.deepEqual(names('error ', ['user']), []);
  assert.ok(names('error ', ['user'], true).includes('user'));
  assert.ok(names('x | where tolow', []).includes('tolowercase'));
});

test('time resolve', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  assert.equal(time.resolve('now', now), now);
  assert.equal(time.resolve('-15m', now), now - 15 * 60e3);
  assert.equal(time.resolve('now-1h', now), now - 3600e3);
  assert.equal(time.resolve('-7d', now), now - 7 * 864e5);
  assert.equal(time.resolve('2026-11-25T10:00:00Z', now), Date.UTC(2026, 10, 25, 10));
  assert.equal(time.resolve('1764064800', now), 1764064800000);
  assert.ok(isNaN(time.resolve('yesterday-ish', now)));
  assert.ok(isNaN(time.resolve('', now)));
});

test('time toMs', () => {
  assert.equal(time.toMs('2026-11-25T10:00:00.5Z'), Date.UTC(2026, 10, 25, 10, 0, 0, 500));
  assert.equal(time.toMs(1764064800123456789), 1764064800123.4568);
  assert.equal(time.toMs('1764064800123'), 1764064800123);
  assert.ok(isNaN(time.toMs(undefined)));
});

test('time normalize', () => {
  assert.equal(time.normalize('-15m'), '-15m');
  assert.equal(time.normalize('now'), 'now');
  assert.equal(time.normalize('2026-11-25T10:00:00Z'), '2026-11-25T10:00:00.000Z');
});

test('bucketFor', () => {
  assert.equal(time.bucketFor(15 * 60e3).text, '10s');
  assert.equal(time.bucketFor(3600e3).text, '30s');
  assert.equal(time.bucketFor(24 * 3600e3).text, '15m');
  assert.equal(time.bucketFor(30 * 864e5).text, '6h');
});

test('parseMetrics and perSource', () => {
  const text = `# HELP mamori_ingest_events_received_total Events accepted by a receiver.
# TYPE mamori_ingest_events_received_total counter
mamori_ingest_events_received_total{receiver="http",source="app"} 10
mamori_ingest_events_received_total{receiver="syslog",source="app"} 5
mamori_ingest_events_received_total{receiver="http",source="we\\"ird"} 1
mamori_ingest_events_rejected_total{receiver="http",source="app"} 2
mamori_ingest_bytes_total{receiver="http",source="app"} 1024
mamori_queries_total{outcome="ok"} 3
garbage line
`;
  const list = sources.perSource(sources.parseMetrics(text));
  assert.equal(list.length, 2);
  assert.equal(list[0].source, 'app');
  assert.equal(list[0].received, 15);
  assert.equal(list[0].rejected, 2);
  assert.equal(list[0].bytes, 1024);
  assert.deepEqual([...list[0].receivers].sort(), ['http', 'syslog']);
  assert.equal(list[1].source, 'we"ird');
});

test('snippets', () => {
  const list = sources.snippets('http://logs.example:9280', 'TKN', 'web');
  assert.deepEqual(list.map((s) => s[0]), ['rsyslog', 'Fluent Bit', 'Vector', 'Filebeat', 'OpenTelemetry Collector', 'curl']);
  for (const [name, text] of list) {
    assert.ok(text.includes('logs.example'), name);
    if (name !== 'rsyslog') assert.ok(text.includes('TKN'), name);
  }
  assert.ok(list[1][1].includes('Port             9280'));
  assert.ok(sources.snippets('https://x.example', '', '')[1][1].includes('Port             443'));
});

if (failed) { console.log(`${failed} failed`); process.exit(1); }
console.log('ok');
