import { Router } from 'express';
import { asyncHandler, auditActorOf, auditAttempt, type AuditLog } from '@event-infra/shared';
import type { ConsoleOverview } from '../../core/console-overview';
import type { StreamTools } from '../../core/stream-tools';
import { deadLetterQuerySchema, groupNameSchema, pendingQuerySchema, streamEntryIdSchema } from '../schemas';
import { parse } from './dlq';

export interface StreamRoutesDeps {
  streamTools: StreamTools;
  overview: ConsoleOverview;
  audit: AuditLog;
}

/** The console's stream tools (`/streams/...`) and its overview (`/overview`), mounted at the root. */
export function streamRoutes(deps: StreamRoutesDeps): Router {
  const router = Router();
  const defaultStream = (): string => deps.streamTools.streamNames[0]!;

  router.get(
    '/overview',
    asyncHandler(async (_req, res) => {
      res.json(await deps.overview.read());
    }),
  );

  router.get(
    '/streams/groups',
    asyncHandler(async (_req, res) => {
      res.json({ streams: await deps.streamTools.overview() });
    }),
  );

  router.get(
    '/streams/groups/:group/pending',
    asyncHandler(async (req, res) => {
      const group = parse(groupNameSchema, req.params.group, 'group');
      const query = parse(pendingQuerySchema, req.query, 'query');
      const stream = query.stream ?? defaultStream();
      const page = await deps.streamTools.pending(stream, group, {
        limit: query.limit,
        ...(query.consumer !== undefined ? { consumer: query.consumer } : {}),
        ...(query.minIdleMs !== undefined ? { minIdleMs: query.minIdleMs } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      res.json({ stream, group, ...page });
    }),
  );

  router.post(
    '/streams/groups/:group/pending/:entryId/dead-letter',
    asyncHandler(async (req, res) => {
      const group = parse(groupNameSchema, req.params.group, 'group');
      const entryId = parse(streamEntryIdSchema, req.params.entryId, 'entry id');
      const stream = parse(deadLetterQuerySchema, req.query, 'query').stream ?? defaultStream();
      // The action is on the streams Redis and the DLQ queue: recorded as attempted first.
      await auditAttempt(req, deps.audit, 'stream.dead-letter', { stream, group, streamEntryId: entryId });
      const outcome = await deps.streamTools.deadLetter(stream, group, entryId, auditActorOf(req).principal);
      res.status(outcome.deadLettered ? 202 : 200).json({ id: entryId, stream, group, ...outcome });
    }),
  );

  return router;
}
