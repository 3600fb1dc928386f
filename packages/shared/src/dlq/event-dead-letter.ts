import { eventCorrelation } from '../trace/job-trace';
import type { EventEnvelope } from '../events/envelope';
import type { WireFields } from '../events/wire';
import { describeFailure, type DeadLetterEntry } from './dead-letter-entry';
import { decodeEventRetryRef } from './retry-ref';

/**
 * The event side of the DLQ contract: entries for events whose handlers failed for good,
 * and for stream entries that are not events at all. Both builders produce an entry the
 * DLQ schema accepts whatever the stream entry held (empty, missing, repeated, binary or
 * huge fields), so a poison entry always lands in the DLQ and can be acknowledged.
 */

/** Longest name (event type) an entry keeps, characters. */
export const MAX_ENTRY_NAME_CHARS = 256;
/** Name of an entry whose stream fields carry no usable type. */
export const INVALID_ENTRY_NAME = '(invalid)';

interface EventOrigin {
  stream: string;
  group: string;
  /** Stream entry id. */
  entryId: string;
}

export interface EventFailureInput extends EventOrigin {
  event: EventEnvelope;
  error: Error;
  deliveries: number;
  firstFailedAt: string;
  lastFailedAt: string;
}

/**
 * The entry of a valid event that failed: stored once (as `data`). A `dlqentryid` carrying a
 * retry token is passed on as a claim (the DLQ processor checks it); without one, the
 * event's `dlqretries` is not believed.
 */
export function buildEventDeadLetterEntry(input: EventFailureInput): DeadLetterEntry {
  const { event } = input;
  const ref = event.dlqentryid === undefined ? undefined : decodeEventRetryRef(event.dlqentryid);
  const claimed = ref?.token !== undefined;
  return {
    kind: 'event',
    origin: { kind: 'event', stream: input.stream, group: input.group, entryId: input.entryId, eventId: event.id },
    name: event.type,
    data: event,
    error: describeFailure(input.error),
    attempts: input.deliveries,
    firstFailedAt: input.firstFailedAt,
    lastFailedAt: input.lastFailedAt,
    dlqRetries: claimed ? (event.dlqretries ?? 0) : 0,
    ...(claimed ? { dlqEntryId: ref.entryId, dlqToken: ref.token } : {}),
    correlationId: eventCorrelation(event),
    causationId: event.id,
    ...(event.traceparent !== undefined ? { traceparent: event.traceparent } : {}),
    ...(event.traceparent !== undefined && event.tracestate !== undefined ? { tracestate: event.tracestate } : {}),
  };
}

export interface InvalidEntryInput extends EventOrigin {
  /** The entry's flat field list, as read (strings, or Buffers: then bytes that are not UTF-8 are kept, in base64). */
  fields: WireFields;
  error: Error & { reason?: unknown };
  deliveries: number;
  /** Stored fields are cut so their total stays within this many characters. */
  maxStoredChars: number;
  /** The entry's size on the stream, bytes, when it was refused for its size. */
  sizeBytes?: number | undefined;
}

/** The entry of a stream entry that is not a valid event: its raw fields, bounded, stored once. */
export function buildInvalidEntryDeadLetter(input: InvalidEntryInput): DeadLetterEntry {
  const { texts, base64 } = storable(input.fields);
  const { fields, truncated } = boundFields(texts, input.maxStoredChars);
  const keptBase64 = base64.filter((index) => index < fields.length);
  const now = new Date().toISOString();
  const reason = typeof input.error.reason === 'string' ? input.error.reason : undefined;
  const type = valueOf(texts, base64, 'type');
  const id = valueOf(texts, base64, 'id');
  return {
    kind: 'event',
    origin: {
      kind: 'event',
      stream: input.stream,
      group: input.group,
      entryId: input.entryId,
      fields,
      ...(keptBase64.length > 0 ? { base64Fields: keptBase64 } : {}),
      ...(id !== undefined && id.length > 0 && id.length <= 256 ? { eventId: id } : {}),
      ...(truncated || input.sizeBytes !== undefined ? { truncatedFromBytes: input.sizeBytes ?? totalChars(texts) } : {}),
    },
    name: type !== undefined && type.length > 0 ? type.slice(0, MAX_ENTRY_NAME_CHARS) : INVALID_ENTRY_NAME,
    data: null,
    error: { ...describeFailure(input.error), ...(reason ? { code: reason, permanent: true } : {}) },
    attempts: input.deliveries,
    firstFailedAt: now,
    lastFailedAt: now,
    dlqRetries: 0,
  };
}

/** The value of field `name` as text (a base64-kept name or value does not count). */
function valueOf(fields: readonly string[], base64: readonly number[], name: string): string | undefined {
  for (let index = 0; index + 1 < fields.length; index += 2) {
    if (fields[index] === name && !base64.includes(index)) return base64.includes(index + 1) ? undefined : fields[index + 1];
  }
  return undefined;
}

/** The fields as text: UTF-8 where the bytes are UTF-8, base64 (index listed) where not, so nothing is lost. */
function storable(fields: WireFields): { texts: string[]; base64: number[] } {
  const texts: string[] = [];
  const base64: number[] = [];
  fields.forEach((field: string | Buffer, index: number) => {
    if (typeof field === 'string') {
      texts.push(field);
      return;
    }
    const text = field.toString('utf8');
    if (Buffer.byteLength(text) === field.length && Buffer.from(text, 'utf8').equals(field)) texts.push(text);
    else {
      texts.push(field.toString('base64'));
      base64.push(index);
    }
  });
  return { texts, base64 };
}

function totalChars(fields: readonly string[]): number {
  let total = 0;
  for (const field of fields) total += field.length;
  return total;
}

/** The fields cut, in order, to `max` characters in all (an odd trailing name is kept as a pair). */
function boundFields(raw: readonly string[], max: number): { fields: string[]; truncated: boolean } {
  const fields: string[] = [];
  let budget = max;
  let truncated = false;
  for (const field of raw) {
    if (budget <= 0) {
      truncated = true;
      break;
    }
    if (field.length > budget) truncated = true;
    fields.push(field.slice(0, budget));
    budget -= Math.min(field.length, budget);
  }
  if (fields.length % 2 === 1) fields.push('');
  return { fields, truncated };
}
