import { NotFoundError, ValidationError, deadLetterEntrySchema, jobDataSchema, toError, validateEvent, type AuditActor, type AuditLog, type AuditTarget, type AuditWrite, type Logger, type ParsedDeadLetterEntry, type TimelineRecorder } from '@event-infra/shared';
import type { Alerter } from './alerter';
import { classifyFailure } from './dlq-classifier';
import type { DlqMetrics } from './dlq-metrics';
import type { DlqStore, EntryFilter } from './dlq-store';
import { EntryConflictError, EntryStateMachine, type TransitionName, type VersionedEntry } from './entry-state';
import { RetryIdTakenError, type OriginSender } from './origin-sender';
import type { RetryPolicy } from './retry-policy';
import { HISTORY_LIMIT, traceOfFailure, type ParkReason, type StoredEntry } from './stored-entry';

export interface BulkRetryResult {
  /** Parked entries matching the filter (may exceed `limit`). */
  matched: number;
  retried: number;
  ids: string[];
  failed: { id: string; error: string }[];
}

/** An operator's replacement payload: a job's `data`, or an event's `data`. */
export interface PayloadEdit {
  data: unknown;
}

/**
 * The entry with `edit` applied, checked as POST /jobs checks job data (`jobDataSchema`)
 * or as the event envelope and its family schema check an event (`validateEvent`): a
 * `ValidationError` (400) with the schema's message otherwise. The original payload is
 * kept in `editedFrom` (the first one, when edited twice).
 */
export function editedEntry(entry: StoredEntry, edit: PayloadEdit): StoredEntry {
  let data: unknown;
  if (entry.kind === 'job') {
    const parsed = jobDataSchema.safeParse(edit.data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: ['data', ...issue.path.map(String)].join('.'), message: issue.message }));
      throw new ValidationError(`invalid job data: ${issues[0]?.path ?? 'data'}: ${issues[0]?.message ?? 'invalid'}`, issues);
    }
    data = parsed.data;
  } else {
    if (typeof entry.data !== 'object' || entry.data === null) throw new ValidationError(`entry ${entry.id} is not a valid event: its data cannot be edited`);
    const event = validateEvent({ ...(entry.data as Record<string, unknown>), data: edit.data });
    data = { ...(entry.data as Record<string, unknown>), data: event.data };
  }
  return { ...entry, data, editedFrom: entry.editedFrom ?? entry.data };
}

/** A DLQ job whose data is not a dead-letter entry: it cannot be handled, only kept. */
export class MalformedEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEntryError';
  }
}

/** Where scheduled retries wait (a delayed BullMQ job per retry, see `RetryQueue`). */
export interface RetrySchedule {
  schedule(entryId: string, retry: number, delayMs: number): Promise<void>;
}

/** What proves a retry succeeded: the retry job's own completion, or an event "handled" record's token. */
export type RecoveryProof = { kind: 'job'; queue: string; jobId: string } | { kind: 'event'; group: string; token: string };

export interface DlqHandlerDeps {
  store: DlqStore;
  policy: RetryPolicy;
  sender: OriginSender;
  alerter: Alerter;
  metrics: DlqMetrics;
  scheduler: RetrySchedule;
  /** Operators' actions are recorded here, in the same step as their transition. */
  audit: AuditLog;
  logger: Logger;
  /** Timeline of each entry's correlation (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
}

const now = (): string => new Date().toISOString();

/** Who asked for a manual retry, and what it is recorded against. */
interface ManualAudit {
  actor: AuditActor;
  detail: AuditTarget;
}

/**
 * The DLQ's orchestrator: classifies each incoming failure, then moves its entry through the
 * state machine (`entry-state.ts`): schedule a retry or park and alert; send entries back to
 * their origin (automatic or manual); mark them recovered on proof. One stored entry per
 * original failure: a retried job or event that fails again carries the entry id and its
 * retry token, and updates the same entry; a claim without the right token is not believed.
 */
export class DlqHandler {
  private readonly logger: Logger;
  private readonly machine: EntryStateMachine;

  constructor(private readonly deps: DlqHandlerDeps) {
    this.logger = deps.logger.child({ component: 'dlq-handler' });
    this.machine = new EntryStateMachine(deps.store, deps.timeline);
  }

