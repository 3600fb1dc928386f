import { SPEC_VERSION, type EventEnvelope } from './envelope';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '../json-depth';
import { isTraceparentBytes } from '../trace/trace-context';
import { InvalidEventError, validateCandidate, validateEvent } from './validate';

/**
 * Wire format of a stream entry: one field per envelope attribute, `data` as a JSON string.
 *
 *   XADD pyairtable-events * id <uuid> type workspace.created source my-service \
 *        specversion 1.0 time 2026-01-01T00:00:00.000Z data '{"workspaceId":"w1",...}'
 *
 * Optional fields: subject, correlationid, causationid, datacontenttype (application/json),
 * the DLQ's extensions dlqretries (integer) and dlqentryid, and the distributed-tracing
 * extension traceparent and tracestate (W3C trace context).
 * Field order does not matter; unknown fields are ignored; a field given twice makes the
 * entry invalid.
 */
export const WIRE_FIELDS = {
  required: ['id', 'type', 'source', 'specversion', 'time', 'data'],
  optional: ['subject', 'correlationid', 'causationid', 'datacontenttype', 'dlqretries', 'dlqentryid', 'partitionkey', 'traceparent', 'tracestate'],
} as const;

const OPTIONAL_ATTRIBUTES = ['subject', 'correlationid', 'causationid', 'dlqentryid', 'traceparent', 'tracestate'] as const;

/** The flat field/value list for `XADD`. */
export function encodeEvent(event: EventEnvelope): string[] {
  const fields = [
    'id',
    event.id,
    'type',
    event.type,
    'source',
    event.source,
    'specversion',
    event.specversion,
    'time',
    event.time,
  ];
  for (const name of OPTIONAL_ATTRIBUTES) {
    const value = event[name];
    if (value !== undefined) fields.push(name, value);
  }
  if (event.dlqretries !== undefined) fields.push('dlqretries', String(event.dlqretries));
  // Written for non-Node readers; the processor's decoders skip it (only the publisher needs it: it picks the partition).
  if (event.partitionkey !== undefined) fields.push('partitionkey', event.partitionkey);
  fields.push('data', JSON.stringify(event.data));
  return fields;
}

/**
 * A stream entry's flat field/value list as read from Redis: strings, or Buffers when read with
 * an ioredis `…Buffer` command (the event processor's hot path), which spares a string per field
 * name and ioredis's conversion pass over the whole reply.
 */
export type WireFields = readonly string[] | readonly Buffer[];

/** The field list as strings (UTF-8), whichever way it was read. */
export function fieldsAsStrings(fields: WireFields): readonly string[] {
  if (fields.length === 0 || typeof fields[0] === 'string') return fields as readonly string[];
  return (fields as readonly Buffer[]).map((field) => field.toString());
}

/** The raw field map of a stream entry (`[f1, v1, f2, v2, …]` as ioredis returns it). */
export function fieldsToRecord(fields: WireFields): Record<string, string> {
  const strings = fieldsAsStrings(fields);
  const record: Record<string, string> = {};
  for (let index = 0; index + 1 < strings.length; index += 2) {
    record[strings[index]!] = strings[index + 1]!;
  }
  return record;
}

/**
 * Parses and validates a stream entry written by any publisher. Throws `InvalidEventError`
 * (`bad_json`, `invalid_envelope`, `unknown_family`, `unknown_type`, `invalid_data`).
 */
export function decodeEvent(fields: WireFields): EventEnvelope {
  return decodeEventFast(fields) ?? decodeEventChecked(fieldsAsStrings(fields));
}

/** The wire fields in bit order: one bit each, to spot a field given twice without a record. */
const FIELD_NAMES: readonly string[] = [...WIRE_FIELDS.required, ...WIRE_FIELDS.optional];
const FIELD_BITS: ReadonlyMap<string, number> = new Map(FIELD_NAMES.map((name, index) => [name, 1 << index]));
const FIELD_NAME_BYTES: readonly Buffer[] = FIELD_NAMES.map((name) => Buffer.from(name));
const bit = (name: string): number => FIELD_BITS.get(name)!;
const ID = bit('id');
const TYPE = bit('type');
const SOURCE = bit('source');
const SPECVERSION = bit('specversion');
const TIME = bit('time');
const DATA = bit('data');
const SUBJECT = bit('subject');
const CORRELATIONID = bit('correlationid');
const CAUSATIONID = bit('causationid');
const DATACONTENTTYPE = bit('datacontenttype');
const DLQRETRIES = bit('dlqretries');
const DLQENTRYID = bit('dlqentryid');
const TRACEPARENT = bit('traceparent');
const TRACESTATE = bit('tracestate');

/** The bit of a field name given as bytes, compared in place (no string made); 0 if unknown. */
function bitOfBytes(name: Buffer): number {
  const length = name.length;
  next: for (let index = 0; index < FIELD_NAME_BYTES.length; index += 1) {
    const known = FIELD_NAME_BYTES[index]!;
    if (known.length !== length) continue;
    for (let at = 0; at < length; at += 1) if (known[at] !== name[at]) continue next;
    return 1 << index;
  }
  return 0;
}

