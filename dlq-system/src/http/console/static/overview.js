// Overview: queues (counts and throughput chart), the stream and its groups, DLQ totals,
// recent alerts; polls GET /overview every few seconds.
import uPlot from '/console/vendor/uplot.js';
import { api, countsTable, formatAge, formatNumber, formatTime, h, poll, render, table, withQuery } from './common.js';

const REFRESH_MS = 5000;
const COUNT_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'];
const num = (value) => h('span', { class: 'num' }, formatNumber(value));

/**
 * uPlot's data: x (seconds), then completed/min per queue and failed/min of all queues
 * together, aligned on the union of the sample times (a queue without a sample there: gap).
 */
function chartData(queues) {
  const times = [...new Set(queues.flatMap((queue) => (queue.throughput ?? []).map((sample) => Date.parse(sample.at))))].filter(Number.isFinite).sort((a, b) => a - b);
  const perQueue = queues.map((queue) => new Map((queue.throughput ?? []).map((sample) => [Date.parse(sample.at), sample])));
  const completed = perQueue.map((samples) => times.map((time) => samples.get(time)?.completed ?? null));
  const failed = times.map((time) => perQueue.reduce((sum, samples) => sum + (samples.get(time)?.failed ?? 0), 0));
  return [times.map((time) => time / 1000), ...completed, failed];
}

const COLORS = ['#2f5bd3', '#067647', '#b54708', '#7a2fd3', '#b42318', '#0e7490'];

function groupsTable(groups) {
  return table(
    [
      ['group', (group) => h('a', { href: withQuery('/console/streams', { group: group.name }) }, group.name)],
      ['stream', (group) => group.stream],
      ['lag (entries)', (group) => (group.lag === null ? 'unknown' : num(group.lag))],
      ['lag (time)', (group) => formatAge(group.oldestUndeliveredAgeMs)],
      ['pending', (group) => num(group.pending)],
      ['oldest pending', (group) => formatAge(group.oldestPendingAgeMs)],
      ['consumers (idle)', (group) => (group.consumers ?? []).map((consumer) => h('div', {}, `${consumer.name} (${formatAge(consumer.idleMs)}, ${consumer.pending} pending)`))],
    ],
    groups,
    { 'data-testid': 'groups' },
  );
}

export async function show(main) {
  const status = h('span', { class: 'refresh', 'data-testid': 'refreshed' });
  const queuesBox = h('div', { 'data-testid': 'queues' });
  const chartBox = h('div', { class: 'chart', 'data-testid': 'throughput-chart' });
  const streamBox = h('div', { 'data-testid': 'stream' });
  const dlqBox = h('div', { class: 'grid', 'data-testid': 'dlq-totals' });
  const alertsBox = h('div', { 'data-testid': 'alerts' });
  render(
    main,
    h('h1', {}, 'Overview ', status),
    h('section', { class: 'card' }, h('h2', {}, 'Queues'), queuesBox, h('h3', { class: 'chart-title' }, 'Jobs per minute, last hour: completed per queue, failed in all'), chartBox),
    h('section', { class: 'card' }, h('h2', {}, 'Event stream'), streamBox),
    h('section', { class: 'card' }, h('h2', {}, 'DLQ'), dlqBox),
    h('section', { class: 'card' }, h('h2', {}, 'Recent alerts'), alertsBox),
  );
  let chart;
  let chartKey = '';
  const tick = async () => {
    const overview = await api('GET', '/overview');
    const queues = overview.queues ?? [];
    render(
      queuesBox,
      table(
        [['queue', (queue) => queue.name], ...COUNT_STATES.map((state) => [state, (queue) => num(queue.counts?.[state])])],
        queues,
      ),
    );
    const key = queues.map((queue) => queue.name).join(',');
    const data = chartData(queues);
    if (chart === undefined || key !== chartKey) {
      chart?.destroy();
      chartKey = key;
      chart = new uPlot(
        {
          width: Math.max(400, chartBox.clientWidth || 900),
          height: 220,
          series: [
            {},
            ...queues.map((queue, index) => ({ label: queue.name, stroke: COLORS[index % COLORS.length], width: 2, spanGaps: true })),
            { label: 'failed (all queues)', stroke: '#b42318', width: 1.5, dash: [6, 4] },
          ],
          axes: [{}, { label: 'jobs/min' }],
          scales: { x: { time: true } },
        },
        data,
        chartBox,
      );
    } else {
      chart.setData(data);
    }
    const log = overview.stream ?? {};
    const retention = log.retention ?? {};
    const streams = log.streams ?? [];
    const retentionText = [
      retention.maxAgeMs ? `entries older than ${formatAge(retention.maxAgeMs)} trimmed once every group acknowledged them` : 'trimmed below what every group acknowledged',
      retention.maxLen ? `, at most ${formatNumber(retention.maxLen)} entries kept` : '',
      retention.maxLenApprox ? `; memory cap ~${formatNumber(retention.maxLenApprox)} entries` : '',
    ].join('');
    render(
      streamBox,
      h('p', { class: 'muted' }, 'retention: ', retentionText),
      table(
        [
          ['stream', (stream) => stream.name],
          ['length', (stream) => h('span', { 'data-testid': 'stream-length' }, formatNumber(stream.length))],
          ['first id (trim point)', (stream) => stream.firstId ?? '–'],
          ['last id', (stream) => stream.lastId ?? '–'],
          ['groups', (stream) => formatNumber((stream.groups ?? []).length)],
        ],
        streams,
      ),
      h('h3', {}, 'Consumer groups'),
      groupsTable(streams.flatMap((stream) => stream.groups ?? [])),
    );
    const dlq = overview.dlq ?? {};
    render(dlqBox, countsTable('by status', dlq.byStatus), countsTable('by origin', dlq.byOrigin), countsTable('by kind', dlq.byKind), countsTable('by classification', dlq.byClassification), countsTable('totals', dlq.totals));
    render(
      alertsBox,
      table(
        [
          ['time', (alert) => formatTime(alert.createdAt)],
          ['origin', (alert) => h('a', { href: withQuery('/console/dlq', { origin: alert.origin }) }, alert.origin)],
          ['entries', (alert) => num(alert.count)],
          ['last error', (alert) => alert.lastError],
          ['webhook', (alert) => alert.webhook?.status ?? ''],
        ],
        overview.alerts ?? [],
      ),
    );
  };
  poll(tick, REFRESH_MS, status);
}
