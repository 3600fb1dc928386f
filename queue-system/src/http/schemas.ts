import { z } from 'zod';

/** BullMQ job ids: no `:` (key separator) and not a bare integer (reserved for generated ids). */
const jobId = z
  .string()
  .min(1)
  .max(256)
  .refine((value) => !value.includes(':'), 'must not contain ":"')
  .refine((value) => !/^\d+$/.test(value), 'must not be a bare integer');

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
  data: z.record(z.string(), z.unknown()).default({}),
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
});

/** Zod issues as `details`: path and message only (values are never echoed). */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
