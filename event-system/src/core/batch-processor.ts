import type { RedisClient } from '@event-infra/shared';
import type { ChainableCommander } from 'ioredis';
import {
  decodeEvent,
  decodeEventRetryRef,
  dlqHandledKey,
  queueFlatCommand,
  toError,
  type DeadLetterSink,
  type EventEnvelope,
  type Logger,
  type SpanHandle,
  type TimelineRecorder,
  type Tracing,
  type WireFields,
} from '@event-infra/shared';
import { HandledBatch, isBatchedDelivery, recordDelivery, startBatchSpan, startDeliverySpan } from './delivery-trace';
import type { DuplicateFilter } from './dedupe';
import { EntryTooLargeError, EventDeadLetters, entrySize } from './event-dead-letters';
import type { ProcessorMetrics } from './processor-metrics';
import { HandlerFailure, type EventHandler, type HandlerContext, type Router } from './router';
import type { RawEntry } from './stream-replies';

export interface BatchProcessorOptions {
  stream: string;
  group: string;
  /** `RETRY_ATTEMPTS`: deliveries an entry gets before it goes to the DLQ. */
  retryAttempts: number;
  /**
   * While a batch takes longer than this, its entries (acknowledged only at the end) are re-claimed by their
   * own consumer (XCLAIM … JUSTID resets their idle time, not their delivery count), so the
   * reclaimer never hands an entry a live consumer still holds to another one. Set it well
   * below the claim idle time (the engine uses a third of it), ms.
   */
  heartbeatMs: number;
  /** `EVENT_MAX_ENTRY_BYTES`: a larger stream entry is not decoded; it goes to the DLQ, cut (see `EventDeadLetters`). */
  maxEntryBytes: number;
}

export interface BatchProcessorDeps {
  router: Router;
  dedupe: DuplicateFilter;
  dlq: DeadLetterSink;
  metrics: ProcessorMetrics;
  logger: Logger;
  /** Records each delivery's outcome in the event's timeline (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
  /** A span per batch and per delivery (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

/** A decoded batch waiting for its duplicate look-up and its handlers. */
export interface PreparedBatch {
  entryIds: string[];
  /** Event ids of the valid entries, in order (for the duplicate look-up). */
  eventIds: string[];
  decoded: { id: string; event: EventEnvelope }[];
  /** Entries already settled (invalid ones in the DLQ, deleted ones). */
  settlement: Settlement;
  deliveries: ReadonlyMap<string, number> | undefined;
  /** Consumer that read the batch (timeline and spans). */
  consumer: string | undefined;
}

/** What to acknowledge (and mark as processed) after a batch; applied by `commit`. */
export interface Settlement {
  ackIds: string[];
  processedEventIds: string[];
  /**
   * `dlqentryid` values (`<entryId>.<token>`) of DLQ retries handled successfully: written in
   * the same pipeline as the XACK, as the durable "retry handled" record the DLQ processor reads.
   */
  handledRetries?: string[];
}

interface FailureNote {
  firstFailedAt: string;
  lastError: Error;
}

/** Failures remembered per entry id (this process only), bounded. */
const MAX_FAILURE_NOTES = 10_000;

/**
 * Turns a batch of stream entries into a settlement: invalid entries go to the DLQ at once,
 * duplicates are skipped, the rest run their handlers in stream order. An entry whose
 * handlers failed stays pending (redelivered by the reclaimer) until its delivery count
 * reaches `retryAttempts` or the failure is permanent; then it goes to the DLQ. An entry is
 * acknowledged only once it is handled or safely in the DLQ.
 */
export class BatchProcessor {
  private readonly logger: Logger;
  private readonly failures = new Map<string, FailureNote>();
  private readonly deadLetters: EventDeadLetters;

  constructor(
    private readonly options: BatchProcessorOptions,
    private readonly deps: BatchProcessorDeps,
  ) {
    this.logger = deps.logger.child({ component: 'processor', stream: options.stream, group: options.group });
    this.deadLetters = new EventDeadLetters(options, { dlq: deps.dlq, metrics: deps.metrics, logger: this.logger });
  }

