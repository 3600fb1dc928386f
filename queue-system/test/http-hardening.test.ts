/**
 * Hardening of the queue processor's public surfaces over real HTTP (issue #11): one winner
 * among concurrent submissions of one jobId, duplicate and existing ids in a bulk, the
 * configured bounds of job options, `source` and the `job.*` family on `POST /events`, stack
 * traces kept out of job answers, and Bull Board's write routes refused (read-only, DLQ) or
 * checked with the API's job schema.
 */
import { Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bullPrefix } from '@event-infra/shared';
import { waitFor, type RedisServer } from '@event-infra/testing';
import { flushQueues, inspectQueues, request, startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

const KEY = 'hardening-key-5b1d';
const auth = { authorization: `Bearer ${KEY}` };
const ADMIN = { user: 'ops', password: 'board-pw-91aa' };
const basic = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };
const LIMITS = { JOB_MAX_ATTEMPTS: '5', JOB_MAX_BACKOFF_DELAY_MS: '10000', JOB_MAX_DELAY_MS: '60000', JOB_MAX_BULK: '3', MAX_JOB_DURATION: '60' };
const Q = 'async-processing';

describe('queue processor hardening (HTTP)', () => {
  let redis: RedisServer;
  let app: StartedProcessor;
  let writable: StartedProcessor;
  let inspect: ReturnType<typeof inspectQueues>;

  beforeAll(async () => {
    redis = await startTestRedis();
    const common = { QUEUE_ENABLED: 'false', API_KEY: KEY, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, EVENTS_API_SOURCE: 'partner-api', ...LIMITS };
    app = await startProcessor(redis, common);
    writable = await startProcessor(redis, { ...common, ADMIN_READONLY: 'false', STREAM_NAME: app.env.STREAM_NAME! });
    inspect = inspectQueues(redis);
  });
  afterAll(async () => {
    await app?.close();
    await writable?.close();
    await inspect?.close();
    await redis?.stop();
  });
  beforeEach(async () => {
    await flushQueues(inspect.connection);
  });

  describe('job ids', () => {
    it('20 concurrent submissions of one jobId: exactly one 201, 19 × 200 existing, the winner\'s data stored', async () => {
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          request(app.url, 'POST', `/jobs/${Q}`, { headers: auth, body: { name: 'demo.sleep', data: { durationMs: 1, caller: index }, opts: { jobId: 'race-1', delay: 60_000 } } }),
        ),
      );
      const created = replies.filter((reply) => reply.status === 201);
      const existing = replies.filter((reply) => reply.status === 200);
      expect(created).toHaveLength(1);
      expect(existing).toHaveLength(19);
      for (const reply of existing) expect(reply.body).toMatchObject({ id: 'race-1', existing: true });
      const winner = replies.indexOf(created[0]!);
      expect((await inspect.queue(Q).getJob('race-1'))?.data).toEqual({ durationMs: 1, caller: winner, __trace: { correlationId: expect.any(String) } });
    });

    it('a bulk naming one jobId twice is a 400 naming the id; nothing is added', async () => {
      const jobs = ['dup-a', 'solo', 'dup-a'].map((jobId) => ({ name: 'demo.sleep', data: {}, opts: { jobId } }));
      const reply = await request(app.url, 'POST', `/jobs/${Q}/bulk`, { headers: auth, body: { jobs } });
      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('"dup-a"');
      expect(reply.body.details).toContainEqual({ path: 'jobs', message: expect.stringContaining('dup-a') });
      expect(await inspect.queue(Q).getJob('solo')).toBeUndefined();
    });

    it('a bulk with an already existing id flags it existing: true and leaves its data alone', async () => {
      const first = await request(app.url, 'POST', `/jobs/${Q}`, { headers: auth, body: { name: 'demo.sleep', data: { v: 'old' }, opts: { jobId: 'kept', delay: 60_000 } } });
      expect(first.status).toBe(201);
      const jobs = [
        { name: 'demo.sleep', data: { v: 'new' }, opts: { jobId: 'kept' } },
        { name: 'demo.sleep', data: { v: 'fresh' }, opts: { jobId: 'fresh' } },
        { name: 'demo.sleep', data: {} },
      ];
      const reply = await request(app.url, 'POST', `/jobs/${Q}/bulk`, { headers: auth, body: { jobs } });
      expect(reply.status).toBe(201);
      expect(reply.body.jobs[0]).toMatchObject({ id: 'kept', existing: true });
      expect(reply.body.jobs[1]).toEqual({ id: 'fresh', queue: Q, name: 'demo.sleep' });
      expect(reply.body.jobs[2].existing).toBeUndefined();
      expect((await inspect.queue(Q).getJob('kept'))?.data).toEqual({ v: 'old', __trace: { correlationId: expect.any(String) } });
    });
  });

  describe('bounds of job options (400 naming the option and the bound)', () => {
    it.each([
      ['attempts', { attempts: 6 }, 'opts.attempts must be at most 5 (JOB_MAX_ATTEMPTS)'],
      ['backoff number', { backoff: 10_001 }, 'opts.backoff must be at most 10000 (JOB_MAX_BACKOFF_DELAY_MS)'],
      ['backoff.delay', { backoff: { type: 'exponential', delay: 2 ** 53 - 1 } }, 'opts.backoff.delay must be at most 10000 (JOB_MAX_BACKOFF_DELAY_MS)'],
      ['delay', { delay: 60_001 }, 'opts.delay must be at most 60000 (JOB_MAX_DELAY_MS)'],
      ['timeoutMs', { timeoutMs: 60_001 }, 'opts.timeoutMs must be at most 60000 (MAX_JOB_DURATION)'],
      ['exponential growth', { attempts: 5, backoff: { type: 'exponential', delay: 2000 } }, 'waits 2000 ms × 2^3 before the last attempt; the longest wait must be at most 10000 (JOB_MAX_BACKOFF_DELAY_MS)'],
    ])('%s', async (_name, opts, message) => {
      const reply = await request(app.url, 'POST', `/jobs/${Q}`, { headers: auth, body: { name: 'demo.sleep', opts } });
      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain(message);
      const counts = await inspect.queue(Q).getJobCounts();
      expect(Object.values(counts).reduce((sum, count) => sum + count, 0)).toBe(0);
    });

    it('at the bounds the job is accepted', async () => {
      const opts = { attempts: 5, backoff: { type: 'fixed', delay: 10_000 }, delay: 60_000, timeoutMs: 60_000 };
      expect((await request(app.url, 'POST', `/jobs/${Q}`, { headers: auth, body: { name: 'demo.sleep', opts } })).status).toBe(201);
      const exponential = { jobId: 'exp-at-bound', attempts: 5, backoff: { type: 'exponential', delay: 1250 } }; // 1250 × 8 = 10000
      expect((await request(app.url, 'POST', `/jobs/${Q}`, { headers: auth, body: { name: 'demo.sleep', opts: exponential } })).status).toBe(201);
    });

    it('a bulk over JOB_MAX_BULK is a 400 naming the bound', async () => {
      const jobs = Array.from({ length: 4 }, () => ({ name: 'demo.sleep' }));
      const reply = await request(app.url, 'POST', `/jobs/${Q}/bulk`, { headers: auth, body: { jobs } });
      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('at most 3 jobs in one bulk (JOB_MAX_BULK)');
    });
  });

  describe('POST /events', () => {
    const event = { type: 'workspace.created', data: { workspaceId: 'w1', name: 'n', ownerId: 'u1' } };

    it('source is set by the server (EVENTS_API_SOURCE); a client-given source is a 400', async () => {
      const forged = await request(app.url, 'POST', '/events', { headers: auth, body: { ...event, source: 'queue-processor' } });
      expect(forged.status).toBe(400);
      expect(forged.body.details).toContainEqual({ path: 'source', message: expect.stringContaining('assigned by the server') });
      const published = await request(app.url, 'POST', '/events', { headers: auth, body: event });
      expect(published.status).toBe(202);
      const entries = await inspect.connection.xrange(app.env.STREAM_NAME!, '-', '+');
      const fields = entries.map(([, values]) => Object.fromEntries(values.reduce<string[][]>((pairs, value, index) => (index % 2 === 0 ? [...pairs, [value]] : (pairs.at(-1)!.push(value), pairs)), [])));
      const mine = fields.find((entry) => entry.id === published.body.id);
      expect(mine?.source).toBe('partner-api');
      expect(fields.some((entry) => entry.source === 'queue-processor')).toBe(false);
    });

    it.each(['job.dead-lettered', 'job.completed', 'JOB.failed'])('%s is reserved to the stack: 400', async (type) => {
      const reply = await request(app.url, 'POST', '/events', { headers: auth, body: { type, data: { queue: Q, jobId: 'x', name: 'demo.sleep' } } });
      expect(reply.status).toBe(400);
      expect(JSON.stringify(reply.body)).toContain('published by the stack only');
    });
  });

  it('GET /jobs/:queue/:id carries no stack trace unless EXPOSE_STACKS=true', async () => {
    const worker = new Worker(
      Q,
      async () => {
        throw new Error('boom at /srv/app/secret-path.ts');
      },
      { connection: inspect.connection.duplicate(), prefix: bullPrefix(Q, inspect.connection.isCluster) },
    );
    try {
      await inspect.queue(Q).add('demo.sleep', {}, { jobId: 'fails-once', attempts: 1 });
      await waitFor(async () => (await inspect.queue(Q).getJobState('fails-once')) === 'failed' || undefined, 'job failed');
    } finally {
      await worker.close();
    }
    const view = await request(app.url, 'GET', `/jobs/${Q}/fails-once`, { headers: auth });
    expect(view.status).toBe(200);
    expect(view.body.failedReason).toContain('boom');
    expect(view.body.stacktrace).toBeUndefined();
    expect(JSON.stringify(view.body)).not.toMatch(/\n\s+at /);
  });

  describe('Bull Board write routes', () => {
    const board = (base: string, method: string, path: string, body?: unknown) =>
      request(base, method, `/admin/queues/api/queues${path}`, { headers: basic, ...(body === undefined ? {} : { body }) });

    it('read-only by default: add, pause, clean, obliterate are 403 at the server; reads still work', async () => {
      expect((await board(app.url, 'GET', '')).status).toBe(200);
      for (const [method, path] of [
        ['POST', `/${Q}/add`],
        ['PUT', `/${Q}/pause`],
        ['PUT', `/${Q}/clean/completed`],
        ['PUT', `/${Q}/obliterate`],
        ['PUT', '/pause'],
      ] as const) {
        const reply = await board(app.url, method, path, { name: 'demo.sleep', data: {} });
        expect(reply.status, `${method} ${path}`).toBe(403);
        expect(reply.body.error).toBe('forbidden_queue');
      }
      expect(await inspect.queue(Q).isPaused()).toBe(false);
      expect(await inspect.queue(Q).count()).toBe(0);
    });

    it('ADMIN_READONLY=false: the dead-letter queue stays read-only', async () => {
      const dlq = 'dead-letter-queue';
      for (const [method, path] of [
        ['POST', `/${dlq}/add`],
        ['PUT', `/${dlq}/obliterate`],
        ['PUT', `/${dlq}/clean/failed`],
        ['PUT', `/${dlq}/retry/failed`],
      ] as const) {
        const reply = await board(writable.url, method, path, { name: 'demo.sleep', data: {} });
        expect(reply.status, `${method} ${path}`).toBe(403);
      }
      expect(await inspect.queue(dlq).count()).toBe(0);
    });

    it('ADMIN_READONLY=false: add goes through the API job schema and bounds', async () => {
      const over = await board(writable.url, 'POST', `/${Q}/add`, { name: 'demo.sleep', data: {}, options: { attempts: 1e9 } });
      expect(over.status).toBe(400);
      expect(over.body.message).toContain('opts.attempts');
      const lifo = await board(writable.url, 'POST', `/${Q}/add`, { name: 'demo.sleep', data: {}, options: { lifo: true } });
      expect(lifo.status).toBe(400);
      const badData = await board(writable.url, 'POST', `/${Q}/add`, { name: 'demo.sleep', data: [1, 2] });
      expect(badData.status).toBe(400);
      expect(await inspect.queue(Q).count()).toBe(0);
      const good = await board(writable.url, 'POST', `/${Q}/add`, { name: 'demo.sleep', data: { durationMs: 1 }, options: { attempts: 2, delay: 1000 } });
      expect(good.status).toBe(200);
      expect(await inspect.queue(Q).count()).toBe(1);
    });

    it('ADMIN_READONLY=false: update-data, delay and priority are checked too', async () => {
      await inspect.queue(Q).add('demo.sleep', { v: 1 }, { jobId: 'edit-me', delay: 30_000 });
      expect((await board(writable.url, 'PATCH', `/${Q}/edit-me/update-data`, { jobData: 'not an object' })).status).toBe(400);
      expect((await board(writable.url, 'PATCH', `/${Q}/edit-me/delay`, { runAt: Date.now() + 10 * 86_400_000 })).status).toBe(400);
      expect((await board(writable.url, 'PATCH', `/${Q}/edit-me/priority`, { priority: -4 })).status).toBe(400);
      expect((await inspect.queue(Q).getJob('edit-me'))?.data).toEqual({ v: 1 });
      expect((await board(writable.url, 'PATCH', `/${Q}/edit-me/update-data`, { jobData: { v: 2 } })).status).toBe(200);
      expect((await board(writable.url, 'PUT', `/${Q}/concurrency`, { concurrency: 1e9 })).status).toBe(400);
      expect((await board(writable.url, 'PUT', `/${Q}/rate-limit`, { max: 0, duration: 1000 })).status).toBe(400);
      expect((await board(writable.url, 'PATCH', `/${Q}/job-schedulers/s1`, { every: 1 })).status).toBe(403);
      expect((await inspect.queue(Q).getJob('edit-me'))?.data).toEqual({ v: 2 });
    });
  });
});
