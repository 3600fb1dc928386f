import type { RedisClient } from '@event-infra/shared';
import type { ConnectionOptions } from 'bullmq';
import { Queue, QueueEvents } from '@event-infra/shared/bullmq';
import { bullPrefix, isClusterConnection, dlqHandledKey, toError, type Logger } from '@event-infra/shared';
import type { DlqHandler } from './dlq-handler';
import type { DlqStore } from './dlq-store';
import { LuaScript } from '@event-infra/shared';

const HDEL_IF_EQUAL = new LuaScript(new URL('./lua/hdel-if-equal-1.lua', import.meta.url));

export interface RecoveryTrackerOptions {
  /** Queue Redis, for QueueEvents and job state look-ups. */
  connection: ConnectionOptions;
  /** How often tracked retried jobs and "retry handled" records are checked, ms. */
  checkIntervalMs: number;
  /**
   * A tracked retry job that does not exist this long after its retry started is taken as
   * lost (the entry is parked, `retry_failed`), ms. Default 60,000.
   */
  lostRetryGraceMs?: number;
  /** `CONSUMER_GROUP`: its records are always read (others once an entry of theirs was retried). */
  group: string;
  /** Records read per group and HSCAN call (COUNT). Default 500. */
  scanCount?: number;
  /** Records handled per group and check at most (forged records cannot stall a check). Default 10,000. */
  maxRecordsPerCheck?: number;
}

export interface RecoveryTrackerDeps {
  store: DlqStore;
  handler: DlqHandler;
  /** Producer client on the streams Redis, where the event processor writes "retry handled" records. */
  streams: RedisClient;
  logger: Logger;
}

/**
 * Marks retried entries recovered, on proof only.
 * - Jobs: every job sent back is tracked on the master (`queue`, `jobId` → entry). Its own
 *   `completed` event (QueueEvents on that queue) marks the entry recovered; a periodic check
 *   of the job state catches completions that happened while this process was down.
 * - Events: the event processor, when it has handled a re-published entry, writes a durable
 *   record (entry id → retry token) on the streams Redis in the pipeline of its XACK. Each
 *   check reads those records; one whose token is the entry's marks it recovered, and every
 *   record read is removed. Neither pub/sub nor this process being up at the time matters.
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

  /** One pass: tracked jobs, then the "retry handled" records of every known group. */
  async check(): Promise<void> {
    await this.checkJobs();
    await this.checkEvents();
  }

  private async checkJobs(): Promise<void> {
    for (const { queue, jobId, entryId } of await this.deps.store.tracked()) {
      if (this.closed) return;
      const state = await this.deps.store.state(entryId);
      if (state?.status !== 'retried') {
        // Deleted, or its retry failed and came back: nothing to wait for any more.
        await this.deps.store.untrack(queue, jobId);
        continue;
      }
      await this.watch(queue);
      const jobState = await this.queue(queue).getJobState(jobId);
      if (jobState === 'completed') {
        await this.deps.handler.markRecovered(entryId, { kind: 'job', queue, jobId }, 'job-state');
      } else if (jobState === 'unknown') {
        await this.deps.handler.retryLost(entryId, { queue, jobId }, this.options.lostRetryGraceMs ?? 60_000);
      }
    }
  }

  private async checkEvents(): Promise<void> {
    const groups = new Set([this.options.group, ...(await this.deps.store.eventGroups())]);
    const limit = this.options.maxRecordsPerCheck ?? 10_000;
    for (const group of groups) {
      const key = dlqHandledKey(group);
      let cursor = '0';
      let seen = 0;
      do {
        if (this.closed || seen >= limit) break;
        const [next, flat] = await this.deps.streams.hscan(key, cursor, 'COUNT', this.options.scanCount ?? 500);
        cursor = next;
        for (let index = 0; index + 1 < flat.length; index += 2) {
          const entryId = flat[index]!;
          const token = flat[index + 1]!;
          seen += 1;
          await this.deps.handler.markRecovered(entryId, { kind: 'event', group, token }, 'event-handled');
          // Consumed either way: a record that matched nothing is forged or stale.
          await HDEL_IF_EQUAL.run(this.deps.streams, [key], [entryId, token]);
        }
      } while (cursor !== '0');
    }
  }

  private async watch(queue: string): Promise<void> {
    if (this.events.has(queue)) return;
    const queueEvents = new QueueEvents(queue, { connection: this.options.connection, prefix: bullPrefix(queue, isClusterConnection(this.options.connection)) });
    this.events.set(queue, queueEvents);
    queueEvents.on('completed', ({ jobId }) => {
      this.deps.store
        .trackedEntry(queue, jobId)
        .then((entryId) => (entryId === undefined ? false : this.deps.handler.markRecovered(entryId, { kind: 'job', queue, jobId }, 'job-completed')))
        .catch((caught: unknown) => this.logger.error({ err: toError(caught), queue, jobId }, 'completion check failed'));
    });
    queueEvents.on('error', (err) => this.logger.warn({ err, queue }, 'queue events error'));
    await queueEvents.waitUntilReady();
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.options.connection, prefix: bullPrefix(name, isClusterConnection(this.options.connection)) });
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
  }
}
