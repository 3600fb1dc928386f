import { Router } from 'express';
import type { z } from 'zod';
import { ValidationError, asyncHandler, auditAttempt, jsonBody, type AuditLog } from '@event-infra/shared';
import type { ReplayPlanner } from '../../core/replay/replay-planner';
import type { ReplayTaskStore } from '../../core/replay/replay-task';
import { replayBodySchema, replayIdSchema, replayListQuerySchema } from '../replay-schemas';

export interface ReplayRoutesDeps {
  store: ReplayTaskStore;
  planner: ReplayPlanner;
  /** The audit log on the master: starting and cancelling a replay are audited (the role check is the app's `accessControl`). */
  audit: AuditLog;
  /** `STREAM_NAME`: the event log replays read (the audit record's target). */
  stream: string;
  /** `HTTP_BODY_LIMIT`. */
  bodyLimit: string;
  /** `REPLAY_MAX_RATE`: the largest `ratePerSec` a client may ask for. */
  maxRatePerSec: number;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const details = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    throw new ValidationError(`invalid ${what}: ${details.map((d) => `${d.path || '(body)'}: ${d.message}`).join('; ')}`, details);
  }
  return result.data;
}

/** `POST /replay`, `GET /replay`, `GET /replay/:id`, `POST /replay/:id/cancel`. */
export function replayRoutes(deps: ReplayRoutesDeps): Router {
  const router = Router();
  const bodySchema = replayBodySchema(deps.maxRatePerSec);

  router.post(
    '/',
    ...jsonBody(deps.bodyLimit),
    asyncHandler(async (req, res) => {
      const request = parse(bodySchema, req.body, 'replay request');
      const { target, ...range } = request;
      await auditAttempt(req, deps.audit, 'replay.create', { stream: deps.stream, filter: { ...range, ...target, target: target.kind } });
      const task = await deps.planner.create(request);
      res.status(202).location(`${req.baseUrl}/${task.id}`).json(task);
    }),
  );
  router.get(
    '/',
    asyncHandler(async (req, res) => {
      const { limit } = parse(replayListQuerySchema, req.query, 'query');
      res.json({ items: await deps.store.list(limit) });
    }),
  );
  router.get(
    '/:id',
    asyncHandler(async (req, res) => {
      const task = await deps.store.get(parse(replayIdSchema, req.params.id, 'replay id'));
      const groups = await deps.planner.groupProgress(task);
      res.json(groups === undefined ? task : { ...task, groups });
    }),
  );
  router.post(
    '/:id/cancel',
    asyncHandler(async (req, res) => {
      const id = parse(replayIdSchema, req.params.id, 'replay id');
      await auditAttempt(req, deps.audit, 'replay.cancel', { replayId: id });
      res.json(await deps.store.cancel(id));
    }),
  );
  return router;
}
