import { AppError, NotFoundError, deadLetterEntrySchema, toError, type Logger, type ParsedDeadLetterEntry } from '@event-infra/shared';
import type { Alerter } from './alerter';
import { classifyFailure } from './dlq-classifier';
import type { DlqMetrics } from './dlq-metrics';
import type { CounterName, DlqStore, EntryFilter } from './dlq-store';
import type { OriginSender } from './origin-sender';
import type { RetryPolicy } from './retry-policy';
import { HISTORY_LIMIT, type StoredEntry } from './stored-entry';

export interface BulkRetryResult {
  /** Parked entries matching the filter (may exceed `limit`). */
  matched: number;
  retried: number;
  ids: string[];
  failed: { id: string; error: string }[];
}

/** A DLQ job whose data is not a dead-letter entry: it cannot be handled, only kept. */
export class MalformedEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEntryError';
  }
}

/** Where scheduled retries wait (a delayed BullMQ job per retry, see `RetryScheduler`). */
export interface RetrySchedule {
  schedule(entryId: string, retry: number, delayMs: number): Promise<void>;
}

export interface DlqHandlerDeps {
  store: DlqStore;
  policy: RetryPolicy;
  sender: OriginSender;
  alerter: Alerter;
  metrics: DlqMetrics;
  logger: Logger;
  /** Set after construction (the scheduler's worker calls back into this handler). */
  scheduler?: RetrySchedule;
}

const now = (): string => new Date().toISOString();

/**
 * The DLQ's decisions: classify each incoming failure, store it, then schedule a retry or
 * park and alert; send entries back to their origin (automatic or manual); mark recovered.
 * One stored entry per original failure: a retried job or event that fails again carries the
 * entry id and updates the same entry.
 */
export class DlqHandler {
  private readonly logger: Logger;
  private readonly recovering = new Set<string>();

  constructor(readonly deps: DlqHandlerDeps) {
    this.logger = deps.logger.child({ component: 'dlq-handler' });
  }

  /** Handles one DLQ queue job (`source` is its id). Idempotent for a redelivered job. */
  async handle(raw: unknown, source: string): Promise<StoredEntry> {
    const parsed = deadLetterEntrySchema.safeParse(raw);
    if (!parsed.success) throw new MalformedEntryError(`DLQ job ${source} is not a dead-letter entry: ${parsed.error.issues[0]?.message ?? ''}`);
    const incoming = parsed.data;
    const id = incoming.dlqEntryId ?? source;
    const existing = await this.deps.store.get(id);
    if (existing?.lastSource === source) {
      // Redelivered after a crash: the decision was stored; make sure its follow-up exists.
      if (existing.status === 'scheduled') await this.scheduleRetry(existing, existing.retries + 1, 0);
      return existing;
    }
    if (existing?.retriedTo?.kind === 'job') await this.deps.store.untrack(existing.retriedTo.queue, existing.retriedTo.jobId);
    const classified = classifyFailure(incoming.error);
    const entry = this.merge(existing, incoming, id, source, classified);
    this.deps.metrics.received.inc({ kind: entry.kind });
    const decision = this.deps.policy.decide(classified.classification, entry.retries);
    const log = this.logger.child({ entryId: id, origin: entry.originName, kind: entry.kind, name: entry.name });
    if (decision.action === 'retry') {
      entry.status = 'scheduled';
      entry.nextRetryAt = new Date(Date.now() + decision.delayMs).toISOString();
      // A manual retry of a parked entry that failed transiently again: no longer parked.
      delete entry.parkReason;
      delete entry.parkedAt;
      await this.deps.store.save(entry, ['received', 'scheduled']);
      await this.scheduleRetry(entry, decision.retry, decision.delayMs);
      log.warn({ rule: classified.rule, retry: decision.retry, delayMs: decision.delayMs }, 'transient failure: retry scheduled');
      return entry;
    }
    await this.park(entry, decision.parkReason, ['received']);
    return entry;
  }

  /** Called by the scheduler when a backoff is over. Skips entries no longer waiting (deleted, retried). */
  async autoRetry(entryId: string, retry: number): Promise<void> {
    const entry = await this.deps.store.get(entryId);
    if (entry === undefined || entry.status !== 'scheduled' || entry.retries >= retry) {
      this.logger.debug({ entryId, retry }, 'scheduled retry skipped: entry no longer waiting');
      return;
    }
    try {
      this.deps.sender.assertRetryable(entry);
    } catch (caught) {
      // Transient error, but nothing that could be sent back (e.g. not a valid event): park it now.
      this.logger.error({ err: toError(caught), entryId }, 'entry cannot be sent back');
      await this.park(entry, 'retry_failed');
      return;
    }
    await this.sendBack(entry, retry, 'auto');
  }

  /** The scheduler gave up sending an entry back (its origin Redis stayed down): park it. */
  async retryFailed(entryId: string, err: Error): Promise<void> {
    const entry = await this.deps.store.get(entryId);
    if (entry === undefined || entry.status !== 'scheduled') return;
    this.logger.error({ err, entryId }, 'sending back to the origin failed for good');
    await this.park(entry, 'retry_failed');
  }

  /** `POST /dlq/:id/retry`: sends a parked entry back now. 404 unknown, 409 not parked. */
  async manualRetry(entryId: string): Promise<StoredEntry> {
    const entry = await this.deps.store.get(entryId);
    if (entry === undefined) throw new NotFoundError(`no DLQ entry ${entryId}`);
    if (entry.status !== 'parked') throw new AppError('conflict', `entry ${entryId} is ${entry.status}; only parked entries can be retried`);
    return this.sendBack(entry, entry.retries + 1, 'manual');
  }

