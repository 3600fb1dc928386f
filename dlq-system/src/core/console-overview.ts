import { Queue } from '@event-infra/shared/bullmq';
import type { RedisClient } from '@event-infra/shared';
import { bullPrefix, type Logger } from '@event-infra/shared';
import type { Alerter } from './alerter';
import type { DlqStore } from './dlq-store';
import { ENTRY_KINDS, FAILURE_CLASSES, dlqKeysFor, type DlqKeys } from './stored-entry';
import type { StreamTools } from './stream-tools';

export interface ConsoleOverviewOptions {
  /** Queues shown (at most `maxQueues`): the work queues and the DLQ queue. */
  queues: readonly string[];
  retention: { maxAgeMs: number; maxLen: number; maxLenApprox: number };
  /** Events of one queue's BullMQ event stream read per call, at most. */
  maxEventsPerQueue?: number;
  maxQueues?: number;
  maxOrigins?: number;
  alerts?: number;
}

export interface ThroughputPoint {
  /** Start of the minute. */
  at: string;
  completed: number;
  failed: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * The console's overview in one bounded call: per queue its counts and a per-minute
 * completed/failed series over the last hour (read from the queue's own BullMQ event stream,
 * at most `maxEventsPerQueue` events, so no sampler and no double counting across replicas),
 * the event log's streams and groups (`StreamTools`), DLQ totals from the index sizes and
 * counters, and the newest alerts.
 */
export class ConsoleOverview {
  private readonly queues: Queue[];
  private readonly keys: DlqKeys;

  constructor(
    private readonly options: ConsoleOverviewOptions,
    private readonly deps: { queueRedis: RedisClient; master: RedisClient; store: DlqStore; alerter: Alerter; streams: StreamTools; logger: Logger },
  ) {
    this.keys = dlqKeysFor(deps.master.isCluster);
    this.queues = options.queues.slice(0, options.maxQueues ?? 20).map((name) => {
      const queue = new Queue(name, { connection: deps.queueRedis, prefix: bullPrefix(name, deps.queueRedis.isCluster) });
      // The shared client logs its own connection errors; without a listener BullMQ would print them.
      queue.on('error', (err) => deps.logger.debug({ err, queue: name }, 'overview queue error'));
      return queue;
    });
  }

  async read(nowMs = Date.now()) {
    const [queues, streams, dlq, alerts] = await Promise.all([
      Promise.all(this.queues.map((queue) => this.queueView(queue, nowMs))),
      this.deps.streams.overview(),
      this.dlqTotals(),
      this.deps.alerter.history(0, this.options.alerts ?? 10),
    ]);
    return {
      time: new Date(nowMs).toISOString(),
      queues,
      stream: { retention: this.options.retention, streams },
      dlq,
      alerts: alerts.items,
    };
  }

  private async queueView(queue: Queue, nowMs: number) {
    const since = nowMs - HOUR_MS;
    const max = this.options.maxEventsPerQueue ?? 10_000;
    const [counts, events] = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'),
      this.deps.queueRedis.xrange(queue.keys.events!, String(since), '+', 'COUNT', max),
    ]);
    const firstMinute = Math.floor(since / MINUTE_MS) + 1;
    const series: ThroughputPoint[] = Array.from({ length: 60 }, (_, index) => ({ at: new Date((firstMinute + index) * MINUTE_MS).toISOString(), completed: 0, failed: 0 }));
    for (const [id, fields] of events) {
      const slot = Math.floor(Number(id.split('-')[0]) / MINUTE_MS) - firstMinute;
      const point = series[slot];
      if (point === undefined) continue;
      const event = fields[fields.indexOf('event') + 1];
      if (event === 'completed') point.completed += 1;
      else if (event === 'failed') point.failed += 1;
    }
    return {
      name: queue.name,
      counts,
      throughput: series,
      // More events in the hour than one call reads: the series covers its start only.
      throughputTruncated: events.length >= max,
    };
  }

  private async dlqTotals() {
    const origins = (await this.deps.master.smembers(this.keys.origins())).sort().slice(0, this.options.maxOrigins ?? 100);
    const pipeline = this.deps.master.pipeline();
    for (const origin of origins) pipeline.zcard(this.keys.indexOrigin(origin));
    for (const kind of ENTRY_KINDS) pipeline.zcard(this.keys.indexKind(kind));
    for (const c of FAILURE_CLASSES) pipeline.zcard(this.keys.indexClass(c));
    const replies = ((await pipeline.exec()) ?? []).map(([, value]) => Number(value ?? 0));
    const [byStatus, totals] = await Promise.all([this.deps.store.countByStatus(), this.deps.store.counters()]);
    return {
      byStatus,
      byOrigin: Object.fromEntries(origins.map((origin, index) => [origin, replies[index]!])),
      byKind: Object.fromEntries(ENTRY_KINDS.map((kind, index) => [kind, replies[origins.length + index]!])),
      byClassification: Object.fromEntries(FAILURE_CLASSES.map((c, index) => [c, replies[origins.length + ENTRY_KINDS.length + index]!])),
      totals,
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.queues.map((queue) => queue.close()));
  }
}
