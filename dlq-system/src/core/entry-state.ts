import { AppError, newRetryToken, type AuditWrite, type TimelineRecorder } from '@event-infra/shared';
import type { AlertBucketWrite, CounterName, DlqStore, EntryStateRecord } from './dlq-store';
import type { EntryState, EntryStatus, StoredEntry } from './stored-entry';

/**
 * The DLQ entry as a state machine: its states and the only legal transitions. Every
 * transition is one atomic step in Redis (`entry-transition-17.lua`) that checks the current
 * state and version: of concurrent callers one wins, the others get a 409 `conflict` naming
 * the current state. Orchestrators (the handler) decide when to move an entry; this module
 * decides whether it may.
 *
 *   new ──receive──▶ scheduled ◀──┐            (scheduled = awaiting retry)
 *    │                  │          │ failAgain / sendFailed
 *    └──receive──▶ parked ──startRetry──▶ retried ──recover──▶ recovered
 *                    ▲  ◀──failAgain / sendFailed──┘
 *   scheduled ──startRetry──▶ retried;  scheduled ──park──▶ parked
 *   any stored state ──discard──▶ discarded
 *
 * The retry token (the proof a failure or a "handled" record must carry to count for the
 * entry) is renewed whenever the entry enters `scheduled` or `parked`, kept while it is
 * `retried`, and cleared when it ends.
 */
export const TRANSITIONS = {
  /** A first failure lands. */
  receive: { from: ['new'], to: ['scheduled', 'parked'] },
  /** A retry failed again (its failure carried the entry's token). */
  failAgain: { from: ['retried'], to: ['scheduled', 'parked'] },
  /** Sent back to its origin: automatically (scheduled) or by an operator (parked). */
  startRetry: { from: ['scheduled', 'parked'], to: ['retried'] },
  /** The send learnt where the retry went (an event's stream id). */
  retrySent: { from: ['retried'], to: ['retried'] },
  /** The send failed: back to waiting, or parked (the retry id was taken, or an operator's send failed). */
  sendFailed: { from: ['retried'], to: ['scheduled', 'parked'] },
  /** The stack saw that retry succeed. */
  recover: { from: ['retried'], to: ['recovered'] },
  /** Cannot be sent back, or sending failed for good. */
  park: { from: ['scheduled'], to: ['parked'] },
  /** The console's indexes gain an entry stored before them (same status; its fingerprint is fixed). */
  reindex: { from: ['scheduled', 'retried', 'recovered', 'parked'], to: ['scheduled', 'retried', 'recovered', 'parked'] },
  /** `DELETE /dlq/:id`. */
  discard: { from: ['scheduled', 'retried', 'recovered', 'parked'], to: ['discarded'] },
} as const satisfies Record<string, { from: readonly EntryState[]; to: readonly (EntryStatus | 'discarded')[] }>;

export type TransitionName = keyof typeof TRANSITIONS;

/** A transition lost: the entry is no longer in the state (or version) it was read in. */
export class EntryConflictError extends AppError {
  constructor(id: string, transition: TransitionName, current: { status: EntryState; version: number }) {
    super('conflict', `entry ${id} is ${current.status} (version ${current.version}); ${transition} does not apply`, {
      id,
      status: current.status,
      version: current.version,
    });
    this.name = 'EntryConflictError';
  }
}

const COUNTER_OF: Partial<Record<EntryStatus | 'discarded', CounterName>> = {
  scheduled: 'scheduled',
  retried: 'retried',
  recovered: 'recovered',
  parked: 'parked',
  discarded: 'deleted',
};

/** An entry as read, with the state record its next transition is checked against. */
export interface VersionedEntry {
  entry: StoredEntry;
  state: EntryStateRecord;
}

export class EntryStateMachine {
  constructor(
    private readonly store: DlqStore,
    /** Records each applied transition in the entry's timeline (absent: TIMELINE_ENABLED off). */
    private readonly timeline?: TimelineRecorder | undefined,
  ) {}

  private recordStep(name: TransitionName | 'discard', entry: StoredEntry, status: string = entry.status): void {
    if (this.timeline === undefined || entry.correlationId === undefined) return;
    const kind = name === 'receive' ? 'dlq.received' : name === 'retrySent' ? 'dlq.retry-sent' : name === 'recover' ? 'dlq.recovered' : 'dlq.transition';
    this.timeline.record(entry.correlationId, {
      kind,
      subject: entry.id,
      cause: entry.causationId,
      detail: {
        transition: name,
        status,
        classification: entry.classification,
        retries: entry.retries,
        ...(entry.parkReason !== undefined && entry.status === 'parked' ? { parkReason: entry.parkReason } : {}),
        ...(name === 'retrySent' && entry.retriedTo !== undefined ? { retriedTo: entry.retriedTo } : {}),
      },
    });
  }

  /**
   * Applies `name` to the entry read at `from` (undefined for `receive`): `next` is the entry
   * after it, its `status` one of the transition's targets. Resolves with the new version and
   * retry token; throws `EntryConflictError` when another transition came first. A park
   * joins `alert`'s bucket in the same step; an operator's transition appends `audit` in it.
   */
  async apply(name: TransitionName, from: EntryStateRecord | undefined, next: StoredEntry, alert?: AlertBucketWrite, audit?: AuditWrite): Promise<VersionedEntry> {
    const rule = TRANSITIONS[name];
    if (!(rule.to as readonly string[]).includes(next.status)) throw new Error(`${name} cannot lead to ${next.status}`);
    const version = from?.version ?? 0;
    next.version = version + 1;
    const renew = next.status === 'scheduled' || next.status === 'parked';
    const token = renew ? newRetryToken() : next.status === 'retried' ? (from?.token || newRetryToken()) : '';
    const counters: CounterName[] = [];
    if (name === 'receive' || name === 'failAgain') counters.push('received');
    if (name !== 'retrySent') counters.push(COUNTER_OF[next.status]!);
    const result = await this.store.transition({
      id: next.id,
      entry: next,
      from: rule.from,
      to: next.status,
      expectedVersion: version,
      token: token === '' ? '-' : token,
      counters,
      alert,
      audit,
    });
    if (!result.ok) throw new EntryConflictError(next.id, name, result);
    this.recordStep(name, next);
    return { entry: next, state: { status: next.status, version: result.version, token } };
  }

  /** `reindex`: rewrites the entry in its own status (the store adds its fingerprint and console indexes). */
  async reindex(current: VersionedEntry): Promise<void> {
    const result = await this.store.transition({
      id: current.entry.id,
      entry: { ...current.entry, version: current.state.version + 1 },
      from: [current.state.status],
      to: current.entry.status,
      expectedVersion: current.state.version,
    });
    if (!result.ok) throw new EntryConflictError(current.entry.id, 'reindex', result);
  }

  /** `discard`: the entry is removed (its state record stays `discarded`, so late reports about it are ignored). */
  async discard(current: VersionedEntry, audit?: AuditWrite): Promise<void> {
    const result = await this.store.transition({
      id: current.entry.id,
      entry: current.entry,
      from: TRANSITIONS.discard.from,
      to: 'discarded',
      expectedVersion: current.state.version,
      token: '-',
      counters: ['deleted'],
      audit,
    });
    if (!result.ok) throw new EntryConflictError(current.entry.id, 'discard', result);
    this.recordStep('discard', current.entry, 'discarded');
  }
}
