// The Sources page: what each source has sent (from /metrics), API tokens
// (list, create, revoke; admin only), and ready-to-paste shipper configs
// that point at this server.
import { h, svg, clear, replace, fmtNum, fmtBytes, errorBox, confirmDialog, toast, copyText } from './dom.js';
import * as api from './api.js';
import { fmtTime } from './time.js';

// parseMetrics reads Prometheus text into [{name, labels, value}].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// perSource sums the ingest counters by source.
export function perSource(samples) {
  const by = new Map();
  const get = (s) => { if (!by.has(s)) by.set(s, { source: s, received: 0, rejected: 0, bytes: 0, receivers: new Set() }); return by.get(s); };
  for (const s of samples) {
    const src = s.labels.source;
    if (src === undefined) continue;
    const key = { mamori_ingest_events_received_total: 'received', mamori_ingest_events_rejected_total: 'rejected', mamori_ingest_bytes_total: 'bytes' }[s.name];
    if (!key) continue;
    const e = get(src || '(none)');
    e[key] += s.value;
    if (s.labels.receiver) e.receivers.add(s.labels.receiver);
  }
  return [...by.values()].sort((a, b) => b.received - a.received);
}

// QUIET_MS is how long a source that sent before may stay silent before
// the page warns about it.
export const QUIET_MS = 15 * 60e3;

// POLL_MS is how often the page reads /metrics to compute rates.
const POLL_MS = 5000;

// samples keeps, per source, the counters read at each poll (the last 60),
// so rates survive leaving and coming back to the page.
const samples = new Map();
let lastPoll; // time of the last poll, for sources that appear later

// record adds one poll of perSource counters at time t. A source first
// seen after an earlier poll (prevT) starts from zero at that poll, so its
// first events count as a change.
export function record(hist, list, t, prevT) {
  for (const s of list) {
    const arr = hist.get(s.source) || [];
    if (!arr.length && prevT !== undefined && prevT < t) arr.push({ t: prevT, received: 0, rejected: 0, bytes: 0 });
    arr.push({ t, received: s.received, rejected: s.rejected, bytes: s.bytes });
    if (arr.length > 60) arr.splice(0, arr.length - 60);
    hist.set(s.source, arr);
  }
}

// rates turns counter samples into per-second rates between polls:
// [{t, eps, bps}]. A counter that went down (a server restart) restarts
// from zero.
export function rates(arr) {
  const out = [];
  for (let i = 1; i < arr.length; i++) {
    const a = arr[i - 1];
    const b = arr[i];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    const d = (k) => (b[k] >= a[k] ? b[k] - a[k] : b[k]);
    out.push({ t: b.t, eps: d('received') / dt, bps: d('bytes') / dt });
  }
  return out;
}

// lastChange is the time of the last poll at which the received counter
// grew, or NaN.
export function lastChange(arr) {
  for (let i = arr.length - 1; i > 0; i--) if (arr[i].received > arr[i - 1].received) return arr[i].t;
  return NaN;
}

// health says whether a source is 'live' (sent recently), 'quiet' (sent
// before, silent for longer than quietMs) or 'unknown'.
export function health(lastSeenMs, now, quietMs = QUIET_MS) {
  if (isNaN(lastSeenMs)) return 'unknown';
  return now - lastSeenMs > quietMs ? 'quiet' : 'live';
}

// fmtRate prints events per second compactly.
export function fmtRate(eps) {
  if (!(eps > 0)) return '0/s';
  if (eps >= 100) return fmtNum(Math.round(eps)) + '/s';
  if (eps >= 1) return eps.toFixed(1) + '/s';
  return (eps * 60).toFixed(1) + '/min';
}

function sparkline(rs) {
  const w = 90;
  const hgt = 18;
  if (rs.length < 2) return h('span', { class: 'muted small' }, 'measuring…');
  const max = Math.max(...rs.map((r) => r.eps), 1e-9);
  const pts = rs.map((r, i) => `${((i / (rs.length - 1)) * w).toFixed(1)},${(hgt - 1 - (r.eps / max) * (hgt - 2)).toFixed(1)}`).join(' ');
  return svg('svg', { class: 'spark', width: w, height: hgt, role: 'img', 'aria-label': 'rate over the last polls' }, svg('polyline', { points: pts }));
}

