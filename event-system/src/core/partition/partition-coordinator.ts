import type { RedisClient } from '@event-infra/shared';
import { partitionKeys, partitionStreams, toError, type DeadLetterSink, type Logger, type TimelineRecorder, type Tracing } from '@event-infra/shared';
import type { DuplicateFilter } from '../dedupe';
import { EventDeadLetters } from '../event-dead-letters';
import { startPeriodic, type PeriodicTask } from '../periodic';
import type { ProcessorMetrics } from '../processor-metrics';
import type { Router } from '../router';
import { PartitionLease } from './partition-lease';
import { PartitionWorker } from './partition-worker';

export interface PartitionCoordinatorOptions {
  /** `STREAM_NAME`: the log; its partitions are `partitionStreams(stream, partitions)`. */
  stream: string;
  group: string;
  partitions: number;
  /** This processor's name in the group (unique per process). */
  member: string;
  /** `EVENT_PARTITION_LEASE_MS`: a lease not renewed for this long expires, ms. */
  leaseMs: number;
  batchSize: number;
  blockMs: number;
  retryAttempts: number;
  maxEntryBytes: number;
}

export interface PartitionCoordinatorDeps {
  /** Non-blocking client on the streams Redis. */
  streams: RedisClient;
  openReader: (name: string) => RedisClient;
  closeReader: (redis: RedisClient) => Promise<void>;
  router: Router;
  dlq: DeadLetterSink;
  dedupe: DuplicateFilter;
  metrics: ProcessorMetrics;
  logger: Logger;
  /** Timeline of each delivery (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
  /** A span per delivery (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

interface Held {
  worker: PartitionWorker;
  lease: PartitionLease;
  reader: RedisClient;
}

/**
 * Spreads the partitions over the live processors of the group and runs a worker for each
 * partition this one holds. Every third of the lease: a heartbeat in the member set (members
 * silent for a lease are dropped), the assignment (members sorted by name; partition p goes to
 * member p mod R, so N partitions spread evenly over R replicas), renewal of the leases held,
 * release of partitions no longer assigned (after their batch in hand), and an attempt to take
 * the assigned ones not held yet (free once their previous owner released them or its lease expired).
 */
export class PartitionCoordinator {
  private readonly logger: Logger;
  private readonly streams: string[];
  private readonly held = new Map<number, Held>();
  private periodic: PeriodicTask | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: PartitionCoordinatorOptions,
    private readonly deps: PartitionCoordinatorDeps,
  ) {
    this.logger = deps.logger.child({ component: 'partitions', member: options.member });
    this.streams = partitionStreams(options.stream, options.partitions);
  }

  get streamNames(): readonly string[] {
    return this.streams;
  }

  /** Partition indexes this processor holds now. */
  heldPartitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.tick();
    this.periodic = startPeriodic('partitions', Math.max(1, Math.floor(this.options.leaseMs / 3)), () => this.tick(), this.logger);
  }

  async tick(): Promise<void> {
    if (this.closing) return;
    const now = Date.now();
    const key = partitionKeys.members(this.options.stream, this.options.group);
    const [, , [, members]] = (await this.deps.streams
      .multi()
      .zadd(key, now, this.options.member)
      .zremrangebyscore(key, '-inf', now - this.options.leaseMs)
      .zrange(key, '0', '-1')
      .exec()) as [unknown, unknown, [Error | null, string[]]];
    const sorted = [...members].sort();
    const index = sorted.indexOf(this.options.member);
    const assigned = new Set<number>();
    for (let p = 0; p < this.options.partitions; p += 1) if (p % sorted.length === index) assigned.add(p);

    for (const [p, held] of [...this.held]) {
      if (!assigned.has(p)) await this.drop(p, held, 'partition assigned to another member');
      else if (!(await held.lease.renew().catch(() => false))) await this.drop(p, held, 'lease lost');
    }
    for (const p of assigned) if (!this.held.has(p)) await this.take(p);
  }

  private async take(p: number): Promise<void> {
    const stream = this.streams[p]!;
    const consumer = `${this.options.member}-p${p}`;
    const { group, leaseMs } = this.options;
    const lease = new PartitionLease(this.deps.streams, { stream, group, owner: consumer, leaseMs, marginMs: Math.floor(leaseMs / 3) });
    if (!(await lease.acquire())) return;
    const reader = this.deps.openReader(consumer);
    const deadLetters = new EventDeadLetters({ stream, group, maxEntryBytes: this.options.maxEntryBytes }, { dlq: this.deps.dlq, metrics: this.deps.metrics, logger: this.logger });
    const worker = new PartitionWorker(
      { stream, group, consumer, batchSize: this.options.batchSize, blockMs: Math.max(1, Math.min(this.options.blockMs, Math.floor(leaseMs / 3))), retryAttempts: this.options.retryAttempts, maxEntryBytes: this.options.maxEntryBytes },
      { reader, control: this.deps.streams, lease, router: this.deps.router, deadLetters, dedupe: this.deps.dedupe, metrics: this.deps.metrics, logger: this.deps.logger, timeline: this.deps.timeline, tracing: this.deps.tracing },
    );
    const held = { worker, lease, reader };
    this.held.set(p, held);
    this.logger.info({ partition: p, stream, token: lease.token }, 'partition taken');
    worker.start();
    // A worker that stops by itself (lease lost, DLQ unreachable) gives the partition back; the next tick may take it again.
    void worker.done.then(() => {
      if (this.held.get(p) === held && !this.closing) void this.drop(p, held, 'worker stopped');
    });
  }

  private async drop(p: number, held: Held, reason: string): Promise<void> {
    if (this.held.get(p) !== held) return;
    this.held.delete(p);
    await held.worker.stop();
    await held.lease.release().catch((caught: unknown) => this.logger.warn({ err: toError(caught), partition: p }, 'lease release failed; it expires'));
    await this.deps.closeReader(held.reader);
    this.logger.info({ partition: p, reason }, 'partition released');
  }

  /** Stops the workers (batches in hand finish and are acknowledged), releases the leases, leaves the member set. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.periodic?.stop();
      await Promise.all([...this.held].map(([p, held]) => this.drop(p, held, 'shutdown')));
      await this.deps.streams.zrem(partitionKeys.members(this.options.stream, this.options.group), this.options.member).catch(() => undefined);
    })();
    return this.closing;
  }
}
