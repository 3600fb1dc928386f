import { z } from 'zod';
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
  /** Raw stream fields, kept so an invalid entry is never lost. */
  fields: z.record(z.string(), z.string()).optional(),
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
  /** The DLQ entry this failure came from when it was a retry from the DLQ. */
  dlqEntryId: z.string().optional(),
});
export type DeadLetterEntry = z.input<typeof deadLetterEntrySchema>;
export type ParsedDeadLetterEntry = z.output<typeof deadLetterEntrySchema>;

/** Serialises a caught error into the entry's `error` field. */
export function describeFailure(err: Error & { code?: unknown; status?: unknown; permanent?: unknown }): Failure {
  // URL credentials never reach a DLQ entry, whoever reports the failure (configured
  // secrets are removed earlier, by the reporting service that knows them).
  const failure: Failure = { message: redactText(err.message), name: err.name };
  if (err.stack !== undefined) failure.stack = redactText(err.stack);
  if (typeof err.code === 'string') failure.code = err.code;
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

/** What `data[DLQ_META_KEY]` of a job retried from the DLQ holds. */
export const dlqRetryMetaSchema = z.object({
  /** Id of the DLQ entry this job was retried from. */
  entryId: z.string().min(1),
  /** How many times this failure has been sent back from the DLQ (1 on the first retry). */
  retries: z.number().int().nonnegative(),
});
export type DlqRetryMeta = z.output<typeof dlqRetryMetaSchema>;
