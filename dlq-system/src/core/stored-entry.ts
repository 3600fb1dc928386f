import { masterSlotPrefix, type Failure, type ParsedDeadLetterEntry } from '@event-infra/shared';
import type { FailureClass } from './dlq-classifier';

/**
 * Statuses a stored entry can have (the states of `entry-state.ts` that are kept and indexed):
 * - `scheduled` (awaiting retry): transient, an automatic retry waits for its backoff;
 * - `retried`: sent back to its origin, waiting for the outcome;
 * - `recovered`: the stack saw that retry succeed;
 * - `parked`: permanent, or out of retries; waits for an operator (alert raised).
 */
export const ENTRY_STATUSES = ['scheduled', 'retried', 'recovered', 'parked'] as const;
export type EntryStatus = (typeof ENTRY_STATUSES)[number];
/** Every state of an entry: `new` (not stored yet) and `discarded` (deleted by an operator) besides. */
export type EntryState = 'new' | EntryStatus | 'discarded';
export const FAILURE_CLASSES = ['transient', 'permanent'] as const satisfies readonly FailureClass[];
export const ENTRY_KINDS = ['job', 'event'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export type RetryTarget =
  | { kind: 'job'; queue: string; jobId: string }
  | { kind: 'event'; stream: string; eventId: string; streamId: string };

export interface EntryHistoryItem {
  at: string;
  /** Id of the DLQ queue job that reported this failure. */
  source: string;
  retries: number;
  error: Pick<Failure, 'message' | 'name' | 'code' | 'status' | 'permanent'>;
  classification: FailureClass;
  rule: string;
}

/** One failure as the DLQ processor keeps it on the master (JSON under `dlqKeys.entry(id)`). */
export interface StoredEntry {
  id: string;
  kind: EntryKind;
  origin: ParsedDeadLetterEntry['origin'];
  /** Queue name (jobs) or stream name (events): the `origin` filter of the API. */
  originName: string;
  name: string;
  data: unknown;
  error: Failure;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  classification: FailureClass;
  rule: string;
  reason: string;
  status: EntryStatus;
  /** Bumped by every transition; a transition applies only to the version it was computed from. */
  version: number;
  /** Times this failure was sent back to its origin (automatic and manual). */
  retries: number;
  /** Times this failure reached the DLQ. */
  failures: number;
  createdAt: string;
  updatedAt: string;
  nextRetryAt?: string;
  retriedAt?: string;
  retriedTo?: RetryTarget;
  recoveredAt?: string;
  parkedAt?: string;
  parkReason?: ParkReason;
  /** Last failures, newest last (at most `HISTORY_LIMIT`). */
  history: EntryHistoryItem[];
  /** DLQ queue job id last handled: a redelivered DLQ job is recognised and not counted twice. */
  lastSource: string;
  /** Correlation of what failed (its timeline); absent for failures reported without one. */
  correlationId?: string;
  /** What failed: `job:<queue>:<jobId>` or the event id. */
  causationId?: string;
  /** Failure fingerprint (`fingerprint.ts`), fixed when the entry is received; absent on entries stored before it (the reindex adds it). */
  fingerprint?: string;
  /** The payload as it failed, kept when an operator sent back an edited `data` (first edit only). */
  editedFrom?: unknown;
  /** W3C trace context of the last failure: retries continue its trace. */
  traceparent?: string;
  tracestate?: string;
}

export const HISTORY_LIMIT = 20;

/**
 * Why an entry is parked: a permanent failure, out of automatic retries, sending it back
 * failed for good, or the retry's job id was already taken by a job with other content.
 */
export type ParkReason = 'permanent' | 'retries_exhausted' | 'retry_failed' | 'retry_id_taken';

/**
 * Every key of the DLQ storage on the master Redis, built here only: `evinfra:dlq:…` on a single
 * Redis, `{evinfra}:dlq:…` on a Redis Cluster (one slot with the audit stream: the transition
 * script writes them together; `masterSlotPrefix`).
 */
export function dlqKeysFor(clustered: boolean) {
  const key = (...parts: string[]): string => [masterSlotPrefix(clustered), 'dlq', ...parts].join(':');
  return {
    entry: (id: string) => key('entry', id),
    indexAll: () => key('index', 'all'),
    indexKind: (kind: string) => key('index', 'kind', kind),
    indexOrigin: (origin: string) => key('index', 'origin', origin),
    indexClass: (classification: string) => key('index', 'class', classification),
    indexStatus: (status: string) => key('index', 'status', status),
    origins: () => key('origins'),
    counters: () => key('counters'),
    tracking: () => key('tracking'),
    /** Hash id → `status|version|token`: the state machine's record (the token never leaves the stack). */
    state: () => key('state'),
    /** Consumer groups whose "retry handled" records the recovery tracker reads. */
    eventGroups: () => key('event-groups'),
    tmp: (token: string) => key('tmp', token),
    /** Hash id → `kind|class|status|fingerprint|origin`: what a filtered page checks per id. */
    facets: () => key('facets'),
    /** Hash id → lowercase name, error message (first 512 chars) and subject: the `q` search text. */
    search: () => key('search'),
    indexFingerprint: (fingerprint: string) => key('index', 'fp', fingerprint),
    /** Hash: origin, kind, name, normalized message, sample message, firstSeenMs, lastSeenMs of one fingerprint. */
    fingerprint: (fingerprint: string) => key('fp', fingerprint),
    /** Sorted set fingerprint → stored entries with it. */
    fingerprints: () => key('fps'),
    /** Sorted set fingerprint → stored entries with it in `status`. */
    fingerprintsByStatus: (status: string) => key('fps', status),
    /** Hash: one redrive task (`redrive-task.ts`). */
    task: (id: string) => key('task', id),
    /** List: a redrive task's frozen selection of entry ids. */
    taskIds: (id: string) => key('task', id, 'ids'),
    /** Sorted set task id → creation time, ms. */
    tasks: () => key('tasks'),
    /** Set of pending and running task ids. */
    liveTasks: () => key('tasks', 'live'),
    /** `1` once every entry stored before the console's indexes is in them (the reindex at start). */
    indexVersion: () => key('index-version'),
    alert: (id: string) => key('alert', id),
    alerts: () => key('alerts'),
    alertBucket: (origin: string) => key('alert-bucket', origin),
    alertBucketIds: (origin: string) => key('alert-bucket-ids', origin),
    alertBuckets: () => key('alert-buckets'),
  } as const;
}
export type DlqKeys = ReturnType<typeof dlqKeysFor>;

/** The DLQ keys on a single Redis (`evinfra:dlq:…`). */
export const dlqKeys: DlqKeys = dlqKeysFor(false);

/** The trace context an entry keeps: the latest failure's when it has one, else what the entry had. */
export function traceOfFailure(from: { traceparent?: string | undefined; tracestate?: string | undefined } | undefined): Pick<StoredEntry, 'traceparent' | 'tracestate'> {
  if (from?.traceparent === undefined) return {};
  return { traceparent: from.traceparent, ...(from.tracestate !== undefined ? { tracestate: from.tracestate } : {}) };
}
