// Stream tools: each consumer group of the event stream with its consumers, its pending
// entries (consumer, idle, deliveries) and, for operators, "dead-letter now" on a stuck one.
import { api, cursorPager, errorBox, formatAge, formatNumber, h, render, table, withQuery } from './common.js';

const PAGE_SIZE = 50;

function pendingView(group, me) {
  const box = h('div', { 'data-testid': `pending-${group.name}` });
  const minIdle = h('input', { type: 'number', min: 0, value: 0, size: 8, name: 'minIdleMs' });
  const pager = cursorPager(() => load());
  const load = async () => {
    try {
      const page = await api('GET', withQuery(`/streams/groups/${encodeURIComponent(group.name)}/pending`, { stream: group.stream, minIdleMs: minIdle.value || undefined, cursor: pager.cursor, limit: PAGE_SIZE }));
      const columns = [
        ['entry id', (item) => item.id],
        ['consumer', (item) => item.consumer],
        ['idle', (item) => formatAge(item.idleMs)],
        ['deliveries', (item) => formatNumber(item.deliveries)],
      ];
      if (me.may.operate) {
        columns.push([
          '',
          (item) => {
            const button = h('button', { type: 'button', class: 'danger dead-letter', 'data-entry': item.id }, 'Dead-letter now');
            button.addEventListener('click', async () => {
              if (!window.confirm(`Dead-letter stream entry ${item.id} of group ${group.name} now? It is acknowledged and goes to the DLQ.`)) return;
              button.disabled = true;
              try {
                const answer = await api('POST', withQuery(`/streams/groups/${encodeURIComponent(group.name)}/pending/${encodeURIComponent(item.id)}/dead-letter`, { stream: group.stream }));
                render(button.parentElement, answer.deadLettered ? `dead-lettered (DLQ job ${answer.dlqJobId})` : `not dead-lettered: ${answer.reason ?? ''}`);
              } catch (caught) {
                button.parentElement.append(errorBox(caught));
                button.disabled = false;
              }
            });
            return button;
          },
        ]);
      }
      render(box, table(columns, page.items ?? []), pager.buttons(page.nextCursor));
    } catch (caught) {
      render(box, errorBox(caught));
    }
  };
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Show pending entries');
  refresh.addEventListener('click', () => {
    pager.reset();
    void load();
  });
  return { element: h('div', {}, h('div', { class: 'actions' }, h('label', {}, 'idle at least (ms)', minIdle), refresh), box), load };
}

export async function show(main, { me, query }) {
  let answer;
  try {
    answer = await api('GET', '/streams/groups');
  } catch (caught) {
    return render(main, h('h1', {}, 'Stream tools'), errorBox(caught));
  }
  const wanted = query.get('group');
  const streams = answer.streams ?? [];
  const sections = streams.flatMap((stream) => stream.groups ?? []).map((group) => {
    const pending = pendingView(group, me);
    if (wanted === null || wanted === group.name) void pending.load();
    return h(
      'section',
      { class: 'card', 'data-group': group.name },
      h('h2', {}, `Group ${group.name}`, h('span', { class: 'muted' }, ` on ${group.stream}`)),
      h(
        'dl',
        { class: 'fields' },
        [
          ['lag', `${group.lag === null ? 'unknown (Redis cannot tell)' : `${formatNumber(group.lag)} entries`}, oldest undelivered ${formatAge(group.oldestUndeliveredAgeMs)}`],
          ['pending', `${formatNumber(group.pending)}, oldest added ${formatAge(group.oldestPendingAgeMs)} ago, idle ${formatAge(group.oldestPendingIdleMs)}`],
          ['entries read', formatNumber(group.entriesRead)],
          ['last delivered', group.lastDeliveredId ?? '–'],
        ].map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
      ),
      h('h3', {}, 'Consumers'),
      table(
        [
          ['consumer', (consumer) => consumer.name],
          ['pending', (consumer) => formatNumber(consumer.pending)],
          ['idle', (consumer) => formatAge(consumer.idleMs)],
          ['inactive', (consumer) => formatAge(consumer.inactiveMs)],
        ],
        group.consumers ?? [],
      ),
      h('h3', {}, 'Pending entries'),
      pending.element,
    );
  });
  render(main, h('h1', {}, 'Stream tools ', h('span', { class: 'muted' }, streams.map((stream) => stream.name).join(', '))), sections.length > 0 ? sections : h('p', { class: 'muted' }, 'No consumer group on the stream.'));
}