  /**
   * `POST /dlq/retry`: sends back up to `limit` parked entries matching `filter`, newest
   * first. One entry failing does not stop the others; each failure is reported.
   */
  async retryMatching(filter: Omit<EntryFilter, 'status'>, limit: number): Promise<BulkRetryResult> {
    const { items, total } = await this.deps.store.list({ ...filter, status: 'parked' }, 0, limit);
    const result: BulkRetryResult = { matched: total, retried: 0, ids: [], failed: [] };
    for (const entry of items) {
      try {
        await this.manualRetry(entry.id);
        result.retried += 1;
        result.ids.push(entry.id);
      } catch (caught) {
        const err = toError(caught);
        this.logger.warn({ err, entryId: entry.id }, 'bulk retry of one entry failed');
        result.failed.push({ id: entry.id, error: err.message });
      }
    }
    return result;
  }

  /** A retried job completed or a retried event was processed. No-op unless the entry is `retried`. */
  async markRecovered(entryId: string, via: string): Promise<boolean> {
    // QueueEvents and the periodic check can report the same completion at once: count it once.
    if (this.recovering.has(entryId)) return false;
    this.recovering.add(entryId);
    try {
      return await this.recover(entryId, via);
    } finally {
      this.recovering.delete(entryId);
    }
  }

  private async recover(entryId: string, via: string): Promise<boolean> {
    const entry = await this.deps.store.get(entryId);
    if (entry === undefined || entry.status !== 'retried') return false;
    entry.status = 'recovered';
    entry.recoveredAt = now();
    entry.updatedAt = entry.recoveredAt;
    delete entry.nextRetryAt;
    await this.deps.store.save(entry, ['recovered']);
    if (entry.retriedTo?.kind === 'job') await this.deps.store.untrack(entry.retriedTo.queue, entry.retriedTo.jobId);
    this.deps.metrics.recovered.inc({ kind: entry.kind });
    this.logger.info({ entryId, via, retries: entry.retries }, 'entry recovered');
    return true;
  }

  private async sendBack(entry: StoredEntry, retry: number, mode: 'auto' | 'manual'): Promise<StoredEntry> {
    this.deps.sender.assertRetryable(entry);
    const previous = structuredClone(entry);
    // Stored (and tracked) before sending: the retried job may complete before we get here again.
    const target = this.deps.sender.plannedTarget(entry, retry);
    entry.status = 'retried';
    entry.retries = retry;
    entry.retriedAt = now();
    entry.updatedAt = entry.retriedAt;
    entry.retriedTo = target;
    delete entry.nextRetryAt;
    await this.deps.store.save(entry);
    if (target.kind === 'job') await this.deps.store.track(target.queue, target.jobId, entry.id);
    try {
      entry.retriedTo = await this.deps.sender.send(entry, retry);
    } catch (caught) {
      await this.deps.store.save(previous);
      if (target.kind === 'job') await this.deps.store.untrack(target.queue, target.jobId);
      throw caught;
    }
    await this.deps.store.save(entry, ['retried']);
    this.deps.metrics.retried.inc({ kind: entry.kind, mode });
    return entry;
  }

  private async park(entry: StoredEntry, parkReason: NonNullable<StoredEntry['parkReason']>, increments: CounterName[] = []): Promise<void> {
    entry.status = 'parked';
    entry.parkedAt = now();
    entry.updatedAt = entry.parkedAt;
    entry.parkReason = parkReason;
    delete entry.nextRetryAt;
    await this.deps.store.save(entry, [...increments, 'parked']);
    this.deps.metrics.parked.inc({ origin: entry.originName, classification: entry.classification, reason: parkReason });
    this.logger.error(
      { entryId: entry.id, origin: entry.originName, kind: entry.kind, name: entry.name, parkReason, rule: entry.rule, retries: entry.retries, error: entry.error.message },
      'dlq entry parked',
    );
    await this.deps.alerter.raise(entry).catch((caught: unknown) => {
      // The entry is parked and listed either way; the log line above is the alert of last resort.
      this.logger.error({ err: toError(caught), entryId: entry.id }, 'raising the alert failed');
    });
  }

  private async scheduleRetry(entry: StoredEntry, retry: number, delayMs: number): Promise<void> {
    if (this.deps.scheduler === undefined) throw new Error('retry scheduler not wired');
    await this.deps.scheduler.schedule(entry.id, retry, delayMs);
  }

  private merge(
    existing: StoredEntry | undefined,
    incoming: ParsedDeadLetterEntry,
    id: string,
    source: string,
    classified: ReturnType<typeof classifyFailure>,
  ): StoredEntry {
    const at = now();
    const retries = Math.max(incoming.dlqRetries, existing?.retries ?? 0);
    const { stack: _stack, ...errorSummary } = incoming.error;
    const history = [
      ...(existing?.history ?? []),
      { at, source, retries, error: errorSummary, classification: classified.classification, rule: classified.rule },
    ].slice(-HISTORY_LIMIT);
    const base = existing ?? {
      id,
      kind: incoming.kind,
      origin: incoming.origin,
      originName: incoming.origin.kind === 'job' ? incoming.origin.queue : incoming.origin.stream,
      name: incoming.name,
      data: incoming.data,
      firstFailedAt: incoming.firstFailedAt,
      createdAt: at,
      failures: 0,
    };
    return {
      ...base,
      error: incoming.error,
      attempts: incoming.attempts,
      lastFailedAt: incoming.lastFailedAt,
      classification: classified.classification,
      rule: classified.rule,
      reason: classified.reason,
      status: existing?.status ?? 'scheduled',
      retries,
      failures: (existing?.failures ?? 0) + 1,
      updatedAt: at,
      history,
      lastSource: source,
    } as StoredEntry;
  }
}
