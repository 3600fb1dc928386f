import { envelopeSchema, EVENT_TYPE_PATTERN, SPEC_VERSION, type EventEnvelope } from './envelope';
import { isPlainData } from './fast-data';
import { MAX_TRACESTATE_CHARS, TRACEPARENT_PATTERN, TRACESTATE_PATTERN } from '../trace/trace-context';

/**
 * A hand-written check of the envelope attributes that accepts only what `envelopeSchema`
 * accepts, without zod's per-object machinery (about 6 µs an event, most of a publisher's
 * CPU). It is sound, not complete: anything it is unsure about (a string `dlqretries`
 * with a sign, a class instance, a missing field) returns `undefined` and the caller asks
 * zod, which then gives the answer and the issues. The patterns come from the schema
 * itself, so the two cannot drift apart; a property test compares them.
 */
const ID_PATTERN = envelopeSchema.shape.id.def.pattern!;
const TIME_PATTERN = envelopeSchema.shape.time.def.pattern!;
const DIGITS = /^(?:0|[1-9]\d*)$/;

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max;
}

function optionalText(value: unknown, max: number): boolean {
  return value === undefined || isText(value, max);
}

/** Non-negative safe integer, given as a number or as plain digits (the wire format). */
function retries(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && DIGITS.test(value)) {
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) ? parsed : undefined;
  }
  return undefined;
}

/**
 * The envelope as zod would output it, or `undefined` when zod has to decide.
 * `traceparentChecked`: the caller has already checked the candidate's `traceparent` against
 * `TRACEPARENT_PATTERN` (the wire decoder, on the bytes: `isTraceparentBytes`).
 */
export function parseEnvelopeFast(candidate: unknown, traceparentChecked = false): EventEnvelope | undefined {
  // A partition key is rare: zod decides (and keeps it).
  if (!isPlainData(candidate) || candidate.partitionkey !== undefined) return undefined;
  const { id, type, source, time, specversion, subject, correlationid, causationid, data, dlqretries, dlqentryid, traceparent, tracestate } = candidate;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) return undefined;
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) return undefined;
  if (!isText(source, 256) || specversion !== SPEC_VERSION) return undefined;
  if (typeof time !== 'string' || !TIME_PATTERN.test(time)) return undefined;
  if (!optionalText(subject, 512) || !optionalText(correlationid, 256) || !optionalText(causationid, 256)) return undefined;
  if (!optionalText(dlqentryid, 256) || !isPlainData(data)) return undefined;
  if (traceparent !== undefined && (typeof traceparent !== 'string' || (!traceparentChecked && !TRACEPARENT_PATTERN.test(traceparent)))) return undefined;
  if (tracestate !== undefined && (!isText(tracestate, MAX_TRACESTATE_CHARS) || !TRACESTATE_PATTERN.test(tracestate))) return undefined;
  const count = dlqretries === undefined ? undefined : retries(dlqretries);
  if (dlqretries !== undefined && count === undefined) return undefined;
  // A traced event's envelope has its traceparent in the literal (in-object, like the other
  // attributes) rather than added afterwards into a property array of its own.
  const envelope: EventEnvelope = traceparent === undefined ? { id, type, source, time, specversion, data } : { id, type, source, time, specversion, data, traceparent: traceparent as string };
  if (subject !== undefined) envelope.subject = subject as string;
  if (correlationid !== undefined) envelope.correlationid = correlationid as string;
  if (causationid !== undefined) envelope.causationid = causationid as string;
  if (count !== undefined) envelope.dlqretries = count;
  if (dlqentryid !== undefined) envelope.dlqentryid = dlqentryid as string;
  if (tracestate !== undefined) envelope.tracestate = tracestate as string;
  return envelope;
}
