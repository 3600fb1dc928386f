import type { RedisClient } from '@event-infra/shared';
import { createCloser, partitionKeys, toError, type DeadLetterSink, type Logger, type Registry, type TimelineRecorder, type Tracing } from '@event-infra/shared';
import { DuplicateFilter } from '../dedupe';
import type { EventEngineOptions } from '../event-engine';
import { startPeriodic, type PeriodicTask } from '../periodic';
import { ProcessorMetrics, type ProcessorCounters } from '../processor-metrics';
import { RetentionJanitor } from '../retention-janitor';
import type { Router } from '../router';
import { readStreamSnapshot } from '../stream-snapshot';
import { PartitionCoordinator } from './partition-coordinator';

export interface PartitionedEngineOptions extends EventEngineOptions {
  /** `STREAM_PARTITIONS` (> 1). */
  partitions: number;
  /** `EVENT_PARTITION_LEASE_MS`. */
  leaseMs: number;
}

export interface PartitionedEngineDeps {
  streams: RedisClient;
  master: RedisClient;
  openReader: (consumer: string) => RedisClient;
  closeReader: (redis: RedisClient) => Promise<void>;
  router: Router;
  dlq: DeadLetterSink;
  registry: Registry;
  logger: Logger;
  /** Timeline of each delivery (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
  /** A span per delivery (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

export interface PartitionStats {
  stream: string;
  length: number;
  lag: number;
  pending: number;
  /** The lease holder (`<member>-p<i>`) and its fencing token; null when free. */
  owner: string | null;
  token: number | null;
}

export interface PartitionedStats {
  stream: string;
  group: string;
  partitions: number;
  length: number;
  lag: number;
  pending: number;
  /** Partition indexes this processor holds. */
  held: number[];
  partitionStats: PartitionStats[];
  counters: ProcessorCounters;
  oldestEntryAgeMs: number | null;
  retention: { ms: number; maxLen: number };
  handlers: { name: string; pattern: string }[];
}

/**
 * The engine for STREAM_PARTITIONS > 1: a partition coordinator (leases, one worker per
 * partition held, rebalancing) and a retention janitor per partition. No consumer pool,
 * reclaimer or autoscaler: a partition has one reader at a time, and its new owner takes the
 * old one's pending entries over itself.
 */
export function createPartitionedEngine(options: PartitionedEngineOptions, deps: PartitionedEngineDeps) {
  const { stream, group } = options;
  const logger = deps.logger.child({ stream, group, partitions: options.partitions });
  const metrics = new ProcessorMetrics(deps.registry);
  const coordinator = new PartitionCoordinator(
    {
      stream,
      group,
      partitions: options.partitions,
      member: options.consumerBaseName,
      leaseMs: options.leaseMs,
      batchSize: options.batchSize,
      blockMs: options.blockMs,
      retryAttempts: options.retryAttempts,
      maxEntryBytes: options.maxEntryBytes,
    },
    { ...deps, dedupe: new DuplicateFilter({ group, clustered: deps.streams.isCluster, ...options.dedupe }), metrics, logger },
  );
  const janitors = coordinator.streamNames.map(
    (name) =>
      new RetentionJanitor(
        {
          stream: name,
          maxLenApprox: options.trim.maxLenApprox,
          alertRatio: options.trim.alertRatio,
          pendingAlertAgeMs: options.trim.pendingAlertAgeMs,
          retentionMs: options.trim.retentionMs ?? 0,
          retentionMaxLen: options.trim.retentionMaxLen ?? 0,
          service: options.service,
        },
        { streams: deps.streams, master: deps.master, metrics, logger },
      ),
  );
  const tasks: PeriodicTask[] = [];

  const stats = async (): Promise<PartitionedStats> => {
    const partitionStats: PartitionStats[] = [];
    let oldest: number | null = null;
    for (const [index, name] of coordinator.streamNames.entries()) {
      const snapshot = await readStreamSnapshot(deps.streams, name, group, false);
      const lease = await deps.streams.get(partitionKeys.lease(name, group));
      const [token, owner] = lease === null ? [null, null] : [Number(lease.split(' ')[0]), lease.slice(lease.indexOf(' ') + 1)];
      partitionStats.push({ stream: name, length: snapshot.length, lag: snapshot.lag, pending: snapshot.group?.pending ?? 0, owner, token });
      const age = await janitors[index]!.oldestEntryAgeMs();
      if (age !== null && (oldest === null || age > oldest)) oldest = age;
    }
    const sum = (pick: (p: PartitionStats) => number) => partitionStats.reduce((total, p) => total + pick(p), 0);
    metrics.gauges.streamLength.set(sum((p) => p.length));
    metrics.gauges.groupLag.set(sum((p) => p.lag));
    metrics.gauges.groupPending.set(sum((p) => p.pending));
    metrics.gauges.oldestEntryAge.set((oldest ?? 0) / 1000);
    return {
      stream,
      group,
      partitions: options.partitions,
      length: sum((p) => p.length),
      lag: sum((p) => p.lag),
      pending: sum((p) => p.pending),
      held: coordinator.heldPartitions(),
      partitionStats,
      counters: { ...metrics.counters },
      oldestEntryAgeMs: oldest,
      retention: { ms: options.trim.retentionMs ?? 0, maxLen: options.trim.retentionMaxLen ?? 0 },
      handlers: deps.router.describe(),
    };
  };
  metrics.onCollect = async () => {
    await stats().catch((caught: unknown) => logger.warn({ err: toError(caught) }, 'stream figures unavailable for /metrics'));
  };

  return {
    coordinator,
    metrics,
    stats,
    streams: coordinator.streamNames,
    async start() {
      await coordinator.start();
      if (options.trim.intervalMs > 0) {
        for (const janitor of janitors) tasks.push(startPeriodic('trim', options.trim.intervalMs, () => janitor.runOnce(), logger));
      }
      logger.info({ held: coordinator.heldPartitions() }, 'partitioned engine started');
    },
    close: createCloser(
      () => [
        { name: 'periodic tasks', run: async () => void (await Promise.all(tasks.map((task) => task.stop()))) },
        { name: 'partitions', run: () => coordinator.close() },
      ],
      logger,
    ),
  };
}

export type PartitionedEngine = ReturnType<typeof createPartitionedEngine>;
