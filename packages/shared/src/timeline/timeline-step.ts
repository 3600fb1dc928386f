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
  /** When it happened, when that was before the call (default: now). */
  at?: string | undefined;
}

export interface TimelineStep extends Omit<TimelineStepInput, 'at'> {
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

const storedStepSchema = z.object({
  kind: z.enum(TIMELINE_STEP_KINDS),
  subject: z.string(),
  cause: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
  at: z.string(),
  service: z.string(),
});

/** Parses one stored `<seq>|<json>` value; undefined when it is not one of ours. */
export function parseStoredStep(value: string): TimelineStep | undefined {
  const bar = value.indexOf('|');
  const seq = Number(value.slice(0, bar));
  if (bar <= 0 || !Number.isInteger(seq)) return undefined;
  try {
    const parsed = storedStepSchema.safeParse(JSON.parse(value.slice(bar + 1)));
    return parsed.success ? { ...parsed.data, seq } : undefined;
  } catch {
    // Not JSON: not written by a recorder; skipped rather than failing the whole answer.
    return undefined;
  }
}