/**
 * The common case without the field record: one pass over the flat list straight into the
 * candidate, then `validateEvent` (its fast checks). Anything unusual (a field given twice, a
 * field it does not know, another content type, data that is not JSON or nested too deep)
 * returns `undefined` and the checked path decides and explains, so both give the same answer.
 */
function decodeEventFast(fields: WireFields): EventEnvelope | undefined {
  let id: string | undefined;
  let type: string | undefined;
  let source: string | undefined;
  let specversion: string | undefined;
  let time: string | undefined;
  let data: string | undefined;
  let subject: string | undefined;
  let correlationid: string | undefined;
  let causationid: string | undefined;
  let dlqentryid: string | undefined;
  let dlqretries: string | undefined;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  let seen = 0;
  /** The traceparent came as bytes and passed `isTraceparentBytes` (its pattern, on the bytes). */
  let traceparentChecked = false;
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = fields[index]!;
    const raw = fields[index + 1]!;
    const fieldBit = typeof name === 'string' ? (FIELD_BITS.get(name) ?? 0) : bitOfBytes(name);
    // Unknown or repeated field: the checked path ignores the one and rejects the other.
    if (fieldBit === 0 || (seen & fieldBit) !== 0) return undefined;
    seen |= fieldBit;
    if (fieldBit === TRACEPARENT && typeof raw !== 'string') {
      // Checked on the bytes, before a string is made: a bad one goes to the checked path,
      // which refuses it as before (invalid_envelope).
      if (!isTraceparentBytes(raw)) return undefined;
      traceparentChecked = true;
    }
    const value = typeof raw === 'string' ? raw : raw.toString();
    switch (fieldBit) {
      case ID: id = value; break;
      case TYPE: type = value; break;
      case SOURCE: source = value; break;
      case SPECVERSION: specversion = value; break;
      case TIME: time = value; break;
      case DATA: data = value; break;
      case SUBJECT: subject = value; break;
      case CORRELATIONID: correlationid = value; break;
      case CAUSATIONID: causationid = value; break;
      case DLQENTRYID: dlqentryid = value; break;
      case DLQRETRIES: dlqretries = value; break;
      case TRACEPARENT: traceparent = value; break;
      case TRACESTATE: tracestate = value; break;
      case DATACONTENTTYPE: if (value !== 'application/json') return undefined; break;
      default: break;
    }
  }
  let parsed: unknown;
  try {
    parsed = data === undefined ? undefined : JSON.parse(data);
  } catch {
    return undefined;
  }
  if (exceedsJsonDepth(parsed)) return undefined;
  // The traceparent in the literal (in-object), not added afterwards: see parseEnvelopeFast.
  const candidate: Record<string, unknown> =
    traceparent === undefined
      ? { id, type, source, specversion: specversion ?? SPEC_VERSION, time, data: parsed }
      : { id, type, source, specversion: specversion ?? SPEC_VERSION, time, data: parsed, traceparent };
  if (subject !== undefined) candidate.subject = subject;
  if (correlationid !== undefined) candidate.correlationid = correlationid;
  if (causationid !== undefined) candidate.causationid = causationid;
  if (dlqentryid !== undefined) candidate.dlqentryid = dlqentryid;
  if (dlqretries !== undefined) candidate.dlqretries = dlqretries;
  if (tracestate !== undefined) candidate.tracestate = tracestate;
  return validateCandidate(candidate, traceparentChecked);
}

function decodeEventChecked(fields: readonly string[]): EventEnvelope {
  // As fieldsToRecord, but a field given twice is ambiguous (readers disagree on first or
  // last): the entry is rejected.
  const record: Record<string, string> = {};
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = fields[index]!;
    if (Object.hasOwn(record, name)) throw new InvalidEventError('invalid_envelope', `field "${name.slice(0, 64)}" appears more than once`);
    record[name] = fields[index + 1]!;
  }
  if (record.datacontenttype !== undefined && record.datacontenttype !== 'application/json') {
    throw new InvalidEventError('invalid_envelope', `unsupported datacontenttype "${record.datacontenttype}"`);
  }
  let data: unknown;
  try {
    data = record.data === undefined ? undefined : JSON.parse(record.data);
  } catch (caught) {
    throw new InvalidEventError('bad_json', `data is not valid JSON: ${(caught as Error).message}`);
  }
  // Accepted, such data could not be serialised again (fan-out, DLQ): refuse it here.
  if (exceedsJsonDepth(data)) throw new InvalidEventError('invalid_data', `data is nested deeper than ${MAX_JSON_DEPTH} levels`);
  const candidate: Record<string, unknown> = {
    id: record.id,
    type: record.type,
    source: record.source,
    specversion: record.specversion ?? SPEC_VERSION,
    time: record.time,
    data,
  };
  for (const name of OPTIONAL_ATTRIBUTES) {
    if (record[name] !== undefined) candidate[name] = record[name];
  }
  if (record.dlqretries !== undefined) candidate.dlqretries = record.dlqretries;
  return validateEvent(candidate);
}
