import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { SERVICES, createServiceApp, finishServiceApp, type HealthCheck, type Logger } from '@event-infra/shared';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  stats: () => Record<string, unknown>;
}

/** The event processor's HTTP app: `/health`, `/metrics`, `/stats`. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.event, logger: deps.logger, checks: deps.checks, metrics: deps.metrics });
  app.get('/stats', (_req, res) => {
    res.json({ service: SERVICES.event, ...deps.stats() });
  });
  return finishServiceApp(app, deps.logger);
}
