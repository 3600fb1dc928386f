import type { ConnectionOptions } from 'bullmq';
import { Queue, Worker } from '@event-infra/shared/bullmq';
import { bullPrefix, isClusterConnection, dlqRetryQueueName, toError, type Logger } from '@event-infra/shared';
import type { DlqHandler, RetrySchedule } from './dlq-handler';

export interface RetryQueueOptions {
  /** `DLQ_QUEUE_NAME`; scheduled retries live in `<name>-retries`. */
  dlqQueueName: string;
  /** Connection options for the queue Redis (BullMQ opens its own connections). */
  connection: ConnectionOptions;
  /** Attempts to send one retry back when the origin Redis fails; then the entry is parked. Default 10. */
  sendAttempts?: number;
}

interface RetryJobData {
  entryId: string;
  retry: number;
}

/**
 * Backoffs that survive restarts: each scheduled retry is a delayed BullMQ job on the queue
 * Redis, id `<entryId>-r<n>` so scheduling twice adds once. This half only adds; the
 * `RetryWorker` runs them (so the handler needs the queue, and the worker needs the handler).
 */
export class RetryQueue implements RetrySchedule {
  readonly queue: Queue<RetryJobData>;
  private readonly sendAttempts: number;

  constructor(readonly options: RetryQueueOptions) {
    this.queue = new Queue(dlqRetryQueueName(options.dlqQueueName), { connection: options.connection, prefix: bullPrefix(dlqRetryQueueName(options.dlqQueueName), isClusterConnection(options.connection)) });
    this.sendAttempts = options.sendAttempts ?? 10;
  }

  async schedule(entryId: string, retry: number, delayMs: number): Promise<void> {
    await this.queue.add(
      'retry',
      { entryId, retry },
      {
        jobId: `${entryId}-r${retry}`.replaceAll(':', '_'),
        delay: delayMs,
        attempts: this.sendAttempts,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: true,
        removeOnFail: 1_000,
      },
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** Runs the scheduled retries of a `RetryQueue`: when a delay is over, the handler sends the entry back. */
export class RetryWorker {
  private worker: Worker<RetryJobData> | undefined;

  constructor(
    private readonly options: { queueName: string; connection: ConnectionOptions },
    private readonly deps: { handler: DlqHandler; logger: Logger },
  ) {}

  start(): void {
    const logger = this.deps.logger.child({ component: 'retry-worker' });
    this.worker = new Worker<RetryJobData>(
      this.options.queueName,
      async (job) => this.deps.handler.autoRetry(job.data.entryId, job.data.retry),
      { connection: this.options.connection, prefix: bullPrefix(this.options.queueName, isClusterConnection(this.options.connection)), concurrency: 5 },
    );
    this.worker.on('failed', (job, err) => {
      if (job === undefined) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1);
      logger.warn({ err, entryId: job.data.entryId, attempt: job.attemptsMade, final }, 'sending a retry back failed');
      if (final) {
        this.deps.handler.retryFailed(job.data.entryId, err).catch((caught: unknown) => {
          logger.error({ err: toError(caught), entryId: job.data.entryId }, 'parking after a failed retry failed');
        });
      }
    });
    this.worker.on('error', (err) => logger.error({ err }, 'retry worker error'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }
}
