// One DLQ entry: payload, error, attempts history, links (Bull Board, stream id, timeline) and
// the actions the role allows: retry (operate), edit-then-retry and discard (administer).
import { api, errorBox, formatNumber, formatTime, h, render, table, withQuery } from './common.js';
import { statusBadge } from './dlq.js';

const pretty = (value) => JSON.stringify(value, null, 2) ?? 'undefined';

function links(entry, me) {
  const items = [];
  const origin = entry.origin ?? {};
  if (origin.kind === 'job') {
    items.push(h('a', { href: `${me.links.bullBoard}/queue/${encodeURIComponent(origin.queue)}/${encodeURIComponent(origin.jobId)}`, 'data-testid': 'bull-board-job' }, `job ${origin.jobId} in Bull Board`));
  } else if (origin.kind === 'event') {
    items.push(h('span', { 'data-testid': 'stream-id' }, `stream ${origin.stream} entry ${origin.entryId}`, origin.group ? ` (group ${origin.group})` : ''));
  }
  const target = entry.retriedTo;
  if (target?.kind === 'job') items.push(h('a', { href: `${me.links.bullBoard}/queue/${encodeURIComponent(target.queue)}/${encodeURIComponent(target.jobId)}` }, `last retry: job ${target.jobId}`));
  if (target?.kind === 'event') items.push(h('span', {}, `last retry: stream entry ${target.streamId}`));
  if (entry.correlationId) {
    items.push(h('a', { href: withQuery(me.links.timeline, { correlationid: entry.correlationId }), 'data-testid': 'timeline-link' }, `timeline of ${entry.correlationId}`));
  }
  return h('ul', { class: 'links' }, items.map((item) => h('li', {}, item)));
}

function editor(entry, onDone) {
  const area = h('textarea', { name: 'data', spellcheck: 'false', 'aria-label': 'payload to send back' });
  area.value = pretty(entry.data);
  const message = h('div', { 'data-testid': 'edit-result' });
  const send = h('button', { type: 'submit' }, 'Validate and retry with this payload');
  const form = h('form', { class: 'editor', 'data-testid': 'edit-form' }, area, h('div', { class: 'actions' }, send), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse(area.value);
    } catch (caught) {
      // Not JSON at all: said here, nothing sent.
      return render(message, h('p', { class: 'error', role: 'alert' }, `not valid JSON: ${caught instanceof Error ? caught.message : caught}`));
    }
    send.disabled = true;
    try {
      // The server checks `data` with the job's or event's schema before anything is sent back.
      const answer = await api('POST', `/dlq/${encodeURIComponent(entry.id)}/retry`, { data });
      render(message, h('p', { class: 'notice' }, `retried with the edited payload (${answer.status})`));
      onDone();
    } catch (caught) {
      render(message, errorBox(caught));
    } finally {
      send.disabled = false;
    }
  });
  return form;
}

/** The timeline of the entry's correlation, when one is stored (TIMELINE_ENABLED). */
function timelineSection(entry, me) {
  const box = h('div', { 'data-testid': 'timeline' }, h('p', { class: 'muted' }, 'Loading…'));
  api('GET', `/console/api/timeline/${encodeURIComponent(entry.correlationId)}`).then(
    (timeline) =>
      render(
        box,
        h('p', { class: 'muted' }, `${formatNumber(timeline.totalSteps)} steps${timeline.omittedSteps > 0 ? `, ${formatNumber(timeline.omittedSteps)} in the middle not kept` : ''}`),
        table(
          [
            ['#', (step) => step.seq],
            ['at', (step) => formatTime(step.at)],
            ['service', (step) => step.service],
            ['step', (step) => step.kind],
            ['subject', (step) => step.subject],
            ['cause', (step) => step.cause ?? ''],
            ['detail', (step) => (step.detail ? JSON.stringify(step.detail) : '')],
          ],
          timeline.steps ?? [],
        ),
      ),
    (caught) =>
      render(
        box,
        caught instanceof Error && caught.status === 404 ? h('p', { class: 'muted' }, 'No timeline stored for this correlation (TIMELINE_ENABLED is off, or it expired).') : errorBox(caught),
        h('a', { href: withQuery(me.links.timeline, { correlationid: entry.correlationId }) }, 'GET /timeline on the queue processor'),
      ),
  );
  return h('section', { class: 'card' }, h('h2', {}, 'Timeline of ', entry.correlationId), box);
}

