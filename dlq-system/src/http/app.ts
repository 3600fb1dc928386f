import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { SERVICES, asyncHandler, createServiceApp, finishServiceApp, type HealthCheck, type Logger } from '@event-infra/shared';
import { dlqRoutes, type DlqRoutesDeps } from './routes/dlq';

export interface AppDeps extends DlqRoutesDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  stats: () => Promise<Record<string, unknown>>;
}

/** The DLQ processor's HTTP app: `/health`, `/metrics`, `/stats`, and the recovery API under `/dlq`. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.dlq, logger: deps.logger, checks: deps.checks, metrics: deps.metrics });
  app.get(
    '/stats',
    asyncHandler(async (_req, res) => {
      res.json({ service: SERVICES.dlq, ...(await deps.stats()) });
    }),
  );
  app.use('/dlq', dlqRoutes(deps));
  return finishServiceApp(app, deps.logger);
}
