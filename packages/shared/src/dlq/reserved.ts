import { DLQ_META_KEY, TRIGGER_JOB_ID_PREFIX } from '../names';

/**
 * Metadata only the stack sets. Every client surface refuses these (400 naming the field)
 * or strips them; where the stack reads them back it checks them against its own records
 * (the retry token of the DLQ entry), so a forged value is ignored, never trusted.
 */

/** Keys of a job's `data` reserved for the stack: `__dlq` and every other `__`-prefixed key. */
export const RESERVED_DATA_KEY_PREFIX = '__';

/** True when `key` is a reserved job data key (`__dlq`, `__anything`). */
export function isReservedDataKey(key: string): boolean {
  return key.startsWith(RESERVED_DATA_KEY_PREFIX);
}

/** The reserved data keys present in `data` (in order). */
export function reservedDataKeys(data: Record<string, unknown>): string[] {
  return Object.keys(data).filter(isReservedDataKey);
}

/** Envelope attributes only the DLQ processor sets on a re-published event. */
export const RESERVED_EVENT_FIELDS = ['dlqentryid', 'dlqretries'] as const;

/** A retry job id (`…-dlq-r<n>…`) anywhere in the id. */
const RETRY_ID_PATTERN = /-dlq-r\d+/;
const TRIGGER_ID_PREFIX = `${TRIGGER_JOB_ID_PREFIX}-`;

/**
 * Why a client-chosen job id is in one of the stack's reserved shapes, or `undefined` when
 * it is not: retry ids (`<jobId>-dlq-r<n>-<token>`) and trigger ids (`evt-<trigger>-<eventId>`).
 */
export function reservedJobIdReason(jobId: string): string | undefined {
  if (RETRY_ID_PATTERN.test(jobId)) return 'ids containing "-dlq-r<n>" are reserved for DLQ retries';
  if (jobId.startsWith(TRIGGER_ID_PREFIX)) return `ids starting with "${TRIGGER_ID_PREFIX}" are reserved for event triggers`;
  return undefined;
}

/** `data` without its reserved keys (a trigger building job data from an event uses it). */
export function withoutReservedKeys(data: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(data).some(isReservedDataKey)) return data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => !isReservedDataKey(key)));
}

export { DLQ_META_KEY };
