import type { RedisClient } from '../redis/create-redis';
import type { RequestHandler } from 'express';
import { pingRedis } from '../redis';

/** A named check: resolves when the dependency is up, rejects otherwise. */
export type HealthCheck = () => Promise<void>;

export interface HealthReport {
  status: 'ok' | 'error';
  service: string;
  checks: Record<string, 'up' | 'down'>;
}

/** A health check per Redis client, named by its role. */
export function redisChecks(clients: Record<string, RedisClient>, timeoutMs = 1_000): Record<string, HealthCheck> {
  return Object.fromEntries(
    Object.entries(clients).map(([role, client]) => [role, () => pingRedis(client, timeoutMs)]),
  );
}

/** Runs every check in parallel. No error text is returned: it could carry an endpoint or secret. */
export async function runHealthChecks(service: string, checks: Record<string, HealthCheck>): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.allSettled(names.map((name) => checks[name]!()));
  const report: HealthReport = { status: 'ok', service, checks: {} };
  results.forEach((result, index) => {
    report.checks[names[index]!] = result.status === 'fulfilled' ? 'up' : 'down';
    if (result.status === 'rejected') report.status = 'error';
  });
  return report;
}

/** `GET /health`: 200 when every check is up, 503 with the failing check `down` otherwise. */
export function healthRoute(service: string, checks: Record<string, HealthCheck>): RequestHandler {
  return (_req, res, next) => {
    runHealthChecks(service, checks)
      .then((report) => {
        res.status(report.status === 'ok' ? 200 : 503).json(report);
      })
      .catch(next);
  };
}
