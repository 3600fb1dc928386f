/**
 * Setup shared by the suites that drain a queue through the queue processor's worker path
 * (`queue`, `timeline`): the queue, the worker options, the noop jobs, and the timed drain
 * (worker pool + job runner: registry, timeout, DLQ metadata split, metrics; events off).
 */
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, createDeadLetterSink, type Logger, type TimelineRecorder, type Tracing } from '@event-infra/shared';
import { HandlerRegistry } from '../../queue-system/src/core/handler-registry';
import { createJobRunner } from '../../queue-system/src/core/job-runner';
import { startWorkerPool } from '../../queue-system/src/core/worker-pool';

export const BENCH_QUEUE = QUEUES.asyncProcessing;
export const NOOP_JOB = 'bench.noop';
/** The worker options of every drain, ours and the bare BullMQ Worker's alike. */
export const WORKER_OPTIONS = { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2, keepCompleted: 1000, keepFailed: 5000 };

/** Adds `count` noop jobs, 1,000 per `addBulk`; `data` builds job n's data. */
export async function addNoopJobs(queue: Queue, count: number, data: (n: number) => Record<string, unknown> = (n) => ({ n })): Promise<void> {
  for (let added = 0; added < count; added += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, count - added) }, (_, index) => ({ name: NOOP_JOB, data: data(added + index) })));
  }
}

/** Resolves once `done()` is true, checked every 2 ms (the same check for every side of a comparison). */
export function until(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (done()) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
}

export interface WorkerDrainOptions {
  concurrency: number;
  logger: Logger;
  /** The job runner's timeline recorder (absent: timeline off). */
  timeline?: TimelineRecorder | undefined;
  /** The job runner's tracing (absent: tracing off). */
  tracing?: Tracing | undefined;
}

/**
 * The worker path drains the `count` noop jobs already on `queue` (named `BENCH_QUEUE`);
 * jobs/s from the pool's start until Redis has no active job left.
 */
export async function workerPathDrain(url: string, queue: Queue, count: number, options: WorkerDrainOptions): Promise<number> {
  const { logger, timeline, tracing } = options;
  let completed = 0;
  const registry = new HandlerRegistry().register({ name: NOOP_JOB, handler: () => undefined });
  const sinkConnection = new Redis(url, { maxRetriesPerRequest: null });
  const deadLetters = createDeadLetterSink({ queueName: QUEUES.deadLetter, connection: sinkConnection });
  const observer = {
    finished(_queue: string, _name: string, status: 'completed' | 'failed') {
      if (status === 'completed') completed += 1;
    },
  };
  const started = performance.now();
  const pool = await startWorkerPool(
    { queues: [{ name: BENCH_QUEUE, concurrency: options.concurrency }], ...WORKER_OPTIONS },
    {
      connect: () => new Redis(url, { maxRetriesPerRequest: null }),
      runnerFor: (name) => createJobRunner({ queue: name, maxTimeoutMs: 3_600_000 }, { registry, deadLetters, observer, logger, timeline, tracing }),
      deadLetters,
      logger,
    },
  );
  // `finished` fires just before BullMQ's moveToCompleted: wait for Redis to agree.
  await until(() => completed >= count);
  while (((await queue.getJobCounts('active')).active ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  const rate = count / ((performance.now() - started) / 1000);
  await pool.close(5_000);
  await deadLetters.close();
  sinkConnection.disconnect();
  return rate;
}
