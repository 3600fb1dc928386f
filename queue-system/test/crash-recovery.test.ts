import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '@event-infra/shared';
import { uniqueName, waitFor, type RedisServer } from '@event-infra/testing';
import { spawnProcessor, type ChildProcessor } from './support/child-processor';
import { flushQueues, inspectQueues, request, startTestRedis } from './support/processor';

/** Real child processes: kill -9 mid-job, graceful SIGTERM, grace deadline. */
describe('crash recovery and graceful shutdown (child processes)', () => {
  let redis: RedisServer;
  let inspect: ReturnType<typeof inspectQueues>;
  const children: ChildProcessor[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    inspect = inspectQueues(redis);
  });
  afterEach(async () => {
    for (const started of children.splice(0)) {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
      await started.exited;
    }
    await flushQueues(inspect.connection);
  });
  afterAll(async () => {
    await inspect?.close();
    await redis?.stop();
  });

  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    REDIS_STREAMS_URL: redis.url,
    QUEUE_PROCESSOR_PORT: '0',
    PUBLISH_EVENTS: 'true',
    // Short locks so a dead worker's job is detected within about two seconds.
    JOB_LOCK_DURATION_MS: '1500',
    JOB_STALLED_INTERVAL_MS: '500',
    ...overrides,
  });
  const start = async (overrides: Record<string, string>): Promise<ChildProcessor> => {
    const started = await spawnProcessor(env(overrides));
    children.push(started);
    return started;
  };
  const submitSleep = async (url: string, durationMs: number): Promise<string> => {
    const created = await request(url, 'POST', '/jobs/long-running-jobs', { body: { name: 'demo.sleep', data: { durationMs, steps: 20 }, opts: { attempts: 1 } } });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const job = (id: string) => inspect.queue('long-running-jobs').getJob(id);
  const eventsOf = async (stream: string, jobId: string, type: string) =>
    (await inspect.connection.xrange(stream, '-', '+'))
      .map(([, fields]) => decodeEvent(fields))
      .filter((event) => event.type === type && event.data.jobId === jobId);

  it('a job whose worker is killed with SIGKILL runs again on a new worker and completes once', async () => {
    const stream = uniqueName('events');
    const first = await start({ STREAM_NAME: stream });
    const id = await submitSleep(first.url, 2500);
    await waitFor(async () => Number((await job(id))?.progress) >= 10, 'the job to make progress in the first worker');
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(await inspect.queue('long-running-jobs').getJobState(id)).toBe('active');

    const second = await start({ STREAM_NAME: stream });
    await waitFor(async () => (await inspect.queue('long-running-jobs').getJobState(id)) === 'completed', 'the job to complete on the second worker', { timeoutMs: 20_000 });
    const done = (await job(id))!;
    expect(done.attemptsStarted).toBe(2);
    expect(done.stalledCounter).toBe(1);
    expect(done.attemptsMade).toBe(1);
    expect(done.returnvalue).toMatchObject({ sleptMs: expect.any(Number) });
    expect(second.lines.some((line) => line.msg?.toString().startsWith('job stalled') && line.jobId === id)).toBe(true);
    // Ran twice (once per worker), completed exactly once.
    expect(await eventsOf(stream, id, 'job.started')).toHaveLength(2);
    expect(await eventsOf(stream, id, 'job.completed')).toHaveLength(1);
  });

  it('a job that stalls more than JOB_MAX_STALLED_COUNT times fails into the DLQ', async () => {
    const overrides = { STREAM_NAME: uniqueName('events'), JOB_MAX_STALLED_COUNT: '1' };
    const first = await start(overrides);
    const id = await submitSleep(first.url, 20_000);
    let running = first;
    for (const attempt of [1, 2]) {
      if (attempt === 2) running = await start(overrides);
      // Each worker must have picked the job up (a new attempt started) before it is killed.
      await waitFor(async () => (await job(id))?.attemptsStarted === attempt, `attempt ${attempt} to start`, { timeoutMs: 20_000 });
      running.child.kill('SIGKILL');
      await running.exited;
    }
    await start(overrides);
    await waitFor(async () => (await inspect.queue('long-running-jobs').getJobState(id)) === 'failed', 'the job to fail after too many stalls', { timeoutMs: 20_000 });
    expect((await job(id))!.failedReason).toBe('job stalled more than allowable limit');
    const dlqJob = await waitFor(() => inspect.queue('dead-letter-queue').getJob(`job-long-running-jobs-${id}-0`), 'the DLQ entry');
    expect(dlqJob.data).toMatchObject({ kind: 'job', origin: { queue: 'long-running-jobs', jobId: id }, name: 'demo.sleep', error: { message: 'job stalled more than allowable limit' } });
  }, 90_000);

  it('SIGTERM lets the active job finish, takes no new job, and exits 0', async () => {
    const started = await start({ STREAM_NAME: uniqueName('events'), SHUTDOWN_GRACE_MS: '15000' });
    const id = await submitSleep(started.url, 1500);
    await waitFor(async () => Number((await job(id))?.progress) > 0, 'the job to start');
    started.child.kill('SIGTERM');
    await waitFor(() => started.lines.some((line) => line.msg === 'shutting down'), 'the shutdown to begin');
    const later = await inspect.queue('long-running-jobs').add('demo.sleep', { durationMs: 1 });
    expect(await started.exited).toBe(0);
    expect(await inspect.queue('long-running-jobs').getJobState(id)).toBe('completed');
    expect(await inspect.queue('long-running-jobs').getJobState(later.id!)).toBe('waiting');
    expect(started.lines.some((line) => line.msg === 'shutdown complete')).toBe(true);
  });

  it('past SHUTDOWN_GRACE_MS it exits non-zero and the unfinished job runs again after restart', async () => {
    const first = await start({ STREAM_NAME: uniqueName('events'), SHUTDOWN_GRACE_MS: '300' });
    const id = await submitSleep(first.url, 4000);
    await waitFor(async () => Number((await job(id))?.progress) > 0, 'the job to start');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(1);
    expect(await inspect.queue('long-running-jobs').getJobState(id)).toBe('active');

    await start({ STREAM_NAME: uniqueName('events') });
    await waitFor(async () => (await inspect.queue('long-running-jobs').getJobState(id)) === 'completed', 'the job to complete after restart', { timeoutMs: 20_000 });
    expect((await job(id))!.attemptsStarted).toBe(2);
  });
});
