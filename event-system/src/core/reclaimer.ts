import { createBatch } from '@event-infra/shared';
import type { RedisClient } from '@event-infra/shared';
import { toError, type Logger, type WireFields } from '@event-infra/shared';
import type { BatchProcessor, Settlement } from './batch-processor';
import type { ProcessorMetrics } from './processor-metrics';
import { isNoGroupError, parseAutoClaimReply, parsePendingReply, xinfoConsumers, type RawEntry } from './stream-replies';

export interface ReclaimerOptions {
  stream: string;
  group: string;
  /** Consumer name that claims entries (this process's reclaimer). */
  consumer: string;
  /** Entries pending longer than this are claimed, ms. */
  minIdleMs: number;
  /** Entries per XAUTOCLAIM. */
  batchSize: number;
  /** `RETRY_ATTEMPTS`: an entry claimed with more deliveries than this goes to the DLQ. */
  retryAttempts: number;
  /** Consumers idle this long with nothing pending are deleted from the group, ms. */
  cleanupIdleMs: number;
  /** XAUTOCLAIM calls per run at most (bounds one run's work). Default 50. */
  maxRoundsPerRun?: number;
}

export interface ReclaimerDeps {
  /** Non-blocking client on the streams Redis. */
  redis: RedisClient;
  processor: BatchProcessor;
  metrics: ProcessorMetrics;
  logger: Logger;
  /** Names of this process's live consumers (never deleted by the cleanup). */
  liveConsumers: () => readonly string[];
}

export interface ReclaimReport {
  claimed: number;
  deadLettered: number;
  removedConsumers: string[];
}

/**
 * Redelivery: XAUTOCLAIM takes entries idle past `minIdleMs` from consumers that died or
 * stalled (Redis hands each to one claimer: claiming resets the idle time), reads their
 * delivery counts from XPENDING, and processes them again; past `retryAttempts` deliveries
 * an entry goes to the DLQ. Then removes consumers that are idle and own nothing.
 */
export class Reclaimer {
  private readonly logger: Logger;

  constructor(
    private readonly options: ReclaimerOptions,
    private readonly deps: ReclaimerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'reclaimer', consumer: options.consumer });
  }

  async runOnce(): Promise<ReclaimReport> {
    const report: ReclaimReport = { claimed: 0, deadLettered: 0, removedConsumers: [] };
    try {
      await this.claimAll(report);
      report.removedConsumers = await this.removeIdleConsumers();
    } catch (caught) {
      // The stream or group does not exist (yet, or any more): the consumer loops recreate it.
      if (!isNoGroupError(caught)) throw caught;
    }
    return report;
  }

  private async claimAll(report: ReclaimReport): Promise<void> {
    const { stream, group, consumer, minIdleMs, batchSize } = this.options;
    const redis = this.deps.redis;
    let cursor = '0-0';
    for (let round = 0; round < (this.options.maxRoundsPerRun ?? 50); round += 1) {
      const reply = parseAutoClaimReply(await redis.callBuffer('XAUTOCLAIM', stream, group, consumer, minIdleMs, cursor, 'COUNT', batchSize));
      const entries = reply.entries.filter((entry): entry is RawEntry & { fields: WireFields } => entry.fields !== null);
      if (entries.length > 0) {
        report.claimed += entries.length;
        this.deps.metrics.count('reclaimed', entries.length);
        await this.processClaimed(entries, report);
      }
      cursor = reply.next;
      if (cursor === '0-0') break;
    }
  }

  private async processClaimed(entries: (RawEntry & { fields: WireFields })[], report: ReclaimReport): Promise<void> {
    const { stream, group, consumer, retryAttempts } = this.options;
    const redis = this.deps.redis;
    const pending = parsePendingReply(
      await redis.xpending(stream, group, entries[0]!.id, entries.at(-1)!.id, entries.length, consumer),
    );
    const deliveries = new Map(pending.map((entry) => [entry.id, entry.deliveries]));
    const settlement: Settlement = { ackIds: [], processedEventIds: [] };
    const again: RawEntry[] = [];
    for (const entry of entries) {
      const count = deliveries.get(entry.id) ?? 1;
      if (count > retryAttempts) {
        // Delivered past the limit without an acknowledgement: park it, never block the stream.
        if (await this.deps.processor.deadLetterExhausted(entry, count)) {
          settlement.ackIds.push(entry.id);
          report.deadLettered += 1;
        }
      } else {
        again.push(entry);
      }
    }
    if (again.length > 0) {
      const processed = await this.deps.processor.process(redis, consumer, again, deliveries);
      settlement.ackIds.push(...processed.ackIds);
      settlement.processedEventIds.push(...processed.processedEventIds);
    }
    this.logger.info({ claimed: entries.length, acked: settlement.ackIds.length }, 'reclaimed idle entries');
    const pipeline = createBatch(redis);
    this.deps.processor.commit(pipeline, settlement);
    const failed = ((await pipeline.exec()) ?? []).find(([err]) => err !== null);
    if (failed) this.logger.error({ err: failed[0] }, 'acknowledgement failed; entries stay pending');
  }

  private async removeIdleConsumers(): Promise<string[]> {
    const { stream, group, cleanupIdleMs } = this.options;
    const live = new Set([...this.deps.liveConsumers(), this.options.consumer]);
    const removed: string[] = [];
    for (const info of await xinfoConsumers(this.deps.redis, stream, group)) {
      if (live.has(info.name) || info.pending > 0 || info.idleMs < cleanupIdleMs) continue;
      try {
        // DELCONSUMER drops the consumer's pending entries: only ever called with pending 0,
        // and a consumer that reads again is created again by XREADGROUP.
        const dropped = Number(await this.deps.redis.xgroup('DELCONSUMER', stream, group, info.name));
        if (dropped > 0) this.logger.error({ consumer: info.name, dropped }, 'removed consumer had pending entries');
        removed.push(info.name);
      } catch (caught) {
        this.logger.warn({ err: toError(caught), consumer: info.name }, 'could not remove idle consumer');
      }
    }
    if (removed.length > 0) this.logger.info({ removed }, 'removed idle consumers that owned nothing');
    return removed;
  }
}
