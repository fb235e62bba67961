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
const attack = await load('attack.js');
const incidents = await load('incidents.js');
const settings = await load('settings.js');
const signals = await load('signals.js');
const dashboards = await load('dashboards.js');
const saved = await load('saved.js');
const qr = await load('qr.js');

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

test('tacticsProgress', () => {
  const p = attack.tacticsProgress([
    { time: '2026-11-25T10:00:00Z', tactics: ['execution'] },
    { time: '2026-11-25T09:00:00Z', tactics: ['initial_access', 'execution'] },
    { time: '2026-11-25T11:00:00Z', tactics: ['made_up'] },
    { time: '2026-11-25T11:00:00Z' },
  ]);
  const hit = p.filter((x) => x.count).map((x) => `${x.tactic}:${x.count}`);
  assert.deepEqual(hit, ['initial_access:1', 'execution:2', 'made_up:1']);
  const ex = p.find((x) => x.tactic === 'execution');
  assert.equal(ex.first, Date.UTC(2026, 10, 25, 9));
  assert.equal(ex.last, Date.UTC(2026, 10, 25, 10));
  assert.equal(attack.tacticsProgress(null).length, 14);
  assert.equal(attack.tacticLabel('command_and_control'), 'Command and Control');
});

test('coverage', () => {
  const c = attack.coverage([
    { enabled: true, tactics: ['execution', 'persistence'], hits: 3, level: 'high' },
    { enabled: true, tactics: ['execution'], hits: 1, level: 'low' },
    { enabled: false, tactics: ['impact'], hits: 9 },
    { enabled: true, hits: 2 },
  ]);
  const ex = c.rows.find((r) => r.tactic === 'execution');
  assert.deepEqual([ex.rules, ex.hits, ex.levels.high, ex.levels.low], [2, 4, 1, 1]);
  assert.equal(c.rows.find((r) => r.tactic === 'impact').rules, 0);
  assert.equal(c.untagged, 1);
});

test('entityGraph and layoutGraph', () => {
  const sig = (...ents) => ({ entities: ents.map(([type, value]) => ({ type, value })) });
  const g = attack.entityGraph([
    sig(['host', 'web-1'], ['user', 'zoe'], ['ip', '198.51.100.7']),
    sig(['host', 'web-1'], ['user', 'zoe'], ['user', 'zoe']),
    sig(['host', 'db-1']),
    { entities: [{ type: 'ip', value: '' }, null] },
    {},
  ]);
  assert.equal(g.nodes.length, 4);
  assert.equal(g.nodes[0].value, 'web-1');
  assert.equal(g.nodes[0].signals, 2);
  const w = g.edges.find((e) => e.a.includes('web-1') && e.b.includes('zoe') || e.b.includes('web-1') && e.a.includes('zoe'));
  assert.equal(w.weight, 2);
  assert.equal(g.edges.length, 3);
  const L = attack.layoutGraph(g, { width: 600 });
  assert.deepEqual(L.columns.map((c) => c.type), ['host', 'user', 'ip']);
  const xs = new Set([...L.pos.values()].map((p) => p.x));
  assert.equal(xs.size, 3);
  for (const p of L.pos.values()) assert.ok(p.x >= 0 && p.x <= 600 && p.y > 0 && p.y < L.height);
  const big = attack.entityGraph(Array.from({ length: 100 }, (_, i) => sig(['ip', '10.0.0.' + i])), 40);
  assert.equal(big.nodes.length, 40);
  assert.equal(big.dropped, 60);
});

