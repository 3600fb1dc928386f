import { Router, type RequestHandler } from 'express';
import type { z } from 'zod';
import { ValidationError, asyncHandler, jsonBody, requireBearer } from '@event-infra/shared';
import type { ReplayPlanner } from '../../core/replay/replay-planner';
import type { ReplayTaskStore } from '../../core/replay/replay-task';
import { replayBodySchema, replayIdSchema, replayListQuerySchema } from '../replay-schemas';

/**
 * The role each replay route needs. The single place to join the roles table (issue #13) once
 * it is merged; until then every role is the API key rule (`requireBearer`).
 */
export const REPLAY_ROUTE_ROLES = {
  create: 'operator',
  cancel: 'operator',
  read: 'viewer',
} as const;

export interface ReplayRoutesDeps {
  store: ReplayTaskStore;
  planner: ReplayPlanner;
  /** `API_KEY`: Bearer token required on every `/replay` route when set. */
  apiKey: string | undefined;
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
  const requireRole = (_role: (typeof REPLAY_ROUTE_ROLES)[keyof typeof REPLAY_ROUTE_ROLES]): RequestHandler => requireBearer(deps.apiKey);
  const bodySchema = replayBodySchema(deps.maxRatePerSec);

  router.post(
    '/',
    requireRole(REPLAY_ROUTE_ROLES.create),
    ...jsonBody(deps.bodyLimit),
    asyncHandler(async (req, res) => {
      const task = await deps.planner.create(parse(bodySchema, req.body, 'replay request'));
      res.status(202).location(`${req.baseUrl}/${task.id}`).json(task);
    }),
  );
  router.get(
    '/',
    requireRole(REPLAY_ROUTE_ROLES.read),
    asyncHandler(async (req, res) => {
      const { limit } = parse(replayListQuerySchema, req.query, 'query');
      res.json({ items: await deps.store.list(limit) });
    }),
  );
  router.get(
    '/:id',
    requireRole(REPLAY_ROUTE_ROLES.read),
    asyncHandler(async (req, res) => {
      const task = await deps.store.get(parse(replayIdSchema, req.params.id, 'replay id'));
      const groups = await deps.planner.groupProgress(task);
      res.json(groups === undefined ? task : { ...task, groups });
    }),
  );
  router.post(
    '/:id/cancel',
    requireRole(REPLAY_ROUTE_ROLES.cancel),
    asyncHandler(async (req, res) => {
      res.json(await deps.store.cancel(parse(replayIdSchema, req.params.id, 'replay id')));
    }),
  );
  return router;
}
