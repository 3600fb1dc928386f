export * from './registry';
export { Counter, Gauge, Histogram, OTEL_API_PATH, Registry } from './prom-client';
