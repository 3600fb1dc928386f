// The console's entry point: who is logged in (GET /console/api/me), then the page the path names.
import { api, errorBox, h, render } from './common.js';

const PAGES = [
  [/^\/console\/?$/, 'overview', () => import('./overview.js')],
  [/^\/console\/dlq\/?$/, 'dlq', () => import('./dlq.js')],
  [/^\/console\/dlq\/([^/]+)$/, 'dlq', () => import('./entry.js')],
  [/^\/console\/redrive\/?$/, 'redrive', () => import('./redrive.js')],
  [/^\/console\/streams\/?$/, 'streams', () => import('./streams.js')],
];

async function start() {
  const main = document.getElementById('main');
  try {
    const me = await api('GET', '/console/api/me');
    render(document.getElementById('who'), h('span', { class: `role role-${me.principal.role}`, 'data-role': me.principal.role }, me.principal.role), ' ', me.principal.name);
    document.getElementById('bull-board-link').setAttribute('href', me.links.bullBoard);
    const path = window.location.pathname;
    const found = PAGES.find(([pattern]) => pattern.test(path));
    if (found === undefined) return render(main, h('p', { class: 'error' }, 'No such page.'));
    const [pattern, nav, load] = found;
    for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('active', link.dataset.nav === nav);
    const match = pattern.exec(path);
    const module = await load();
    await module.show(main, { me, param: match[1] === undefined ? undefined : decodeURIComponent(match[1]), query: new URLSearchParams(window.location.search) });
  } catch (caught) {
    render(main, errorBox(caught));
  }
}

void start();
