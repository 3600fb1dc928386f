import { z } from 'zod';
import { commonEnvShape, nonNegativeInt, optionalHttpUrl, optionalSecret, parseConfig, positiveInt } from '@event-infra/shared';

/** DLQ processor configuration (SPEC sections 2 and 6). */
export const dlqConfigSchema = z.object({
  ...commonEnvShape,
  REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),

  /** DLQ entries handled at once. */
  DLQ_CONCURRENCY: positiveInt.default(5),
  /** Largest `limit` of a `GET /dlq` page (list items are summaries). */
  DLQ_PAGE_MAX_LIMIT: positiveInt.max(500).default(200),
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
});

export type DlqConfig = z.output<typeof dlqConfigSchema>;

export function loadConfig(env: Record<string, string | undefined>): DlqConfig {
  return parseConfig(dlqConfigSchema, env);
}
