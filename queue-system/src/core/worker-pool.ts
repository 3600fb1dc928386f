import type { RedisClient } from '@event-infra/shared';
import type { Job } from 'bullmq';
import { Worker } from '@event-infra/shared/bullmq';
import { bullPrefix, JOB_CANCEL_CHANNEL, buildJobDeadLetterEntry, splitReservedMeta, toError, type Logger } from '@event-infra/shared';
import { startFetchWatchdog, type FetchWatchdogOptions } from './fetch-watchdog';
import type { createJobRunner, JobRunnerDeps } from './job-runner';

export interface WorkerPoolOptions {
  /** Work queues to run, with their concurrency. */
  queues: readonly { name: string; concurrency: number }[];
  /** BullMQ lock duration, ms (renewed every half of it while a job runs). */
  lockDurationMs: number;
  /** Stalled-job check interval, ms. */
  stalledIntervalMs: number;
  maxStalledCount: number;
  /** Completed / failed jobs kept per queue. */
  keepCompleted: number;
  keepFailed: number;
  /** The fetch watchdog (`fetch-watchdog.ts`): a worker that stopped fetching is replaced. Absent: none. */
  fetchWatchdog?: FetchWatchdogOptions | undefined;
}

export interface WorkerPoolDeps {
  /** `consumer`-profile client factory on the queue Redis (one per worker + one subscriber). */
  connect: (name: string) => RedisClient;
  runnerFor: (queue: string) => ReturnType<typeof createJobRunner>;
  deadLetters: JobRunnerDeps['deadLetters'];
  logger: Logger;
}

export interface WorkerInfo {
  queue: string;
  concurrency: number;
  running: boolean;
  /** Jobs this process is running now on that queue. */
  active: number;
}

export interface WorkerPool {
  info(): WorkerInfo[];
  /** Local abort of an active job; true when this process runs it. */
  cancelLocal(queue: string, jobId: string): boolean;
  /**
   * Stops fetching at once, lets active jobs finish for up to `graceMs`, then drops the
   * connections (unfinished jobs' locks expire and another worker or a restart re-runs them).
   */
  close(graceMs: number): Promise<{ unfinished: number }>;
}

