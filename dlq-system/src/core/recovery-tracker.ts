import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { BULL_PREFIX, EVENT_CHANNEL_PATTERN, toError, type Logger } from '@event-infra/shared';
import type { DlqHandler } from './dlq-handler';
import type { DlqStore } from './dlq-store';

export interface RecoveryTrackerOptions {
  /** Queue Redis, for QueueEvents and job state look-ups. */
  connection: ConnectionOptions;
  /** How often tracked retried jobs are checked, ms. */
  checkIntervalMs: number;
}

export interface RecoveryTrackerDeps {
  store: DlqStore;
  handler: DlqHandler;
  /** A dedicated `consumer` client on the master, put in subscriber mode here. */
  subscriber: Redis;
  logger: Logger;
}

/**
 * Marks retried entries recovered.
 * - Jobs: every job sent back is tracked on the master (`queue`, `jobId` → entry). Its
 *   `completed` event (QueueEvents on that queue) marks the entry recovered; a periodic
 *   check of the job state catches completions that happened while this process was down.
 * - Events: the event processor publishes every processed event on its fan-out channel; an
 *   envelope carrying `dlqentryid` marks that entry recovered (processed, not merely
 *   re-published).
 */
export class RecoveryTracker {
  private readonly events = new Map<string, QueueEvents>();
  private readonly queues = new Map<string, Queue>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly options: RecoveryTrackerOptions,
    private readonly deps: RecoveryTrackerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'recovery-tracker' });
  }

  async start(): Promise<void> {
    this.deps.subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      this.onFanOut(message).catch((caught: unknown) => this.logger.error({ err: toError(caught) }, 'fan-out recovery check failed'));
    });
    await this.deps.subscriber.psubscribe(EVENT_CHANNEL_PATTERN);
    await this.check();
    this.timer = setInterval(() => {
      if (this.checking !== undefined) return;
      this.checking = this.check()
        .catch((caught: unknown) => this.logger.warn({ err: toError(caught) }, 'recovery check failed'))
        .finally(() => {
          this.checking = undefined;
        });
    }, this.options.checkIntervalMs);
  }

  /** One pass over tracked jobs: watch their queues, mark completed ones recovered. */
  async check(): Promise<void> {
    for (const { queue, jobId, entryId } of await this.deps.store.tracked()) {
      if (this.closed) return;
      const entry = await this.deps.store.get(entryId);
      if (entry?.status !== 'retried') {
        // Deleted, or its retry failed and came back: nothing to wait for any more.
        await this.deps.store.untrack(queue, jobId);
        continue;
      }
      await this.watch(queue);
      const state = await this.queue(queue).getJobState(jobId);
      if (state === 'completed') await this.deps.handler.markRecovered(entryId, 'job-state');
    }
  }

  private async onFanOut(message: string): Promise<void> {
    let envelope: { dlqentryid?: unknown };
    try {
      envelope = JSON.parse(message) as { dlqentryid?: unknown };
    } catch {
      // Not our concern: other publishers may use the channel; only DLQ retries matter here.
      return;
    }
    if (typeof envelope.dlqentryid === 'string') await this.deps.handler.markRecovered(envelope.dlqentryid, 'event-processed');
  }

  private async watch(queue: string): Promise<void> {
    if (this.events.has(queue)) return;
    const queueEvents = new QueueEvents(queue, { connection: this.options.connection, prefix: BULL_PREFIX });
    this.events.set(queue, queueEvents);
    queueEvents.on('completed', ({ jobId }) => {
      this.deps.store
        .trackedEntry(queue, jobId)
        .then((entryId) => (entryId === undefined ? false : this.deps.handler.markRecovered(entryId, 'job-completed')))
        .catch((caught: unknown) => this.logger.error({ err: toError(caught), queue, jobId }, 'completion check failed'));
    });
    queueEvents.on('error', (err) => this.logger.warn({ err, queue }, 'queue events error'));
    await queueEvents.waitUntilReady();
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.options.connection, prefix: BULL_PREFIX });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.checking;
    await Promise.allSettled([...this.events.values()].map((events) => events.close()));
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    // The subscriber client itself is closed by the composition root with the other clients.
  }
}
