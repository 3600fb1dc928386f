/**
 * prom-client's index requires its default metrics, whose process-CPU metric requires
 * `@opentelemetry/api` at load (44 files) for exemplars, which no registry here enables: a
 * stand-in until first use (`deferRequire`). A module of its own, imported by
 * `./prom-client` before prom-client itself, since ES imports evaluate in order.
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set: tracing imports the real API on start, unchanged.
 */
import { deferRequire } from '../deferred-require';

/** `require.cache` key of `@opentelemetry/api` as prom-client resolves it. */
export const OTEL_API_PATH = deferRequire('@opentelemetry/api', 'prom-client');