test('incident helpers', () => {
  const u = new URL('http://x' + incidents.aroundURL({ time: '2026-11-25T10:00:00Z', event_host: 'web 1' }));
  assert.equal(u.searchParams.get('q'), '_host="web 1"');
  assert.equal(u.searchParams.get('from'), '2026-11-25T09:55:00.000Z');
  assert.equal(u.searchParams.get('to'), '2026-11-25T10:05:00.000Z');
  assert.equal(new URL('http://x' + incidents.aroundURL({ time: 'bad', event_source: 'fw' })).searchParams.get('q'), '_source=fw');
  assert.equal(incidents.changeNote({ status: 'new' }, { status: 'in_progress', assignee: 'ana' }), 'Status: New → In progress. Assignee: nobody → ana.');
  assert.equal(incidents.changeNote({ status: 'new', assignee: 'ana' }, { status: 'new', assignee: 'ana' }), '');
  assert.equal(incidents.changeNote({ status: 'in_progress' }, { status: 'closed', resolution: 'false_positive', assignee: '' }), 'Status: In progress → Closed (false positive).');
});

test('signals summarize', () => {
  const s = signals.summarize([{ rule_id: 'a', title: 'A', severity: 'high', event_host: 'h1' }, { rule_id: 'a', severity: 'high', event_host: 'h2' }, { rule_id: 'b', level: 'low' }]);
  assert.deepEqual(s.sev, { high: 2, low: 1 });
  assert.deepEqual(s.rules.map((r) => `${r.id}:${r.count}`), ['a:2', 'b:1']);
  assert.equal(s.hosts.length, 2);
});

test('source rates and health', () => {
  const hist = new Map();
  sources.record(hist, [{ source: 'a', received: 10, rejected: 0, bytes: 100 }], 0);
  sources.record(hist, [{ source: 'a', received: 30, rejected: 0, bytes: 300 }], 10000);
  sources.record(hist, [{ source: 'a', received: 30, rejected: 0, bytes: 300 }], 20000);
  sources.record(hist, [{ source: 'a', received: 5, rejected: 0, bytes: 50 }], 25000); // restart
  const r = sources.rates(hist.get('a'));
  assert.deepEqual(r.map((x) => x.eps), [2, 0, 1]);
  assert.equal(sources.lastChange(hist.get('a')), 10000);
  assert.ok(isNaN(sources.lastChange([{ t: 1, received: 3 }])));
  for (let i = 0; i < 70; i++) sources.record(hist, [{ source: 'a', received: i, rejected: 0, bytes: 0 }], 30000 + i);
  assert.equal(hist.get('a').length, 60);
  sources.record(hist, [{ source: 'late', received: 4, rejected: 0, bytes: 9 }], 200000, 190000);
  assert.deepEqual(sources.rates(hist.get('late')).map((x) => x.eps), [0.4]);
  assert.equal(sources.lastChange(hist.get('late')), 200000);
  assert.equal(sources.health(NaN, 1e6), 'unknown');
  assert.equal(sources.health(1e6 - 60e3, 1e6), 'live');
  assert.equal(sources.health(1e6 - 20 * 60e3, 1e6), 'quiet');
  assert.equal(sources.fmtRate(0), '0/s');
  assert.equal(sources.fmtRate(0.5), '30.0/min');
  assert.equal(sources.fmtRate(2.25), '2.3/s');
});

test('settings helpers', () => {
  assert.deepEqual(settings.parseCSVHeader('host, owner ,"a ""b"", c"\nx,y,z'), ['host', 'owner', 'a "b", c']);
  assert.deepEqual(settings.parseCSVHeader(''), []);
  assert.deepEqual(settings.splitList(' main, audit  web '), ['main', 'audit', 'web']);
  assert.deepEqual(settings.splitList(''), []);
});

