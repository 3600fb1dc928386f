// Bulk redrive: a filter or a fingerprint, a dry-run count, then a task at a chosen rate
// (POST /dlq/redrive), its progress (GET /dlq/tasks/:id) and cancel (DELETE).
import { api, errorBox, formatNumber, formatTime, h, poll, render, table, withQuery } from './common.js';

const FILTER_FIELDS = ['origin', 'kind', 'classification', 'from', 'to', 'q'];
const PROGRESS_MS = 500;
const FINISHED = new Set(['done', 'cancelled', 'failed']);

const badge = (status) => h('span', { class: `status status-${status}`, 'data-testid': 'task-status' }, status);

/** The selection the form describes: `{fingerprint}` or `{filter}` (only parked entries are taken). */
function selectionOf(form) {
  const fingerprint = form.elements.namedItem('fingerprint').value.trim();
  if (fingerprint) return { fingerprint };
  const filter = {};
  for (const name of FILTER_FIELDS) {
    const value = form.elements.namedItem(name).value.trim();
    if (value) filter[name] = value;
  }
  return { filter };
}

function taskView(task, me, onCancel) {
  const percent = Math.round((task.progress ?? 0) * 100);
  const cancel = me.may.operate && !FINISHED.has(task.status) ? h('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-task' }, 'Cancel') : null;
  cancel?.addEventListener('click', onCancel);
  return h(
    'div',
    { class: 'card', 'data-testid': 'task' },
    h('h2', {}, 'Task ', h('span', { class: 'muted' }, task.name || task.id), ' ', badge(task.status)),
    h('progress', { max: 100, value: percent, 'aria-label': 'progress' }),
    h('p', { 'data-testid': 'task-progress' }, `${percent} %`, ` · ${formatNumber(task.cursor)} of ${formatNumber(task.selected)} handled: ${formatNumber(task.done)} retried, ${formatNumber(task.skipped)} skipped, ${formatNumber(task.failed)} failed · ${formatNumber(task.rate)}/s`),
    h(
      'dl',
      { class: 'fields' },
      [
        ['selection', task.fingerprint ? `fingerprint ${task.fingerprint}` : JSON.stringify(task.filter ?? {})],
        ['created', `${formatTime(task.createdAt)} by ${task.createdBy ?? '?'}`],
        ['started / finished', `${formatTime(task.startedAt) || '–'} / ${formatTime(task.finishedAt) || '–'}`],
        ['last error', task.lastError ?? '–'],
      ].map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
    ),
    cancel ? h('div', { class: 'actions' }, cancel) : null,
  );
}

function watchTask(box, id, me, onFinished) {
  let stop = () => {};
  const tick = async () => {
    const task = await api('GET', `/dlq/tasks/${encodeURIComponent(id)}`);
    render(
      box,
      taskView(task, me, async () => {
        try {
          await api('DELETE', `/dlq/tasks/${encodeURIComponent(id)}`);
        } catch (caught) {
          box.append(errorBox(caught));
        }
      }),
    );
    if (FINISHED.has(task.status)) {
      stop();
      onFinished();
    }
  };
  stop = poll(tick, PROGRESS_MS);
}

export async function show(main, { me, query }) {
  const value = (name) => query.get(name) ?? '';
  const input = (name, label, props = {}) => h('label', {}, label, h('input', { name, type: 'text', value: value(name), ...props }));
  const select = (name, choices) => h('label', {}, name, h('select', { name }, h('option', { value: '' }, 'any'), choices.map((choice) => h('option', { value: choice, selected: choice === value(name) }, choice))));
  const form = h(
    'form',
    { class: 'filters', 'data-testid': 'redrive-form' },
    input('fingerprint', 'fingerprint (or a filter)', { size: 18 }),
    input('origin', 'origin'),
    select('kind', ['job', 'event']),
    select('classification', ['transient', 'permanent']),
    input('from', 'from (ISO 8601)', { size: 22 }),
    input('to', 'to (ISO 8601)', { size: 22 }),
    input('q', 'text'),
    input('name', 'task name', { maxlength: 100 }),
    h('label', {}, 'rate (entries/s)', h('input', { name: 'rate', type: 'number', min: 1, value: value('rate') || '100', size: 6 })),
  );
  const dryRun = h('button', { type: 'button', class: 'secondary', 'data-testid': 'dry-run' }, 'Dry run: count');
  const start = h('button', { type: 'button', disabled: true, 'data-testid': 'start-redrive' }, 'Start redrive');
  const result = h('div', { 'data-testid': 'dry-run-result' });
  const taskBox = h('div', { 'data-testid': 'task-box' });
  const tasksBox = h('div', { 'data-testid': 'tasks' });
  // A start is offered only for the selection that was just counted.
  let counted;
  form.addEventListener('input', () => {
    counted = undefined;
    start.disabled = true;
  });
  dryRun.addEventListener('click', async () => {
    const selection = selectionOf(form);
    try {
      const answer = await api('POST', '/dlq/redrive', { ...selection, dryRun: true });
      counted = JSON.stringify(selection);
      render(result, h('p', { class: 'notice', 'data-testid': 'dry-run-count' }, `${formatNumber(answer.count)} parked entries match`));
      start.disabled = answer.count === 0;
    } catch (caught) {
      render(result, errorBox(caught));
    }
  });
  start.addEventListener('click', async () => {
    const selection = selectionOf(form);
    if (JSON.stringify(selection) !== counted) return render(result, h('p', { class: 'error', role: 'alert' }, 'the selection changed: run the dry run again'));
    const rate = Number(form.elements.namedItem('rate').value);
    const name = form.elements.namedItem('name').value.trim();
    start.disabled = true;
    try {
      const task = await api('POST', '/dlq/redrive', { ...selection, rate, ...(name ? { name } : {}) });
      window.history.replaceState(null, '', withQuery('/console/redrive', { task: task.taskId }));
      watchTask(taskBox, task.taskId, me, () => void loadTasks());
      void loadTasks();
    } catch (caught) {
      render(result, errorBox(caught));
      start.disabled = false;
    }
  });
  const loadTasks = async () => {
    try {
      const tasks = await api('GET', withQuery('/dlq/tasks', { limit: 20 }));
      render(
        tasksBox,
        table(
          [
            ['task', (task) => h('a', { href: withQuery('/console/redrive', { task: task.id }) }, task.name || task.id)],
            ['status', (task) => h('span', { class: `status status-${task.status}` }, task.status)],
            ['progress', (task) => `${Math.round((task.progress ?? 0) * 100)} % (${formatNumber(task.cursor)}/${formatNumber(task.selected)})`],
            ['rate', (task) => `${formatNumber(task.rate)}/s`],
            ['created', (task) => `${formatTime(task.createdAt)} by ${task.createdBy ?? '?'}`],
          ],
          tasks.items ?? [],
        ),
      );
    } catch (caught) {
      render(tasksBox, errorBox(caught));
    }
  };
  render(
    main,
    h('h1', {}, 'Bulk redrive'),
    h(
      'section',
      { class: 'card' },
      h('p', { class: 'muted' }, 'Selects the parked entries of a fingerprint or a filter, and sends them back to their origin at the chosen rate, in the background.'),
      form,
      me.may.operate ? h('div', { class: 'actions' }, dryRun, start) : h('p', { class: 'muted' }, 'Your role may look at redrive tasks but not start one.'),
      result,
    ),
    taskBox,
    h('section', { class: 'card' }, h('h2', {}, 'Recent tasks'), tasksBox),
  );
  const taskId = query.get('task');
  if (taskId) watchTask(taskBox, taskId, me, () => void loadTasks());
  await loadTasks();
}
