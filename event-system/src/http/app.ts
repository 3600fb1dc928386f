import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  SERVICES,
  accessControl,
  asyncHandler,
  createServiceApp,
  type BodyBudgetOptions,
  finishServiceApp,
  type AccessMetrics,
  type Authenticator,
  type CredentialSet,
  type HealthCheck,
  type Logger,
} from '@event-infra/shared';
import type { EventStats } from '../core/event-engine';
import type { PartitionedStats } from '../core/partition/partitioned-engine';
import { EVENT_ROUTE_TABLE } from './route-table';
import { replayRoutes, type ReplayRoutesDeps } from './routes/replay';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  /** `HTTP_BODY_MAX_IN_FLIGHT` and `HTTP_BODY_LIMIT` (`bodyBudgetOf`); absent: no bound on body bytes in flight. */
  bodyBudget?: BodyBudgetOptions | undefined;
  /** Reads the stream, group and consumer figures (also refreshes the stream gauges). */
  stats: () => Promise<EventStats | PartitionedStats>;
  /** The replay API (`/replay`). */
  replay: ReplayRoutesDeps;
  credentials: CredentialSet;
  authenticator: Authenticator;
  accessMetrics: AccessMetrics;
}

/**
 * The event processor's HTTP app: `/health`, `/stats`, `/metrics` (the stream gauges refresh
 * themselves on each scrape), `/replay`.
 */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.event, logger: deps.logger, checks: deps.checks, metrics: deps.metrics, bodyBudget: deps.bodyBudget });
  // Before every route: the route table decides who may call what (route-table.ts).
  app.use(accessControl({ table: EVENT_ROUTE_TABLE, authenticator: deps.authenticator, credentials: deps.credentials, metrics: deps.accessMetrics }));
  app.get(
    '/stats',
    asyncHandler(async (_req, res) => {
      res.json({ service: SERVICES.event, ...(await deps.stats()) });
    }),
  );
  app.use('/replay', replayRoutes(deps.replay));
  return finishServiceApp(app, deps.logger);
}
