import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DLQ_META_KEY, decodeEvent, deadLetterEntrySchema, retryJobData } from '@event-infra/shared';
import { waitFor, type RedisServer } from '@event-infra/testing';
import { flushQueues, inspectQueues, request, startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

const exampleModule = fileURLToPath(new URL('../examples/custom-handlers.ts', import.meta.url));

describe('workers: retries, permanent failures, timeouts, DLQ, events', () => {
  let redis: RedisServer;
  let app: StartedProcessor;
  let inspect: ReturnType<typeof inspectQueues>;
  let target: Server;
  let targetUrl: string;
  const seen: { path: string; closedEarly: boolean }[] = [];

  beforeAll(async () => {
    target = createServer((req: IncomingMessage, res) => {
      const entry = { path: req.url ?? '', closedEarly: false };
      seen.push(entry);
      res.on('close', () => {
        if (!res.writableEnded) entry.closedEarly = true;
      });
      if (req.url === '/ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
      else if (req.url === '/boom') res.writeHead(503).end('down');
      else if (req.url === '/missing') res.writeHead(404).end('no');
      // '/hang': never answers; only the client's abort ends it.
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    redis = await startTestRedis();
    app = await startProcessor(redis, {
      EXPOSE_STACKS: 'true',
      HTTP_ALLOWED_HOSTS: new URL(targetUrl).host,
      PUBLISH_EVENTS: 'true',
      PROGRESS_EVENT_INTERVAL_MS: '60000',
      CONCURRENCY_ASYNC_PROCESSING: '3',
      LONG_RUNNING_JOBS_ENABLED: 'false',
      JOB_HANDLERS_MODULE: exampleModule,
    });
    inspect = inspectQueues(redis);
  });
  afterAll(async () => {
    await app?.close();
    await inspect?.close();
    await redis?.stop();
    target?.closeAllConnections();
    await new Promise((resolve) => target?.close(resolve));
  });
  beforeEach(async () => {
    seen.length = 0;
    await inspect.queue('dead-letter-queue').obliterate({ force: true });
  });

  const submit = async (queue: string, body: unknown): Promise<string> => {
    const created = await request(app.url, 'POST', `/jobs/${queue}`, { body });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const jobView = async (queue: string, id: string) => (await request(app.url, 'GET', `/jobs/${queue}/${id}`)).body;
  const finished = (queue: string, id: string, state: 'completed' | 'failed') =>
    waitFor(async () => {
      const view = await jobView(queue, id);
      return view.state === state ? view : undefined;
    }, `job ${id} ${state}`);
  const streamEvents = async (jobId: string) =>
    (await inspect.connection.xrange(app.env.STREAM_NAME!, '-', '+'))
      .map(([, fields]) => decodeEvent(fields))
      .filter((event) => event.data.jobId === jobId);
  const dlqEntry = async (jobId: string) =>
    waitFor(async () => {
      const jobs = await inspect.queue('dead-letter-queue').getJobs(['waiting']);
      const found = jobs.find((job) => job.data.origin?.jobId === jobId);
      return found ? { name: found.name, entry: deadLetterEntrySchema.parse(found.data) } : undefined;
    }, `DLQ entry for ${jobId}`);

  it('demo.sleep completes with progress, result and lifecycle events (progress events rate-limited)', async () => {
    const id = await submit('async-processing', { name: 'demo.sleep', data: { durationMs: 100, steps: 5 } });
    const view = await finished('async-processing', id, 'completed');
    expect(view).toMatchObject({ progress: 100, progressMessage: 'step 5/5', attemptsMade: 1, returnValue: { sleptMs: expect.any(Number) } });
    const events = await waitFor(async () => {
      const list = await streamEvents(id);
      return list.some((event) => event.type === 'job.completed') ? list : undefined;
    }, 'job.completed event');
    const types = events.map((event) => event.type);
    expect(types.filter((type) => type === 'job.started')).toHaveLength(1);
    // First report, then nothing until 100 within the 60 s interval.
    expect(types.filter((type) => type === 'job.progress')).toHaveLength(2);
    expect(events.find((event) => event.type === 'job.completed')?.data).toMatchObject({ queue: 'async-processing', name: 'demo.sleep', attempts: 1 });
  });

  it('transient failures are retried with exponential backoff until success', async () => {
    const id = await submit('async-processing', { name: 'demo.fail', data: { failTimes: 2 }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 100 } } });
    const view = await finished('async-processing', id, 'completed');
    expect(view.attemptsMade).toBe(3);
    expect(view.returnValue).toEqual({ succeededOnAttempt: 3 });
    expect(view.stacktrace).toHaveLength(2);
    // Backoff 100 ms then 200 ms between the attempts.
    expect(Date.parse(view.timestamps.finished) - Date.parse(view.timestamps.created)).toBeGreaterThanOrEqual(300);
    const failed = (await streamEvents(id)).filter((event) => event.type === 'job.failed');
    expect(failed.map((event) => event.data.willRetry)).toEqual([true, true]);
  });

  it('a job out of attempts lands in the DLQ with the contract entry and job.dead-lettered', async () => {
    // A retry as the DLQ processor sends it (a client cannot: POST /jobs refuses `__dlq`).
    const token = 'c0ffee'.repeat(5) + 'ab';
    const added = await inspect.queue('event-driven-jobs').add(
      'demo.fail',
      retryJobData({ message: 'still broken', keep: 'me' }, { entryId: 'dlq-entry-7', retries: 2, token }),
      { attempts: 2, backoff: { type: 'fixed', delay: 30 }, priority: 4, timeoutMs: 9000 } as never,
    );
    const id = String(added.id);
    const view = await finished('event-driven-jobs', id, 'failed');
    expect(view.attemptsMade).toBe(2);
    const { name, entry } = await dlqEntry(id);
    expect(name).toBe('job');
    expect(entry).toMatchObject({
      kind: 'job',
      origin: { kind: 'job', queue: 'event-driven-jobs', jobId: id, opts: { attempts: 2, priority: 4, timeoutMs: 9000, backoff: { type: 'fixed', delay: 30 } } },
      name: 'demo.fail',
      data: { message: 'still broken', keep: 'me' },
      error: { message: 'still broken', name: 'RetryableJobError', code: 'demo_failure' },
      attempts: 2,
      dlqRetries: 2,
      dlqEntryId: 'dlq-entry-7',
      dlqToken: token,
    });
    expect(entry.data).not.toHaveProperty(DLQ_META_KEY);
    expect(entry.error.stack).toContain('RetryableJobError');
    expect(Date.parse(entry.firstFailedAt)).toBeLessThan(Date.parse(entry.lastFailedAt));
    await waitFor(async () => (await streamEvents(id)).some((event) => event.type === 'job.dead-lettered'), 'job.dead-lettered event');
  });

  it('a permanent failure stops at the first attempt and is marked permanent in the DLQ', async () => {
    const id = await submit('async-processing', { name: 'demo.fail', data: { permanent: true, message: 'bad input' }, opts: { attempts: 5 } });
    const view = await finished('async-processing', id, 'failed');
    expect(view.attemptsMade).toBe(1);
    expect(view.failedReason).toBe('bad input');
    const { entry } = await dlqEntry(id);
    expect(entry.error).toMatchObject({ permanent: true, message: 'bad input', name: 'PermanentJobError' });
    expect(entry.attempts).toBe(1);
    expect(entry.firstFailedAt).toBe(entry.lastFailedAt);
  });

  it('a timeout aborts the handler (the HTTP call is cut) and fails with JobTimeoutError', async () => {
    const id = await submit('async-processing', { name: 'http.request', data: { url: `${targetUrl}/hang` }, opts: { attempts: 1, timeoutMs: 300 } });
    const view = await finished('async-processing', id, 'failed');
    expect(view.failedReason).toBe('job exceeded its timeout of 300 ms');
    await waitFor(() => seen.find((entry) => entry.path === '/hang')?.closedEarly, 'the hanging request to be aborted');
    const { entry } = await dlqEntry(id);
    expect(entry.error).toMatchObject({ name: 'JobTimeoutError', code: 'ETIMEDOUT' });
    expect(entry.error.permanent).toBeUndefined();
  });

  it('http.request: 200 result, 5xx retried, 4xx permanent, host outside the allow-list refused', async () => {
    const ok = await submit('async-processing', { name: 'http.request', data: { url: `${targetUrl}/ok` } });
    expect((await finished('async-processing', ok, 'completed')).returnValue).toMatchObject({ status: 200, body: { hello: 'world' } });

    const boom = await submit('async-processing', { name: 'http.request', data: { url: `${targetUrl}/boom` }, opts: { attempts: 2, backoff: 10 } });
    await finished('async-processing', boom, 'failed');
    expect(seen.filter((entry) => entry.path === '/boom')).toHaveLength(2);
    expect((await dlqEntry(boom)).entry.error).toMatchObject({ status: 503 });

    const missing = await submit('async-processing', { name: 'http.request', data: { url: `${targetUrl}/missing` }, opts: { attempts: 3 } });
    expect((await finished('async-processing', missing, 'failed')).attemptsMade).toBe(1);
    expect((await dlqEntry(missing)).entry.error).toMatchObject({ status: 404, permanent: true });

    const refused = await submit('async-processing', { name: 'http.request', data: { url: 'http://localhost:1/x' }, opts: { attempts: 3 } });
    const refusedView = await finished('async-processing', refused, 'failed');
    expect(refusedView.attemptsMade).toBe(1);
    expect(refusedView.failedReason).toContain('not in HTTP_ALLOWED_HOSTS');
  });

  it('DELETE of an active job aborts it in the worker; it fails as cancelled, not dead-lettered', async () => {
    const id = await submit('async-processing', { name: 'demo.sleep', data: { durationMs: 30_000, steps: 300 } });
    await waitFor(async () => (await jobView('async-processing', id)).progress > 0, 'the job to report progress');
    const deleted = await request(app.url, 'DELETE', `/jobs/async-processing/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ previousState: 'active', result: 'cancel-requested' });
    const view = await finished('async-processing', id, 'failed');
    expect(view.failedReason).toBe('job was cancelled');
    expect(view.attemptsMade).toBe(1);
    await waitFor(async () => (await streamEvents(id)).some((event) => event.type === 'job.cancelled'), 'job.cancelled event');
    expect(await inspect.queue('dead-letter-queue').count()).toBe(0);
  });

  it('custom handlers from JOB_HANDLERS_MODULE run on their queues only', async () => {
    const id = await submit('async-processing', { name: 'example.uppercase', data: { text: 'hello' } });
    expect((await finished('async-processing', id, 'completed')).returnValue).toEqual({ text: 'HELLO' });
    const wrongQueue = await request(app.url, 'POST', '/jobs/long-running-jobs', { body: { name: 'example.uppercase', data: { text: 'x' } } });
    expect(wrongQueue.status).toBe(422);
  });

  it('/stats shows per-queue workers and concurrency; LONG_RUNNING_JOBS_ENABLED=false runs none for it', async () => {
    const stats = await request(app.url, 'GET', '/stats');
    const byName = Object.fromEntries(stats.body.queues.map((queue: { name: string; worker: unknown }) => [queue.name, queue.worker]));
    expect(byName['long-running-jobs']).toBeNull();
    expect(byName['async-processing']).toMatchObject({ concurrency: 3, running: true });
    expect(byName['event-driven-jobs']).toMatchObject({ concurrency: 5, running: true });
    expect(byName['dead-letter-queue']).toBeNull();
    const metrics = (await request(app.url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/queue_jobs_completed_total\{queue="async-processing",name="demo.sleep",service="queue-processor"\} \d+/);
    expect(metrics).toMatch(/queue_job_duration_seconds_count\{[^}]*queue="async-processing",name="demo.sleep",status="completed"/);
  });
});

describe('workers: an unreachable event stream never fails a job', () => {
  it('completes the job and logs the failed publish', async () => {
    const redis = await startTestRedis();
    const streams = await startTestRedis();
    const { captureLogger } = await import('@event-infra/testing');
    const captured = captureLogger('queue-test', 'warn');
    const app = await startProcessor(redis, { REDIS_STREAMS_URL: streams.url, PUBLISH_EVENTS: 'true' }, captured.logger);
    try {
      await streams.kill();
      const created = await request(app.url, 'POST', '/jobs/async-processing', { body: { name: 'demo.sleep', data: { durationMs: 10, steps: 1 } } });
      await waitFor(async () => (await request(app.url, 'GET', `/jobs/async-processing/${created.body.id}`)).body.state === 'completed', 'job completed');
      await waitFor(() => captured.lines.some((line) => line.msg === 'lifecycle event not published'), 'publish failure log');
    } finally {
      await app.close();
      await redis.stop();
      await streams.stop();
    }
  });
});

describe('workers: lock renewal keeps a job longer than its lock from stalling', () => {
  it('a job running several lock durations completes on its first attempt, never stalled', async () => {
    const redis = await startTestRedis();
    // Lock 600 ms, stalled check every 200 ms: without renewal the 2.4 s job would stall.
    const app = await startProcessor(redis, { JOB_LOCK_DURATION_MS: '600', JOB_STALLED_INTERVAL_MS: '200' });
    const inspect = inspectQueues(redis);
    try {
      const created = await request(app.url, 'POST', '/jobs/long-running-jobs', { body: { name: 'demo.sleep', data: { durationMs: 2400, steps: 4 }, opts: { attempts: 1 } } });
      await waitFor(async () => (await inspect.queue('long-running-jobs').getJobState(created.body.id)) === 'completed', 'the long job to complete');
      const job = (await inspect.queue('long-running-jobs').getJob(created.body.id))!;
      expect(job.attemptsStarted).toBe(1);
      expect(job.stalledCounter).toBe(0);
    } finally {
      await app.close();
      await inspect.close();
      await redis.stop();
    }
  });
});
