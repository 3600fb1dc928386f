/**
 * The two BullMQ workers of the DLQ processor on real queues (support/handler-parts.ts):
 * the consumer of the dead-letter queue (a malformed job fails for good, a handling error
 * delays the job and it is handled again, nothing lost) and the retry worker (a due retry
 * is sent back; a send that fails every attempt parks the entry, only after the last one).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { BULL_PREFIX, createDeadLetterSink, type DeadLetterSink } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { DlqConsumer } from '../src/core/dlq-consumer';
import { RetryQueue, RetryWorker } from '../src/core/retry-scheduler';
import { dlqKeys } from '../src/core/stored-entry';
import { jobEntry } from './support/dlq-harness';
import { startHandlerParts, type HandlerParts } from './support/handler-parts';

describe('DLQ workers', () => {
  let parts: HandlerParts;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    parts = await startHandlerParts({ maxRetries: 3, baseDelayMs: 60_000, maxDelayMs: 600_000 });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await parts.close();
  });

  function consumer(): { queue: Queue; sink: DeadLetterSink; running: DlqConsumer } {
    const queueName = uniqueName('dlq-consumer');
    const running = new DlqConsumer({ queueName, connection: parts.connection, concurrency: 2, handleRetryDelayMs: 200 }, { handler: parts.handler, logger: silentLogger() });
    running.start();
    const queue = new Queue(queueName, { connection: parts.queueRedis, prefix: BULL_PREFIX });
    const sink = createDeadLetterSink({ queueName, connection: parts.queueRedis });
    cleanups.push(async () => {
      await running.close();
      await sink.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    return { queue, sink, running };
  }

  it('handles each dead-letter job into an entry and completes it', async () => {
    const { queue, sink } = consumer();
    const id = await sink.add(jobEntry(uniqueName('origin'), 'ok-1', { message: 'bad', permanent: true }));
    await waitFor(async () => (await queue.getJobState(id)) === 'completed', 'the DLQ job to complete');
    expect(await parts.store.get(id)).toMatchObject({ status: 'parked' });
  });

  it('a malformed job fails for good at once (kept in the failed set, never retried), naming the problem', async () => {
    const { queue } = consumer();
    const job = await queue.add('entry', { kind: 'job', origin: 'nonsense' }, { attempts: 5 });
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'failed', 'the malformed job to fail');
    const failed = (await queue.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toContain(`DLQ job ${job.id} is not a dead-letter entry`);
  });

  it('a handling error (the master refuses the write) delays the job; it is handled once the master works again', async () => {
    const { queue, sink } = consumer();
    // Every transition reads the state hash first: of the wrong type, it fails before writing.
    await parts.redis.set(dlqKeys.state(), 'not a hash');
    let restored = false;
    cleanups.push(async () => {
      if (!restored) await parts.redis.del(dlqKeys.state());
    });
    const id = await sink.add(jobEntry(uniqueName('origin'), 'later-1', { message: 'bad', permanent: true }));
    await waitFor(async () => (await queue.getJobState(id)) === 'delayed', 'the DLQ job to be delayed');
    expect(await parts.store.get(id)).toBeUndefined();
    await parts.redis.del(dlqKeys.state());
    restored = true;
    await waitFor(async () => (await queue.getJobState(id)) === 'completed', 'the DLQ job handled again');
    expect(await parts.store.get(id)).toMatchObject({ status: 'parked', failures: 1 });
  });

  it('a closed consumer handles nothing more', async () => {
    const { queue, sink, running } = consumer();
    await running.close();
    const id = await sink.add(jobEntry(uniqueName('origin'), 'closed-1', { message: 'bad', permanent: true }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await queue.getJobState(id)).toBe('waiting');
    expect(await parts.store.get(id)).toBeUndefined();
  });

  function retryWorker(sendAttempts: number): RetryQueue {
    const queue = new RetryQueue({ dlqQueueName: uniqueName('dlq'), connection: parts.queueRedis, sendAttempts });
    const worker = new RetryWorker({ queueName: queue.queue.name, connection: parts.connection }, { handler: parts.handler, logger: silentLogger() });
    worker.start();
    cleanups.push(async () => {
      await worker.close();
      await queue.queue.obliterate({ force: true });
      await queue.close();
    });
    return queue;
  }

  it('schedules one job per entry and retry (its id without colons, the send attempts and backoff set)', async () => {
    const queue = new RetryQueue({ dlqQueueName: uniqueName('dlq'), connection: parts.queueRedis });
    cleanups.push(async () => {
      await queue.queue.obliterate({ force: true });
      await queue.close();
    });
    await queue.schedule('job-q:1-0', 2, 5_000);
    await queue.schedule('job-q:1-0', 2, 5_000);
    const job = (await queue.queue.getJob('job-q_1-0-r2'))!;
    expect(job.data).toEqual({ entryId: 'job-q:1-0', retry: 2 });
    expect(job.opts).toMatchObject({ delay: 5_000, attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: 1_000 });
    expect(await queue.queue.getDelayedCount()).toBe(1);
  });

  it('a due retry is sent back to its origin by the retry worker', async () => {
    const queue = retryWorker(3);
    const origin = new Queue(uniqueName('origin'), { connection: parts.queueRedis, prefix: BULL_PREFIX });
    cleanups.push(async () => {
      await origin.obliterate({ force: true });
      await origin.close();
    });
    const entry = await parts.handler.handle(jobEntry(origin.name, 'due-1', { message: 'down', code: 'ECONNREFUSED' }), uniqueName('src'));
    await queue.schedule(entry.id, 1, 0);
    // The entry is `retried` before the send returns: wait for the job itself.
    await waitFor(async () => (await origin.getJobCountByTypes('waiting')) === 1, 'the retry job on the origin queue');
    expect((await parts.store.get(entry.id))?.status).toBe('retried');
  });

  it('a send failing every attempt parks the entry (retry_failed) after the last attempt only', async () => {
    const queue = retryWorker(2);
    const originName = uniqueName('broken-origin');
    // The origin queue refuses every add: its wait list is a key of another type.
    await parts.queueRedis.set(`${BULL_PREFIX}:${originName}:wait`, 'not a list');
    cleanups.push(async () => void (await parts.queueRedis.del(`${BULL_PREFIX}:${originName}:wait`)));
    const entry = await parts.handler.handle(jobEntry(originName, 'fail-1', { message: 'down', code: 'ECONNREFUSED' }), uniqueName('src'));
    await queue.schedule(entry.id, 1, 0);
    const jobId = `${entry.id}-r1`.replaceAll(':', '_');
    await waitFor(async () => (await queue.queue.getJob(jobId))?.attemptsMade === 1, 'the first attempt to fail');
    expect((await parts.store.get(entry.id))?.status).toBe('scheduled');
    await waitFor(async () => (await parts.store.get(entry.id))?.status === 'parked', 'the entry parked after the last attempt');
    expect(await parts.store.get(entry.id)).toMatchObject({ parkReason: 'retry_failed' });
    const job = (await queue.queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(2);
    expect(await job.getState()).toBe('failed');
  });
});
