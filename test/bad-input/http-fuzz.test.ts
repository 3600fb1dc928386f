/**
 * Fuzzing the HTTP APIs of the queue processor (8009) and the DLQ processor (8011) with
 * fast-check: arbitrary methods, paths, query strings, headers and bodies (JSON values,
 * strings, bytes, near-valid jobs and events). Seeded and bounded. Properties: never a 5xx;
 * every 4xx is JSON `{error, message, details?}`; no secret in any response; both services
 * still healthy afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORK_QUEUES } from '@event-infra/shared';
import { API_KEY, call, queueInspector, secrets, startDlqApi, startQueueApi, type Reply } from './support';

const SEED = 20_260_601;
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });
const unicode = fc.string({ unit: 'grapheme', maxLength: 30 });
const segment = fc.oneof(
  unicode.map(encodeURIComponent),
  printable.map((text) => text.replace(/[#?]/g, '')),
  fc.constantFrom('..', '%', '%E0%A4%A', '%00', '%2e%2e%2f', 'x'.repeat(2000), '-1', '0', '__proto__', 'constructor'),
);

/** A body: JSON values, near-valid jobs/events/filters, raw strings, bytes, or none. */
const body = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  {
    weight: 3,
    arbitrary: fc
      .record(
        {
          name: fc.oneof(fc.constantFrom('demo.sleep', 'demo.fail', 'http.request'), unicode, fc.integer()),
          type: fc.oneof(fc.constantFrom('workspace.created', 'user.created', 'billing.x'), unicode),
          data: fc.oneof(fc.dictionary(unicode, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.jsonValue({ maxDepth: 1 })),
          opts: fc.dictionary(fc.constantFrom('jobId', 'priority', 'delay', 'attempts', 'backoff', 'timeoutMs', 'x'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
          jobs: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
          limit: fc.oneof(fc.integer(), fc.string()),
          kind: fc.oneof(fc.constantFrom('job', 'event'), unicode),
          from: fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), unicode),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
  },
  { weight: 1, arbitrary: unicode },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const query = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(fc.oneof(fc.constantFrom('page', 'limit', 'kind', 'status', 'classification', 'origin', 'from', 'to', 'cursor'), printable), fc.oneof(printable, unicode), { maxKeys: 4 })
    .map((params) => `?${new URLSearchParams(params).toString()}`),
  printable.map((raw) => `?${raw.replace(/#/g, '')}`),
);

const headers = fc.record(
  {
    authorization: fc.oneof(
      { weight: 10, arbitrary: fc.constant(`Bearer ${API_KEY}`) },
      { weight: 1, arbitrary: printable },
      { weight: 1, arbitrary: printable.map((text) => `Bearer ${text}`) },
      { weight: 1, arbitrary: printable.map((text) => `Basic ${Buffer.from(text).toString('base64')}`) },
    ),
    'content-type': fc.oneof(
      { weight: 4, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '*/*') },
      { weight: 1, arbitrary: printable },
    ),
    'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus'),
    'x-request-id': printable,
    accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml'),
  },
  { requiredKeys: ['authorization'] },
);

