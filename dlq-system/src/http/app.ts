import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  SERVICES,
  accessControl,
  asyncHandler,
  auditRoutes,
  createServiceApp,
  finishServiceApp,
  type AccessMetrics,
  type AuditLog,
  type AuditRoutesOptions,
  type Authenticator,
  type CredentialSet,
  type HealthCheck,
  type Logger,
} from '@event-infra/shared';
import { DLQ_ROUTE_TABLE } from './route-table';
import { dlqRoutes, type DlqRoutesDeps } from './routes/dlq';
import { redriveRoutes, type RedriveRoutesDeps } from './routes/redrive';
import { streamRoutes, type StreamRoutesDeps } from './routes/streams';

export interface AppDeps extends DlqRoutesDeps, RedriveRoutesDeps, StreamRoutesDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  stats: () => Promise<Record<string, unknown>>;
  credentials: CredentialSet;
  authenticator: Authenticator;
  accessMetrics: AccessMetrics;
  audit: AuditLog;
  auditRoutes: AuditRoutesOptions;
}

/** The DLQ processor's HTTP app: `/health`, `/metrics`, `/stats`, the recovery API under `/dlq`, and `/audit`. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.dlq, logger: deps.logger, checks: deps.checks, metrics: deps.metrics });
  // Before every route: the route table decides who may call what (route-table.ts).
  app.use(accessControl({ table: DLQ_ROUTE_TABLE, authenticator: deps.authenticator, credentials: deps.credentials, metrics: deps.accessMetrics }));
  app.get(
    '/stats',
    asyncHandler(async (_req, res) => {
      res.json({ service: SERVICES.dlq, ...(await deps.stats()) });
    }),
  );
  // Before the entry routes: `/dlq/tasks` and `/dlq/redrive` are not entry ids.
  app.use('/dlq', redriveRoutes(deps));
  app.use('/dlq', dlqRoutes(deps));
  app.use('/audit', auditRoutes(deps.audit, deps.auditRoutes));
  app.use(streamRoutes(deps));
  return finishServiceApp(app, deps.logger);
}
