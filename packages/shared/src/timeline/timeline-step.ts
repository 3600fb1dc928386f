import { z } from 'zod';

/** What happened, one name per kind of step (README "Timeline"). */
export const TIMELINE_STEP_KINDS = [
  'event.published',
  'event.delivered',
  'event.handled',
  'event.handler-failed',
  'event.dead-lettered',
  'job.created',
  'job.started',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.dead-lettered',
  'dlq.received',
  'dlq.transition',
  'dlq.retry-sent',
  'dlq.recovered',
] as const;
export type TimelineStepKind = (typeof TIMELINE_STEP_KINDS)[number];

/** One step as a service records it. `at` is set by the recorder. */
export interface TimelineStepInput {
  kind: TimelineStepKind;
  /** What the step is about: an event id, `job:<queue>:<jobId>`, a DLQ entry id. */
  subject: string;
  /** What caused the subject (an event id, a job, a DLQ entry), when known. */
  cause?: string | undefined;
  /** Small facts of the step (consumer, delivery count, attempt, error, progress, state). */
  detail?: Record<string, unknown> | undefined;
  /** When it happened (epoch ms), when that was before the call (default: now). */
  atMs?: number | undefined;
}

export interface TimelineStep extends Omit<TimelineStepInput, 'atMs'> {
  /** ISO 8601 time the recording service saw the step. */
  at: string;
  /** Service that recorded it. */
  service: string;
  /** Order of arrival on the master (1 = first). */
  seq: number;
}

/** A correlation's timeline as `GET /timeline` answers it. */
export interface Timeline {
  correlationId: string;
  /** Steps recorded in total. */
  totalSteps: number;
  /** Steps dropped between the kept first and last ones (the bound). */
  omittedSteps: number;
  steps: TimelineStep[];
}

/**
 * A stored step is a JSON array, `[kind, subject, cause | 0, at (epoch ms), service, detail?]`:
 * a third of the bytes of an object and cheaper to build (README "Timeline").
 */
const storedStepSchema = z.union([
  z.tuple([z.enum(TIMELINE_STEP_KINDS), z.string(), z.union([z.string(), z.literal(0)]), z.number(), z.string()]),
  z.tuple([z.enum(TIMELINE_STEP_KINDS), z.string(), z.union([z.string(), z.literal(0)]), z.number(), z.string(), z.record(z.string(), z.unknown())]),
]);

/** A string JSON.stringify would write as it is between quotes: no quote, backslash, control character or surrogate. */
const PLAIN_JSON_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** `JSON.stringify(text)`, without its work for the common id-like string that needs no escape. */
function jsonString(text: string): string {
  return PLAIN_JSON_STRING.test(text) ? `"${text}"` : JSON.stringify(text);
}

/**
 * The stored form of a step (see `parseStoredStep`), built as ONE string: the kind is one of
 * `TIMELINE_STEP_KINDS` (no character to escape), `serviceJson` the service name already as a
 * JSON string (`JSON.stringify(service)`: the recorder's, made once), the subject and cause
 * quoted as JSON.stringify would quote them, the detail through JSON.stringify; no
 * intermediate array or string. JSON never holds a raw newline, the bucket's step separator.
 */
export function encodeStep(step: TimelineStepInput, serviceJson: string, atMs: number, detail: Record<string, unknown> | undefined): string {
  const cause = step.cause === undefined ? '0' : jsonString(step.cause);
  return detail === undefined
    ? `["${step.kind}",${jsonString(step.subject)},${cause},${atMs},${serviceJson}]`
    : `["${step.kind}",${jsonString(step.subject)},${cause},${atMs},${serviceJson},${JSON.stringify(detail)}]`;
}

/** Parses one stored step (`seq` is its position in the correlation); undefined when it is not one of ours. */
export function parseStoredStep(value: string, seq: number): TimelineStep | undefined {
  try {
    const parsed = storedStepSchema.safeParse(JSON.parse(value));
    if (!parsed.success) return undefined;
    const [kind, subject, cause, atMs, service, detail] = parsed.data;
    return {
      kind,
      subject,
      ...(cause !== 0 ? { cause } : {}),
      ...(detail !== undefined ? { detail } : {}),
      at: new Date(atMs).toISOString(),
      service,
      seq,
    };
  } catch {
    // Not JSON: not written by a recorder; skipped rather than failing the whole answer.
    return undefined;
  }
}

/** The first `headSize` and the last `tailSize` steps of a correlation are kept (`TIMELINE_MAX_STEPS`). */
export function timelineBounds(maxSteps: number): { headSize: number; tailSize: number } {
  const headSize = Math.ceil(maxSteps / 2);
  return { headSize, tailSize: Math.max(1, maxSteps - headSize) };
}
