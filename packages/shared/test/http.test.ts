import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AppError,
  DEFAULT_HTTP_SERVER_LIMITS,
  ERROR_CODES,
  NotFoundError,
  STATUS_BY_CODE,
  ValidationError,
  asyncHandler,
  createMetricsRegistry,
  createServiceApp,
  finishServiceApp,
  jsonBody,
  requireBasicAuth,
  requireBearer,
  startHttpServer,
  type RunningServer,
} from '@event-infra/shared';
import { captureLogger, type CapturedLogger } from '@event-infra/testing';

const API_KEY = 'api-key-sekrit';
/** Keep-alive timeout of the server under test, ms. */
const KEEP_ALIVE_MS = 20_000;
const ADMIN = { user: 'admin', password: 'pa:ss-word' };

let server: RunningServer;
let log: CapturedLogger;
let release: () => void = () => undefined;
let entered: () => void = () => undefined;

function buildApp(capturedLog: CapturedLogger): Parameters<typeof startHttpServer>[0] {
  const app = createServiceApp({
    service: 'http-test',
    logger: capturedLog.logger,
    metrics: createMetricsRegistry('http-test'),
    checks: {
      good: async () => undefined,
      bad: async () => {
        throw new Error(`cannot reach redis://:${API_KEY}@host`);
      },
    },
  });
  app.get(
    '/throw/:code',
    asyncHandler(async (req) => {
      throw new AppError(req.params.code as AppError['code'], `failed with ${String(req.params.code)}`, { hint: 'h' });
    }),
  );
  app.get('/validation', () => {
    throw new ValidationError('bad input', [{ path: 'a', message: 'required' }]);
  });
  app.get('/missing', asyncHandler(async () => Promise.reject(new NotFoundError('no such thing'))));
  app.get(
    '/crash',
    asyncHandler(async () => {
      throw new Error(`database password ${API_KEY} rejected`);
    }),
  );
  app.get('/crash-sync', () => {
    throw 'a string, not an Error';
  });
  app.post('/echo', ...jsonBody('1kb'), (req, res) => {
    res.json({ body: req.body ?? null });
  });
  app.get('/private', requireBearer(API_KEY), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/open', requireBearer(undefined), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/admin', requireBasicAuth(ADMIN.user, ADMIN.password, 'Bull Board'), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/admin-open', requireBasicAuth(undefined, undefined, 'x'), (_req, res) => {
    res.json({ ok: true });
  });
  app.get(
    '/slow',
    asyncHandler(async (_req, res) => {
      await new Promise<void>((resolve) => {
        release = resolve;
        entered();
      });
      res.json({ finished: true });
    }),
  );
  return finishServiceApp(app, capturedLog.logger);
}

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: response.headers };
}

beforeEach(async () => {
  log = captureLogger('http-test');
  // Keep-alive far longer than the close bound below: closing idle sockets and waiting them out
  // are seconds apart even on a loaded machine.
  server = await startHttpServer(buildApp(log), 0, '127.0.0.1', { ...DEFAULT_HTTP_SERVER_LIMITS, keepAliveTimeoutMs: KEEP_ALIVE_MS });
});

afterEach(async () => {
  release();
  await server.close(100);
});

