import { z } from 'zod';
import { isReservedDataKey } from './reserved';

/**
 * A job's `data` as a client may give it: an object whose `__…` keys (`__dlq` and the like)
 * are the stack's, never a client's. Checked on the raw input, before the record parse
 * (which drops `__proto__`). Used by `POST /jobs`, Bull Board's writes and the DLQ's
 * edit-then-retry.
 */
export const jobDataSchema = z
  .unknown()
  .superRefine((data, ctx) => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return;
    for (const key of Object.keys(data)) {
      if (isReservedDataKey(key)) ctx.addIssue({ code: 'custom', path: [key], message: `data.${key.slice(0, 64)} is reserved for the stack` });
    }
  })
  .pipe(z.record(z.string(), z.unknown()));
