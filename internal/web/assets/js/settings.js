// The Settings page, one tab per area: users (create with roles, reset a
// password, disable, unlock, one-time codes), roles (capabilities,
// partitions, search filter), notifications (channels with a test button,
// the outbox), lookup tables (CSV upload for the lookup operator) and
// storage (partitions, retention and the disk budget, changed at run time).
// Each tab loads its own API and says in words when the principal lacks the
// capability or the node has the feature off.
import { h, clear, replace, fmtNum, fmtBytes, errorBox, toast, confirmDialog, modal, copyText } from './dom.js';
import * as api from './api.js';
import { fmtTime } from './time.js';
import { qrSVG } from './qr.js';

const CAPS = [['search', 'search, tail, histogram, export'], ['ingest', 'send data'], ['rules', 'manage rules, lookups, retro-hunts'],
  ['triage', 'work on incidents and signals'], ['users', 'users, roles and tokens'], ['audit', 'read the audit log'], ['admin', 'everything']];

const TABS = [['users', 'Users'], ['roles', 'Roles'], ['notifications', 'Notifications'], ['lookups', 'Lookup tables'], ['about', 'Storage']];

const when = (t) => (t ? fmtTime(Date.parse(t), false) : '');

// parseCSVHeader returns the column names of a CSV text's first line, for
// the preview before an upload (the server's parser stays the authority).
export function parseCSVHeader(text) {
  const line = String(text).split(/\r?\n/, 1)[0] || '';
  const out = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur.trim()); cur = ''; } else cur += c;
  }
  out.push(cur.trim());
  return out.filter((x, i) => x !== '' || i < out.length - 1);
}

// parseSize reads a byte size like 500GB, 2TiB or 1.5 GB (KB = 1000, KiB
// = 1024, as the configuration file); empty or 0 means unlimited (0). It
// throws an Error in words.
export function parseSize(text) {
  const t = String(text || '').trim();
  if (t === '' || t === '0') return 0;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(t);
  if (!m) throw new Error(`"${t}" is not a size like 500GB or 2TiB`);
  const units = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.round(Number(m[1]) * units[(m[2] || 'b').toLowerCase()]);
}

// fmtSize writes bytes in the largest unit that divides them exactly, so
// the text reads back as the same number (500000000000 → "500GB").
export function fmtSize(n) {
  for (const [u, v] of [['TiB', 2 ** 40], ['TB', 1e12], ['GiB', 2 ** 30], ['GB', 1e9], ['MiB', 2 ** 20], ['MB', 1e6]]) if (n >= v && n % v === 0) return n / v + u;
  return String(n);
}

// splitList turns "a, b  c" into ['a', 'b', 'c'].
export function splitList(s) { return String(s || '').split(/[\s,]+/).filter(Boolean); }

