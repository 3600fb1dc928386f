import type { RedisClient } from '@event-infra/shared';
import { createCloser, toError, type DeadLetterSink, type Logger, type Registry, type TimelineRecorder, type Tracing } from '@event-infra/shared';
import { Autoscaler } from './autoscaler';
import { BatchProcessor } from './batch-processor';
import { ConsumerPool } from './consumer-pool';
import { DuplicateFilter } from './dedupe';
import { startPeriodic, type PeriodicTask } from './periodic';
import { ProcessorMetrics, type ProcessorCounters } from './processor-metrics';
import { Reclaimer } from './reclaimer';
import { RetentionJanitor } from './retention-janitor';
import type { Router } from './router';
import { readStreamSnapshot } from './stream-snapshot';

/** Everything tunable of the engine; the service maps the environment onto it. Durations in ms. */
export interface EventEngineOptions {
  stream: string;
  group: string;
  /** Consumer name prefix, unique per process and replica. */
  consumerBaseName: string;
  batchSize: number;
  blockMs: number;
  consumers: { initial: number; min: number; max: number };
  /** Auto-scaling; `intervalMs` 0 disables it. */
  scaling: { intervalMs: number; upLag: number; downLag: number; sustainMs: number };
  retryAttempts: number;
  claim: { idleMs: number; intervalMs: number; cleanupIdleMs: number };
  dedupe: { enabled: boolean; windowMs: number };
  /** Retention janitor; `intervalMs` 0 disables it. */
  trim: { intervalMs: number; maxLenApprox: number; alertRatio: number; pendingAlertAgeMs: number; retentionMs?: number; retentionMaxLen?: number };
  /** `EVENT_MAX_ENTRY_BYTES`: larger stream entries go to the DLQ undecoded. */
  maxEntryBytes: number;
  service: string;
}

export interface EventEngineDeps {
  /** Non-blocking (`producer`) client on the streams Redis: claims, stats, trims. */
  streams: RedisClient;
  /** Client on the master (alerts). */
  master: RedisClient;
  /** Opens one dedicated blocking connection on the streams Redis for a consumer loop. */
  openReader: (consumer: string) => RedisClient;
  closeReader: (redis: RedisClient) => Promise<void>;
  router: Router;
  dlq: DeadLetterSink;
  registry: Registry;
  logger: Logger;
  /** Timeline of each delivery (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
  /** A span per batch and per delivery (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

export interface EventStats {
  stream: string;
  group: string;
  length: number;
  lag: number;
  pending: number;
  consumerLoops: number;
  consumerLoopBounds: { min: number; max: number };
  consumers: { name: string; pending: number; idleMs: number }[];
  groups: { name: string; pending: number; lag: number | null; lastDeliveredId: string; consumers: number }[];
  counters: ProcessorCounters;
  trimPoint: string | null;
  /** Age of the oldest entry the stream still holds (retained history), ms; null when empty. */
  oldestEntryAgeMs: number | null;
  retention: { ms: number; maxLen: number };
  lastTrimAt: string | null;
  handlers: { name: string; pattern: string }[];
}

export interface EventEngine {
  readonly pool: ConsumerPool;
  readonly reclaimer: Reclaimer;
  readonly janitor: RetentionJanitor;
  readonly autoscaler: Autoscaler;
  readonly metrics: ProcessorMetrics;
  start(): Promise<void>;
  stats(): Promise<EventStats>;
  /** Stops reading, finishes and acknowledges batches in hand, stops the periodic tasks. */
  close(): Promise<void>;
}

