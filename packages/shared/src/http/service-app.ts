import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { metricsRoute } from '../metrics';
import { errorMiddleware, notFoundHandler } from './error-middleware';
import { bodyBudget, type BodyBudgetOptions } from './body-budget';
import { healthRoute, type HealthCheck } from './health';

export interface ServiceAppDeps {
  service: string;
  logger: Logger;
  checks: Record<string, HealthCheck>;
  metrics: Registry;
  /** Request body bytes in flight per process (`bodyBudgetOf(config)`); absent: no bound. */
  bodyBudget?: BodyBudgetOptions | undefined;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Child logger carrying the request id. */
    log: Logger;
    /** `X-Request-Id` as given (word characters, 1-64) or a new UUID. */
    requestId: string;
  }
}

/**
 * The part every service's HTTP app shares: request id and child logger, `/health`,
 * `/metrics`, the bound on request body bytes in flight. The service mounts its own routes, then calls `finishServiceApp`.
 */
export function createServiceApp(deps: ServiceAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const httpLogger = deps.logger.child({ component: 'http' });
  app.use((req, res, next) => {
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && /^[\w.-]{1,64}$/.test(header) ? header : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    req.requestId = requestId;
    req.log = httpLogger.child({ requestId });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'debug';
      req.log[level]({ method: req.method, path: req.path, status: res.statusCode, durationMs }, 'request');
    });
    next();
  });
  if (deps.bodyBudget !== undefined) app.use(bodyBudget(deps.bodyBudget));
  app.get('/health', healthRoute(deps.service, deps.checks));
  app.get('/metrics', metricsRoute(deps.metrics));
  return app;
}

/** 404 for unknown routes and the error middleware; call after mounting the service routes. */
export function finishServiceApp(app: Express, logger: Logger): Express {
  app.use(notFoundHandler());
  app.use(errorMiddleware(logger.child({ component: 'http' })));
  return app;
}
