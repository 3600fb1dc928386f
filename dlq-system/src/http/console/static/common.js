// Shared helpers of the console pages. Every value shown is set as text (h() never parses
// HTML), so client data in an entry (job data, error messages, names) cannot become markup.

/** Creates an element: `props` sets attributes (`class`, `href`, `data-*`, …) and `on` listeners. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      for (const [event, listener] of Object.entries(value)) element.addEventListener(event, listener);
    } else if (key === 'href') {
      element.setAttribute('href', safeHref(String(value)));
    } else if (key === 'value') {
      element.value = String(value);
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Only http(s) and same-origin links: a `javascript:` URL built from data never becomes a link. */
export function safeHref(value) {
  try {
    const url = new URL(value, window.location.origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '#';
  } catch {
    // Not a URL: no link.
    return '#';
  }
}

/** Replaces the children of `element` with `children`. */
export function render(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A path with a query string from an object (undefined and empty values left out). */
export function withQuery(path, params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** A JSON call to the DLQ processor with the browser's login; non-2xx throws `ApiError`. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // A non-JSON answer (a proxy's error page): the status says enough.
    parsed = undefined;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** The message of an API error with the first issues of its `details` (the schema's words). */
export function errorText(caught) {
  if (!(caught instanceof ApiError)) return caught instanceof Error ? caught.message : String(caught);
  const details = Array.isArray(caught.body?.details) ? caught.body.details : [];
  const issues = details
    .slice(0, 5)
    .map((issue) => (issue && typeof issue === 'object' ? `${issue.path ? `${issue.path}: ` : ''}${issue.message ?? ''}` : String(issue)))
    .filter((line) => line !== '');
  const head = `${caught.status}: ${caught.message}`;
  return issues.length > 0 && !issues.every((issue) => caught.message.includes(issue)) ? `${head} (${issues.join('; ')})` : head;
}

/** An alert box (role=alert) with the error's text. */
export function errorBox(caught) {
  return h('p', { class: 'error', role: 'alert' }, errorText(caught));
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `1h 02m`, `3m 05s`, `850 ms`. */
export function formatAge(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export const formatNumber = (value) => (typeof value === 'number' ? value.toLocaleString('en-US') : value ?? '–');

/** A table: `columns` are `[header, (row) => cell]`. */
export function table(columns, rows, props = {}) {
  return h(
    'table',
    props,
    h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', {}, title)))),
    h(
      'tbody',
      {},
      rows.length === 0 ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'none')) : rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row))))),
    ),
  );
}

/** A small key → value table of an object of counts. */
export function countsTable(title, counts) {
  const rows = Object.entries(counts ?? {});
  return h('div', { class: 'counts' }, h('h3', {}, title), table([['', ([key]) => key], ['', ([, value]) => formatNumber(value)]], rows, { class: 'compact' }));
}

/** Runs `tick` now and every `intervalMs` while the page is shown; a failed tick shows its error in `status`. */
export function poll(tick, intervalMs, status) {
  let timer;
  let stopped = false;
  const run = async () => {
    try {
      await tick();
      if (status) render(status, `updated ${formatTime(new Date().toISOString())}`);
    } catch (caught) {
      if (status) render(status, errorBox(caught));
    }
    if (!stopped) timer = setTimeout(run, intervalMs);
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Cursor paging: `load()` fetches the page at `pager.cursor`; `pager.buttons(nextCursor)` gives
 * "previous" (back through the cursors seen) and "next" buttons that move and call `load` again.
 */
export function cursorPager(load) {
  const before = [];
  let current;
  return {
    get cursor() {
      return current;
    },
    reset() {
      before.length = 0;
      current = undefined;
    },
    buttons(nextCursor) {
      const back = () => {
        current = before.pop();
        void load();
      };
      const forward = () => {
        before.push(current);
        current = nextCursor;
        void load();
      };
      return h(
        'div',
        { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', disabled: before.length === 0, on: { click: back } }, '← Previous'),
        h('button', { type: 'button', class: 'secondary', disabled: !nextCursor, 'data-testid': 'next-page', on: { click: forward } }, 'Next →'),
      );
    },
  };
}