export function snippets(origin, token, source) {
  const u = new URL(origin);
  const host = u.hostname;
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const tls = u.protocol === 'https:';
  const tk = token || 'YOUR_INGEST_TOKEN';
  const src = source || 'app';
  return [
    ['rsyslog', `# /etc/rsyslog.d/60-mamori.conf — forward all syslog to Mamori over TCP
# (Mamori's syslog receiver listens on 5514/udp and 5514/tcp; by default on
# 127.0.0.1 only, so run rsyslog on the same host or change its listen address.)
*.* action(type="omfwd" target="${host}" port="5514" protocol="tcp"
           template="RSYSLOG_SyslogProtocol23Format"
           action.resumeRetryCount="-1"
           queue.type="LinkedList" queue.size="100000"
           queue.filename="mamori_fwd" queue.saveOnShutdown="on")
# then: sudo systemctl restart rsyslog`],
    ['Fluent Bit', `# fluent-bit.conf — send every record to the native ingest API as NDJSON
[OUTPUT]
    Name             http
    Match            *
    Host             ${host}
    Port             ${port}
    URI              /api/v1/ingest?source=${encodeURIComponent(src)}
    Format           json_lines
    Json_date_key    time
    Json_date_format iso8601
    Header           Authorization Bearer ${tk}
    Compress         gzip
    tls              ${tls ? 'On' : 'Off'}`],
    ['Vector', `# vector.toml — an HTTP sink to the native ingest API
[sinks.mamori]
type = "http"
inputs = ["my_logs"]          # your source or transform ids
uri = "${origin}/api/v1/ingest?source=${encodeURIComponent(src)}"
method = "post"
compression = "gzip"
encoding.codec = "json"
framing.method = "newline_delimited"
auth.strategy = "bearer"
auth.token = "${tk}"`],
    ['Filebeat', `# filebeat.yml — Mamori speaks the Elasticsearch _bulk API under /es
filebeat.inputs:
  - type: filestream
    id: ${src}
    paths: ["/var/log/*.log"]
output.elasticsearch:
  hosts: ["${origin}"]
  path: "/es"
  headers:
    Authorization: "Bearer ${tk}"
  allow_older_versions: true
setup.ilm.enabled: false
setup.template.enabled: false`],
    ['OpenTelemetry Collector', `# otel-collector.yaml — OTLP/HTTP logs to Mamori's /v1/logs
receivers:
  filelog:
    include: ["/var/log/*.log"]
exporters:
  otlphttp/mamori:
    logs_endpoint: ${origin}/v1/logs
    headers:
      Authorization: "Bearer ${tk}"
    compression: gzip
service:
  pipelines:
    logs:
      receivers: [filelog]
      exporters: [otlphttp/mamori]`],
    ['curl', `# NDJSON (one JSON object per line) or plain text lines; gzip/zstd allowed
curl -sS -X POST '${origin}/api/v1/ingest?source=${encodeURIComponent(src)}&host='"$(hostname)" \\
  -H 'Authorization: Bearer ${tk}' \\
  -H 'Content-Type: application/x-ndjson' \\
  --data-binary @events.ndjson

# Splunk HEC compatible
curl -sS '${origin}/services/collector' -H 'Authorization: Splunk ${tk}' \\
  -d '{"event":"hello from curl","sourcetype":"${src}"}'

# Loki push API
curl -sS '${origin}/loki/api/v1/push' -H 'Authorization: Bearer ${tk}' \\
  -H 'Content-Type: application/json' \\
  -d '{"streams":[{"stream":{"job":"${src}"},"values":[["'"$(date +%s%N)"'","hello from curl"]]}]}'`],
  ];
}

function ago(ms) {
  if (ms < 60e3) return Math.max(0, Math.round(ms / 1000)) + ' s ago';
  if (ms < 3600e3) return Math.round(ms / 60e3) + ' min ago';
  if (ms < 86400e3) return (ms / 3600e3).toFixed(1) + ' h ago';
  return Math.round(ms / 86400e3) + ' d ago';
}

