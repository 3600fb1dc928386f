import { z } from 'zod';
import { parseAllowEntry } from './core/host-guard';
import type { JobLimits } from './http/schemas';
import { bool, commonEnvShape, httpUrl, optionalSecret, parseConfig, positiveInt, type WorkQueueName, QUEUES } from '@event-infra/shared';

/** A positive integer, or unset (empty string counts as unset). */
const optionalPositiveInt = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  positiveInt.optional(),
);

/** Queue processor configuration (SPEC sections 2 and 3). */
export const queueConfigSchema = z.object({
  ...commonEnvShape,
  /** false: HTTP API and Bull Board only, no workers. */
  QUEUE_ENABLED: bool.default(true),
  /** false: no worker for `long-running-jobs` (jobs can still be submitted). */
  LONG_RUNNING_JOBS_ENABLED: bool.default(true),
  /** Default and cap of a job's timeout, in seconds. */
  MAX_JOB_DURATION: positiveInt.default(3600),
  /** Worker concurrency of each queue unless its own variable is set. */
  CONCURRENCY: positiveInt.default(5),
  /** Concurrency of the `long-running-jobs` worker; default CONCURRENCY. */
  CONCURRENCY_LONG_RUNNING_JOBS: optionalPositiveInt,
  /** Concurrency of the `async-processing` worker; default CONCURRENCY. */
  CONCURRENCY_ASYNC_PROCESSING: optionalPositiveInt,
  /** Concurrency of the `event-driven-jobs` worker; default CONCURRENCY. */
  CONCURRENCY_EVENT_DRIVEN_JOBS: optionalPositiveInt,
  /** BullMQ lock duration, ms; the worker renews the lock every half of it while a job runs. */
  JOB_LOCK_DURATION_MS: positiveInt.default(30_000),
  /** How often workers look for stalled jobs (lock expired: their worker died), ms. */
  JOB_STALLED_INTERVAL_MS: positiveInt.default(30_000),
  /**
   * How often the fetch watchdog checks each worker, ms: a worker that runs nothing and started
   * nothing for two intervals while its queue has jobs ready on two checks in a row is replaced
   * (README "Scaling": a BullMQ worker can stop fetching after a failover).
   */
  JOB_FETCH_WATCHDOG_INTERVAL_MS: positiveInt.default(5_000),
  /** How many times a job may stall before it fails (then goes to the DLQ). */
  JOB_MAX_STALLED_COUNT: positiveInt.default(2),
  /** Completed jobs kept per queue (older ones are removed). */
  JOB_KEEP_COMPLETED: positiveInt.default(1000),
  /** Failed jobs kept per queue (their DLQ entry keeps the failure anyway). */
  JOB_KEEP_FAILED: positiveInt.default(5000),
  /** Minimum interval between two `job.progress` events of one job, ms. */
  PROGRESS_EVENT_INTERVAL_MS: positiveInt.default(1000),
  /** Response body bytes an `http.request` job keeps; the rest is never read (the connection is closed). */
  HTTP_REQUEST_MAX_RESPONSE_BYTES: positiveInt.max(64 * 1024 * 1024).default(64 * 1024),
  /** Largest `opts.attempts` a client may ask for (400 above). */
  JOB_MAX_ATTEMPTS: positiveInt.max(1000).default(25),
  /** Longest single wait between two attempts a job may ask for, ms (fixed delay, or exponential base × 2^(attempts − 2)). */
  JOB_MAX_BACKOFF_DELAY_MS: positiveInt.default(3_600_000),
  /** Largest `opts.delay`, ms (default 7 days). */
  JOB_MAX_DELAY_MS: positiveInt.max(365 * 86_400_000).default(7 * 86_400_000),
  /** Most jobs in one `POST /jobs/:queue/bulk`. */
  JOB_MAX_BULK: positiveInt.max(1000).default(1000),
  /** Stack traces in `GET /jobs/:queue/:id` answers (operators only; default off). */
  EXPOSE_STACKS: bool.default(false),
  /** Bull Board refuses every write (add, retry, clean, obliterate, …) unless false; the DLQ queue is always read-only. */
  ADMIN_READONLY: bool.default(true),
  /** The operator console (DLQ processor's `/console`) as a browser reaches it: Bull Board's header links there. */
  CONSOLE_URL: httpUrl.default('http://localhost:8011/console'),
  /** `source` of events published through `POST /events`. */
  EVENTS_API_SOURCE: z.string().trim().min(1).max(128).regex(/^[\w.:/-]+$/, 'letters, digits and . _ : / - only').default('http-api'),
  /** Path of a module exporting custom job handlers (see README "Custom handlers"). */
  JOB_HANDLERS_MODULE: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim())),
  /** Bull Board basic auth; both must be set to enable it. */
  ADMIN_USER: optionalSecret,
  ADMIN_PASSWORD: optionalSecret,
  /** How long start-up waits for each Redis before giving up, ms. */
  REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
}).superRefine((config, context) => {
  config.HTTP_ALLOWED_HOSTS.forEach((entry, index) => {
    try {
      parseAllowEntry(entry);
    } catch {
      // The entry is not echoed (config errors never print values): its position is.
      context.addIssue({ code: 'custom', path: ['HTTP_ALLOWED_HOSTS'], message: `entry ${index + 1} is not host[:port], *.suffix[:port] or [ipv6][:port]` });
    }
  });
  // One credential without the other would silently leave Bull Board open.
  if ((config.ADMIN_USER === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
    const missing = config.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD';
    context.addIssue({ code: 'custom', path: [missing], message: 'must be set together with the other admin credential' });
  }
});

export type QueueConfig = z.output<typeof queueConfigSchema>;

/** The bounds every job body is checked against (API and Bull Board). */
export function jobLimitsOf(config: QueueConfig): JobLimits {
  return {
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    maxBackoffDelayMs: config.JOB_MAX_BACKOFF_DELAY_MS,
    maxDelayMs: config.JOB_MAX_DELAY_MS,
    maxTimeoutMs: config.MAX_JOB_DURATION * 1000,
    maxBulkJobs: config.JOB_MAX_BULK,
    defaultAttempts: config.RETRY_ATTEMPTS,
    defaultBackoffDelayMs: config.RETRY_DELAY,
  };
}

export function loadConfig(env: Record<string, string | undefined>): QueueConfig {
  return parseConfig(queueConfigSchema, env);
}

/** Worker concurrency for `queue`: its own variable, else CONCURRENCY. */
export function concurrencyFor(config: QueueConfig, queue: WorkQueueName): number {
  const own =
    queue === QUEUES.longRunning
      ? config.CONCURRENCY_LONG_RUNNING_JOBS
      : queue === QUEUES.asyncProcessing
        ? config.CONCURRENCY_ASYNC_PROCESSING
        : config.CONCURRENCY_EVENT_DRIVEN_JOBS;
  return own ?? config.CONCURRENCY;
}
