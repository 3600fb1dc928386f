import { z } from 'zod';
import { RESERVED_EVENT_FIELDS, jobDataSchema, reservedJobIdReason } from '@event-infra/shared';

/** BullMQ job ids: no `:` (key separator) and not a bare integer (reserved for generated ids). */
const jobId = z
  .string()
  .min(1)
  .max(256)
  .refine((value) => !value.includes(':'), 'must not contain ":"')
  .refine((value) => !/^\d+$/.test(value), 'must not be a bare integer')
  .superRefine((value, ctx) => {
    // Retry and trigger ids are the stack's: a client job under one would pre-empt them.
    const reason = reservedJobIdReason(value);
    if (reason !== undefined) ctx.addIssue({ code: 'custom', message: `jobId is reserved: ${reason}` });
  });

/** Job data: `jobDataSchema` of the shared package (no reserved `__…` keys). */
const jobData = jobDataSchema;

export const jobOptsSchema = z.strictObject({
  jobId: jobId.optional(),
  /** 1 (highest) … 2097151; 0 or absent: no priority. */
  priority: z.number().int().min(0).max(2_097_151).optional(),
  /** ms before the job may start. */
  delay: z.number().int().nonnegative().max(365 * 86_400_000).optional(),
  attempts: z.number().int().positive().max(1000).optional(),
  /** A number is a fixed delay in ms. */
  backoff: z
    .union([
      z.number().int().nonnegative(),
      z.strictObject({ type: z.enum(['fixed', 'exponential']), delay: z.number().int().nonnegative() }),
    ])
    .optional(),
  /** ms; capped by MAX_JOB_DURATION. */
  timeoutMs: z.number().int().positive().optional(),
});

export const jobSubmissionSchema = z.strictObject({
  name: z.string().min(1).max(256),
  data: jobData.default({}),
  opts: jobOptsSchema.optional(),
});

/** At most this many jobs in one bulk request. */
export const MAX_BULK_JOBS = 1000;

export const bulkSubmissionSchema = z.strictObject({
  jobs: z.array(jobSubmissionSchema).min(1).max(MAX_BULK_JOBS),
});

/** Event types only the stack publishes (job lifecycle events): a client cannot forge them. */
const RESERVED_EVENT_TYPE = /^job\./i;

/** `POST /events`: one event without `id`/`time`/`source` (the server assigns them), not of the `job.*` family. */
export const eventBodySchema = z.looseObject({
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  id: z.undefined({ error: 'id is assigned by the server' }).optional(),
  time: z.undefined({ error: 'time is assigned by the server' }).optional(),
  ...Object.fromEntries(RESERVED_EVENT_FIELDS.map((field) => [field, z.undefined({ error: `${field} is reserved for the DLQ processor` }).optional()])),
  source: z.undefined({ error: 'source is assigned by the server (EVENTS_API_SOURCE)' }).optional(),
  traceparent: z.undefined({ error: 'trace context is taken from the traceparent header' }).optional(),
  tracestate: z.undefined({ error: 'trace context is taken from the tracestate header' }).optional(),
}).refine((event) => !RESERVED_EVENT_TYPE.test(event.type), {
  path: ['type'],
  message: 'job.* events are published by the stack only',
});

/** Zod issues as `details`: path and message only (values are never echoed). */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Client-chosen bounds of a job (queue processor `JOB_MAX_*` variables, `MAX_JOB_DURATION`). */
export interface JobLimits {
  /** `JOB_MAX_ATTEMPTS`: largest `opts.attempts`. */
  maxAttempts: number;
  /**
   * `JOB_MAX_BACKOFF_DELAY_MS`: the longest single wait between two attempts, ms. A fixed
   * backoff is its delay; an exponential one waits `delay × 2^(attempts − 2)` before the last
   * attempt (BullMQ's formula), so the base and the attempts are bounded together.
   */
  maxBackoffDelayMs: number;
  /** `RETRY_ATTEMPTS`: attempts of a job that sets none. */
  defaultAttempts: number;
  /** `RETRY_DELAY`: base of the default exponential backoff, ms. */
  defaultBackoffDelayMs: number;
  /** `JOB_MAX_DELAY_MS`: largest `opts.delay`, ms. */
  maxDelayMs: number;
  /** `MAX_JOB_DURATION` in ms: largest `opts.timeoutMs`. */
  maxTimeoutMs: number;
  /** `JOB_MAX_BULK`: most jobs in one bulk request. */
  maxBulkJobs: number;
}