  /** Handles one DLQ queue job (`source` is its id). Idempotent for a redelivered job. */
  async handle(raw: unknown, source: string): Promise<StoredEntry> {
    const parsed = deadLetterEntrySchema.safeParse(raw);
    if (!parsed.success) throw new MalformedEntryError(`DLQ job ${source} is not a dead-letter entry: ${parsed.error.issues[0]?.message ?? ''}`);
    const incoming = parsed.data;
    const claimed = await this.claimedEntry(incoming, source);
    if (claimed.duplicate) return this.redelivered(claimed.duplicate);
    try {
      return await this.decide(incoming, source, claimed.entry);
    } catch (caught) {
      // A first failure whose entry exists already: this DLQ job was handled before a crash.
      const existing = claimed.entry === undefined && caught instanceof EntryConflictError ? await this.deps.store.read(source) : undefined;
      if (existing === undefined) throw caught;
      return this.redelivered(existing);
    }
  }

  /** Classifies `incoming` and applies `receive` (a first failure) or `failAgain` (a verified retry's failure). */
  private async decide(incoming: ParsedDeadLetterEntry, source: string, existing: VersionedEntry | undefined): Promise<StoredEntry> {
    const classified = classifyFailure(incoming.error);
    const entry = this.merge(existing?.entry, incoming, existing?.entry.id ?? source, source, classified);
    this.deps.metrics.received.inc({ kind: entry.kind });
    const transition: TransitionName = existing === undefined ? 'receive' : 'failAgain';
    const decision = this.deps.policy.decide(classified.classification, entry.retries);
    if (decision.action === 'park') {
      await this.park(transition, existing?.state, entry, decision.parkReason);
      await this.untrackRetry(existing);
      return entry;
    }
    entry.status = 'scheduled';
    entry.nextRetryAt = new Date(Date.now() + decision.delayMs).toISOString();
    // A manual retry of a parked entry that failed transiently again: no longer parked.
    delete entry.parkReason;
    delete entry.parkedAt;
    await this.machine.apply(transition, existing?.state, entry);
    await this.untrackRetry(existing);
    await this.deps.scheduler.schedule(entry.id, decision.retry, decision.delayMs);
    this.logger.warn({ entryId: entry.id, origin: entry.originName, rule: classified.rule, retry: decision.retry, delayMs: decision.delayMs }, 'transient failure: retry scheduled');
    return entry;
  }

  /** The retry of `existing` came back failed (after the transition: a lost race keeps it tracked). */
  private async untrackRetry(existing: VersionedEntry | undefined): Promise<void> {
    const target = existing?.entry.retriedTo;
    if (target?.kind === 'job') await this.deps.store.untrack(target.queue, target.jobId);
  }

  /** Called by the scheduler when a backoff is over. Skips entries no longer waiting (deleted, retried). */
  async autoRetry(entryId: string, retry: number): Promise<void> {
    const found = await this.deps.store.read(entryId);
    if (found?.state.status === 'retried' && found.entry.retries === retry) {
      // This very retry was started but the process died before the send returned: send it
      // again (same id and token: a job already added is found by create-and-verify).
      await this.deps.sender.send(found.entry, retry, found.state.token);
      this.logger.warn({ entryId, retry }, 'interrupted retry sent again');
      return;
    }
    if (found === undefined || found.state.status !== 'scheduled' || found.entry.retries >= retry) {
      this.logger.debug({ entryId, retry }, 'scheduled retry skipped: entry no longer waiting');
      return;
    }
    try {
      this.deps.sender.assertRetryable(found.entry);
    } catch (caught) {
      // Transient error, but nothing that could be sent back (e.g. not a valid event): park it now.
      this.logger.error({ err: toError(caught), entryId }, 'entry cannot be sent back');
      await this.park('park', found.state, { ...found.entry }, 'retry_failed');
      return;
    }
    await this.sendBack(found, retry, 'auto');
  }

  /** The scheduler gave up sending an entry back (its origin Redis stayed down): park it. */
  async retryFailed(entryId: string, err: Error): Promise<void> {
    const found = await this.deps.store.read(entryId);
    if (found === undefined || found.state.status !== 'scheduled') return;
    this.logger.error({ err, entryId }, 'sending back to the origin failed for good');
    await this.park('park', found.state, { ...found.entry }, 'retry_failed');
  }

