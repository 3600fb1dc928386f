import type { PrincipalKind, Role } from '../access/roles';

/** What an action was applied to: a job, a DLQ entry, a queue, or a filter with the count it matched. */
export interface AuditTarget {
  queue?: string;
  jobId?: string;
  entryId?: string;
  /** Events: the stream published to (a replay: the event log it reads). */
  stream?: string;
  /** Replays of the event processor: the task id. */
  replayId?: string;
  /** Bulk actions: the filter as given (status, origin, …). */
  filter?: Record<string, unknown>;
  /** Bulk actions: how many items the filter matched when the action started. */
  count?: number;
  /** DLQ redrive tasks: the task id. */
  taskId?: string;
  /** A DLQ retry sent an operator's edited payload instead of the stored one. */
  edited?: boolean;
  /** Stream tools: the consumer group and stream entry id acted on. */
  group?: string;
  streamEntryId?: string;
}

/**
 * - `ok`: written in the same atomic step as the action (DLQ transitions)
 * - `attempted`: written before an action on another Redis (jobs, Bull Board); the action
 *   runs only after this record is stored
 * - `failed`: the attempted (or started) action then failed; same request id
 */
export type AuditOutcome = 'ok' | 'attempted' | 'failed';

export interface AuditActor {
  principal: string;
  role: Role;
  kind: PrincipalKind;
  requestId: string;
  address: string;
}

export interface AuditRecord extends AuditActor {
  /** Stream id (time-ordered); set when read back. */
  id?: string;
  /** ISO 8601, set by the stack. */
  time: string;
  /** e.g. `job.submit`, `job.cancel`, `dlq.retry`, `dlq.redrive`, `dlq.discard`, `board.clean`. */
  action: string;
  /** `queue/jobId`, `dlq/<entry id>`, or `queue` (filters match it exactly, or by prefix with a trailing `*`). */
  target: string;
  detail: AuditTarget;
  outcome: AuditOutcome;
  /** HTTP status of a failed action, and its error code. */
  status?: number;
  error?: string;
}

/** The target string of `detail`. */
export function targetOf(detail: AuditTarget): string {
  if (detail.entryId !== undefined) return `dlq/${detail.entryId}`;
  if (detail.replayId !== undefined) return `replay/${detail.replayId}`;
  if (detail.taskId !== undefined) return `dlq-task/${detail.taskId}`;
  if (detail.group !== undefined && detail.streamEntryId !== undefined) return `${detail.stream ?? ''}/${detail.group}/${detail.streamEntryId}`;
  if (detail.queue !== undefined && detail.jobId !== undefined) return `${detail.queue}/${detail.jobId}`;
  if (detail.queue !== undefined) return detail.queue;
  if (detail.stream !== undefined) return detail.stream;
  return 'dlq';
}

const FIELDS = ['time', 'principal', 'role', 'kind', 'action', 'target', 'outcome', 'requestId', 'address'] as const;

/** The stream entry's fields: `[name, value, …]`, `detail` as JSON. */
export function toStreamFields(record: AuditRecord): string[] {
  const fields: string[] = [];
  for (const name of FIELDS) fields.push(name, String(record[name]));
  fields.push('detail', JSON.stringify(record.detail));
  if (record.status !== undefined) fields.push('status', String(record.status));
  if (record.error !== undefined) fields.push('error', record.error);
  return fields;
}

/** A stream entry back into a record (unknown fields ignored). */
export function fromStreamEntry(id: string, fields: readonly string[]): AuditRecord {
  const map = new Map<string, string>();
  for (let index = 0; index + 1 < fields.length; index += 2) map.set(fields[index]!, fields[index + 1]!);
  let detail: AuditTarget = {};
  try {
    detail = JSON.parse(map.get('detail') ?? '{}') as AuditTarget;
  } catch {
    // Written by this code as JSON; anything else (a hand-made entry) reads as no detail.
    detail = {};
  }
  const status = map.get('status');
  const error = map.get('error');
  return {
    id,
    time: map.get('time') ?? '',
    principal: map.get('principal') ?? '',
    role: (map.get('role') ?? 'viewer') as Role,
    kind: (map.get('kind') ?? 'service') as PrincipalKind,
    action: map.get('action') ?? '',
    target: map.get('target') ?? '',
    detail,
    outcome: (map.get('outcome') ?? 'ok') as AuditOutcome,
    requestId: map.get('requestId') ?? '',
    address: map.get('address') ?? '',
    ...(status !== undefined ? { status: Number(status) } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}
