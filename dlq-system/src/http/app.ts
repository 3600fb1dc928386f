import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  SERVICES,
  accessControl,
  asyncHandler,
  auditRoutes,
  createServiceApp,
  type BodyBudgetOptions,
  finishServiceApp,
  sameOriginWrites,
  type AccessMetrics,
  type AuditLog,
  type AuditRoutesOptions,
  type Authenticator,
  type CredentialSet,
  type HealthCheck,
  type Logger,
} from '@event-infra/shared';
import { CONSOLE_PATH, consoleRoutes, type ConsoleRoutesOptions } from './console/console-routes';
import { DLQ_ROUTE_TABLE } from './route-table';
import { dlqRoutes, type DlqRoutesDeps } from './routes/dlq';
import { redriveRoutes, type RedriveRoutesDeps } from './routes/redrive';
import { streamRoutes, type StreamRoutesDeps } from './routes/streams';

export interface AppDeps extends DlqRoutesDeps, RedriveRoutesDeps, StreamRoutesDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  /** `HTTP_BODY_MAX_IN_FLIGHT` and `HTTP_BODY_LIMIT` (`bodyBudgetOf`); absent: no bound on body bytes in flight. */
  bodyBudget?: BodyBudgetOptions | undefined;
  stats: () => Promise<Record<string, unknown>>;
  credentials: CredentialSet;
  authenticator: Authenticator;
  accessMetrics: AccessMetrics;
  audit: AuditLog;
  auditRoutes: AuditRoutesOptions;
  console: ConsoleRoutesOptions;
}

/**
 * The Basic realm of the console and of the API: one realm, so the browser that logged in to
 * a console page answers the JSON routes' challenge from its cache, without asking again.
 */
export const CONSOLE_REALM = 'evinfra operator console';

/** The DLQ processor's HTTP app: `/health`, `/metrics`, `/stats`, the recovery API under `/dlq`, `/audit`, and the console at `/console`. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.dlq, logger: deps.logger, checks: deps.checks, metrics: deps.metrics, bodyBudget: deps.bodyBudget });
  // Before every route: the route table decides who may call what (route-table.ts).
  // A browser holding a console login would send it with a forged cross-site POST too.
  app.use(sameOriginWrites());
  app.use(
    accessControl({
      table: DLQ_ROUTE_TABLE,
      authenticator: deps.authenticator,
      credentials: deps.credentials,
      metrics: deps.accessMetrics,
      realms: { console: CONSOLE_REALM, api: CONSOLE_REALM },
    }),
  );
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
  app.use(CONSOLE_PATH, consoleRoutes(deps.console));
  return finishServiceApp(app, deps.logger);
}