type JobOpts = z.output<typeof jobOptsSchema>;

/** Issues for every option of `opts` over its bound; each names the option, the bound and its variable. */
export function jobLimitIssues(opts: JobOpts | undefined, limits: JobLimits): { path: string[]; message: string }[] {
  if (opts === undefined) return [];
  const issues: { path: string[]; message: string }[] = [];
  const over = (path: string[], value: number | undefined, bound: number, variable: string): void => {
    if (value !== undefined && value > bound) issues.push({ path, message: `${path.join('.')} must be at most ${bound} (${variable})` });
  };
  over(['opts', 'attempts'], opts.attempts, limits.maxAttempts, 'JOB_MAX_ATTEMPTS');
  over(['opts', 'delay'], opts.delay, limits.maxDelayMs, 'JOB_MAX_DELAY_MS');
  over(['opts', 'timeoutMs'], opts.timeoutMs, limits.maxTimeoutMs, 'MAX_JOB_DURATION');
  if (typeof opts.backoff === 'number') over(['opts', 'backoff'], opts.backoff, limits.maxBackoffDelayMs, 'JOB_MAX_BACKOFF_DELAY_MS');
  else if (opts.backoff !== undefined) over(['opts', 'backoff', 'delay'], opts.backoff.delay, limits.maxBackoffDelayMs, 'JOB_MAX_BACKOFF_DELAY_MS');
  if (issues.length > 0) return issues;
  // Exponential (given, or the default one): the wait before the last attempt is the longest.
  const exponentialBase =
    opts.backoff === undefined ? limits.defaultBackoffDelayMs : typeof opts.backoff === 'object' && opts.backoff.type === 'exponential' ? opts.backoff.delay : undefined;
  const attempts = opts.attempts ?? limits.defaultAttempts;
  if (exponentialBase !== undefined && (opts.attempts !== undefined || opts.backoff !== undefined) && attempts >= 2) {
    const longestWaitMs = exponentialBase * 2 ** (attempts - 2);
    if (longestWaitMs > limits.maxBackoffDelayMs) {
      issues.push({
        path: opts.backoff === undefined ? ['opts', 'attempts'] : ['opts', 'backoff', 'delay'],
        message: `exponential backoff waits ${exponentialBase} ms × 2^${attempts - 2} before the last attempt; the longest wait must be at most ${limits.maxBackoffDelayMs} (JOB_MAX_BACKOFF_DELAY_MS)`,
      });
    }
  }
  return issues;
}

/**
 * The job body schemas with the configured bounds: the one job schema behind `POST /jobs`,
 * `POST /jobs/:queue/bulk` and Bull Board's write routes. A bulk also refuses a `jobId`
 * given twice (the issue names the ids).
 */
export function jobBodySchemas(limits: JobLimits) {
  const submission = jobSubmissionSchema.superRefine((job, context) => {
    for (const issue of jobLimitIssues(job.opts, limits)) context.addIssue({ code: 'custom', ...issue });
  });
  const bulk = z
    .strictObject({
      jobs: z
        .array(submission)
        .min(1)
        .max(limits.maxBulkJobs, `at most ${limits.maxBulkJobs} jobs in one bulk (JOB_MAX_BULK)`),
    })
    .superRefine((body, context) => {
      const seen = new Set<string>();
      const repeated = new Set<string>();
      for (const job of body.jobs) {
        const id = job.opts?.jobId;
        if (id === undefined) continue;
        if (seen.has(id)) repeated.add(id);
        seen.add(id);
      }
      if (repeated.size > 0) {
        const names = [...repeated].slice(0, 20).map((id) => JSON.stringify(id)).join(', ');
        context.addIssue({ code: 'custom', path: ['jobs'], message: `jobId given more than once in one bulk: ${names}` });
      }
    });
  return { submission, bulk };
}

export type JobBodySchemas = ReturnType<typeof jobBodySchemas>;
