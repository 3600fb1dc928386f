import type { z } from 'zod';
import { ValidationError } from '../errors';
import { envelopeSchema, type EventEnvelope } from './envelope';
import { compileDataCheck, type DataCheck } from './fast-data';
import { parseEnvelopeFast } from './fast-envelope';
import { EVENT_FAMILIES, EVENT_SCHEMAS, familyOf, isKnownEventType } from './registry';

/** Why an event was rejected: the event processor routes each reason to the DLQ. */
export type InvalidEventReason = 'invalid_envelope' | 'unknown_family' | 'unknown_type' | 'invalid_data' | 'bad_json';

export class InvalidEventError extends ValidationError {
  readonly reason: InvalidEventReason;

  constructor(reason: InvalidEventReason, message: string, details?: unknown) {
    super(message, details);
    this.name = 'InvalidEventError';
    this.reason = reason;
  }
}

function issuesOf(error: z.ZodError, prefix: string[] = []): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** Fast data checks per type, compiled once; a type without one always goes through zod. */
const DATA_CHECKS: Partial<Record<string, DataCheck>> = Object.fromEntries(
  Object.entries(EVENT_SCHEMAS).map(([type, schema]) => [type, compileDataCheck(schema)]),
);

/**
 * True when the compiled fast check of `type` accepts `data` (zod would accept it unchanged);
 * false means "unsure", not "invalid": ask `validateEvent`.
 */
export function dataPassesFastCheck(type: string, data: unknown): boolean {
  return DATA_CHECKS[type]?.(data) === true;
}

/** The zod path: the answer, with issues, for anything the fast check did not accept. */
function parseEnvelope(candidate: unknown): EventEnvelope {
  const envelope = envelopeSchema.safeParse(candidate);
  if (!envelope.success) {
    throw new InvalidEventError('invalid_envelope', 'event envelope is invalid', issuesOf(envelope.error));
  }
  return envelope.data;
}

/**
 * Checks the envelope, then the family and type, then `data` against the type's schema.
 * Returns the event with `data` as parsed (unknown data fields kept). Throws
 * `InvalidEventError` with a `reason` and the zod issues in `details`.
 */
export function validateEvent(candidate: unknown): EventEnvelope {
  return validateCandidate(candidate, false);
}

/**
 * `validateEvent` for the wire decoder (`decodeEvent`), which has checked the candidate's
 * `traceparent` on its bytes already (`isTraceparentBytes`) and says so: the fast envelope
 * check then skips the pattern. Anyone else calls `validateEvent`.
 */
export function validateCandidate(candidate: unknown, traceparentChecked: boolean): EventEnvelope {
  const event = parseEnvelopeFast(candidate, traceparentChecked) ?? parseEnvelope(candidate);
  if (!isKnownEventType(event.type)) {
    const family = familyOf(event.type);
    if (!(EVENT_FAMILIES as readonly string[]).includes(family)) {
      throw new InvalidEventError(
        'unknown_family',
        `unknown event family "${family}" (known: ${EVENT_FAMILIES.join(', ')})`,
      );
    }
    throw new InvalidEventError('unknown_type', `unknown event type "${event.type}"`);
  }
  // Accepted by the fast check: zod would return the same data, so it is kept as given.
  if (dataPassesFastCheck(event.type, event.data)) return event;
  const data = EVENT_SCHEMAS[event.type].safeParse(event.data);
  if (!data.success) {
    throw new InvalidEventError('invalid_data', `data is invalid for ${event.type}`, issuesOf(data.error, ['data']));
  }
  // `event` is a fresh object (ours or zod's): setting data in place spares a copy.
  event.data = data.data as Record<string, unknown>;
  return event;
}
