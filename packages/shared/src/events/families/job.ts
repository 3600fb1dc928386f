import { z } from 'zod';
import { data, id } from './common';

const job = { queue: z.string().min(1), jobId: id, name: z.string().min(1) };

/** Job lifecycle, published by the queue processor when PUBLISH_EVENTS is on. */
export const jobEvents = {
  'job.created': data(job),
  'job.started': data({ ...job, attempt: z.number().int().positive() }),
  'job.progress': data({ ...job, progress: z.number().min(0).max(100), message: z.string().max(1024).optional() }),
  'job.completed': data({ ...job, durationMs: z.number().nonnegative(), attempts: z.number().int().nonnegative() }),
  'job.failed': data({
    ...job,
    error: z.string().max(8192),
    attempt: z.number().int().nonnegative(),
    willRetry: z.boolean(),
  }),
  'job.dead-lettered': data({ ...job, error: z.string().max(8192), attempts: z.number().int().nonnegative() }),
  'job.retried': data({ ...job, dlqEntryId: id.optional() }),
  'job.cancelled': data(job),
} as const;