test('settings sizes', () => {
  assert.equal(settings.parseSize(''), 0);
  assert.equal(settings.parseSize('0'), 0);
  assert.equal(settings.parseSize('500GB'), 500e9);
  assert.equal(settings.parseSize('1.5 gb'), 1.5e9);
  assert.equal(settings.parseSize('2TiB'), 2 * 2 ** 40);
  assert.equal(settings.parseSize('123'), 123);
  assert.throws(() => settings.parseSize('lots'), /not a size/);
  assert.throws(() => settings.parseSize('-5GB'), /not a size/);
  for (const n of [500e9, 2 ** 30, 3 * 2 ** 40, 1e12, 7e6, 12345]) assert.equal(settings.parseSize(settings.fmtSize(n)), n);
  assert.equal(settings.fmtSize(500e9), '500GB');
  assert.equal(settings.fmtSize(2 ** 30), '1GiB');
});

test('saved searches from the server', () => {
  const it = { id: 'a1', name: 'N', query: 'x | count', from: '-24h', owner: 'user:ana', owner_name: 'ana', shared: true, updated: '2026-01-02T03:04:05Z' };
  const got = saved.fromServer(it, 'user:ana');
  assert.deepEqual([got.id, got.q, got.from, got.to, got.mine, got.shared, got.owner], ['a1', 'x | count', '-24h', 'now', true, true, 'ana']);
  assert.equal(saved.fromServer(it, 'user:bob').mine, false);
  assert.equal(saved.fromServer({ id: 'b', name: 'M' }, '').from, '-1h');
});

test('dashboards sanitize and singleValue', () => {
  const got = dashboards.sanitize([{ name: 'D', panels: [{ query: 'x | count', kind: 'pie', w: 5 }, { title: 'no query' }, null] }, { panels: [] }, 'junk']);
  assert.equal(got.length, 1);
  assert.equal(got[0].panels.length, 1);
  assert.deepEqual([got[0].panels[0].kind, got[0].panels[0].w, got[0].panels[0].title], ['table', 6, 'x | count']);
  assert.deepEqual(dashboards.sanitize({ name: 'x' }), []);
  assert.equal(dashboards.sanitize([dashboards.STARTER])[0].panels.length, dashboards.STARTER.panels.length);
  const mem = { v: '{bad', getItem() { return this.v; } };
  assert.deepEqual(dashboards.load(mem), []);
  assert.deepEqual(dashboards.singleValue([{ _source: 'a', _count: 7 }]), { name: '_count', value: 7 });
  assert.deepEqual(dashboards.singleValue([{ host: 'a', n: '12' }]), { name: 'n', value: '12' });
  assert.equal(dashboards.singleValue([]), null);
  const k = (q) => dashboards.guessKind(q);
  assert.deepEqual([k('x | timeslice 1m | count by _timeslice'), k('x | count'), k('x | count by user'), k('error'), k('a | count | where _count > 1')],
    ['line', 'single', 'bar', 'table', 'single']);
});

test('qr', () => {
  // The worked example of 1-M "HELLO WORLD" (alphanumeric data codewords).
  assert.deepEqual(qr.rsRemainder([32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17], 10), [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
  assert.equal(qr.encode('a').length, 21);
  assert.equal(qr.encode('x'.repeat(213)).length, 57);
  assert.throws(() => qr.encode('x'.repeat(214)), /do not fit/);
  // Golden: the same symbol as the qrcode npm package (byte mode, M, mask 2);
  // checked over versions 1–10 and all masks when this encoder was written.
  const m = qr.encode('otpauth://totp/Mamori:sam?secret=IBYK3PML267YFQ5MDXBCF54MB7CF4P3H&issuer=Mamori', 2);
  const s = m.map((r) => r.map((v) => (v ? '1' : '0')).join('') + '\n').join('');
  let hsh = 0x811c9dc5;
  for (const c of s) { hsh ^= c.charCodeAt(0); hsh = Math.imul(hsh, 0x01000193) >>> 0; }
  assert.equal(m.length, 37);
  assert.equal(hsh.toString(16), '3574a79b');
  const auto = qr.encode('otpauth://x');
  assert.ok(auto.every((r) => r.every((v) => typeof v === 'boolean')));
});

if (failed) { console.log(`${failed} failed`); process.exit(1); }
console.log('ok');