const method = fc.oneof({ weight: 4, arbitrary: fc.constant('POST') }, { weight: 2, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH') });

function requestFor(prefixes: readonly string[]) {
  return fc.record({
    method,
    prefix: fc.constantFrom(...prefixes),
    // Mostly the routes themselves (validation), sometimes ids and deeper paths.
    segments: fc.oneof(
      { weight: 3, arbitrary: fc.constant([] as string[]) },
      { weight: 2, arbitrary: fc.array(segment, { minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.array(segment, { maxLength: 3 }) },
    ),
    query,
    headers,
    body,
  });
}

type FuzzRequest = ReturnType<typeof requestFor> extends fc.Arbitrary<infer R> ? R : never;

/**
 * Sends one fuzzed request. Only a request that `fetch` itself refuses to build (an invalid
 * URL or header value: checked by building a `Request` first, before any network) is skipped;
 * once built, every failure throws, so a service that crashed, reset the connection or
 * stopped answering (15 s) fails the property instead of being skipped as a `TypeError`.
 */
export async function send(baseUrl: string, request: FuzzRequest): Promise<Reply | undefined> {
  const path = `${request.prefix}${request.segments.map((part) => `/${part}`).join('')}${request.query}`;
  const { authorization, ...rest } = request.headers;
  const spec = {
    method: request.method,
    path,
    auth: false,
    headers: { authorization, ...rest },
    ...(request.method === 'GET' || request.body === undefined ? {} : { body: request.body }),
  };
  try {
    new Request(`${baseUrl}${path}`, { method: spec.method, headers: spec.headers });
  } catch {
    // fetch cannot even express this request (bad URL or header): nothing reached the service.
    return undefined;
  }
  return call(baseUrl, spec);
}

function checkReply(reply: Reply, request: unknown): void {
  const context = `${JSON.stringify(request).slice(0, 400)} → ${reply.status} ${reply.text.slice(0, 200)}`;
  expect(reply.status, context).toBeLessThan(500);
  if (reply.status >= 400) {
    expect(reply.contentType, context).toMatch(/^application\/json/);
    const body = reply.body as Record<string, unknown>;
    expect(typeof body?.error === 'string' && typeof body.message === 'string', context).toBe(true);
    expect(Object.keys(body).every((key) => ['error', 'message', 'details'].includes(key)), context).toBe(true);
  }
  for (const secret of secrets()) expect(reply.text.includes(secret), `secret in ${context}`).toBe(false);
}

describe('HTTP fuzzing (fast-check, seeded)', () => {
  let queueApi: Awaited<ReturnType<typeof startQueueApi>>;
  let dlq: Awaited<ReturnType<typeof startDlqApi>>;
  let inspector: ReturnType<typeof queueInspector>;
  /** Jobs the fuzzer happened to get accepted: removed afterwards. */
  const accepted: { queue: string; id: string }[] = [];
  let sent = 0;
  /** Statuses seen: the generators must reach every kind of answer, not only one. */
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    queueApi = await startQueueApi();
    dlq = await startDlqApi();
    inspector = queueInspector();
  });

  afterAll(async () => {
    for (const job of accepted) await inspector.queue(job.queue).remove(job.id).catch(() => undefined);
    await inspector?.close();
    await queueApi?.close();
    await dlq?.processor.close();
  });

  it('queue processor: 250 requests, never a 5xx, errors in the shared shape, no secret', { timeout: 120_000 }, async () => {
    const prefixes = [...WORK_QUEUES.map((queue) => `/jobs/${queue}`), `/jobs/${WORK_QUEUES[0]}/bulk`, `/jobs/${WORK_QUEUES[1]}/bulk`, '/events', '/events', '/jobs', '/stats', '/nope'];
    await fc.assert(
      fc.asyncProperty(requestFor(prefixes), async (request) => {
        const reply = await send(queueApi.url, request);
        if (reply === undefined) return;
        sent += 1;
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        checkReply(reply, request);
        const created = reply.body as { id?: unknown; queue?: unknown; jobs?: { id: string; queue: string }[] } | undefined;
        if (reply.status === 201 && typeof created?.id === 'string' && typeof created.queue === 'string') accepted.push({ queue: created.queue, id: created.id });
        if (reply.status === 201 && Array.isArray(created?.jobs)) accepted.push(...created.jobs);
      }),
      { numRuns: 250, seed: SEED },
    );
    expect((await call(queueApi.url, { path: '/health', auth: false })).status).toBe(200);
  });

  it('the harness fails, not skips, when a service stops answering or is gone', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const request = { method: 'GET', prefix: '/health', segments: [], query: '', headers: { authorization: `Bearer ${API_KEY}` }, body: undefined } as FuzzRequest;
    const hanging = call(`http://127.0.0.1:${port}`, { path: '/health', timeoutMs: 300 });
    await expect(hanging).rejects.toThrow();
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    await expect(send(`http://127.0.0.1:${port}`, request)).rejects.toThrow(/fetch failed/);
  });

  it('DLQ processor: 200 requests, never a 5xx, errors in the shared shape, no secret', { timeout: 120_000 }, async () => {
    const prefixes = ['/dlq', '/dlq/retry', '/dlq/alerts', '/dlq/some-entry', '/dlq/some-entry/retry', '/stats', '/health', '/nope'];
    await fc.assert(
      fc.asyncProperty(requestFor(prefixes), async (request) => {
        const reply = await send(dlq.processor.url, request);
        if (reply === undefined) return;
        sent += 1;
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        checkReply(reply, request);
      }),
      { numRuns: 200, seed: SEED + 1 },
    );
    expect((await call(dlq.processor.url, { path: '/health', auth: false })).status).toBe(200);
    // Most requests reached the services (fetch refused only a few header/URL combinations).
    expect(sent).toBeGreaterThan(400);
    expect([...statuses.keys()], JSON.stringify([...statuses])).toEqual(expect.arrayContaining([200, 400, 401, 404, 415]));
  });
});
