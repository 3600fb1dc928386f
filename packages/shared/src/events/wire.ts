import { SPEC_VERSION, type EventEnvelope } from './envelope';
import { InvalidEventError, validateEvent } from './validate';

/**
 * Wire format of a stream entry: one field per envelope attribute, `data` as a JSON string.
 *
 *   XADD pyairtable-events * id <uuid> type workspace.created source my-service \
 *        specversion 1.0 time 2026-01-01T00:00:00.000Z data '{"workspaceId":"w1",...}'
 *
 * Optional fields: subject, correlationid, causationid, datacontenttype (application/json),
 * and the DLQ's extensions dlqretries (integer) and dlqentryid.
 * Field order does not matter; unknown fields are ignored.
 */
export const WIRE_FIELDS = {
  required: ['id', 'type', 'source', 'specversion', 'time', 'data'],
  optional: ['subject', 'correlationid', 'causationid', 'datacontenttype', 'dlqretries', 'dlqentryid'],
} as const;

const OPTIONAL_ATTRIBUTES = ['subject', 'correlationid', 'causationid', 'dlqentryid'] as const;

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
  fields.push('data', JSON.stringify(event.data));
  return fields;
}

/** The raw field map of a stream entry (`[f1, v1, f2, v2, …]` as ioredis returns it). */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let index = 0; index + 1 < fields.length; index += 2) {
    record[fields[index]!] = fields[index + 1]!;
  }
  return record;
}

/**
 * Parses and validates a stream entry written by any publisher. Throws `InvalidEventError`
 * (`bad_json`, `invalid_envelope`, `unknown_family`, `unknown_type`, `invalid_data`).
 */
export function decodeEvent(fields: readonly string[]): EventEnvelope {
  return decodeEventFast(fields) ?? decodeEventChecked(fields);
}

/**
 * The common case without the field record: one pass over the flat list straight into the
 * candidate (same last-field-wins rule), then `validateEvent` (its fast checks). Anything
 * unusual (another content type, data that is not JSON) returns `undefined` and the checked
 * path decides and explains, so both give the same answer.
 */
function decodeEventFast(fields: readonly string[]): EventEnvelope | undefined {
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
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const value = fields[index + 1];
    switch (fields[index]) {
      case 'id': id = value; break;
      case 'type': type = value; break;
      case 'source': source = value; break;
      case 'specversion': specversion = value; break;
      case 'time': time = value; break;
      case 'data': data = value; break;
      case 'subject': subject = value; break;
      case 'correlationid': correlationid = value; break;
      case 'causationid': causationid = value; break;
      case 'dlqentryid': dlqentryid = value; break;
      case 'dlqretries': dlqretries = value; break;
      case 'datacontenttype': if (value !== 'application/json') return undefined; break;
      default: break;
    }
  }
  let parsed: unknown;
  try {
    parsed = data === undefined ? undefined : JSON.parse(data);
  } catch {
    return undefined;
  }
  const candidate: Record<string, unknown> = { id, type, source, specversion: specversion ?? SPEC_VERSION, time, data: parsed };
  if (subject !== undefined) candidate.subject = subject;
  if (correlationid !== undefined) candidate.correlationid = correlationid;
  if (causationid !== undefined) candidate.causationid = causationid;
  if (dlqentryid !== undefined) candidate.dlqentryid = dlqentryid;
  if (dlqretries !== undefined) candidate.dlqretries = dlqretries;
  return validateEvent(candidate);
}

function decodeEventChecked(fields: readonly string[]): EventEnvelope {
  const record = fieldsToRecord(fields);
  if (record.datacontenttype !== undefined && record.datacontenttype !== 'application/json') {
    throw new InvalidEventError('invalid_envelope', `unsupported datacontenttype "${record.datacontenttype}"`);
  }
  let data: unknown;
  try {
    data = record.data === undefined ? undefined : JSON.parse(record.data);
  } catch (caught) {
    throw new InvalidEventError('bad_json', `data is not valid JSON: ${(caught as Error).message}`);
  }
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
