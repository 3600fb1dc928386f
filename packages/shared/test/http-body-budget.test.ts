/**
 * The bound on request body bytes in flight per process (HTTP_BODY_MAX_IN_FLIGHT, README
 * "Memory work"), over real HTTP on loopback: a handler holds requests open until the test
 * releases them, so the bytes they reserved stay in flight meanwhile.
 */
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  asyncHandler,
  bodyBudgetOf,
  createMetricsRegistry,
  createServiceApp,
  finishServiceApp,
  jsonBody,
  sizeToBytes,
  startHttpServer,
  type BodyBudgetOptions,
  type RunningServer,
} from '@event-infra/shared';
import { captureLogger } from '@event-infra/testing';

let server: RunningServer | undefined;
/** Resolvers of the requests the `/hold` handler is holding, in arrival order. */
let held: (() => void)[] = [];
let arrivals: (() => void)[] = [];

async function start(budget: BodyBudgetOptions): Promise<RunningServer> {
  const log = captureLogger('body-budget-test');
  const app = createServiceApp({ service: 'body-budget-test', logger: log.logger, metrics: createMetricsRegistry('body-budget-test'), checks: {}, bodyBudget: budget });
  app.post(
    '/hold',
    ...jsonBody('1kb'),
    asyncHandler(async (req, res) => {
      await new Promise<void>((resolve) => {
        held.push(resolve);
        for (const arrived of arrivals.splice(0)) arrived();
      });
      res.status(201).json({ bytes: JSON.stringify(req.body).length });
    }),
  );
  app.post('/echo', ...jsonBody('1kb'), (req, res) => void res.json({ body: req.body ?? null }));
  server = await startHttpServer(finishServiceApp(app, log.logger), 0, '127.0.0.1');
  return server;
}

/** A JSON body of exactly `bytes` bytes. */
function bodyOf(bytes: number): string {
  const shell = JSON.stringify({ pad: '' });
  return JSON.stringify({ pad: 'x'.repeat(bytes - shell.length) });
}

/** Resolves once the handler holds `count` requests. */
async function holding(count: number): Promise<void> {
  while (held.length < count) await new Promise<void>((resolve) => arrivals.push(resolve));
}

function post(path: string, body: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...(signal ? { signal } : {}) });
}

/** POST with `Transfer-Encoding: chunked` (no Content-Length): status and body text. */
function postChunked(path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeEach(() => {
  held = [];
  arrivals = [];
});

afterEach(async () => {
  for (const release of held) release();
  await server?.close(100);
  server = undefined;
});

describe('request body bytes in flight', () => {
  it('answers 503 with Retry-After past the budget and admits again once bytes are released', async () => {
    await start({ maxBytesInFlight: 1500, bodyLimitBytes: 1024 });
    const first = post('/hold', bodyOf(600));
    const second = post('/hold', bodyOf(600));
    await holding(2);
    const refused = await post('/hold', bodyOf(600));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const refusal = (await refused.json()) as { error: string; message: string };
    expect(refusal.error).toBe('unavailable');
    expect(refusal.message).toContain('HTTP_BODY_MAX_IN_FLIGHT');
    // A smaller body still fits in what is left (1500 - 1200), and requests without a body pass.
    expect((await post('/echo', bodyOf(200))).status).toBe(200);
    expect((await fetch(`${server!.url}/health`)).status).toBe(200);
    held.shift()!();
    expect((await first).status).toBe(201);
    const third = post('/hold', bodyOf(600));
    await holding(2);
    for (const release of held.splice(0)) release();
    expect((await second).status).toBe(201);
    expect((await third).status).toBe(201);
  });

  it('always admits one request when nothing is in flight, even past the budget', async () => {
    await start({ maxBytesInFlight: 100, bodyLimitBytes: 1024 });
    const only = post('/hold', bodyOf(900));
    await holding(1);
    expect((await post('/echo', bodyOf(50))).status).toBe(503);
    held.shift()!();
    expect((await only).status).toBe(201);
    expect((await post('/echo', bodyOf(900))).status).toBe(200);
  });

  it('a chunked body reserves the whole body limit', async () => {
    await start({ maxBytesInFlight: 1500, bodyLimitBytes: 1024 });
    expect((await postChunked('/echo', bodyOf(10))).status).toBe(200);
    const first = post('/hold', bodyOf(600));
    await holding(1);
    // 600 + 1024 > 1500 although the chunked body itself is 10 bytes; a declared 10 bytes fits.
    expect((await postChunked('/echo', bodyOf(10))).status).toBe(503);
    expect((await post('/echo', bodyOf(10))).status).toBe(200);
    held.shift()!();
    expect((await first).status).toBe(201);
  });

  it('a client that goes away releases its bytes', async () => {
    await start({ maxBytesInFlight: 1000, bodyLimitBytes: 1024 });
    const abort = new AbortController();
    const gone = post('/hold', bodyOf(900), abort.signal).catch((caught: unknown) => caught);
    await holding(1);
    expect((await post('/echo', bodyOf(200))).status).toBe(503);
    abort.abort();
    await gone;
    // The server sees the closed socket shortly after the client aborts: poll, no fixed sleep.
    let status = 0;
    for (let attempt = 0; attempt < 200 && status !== 200; attempt += 1) {
      status = (await post('/echo', bodyOf(200))).status;
      if (status !== 200) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(status).toBe(200);
  });

  it('sizes and the config helper', () => {
    expect(sizeToBytes('512')).toBe(512);
    expect(sizeToBytes('2kb')).toBe(2048);
    expect(sizeToBytes('8MB')).toBe(8 * 1024 * 1024);
    expect(() => sizeToBytes('8 gb')).toThrow(/size/);
    expect(bodyBudgetOf({ HTTP_BODY_MAX_IN_FLIGHT: '8mb', HTTP_BODY_LIMIT: '1mb' })).toEqual({ maxBytesInFlight: 8 * 1024 * 1024, bodyLimitBytes: 1024 * 1024 });
  });
});
