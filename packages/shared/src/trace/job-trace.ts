import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { JOB_TRACE_KEY } from '../names';
import type { EventEnvelope } from '../events/envelope';
import { MAX_TRACESTATE_CHARS, TRACEPARENT_PATTERN, TRACESTATE_PATTERN } from './trace-context';

/**
 * Causality of a job, kept in its reserved `data.__trace` (README "Correlation and causation"):
 * the correlation it belongs to and what caused it (an event id, a DLQ entry id). Only the
 * stack writes it; the client surfaces refuse every `__…` key, and where it is read back a
 * malformed value is ignored (the job then has no trace), never trusted blindly.
 */
export const CORRELATION_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

export const correlationIdSchema = z
  .string()
  .regex(CORRELATION_ID_PATTERN, 'must be 1-256 printable ASCII characters without spaces');

export const jobTraceSchema = z.object({
  correlationId: correlationIdSchema,
  causationId: z.string().min(1).max(1024).optional(),
  /** W3C trace context of what created the job (README "Trace context"). */
  traceparent: z.string().regex(TRACEPARENT_PATTERN).optional(),
  tracestate: z.string().max(MAX_TRACESTATE_CHARS).regex(TRACESTATE_PATTERN).optional(),
});
export type JobTrace = z.output<typeof jobTraceSchema>;

/** The trace of a job's raw `data`, or undefined when it has none (or a malformed one). */
export function jobTraceOf(raw: unknown): JobTrace | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const value = (raw as Record<string, unknown>)[JOB_TRACE_KEY];
  if (value === undefined) return undefined;
  const parsed = jobTraceSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** `data` with its trace set (a copy; `trace` undefined: `data` unchanged). */
export function withJobTrace(data: Record<string, unknown>, trace: JobTrace | undefined): Record<string, unknown> {
  if (trace === undefined) return data;
  return { ...data, [JOB_TRACE_KEY]: trace };
}

/** A fresh correlation id (for a request that brought none). */
export function newCorrelationId(): string {
  return randomUUID();
}

/**
 * The trace of a job an event causes: the event is the cause; the correlation is the event's,
 * or the event's own id when it had none; the trace context is `traceparent` (the span that
 * handled the event, when tracing is on) or the event's.
 */
export function traceFromEvent(event: Pick<EventEnvelope, 'id' | 'correlationid' | 'traceparent' | 'tracestate'>, traceparent = event.traceparent): JobTrace {
  return {
    correlationId: event.correlationid ?? event.id,
    causationId: event.id,
    ...(traceparent !== undefined ? { traceparent } : {}),
    ...(traceparent !== undefined && event.tracestate !== undefined ? { tracestate: event.tracestate } : {}),
  };
}

/** The correlation of an event: its `correlationid`, or its own id when it has none. */
export function eventCorrelation(event: Pick<EventEnvelope, 'id' | 'correlationid'>): string {
  return event.correlationid ?? event.id;
}

/** How a job names itself as a cause: `job:<queue>:<jobId>`. */
export function jobCauseId(queue: string, jobId: string): string {
  return `job:${queue}:${jobId}`;
}
