/**
 * The only place that imports prom-client's values: after `./defer-otel-api`, so that prom-client
 * does not load `@opentelemetry/api` at start (issue 12, memory). Types may come from
 * 'prom-client' directly (`import type` loads nothing).
 */
export { OTEL_API_PATH } from './defer-otel-api';
export { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
