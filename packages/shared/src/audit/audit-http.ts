import { Router, type Request } from 'express';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { ANONYMOUS } from '../access/roles';
import { clientAddress } from '../access/access-control';
import { asyncHandler } from '../http/async-handler';
import type { AuditFilter, AuditLog } from './audit-log';
import type { AuditActor, AuditTarget } from './audit-record';

/** Who made this request, for its audit record. */
export function auditActorOf(req: Request): AuditActor {
  const principal = req.principal ?? ANONYMOUS;
  return { principal: principal.name, role: principal.role, kind: principal.kind, requestId: req.requestId, address: clientAddress(req) };
}

/**
 * For an action on another Redis than the audit log's: stores an `attempted` record first
 * (throws `AuditUnavailableError`, so the action never runs unaudited), and when the answer
 * turns out to be an error, a `failed` record with its status. A failed record that cannot be
 * written is logged (the action did not happen; the attempted record stays).
 */
export async function auditAttempt(req: Request, audit: AuditLog, action: string, detail: AuditTarget): Promise<void> {
  const actor = auditActorOf(req);
  await audit.append(actor, action, detail, 'attempted');
  req.res?.once('finish', () => {
    const status = req.res?.statusCode ?? 0;
    if (status < 400) return;
    audit.append(actor, action, detail, 'failed', { status, error: `HTTP ${status}` }).catch((caught: unknown) => {
      req.log.error({ err: caught, action }, 'audit: failed-outcome record not written');
    });
  });
}

const time = z.union([z.coerce.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((value) => Date.parse(value))]);
const text = z.string().min(1).max(256);

export interface AuditRoutesOptions {
  /** `AUDIT_PAGE_MAX_LIMIT`: largest `limit` of one page. */
  maxPageSize: number;
  /** `AUDIT_SCAN_MAX`: records one page request reads at most (filters are applied while reading). */
  scanMax: number;
  /** `AUDIT_EXPORT_MAX`: records one export answers at most. */
  exportMax: number;
}

function parseQuery(query: unknown, maxPageSize: number): AuditFilter & { limit: number; cursor?: string | undefined } {
  const schema = z.strictObject({
    principal: text.optional(),
    action: text.optional(),
    target: text.optional(),
    from: time.optional(),
    to: time.optional(),
    cursor: z.string().regex(/^\d{1,20}-\d{1,20}$/, 'must be a record id from nextCursor').optional(),
    limit: z.coerce.number().int().min(1).max(maxPageSize).default(Math.min(100, maxPageSize)),
  });
  const result = schema.safeParse(query ?? {});
  if (!result.success) {
    const details = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    throw new ValidationError(`invalid query: ${details.map((detail) => `${detail.path}: ${detail.message}`).join('; ')}`, details);
  }
  const { from, to, ...rest } = result.data;
  return { ...rest, fromMs: from, toMs: to };
}

/** `GET /audit` (newest first, cursor paging) and `GET /audit/export` (JSON lines, oldest first). */
export function auditRoutes(audit: AuditLog, options: AuditRoutesOptions): Router {
  const router = Router();
  router.get(
    '/',
    asyncHandler(async (req, res) => {
      const { limit, cursor, ...filter } = parseQuery(req.query, options.maxPageSize);
      res.json(await audit.query(filter, { limit, cursor, scanMax: options.scanMax }));
    }),
  );
  router.get(
    '/export',
    asyncHandler(async (req, res) => {
      const { limit: _limit, cursor: _cursor, ...filter } = parseQuery(req.query, options.maxPageSize);
      res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
      res.setHeader('Content-Disposition', 'attachment; filename="audit.jsonl"');
      try {
        await audit.export(filter, options.exportMax, async (records) => {
          const ok = res.write(records.map((record) => JSON.stringify(record)).join('\n') + '\n');
          if (!ok) await new Promise((resolve) => res.once('drain', resolve));
        });
      } catch (caught) {
        // Before the first line the error answer can still be sent; after it, the only honest
        // signal is a cut connection (a truncated export must not look complete).
        if (!res.headersSent) throw caught;
        req.log.error({ err: caught }, 'audit export failed mid-stream');
        res.destroy();
        return;
      }
      res.end();
    }),
  );
  return router;
}
