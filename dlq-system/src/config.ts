import { z } from 'zod';
import { commonEnvShape, httpUrl, nonNegativeInt, optionalHttpUrl, optionalSecret, parseConfig, positiveInt, streamRetentionShape } from '@event-infra/shared';

/** DLQ processor configuration (SPEC sections 2 and 6). */
export const dlqConfigSchema = z.object({
  ...commonEnvShape,
  // Shown by the console overview (the event processor applies them).
  ...streamRetentionShape,
  REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),

  /** DLQ entries handled at once. */
  DLQ_CONCURRENCY: positiveInt.default(5),
  /** Largest `limit` of a `GET /dlq` page (list items are summaries). */
  DLQ_PAGE_MAX_LIMIT: positiveInt.max(500).default(200),
  /** Index entries one `GET /dlq` page examines at most when filters are combined or `q` is set. */
  DLQ_SCAN_MAX: positiveInt.max(100_000).default(5_000),
  /** Highest `rate` of a redrive task, entries/s. */
  DLQ_REDRIVE_MAX_RATE: positiveInt.max(100_000).default(5_000),
  /** Most parked entries one redrive task selects. */
  DLQ_REDRIVE_MAX_ENTRIES: positiveInt.max(1_000_000).default(100_000),
  /** A redrive task is its runner's for this long after each checkpoint; a runner that died is replaced after it, ms. */
  DLQ_REDRIVE_LEASE_MS: positiveInt.default(10_000),
  /** How often each DLQ processor looks for a redrive task to run, ms. */
  DLQ_REDRIVE_POLL_MS: positiveInt.default(1_000),
  /** How long a finished redrive task stays readable, ms (7 days). */
  DLQ_REDRIVE_KEEP_MS: positiveInt.default(7 * 86_400_000),

  /** Automatic retries back to the origin per original failure; 0 parks every failure. */
  DLQ_MAX_RETRIES: nonNegativeInt.default(3),
  /** Base of the DLQ's exponential backoff, ms (delay before retry n is base * 2^(n-1)). Default RETRY_DELAY. */
  DLQ_RETRY_BASE_DELAY_MS: z.preprocess((value) => (value === '' ? undefined : value), nonNegativeInt.optional()),
  /** Upper bound of one backoff delay, ms. */
  DLQ_RETRY_MAX_DELAY_MS: nonNegativeInt.default(3_600_000),
  /** When handling an entry fails (a Redis is down), try the entry again after this long, ms. */
  DLQ_HANDLE_RETRY_DELAY_MS: positiveInt.default(2_000),

  /** Parked/recovered entries older than this are removed, in days; 0 keeps them forever. */
  DLQ_RETENTION_DAYS: nonNegativeInt.default(30),
  /** At most this many entries are kept (oldest finished ones go first); 0 means no bound. */
  DLQ_RETENTION_MAX_ENTRIES: nonNegativeInt.default(100_000),
  /** How often retention runs, ms. */
  DLQ_RETENTION_INTERVAL_MS: positiveInt.default(60_000),
  /** How often retried jobs are checked for completion (besides QueueEvents), ms. */
  DLQ_RECOVERY_CHECK_MS: positiveInt.default(5_000),
  /** A retried job that is gone (never seen completing) this long after its retry started parks the entry, ms. */
  DLQ_LOST_RETRY_GRACE_MS: positiveInt.default(60_000),

  /** POST target for alerts; unset disables the webhook. Never logged. */
  ALERT_WEBHOOK_URL: optionalHttpUrl,
  /** Timeout of one webhook POST, ms. */
  ALERT_WEBHOOK_TIMEOUT_MS: positiveInt.default(5_000),
  /** Webhook delivery attempts per alert (first try included). */
  ALERT_WEBHOOK_ATTEMPTS: positiveInt.default(8),
  /** Base of the webhook retry backoff, ms (doubles per attempt, capped by ALERT_WEBHOOK_MAX_RETRY_DELAY_MS). */
  ALERT_WEBHOOK_RETRY_DELAY_MS: positiveInt.default(1_000),
  /** Cap of one webhook retry delay, ms. */
  ALERT_WEBHOOK_MAX_RETRY_DELAY_MS: positiveInt.default(300_000),
  /** Parked entries of the same origin within this window become one alert with a count, ms. */
  ALERT_COALESCE_WINDOW_MS: nonNegativeInt.default(10_000),
  /** Alerts kept in the history on the master. */
  ALERT_HISTORY_MAX: positiveInt.default(1_000),

  /**
   * The queue processor's base URL as an operator's browser reaches it: the console links to
   * Bull Board (`<url>/admin/queues`) and to the timeline (`<url>/timeline`) there.
   */
  CONSOLE_QUEUE_PROCESSOR_URL: httpUrl.default('http://localhost:8009'),
});

export type DlqConfig = z.output<typeof dlqConfigSchema>;

export function loadConfig(env: Record<string, string | undefined>): DlqConfig {
  return parseConfig(dlqConfigSchema, env);
}
