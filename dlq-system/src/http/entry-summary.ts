import type { StoredEntry } from '../core/stored-entry';

/** Characters of the error message and reason a list item carries (the detail route has all). */
export const SUMMARY_TEXT_CHARS = 512;

const cut = (text: string): string => (text.length > SUMMARY_TEXT_CHARS ? `${text.slice(0, SUMMARY_TEXT_CHARS)}…` : text);

/**
 * One `GET /dlq` list item: what an operator needs to pick entries, never the payload
 * (`data`, an event's raw `fields`, job `opts`), the stack or the history, which only
 * `GET /dlq/:id` answers. A page is then bounded by its `limit`, not by the entries' sizes.
 */
export function toEntrySummary(entry: StoredEntry) {
  const origin =
    entry.origin.kind === 'job'
      ? { kind: entry.origin.kind, queue: entry.origin.queue, jobId: entry.origin.jobId }
      : {
          kind: entry.origin.kind,
          stream: entry.origin.stream,
          group: entry.origin.group,
          entryId: entry.origin.entryId,
          ...(entry.origin.eventId === undefined ? {} : { eventId: entry.origin.eventId }),
        };
  const { message, name, code, status, permanent } = entry.error;
  return {
    id: entry.id,
    kind: entry.kind,
    origin,
    originName: entry.originName,
    name: entry.name,
    error: { message: cut(message), name, ...(code === undefined ? {} : { code }), ...(status === undefined ? {} : { status }), ...(permanent === undefined ? {} : { permanent }) },
    attempts: entry.attempts,
    firstFailedAt: entry.firstFailedAt,
    lastFailedAt: entry.lastFailedAt,
    classification: entry.classification,
    rule: entry.rule,
    reason: cut(entry.reason),
    status: entry.status,
    retries: entry.retries,
    failures: entry.failures,
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
    ...(entry.nextRetryAt === undefined ? {} : { nextRetryAt: entry.nextRetryAt }),
    ...(entry.retriedAt === undefined ? {} : { retriedAt: entry.retriedAt }),
    ...(entry.retriedTo === undefined ? {} : { retriedTo: entry.retriedTo }),
    ...(entry.recoveredAt === undefined ? {} : { recoveredAt: entry.recoveredAt }),
    ...(entry.parkedAt === undefined ? {} : { parkedAt: entry.parkedAt }),
    ...(entry.parkReason === undefined ? {} : { parkReason: entry.parkReason }),
    ...(entry.correlationId === undefined ? {} : { correlationId: entry.correlationId }),
    ...(entry.causationId === undefined ? {} : { causationId: entry.causationId }),
    ...(entry.fingerprint === undefined ? {} : { fingerprint: entry.fingerprint }),
    ...(entry.editedFrom === undefined ? {} : { edited: true }),
  };
}

export type EntrySummary = ReturnType<typeof toEntrySummary>;
