import { z } from 'zod';
import { DLQ_META_KEY, JOB_TRACE_KEY } from '../names';
import { describeFailure, type DeadLetterEntry } from './dead-letter-entry';
import { isReservedDataKey } from './reserved';
import { RETRY_TOKEN_PATTERN } from './retry-ref';
import { jobCauseId, type JobTrace } from '../trace/job-trace';

/**
 * The job side of the job→DLQ contract: what the stack keeps in a job's reserved
 * `data.__dlq` (retry metadata set by the DLQ processor, the first failure time set by the
 * runner), the options kept for a retry, and the DLQ entry of a job that failed for good.
 * The queue processor's runner and stalled-job path, the DLQ's origin sender and the tests
 * all use these functions.
 */
export const jobDlqMetaSchema = z.object({
  /** DLQ entry this job is a retry of (set by the DLQ processor). */
  entryId: z.string().min(1).max(1024).optional(),
  /** Times the failure was sent back from the DLQ (1 on the first retry). */
  retries: z.number().int().nonnegative().max(1_000_000).optional(),
  /** The entry's retry token: the DLQ trusts `entryId`/`retries` only when it matches. */
  token: z.string().regex(RETRY_TOKEN_PATTERN).optional(),
  /** When the first attempt of this job failed (set by the runner). */
  firstFailedAt: z.iso.datetime({ offset: true }).optional(),
});
export type JobDlqMeta = z.output<typeof jobDlqMetaSchema>;

/** Retry metadata the DLQ processor puts into a job it sends back. */
export interface JobRetryMeta {
  entryId: string;
  retries: number;
  token: string;
}

/**
 * Splits a job's `data` into what the handler sees (every reserved `__…` key removed) and
 * the stack's metadata from `data.__dlq` (empty when absent or malformed).
 */
export function splitReservedMeta(raw: unknown): { data: Record<string, unknown>; meta: JobDlqMeta } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { data: {}, meta: {} };
  const record = raw as Record<string, unknown>;
  let reserved = false;
  for (const key in record) {
    if (isReservedDataKey(key)) {
      reserved = true;
      break;
    }
  }
  if (!reserved) return { data: record, meta: {} };
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!isReservedDataKey(key)) data[key] = value;
  const parsed = jobDlqMetaSchema.safeParse(record[DLQ_META_KEY]);
  return { data, meta: parsed.success ? parsed.data : {} };
}

/** The data to store on a job after its first failed attempt: `__dlq.firstFailedAt` set once. */
export function dataWithFirstFailure(data: Record<string, unknown>, meta: JobDlqMeta, at: Date): Record<string, unknown> {
  return { ...data, [DLQ_META_KEY]: { ...meta, firstFailedAt: at.toISOString() } };
}

/** The data of a retry job: the original data with the DLQ's retry metadata. */
export function retryJobData(data: Record<string, unknown>, meta: JobRetryMeta, trace?: Partial<Omit<JobTrace, 'causationId'>>): Record<string, unknown> {
  const retry = { ...data, [DLQ_META_KEY]: { entryId: meta.entryId, retries: meta.retries, token: meta.token } };
  if (trace?.correlationId === undefined) return retry;
  // The retry's cause is the DLQ entry; its correlation (and trace) stay the failed job's.
  const { correlationId, traceparent, tracestate } = trace;
  const jobTrace: JobTrace = {
    correlationId,
    causationId: meta.entryId,
    ...(traceparent !== undefined ? { traceparent } : {}),
    ...(traceparent !== undefined && tracestate !== undefined ? { tracestate } : {}),
  };
  return { ...retry, [JOB_TRACE_KEY]: jobTrace };
}

/** Job options kept in the DLQ entry, so a retry from the DLQ submits the same. */
export const KEPT_JOB_OPTIONS = ['priority', 'timeoutMs', 'attempts', 'backoff'] as const;

/** The kept options of `opts` (absent ones left out). */
export function keptJobOptions(opts: Record<string, unknown> | undefined): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  if (opts === undefined) return kept;
  for (const key of KEPT_JOB_OPTIONS) if (opts[key] !== undefined) kept[key] = opts[key];
  return kept;
}

export interface JobFailureInput {
  queue: string;
  jobId: string;
  name: string;
  /** The data the handler saw (reserved keys removed). */
  data: Record<string, unknown>;
  /** The job's BullMQ options (the kept ones go into the entry). */
  opts: Record<string, unknown>;
  meta: JobDlqMeta;
  error: Error;
  attempts: number;
  lastFailedAt: Date;
  /** The job's trace (`data.__trace`), when it has one. */
  trace?: JobTrace | undefined;
}

/** The DLQ entry of a job that used its attempts or failed permanently. */
export function buildJobDeadLetterEntry(input: JobFailureInput): DeadLetterEntry {
  const { meta } = input;
  const claimed = meta.entryId !== undefined && meta.token !== undefined;
  return {
    kind: 'job',
    origin: { kind: 'job', queue: input.queue, jobId: input.jobId, opts: keptJobOptions(input.opts) },
    name: input.name.length > 0 ? input.name : '(unnamed)',
    data: input.data,
    error: describeFailure(input.error),
    attempts: input.attempts,
    firstFailedAt: meta.firstFailedAt ?? input.lastFailedAt.toISOString(),
    lastFailedAt: input.lastFailedAt.toISOString(),
    dlqRetries: claimed ? (meta.retries ?? 0) : 0,
    ...(claimed ? { dlqEntryId: meta.entryId, dlqToken: meta.token } : {}),
    ...(input.trace ? { correlationId: input.trace.correlationId, causationId: jobCauseId(input.queue, input.jobId) } : {}),
    ...(input.trace?.traceparent !== undefined ? { traceparent: input.trace.traceparent } : {}),
    ...(input.trace?.traceparent !== undefined && input.trace.tracestate !== undefined ? { tracestate: input.trace.tracestate } : {}),
  };
}