export function mount(root) {
  const st = { list: [], stored: new Map(), storedErr: null, secret: '', source: 'app', snipTab: 0, alive: true, roles: ['ingest', 'reader', 'analyst', 'auditor', 'admin'] };
  const countsBody = h('div', {}, h('span', { class: 'spinner' }), ' Loading…');
  const tokensBody = h('div', {});
  const snipBody = h('div', {});
  const refresh = h('button', { type: 'button', class: 'small', onclick: async () => { await loadStored(); loadCounts(); } }, 'Refresh');
  replace(root, h('div', { class: 'page' },
    h('h1', {}, 'Sources'),
    h('div', { class: 'cards' },
      h('section', { class: 'card wide', 'aria-labelledby': 'src-counts' }, h('div', { class: 'card-head' }, h('h2', { id: 'src-counts' }, 'What is sending'), refresh), countsBody),
      h('section', { class: 'card wide', 'aria-labelledby': 'src-endpoints' }, h('div', { class: 'card-head' }, h('h2', { id: 'src-endpoints' }, 'Receiver endpoints')), endpoints()),
      h('section', { class: 'card wide', 'aria-labelledby': 'src-tokens' }, h('div', { class: 'card-head' }, h('h2', { id: 'src-tokens' }, 'API tokens')), tokensBody),
      h('section', { class: 'card wide', 'aria-labelledby': 'src-snip' }, h('div', { class: 'card-head' }, h('h2', { id: 'src-snip' }, 'Send logs from a shipper')), snipBody))));

  function endpoints() {
    const o = location.origin;
    const rows = [
      ['Native NDJSON / lines', `POST ${o}/api/v1/ingest?source=S&host=H`],
      ['Syslog (RFC 3164/5424)', `${location.hostname}:5514 UDP and TCP`],
      ['Elasticsearch _bulk', `${o}/es/_bulk`],
      ['Loki push', `${o}/loki/api/v1/push`],
      ['OTLP/HTTP logs', `${o}/v1/logs`],
      ['Splunk HEC', `${o}/services/collector`],
    ];
    return h('dl', { class: 'endpoints' }, rows.map(([a, b]) => h('div', {}, h('dt', {}, a), h('dd', { class: 'mono' }, b))));
  }

  // loadStored asks the store for the last 24 hours per source: events,
  // newest arrival and lines kept raw because they did not parse.
  async function loadStored() {
    const rows = [];
    try {
      await api.search({ query: '* | count, max(_received) as last_rx, count(_parse_error) as parse_errors by _source', from: '-24h', to: 'now', limit: 1000 }, (b) => rows.push(...b));
    } catch (err) {
      st.storedErr = err;
      return;
    }
    st.storedErr = null;
    st.stored = new Map(rows.map((r) => [r._source || '(none)', { count: Number(r._count) || 0, lastRx: Number(r.last_rx) / 1e6, parseErrors: Number(r.parse_errors) || 0 }]));
  }

  async function loadCounts() {
    try {
      const list = perSource(parseMetrics(await api.getText('/metrics')));
      if (!st.alive) return;
      const now = Date.now();
      record(samples, list, now, lastPoll);
      lastPoll = now;
      st.list = list;
      drawCounts();
    } catch (err) {
      if (st.alive) replace(countsBody, errorBox('Could not read the ingest counters.', err));
    }
  }

  function drawCounts() {
    const now = Date.now();
    const names = new Set([...st.list.map((s) => s.source), ...st.stored.keys()]);
    if (!names.size) { replace(countsBody, h('p', { class: 'muted' }, 'No events received yet. Send some with one of the configurations below.')); return; }
    const bySrc = new Map(st.list.map((s) => [s.source, s]));
    const rows = [...names].map((name) => {
      const m = bySrc.get(name) || { source: name, received: 0, rejected: 0, bytes: 0, receivers: new Set() };
      const d = st.stored.get(name) || { count: 0, lastRx: NaN, parseErrors: 0 };
      const hist = samples.get(name) || [];
      const rs = rates(hist);
      const seen = Math.max(...[d.lastRx, lastChange(hist)].filter((x) => !isNaN(x)), -Infinity);
      const last = isFinite(seen) ? seen : NaN;
      return { name, m, d, rs, eps: rs.length ? rs[rs.length - 1].eps : NaN, last, state: health(last, now) };
    }).sort((a, b) => (b.eps || 0) - (a.eps || 0) || b.m.received - a.m.received || b.d.count - a.d.count);
    const quiet = rows.filter((r) => r.state === 'quiet');
    const total = rows.reduce((a, r) => a + (r.eps || 0), 0);
    replace(countsBody,
      h('div', { class: 'row wrap rule-stats' },
        h('div', { class: 'stat' }, h('strong', {}, fmtNum(rows.length)), ' ', h('span', { class: 'muted' }, 'sources')),
        h('div', { class: 'stat' }, h('strong', {}, fmtRate(total)), ' ', h('span', { class: 'muted' }, 'now')),
        h('div', { class: 'stat' }, h('strong', {}, fmtNum(rows.reduce((a, r) => a + r.d.parseErrors, 0))), ' ', h('span', { class: 'muted' }, 'parse errors (24 h)')),
        quiet.length ? h('div', { class: 'stat warn-text' }, h('strong', {}, fmtNum(quiet.length)), ' quiet') : null),
      quiet.length ? h('div', { class: 'alert warn', role: 'status' }, h('strong', {}, 'Gone quiet: '),
        quiet.map((r) => r.name).join(', '), ` sent nothing for more than ${QUIET_MS / 60e3} minutes. Check the shipper or the network.`) : null,
      st.storedErr ? errorBox('Could not read the stored counts (last seen, parse errors):', st.storedErr) : null,
      h('table', { class: 'grid', 'aria-label': 'Sources list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Source'), h('th', {}, 'Receivers'), h('th', { class: 'num' }, 'Rate'), h('th', {}, 'Trend'),
          h('th', {}, 'Last seen'), h('th', { class: 'num' }, 'Stored (24 h)'), h('th', { class: 'num' }, 'Parse errors'),
          h('th', { class: 'num' }, 'Received'), h('th', { class: 'num' }, 'Rejected'), h('th', { class: 'num' }, 'Bytes'))),
        h('tbody', {}, rows.map((r) => h('tr', { class: r.state === 'quiet' ? 'quiet' : '' },
          h('td', {}, h('a', { href: '/search?' + new URLSearchParams({ q: '_source=' + (/^[\w.\-]+$/.test(r.name) ? r.name : JSON.stringify(r.name)), from: '-24h', to: 'now' }) }, r.name),
            r.state === 'quiet' ? h('span', { class: 'badge sev-medium', title: 'nothing for ' + Math.round((now - r.last) / 60e3) + ' min' }, 'quiet') : null),
          h('td', { class: 'muted' }, [...r.m.receivers].join(', ')),
          h('td', { class: 'num' }, isNaN(r.eps) ? '…' : fmtRate(r.eps)),
          h('td', {}, sparkline(r.rs)),
          h('td', { class: 'nowrap', title: isNaN(r.last) ? '' : new Date(r.last).toISOString() }, isNaN(r.last) ? h('span', { class: 'muted' }, 'not in 24 h') : ago(now - r.last)),
          h('td', { class: 'num' }, fmtNum(r.d.count)),
          h('td', { class: 'num' + (r.d.parseErrors ? ' warn-text' : '') }, r.d.parseErrors ? h('a', { href: '/search?' + new URLSearchParams({ q: `_source=${JSON.stringify(r.name)} _parse_error=*`, from: '-24h', to: 'now' }) }, fmtNum(r.d.parseErrors)) : '0'),
          h('td', { class: 'num' }, fmtNum(r.m.received)), h('td', { class: 'num' }, fmtNum(r.m.rejected)), h('td', { class: 'num' }, fmtBytes(r.m.bytes)))))),
      h('p', { class: 'field-hint' }, `Rates from the server's counters, read every ${POLL_MS / 1000} s while this page is open; received, rejected and bytes count since the server started; stored and parse errors cover events of the last 24 hours.`));
  }

  async function loadTokens() {
    if (!api.session.can('users')) {
      replace(tokensBody, h('p', { class: 'muted' }, 'Managing tokens needs the "users" capability (the admin role); you are signed in without it.'));
      return;
    }
    let list;
    try {
      const roles = await api.getJSON('/api/v1/roles').catch(() => null); // older servers have fixed roles
      if (roles && Array.isArray(roles.roles) && roles.roles.length) {
        const names = roles.roles.map((r) => r.name).filter(Boolean);
        st.roles = ['ingest', ...names.filter((n) => n !== 'ingest')];
      }
      list = (await api.getJSON('/api/v1/tokens')).tokens || [];
    } catch (err) {
      if (st.alive) replace(tokensBody, errorBox('Could not list the tokens.', err), createForm());
      return;
    }
    if (!st.alive) return;
    list.sort((a, b) => (a.revoked - b.revoked) || String(b.created_at).localeCompare(String(a.created_at)));
    const secret = st.secret ? h('div', { class: 'secret', role: 'alert' },
      h('strong', {}, 'New token — copy it now; it is shown only once.'), h('code', { id: 'new-token' }, st.secret),
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'small', onclick: () => copyText(st.secret) }, 'Copy'),
        h('button', { type: 'button', class: 'small', onclick: () => { st.secret = ''; loadTokens(); drawSnippets(); } }, 'I have stored it'))) : null;
    replace(tokensBody, createForm(), secret, h('table', { class: 'grid', 'aria-label': 'Tokens' },
      h('thead', {}, h('tr', {}, ['Name', 'Role', 'Source', 'Created', 'Expires', 'Status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.length ? list.map(tokenRow) : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No tokens.')))));
  }

  function rolesOf(t) { return Array.isArray(t.roles) ? t.roles : t.role ? [t.role] : []; }

  function tokenRow(t) {
    const expired = t.expires_at && Date.parse(t.expires_at) < Date.now();
    const status = t.revoked ? 'revoked' : expired ? 'expired' : 'active';
    return h('tr', { class: t.revoked ? 'revoked' : '' },
      h('td', { title: 'id ' + t.id }, t.name || h('span', { class: 'muted' }, t.id)),
      h('td', {}, rolesOf(t).map((r) => h('span', { class: 'badge ' + r }, r))),
      h('td', { class: 'mono' }, t.source || ''),
      h('td', {}, t.created_at ? fmtTime(Date.parse(t.created_at), false) : ''),
      h('td', {}, t.expires_at ? fmtTime(Date.parse(t.expires_at), false) : 'never'),
      h('td', {}, status),
      h('td', {}, t.revoked ? null : h('button', { type: 'button', class: 'small danger', 'aria-label': 'Revoke token ' + (t.name || t.id), onclick: () => revoke(t) }, 'Revoke')));
  }

  async function revoke(t) {
    if (!(await confirmDialog('Revoke token', `Revoke "${t.name || t.id}"? Shippers and users with it will be refused at once.`, 'Revoke', true))) return;
    try {
      await api.call('DELETE', '/api/v1/tokens/' + encodeURIComponent(t.id));
      toast(`Revoked "${t.name || t.id}"`);
    } catch (err) {
      toast('Could not revoke the token: ' + err.message, 'error');
    }
    loadTokens();
  }

  function createForm() {
    const name = h('input', { id: 'tk-name', type: 'text', required: true, placeholder: 'e.g. fluent-bit web-1', maxlength: 100 });
    const role = h('select', { id: 'tk-role' }, st.roles.map((r) => h('option', { value: r }, r)));
    const exp = h('select', { id: 'tk-exp' }, [['', 'never'], ['24h', '1 day'], ['168h', '7 days'], ['720h', '30 days'], ['2160h', '90 days'], ['8760h', '1 year']].map(([v, l]) => h('option', { value: v, selected: v === '2160h' }, l)));
    const src = h('input', { id: 'tk-src', type: 'text', placeholder: 'any', maxlength: 200 });
    const msg = h('div', { 'aria-live': 'polite' });
    const btn = h('button', { type: 'submit', class: 'primary' }, 'Create token');
    const form = h('form', { 'aria-label': 'Create a token', onsubmit: async (e) => {
      e.preventDefault();
      clear(msg);
      btn.disabled = true;
      try {
        const body = { name: name.value.trim(), role: role.value, expires_in: exp.value };
        if (src.value.trim()) body.source = src.value.trim();
        let res;
        try {
          res = await api.sendJSON('POST', '/api/v1/tokens', body);
        } catch (err) {
          // Servers with multi-role tokens take "roles" instead of "role".
          if (!(err instanceof api.APIError) || err.status !== 400 || !/unknown field "role"/.test(err.detail)) throw err;
          const { role: one, ...rest } = body;
          res = await api.sendJSON('POST', '/api/v1/tokens', { ...rest, roles: [one] });
        }
        st.secret = res.token || '';
        if (body.source) st.source = body.source;
        toast(`Created token "${body.name}"`);
        await loadTokens();
        drawSnippets();
      } catch (err) {
        msg.append(errorBox('Could not create the token.', err));
      } finally {
        btn.disabled = false;
      }
    } },
    h('div', { class: 'form-grid' },
      h('div', {}, h('label', { for: 'tk-name' }, 'Name'), name),
      h('div', {}, h('label', { for: 'tk-role' }, 'Role'), role),
      h('div', {}, h('label', { for: 'tk-exp' }, 'Expires'), exp),
      h('div', {}, h('label', { for: 'tk-src' }, 'Only for source (ingest)'), src),
      btn), msg);
    return form;
  }

  function drawSnippets() {
    const list = snippets(location.origin, st.secret, st.source);
    const srcIn = h('input', { id: 'snip-src', type: 'text', value: st.source, spellcheck: 'false', oninput: (e) => { st.source = e.target.value.trim() || 'app'; drawPanel(); } });
    const tabs = h('div', { class: 'snip-tabs', role: 'tablist', 'aria-label': 'Shipper' });
    const panel = h('div', { role: 'tabpanel', id: 'snip-panel' });
    const drawPanel = () => {
      const cur = snippets(location.origin, st.secret, st.source)[st.snipTab];
      replace(panel, h('div', { class: 'snippet-wrap' }, h('pre', { class: 'snippet', 'aria-label': cur[0] + ' configuration' }, cur[1]),
        h('button', { type: 'button', class: 'small copy', onclick: () => copyText(cur[1]) }, 'Copy')));
    };
    list.forEach(([name], i) => tabs.append(h('button', { type: 'button', role: 'tab', id: 'snip-tab-' + i, 'aria-selected': String(i === st.snipTab), 'aria-controls': 'snip-panel', tabindex: i === st.snipTab ? 0 : -1,
      onclick: () => { st.snipTab = i; drawSnippets(); document.getElementById('snip-tab-' + i)?.focus(); },
      onkeydown: (e) => {
        if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
        st.snipTab = (i + (e.key === 'ArrowRight' ? 1 : list.length - 1)) % list.length;
        drawSnippets();
        document.getElementById('snip-tab-' + st.snipTab)?.focus();
      } }, name)));
    drawPanel();
    replace(snipBody,
      h('div', { class: 'row wrap' }, h('label', { for: 'snip-src' }, 'Source name'), srcIn,
        h('span', { class: 'field-hint' }, st.secret ? 'The snippets use the token you just created.' : 'Create an ingest token above; the snippets then include it.')),
      tabs, panel);
  }

  // The counters come back at once; the stored counts (an aggregate search
  // over 24 hours) may take longer on a big store and fill in when ready.
  loadCounts();
  loadStored().then(() => { if (st.alive && st.list.length + st.stored.size) drawCounts(); });
  // A second read soon after the first gives a rate at once; then every
  // POLL_MS, and the stored counts every minute.
  let polls = 0;
  const early = setTimeout(() => loadCounts(), 1500);
  const timer = setInterval(async () => {
    if (document.hidden) return;
    if (++polls % 12 === 0) await loadStored();
    loadCounts();
  }, POLL_MS);
  loadTokens();
  drawSnippets();
  return () => { st.alive = false; clearTimeout(early); clearInterval(timer); };
}