  /**
   * A tracked retry job that no longer exists (nor ever completed in sight), `graceMs` after the
   * retry started: the send was lost (a crash between `startRetry` and the add) or the job was
   * removed. The entry is parked (`retry_failed`, alerted) so an operator can retry it.
   */
  async retryLost(entryId: string, target: { queue: string; jobId: string }, graceMs: number): Promise<boolean> {
    const found = await this.deps.store.read(entryId);
    const sent = found?.entry.retriedTo;
    if (found === undefined || found.state.status !== 'retried' || sent?.kind !== 'job' || sent.queue !== target.queue || sent.jobId !== target.jobId) return false;
    if (Date.now() - Date.parse(found.entry.retriedAt ?? found.entry.updatedAt) < graceMs) return false;
    this.logger.error({ entryId, ...target }, 'retry job is gone without a completion: entry parked');
    try {
      await this.park('sendFailed', found.state, { ...found.entry }, 'retry_failed');
    } catch (caught) {
      if (caught instanceof EntryConflictError) return false;
      throw caught;
    }
    await this.deps.store.untrack(target.queue, target.jobId);
    return true;
  }

  /**
   * `POST /dlq/:id/retry`: sends a parked entry back now. 404 unknown, 409 not parked (or
   * another retry won). `actor`'s audit record (`dlq.retry`, `via` a bulk redrive's filter)
   * is written by the `startRetry` transition itself; a send that then fails adds a `failed` one.
   */
  async manualRetry(entryId: string, actor?: AuditActor, via?: AuditTarget['filter'], edit?: PayloadEdit): Promise<StoredEntry> {
    const found = await this.deps.store.read(entryId);
    if (found === undefined) throw new NotFoundError(`no DLQ entry ${entryId}`);
    if (found.state.status !== 'parked') {
      throw new EntryConflictError(entryId, 'startRetry', found.state);
    }
    const sent = edit === undefined ? found : { ...found, entry: editedEntry(found.entry, edit) };
    const audit = actor === undefined ? undefined : { actor, detail: { entryId, ...(via !== undefined ? { filter: via } : {}), ...(edit !== undefined ? { edited: true } : {}) } };
    return this.sendBack(sent, found.entry.retries + 1, 'manual', audit);
  }

  /**
   * Sends a parked entry back if it is still parked: the redrive task's step. Resolves with
   * `skipped` (no longer parked, or gone) instead of throwing the conflict.
   */
  async redriveOne(entryId: string, actor: AuditActor, via: AuditTarget['filter']): Promise<'retried' | 'skipped'> {
    try {
      await this.manualRetry(entryId, actor, via);
      return 'retried';
    } catch (caught) {
      if (caught instanceof EntryConflictError || caught instanceof NotFoundError) return 'skipped';
      throw caught;
    }
  }

  /**
   * A redrive step interrupted by a crash: the entry's retry was started (at or after
   * `sinceMs`) but maybe never sent. Sends that same retry again (same id and token: a job
   * already added is found by create-and-verify; an event goes out with the same envelope id).
   */
  async resendInterrupted(entryId: string, sinceMs: number): Promise<boolean> {
    const found = await this.deps.store.read(entryId);
    if (found?.state.status !== 'retried' || Date.parse(found.entry.retriedAt ?? '') < sinceMs) return false;
    const target = await this.deps.sender.send(found.entry, found.entry.retries, found.state.token);
    if (target.kind === 'event') {
      await this.machine.apply('retrySent', found.state, { ...found.entry, retriedTo: target }).catch((caught: unknown) => {
        if (!(caught instanceof EntryConflictError)) throw caught;
      });
    }
    this.logger.warn({ entryId }, 'interrupted redrive retry sent again');
    return true;
  }

  /** The console's reindex: an entry stored before the console's indexes joins them (its fingerprint fixed). */
  async reindex(entryId: string): Promise<boolean> {
    const found = await this.deps.store.read(entryId);
    if (found === undefined) return false;
    try {
      await this.machine.reindex(found);
      return true;
    } catch (caught) {
      if (caught instanceof EntryConflictError) return false;
      throw caught;
    }
  }

