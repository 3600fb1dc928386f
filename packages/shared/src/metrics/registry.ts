import { collectDefaultMetrics, Registry } from './prom-client';
import type { RequestHandler } from 'express';

/**
 * One prom-client registry per service (never the global one, so tests can build several
 * services in one process). Default process metrics carry the `service` label.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoute(registry: Registry): RequestHandler {
  return (_req, res, next) => {
    registry
      .metrics()
      .then((text) => {
        res.setHeader('Content-Type', registry.contentType);
        res.send(text);
      })
      .catch(next);
  };
}