export function mount(root) {
  const params = new URLSearchParams(location.search);
  const st = { tab: TABS.some(([t]) => t === params.get('tab')) ? params.get('tab') : 'users', alive: true, roles: [] };
  const body = h('div', {});
  const tabs = h('div', { class: 'snip-tabs page-tabs', role: 'tablist', 'aria-label': 'Settings' });
  replace(root, h('div', { class: 'page' }, h('h1', {}, 'Settings'), tabs, body));

  function drawTabs() {
    replace(tabs, TABS.map(([id, label]) => h('button', { type: 'button', role: 'tab', id: 'set-tab-' + id, 'aria-selected': String(st.tab === id),
      tabindex: st.tab === id ? 0 : -1, onclick: () => show(id) }, label)));
  }

  function show(id) {
    st.tab = id;
    window.history.replaceState(null, '', '/settings?tab=' + id);
    drawTabs();
    replace(body, h('span', { class: 'spinner' }), ' Loading…');
    ({ users, roles, notifications, lookups, about })[id]();
  }

  // needs reports (and shows) a missing capability.
  function needs(cap, what) {
    if (api.session.can(cap)) return false;
    replace(body, h('div', { class: 'alert' }, `${what} needs the "${cap}" capability; you are signed in without it.`));
    return true;
  }

  async function loadRoles() {
    try { st.roles = (await api.getJSON('/api/v1/roles')).roles || []; } catch { st.roles = []; }
    return st.roles;
  }

  // ---- Users ----
  async function users() {
    if (needs('users', 'Managing users')) return;
    let list;
    try {
      [list] = await Promise.all([api.getJSON('/api/v1/users').then((r) => r.users || []), loadRoles()]);
    } catch (err) {
      if (st.alive) replace(body, errorBox('Could not list the users.', err));
      return;
    }
    if (!st.alive || st.tab !== 'users') return;
    list.sort((a, b) => a.name.localeCompare(b.name));
    replace(body, h('div', { class: 'cards' },
      h('section', { class: 'card wide', 'aria-labelledby': 'u-new' }, h('div', { class: 'card-head' }, h('h2', { id: 'u-new' }, 'Add a user')), userForm()),
      h('section', { class: 'card wide', 'aria-label': 'Users' },
        h('table', { class: 'grid', 'aria-label': 'Users' },
          h('thead', {}, h('tr', {}, ['User', 'Roles', 'Second factor', 'State', 'Last sign-in', 'Created', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, list.length ? list.map(userRow) : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No users yet: sign-in is by API token only.')))))));
  }

  function roleChecks(prefix, selected) {
    return h('div', { class: 'checks', role: 'group', 'aria-label': 'Roles' }, st.roles.map((r) => h('label', { class: 'check', title: (r.capabilities || []).join(', ') },
      h('input', { type: 'checkbox', name: prefix, value: r.name, checked: selected.includes(r.name) }), ' ', r.name)));
  }
  const checked = (el) => [...el.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);

  function userForm() {
    const name = h('input', { id: 'u-name', type: 'text', required: true, autocomplete: 'off', maxlength: 64, placeholder: 'e.g. ana' });
    const pw = h('input', { id: 'u-pass', type: 'password', required: true, autocomplete: 'new-password', minlength: 12, placeholder: '12 characters or more' });
    const roles = roleChecks('u-roles', ['analyst']);
    const msg = h('div', { 'aria-live': 'polite' });
    const btn = h('button', { type: 'submit', class: 'primary' }, 'Add user');
    return h('form', { 'aria-label': 'Add a user', onsubmit: async (e) => {
      e.preventDefault();
      clear(msg);
      btn.disabled = true;
      try {
        await api.sendJSON('POST', '/api/v1/users', { name: name.value.trim(), password: pw.value, roles: checked(roles) });
        toast(`Added user "${name.value.trim()}"`);
        users();
      } catch (err) {
        msg.append(errorBox('Could not add the user.', err));
      } finally {
        btn.disabled = false;
      }
    } },
    h('div', { class: 'form-grid form-grid-3' },
      h('div', {}, h('label', { for: 'u-name' }, 'User name'), name),
      h('div', {}, h('label', { for: 'u-pass' }, 'Password'), pw),
      h('div', {}, h('label', {}, 'Roles'), roles),
      btn), msg);
  }

  function userRow(u) {
    const locked = u.locked_until && Date.parse(u.locked_until) > Date.now();
    const patch = async (body, done) => {
      try {
        const res = await api.sendJSON('PATCH', '/api/v1/users/' + encodeURIComponent(u.name), body);
        toast(done);
        if (res.totp_uri) await showTOTP(u.name, res.totp_secret, res.totp_uri);
      } catch (err) {
        toast(`Could not change "${u.name}": ${err.message}`, 'error');
      }
      users();
    };
    const act = (label, fn, cls = '') => h('button', { type: 'button', class: 'small ' + cls, 'aria-label': `${label} ${u.name}`, onclick: fn }, label);
    return h('tr', { class: u.disabled ? 'disabled' : '' },
      h('td', {}, h('strong', {}, u.name)),
      h('td', {}, (u.roles || []).map((r) => h('span', { class: 'badge ' + r }, r))),
      h('td', {}, u.totp ? h('span', { class: 'badge ingest' }, 'one-time codes') : h('span', { class: 'muted' }, 'password only')),
      h('td', {}, u.disabled ? h('span', { class: 'badge sev-high' }, 'disabled') : locked ? h('span', { class: 'badge sev-medium', title: 'until ' + when(u.locked_until) }, 'locked') : 'active'),
      h('td', {}, when(u.last_login) || h('span', { class: 'muted' }, 'never')),
      h('td', {}, when(u.created_at)),
      h('td', {}, h('div', { class: 'row wrap acts' },
        act('Roles', async () => { const r = await pickRoles(u); if (r) patch({ roles: r }, `Changed the roles of "${u.name}"`); }),
        act('Reset password', async () => { const p = await askPassword(u.name); if (p) patch({ password: p }, `Set a new password for "${u.name}"`); }),
        u.totp ? act('Turn off codes', async () => { if (await confirmDialog('One-time codes', `Turn off one-time codes for "${u.name}"?`, 'Turn off', true)) patch({ totp: 'disable' }, 'One-time codes off'); })
          : act('Require codes', () => patch({ totp: 'enable' }, `One-time codes on for "${u.name}"`)),
        locked ? act('Unlock', () => patch({ unlock: true }, `Unlocked "${u.name}"`)) : null,
        act(u.disabled ? 'Enable' : 'Disable', async () => {
          if (!u.disabled && !(await confirmDialog('Disable user', `Disable "${u.name}"? Their sessions stop working at once.`, 'Disable', true))) return;
          patch({ disabled: !u.disabled }, `${u.disabled ? 'Enabled' : 'Disabled'} "${u.name}"`);
        }, u.disabled ? '' : 'danger'),
        act('Delete', async () => {
          if (!(await confirmDialog('Delete user', `Delete "${u.name}"? This cannot be undone.`, 'Delete', true))) return;
          try { await api.call('DELETE', '/api/v1/users/' + encodeURIComponent(u.name)); toast(`Deleted "${u.name}"`); } catch (err) { toast('Could not delete: ' + err.message, 'error'); }
          users();
        }, 'danger'))));
  }

  function pickRoles(u) {
    return modal(`Roles of ${u.name}`, (done) => {
      const box = roleChecks('pick-roles', u.roles || []);
      return h('form', { onsubmit: (e) => { e.preventDefault(); done(checked(box)); } }, box,
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')));
    });
  }

  function askPassword(name) {
    return modal(`New password for ${name}`, (done) => {
      const pw = h('input', { type: 'password', id: 'reset-pass', autocomplete: 'new-password', required: true, minlength: 12 });
      setTimeout(() => pw.focus(), 0);
      return h('form', { onsubmit: (e) => { e.preventDefault(); done(pw.value); } },
        h('label', { for: 'reset-pass' }, 'Password (12 characters or more)'), pw,
        h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => done(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Set password')));
    });
  }

  function showTOTP(name, secret, uri) {
    return modal(`One-time codes for ${name}`, (done) => h('div', { class: 'totp' },
      h('p', {}, 'Scan the code with an authenticator app (or paste the link, or type the key). It is shown only now; the next sign-in asks for a code.'),
      h('div', { class: 'qr-box' }, qrCode(uri)),
      h('label', {}, 'otpauth link'), h('div', { class: 'secret' }, h('code', { id: 'totp-uri' }, uri), h('button', { type: 'button', class: 'small', onclick: () => copyText(uri) }, 'Copy')),
      h('label', {}, 'Key'), h('div', { class: 'secret' }, h('code', {}, secret.replace(/(.{4})/g, '$1 ').trim()), h('button', { type: 'button', class: 'small', onclick: () => copyText(secret) }, 'Copy')),
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => done(true) }, 'Done'))));
  }

  function qrCode(uri) {
    try { return qrSVG(uri, { scale: 4, label: 'QR code of the otpauth link' }); } catch (err) { return h('p', { class: 'muted' }, 'The link is too long for a QR code; paste it instead.'); }
  }

  // ---- Roles ----
  async function roles() {
    if (needs('users', 'Managing roles')) return;
    let list;
    try { list = (await api.getJSON('/api/v1/roles')).roles || []; } catch (err) {
      if (st.alive) replace(body, errorBox('Could not list the roles.', err));
      return;
    }
    if (!st.alive || st.tab !== 'roles') return;
    const formHost = h('div', {});
    const edit = (r) => { replace(formHost, roleForm(r)); formHost.querySelector('input')?.focus(); };
    edit(null);
    replace(body, h('div', { class: 'cards' },
      h('section', { class: 'card wide', 'aria-label': 'Roles' },
        h('table', { class: 'grid', 'aria-label': 'Roles' },
          h('thead', {}, h('tr', {}, ['Role', 'Capabilities', 'Partitions', 'Search filter', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, list.map((r) => h('tr', {},
            h('td', {}, h('strong', {}, r.name), r.builtin ? h('span', { class: 'muted small' }, ' built in') : null),
            h('td', {}, (r.capabilities || []).map((c) => h('span', { class: 'badge' }, c))),
            h('td', { class: 'mono small' }, (r.partitions || []).join(', ') || h('span', { class: 'muted' }, 'all')),
            h('td', { class: 'mono small' }, r.filter || h('span', { class: 'muted' }, 'none')),
            h('td', {}, r.builtin ? h('button', { type: 'button', class: 'small', onclick: () => edit({ ...r, name: r.name + '-custom', builtin: false }) }, 'Copy')
              : h('div', { class: 'row' }, h('button', { type: 'button', class: 'small', onclick: () => edit(r) }, 'Edit'),
                h('button', { type: 'button', class: 'small danger', 'aria-label': 'Delete role ' + r.name, onclick: async () => {
                  if (!(await confirmDialog('Delete role', `Delete the role "${r.name}"?`, 'Delete', true))) return;
                  try { await api.call('DELETE', '/api/v1/roles/' + encodeURIComponent(r.name)); toast(`Deleted role "${r.name}"`); } catch (err) { toast('Could not delete: ' + err.message, 'error'); }
                  roles();
                } }, 'Delete'))))))),
        h('p', { class: 'field-hint' }, 'Built-in roles cannot change; copy one to start a custom role.')),
      h('section', { class: 'card wide', 'aria-labelledby': 'r-edit' }, formHost)));
  }

  function roleForm(r) {
    const name = h('input', { id: 'r-name', type: 'text', required: true, value: r ? r.name : '', readonly: !!(r && !r.name.endsWith('-custom') && !r.builtin && r.capabilities), maxlength: 64, placeholder: 'e.g. soc-tier1' });
    const caps = h('div', { class: 'checks', role: 'group', 'aria-label': 'Capabilities' }, CAPS.map(([c, what]) => h('label', { class: 'check', title: what },
      h('input', { type: 'checkbox', value: c, checked: !!(r && (r.capabilities || []).includes(c)) }), ' ', c, h('span', { class: 'muted small' }, ' — ' + what))));
    const parts = h('input', { id: 'r-parts', type: 'text', value: r ? (r.partitions || []).join(', ') : '', placeholder: 'all partitions', spellcheck: 'false' });
    const filter = h('input', { id: 'r-filter', type: 'text', class: 'mono', value: r ? r.filter || '' : '', placeholder: 'e.g. _source=web-* (added to every search)', spellcheck: 'false' });
    const msg = h('div', { 'aria-live': 'polite' });
    return h('form', { 'aria-label': 'Role', onsubmit: async (e) => {
      e.preventDefault();
      clear(msg);
      const role = { name: name.value.trim(), capabilities: checked(caps), partitions: splitList(parts.value), filter: filter.value.trim() };
      try {
        await api.sendJSON('PUT', '/api/v1/roles/' + encodeURIComponent(role.name), role);
        toast(`Saved role "${role.name}"`);
        roles();
      } catch (err) {
        msg.append(errorBox('Could not save the role.', err));
      }
    } },
    h('div', { class: 'card-head' }, h('h2', { id: 'r-edit' }, r && r.capabilities ? `Role ${r.name}` : 'New role')),
    h('div', { class: 'form-grid form-grid-3' },
      h('div', {}, h('label', { for: 'r-name' }, 'Name'), name),
      h('div', {}, h('label', { for: 'r-parts' }, 'Partitions (comma-separated)'), parts),
      h('div', {}, h('label', { for: 'r-filter' }, 'Search filter'), filter)),
    h('label', {}, 'Capabilities'), caps, msg,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save role')));
  }

  // ---- Notifications ----
  async function notifications() {
    if (needs('triage', 'Viewing notifications')) return;
    let chans;
    let outbox;
    try {
      [chans, outbox] = await Promise.all([api.getJSON('/api/v1/channels').then((r) => r.channels || []), api.getJSON('/api/v1/notifications').then((r) => r.notifications || [])]);
    } catch (err) {
      if (!st.alive) return;
      if (err.status === 404) replace(body, h('div', { class: 'empty' }, h('h2', {}, 'Notifications are off on this node'),
        h('p', {}, 'Configure channels (webhook, Slack, email) in the server configuration to be told about new incidents. ' + (err.detail || ''))));
      else replace(body, errorBox('Could not load the notifications.', err));
      return;
    }
    if (!st.alive || st.tab !== 'notifications') return;
    const canTest = api.session.can('admin');
    const states = outbox.reduce((m, n) => { m[n.state] = (m[n.state] || 0) + 1; return m; }, {});
    outbox.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    replace(body, h('div', { class: 'cards' },
      h('section', { class: 'card wide', 'aria-labelledby': 'n-ch' }, h('div', { class: 'card-head' }, h('h2', { id: 'n-ch' }, 'Channels'),
        h('button', { type: 'button', class: 'small', onclick: () => notifications() }, 'Refresh')),
      chans.length ? h('table', { class: 'grid', 'aria-label': 'Channels' },
        h('thead', {}, h('tr', {}, ['Name', 'Type', 'Target', 'Minimum severity', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, chans.map((c) => h('tr', {},
          h('td', {}, h('strong', {}, c.name)), h('td', {}, h('span', { class: 'badge' }, c.type)),
          h('td', { class: 'mono small' }, c.url || (c.smtp_host ? `${c.smtp_host}:${c.smtp_port || 25} → ${(c.to || []).join(', ')}` : '')),
          h('td', {}, c.min_severity || 'any'),
          h('td', {}, canTest ? h('button', { type: 'button', class: 'small', 'aria-label': 'Send a test to ' + c.name, onclick: async (e) => {
            e.target.disabled = true;
            try { await api.call('POST', '/api/v1/channels/' + encodeURIComponent(c.name) + '/test'); toast(`Test queued for "${c.name}"`); } catch (err) { toast(`Could not test "${c.name}": ${err.message}`, 'error'); }
            setTimeout(() => notifications(), 700);
          } }, 'Send test') : h('span', { class: 'muted small' }, 'testing needs admin')))))) : h('p', { class: 'muted' }, 'No channels configured.')),
      h('section', { class: 'card wide', 'aria-labelledby': 'n-out' }, h('div', { class: 'card-head' }, h('h2', { id: 'n-out' }, 'Outbox'),
        Object.entries(states).map(([s, n]) => h('span', { class: 'badge state-' + s }, `${n} ${s}`))),
      outbox.length ? h('table', { class: 'grid', 'aria-label': 'Outbox' },
        h('thead', {}, h('tr', {}, ['Queued', 'Channel', 'Message', 'State', 'Attempts', 'Delivered / next try', 'Last error'].map((t) => h('th', {}, t)))),
        h('tbody', {}, outbox.slice(0, 200).map((n) => h('tr', {},
          h('td', { class: 'nowrap' }, when(n.created_at)), h('td', {}, n.channel),
          h('td', {}, h('span', { class: 'badge sev-' + ((n.message || {}).severity || 'informational') }, (n.message || {}).severity || ''), ' ', (n.message || {}).title || '', h('span', { class: 'muted small' }, ' ' + ((n.message || {}).kind || ''))),
          h('td', {}, h('span', { class: 'badge state-' + n.state }, n.state)), h('td', { class: 'num' }, fmtNum(n.attempts || 0)),
          h('td', { class: 'nowrap' }, n.delivered_at ? when(n.delivered_at) : n.state === 'pending' ? 'next ' + when(n.next_attempt) : ''),
          h('td', { class: 'small err-text' }, n.last_error || ''))))) : h('p', { class: 'muted' }, 'Nothing sent yet.'))));
  }

  // ---- Lookup tables ----
  async function lookups() {
    let list;
    try { list = (await api.getJSON('/api/v1/lookups')).lookups || []; } catch (err) {
      if (st.alive) replace(body, errorBox('Could not list the lookup tables.', err));
      return;
    }
    if (!st.alive || st.tab !== 'lookups') return;
    const canEdit = api.session.can('rules');
    replace(body, h('div', { class: 'cards' },
      h('section', { class: 'card wide', 'aria-label': 'Lookup tables' },
        h('table', { class: 'grid', 'aria-label': 'Lookup tables' },
          h('thead', {}, h('tr', {}, ['Table', 'Columns', 'Rows', 'Use in a query', ''].map((t) => h('th', { class: t === 'Rows' ? 'num' : '' }, t)))),
          h('tbody', {}, list.length ? list.map((t) => h('tr', {},
            h('td', {}, h('strong', { class: 'mono' }, t.name)),
            h('td', { class: 'mono small' }, (t.columns || []).join(', ')),
            h('td', { class: 'num' }, fmtNum(t.rows || 0)),
            h('td', { class: 'mono small' }, `| lookup ${(t.columns || [])[1] || 'col'} from ${t.name} on ${(t.columns || [])[0] || 'key'}`),
            h('td', {}, canEdit ? h('button', { type: 'button', class: 'small danger', 'aria-label': 'Delete table ' + t.name, onclick: async () => {
              if (!(await confirmDialog('Delete table', `Delete the lookup table "${t.name}"? Queries using it will fail.`, 'Delete', true))) return;
              try { await api.call('DELETE', '/api/v1/lookups/' + encodeURIComponent(t.name)); toast(`Deleted "${t.name}"`); } catch (err) { toast('Could not delete: ' + err.message, 'error'); }
              lookups();
            } }, 'Delete') : null))) : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No tables yet.'))))),
      canEdit ? h('section', { class: 'card wide', 'aria-labelledby': 'lk-up' }, h('div', { class: 'card-head' }, h('h2', { id: 'lk-up' }, 'Upload a table')), lookupForm())
        : h('p', { class: 'muted' }, 'Uploading tables needs the "rules" capability.')));
  }

  function lookupForm() {
    const name = h('input', { id: 'lk-name', type: 'text', required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}', placeholder: 'e.g. asset_owners', spellcheck: 'false' });
    const text = h('textarea', { id: 'lk-csv', rows: 6, class: 'mono code-area', spellcheck: 'false', placeholder: 'host,owner,criticality\nweb-1,web team,high' });
    const preview = h('div', { class: 'field-hint', 'aria-live': 'polite' });
    const file = h('input', { id: 'lk-file', type: 'file', accept: '.csv,text/csv', onchange: async () => {
      const f = file.files[0];
      if (!f) return;
      if (f.size > 64 << 20) { toast('The file is larger than 64 MiB, the server limit', 'error'); return; }
      text.value = await f.text();
      if (!name.value) name.value = f.name.replace(/\.csv$/i, '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
      showPreview();
    } });
    const showPreview = () => {
      const cols = parseCSVHeader(text.value);
      const rows = text.value.split(/\r?\n/).filter((l) => l.trim()).length - 1;
      preview.textContent = text.value.trim() ? `${cols.length} column${cols.length === 1 ? '' : 's'} (${cols.join(', ')}), about ${fmtNum(Math.max(0, rows))} rows` : '';
    };
    text.addEventListener('input', showPreview);
    const msg = h('div', { 'aria-live': 'polite' });
    return h('form', { 'aria-label': 'Upload a lookup table', onsubmit: async (e) => {
      e.preventDefault();
      clear(msg);
      try {
        const res = await api.call('PUT', '/api/v1/lookups/' + encodeURIComponent(name.value.trim()), { body: text.value, headers: { 'Content-Type': 'text/csv' } }).then((r) => r.json());
        toast(`Saved "${res.name}": ${fmtNum(res.rows)} rows`);
        lookups();
      } catch (err) {
        msg.append(errorBox('The server refused the table.', err));
      }
    } },
    h('div', { class: 'form-grid form-grid-3' },
      h('div', {}, h('label', { for: 'lk-name' }, 'Table name'), name),
      h('div', {}, h('label', { for: 'lk-file' }, 'CSV file (first row names the columns)'), file), h('div', {})),
    h('label', { for: 'lk-csv' }, 'Or paste CSV'), text, preview, msg,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Upload table')));
  }

  // ---- Storage ----
  async function about() {
    const theme = h('p', { class: 'muted' }, 'The theme (dark or light) is switched with the button at the top right and kept in this browser.');
    if (!api.session.can('admin')) {
      replace(body, h('div', { class: 'alert' }, 'Partitions, retention and the disk budget need the "admin" capability; you are signed in without it.'), theme);
      return;
    }
    let cfg;
    try {
      cfg = await api.getJSON('/api/v1/settings/storage');
    } catch (err) {
      if (!st.alive) return;
      replace(body, errorBox('Could not load the storage settings.', err), theme);
      return;
    }
    if (!st.alive || st.tab !== 'about') return;
    const ro = !cfg.editable;
    const inputs = new Map();
    const def = h('input', { id: 'st-default', type: 'text', value: cfg.default_retention === '0' ? '' : cfg.default_retention, placeholder: 'forever', disabled: ro, 'aria-describedby': 'st-age-hint' });
    const budget = h('input', { id: 'st-budget', type: 'text', value: cfg.disk_budget_bytes ? fmtSize(cfg.disk_budget_bytes) : '', placeholder: 'unlimited', disabled: ro });
    const rows = h('tbody', {});
    const addRow = (p) => {
      const inp = h('input', { type: 'text', value: p.own ? (p.retention === '0' ? 'forever' : p.retention) : '', placeholder: 'default', disabled: ro, 'aria-label': 'Retention of ' + p.name, dataset: { partition: p.name } });
      inputs.set(p.name, inp);
      rows.append(h('tr', {}, h('td', { class: p.pending ? 'pending' : '' }, p.name, p.pending ? ' (no data yet)' : ''),
        h('td', { class: 'num' }, fmtNum(p.rows || 0)), h('td', { class: 'num' }, fmtBytes(p.bytes || 0)), h('td', { class: 'num' }, fmtNum(p.parts || 0)), h('td', {}, inp)));
    };
    for (const p of cfg.partitions) addRow(p);
    const newName = h('input', { id: 'st-new-name', type: 'text', placeholder: 'partition', disabled: ro, pattern: '[A-Za-z0-9_-]{1,64}' });
    const newAge = h('input', { id: 'st-new-age', type: 'text', placeholder: 'e.g. 400d', disabled: ro });
    const msg = h('div', { 'aria-live': 'assertive' });
    const form = h('form', { class: 'card', 'aria-label': 'Storage settings', onsubmit: async (e) => {
      e.preventDefault();
      replace(msg);
      const req = { default_retention: def.value.trim(), partitions: {}, disk_budget_bytes: 0 };
      try { req.disk_budget_bytes = parseSize(budget.value); } catch (err) { replace(msg, errorBox('Disk budget:', err)); return; }
      for (const [name, inp] of inputs) if (inp.value.trim()) req.partitions[name] = inp.value.trim();
      if (newName.value.trim()) {
        if (!newAge.value.trim()) { replace(msg, errorBox('New partition:', 'give it a retention too, like 400d.')); return; }
        req.partitions[newName.value.trim()] = newAge.value.trim();
      }
      await putStorage(req, msg);
    } },
    h('h2', {}, 'Partitions and retention'),
    ro ? h('div', { class: 'alert warn', role: 'status' }, 'Read-only: ', cfg.reason || 'this server cannot change them while it runs.') :
      h('p', { class: 'muted' }, 'Changes apply at once (the next retention pass, within a minute) and are kept across restarts; they win over the configuration file. Parts under a legal hold are never deleted.'),
    cfg.overridden ? h('p', { class: 'muted small' }, 'Last changed here' + (cfg.updated_by ? ' by ' + cfg.updated_by : '') + (cfg.updated ? ', ' + when(cfg.updated) : '') + '.') : null,
    h('div', { class: 'form-grid form-grid-3' },
      h('div', {}, h('label', { for: 'st-default' }, 'Default retention'), def),
      h('div', {}, h('label', { for: 'st-budget' }, 'Disk budget'), budget),
      h('div', {}, h('label', { for: 'st-used' }, 'Used on disk'), h('output', { class: 'mono', id: 'st-used' }, fmtBytes(cfg.disk_used_bytes || 0)))),
    h('p', { class: 'field-hint', id: 'st-age-hint' }, 'Ages like 90d, 36h or 400d; empty means keep forever (a partition left empty takes the default). The disk budget is a size like 500GB or 2TiB; empty means unlimited; beyond it the oldest data goes first.'),
    h('table', { class: 'grid storage-table', 'aria-label': 'Partitions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Partition'), h('th', { class: 'num' }, 'Events'), h('th', { class: 'num' }, 'Size'), h('th', { class: 'num' }, 'Parts'), h('th', {}, 'Retention'))),
      rows),
    ro ? null : h('div', { class: 'row wrap' }, h('label', { for: 'st-new-name' }, 'Another partition'), newName, newAge),
    msg,
    ro ? null : h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save storage settings')));
    replace(body, form, theme);
  }

  async function putStorage(req, msg) {
    try {
      await api.sendJSON('PUT', '/api/v1/settings/storage', req);
    } catch (err) {
      if (err.status === 400 && /confirm/.test(err.detail || '')) {
        const what = err.detail.replace(/^invalid request: /, '').replace(/; send "confirm": true to apply it$/, '');
        const ok = await confirmDialog('Delete data?', what.charAt(0).toUpperCase() + what.slice(1) + '. Apply the change?', 'Apply and delete', true);
        if (!ok) return;
        return putStorage({ ...req, confirm: true }, msg);
      }
      replace(msg, errorBox('The storage settings were not saved.', err));
      return;
    }
    toast('Storage settings saved');
    about();
  }

  drawTabs();
  show(st.tab);
  return () => { st.alive = false; };
}
