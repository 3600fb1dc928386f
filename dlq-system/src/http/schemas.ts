import { z } from 'zod';
import { ENTRY_KINDS, ENTRY_STATUSES, FAILURE_CLASSES } from '../core/stored-entry';

const filterShape = {
  /** Queue name (jobs) or stream name (events). */
  origin: z.string().min(1).max(256).optional(),
  kind: z.enum(ENTRY_KINDS).optional(),
  classification: z.enum(FAILURE_CLASSES).optional(),
  /** Created at or after (ISO 8601). */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Created at or before (ISO 8601). */
  to: z.iso.datetime({ offset: true }).optional(),
};

/** `GET /dlq` query: filters plus `page` (1-based) and `limit` (1–500, default 50). */
export const listQuerySchema = z
  .object({
    ...filterShape,
    status: z.enum(ENTRY_STATUSES).optional(),
    page: z.coerce.number().int().min(1).default(1),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

/** `POST /dlq/retry` body: which parked entries to send back, at most `limit` (default 100, max 1000). */
export const bulkRetrySchema = z
  .object({ ...filterShape, limit: z.number().int().min(1).max(1000).default(100) })
  .strict();

/** `GET /dlq/alerts` query. */
export const alertsQuerySchema = z
  .object({
    page: z.coerce.number().int().min(1).default(1),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

export const entryIdSchema = z.string().min(1).max(512);

/** Turns `from`/`to` into the store's millisecond bounds. */
export function timeBounds(input: { from?: string | undefined; to?: string | undefined }): { fromMs?: number; toMs?: number } {
  return {
    ...(input.from !== undefined ? { fromMs: Date.parse(input.from) } : {}),
    ...(input.to !== undefined ? { toMs: Date.parse(input.to) } : {}),
  };
}
