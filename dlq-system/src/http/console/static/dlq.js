// DLQ triage: filters (kept in the URL), cursor paging over GET /dlq, and the fingerprint
// groups of GET /dlq/fingerprints with counts and first/last seen.
import { api, cursorPager, errorBox, formatNumber, formatTime, h, render, table, withQuery } from './common.js';

const FILTERS = ['origin', 'kind', 'classification', 'status', 'from', 'to', 'q', 'fingerprint'];
const CHOICES = {
  kind: ['job', 'event'],
  classification: ['transient', 'permanent'],
  status: ['scheduled', 'retried', 'recovered', 'parked'],
};
const PAGE_SIZE = 50;

/** The filters of the URL's query (what the form shows and GET /dlq gets). */
export function filtersOf(query) {
  const filters = {};
  for (const name of FILTERS) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** `<input type=datetime-local>` value (UTC) ↔ ISO 8601. */
const toLocalInput = (iso) => (iso ? iso.replace(/(\.\d+)?Z$/, '').slice(0, 16) : '');
const fromLocalInput = (value) => (value ? `${value}:00Z` : '');

function field(name, value) {
  if (CHOICES[name]) {
    return h('label', {}, name, h('select', { name }, h('option', { value: '' }, 'any'), CHOICES[name].map((choice) => h('option', { value: choice, selected: choice === value }, choice))));
  }
  if (name === 'from' || name === 'to') return h('label', {}, `${name} (UTC)`, h('input', { name, type: 'datetime-local', value: toLocalInput(value) }));
  const size = name === 'q' ? 24 : 16;
  return h('label', {}, name === 'q' ? 'text (name, error, subject)' : name, h('input', { name, type: 'text', size, value: value ?? '', maxlength: 200 }));
}

export const statusBadge = (status) => h('span', { class: `status status-${status}` }, status);

export async function show(main, { me, query }) {
  const filters = filtersOf(query);
  const form = h(
    'form',
    { class: 'filters', 'data-testid': 'filters' },
    FILTERS.map((name) => field(name, filters[name])),
    h('button', { type: 'submit' }, 'Apply'),
    h('a', { href: '/console/dlq' }, 'clear'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = {};
    for (const name of FILTERS) {
      const value = form.elements.namedItem(name).value.trim();
      next[name] = name === 'from' || name === 'to' ? fromLocalInput(value) : value;
    }
    window.location.assign(withQuery('/console/dlq', next));
  });
  const listBox = h('div', { 'data-testid': 'entries' });
  const groupsBox = h('div', { 'data-testid': 'fingerprints' });
  const redriveLink = me.may.operate
    ? h('a', { href: withQuery('/console/redrive', { ...filters, status: undefined }), 'data-testid': 'redrive-filter' }, 'Redrive the parked entries of this filter…')
    : null;
  render(
    main,
    h('h1', {}, 'DLQ triage'),
    h('section', { class: 'card' }, form, redriveLink ? h('div', { class: 'actions' }, redriveLink) : null),
    h('section', { class: 'card' }, h('h2', {}, 'Failure fingerprints'), groupsBox),
    h('section', { class: 'card' }, h('h2', {}, 'Entries'), listBox),
  );

  const pager = cursorPager(() => loadPage());
  const loadPage = async () => {
    render(listBox, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const page = await api('GET', withQuery('/dlq', { ...filters, limit: PAGE_SIZE, cursor: pager.cursor }));
      const summary = [
        page.total === null || page.total === undefined ? `${page.items.length} shown` : `${formatNumber(page.total)} matching`,
        page.complete === false ? ` (scanned ${formatNumber(page.scanned)} index entries: more may follow)` : '',
      ].join('');
      render(
        listBox,
        h('p', { class: 'muted', 'data-testid': 'entries-summary' }, summary),
        table(
          [
            ['id', (entry) => h('a', { href: `/console/dlq/${encodeURIComponent(entry.id)}`, class: 'entry-link' }, entry.id)],
            ['origin', (entry) => `${entry.kind}: ${entry.originName}`],
            ['name', (entry) => entry.name],
            ['class', (entry) => entry.classification],
            ['status', (entry) => statusBadge(entry.status)],
            ['error', (entry) => entry.error?.message ?? ''],
            ['failures', (entry) => formatNumber(entry.failures)],
            ['last failed', (entry) => formatTime(entry.lastFailedAt)],
          ],
          page.items,
          { 'data-testid': 'entries-table' },
        ),
        pager.buttons(page.nextCursor),
      );
    } catch (caught) {
      render(listBox, errorBox(caught));
    }
  };

  const loadGroups = async () => {
    try {
      const groups = await api('GET', withQuery('/dlq/fingerprints', { status: filters.status, origin: filters.origin, kind: filters.kind, limit: 50 }));
      render(
        groupsBox,
        h('p', { class: 'muted' }, `${formatNumber(groups.total)} fingerprints${filters.status ? ` with ${filters.status} entries` : ''}, largest first`),
        table(
          [
            ['count', (group) => h('span', { class: 'num', 'data-testid': 'fingerprint-count' }, formatNumber(group.count))],
            ['origin', (group) => `${group.kind}: ${group.origin}`],
            ['name', (group) => group.name],
            ['error (normalized)', (group) => h('span', { title: group.sampleMessage ?? '' }, group.normalized ?? group.sampleMessage ?? '')],
            ['first seen', (group) => formatTime(group.firstSeenAt)],
            ['last seen', (group) => formatTime(group.lastSeenAt)],
            [
              '',
              (group) => [
                h('a', { href: withQuery('/console/dlq', { ...filters, fingerprint: group.fingerprint }), 'data-fingerprint': group.fingerprint, class: 'fingerprint-filter' }, 'entries'),
                me.may.operate ? [' · ', h('a', { href: withQuery('/console/redrive', { fingerprint: group.fingerprint }), class: 'fingerprint-redrive' }, 'redrive…')] : null,
              ],
            ],
          ],
          groups.items,
          { 'data-testid': 'fingerprints-table' },
        ),
      );
    } catch (caught) {
      render(groupsBox, errorBox(caught));
    }
  };
  await Promise.all([loadPage(), loadGroups()]);
}