describe('error middleware', () => {
  it.each(ERROR_CODES)('AppError %s → its status and {error, message, details}', async (code) => {
    const { status, body } = await call(`/throw/${code}`);
    expect(status).toBe(STATUS_BY_CODE[code]);
    expect(body).toEqual({ error: code, message: `failed with ${code}`, details: { hint: 'h' } });
  });

  it('maps the subclasses thrown sync or async', async () => {
    expect(await call('/validation')).toMatchObject({
      status: 400,
      body: { error: 'validation_failed', message: 'bad input', details: [{ path: 'a', message: 'required' }] },
    });
    expect(await call('/missing')).toMatchObject({ status: 404, body: { error: 'not_found', message: 'no such thing' } });
  });

  it('an unknown error is a generic 500, logged in full under err', async () => {
    const { status, body } = await call('/crash');
    expect(status).toBe(500);
    expect(body).toEqual({ error: 'internal', message: 'internal server error' });
    const line = log.lines.find((entry) => entry.msg === 'unhandled error');
    expect(line).toMatchObject({ path: '/crash', method: 'GET' });
    expect((line?.err as { message?: string }).message).toContain('database password');
    const thrownString = await call('/crash-sync');
    expect(thrownString).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect(log.lines.some((entry) => (entry.err as { message?: string } | undefined)?.message === 'a string, not an Error')).toBe(true);
  });

  it('an unknown route is 404 in the same shape', async () => {
    expect(await call('/nope', { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'no route for DELETE /nope' },
    });
  });

  it('echoes a well-formed X-Request-Id and makes one up otherwise', async () => {
    expect((await call('/nope', { headers: { 'X-Request-Id': 'req-1.a_b' } })).headers.get('x-request-id')).toBe('req-1.a_b');
    expect((await call('/nope', { headers: { 'X-Request-Id': 'bad id with spaces' } })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('jsonBody', () => {
  const post = (body: string, contentType = 'application/json'): ReturnType<typeof call> =>
    call('/echo', { method: 'POST', headers: { 'Content-Type': contentType }, body });

  it('parses a JSON body', async () => {
    expect(await post('{"a":[1,2]}')).toMatchObject({ status: 200, body: { body: { a: [1, 2] } } });
    expect(await post('{"a":1}', 'application/json; charset=utf-8')).toMatchObject({ status: 200, body: { body: { a: 1 } } });
  });

  it('415 for another content type', async () => {
    expect(await post('a=1', 'application/x-www-form-urlencoded')).toMatchObject({
      status: 415,
      body: { error: 'unsupported_media_type', message: 'request body must be application/json' },
    });
    expect(await post('{"a":1}', 'text/plain')).toMatchObject({ status: 415 });
  });

  it('413 for a body over the limit', async () => {
    expect(await post(JSON.stringify({ blob: 'x'.repeat(2_048) }))).toMatchObject({
      status: 413,
      body: { error: 'payload_too_large', message: 'request body is larger than the limit' },
    });
  });

  it('400 for malformed JSON, without echoing the body', async () => {
    const { status, body } = await post(`{"key": "${API_KEY}"`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_json', message: 'request body is not valid JSON' });
  });

  it('a POST without a body passes with no body', async () => {
    expect(await call('/echo', { method: 'POST' })).toMatchObject({ status: 200, body: { body: null } });
  });
});

describe('requireBearer', () => {
  it('401 without or with a wrong key, 200 with the key', async () => {
    const missing = await call('/private');
    expect(missing).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(JSON.stringify(missing.body)).not.toContain(API_KEY);
    expect((await call('/private', { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await call('/private', { headers: { Authorization: `Basic ${API_KEY}` } })).status).toBe(401);
    expect((await call('/private', { headers: { Authorization: `Bearer ${API_KEY}x` } })).status).toBe(401);
    expect((await call('/private', { headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(200);
    expect((await call('/private', { headers: { Authorization: `bearer   ${API_KEY}` } })).status).toBe(200);
  });

  it('is open when no key is configured', async () => {
    expect((await call('/open')).status).toBe(200);
  });
});

describe('requireBasicAuth', () => {
  const basic = (user: string, password: string): Record<string, string> => ({
    Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });

  it('401 with a WWW-Authenticate challenge, 200 with the credentials', async () => {
    const missing = await call('/admin');
    expect(missing).toMatchObject({ status: 401, body: { error: 'unauthorized', message: 'admin credentials required' } });
    expect(missing.headers.get('www-authenticate')).toBe('Basic realm="Bull Board", charset="UTF-8"');
    expect((await call('/admin', { headers: basic(ADMIN.user, 'wrong') })).status).toBe(401);
    expect((await call('/admin', { headers: basic('root', ADMIN.password) })).status).toBe(401);
    expect((await call('/admin', { headers: { Authorization: 'Basic !!!' } })).status).toBe(401);
    expect((await call('/admin', { headers: basic(ADMIN.user, ADMIN.password) })).status).toBe(200);
  });

  it('is open when user or password is not configured', async () => {
    expect((await call('/admin-open')).status).toBe(200);
  });
});

describe('health and metrics', () => {
  it('/health is 503 with the failing check down and no error text', async () => {
    const { status, body } = await call('/health');
    expect(status).toBe(503);
    expect(body).toEqual({ status: 'error', service: 'http-test', checks: { good: 'up', bad: 'down' } });
  });

  it('/metrics is Prometheus text with the service label', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toMatch(/^process_cpu_user_seconds_total\{service="http-test"\} /m);
  });
});

describe('startHttpServer', () => {
  it('binds port 0 on loopback and reports the URL', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('close lets an in-flight request finish, closes idle keep-alive sockets, returns the same promise', async () => {
    await call('/nope'); // leaves an idle keep-alive socket in fetch's pool
    const started = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const inFlight = call('/slow');
    await started;
    const closeStarted = Date.now();
    const closing = server.close(60_000);
    expect(server.close()).toBe(closing);
    release();
    expect(await inFlight).toMatchObject({ status: 200, body: { finished: true } });
    await closing;
    // Well before the 20 s keep-alive timeout and the 60 s grace: idle sockets were closed, not waited out.
    expect(Date.now() - closeStarted).toBeLessThan(KEEP_ALIVE_MS / 2);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('rejects with EADDRINUSE when the port is taken', async () => {
    await expect(startHttpServer(buildApp(captureLogger()), server.port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
