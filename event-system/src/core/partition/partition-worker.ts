import { createBatch } from '@event-infra/shared';
import type { RedisClient } from '@event-infra/shared';
import { decodeEvent, toError, type EventEnvelope, type Logger, type TimelineRecorder, type Tracing } from '@event-infra/shared';
import type { DuplicateFilter } from '../dedupe';
import { EntryTooLargeError, entrySize, type EventDeadLetters } from '../event-dead-letters';
import type { ProcessorMetrics } from '../processor-metrics';
import { HandledBatch, isBatchedDelivery, recordDelivery, startDeliverySpan } from '../delivery-trace';
import type { Router } from '../router';
import { ensureGroup, parsePendingReply, type RawEntry } from '../stream-replies';
import { LeaseLostError, type PartitionLease } from './partition-lease';

export interface PartitionWorkerOptions {
  stream: string;
  group: string;
  consumer: string;
  batchSize: number;
  /** XREADGROUP BLOCK, ms; keep it well below the lease (the coordinator uses a third). */
  blockMs: number;
  /** `RETRY_ATTEMPTS`: an event is tried this often in place (order kept) before the DLQ. */
  retryAttempts: number;
  maxEntryBytes: number;
}

export interface PartitionWorkerDeps {
  /** This worker's own blocking connection. */
  reader: RedisClient;
  /** Non-blocking client (claims, fenced acks, unblock, duplicate markers). */
  control: RedisClient;
  lease: PartitionLease;
  router: Router;
  deadLetters: EventDeadLetters;
  dedupe: DuplicateFilter;
  metrics: ProcessorMetrics;
  logger: Logger;
  /** Timeline of each delivery (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
  /** A span per delivery (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

/**
 * Reads one partition while its lease is held, in stream order, one event at a time: first it
 * takes over every entry pending in the group on this partition (the previous owner's, oldest
 * first, XAUTOCLAIM), then it reads new ones. A failing event is retried in place (the events
 * after it wait: per-key order) until `retryAttempts`, then it goes to the DLQ. Before each
 * event the lease must still be valid locally, and the acknowledgement is fenced by its token:
 * an owner that lost the lease stops, and cannot acknowledge what the new owner now handles.
 */
export class PartitionWorker {
  private readonly logger: Logger;
  private running = true;
  private loop: Promise<void> | undefined;
  private clientId: number | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: PartitionWorkerOptions,
    private readonly deps: PartitionWorkerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'partition', stream: options.stream, consumer: options.consumer });
  }

  start(): void {
    this.loop = this.run();
  }

  /** Resolves when the worker stopped by itself (lease lost, error). */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    const { stream, group, consumer, batchSize, blockMs } = this.options;
    try {
      await ensureGroup(this.deps.control, stream, group);
      this.clientId = Number(await this.deps.reader.client('ID'));
      await this.takeOver();
      while (this.running && this.deps.lease.isValid()) {
        const reply = (await this.deps.reader.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as
          | [string, [string, string[]][]][]
          | null;
        const entries = (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields }));
        if (entries.length > 0) await this.handleBatch(entries, new Map());
      }
    } catch (caught) {
      if (caught instanceof LeaseLostError) this.logger.warn({ token: this.deps.lease.token }, 'partition lease lost; worker stops');
      else if (this.running) this.logger.error({ err: toError(caught) }, 'partition worker failed; the partition is taken again later');
    } finally {
      this.running = false;
    }
  }

  /** Handles every entry pending in the group on this partition, oldest first. */
  private async takeOver(): Promise<void> {
    const { stream, group, consumer, batchSize } = this.options;
    let cursor = '0-0';
    do {
      const [next, claimed] = (await this.deps.control.xautoclaim(stream, group, consumer, 0, cursor, 'COUNT', batchSize)) as [string, [string, string[] | null][]];
      cursor = next;
      const entries: RawEntry[] = claimed.map(([id, fields]) => ({ id, fields }));
      if (entries.length === 0) continue;
      const pending = parsePendingReply(await this.deps.control.xpending(stream, group, entries[0]!.id, entries.at(-1)!.id, entries.length, consumer));
      this.deps.metrics.count('reclaimed', entries.length);
      await this.handleBatch(entries, new Map(pending.map((entry) => [entry.id, entry.deliveries])));
    } while (cursor !== '0-0' && this.running);
  }

  private async handleBatch(entries: RawEntry[], deliveries: ReadonlyMap<string, number>): Promise<void> {
    const acks: string[] = [];
    const processed: string[] = [];
    const decoded = new Map<string, EventEnvelope>();
    for (const entry of entries) {
      if (entry.fields === null) {
        acks.push(entry.id);
        continue;
      }
      const size = entrySize(entry.fields);
      if (size > this.options.maxEntryBytes) {
        if (await this.deps.deadLetters.invalid(entry.id, entry.fields, new EntryTooLargeError(size, this.options.maxEntryBytes), 1, size)) acks.push(entry.id);
        continue;
      }
      try {
        decoded.set(entry.id, decodeEvent(entry.fields));
      } catch (caught) {
        if (await this.deps.deadLetters.invalid(entry.id, entry.fields, toError(caught), 1)) acks.push(entry.id);
      }
    }
    const seen = await this.deps.dedupe.findProcessed(this.deps.control, [...decoded.values()].map((event) => event.id));
    let duplicates = 0;
    let stoppedAt: string | undefined;
    // The batch's successful first deliveries of events that are their own correlation: one
    // timeline record, as on the consumer-group engine (README "Timeline: batch records").
    const handled = this.deps.timeline !== undefined ? new HandledBatch(this.deps.router, this.deps.timeline) : undefined;
    try {
      for (const entry of entries) {
        const event = decoded.get(entry.id);
        if (event === undefined) continue;
        // Stop before another owner may take over: what is left stays pending for it.
        if (!this.deps.lease.isValid()) {
          stoppedAt = entry.id;
          break;
        }
        if (seen.has(event.id)) {
          duplicates += 1;
          acks.push(entry.id);
          continue;
        }
        if (await this.handleInPlace(entry.id, event, deliveries.get(entry.id) ?? 1, handled)) {
          acks.push(entry.id);
          processed.push(event.id);
        } else {
          stoppedAt = entry.id;
          break;
        }
      }
    } finally {
      handled?.record(this.options.consumer);
    }
    if (acks.length > 0) await this.deps.lease.ack(acks);
    if (processed.length > 0) {
      const pipeline = createBatch(this.deps.control);
      this.deps.dedupe.mark(pipeline, processed);
      await pipeline.exec();
    }
    this.deps.metrics.count('processed', processed.length);
    this.deps.metrics.count('duplicates', duplicates);
    // The entries from `stoppedAt` on stay pending; reading on would handle later ones first.
    if (stoppedAt !== undefined) throw new LeaseLostError(this.options.stream, this.deps.lease.token, `entry ${stoppedAt} stays pending`);
  }

  /**
   * Runs the handlers until they succeed, the failure is permanent or `retryAttempts` is
   * reached (then the DLQ). False when the entry must stay pending (DLQ unreachable, lease lost).
   * A first delivery that succeeds goes into `handled` (the batch's timeline record) when it may.
   */
  private async handleInPlace(entryId: string, event: EventEnvelope, firstDelivery: number, handled: HandledBatch | undefined): Promise<boolean> {
    const firstFailedAt = new Date().toISOString();
    for (let attempt = firstDelivery; ; attempt += 1) {
      if (attempt > this.options.retryAttempts) {
        // Claimed after its consumers kept dying on it: not run again.
        return this.deps.deadLetters.event(entryId, event, new Error(`no successful delivery in ${attempt - 1} deliveries (consumer died or timed out)`), attempt - 1, firstFailedAt);
      }
      const delivery = { entryId, event, deliveries: attempt, consumer: this.options.consumer };
      const span = this.deps.tracing !== undefined ? startDeliverySpan(this.deps.tracing, delivery, undefined) : undefined;
      try {
        await this.deps.router.dispatch(event, { entryId, deliveries: attempt, ...(span !== undefined ? { traceparent: span.traceparent } : {}) });
        this.deps.metrics.observeLatency(Date.parse(event.time), Date.now());
        if (handled !== undefined && isBatchedDelivery(event, attempt)) handled.add(entryId, event);
        else recordDelivery(this.deps, delivery, undefined);
        span?.end();
        return true;
      } catch (caught) {
        const err = toError(caught);
        recordDelivery(this.deps, delivery, err);
        span?.end(err);
        this.deps.metrics.count('failed');
        if ((err as { permanent?: unknown }).permanent === true || attempt >= this.options.retryAttempts) {
          return this.deps.deadLetters.event(entryId, event, err, attempt, firstFailedAt);
        }
        this.logger.warn({ err, entryId, eventId: event.id, attempt }, 'handler failed; retried in place');
        if (!this.deps.lease.isValid()) return false;
      }
    }
  }

  /** Stops reading (a blocked read is interrupted), finishes the batch in hand. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      const loop = this.loop ?? Promise.resolve();
      let finished = false;
      void loop.finally(() => {
        finished = true;
      });
      while (!finished) {
        // A failed unblock only means the worker leaves after its block timeout instead.
        if (this.clientId !== undefined && this.deps.control.status === 'ready') await this.deps.control.client('UNBLOCK', this.clientId).catch(() => undefined);
        await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 50))]);
      }
    })();
    return this.stopping;
  }
}
