import { randomBytes } from 'node:crypto';

/**
 * Retry tokens: when the DLQ processor sends an entry back to its origin, the job (in
 * `data.__dlq.token`) or the event (in `dlqentryid`, as `<entryId>.<token>`) carries a random
 * token that only the DLQ storage knows. A failure or a "handled" record that claims an entry
 * counts only when its token matches that entry's current one; clients cannot guess it.
 */
export const RETRY_TOKEN_PATTERN = /^[0-9a-f]{32}$/;

/** A fresh random token (128 bits, hex). */
export function newRetryToken(): string {
  return randomBytes(16).toString('hex');
}

/** BullMQ job id of retry `retry` of a job: unpredictable without the token; `:` is not allowed in ids. */
export function retryJobId(originalJobId: string, retry: number, token: string): string {
  return `${originalJobId}-dlq-r${retry}-${token.slice(0, 16)}`.replaceAll(':', '_');
}

/** `dlqentryid` of a re-published event: entry id and token. */
export function encodeEventRetryRef(entryId: string, token: string): string {
  return `${entryId}.${token}`;
}

/** The entry id and token of a `dlqentryid`; `token` is undefined when the value carries none. */
export function decodeEventRetryRef(value: string): { entryId: string; token: string | undefined } {
  const dot = value.lastIndexOf('.');
  const token = dot > 0 ? value.slice(dot + 1) : '';
  if (RETRY_TOKEN_PATTERN.test(token)) return { entryId: value.slice(0, dot), token };
  return { entryId: value, token: undefined };
}
