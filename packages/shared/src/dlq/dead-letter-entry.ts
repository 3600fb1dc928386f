import { z } from 'zod';
import { MAX_TRACESTATE_CHARS, TRACEPARENT_PATTERN, TRACESTATE_PATTERN } from '../trace/trace-context';
import { redactText } from '../errors/redact';

/**
 * One entry shape for everything that lands in the DLQ: a job that used its attempts (or
 * failed permanently) and an event the event processor could not handle. It travels as the
 * `data` of a job in the `DLQ_QUEUE_NAME` BullMQ queue; the DLQ processor consumes it.
 */
export const failureSchema = z.object({
  message: z.string(),
  name: z.string().optional(),
  stack: z.string().optional(),
  /** e.g. `ECONNREFUSED`, `ETIMEDOUT`, `invalid_data`. */
  code: z.string().optional(),
  /** HTTP status when the failure came from an HTTP call. */
  status: z.number().int().optional(),
  /** The handler marked the failure permanent. */
  permanent: z.boolean().optional(),
});
export type Failure = z.output<typeof failureSchema>;

export const jobOriginSchema = z.object({
  kind: z.literal('job'),
  queue: z.string().min(1),
  jobId: z.string().min(1),
  /** Job options worth keeping on a retry (priority, timeoutMs, attempts, backoff). */
  opts: z.record(z.string(), z.unknown()).optional(),
});

export const eventOriginSchema = z.object({
  kind: z.literal('event'),
  stream: z.string().min(1),
  group: z.string().min(1),
  /** Stream entry id of the failed delivery. */
  entryId: z.string().min(1),
  /** Envelope id when the entry was a valid event. */
  eventId: z.string().optional(),
  /**
   * Raw stream fields of an entry that is not a valid event, as on the wire (`[f1, v1, f2, v2,
   * …]`: order and repeated fields kept), so an invalid entry is never lost. A valid event is
   * stored once, as `data`, without its fields.
   */
  fields: z.array(z.string()).optional(),
  /** Indexes into `fields` of names/values stored in base64 (their bytes were not UTF-8). */
  base64Fields: z.array(z.number().int().nonnegative()).optional(),
  /** Set when `fields` were cut to the stored bound: the entry's size on the stream, bytes. */
  truncatedFromBytes: z.number().int().nonnegative().optional(),
});

export const deadLetterEntrySchema = z.object({
  kind: z.enum(['job', 'event']),
  origin: z.discriminatedUnion('kind', [jobOriginSchema, eventOriginSchema]),
  /** Job name or event type (`(invalid)` for an entry that is not an event). */
  name: z.string().min(1),
  /** Job data, or the event envelope. */
  data: z.unknown(),
  error: failureSchema,
  /** Attempts (jobs) or deliveries (events) before it landed here. */
  attempts: z.number().int().nonnegative(),
  firstFailedAt: z.iso.datetime({ offset: true }),
  lastFailedAt: z.iso.datetime({ offset: true }),
  /** How many times the DLQ processor has already sent this failure back to its origin. */
  dlqRetries: z.number().int().nonnegative().default(0),
  /** The DLQ entry this failure claims to be a retry of (trusted only with a matching `dlqToken`). */
  dlqEntryId: z.string().optional(),
  /** The retry token the DLQ processor gave that retry. */
  dlqToken: z.string().optional(),
  /** Correlation of what failed (README "Correlation and causation"); set by the stack. */
  correlationId: z.string().min(1).max(256).optional(),
  /** What failed: `job:<queue>:<jobId>` or the event id. */
  causationId: z.string().min(1).max(1024).optional(),
  /** W3C trace context of the failure (the last attempt's span, or the event's); set by the stack. */
  traceparent: z.string().regex(TRACEPARENT_PATTERN).optional(),
  tracestate: z.string().max(MAX_TRACESTATE_CHARS).regex(TRACESTATE_PATTERN).optional(),
});
export type DeadLetterEntry = z.input<typeof deadLetterEntrySchema>;
export type ParsedDeadLetterEntry = z.output<typeof deadLetterEntrySchema>;

/** Longest error message kept in an entry, characters. */
export const MAX_FAILURE_MESSAGE_CHARS = 8_192;
/** Longest stack kept in an entry, characters. */
export const MAX_FAILURE_STACK_CHARS = 16_384;

/** Serialises a caught error into the entry's `error` field (message and stack bounded). */
export function describeFailure(err: Error & { code?: unknown; status?: unknown; permanent?: unknown }): Failure {
  // URL credentials never reach a DLQ entry, whoever reports the failure (configured
  // secrets are removed earlier, by the reporting service that knows them).
  const message = redactText(String(err.message ?? ''));
  const failure: Failure = { message: message.slice(0, MAX_FAILURE_MESSAGE_CHARS), name: String(err.name ?? 'Error').slice(0, 256) };
  if (typeof err.stack === 'string') failure.stack = redactText(err.stack).slice(0, MAX_FAILURE_STACK_CHARS);
  if (typeof err.code === 'string') failure.code = err.code.slice(0, 256);
  if (typeof err.status === 'number') failure.status = err.status;
  if (err.permanent === true) failure.permanent = true;
  return failure;
}

/**
 * Deterministic BullMQ job id for a DLQ entry, so that a failure reported twice (a crash
 * between "add to DLQ" and "acknowledge") lands once. BullMQ ids may not contain `:`.
 */
export function deadLetterJobId(entry: Pick<DeadLetterEntry, 'origin' | 'dlqRetries'>): string {
  const origin = entry.origin;
  const raw =
    origin.kind === 'job'
      ? `job-${origin.queue}-${origin.jobId}-${entry.dlqRetries ?? 0}`
      : `event-${origin.stream}-${origin.group}-${origin.entryId}`;
  return raw.replaceAll(':', '_');
}
