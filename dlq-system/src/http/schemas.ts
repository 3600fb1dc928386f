import { z } from 'zod';
import { FINGERPRINT_PATTERN } from '../core/fingerprint';
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

const fingerprint = z.string().regex(FINGERPRINT_PATTERN, 'must be 16 lowercase hex digits');
/** Text searched in name, error message and subject (case-insensitive substring). */
const searchText = z.string().min(1).max(200);

/**
 * `GET /dlq` query: filters, `fingerprint`, `q`, and either `cursor` paging or the legacy
 * `page` (1-based; not with `cursor`, `q` or `fingerprint`); `limit` 1–500, default 50.
 */
export const listQuerySchema = z
  .object({
    ...filterShape,
    status: z.enum(ENTRY_STATUSES).optional(),
    fingerprint: fingerprint.optional(),
    q: searchText.optional(),
    cursor: z.string().min(1).max(2048).optional(),
    page: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict()
  .refine((query) => query.page === undefined || (query.cursor === undefined && query.q === undefined && query.fingerprint === undefined), {
    path: ['page'],
    message: 'page paging does not combine with cursor, q or fingerprint (use cursor)',
  });

/** `GET /dlq/fingerprints` query. */
export const fingerprintsQuerySchema = z
  .object({
    status: z.enum(ENTRY_STATUSES).optional(),
    origin: z.string().min(1).max(256).optional(),
    kind: z.enum(ENTRY_KINDS).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/** `POST /dlq/:id/retry` body: nothing, or the edited payload. */
export const retryBodySchema = z.object({ data: z.unknown().optional() }).strict();

/** `POST /dlq/redrive` body. */
export const redriveSchema = (maxRate: number) =>
  z
    .object({
      filter: z.object({ ...filterShape, q: searchText.optional() }).strict().optional(),
      fingerprint: fingerprint.optional(),
      /** Entries per second. */
      rate: z.number().int().min(1).max(maxRate).default(Math.min(100, maxRate)),
      dryRun: z.boolean().default(false),
      name: z.string().min(1).max(100).optional(),
    })
    .strict()
    .refine((body) => (body.filter === undefined) !== (body.fingerprint === undefined), { path: ['filter'], message: 'give exactly one of filter and fingerprint' });

/** `GET /dlq/tasks` query. */
export const tasksQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(64).optional(),
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

/** A stream entry id (`<ms>-<seq>`). */
const streamId = z.string().regex(/^\d{1,20}-\d{1,20}$/, 'must be a stream entry id (<ms>-<seq>)');

/** `GET /streams/groups/:group/pending` query. */
export const pendingQuerySchema = z
  .object({
    stream: z.string().min(1).max(256).optional(),
    consumer: z.string().min(1).max(256).optional(),
    minIdleMs: z.coerce.number().int().min(0).max(365 * 86_400_000).optional(),
    cursor: streamId.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

/** `POST /streams/groups/:group/pending/:entryId/dead-letter` query. */
export const deadLetterQuerySchema = z.object({ stream: z.string().min(1).max(256).optional() }).strict();

export const groupNameSchema = z.string().min(1).max(256);
export const streamEntryIdSchema = streamId;
