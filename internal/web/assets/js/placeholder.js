// Pages that arrive with later issues (dashboards, settings). They say so
// plainly and show no invented data.
import { h, replace } from './dom.js';

const PAGES = {
  dashboards: ['Dashboards', 'Panels built from saved searches: time charts, tables and single values.',
    ['Dashboards stored on the server and shared with the team', 'Panels from any aggregate search', 'A shared time range for all panels']],
  settings: ['Settings', 'Users, roles, partitions, retention and notification channels.',
    ['Users and passwords (today: API tokens on the Sources page)', 'Partitions and retention', 'Notification channels: webhook, chat, mail']],
};

export function mount(root, { page }) {
  const [title, what, list] = PAGES[page];
  replace(root, h('div', { class: 'page' }, h('div', { class: 'placeholder' },
    h('div', { class: 'big', 'aria-hidden': 'true' }, '◇'),
    h('h1', {}, title),
    h('p', {}, h('strong', {}, 'Not built yet. '), what),
    h('p', { class: 'muted' }, 'Nothing is shown here yet, on purpose: this page fills in when the server provides it. Planned:'),
    h('ul', {}, list.map((x) => h('li', {}, x))),
    page === 'settings' ? h('p', {}, 'The theme (dark or light) is switched with the button at the top right and kept in this browser.') : null)));
  return () => {};
}