  /**
   * Processes `entries` in one go (the reclaimer's path): decode, one duplicate look-up, handle.
   * `deliveries` maps entry id → delivery count (from XPENDING; missing means a first delivery).
   * A heartbeat holds the entries for `consumer` meanwhile.
   */
  async process(redis: RedisClient, consumer: string, entries: readonly RawEntry[], deliveries?: ReadonlyMap<string, number>): Promise<Settlement> {
    const beat = setInterval(() => void this.heartbeat(redis, consumer, entries.map((entry) => entry.id)), this.options.heartbeatMs);
    try {
      const batch = await this.prepare(entries, deliveries, consumer);
      const seen = await this.deps.dedupe.findProcessed(redis, batch.eventIds);
      return await this.handle(batch, seen);
    } finally {
      clearInterval(beat);
    }
  }

  /** Decodes a batch; invalid entries go to the DLQ now and are settled for acknowledgement. */
  async prepare(entries: readonly RawEntry[], deliveries?: ReadonlyMap<string, number>, consumer?: string): Promise<PreparedBatch> {
    const settlement: Settlement = { ackIds: [], processedEventIds: [] };
    const decoded: { id: string; event: EventEnvelope }[] = [];
    for (const entry of entries) {
      if (entry.fields === null) {
        // Deleted between delivery and read: nothing left to handle.
        settlement.ackIds.push(entry.id);
        continue;
      }
      const size = entrySize(entry.fields);
      if (size > this.options.maxEntryBytes) {
        const err = new EntryTooLargeError(size, this.options.maxEntryBytes);
        if (await this.deadLetterInvalid(entry.id, entry.fields, err, deliveries?.get(entry.id) ?? 1, size)) settlement.ackIds.push(entry.id);
        continue;
      }
      try {
        decoded.push({ id: entry.id, event: decodeEvent(entry.fields) });
      } catch (caught) {
        const count = deliveries?.get(entry.id) ?? 1;
        if (await this.deadLetterInvalid(entry.id, entry.fields, toError(caught), count)) settlement.ackIds.push(entry.id);
      }
    }
    return { entryIds: entries.map((entry) => entry.id), eventIds: decoded.map(({ event }) => event.id), decoded, settlement, deliveries, consumer };
  }

  get heartbeatMs(): number {
    return this.options.heartbeatMs;
  }

  /** True when processed event ids are remembered (duplicate suppression on). */
  get dedupeEnabled(): boolean {
    return this.deps.dedupe.enabled;
  }

  /** Queues the duplicate look-up of `eventIds` on `pipeline`; see `DuplicateFilter.queueLookup`. */
  queueLookupIds(pipeline: ChainableCommander, eventIds: readonly string[]): { length: number; read: (results: [Error | null, unknown][]) => Set<string> } {
    return { length: this.deps.dedupe.lookupLength(eventIds), read: this.deps.dedupe.queueLookup(pipeline, eventIds) };
  }

  /** Runs the handlers of a prepared batch; `seen` are the event ids already processed. */
  async handle(batch: PreparedBatch, seen: Set<string>): Promise<Settlement> {
    const tracing = this.deps.tracing;
    if (tracing === undefined || batch.decoded.length === 0) {
      await this.handleAll(batch, seen, undefined);
      return batch.settlement;
    }
    const span = startBatchSpan(tracing, this.options.stream, this.options.group, batch.decoded.map(({ event }) => event));
    try {
      await this.handleAll(batch, seen, span);
    } finally {
      span.end();
    }
    return batch.settlement;
  }

  /**
   * Re-claims `ids` for `consumer` (XCLAIM … JUSTID: idle time reset, delivery count kept), so
   * the reclaimer does not hand entries a live consumer still holds to another one.
   */
  async heartbeat(redis: RedisClient, consumer: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await redis.call('XCLAIM', this.options.stream, this.options.group, consumer, 0, ...ids, 'JUSTID');
    } catch (caught) {
      // Only the protection against an early reclaim is lost; handling goes on.
      this.logger.warn({ err: toError(caught), consumer }, 'heartbeat XCLAIM failed');
    }
  }

