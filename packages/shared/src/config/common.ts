import { z } from 'zod';
import { STREAM_DEFAULTS, QUEUES } from '../names';
import { credentialList } from '../access/credentials';
import { bool, byteSize, clusterNodes, csv, logLevel, nonNegativeInt, optionalHttpUrl, optionalSecret, positiveInt, port, redisUrl } from './fragments';

/**
 * Variables every service reads (SPEC section 2). Service schemas extend this shape with
 * their own. Defaults are those of `env-example-event-infrastructure`.
 */
export const commonEnvShape = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: logLevel.default('info'),
  /** Human-readable logs instead of JSON lines (development only). */
  LOG_PRETTY: bool.default(false),
  /** Interface the HTTP server binds to. Compose sets 0.0.0.0 inside containers. */
  HTTP_HOST: z.string().default('127.0.0.1'),

  REDIS_URL: redisUrl.default('redis://127.0.0.1:6382'),
  REDIS_PASSWORD: optionalSecret,
  REDIS_STREAMS_URL: redisUrl.default('redis://127.0.0.1:6380'),
  REDIS_STREAMS_PASSWORD: optionalSecret,
  REDIS_QUEUE_URL: redisUrl.default('redis://127.0.0.1:6381'),
  REDIS_QUEUE_PASSWORD: optionalSecret,
  /** Seed nodes of a Redis Cluster for the master role (`host:port,…`); set, it replaces REDIS_URL's host (README "Scaling"). */
  REDIS_CLUSTER_NODES: clusterNodes,
  /** Seed nodes of a Redis Cluster for the streams role; password from REDIS_STREAMS_PASSWORD or the URL. */
  REDIS_STREAMS_CLUSTER_NODES: clusterNodes,
  /** Seed nodes of a Redis Cluster for the queue role; password from REDIS_QUEUE_PASSWORD or the URL. */
  REDIS_QUEUE_CLUSTER_NODES: clusterNodes,

  EVENT_BUS_ENABLED: bool.default(true),
  PUBLISH_EVENTS: bool.default(true),
  STREAM_NAME: z.string().min(1).default(STREAM_DEFAULTS.stream),
  CONSUMER_GROUP: z.string().min(1).default(STREAM_DEFAULTS.group),
  /** Safety cap on the stream length (approximate MAXLEN on XADD); 0 disables it. */
  STREAM_MAXLEN_APPROX: nonNegativeInt.default(1_000_000),
  /** Partitions of the event log (README "Partitions"); 1: the single stream STREAM_NAME. Max 1024. */
  STREAM_PARTITIONS: positiveInt.max(1024).default(1),

  DLQ_QUEUE_NAME: z.string().min(1).default(QUEUES.deadLetter),
  RETRY_ATTEMPTS: positiveInt.default(3),
  /** Base of the exponential backoff, in milliseconds. */
  RETRY_DELAY: nonNegativeInt.default(60_000),

  /** Bearer token for `/jobs`, `/events` and `/dlq` routes; unset means open. One admin principal named `api-key`. */
  API_KEY: optionalSecret,
  /** API keys with roles: `name:role:scrypt-hash,…` (hash from `npm run hash-secret`); any set closes the API surface. */
  API_KEYS: credentialList,
  /** Users with roles (Basic auth, Bull Board and the API): `name:role:scrypt-hash,…`. */
  ADMIN_USERS: credentialList,
  /** Verified credentials remembered, so only a key's first request pays scrypt. */
  AUTH_CACHE_MAX_ENTRIES: positiveInt.max(1_000_000).default(1000),
  /** How long a verified credential is remembered, ms. */
  AUTH_CACHE_TTL_MS: positiveInt.max(86_400_000).default(300_000),
  /** Failed logins one address may have in a burst before its attempts wait. */
  AUTH_FAILURE_BURST: positiveInt.max(10_000).default(10),
  /** Tokens per second an address earns back after failed logins. */
  AUTH_FAILURE_REFILL_PER_SEC: positiveInt.max(10_000).default(1),
  /** Longest wait of an attempt from an address whose failures used up its burst, ms (then it is checked). */
  AUTH_FAILURE_MAX_DELAY_MS: nonNegativeInt.max(60_000).default(5_000),
  /** Audit records older than this are trimmed from the audit stream, days. */
  AUDIT_RETENTION_DAYS: positiveInt.max(36_500).default(90),
  /** Largest `limit` of one `GET /audit` page. */
  AUDIT_PAGE_MAX_LIMIT: positiveInt.max(10_000).default(500),
  /** Records one `GET /audit` request reads at most while filtering (then it answers a cursor). */
  AUDIT_SCAN_MAX: positiveInt.max(1_000_000).default(10_000),
  /** Records one `GET /audit/export` answers at most. */
  AUDIT_EXPORT_MAX: positiveInt.max(10_000_000).default(100_000),
  /** Maximum accepted JSON body, e.g. `1mb`, `512kb`. */
  HTTP_BODY_LIMIT: byteSize.default('1mb'),
  /**
   * Request body bytes one process holds at most at once, e.g. `8mb` (docs/benchmarks/memory.md, "Memory work"): a
   * request past it is answered 503 with `Retry-After: 1` before its body is read.
   */
  HTTP_BODY_MAX_IN_FLIGHT: byteSize.default('8mb'),
  /** Time a client has to send the complete request headers, ms (slow-header clients are cut). */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt.max(600_000).default(10_000),
  /** Time a client has to send the complete request, headers and body, ms. */
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.max(3_600_000).default(30_000),
  /** Idle time before a keep-alive connection is closed, ms. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.max(600_000).default(5_000),
  /** Open HTTP connections per service at most; more are closed at once. */
  HTTP_MAX_CONNECTIONS: positiveInt.max(1_000_000).default(1000),
  /** Grace period for active work on SIGTERM/SIGINT, in milliseconds. */
  SHUTDOWN_GRACE_MS: nonNegativeInt.default(30_000),
  /** Hosts a `http.request` job may call (comma-separated). */
  HTTP_ALLOWED_HOSTS: csv,

  /** Record every correlation's steps on the master (README "Timeline"). */
  TIMELINE_ENABLED: bool.default(false),
  /** Each timeline step is kept this long: its time bucket expires this long after the bucket's end, seconds (1 s - 30 days). */
  TIMELINE_RETENTION_SEC: positiveInt.max(2_592_000).default(86_400),
  /** Steps kept per correlation: the first half and the last half, the rest counted (2-10000). */
  TIMELINE_MAX_STEPS: positiveInt.min(2).max(10_000).default(200),

  /**
   * Base URL of an OTLP/HTTP receiver (spans go to `<url>/v1/traces`); unset or empty: no
   * tracing at all (README "Trace context and OpenTelemetry").
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalHttpUrl,
  /** `service.name` of the spans (default: the service's own name). */
  OTEL_SERVICE_NAME: optionalSecret.pipe(z.string().min(1).max(256).optional()),

  QUEUE_PROCESSOR_PORT: port.default(8009),
  EVENT_PROCESSOR_PORT: port.default(8010),
  DLQ_PROCESSOR_PORT: port.default(8011),
} as const;

/** The event log's retention (README "Event log"): the event processor applies it, the DLQ console shows it. */
export const streamRetentionShape = {
  /** Acknowledged entries are kept this long at least (unless past STREAM_RETENTION_MAXLEN), ms; 0: no time limit. Max 365 days. */
  STREAM_RETENTION_MS: nonNegativeInt.max(365 * 86_400_000).default(0),
  /** At most this many newest entries are kept once acknowledged; 0: no length limit. Max 100,000,000. */
  STREAM_RETENTION_MAXLEN: nonNegativeInt.max(100_000_000).default(0),
} as const;

export const commonEnvSchema = z.object(commonEnvShape);
export type CommonConfig = z.output<typeof commonEnvSchema>;
