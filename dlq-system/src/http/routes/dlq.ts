import { Router, type Request } from 'express';
import type { z } from 'zod';
import { ANONYMOUS, AppError, NotFoundError, ValidationError, asyncHandler, auditActorOf, jsonBody, roleAllows } from '@event-infra/shared';
import type { Alerter } from '../../core/alerter';
import type { DlqHandler } from '../../core/dlq-handler';
import type { DlqQuery, ListFilter } from '../../core/dlq-query';
import type { DlqStore, EntryFilter } from '../../core/dlq-store';
import { toEntrySummary } from '../entry-summary';
import { alertsQuerySchema, bulkRetrySchema, entryIdSchema, fingerprintsQuerySchema, listQuerySchema, retryBodySchema, timeBounds } from '../schemas';

export interface DlqRoutesDeps {
  store: DlqStore;
  query: DlqQuery;
  handler: DlqHandler;
  alerter: Alerter;
  /** `HTTP_BODY_LIMIT`. */
  bodyLimit: string;
  /** `DLQ_PAGE_MAX_LIMIT`: largest `limit` of a `GET /dlq` page. */
  maxPageSize: number;
}

export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  // Same `details` as the queue processor: path and message of each issue, values never echoed.
  if (!result.success) {
    throw new ValidationError(
      `invalid ${what}`,
      result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    );
  }
  return result.data;
}

const entryId = (req: Request): string => parse(entryIdSchema, req.params.id, 'entry id');

function filterOf(input: { origin?: string | undefined; kind?: EntryFilter['kind']; classification?: EntryFilter['classification'] }): EntryFilter {
  return {
    ...(input.origin !== undefined ? { origin: input.origin } : {}),
    ...(input.kind !== undefined ? { kind: input.kind } : {}),
    ...(input.classification !== undefined ? { classification: input.classification } : {}),
  };
}

/** The manual recovery API, mounted at `/dlq`. */
export function dlqRoutes(deps: DlqRoutesDeps): Router {
  const router = Router();

  // Summaries only (no payload, stack or history): those are for `GET /dlq/:id`.
  router.get(
    '/',
    asyncHandler(async (req, res) => {
      const query = parse(listQuerySchema, req.query, 'query');
      if (query.limit > deps.maxPageSize) {
        const message = `limit must be at most ${deps.maxPageSize} (DLQ_PAGE_MAX_LIMIT)`;
        throw new ValidationError(`invalid query: limit: ${message}`, [{ path: 'limit', message }]);
      }
      const filter: ListFilter = {
        ...filterOf(query),
        ...timeBounds(query),
        ...(query.status ? { status: query.status } : {}),
        ...(query.fingerprint !== undefined ? { fingerprint: query.fingerprint } : {}),
        ...(query.q !== undefined ? { q: query.q } : {}),
      };
      if (query.page !== undefined) {
        // Legacy offset paging (indexes intersected into a short-lived key).
        const offset = (query.page - 1) * query.limit;
        const { items, total } = await deps.store.list(filter, offset, query.limit);
        res.json({ items: items.map(toEntrySummary), total, page: query.page, limit: query.limit, nextPage: offset + items.length < total ? query.page + 1 : null });
        return;
      }
      const page = await deps.query.page(filter, query.cursor, query.limit);
      const first = query.cursor === undefined;
      res.json({
        items: page.items.map(toEntrySummary),
        total: page.total,
        limit: query.limit,
        nextCursor: page.nextCursor,
        scanned: page.scanned,
        complete: page.complete,
        // The first page also answers as page 1 of the legacy paging.
        ...(first && query.q === undefined && query.fingerprint === undefined
          ? { page: 1, nextPage: page.total !== null && page.items.length < page.total ? 2 : null }
          : {}),
      });
    }),
  );

  router.get(
    '/fingerprints',
    asyncHandler(async (req, res) => {
      const query = parse(fingerprintsQuerySchema, req.query, 'query');
      const { items, total } = await deps.query.fingerprints(query);
      res.json({ items, total, limit: query.limit });
    }),
  );

  router.get(
    '/alerts',
    asyncHandler(async (req, res) => {
      const query = parse(alertsQuerySchema, req.query, 'query');
      const { items, total } = await deps.alerter.history((query.page - 1) * query.limit, query.limit);
      res.json({ items, total, page: query.page, limit: query.limit });
    }),
  );

  router.post(
    '/retry',
    ...jsonBody(deps.bodyLimit),
    asyncHandler(async (req, res) => {
      const body = parse(bulkRetrySchema, req.body, 'body');
      res.json(await deps.handler.retryMatching({ ...filterOf(body), ...timeBounds(body) }, body.limit, auditActorOf(req)));
    }),
  );

  router.get(
    '/:id',
    asyncHandler(async (req, res) => {
      const id = entryId(req);
      const entry = await deps.store.get(id);
      if (entry === undefined) throw new NotFoundError(`no DLQ entry ${id}`);
      res.json(entry);
    }),
  );

  router.post(
    '/:id/retry',
    ...jsonBody(deps.bodyLimit),
    asyncHandler(async (req, res) => {
      const id = entryId(req);
      const body = parse(retryBodySchema, req.body ?? {}, 'body');
      const edited = body.data !== undefined;
      // Editing a payload is an admin's right (README "Roles"); the route table lets operators retry as is.
      const principal = req.principal ?? ANONYMOUS;
      if (edited && !roleAllows(principal.role, 'administer')) {
        throw new AppError('forbidden', `${principal.role} ${principal.name} may not edit a payload (needs administer)`);
      }
      const entry = await deps.handler.manualRetry(id, auditActorOf(req), undefined, edited ? { data: body.data } : undefined);
      res.status(202).json({ id: entry.id, status: entry.status, retries: entry.retries, retriedTo: entry.retriedTo, edited });
    }),
  );

  router.delete(
    '/:id',
    asyncHandler(async (req, res) => {
      const id = entryId(req);
      await deps.handler.discard(id, auditActorOf(req));
      res.json({ id, deleted: true });
    }),
  );

  return router;
}
