import { randomUUID } from 'node:crypto';
import { EVENT_TYPE_PATTERN, SPEC_VERSION, envelopeSchema, type EventInput } from './envelope';
import { isPlainData } from './fast-data';
import { isKnownEventType } from './registry';
import { dataPassesFastCheck } from './validate';
import { MAX_TRACESTATE_CHARS, TRACEPARENT_PATTERN, TRACESTATE_PATTERN } from '../trace/trace-context';

const ID_PATTERN = envelopeSchema.shape.id.def.pattern!;
const TIME_PATTERN = envelopeSchema.shape.time.def.pattern!;
const DIGITS = /^(?:0|[1-9]\d*)$/;

/** A new event ready for `XADD`: its id and type, and the wire fields (`encodeEvent`'s output). */
export interface EncodedEvent {
  id: string;
  type: string;
  fields: string[];
}

const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length >= 1 && value.length <= max;
const optionalText = (value: unknown, max: number): boolean => value === undefined || isText(value, max);

/**
 * The publisher's hot path: `encodeEvent(createEvent(input, defaultSource, now))` in one
 * step, without the intermediate envelope, and without re-checking what it generated itself
 * (a `randomUUID()` id; `now`, which the caller passes only when it checked it with
 * `isValidEventTime`). Sound, not complete: every event it encodes is one `createEvent`
 * accepts, encoded identically; for anything else (invalid, or a case only zod decides) it
 * returns `undefined` and the caller takes the slow path, which gives the verdict and error.
 * A property test compares the two.
 */
export function encodeNewEvent(input: EventInput, defaultSource: string, now: string | undefined): EncodedEvent | undefined {
  const { id, type, time, data, subject, correlationid, causationid, dlqentryid, dlqretries, traceparent, tracestate } = input;
  const source = input.source ?? defaultSource;
  // A partition key is rare: the slow path validates and encodes it.
  if (input.partitionkey !== undefined) return undefined;
  if (id !== undefined && (typeof id !== 'string' || !ID_PATTERN.test(id))) return undefined;
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type) || !isKnownEventType(type)) return undefined;
  if (!isText(source, 256) || (input.specversion !== undefined && input.specversion !== SPEC_VERSION)) return undefined;
  if (time !== undefined ? typeof time !== 'string' || !TIME_PATTERN.test(time) : now === undefined) return undefined;
  if (!optionalText(subject, 512) || !optionalText(correlationid, 256) || !optionalText(causationid, 256)) return undefined;
  if (!optionalText(dlqentryid, 256) || !isPlainData(data) || !dataPassesFastCheck(type, data)) return undefined;
  if (traceparent !== undefined && (typeof traceparent !== 'string' || !TRACEPARENT_PATTERN.test(traceparent))) return undefined;
  if (tracestate !== undefined && (!isText(tracestate, MAX_TRACESTATE_CHARS) || !TRACESTATE_PATTERN.test(tracestate))) return undefined;
  let retries: string | undefined;
  if (dlqretries !== undefined) {
    const count = typeof dlqretries === 'string' && DIGITS.test(dlqretries) ? Number(dlqretries) : dlqretries;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return undefined;
    retries = String(count);
  }
  const eventId = id ?? randomUUID();
  const fields = ['id', eventId, 'type', type, 'source', source, 'specversion', SPEC_VERSION, 'time', time ?? now!];
  if (subject !== undefined) fields.push('subject', subject);
  if (correlationid !== undefined) fields.push('correlationid', correlationid);
  if (causationid !== undefined) fields.push('causationid', causationid);
  if (dlqentryid !== undefined) fields.push('dlqentryid', dlqentryid);
  if (traceparent !== undefined) fields.push('traceparent', traceparent);
  if (tracestate !== undefined) fields.push('tracestate', tracestate);
  if (retries !== undefined) fields.push('dlqretries', retries);
  fields.push('data', JSON.stringify(data));
  return { id: eventId, type, fields };
}

/** True when `time` is an event time the envelope schema accepts (checked once per batch). */
export function isValidEventTime(time: string): boolean {
  return TIME_PATTERN.test(time);
}