/** Starts one BullMQ worker per queue and listens on the cancel channel. */
export async function startWorkerPool(options: WorkerPoolOptions, deps: WorkerPoolDeps): Promise<WorkerPool> {
  const logger = deps.logger.child({ component: 'workers' });
  const connections: RedisClient[] = [];
  const active = new Map<string, number>();
  const lastStartedAt = new Map<string, number>();
  const workers = options.queues.map(({ name, concurrency }) => {
    const connection = deps.connect(`worker:${name}`);
    connections.push(connection);
    active.set(name, 0);
    lastStartedAt.set(name, Date.now());
    const runner = deps.runnerFor(name);
    // One parameter on purpose: BullMQ then creates no AbortController per job; cancelling
    // goes through the runner, which owns the handler's signal.
    const processor = async (job: Job): Promise<unknown> => {
      active.set(name, (active.get(name) ?? 0) + 1);
      lastStartedAt.set(name, Date.now());
      try {
        return await runner.processJob(job);
      } finally {
        active.set(name, (active.get(name) ?? 1) - 1);
      }
    };
    const createWorker = (): Worker => {
      const worker = new Worker(name, processor, {
        connection,
        prefix: bullPrefix(name, connection.isCluster),
        concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: options.maxStalledCount,
        removeOnComplete: { count: options.keepCompleted },
        removeOnFail: { count: options.keepFailed },
      });
      worker.on('error', (err) => logger.error({ queue: name, err: toError(err) }, 'worker error'));
      worker.on('stalled', (jobId) => logger.warn({ queue: name, jobId }, 'job stalled: its worker died or lost the lock; it runs again'));
      worker.on('failed', (job, err) => {
        // A job that stalled too often fails inside BullMQ without reaching our runner.
        if (job === undefined || !/stalled more than allowable limit/.test(err.message)) return;
        const { data, meta } = splitReservedMeta(job.data);
        const entry = buildJobDeadLetterEntry({
          queue: name,
          jobId: String(job.id),
          name: job.name,
          data,
          opts: job.opts as Record<string, unknown>,
          meta,
          error: err,
          attempts: job.attemptsMade,
          lastFailedAt: new Date(),
        });
        deps.deadLetters
          .add(entry)
          .catch((caught: unknown) => logger.error({ queue: name, jobId: job.id, err: toError(caught) }, 'could not write DLQ entry'));
      });
      return worker;
    };
    const keyOf = (suffix: string): string => `${bullPrefix(name, connection.isCluster)}:${name}:${suffix}`;
    // Jobs a worker idles beside on purpose are not "ready": those of a paused queue, or of one
    // with a global concurrency or rate limit (both settable from Bull Board), which may be taken
    // by other processes or used up. Such a queue is not watched.
    const ready = async (): Promise<number> => {
      const held = await connection.hmget(keyOf('meta'), 'paused', 'concurrency', 'max');
      if (held.some((value) => value !== null)) return 0;
      return (await connection.llen(keyOf('wait'))) + (await connection.zcard(keyOf('prioritized')));
    };
    return { name, concurrency, worker: createWorker(), createWorker, ready, runner };
  });

  // Replaces a worker whose fetch loop stopped: the new one shares the connection (BullMQ opens
  // its own blocking connection); the old one is closed without waiting (its loop may never
  // return), after the watchdog saw it run nothing.
  const watchdog = options.fetchWatchdog && startFetchWatchdog(options.fetchWatchdog, {
    logger,
    workers: () =>
      workers.map((entry) => ({
        queue: entry.name,
        active: () => active.get(entry.name) ?? 0,
        lastStartedAt: () => lastStartedAt.get(entry.name) ?? 0,
        ready: entry.ready,
        replace: () => {
          const old = entry.worker;
          lastStartedAt.set(entry.name, Date.now());
          entry.worker = entry.createWorker();
          old.close(true).catch((caught: unknown) => logger.warn({ queue: entry.name, err: toError(caught) }, 'replaced worker did not close cleanly'));
        },
      })),
  });

  const subscriber = deps.connect('cancel-subscriber');
  connections.push(subscriber);
  const cancelLocal = (queue: string, jobId: string): boolean =>
    workers.find((entry) => entry.name === queue)?.runner.cancel(jobId) ?? false;
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { queue, jobId } = JSON.parse(message) as { queue?: unknown; jobId?: unknown };
      if (typeof queue === 'string' && typeof jobId === 'string' && cancelLocal(queue, jobId)) {
        logger.info({ queue, jobId }, 'active job cancelled');
      }
    } catch (caught) {
      logger.warn({ err: toError(caught) }, 'ignored malformed cancel message');
    }
  });
  await subscriber.subscribe(JOB_CANCEL_CHANNEL);
  await Promise.all(workers.map((entry) => entry.worker.waitUntilReady()));
  logger.info({ queues: workers.map(({ name, concurrency }) => ({ name, concurrency })) }, 'workers started');

  let closing: Promise<{ unfinished: number }> | undefined;
  return {
    info: () =>
      workers.map(({ name, worker }) => ({ queue: name, concurrency: worker.concurrency, running: worker.isRunning(), active: active.get(name) ?? 0 })),
    cancelLocal,
    close(graceMs) {
      closing ??= (async () => {
        watchdog?.close();
        const graceful = Promise.allSettled(workers.map(({ worker }) => worker.close()));
        let timer: NodeJS.Timeout | undefined;
        const expired = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), graceMs);
          }),
        ]);
        clearTimeout(timer);
        if (expired) {
          // Dropping the connections stops lock renewal: the unfinished jobs' locks expire and
          // a worker (this one after restart, or another replica) runs them again.
          logger.warn({ graceMs, active: Object.fromEntries(active) }, 'grace period over: leaving active jobs to stalled recovery');
        }
        const unfinished = expired ? [...active.values()].reduce((sum, count) => sum + count, 0) : 0;
        await Promise.allSettled(connections.map(async (connection) => connection.disconnect()));
        return { unfinished };
      })();
      return closing;
    },
  };
}
