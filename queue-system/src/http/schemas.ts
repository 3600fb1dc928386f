import { z } from 'zod';
import { RESERVED_EVENT_FIELDS, isReservedDataKey, reservedJobIdReason } from '@event-infra/shared';

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

/**
 * Job data: an object whose `__…` keys (`__dlq` and the like) are the stack's, never a
 * client's. Checked on the raw input, before the record parse (which drops `__proto__`).
 */
const jobData = z
  .unknown()
  .superRefine((data, ctx) => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return;
    for (const key of Object.keys(data)) {
      if (isReservedDataKey(key)) ctx.addIssue({ code: 'custom', path: [key], message: `data.${key.slice(0, 64)} is reserved for the stack` });
    }
  })
  .pipe(z.record(z.string(), z.unknown()));

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

/** `POST /events`: one event without `id`/`time` (the server assigns them). */
export const eventBodySchema = z.looseObject({
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  id: z.undefined({ error: 'id is assigned by the server' }).optional(),
  time: z.undefined({ error: 'time is assigned by the server' }).optional(),
  ...Object.fromEntries(RESERVED_EVENT_FIELDS.map((field) => [field, z.undefined({ error: `${field} is reserved for the DLQ processor` }).optional()])),
});

/** Zod issues as `details`: path and message only (values are never echoed). */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