/** Composes consumer loops, reclaimer, janitor, autoscaler and stats around one router. */
export function createEventEngine(options: EventEngineOptions, deps: EventEngineDeps): EventEngine {
  const { stream, group } = options;
  const streams = deps.streams;
  const logger = deps.logger.child({ stream, group });
  const metrics = new ProcessorMetrics(deps.registry);
  const processor = new BatchProcessor(
    {
      stream,
      group,
      retryAttempts: options.retryAttempts,
      heartbeatMs: Math.max(1, Math.floor(options.claim.idleMs / 3)),
      maxEntryBytes: options.maxEntryBytes,
    },
    { router: deps.router, dedupe: new DuplicateFilter({ group, clustered: deps.streams.isCluster, ...options.dedupe }), dlq: deps.dlq, metrics, logger, timeline: deps.timeline, tracing: deps.tracing },
  );
  const pool = new ConsumerPool(
    { stream, group, baseName: options.consumerBaseName, batchSize: options.batchSize, blockMs: options.blockMs, ...options.consumers },
    { openConnection: deps.openReader, closeConnection: deps.closeReader, control: streams, processor, logger },
  );
  const reclaimer = new Reclaimer(
    {
      stream,
      group,
      consumer: `${options.consumerBaseName}-claim`,
      minIdleMs: options.claim.idleMs,
      batchSize: options.batchSize,
      retryAttempts: options.retryAttempts,
      cleanupIdleMs: options.claim.cleanupIdleMs,
    },
    { redis: streams, processor, metrics, logger, liveConsumers: () => pool.names() },
  );
  const janitor = new RetentionJanitor(
    {
      stream,
      maxLenApprox: options.trim.maxLenApprox,
      alertRatio: options.trim.alertRatio,
      pendingAlertAgeMs: options.trim.pendingAlertAgeMs,
      retentionMs: options.trim.retentionMs ?? 0,
      retentionMaxLen: options.trim.retentionMaxLen ?? 0,
      service: options.service,
    },
    { streams: deps.streams, master: deps.master, metrics, logger },
  );
  const autoscaler = new Autoscaler(
    { scaleUpLag: options.scaling.upLag, scaleDownLag: options.scaling.downLag, sustainMs: options.scaling.sustainMs },
    { pool, logger, sampleLag: async () => (await readStreamSnapshot(deps.streams, stream, group, false)).lag },
  );
  const tasks: PeriodicTask[] = [];

  const stats = async (): Promise<EventStats> => {
    const [snapshot, oldestEntryAgeMs] = await Promise.all([readStreamSnapshot(deps.streams, stream, group), janitor.oldestEntryAgeMs()]);
    metrics.gauges.oldestEntryAge.set((oldestEntryAgeMs ?? 0) / 1000);
    metrics.gauges.streamLength.set(snapshot.length);
    metrics.gauges.groupLag.set(snapshot.lag);
    metrics.gauges.groupPending.set(snapshot.group?.pending ?? 0);
    return {
      stream,
      group,
      length: snapshot.length,
      lag: snapshot.lag,
      pending: snapshot.group?.pending ?? 0,
      consumerLoops: pool.size,
      consumerLoopBounds: pool.bounds,
      consumers: snapshot.consumers,
      groups: snapshot.groups.map(({ name, pending, lag, lastDeliveredId, consumers }) => ({ name, pending, lag, lastDeliveredId, consumers })),
      counters: { ...metrics.counters },
      trimPoint: janitor.lastTrimPoint,
      oldestEntryAgeMs,
      retention: { ms: options.trim.retentionMs ?? 0, maxLen: options.trim.retentionMaxLen ?? 0 },
      lastTrimAt: janitor.lastRunAt,
      handlers: deps.router.describe(),
    };
  };

  metrics.onCollect = async () => {
    metrics.gauges.consumerLoops.set(pool.size);
    await stats().catch((caught: unknown) => logger.warn({ err: toError(caught) }, 'stream figures unavailable for /metrics'));
  };

  return {
    pool,
    reclaimer,
    janitor,
    autoscaler,
    metrics,
    stats,
    async start() {
      await pool.start();
      tasks.push(startPeriodic('reclaim', options.claim.intervalMs, () => reclaimer.runOnce(), logger));
      if (options.trim.intervalMs > 0) tasks.push(startPeriodic('trim', options.trim.intervalMs, () => janitor.runOnce(), logger));
      if (options.scaling.intervalMs > 0) tasks.push(startPeriodic('autoscale', options.scaling.intervalMs, () => autoscaler.tick(), logger));
      logger.info({ loops: pool.size, consumer: options.consumerBaseName }, 'event engine started');
    },
    close: createCloser(
      () => [
        // Periodic tasks first, so the autoscaler does not start loops while they stop.
        { name: 'periodic tasks', run: async () => void (await Promise.all(tasks.map((task) => task.stop()))) },
        { name: 'consumer loops', run: () => pool.close() },
      ],
      logger,
    ),
  };
}
