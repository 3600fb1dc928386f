import { beforeEach, describe, expect, it } from 'vitest';
import { DLQ_META_KEY } from '@event-infra/shared';
import { flushQueues, processorPerFile, request } from './support/processor';

const KEY = 'test-api-key-123';
const auth = { authorization: `Bearer ${KEY}` };

describe('HTTP API /jobs and /events (API only, no workers)', () => {
  const started = processorPerFile({ QUEUE_ENABLED: 'false', API_KEY: KEY, HTTP_BODY_LIMIT: '2kb', MAX_JOB_DURATION: '60' });
  beforeEach(async () => {
    await flushQueues(started.inspect.connection);
  });

  it('POST /jobs/:queue adds a job: 201, body and Location; GET returns it', async () => {
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', {
      headers: auth,
      body: { name: 'demo.sleep', data: { durationMs: 10 }, opts: { priority: 3, attempts: 2, timeoutMs: 5000 } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), queue: 'async-processing', name: 'demo.sleep', correlationId: expect.any(String) });
    expect(created.headers.get('location')).toBe(`/jobs/async-processing/${created.body.id}`);

    const got = await request(started.app.url, 'GET', created.headers.get('location')!, { headers: auth });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: created.body.id,
      name: 'demo.sleep',
      queue: 'async-processing',
      state: 'prioritized',
      progress: 0,
      attemptsMade: 0,
      data: { durationMs: 10 },
      opts: { attempts: 2, priority: 3, timeoutMs: 5000 },
      returnValue: null,
      failedReason: null,
    });
    expect(got.body.timestamps.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    const job = await started.inspect.queue('async-processing').getJob(created.body.id);
    expect(job?.opts.backoff).toEqual({ type: 'exponential', delay: 20 });
  });

  it('refuses a timeoutMs over MAX_JOB_DURATION (400 naming the bound) and defaults attempts to RETRY_ATTEMPTS', async () => {
    const over = await request(started.app.url, 'POST', '/jobs/event-driven-jobs', {
      headers: auth,
      body: { name: 'demo.fail', opts: { timeoutMs: 999_999_999, backoff: 500 } },
    });
    expect(over.status).toBe(400);
    expect(over.body.message).toContain('opts.timeoutMs must be at most 60000 (MAX_JOB_DURATION)');
    const created = await request(started.app.url, 'POST', '/jobs/event-driven-jobs', {
      headers: auth,
      body: { name: 'demo.fail', opts: { timeoutMs: 60_000, backoff: 500 } },
    });
    expect(created.status).toBe(201);
    const job = await started.inspect.queue('event-driven-jobs').getJob(created.body.id);
    expect((job?.opts as { timeoutMs?: number }).timeoutMs).toBe(60_000);
    const plain = await request(started.app.url, 'POST', '/jobs/event-driven-jobs', { headers: auth, body: { name: 'demo.fail' } });
    expect((await request(started.app.url, 'GET', `/jobs/event-driven-jobs/${plain.body.id}`, { headers: auth })).body.opts.timeoutMs).toBe(60_000);
    expect(job?.opts.attempts).toBe(3);
    expect(job?.opts.backoff).toEqual({ type: 'fixed', delay: 500 });
  });

  it('a duplicate jobId answers 200 with the existing job and adds nothing', async () => {
    const body = { name: 'demo.sleep', data: { durationMs: 1 }, opts: { jobId: 'order-42' } };
    const first = await request(started.app.url, 'POST', '/jobs/async-processing', { headers: auth, body });
    expect(first.status).toBe(201);
    const second = await request(started.app.url, 'POST', '/jobs/async-processing', { headers: auth, body: { ...body, data: { durationMs: 999 } } });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: 'order-42', queue: 'async-processing', name: 'demo.sleep', existing: true });
    const counts = await started.inspect.queue('async-processing').getJobCounts('waiting');
    expect(counts.waiting).toBe(1);
    expect((await started.inspect.queue('async-processing').getJob('order-42'))?.data).toEqual({ durationMs: 1, __trace: { correlationId: expect.any(String) } });
  });

  it('errors: 404 unknown queue, 403 dead-letter-queue, 422 unknown job name, 400 invalid body', async () => {
    const unknown = await request(started.app.url, 'POST', '/jobs/no-such-queue', { headers: auth, body: { name: 'demo.sleep' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'unknown_queue', message: expect.stringContaining('no-such-queue') });

    const dlq = await request(started.app.url, 'POST', '/jobs/dead-letter-queue', { headers: auth, body: { name: 'demo.sleep' } });
    expect(dlq.status).toBe(403);
    expect(dlq.body.error).toBe('forbidden_queue');

    const noHandler = await request(started.app.url, 'POST', '/jobs/async-processing', { headers: auth, body: { name: 'nope.nothing' } });
    expect(noHandler.status).toBe(422);
    expect(noHandler.body).toMatchObject({ error: 'no_handler', details: { name: 'nope.nothing', accepted: expect.arrayContaining(['demo.sleep', 'http.request']) } });

    const invalid = await request(started.app.url, 'POST', '/jobs/async-processing', {
      headers: auth,
      body: { name: '', opts: { attempts: 0, jobId: 'a:b', extra: 1 } },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe('validation_failed');
    const paths = (invalid.body.details as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'opts.attempts', 'opts.jobId']));

    expect(await started.inspect.queue('async-processing').count()).toBe(0);
  });

  it('errors: 400 malformed JSON, 415 wrong content type, 413 too large', async () => {
    const badJson = await request(started.app.url, 'POST', '/jobs/async-processing', {
      headers: { ...auth, 'content-type': 'application/json' },
      rawBody: '{"name": "demo.sleep",',
    });
    expect(badJson.status).toBe(400);
    expect(badJson.body.error).toBe('invalid_json');

    const text = await request(started.app.url, 'POST', '/jobs/async-processing', {
      headers: { ...auth, 'content-type': 'text/plain' },
      rawBody: 'name=demo.sleep',
    });
    expect(text.status).toBe(415);
    expect(text.body.error).toBe('unsupported_media_type');

    const large = await request(started.app.url, 'POST', '/jobs/async-processing', {
      headers: auth,
      body: { name: 'demo.sleep', data: { blob: 'x'.repeat(4096) } },
    });
    expect(large.status).toBe(413);
    expect(large.body.error).toBe('payload_too_large');
  });

  it('errors: 401 without or with a wrong API key, on /jobs and /events; the key never echoes', async () => {
    const missing = await request(started.app.url, 'POST', '/jobs/async-processing', { body: { name: 'demo.sleep' } });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('unauthorized');
    const wrong = await request(started.app.url, 'GET', '/jobs/async-processing/1', { headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    const events = await request(started.app.url, 'POST', '/events', { body: { type: 'user.created', data: {} } });
    expect(events.status).toBe(401);
    expect(JSON.stringify([missing.body, wrong.body, events.body])).not.toContain(KEY);
    expect((await request(started.app.url, 'GET', '/stats')).status).toBe(200);
  });

  it('bulk: 201 with every id; one invalid job (schema or handler) adds nothing', async () => {
    const ok = await request(started.app.url, 'POST', '/jobs/async-processing/bulk', {
      headers: auth,
      body: { jobs: [{ name: 'demo.sleep', data: { durationMs: 1 } }, { name: 'demo.fail', opts: { jobId: 'bulk-b' } }] },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.jobs).toHaveLength(2);
    expect(ok.body.jobs[1]).toEqual({ id: 'bulk-b', queue: 'async-processing', name: 'demo.fail' });
    expect(await started.inspect.queue('async-processing').count()).toBe(2);

    const badName = await request(started.app.url, 'POST', '/jobs/async-processing/bulk', {
      headers: auth,
      body: { jobs: [{ name: 'demo.sleep', data: { durationMs: 1 } }, { name: 'unknown.job' }] },
    });
    expect(badName.status).toBe(422);
    expect(badName.body.details).toMatchObject({ index: 1, name: 'unknown.job' });

    const badShape = await request(started.app.url, 'POST', '/jobs/async-processing/bulk', {
      headers: auth,
      body: { jobs: [{ name: 'demo.sleep' }, { name: 'demo.sleep', opts: { priority: -1 } }] },
    });
    expect(badShape.status).toBe(400);
    expect(badShape.body.details[0].path).toBe('jobs.1.opts.priority');

    const tooMany = await request(started.app.url, 'POST', '/jobs/async-processing/bulk', {
      headers: auth,
      body: { jobs: Array.from({ length: 1001 }, () => ({ name: 'demo.sleep' })) },
    });
    // 1001 tiny jobs exceed the 2kb limit of this app; the count rule is checked below.
    expect([400, 413]).toContain(tooMany.status);
    expect(await started.inspect.queue('async-processing').count()).toBe(2);
  });

  it('GET 404 for an unknown job, DELETE removes a waiting and a delayed job, then 404', async () => {
    const notFound = await request(started.app.url, 'GET', '/jobs/async-processing/missing-job', { headers: auth });
    expect(notFound.status).toBe(404);
    expect(notFound.body.error).toBe('not_found');

    const waiting = await request(started.app.url, 'POST', '/jobs/async-processing', { headers: auth, body: { name: 'demo.sleep', data: { durationMs: 1 } } });
    const delayed = await request(started.app.url, 'POST', '/jobs/async-processing', { headers: auth, body: { name: 'demo.sleep', data: { durationMs: 1 }, opts: { delay: 60_000 } } });
    expect((await request(started.app.url, 'GET', `/jobs/async-processing/${delayed.body.id}`, { headers: auth })).body.state).toBe('delayed');

    const removedWaiting = await request(started.app.url, 'DELETE', `/jobs/async-processing/${waiting.body.id}`, { headers: auth });
    expect(removedWaiting.status).toBe(200);
    expect(removedWaiting.body).toMatchObject({ id: waiting.body.id, previousState: 'waiting', result: 'removed' });
    const removedDelayed = await request(started.app.url, 'DELETE', `/jobs/async-processing/${delayed.body.id}`, { headers: auth });
    expect(removedDelayed.body).toMatchObject({ previousState: 'delayed', result: 'removed' });
    expect(await started.inspect.queue('async-processing').count()).toBe(0);
    expect((await request(started.app.url, 'DELETE', `/jobs/async-processing/${waiting.body.id}`, { headers: auth })).status).toBe(404);
    expect((await request(started.app.url, 'DELETE', '/jobs/dead-letter-queue/x', { headers: auth })).status).toBe(403);
    expect((await request(started.app.url, 'GET', '/jobs/nope/x', { headers: auth })).status).toBe(404);
  });

  it('POST /events: 202 {id} and the event is on the stream; invalid event 400', async () => {
    const accepted = await request(started.app.url, 'POST', '/events', {
      headers: auth,
      body: { type: 'workspace.created', data: { workspaceId: 'ws1', name: 'Acme', ownerId: 'u1' } },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), correlationid: accepted.body.id });
    const entries = await started.inspect.connection.xrange(started.app.env.STREAM_NAME!, '-', '+');
    expect(entries).toHaveLength(1);
    expect(entries[0]![1].join(' ')).toContain(accepted.body.id);

    const invalid = await request(started.app.url, 'POST', '/events', { headers: auth, body: { type: 'Not A Type', data: {} } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe('validation_failed');
    const withId = await request(started.app.url, 'POST', '/events', { headers: auth, body: { id: 'x', type: 'user.created', data: {} } });
    expect(withId.status).toBe(400);
    expect(await started.inspect.connection.xlen(started.app.env.STREAM_NAME!)).toBe(1);
  });

  it('GET /stats lists the four queues with counts; /metrics has the queue gauge', async () => {
    await request(started.app.url, 'POST', '/jobs/long-running-jobs', { headers: auth, body: { name: 'demo.sleep', data: { durationMs: 1 } } });
    const stats = await request(started.app.url, 'GET', '/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.queues.map((queue: { name: string }) => queue.name)).toEqual([
      'long-running-jobs',
      'async-processing',
      'event-driven-jobs',
      'dead-letter-queue',
    ]);
    expect(stats.body.queues[0].counts).toEqual({ waiting: 1, active: 0, completed: 0, failed: 0, delayed: 0, paused: 0 });
    expect(stats.body.queueEnabled).toBe(false);
    expect(stats.body.workers).toEqual([]);
    const metrics = await request(started.app.url, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('queue_jobs{queue="long-running-jobs",state="waiting",service="queue-processor"} 1');
    expect(metrics.body).toContain('# TYPE queue_job_duration_seconds histogram');
    expect(JSON.stringify(stats.body)).not.toContain(started.redis.password);
  });

  it('refuses DLQ retry metadata from a client: 400 naming data.__dlq, nothing added', async () => {
    const jobId = `reserved-${Date.now()}`;
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', {
      headers: auth,
      body: { name: 'demo.sleep', data: { durationMs: 1, [DLQ_META_KEY]: { entryId: 'e1', retries: 1 } }, opts: { jobId } },
    });
    expect(created.status).toBe(400);
    expect(created.body.details).toEqual([{ path: `data.${DLQ_META_KEY}`, message: `data.${DLQ_META_KEY} is reserved for the stack` }]);
    expect(await started.inspect.queue('async-processing').getJob(jobId)).toBeUndefined();
  });
});