export async function show(main, { me, param }) {
  const id = param;
  const load = async () => {
    let entry;
    try {
      entry = await api('GET', `/dlq/${encodeURIComponent(id)}`);
    } catch (caught) {
      return render(main, h('h1', {}, 'DLQ entry'), errorBox(caught));
    }
    const result = h('div', { 'data-testid': 'action-result' });
    const actions = [];
    if (me.may.operate) {
      const retry = h('button', { type: 'button', 'data-testid': 'retry' }, 'Retry');
      retry.addEventListener('click', async () => {
        retry.disabled = true;
        try {
          const answer = await api('POST', `/dlq/${encodeURIComponent(id)}/retry`);
          render(result, h('p', { class: 'notice' }, `retry sent (${answer.status})`));
          await load();
        } catch (caught) {
          render(result, errorBox(caught));
          retry.disabled = false;
        }
      });
      actions.push(retry);
    }
    if (me.may.administer) {
      const discard = h('button', { type: 'button', class: 'danger', 'data-testid': 'discard' }, 'Discard');
      discard.addEventListener('click', async () => {
        if (!window.confirm(`Discard DLQ entry ${id}? It is deleted for good.`)) return;
        try {
          await api('DELETE', `/dlq/${encodeURIComponent(id)}`);
          render(main, h('h1', {}, 'DLQ entry'), h('p', { class: 'notice' }, `${id} discarded.`), h('a', { href: '/console/dlq' }, 'back to the DLQ'));
        } catch (caught) {
          render(result, errorBox(caught));
        }
      });
      actions.push(discard);
    }
    const error = entry.error ?? {};
    render(
      main,
      h('h1', {}, 'DLQ entry ', h('span', { class: 'muted', 'data-testid': 'entry-id' }, entry.id), ' ', statusBadge(entry.status)),
      h(
        'section',
        { class: 'card' },
        h(
          'dl',
          { class: 'fields' },
          [
            ['kind / origin', `${entry.kind}: ${entry.originName}`],
            ['name', entry.name],
            ['classification', `${entry.classification} (rule ${entry.rule})`],
            ['reason', entry.reason],
            ['attempts (last failure)', formatNumber(entry.attempts)],
            ['failures / retries', `${formatNumber(entry.failures)} / ${formatNumber(entry.retries)}`],
            ['first / last failed', `${formatTime(entry.firstFailedAt)} / ${formatTime(entry.lastFailedAt)}`],
            ['parked', entry.parkedAt ? `${formatTime(entry.parkedAt)} (${entry.parkReason ?? ''})` : '–'],
            ['fingerprint', entry.fingerprint ? h('a', { href: withQuery('/console/dlq', { fingerprint: entry.fingerprint }) }, entry.fingerprint) : '–'],
            ['correlation / cause', `${entry.correlationId ?? '–'} / ${entry.causationId ?? '–'}`],
          ].map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
        ),
        links(entry, me),
        actions.length > 0 ? h('div', { class: 'actions', 'data-testid': 'actions' }, actions) : null,
        result,
      ),
      h('section', { class: 'card' }, h('h2', {}, 'Error'), h('p', { 'data-testid': 'error-message' }, `${error.name ?? 'Error'}: ${error.message ?? ''}`), error.stack ? h('pre', {}, error.stack) : null),
      h('section', { class: 'card' }, h('h2', {}, 'Payload'), h('pre', { 'data-testid': 'payload' }, pretty(entry.data)), entry.editedFrom !== undefined ? [h('h3', {}, 'original payload (before the edit)'), h('pre', {}, pretty(entry.editedFrom))] : null),
      me.may.administer ? h('section', { class: 'card' }, h('h2', {}, 'Edit, then retry'), editor(entry, () => void load())) : null,
      entry.correlationId ? timelineSection(entry, me) : null,
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Attempts history'),
        table(
          [
            ['at', (item) => formatTime(item.at)],
            ['retries before', (item) => formatNumber(item.retries)],
            ['error', (item) => `${item.error?.name ?? ''}: ${item.error?.message ?? ''}`],
            ['classification', (item) => `${item.classification} (${item.rule})`],
            ['DLQ job', (item) => item.source],
          ],
          entry.history ?? [],
          { 'data-testid': 'history' },
        ),
      ),
    );
  };
  await load();
}