  /**
   * The events of a batch run concurrently (each event's handlers in order), so handlers that
   * talk to Redis share round trips: a batch's fan-out PUBLISHes leave back to back on one
   * connection, in stream order. A repeated event id runs after its first occurrence (in a
   * later round) and is a duplicate once that succeeded (with suppression on). No wrapper,
   * closure or map entry per event: one promise per event (the handler's, or the router's
   * when several handlers match), settled together.
   */
  private async handleAll(batch: PreparedBatch, seen: Set<string>, batchSpan: SpanHandle | undefined): Promise<void> {
    const { decoded, deliveries, settlement, consumer } = batch;
    const tracing = this.deps.tracing;
    let processed = 0;
    let duplicates = 0;
    /** Event ids that succeeded in this batch (only needed when an id repeats). */
    let succeeded: Set<string> | undefined;
    /** The timeline's steps of this batch's successful first deliveries, as one record. */
    let handled: HandledBatch | undefined;
    let pending = decoded;
    while (pending.length > 0) {
      const round: { id: string; event: EventEnvelope }[] = [];
      const runs: Promise<unknown>[] = [];
      const names: (string | undefined)[] = [];
      const spans: SpanHandle[] | undefined = tracing !== undefined ? [] : undefined;
      let later: { id: string; event: EventEnvelope }[] | undefined;
      let inRound: Set<string> | undefined;
      for (let index = 0; index < pending.length; index += 1) {
        const item = pending[index]!;
        const eventId = item.event.id;
        if (seen.has(eventId) || (succeeded?.has(eventId) === true && this.deps.dedupe.enabled)) {
          // Already handled by an earlier delivery (or earlier in this batch).
          duplicates += 1;
          settlement.ackIds.push(item.id);
          continue;
        }
        inRound ??= new Set();
        if (inRound.has(eventId)) {
          (later ??= []).push(item);
          continue;
        }
        inRound.add(eventId);
        round.push(item);
        const context: HandlerContext = { entryId: item.id, deliveries: deliveries?.get(item.id) ?? 1 };
        if (spans !== undefined) {
          const span = startDeliverySpan(tracing!, { entryId: item.id, event: item.event, deliveries: context.deliveries, consumer }, batchSpan);
          spans.push(span);
          context.traceparent = span.traceparent;
        }
        const routes = this.deps.router.routesFor(item.event.type);
        if (routes.length === 1) {
          // The common case: the handler's own promise; a failure is named below.
          names.push(routes[0]!.name);
          runs.push(callHandler(routes[0]!.handler, item.event, context));
        } else {
          names.push(undefined);
          runs.push(this.deps.router.dispatch(item.event, context));
        }
      }
      // Promise.all costs a fifth of allSettled per event; only a batch with a failure pays for
      // finding out which (all promises have a handler either way: no unhandled rejection).
      let outcomes: PromiseSettledResult<unknown>[] | undefined;
      try {
        await Promise.all(runs);
      } catch {
        outcomes = await Promise.allSettled(runs);
      }
      const now = Date.now();
      for (let index = 0; index < round.length; index += 1) {
        const { id, event } = round[index]!;
        const outcome = outcomes?.[index];
        if (outcome === undefined || outcome.status === 'fulfilled') {
          if (this.failures.size > 0) this.failures.delete(id);
          processed += 1;
          this.deps.metrics.observeLatency(Date.parse(event.time), now);
          settlement.ackIds.push(id);
          settlement.processedEventIds.push(event.id);
          if (event.dlqentryid !== undefined) (settlement.handledRetries ??= []).push(event.dlqentryid);
          if (later) (succeeded ??= new Set()).add(event.id);
          if (this.deps.timeline !== undefined) {
            const count = deliveries?.get(id) ?? 1;
            if (isBatchedDelivery(event, count)) (handled ??= new HandledBatch(this.deps.router, this.deps.timeline)).add(id, event);
            else recordDelivery(this.deps, { entryId: id, event, deliveries: count, consumer }, undefined);
          }
          spans?.[index]?.end();
          continue;
        }
        const name = names[index];
        const err = name === undefined ? toError(outcome.reason) : new HandlerFailure(name, outcome.reason);
        if (this.deps.timeline !== undefined) recordDelivery(this.deps, { entryId: id, event, deliveries: deliveries?.get(id) ?? 1, consumer }, err);
        spans?.[index]?.end(err);
        await this.settleFailure(id, event, err, deliveries?.get(id) ?? 1, settlement);
      }
      pending = later ?? [];
    }
    handled?.record(consumer);
    // Counted once per batch: a labelled counter per event would cost more than the event.
    this.deps.metrics.count('processed', processed);
    this.deps.metrics.count('duplicates', duplicates);
  }