  /**
   * `POST /dlq/retry`: sends back up to `limit` parked entries matching `filter`, newest
   * first. One entry failing does not stop the others; each failure is reported.
   */
  async retryMatching(filter: Omit<EntryFilter, 'status'>, limit: number, actor?: AuditActor): Promise<BulkRetryResult> {
    const { items, total } = await this.deps.store.list({ ...filter, status: 'parked' }, 0, limit);
    const result: BulkRetryResult = { matched: total, retried: 0, ids: [], failed: [] };
    const via = { ...filter, limit };
    // The redrive itself (filter and count) is recorded before any entry moves; each entry's
    // retry then carries its own record in its transition.
    if (actor !== undefined) await this.deps.audit.append(actor, 'dlq.redrive', { filter: via, count: total }, 'attempted');
    for (const entry of items) {
      try {
        await this.manualRetry(entry.id, actor, actor === undefined ? undefined : via);
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

  /** `DELETE /dlq/:id`: 404 unknown, 409 when another transition came first. */
  async discard(entryId: string, actor?: AuditActor): Promise<void> {
    const found = await this.deps.store.read(entryId);
    if (found === undefined) throw new NotFoundError(`no DLQ entry ${entryId}`);
    await this.machine.discard(found, actor === undefined ? undefined : this.deps.audit.prepare(actor, 'dlq.discard', { entryId }, 'ok'));
    if (found.entry.retriedTo?.kind === 'job') await this.deps.store.untrack(found.entry.retriedTo.queue, found.entry.retriedTo.jobId);
    this.logger.info({ entryId, status: found.state.status }, 'entry discarded');
  }

  /**
   * The stack saw a retry succeed. Counts only for an entry `retried` to exactly that job, or
   * with exactly that token; false otherwise (also when a concurrent report won).
   */
  async markRecovered(entryId: string, proof: RecoveryProof, via: string): Promise<boolean> {
    // A conflict with `retrySent` (same state, newer version) is worth reading again; others end it.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const found = await this.deps.store.read(entryId);
      if (found === undefined || found.state.status !== 'retried') return false;
      const target = found.entry.retriedTo;
      const proven =
        proof.kind === 'job'
          ? target?.kind === 'job' && target.queue === proof.queue && target.jobId === proof.jobId
          : found.entry.origin.kind === 'event' && found.entry.origin.group === proof.group && found.state.token !== '' && found.state.token === proof.token;
      if (!proven) {
        this.deps.metrics.unverifiedClaims.inc({ kind: 'recovery' });
        this.logger.warn({ entryId, via }, "recovery report does not match the entry's retry: ignored");
        return false;
      }
      const entry: StoredEntry = { ...found.entry, status: 'recovered', recoveredAt: now() };
      entry.updatedAt = entry.recoveredAt!;
      delete entry.nextRetryAt;
      try {
        await this.machine.apply('recover', found.state, entry);
      } catch (caught) {
        if (caught instanceof EntryConflictError) continue;
        throw caught;
      }
      if (target?.kind === 'job') await this.deps.store.untrack(target.queue, target.jobId);
      this.deps.metrics.recovered.inc({ kind: entry.kind });
      this.logger.info({ entryId, via, retries: entry.retries }, 'entry recovered');
      return true;
    }
    return false;
  }

  /** Sends `found` back: `startRetry` first (the one transition concurrent callers race for), then the send. */
  private async sendBack(found: VersionedEntry, retry: number, mode: 'auto' | 'manual', audit?: ManualAudit): Promise<StoredEntry> {
    this.deps.sender.assertRetryable(found.entry);
    const token = found.state.token;
    const next: StoredEntry = { ...found.entry, status: 'retried', retries: retry, retriedAt: now() };
    next.updatedAt = next.retriedAt!;
    delete next.nextRetryAt;
    next.retriedTo = this.deps.sender.plannedTarget(next, retry, token);
    const retried = await this.machine.apply('startRetry', found.state, next, undefined, audit && this.auditWrite(audit, 'ok'));
    // Tracked before sending: the retried job may complete before the send returns.
    if (next.retriedTo.kind === 'job') await this.deps.store.track(next.retriedTo.queue, next.retriedTo.jobId, next.id);
    else if (next.origin.kind === 'event') await this.deps.store.noteEventGroup(next.origin.group);
    let target;
    try {
      target = await this.deps.sender.send(next, retry, retried.state.token, mode);
    } catch (caught) {
      await this.unsend(retried, found, toError(caught), mode, audit);
      // A taken retry id parks the entry (alerted): nothing for the scheduler to try again.
      if (caught instanceof RetryIdTakenError && mode === 'auto') return { ...found.entry, status: 'parked', parkReason: 'retry_id_taken' };
      throw caught;
    }
    this.deps.metrics.retried.inc({ kind: next.kind, mode });
    if (target.kind === 'event') {
      const sent: StoredEntry = { ...next, retriedTo: target };
      // The event may already be handled and the entry recovered: then the stream id is not needed.
      await this.machine.apply('retrySent', retried.state, sent).catch((caught: unknown) => {
        if (!(caught instanceof EntryConflictError)) throw caught;
      });
      return sent;
    }
    return next;
  }

  /** The send failed: the entry goes back to where it was (parked if the retry id was taken). */
  private auditWrite(audit: ManualAudit, outcome: 'ok' | 'failed', error?: string): AuditWrite {
    return this.deps.audit.prepare(audit.actor, 'dlq.retry', audit.detail, outcome, error === undefined ? undefined : { status: 502, error });
  }

  private async unsend(retried: VersionedEntry, before: VersionedEntry, err: Error, mode: 'auto' | 'manual', audit?: ManualAudit): Promise<void> {
    const target = retried.entry.retriedTo;
    if (target?.kind === 'job') await this.deps.store.untrack(target.queue, target.jobId);
    const restored: StoredEntry = { ...before.entry, updatedAt: now() };
    if (err instanceof RetryIdTakenError) {
      this.logger.error({ entryId: restored.id, err }, 'retry job id already taken: entry stays parked');
      await this.park('sendFailed', retried.state, { ...restored, retries: retried.entry.retries }, 'retry_id_taken', audit && this.auditWrite(audit, 'failed', 'retry_id_taken'));
      return;
    }
    this.logger.warn({ entryId: restored.id, err, mode }, 'sending back failed');
    restored.status = before.state.status === 'parked' ? 'parked' : 'scheduled';
    await this.machine.apply('sendFailed', retried.state, restored, undefined, audit && this.auditWrite(audit, 'failed', 'send_failed'));
  }

  private async park(transition: TransitionName, from: VersionedEntry['state'] | undefined, entry: StoredEntry, parkReason: ParkReason, audit?: AuditWrite): Promise<void> {
    entry.status = 'parked';
    entry.parkedAt = now();
    entry.updatedAt = entry.parkedAt;
    entry.parkReason = parkReason;
    delete entry.nextRetryAt;
    const alert = this.deps.alerter.bucketOf(entry);
    await this.machine.apply(transition, from, entry, alert, audit);
    this.deps.alerter.parked(alert.key);
    this.deps.metrics.parked.inc({ origin: entry.originName, classification: entry.classification, reason: parkReason });
    this.logger.error(
      { entryId: entry.id, origin: entry.originName, kind: entry.kind, name: entry.name, parkReason, rule: entry.rule, retries: entry.retries, error: entry.error.message },
      'dlq entry parked',
    );
  }

  /** Redelivered after a crash: the decision was stored; make sure its follow-up exists. */
  private async redelivered(found: VersionedEntry): Promise<StoredEntry> {
    if (found.state.status === 'scheduled') await this.deps.scheduler.schedule(found.entry.id, found.entry.retries + 1, 0);
    return found.entry;
  }

  /**
   * The entry an incoming failure belongs to when it claims one (`dlqEntryId`) with that
   * entry's current retry token; a redelivery of an already handled report is `duplicate`.
   * Any other claim is forged or stale: ignored (the failure becomes an entry of its own).
   */
  private async claimedEntry(incoming: ParsedDeadLetterEntry, source: string): Promise<{ entry?: VersionedEntry; duplicate?: VersionedEntry }> {
    if (incoming.dlqEntryId === undefined) return {};
    const found = await this.deps.store.read(incoming.dlqEntryId);
    if (found !== undefined && (found.entry.lastSource === source || found.entry.history.some((item) => item.source === source))) {
      return { duplicate: found };
    }
    if (found !== undefined && found.state.status === 'retried' && found.state.token !== '' && found.state.token === incoming.dlqToken) {
      return { entry: found };
    }
    this.deps.metrics.unverifiedClaims.inc({ kind: 'failure' });
    this.logger.warn({ source, claimed: incoming.dlqEntryId.slice(0, 256) }, 'failure claims a DLQ entry without its retry token: claim ignored');
    incoming.dlqRetries = 0;
    delete incoming.dlqEntryId;
    delete incoming.dlqToken;
    return {};
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
      ...(incoming.correlationId !== undefined ? { correlationId: incoming.correlationId } : {}),
      ...(incoming.causationId !== undefined ? { causationId: incoming.causationId } : {}),
      createdAt: at,
      failures: 0,
      version: 0,
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
      ...traceOfFailure(incoming.traceparent !== undefined ? incoming : existing),
    } as StoredEntry;
  }
}