  /** A failed event: DLQ (and acknowledgement) when permanent or out of deliveries, else it stays pending. */
  private async settleFailure(id: string, event: EventEnvelope, err: Error, count: number, settlement: Settlement): Promise<void> {
    this.deps.metrics.count('failed');
    const note = this.noteFailure(id, err);
    const permanent = (err as { permanent?: unknown }).permanent === true;
    if (permanent || count >= this.options.retryAttempts) {
      if (await this.deadLetterEvent(id, event, err, count, note.firstFailedAt)) settlement.ackIds.push(id);
    } else {
      this.logger.warn({ err, entryId: id, eventId: event.id, deliveries: count }, 'handler failed; entry stays pending');
    }
  }

  /**
   * DLQ for an entry claimed after more than `retryAttempts` deliveries without an
   * acknowledgement (its consumer died or the DLQ was unreachable). Resolves true once in the DLQ.
   */
  async deadLetterExhausted(entry: RawEntry & { fields: WireFields }, deliveries: number): Promise<boolean> {
    const note = this.failures.get(entry.id);
    const err = note?.lastError ?? new Error(`no successful delivery in ${deliveries} deliveries (consumer died or timed out)`);
    let event: EventEnvelope;
    try {
      event = decodeEvent(entry.fields);
    } catch (caught) {
      return this.deadLetterInvalid(entry.id, entry.fields, toError(caught), deliveries);
    }
    return this.deadLetterEvent(entry.id, event, err, deliveries, note?.firstFailedAt ?? new Date().toISOString());
  }

  /** Queues the duplicate markers and one XACK for the settlement on `pipeline`. */
  commit(pipeline: ChainableCommander, settlement: Settlement): void {
    this.deps.dedupe.mark(pipeline, settlement.processedEventIds);
    if (settlement.handledRetries !== undefined) {
      // Claims, not facts: the DLQ processor counts a record only when its token matches the entry's.
      const key = dlqHandledKey(this.options.group);
      for (const ref of settlement.handledRetries) {
        const { entryId, token } = decodeEventRetryRef(ref);
        if (token !== undefined) pipeline.hset(key, entryId, token);
      }
    }
    if (settlement.ackIds.length > 0) queueFlatCommand(pipeline, 'xack', [this.options.stream, this.options.group], settlement.ackIds);
  }

  private noteFailure(entryId: string, err: Error): FailureNote {
    const note = this.failures.get(entryId) ?? { firstFailedAt: new Date().toISOString(), lastError: err };
    note.lastError = err;
    this.failures.delete(entryId);
    this.failures.set(entryId, note);
    if (this.failures.size > MAX_FAILURE_NOTES) this.failures.delete(this.failures.keys().next().value!);
    return note;
  }

  private async deadLetterInvalid(entryId: string, fields: WireFields, err: Error, deliveries: number, sizeBytes?: number): Promise<boolean> {
    const sent = await this.deadLetters.invalid(entryId, fields, err, deliveries, sizeBytes);
    if (sent) this.failures.delete(entryId);
    return sent;
  }

  private async deadLetterEvent(entryId: string, event: EventEnvelope, err: Error, deliveries: number, firstFailedAt: string): Promise<boolean> {
    const sent = await this.deadLetters.event(entryId, event, err, deliveries, firstFailedAt);
    if (sent) this.failures.delete(entryId);
    return sent;
  }
}

/** Calls `handler`, turning a synchronous throw into a rejection. */
function callHandler(handler: EventHandler, event: EventEnvelope, context: HandlerContext): Promise<void> {
  try {
    return handler(event, context);
  } catch (caught) {
    return Promise.reject(caught as Error);
  }
}
