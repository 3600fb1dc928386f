import { z } from 'zod';
import { bool, commonEnvShape, nonNegativeInt, parseConfig, positiveInt, streamRetentionShape } from '@event-infra/shared';

const ratio = z.coerce.number().gt(0).max(1);
/** Optional string: empty means unset (the env example lists the variable empty). */
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** Event processor configuration (SPEC sections 2 and 5). Every duration is in ms. */
export const eventConfigSchema = z
  .object({
    ...commonEnvShape,
    /** Entries read per XREADGROUP call. */
    EVENT_BATCH_SIZE: positiveInt.max(10_000).default(100),
    /** How long one XREADGROUP blocks waiting for entries, ms. */
    EVENT_BLOCK_MS: positiveInt.default(2_000),
    /** Consumer name prefix; default `<hostname>-<pid>-<random>` so replicas never share one. */
    CONSUMER_NAME: optionalString,
    REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
    /** Consumer loops at start (each with its own blocking connection). */
    EVENT_CONSUMERS: positiveInt.default(2),
    /** Auto-scaling bounds of the consumer loops in this process. */
    EVENT_CONSUMERS_MIN: positiveInt.default(1),
    EVENT_CONSUMERS_MAX: positiveInt.default(8),
    /** Group lag at or above which the autoscaler adds a loop (once sustained). */
    EVENT_SCALE_UP_LAG: positiveInt.default(5_000),
    /** Group lag at or below which the autoscaler removes a loop (once sustained). */
    EVENT_SCALE_DOWN_LAG: nonNegativeInt.default(100),
    /** How long the lag must stay past a threshold before one scaling step, ms. */
    EVENT_SCALE_SUSTAIN_MS: positiveInt.default(10_000),
    /** How often the autoscaler samples the lag, ms; 0 disables auto-scaling. */
    EVENT_SCALE_INTERVAL_MS: nonNegativeInt.default(1_000),
    /** Entries pending longer than this are reclaimed (XAUTOCLAIM) by a live consumer, ms. */
    EVENT_CLAIM_IDLE_MS: positiveInt.default(30_000),
    /** How often the reclaimer runs, ms. */
    EVENT_CLAIM_INTERVAL_MS: positiveInt.default(5_000),
    /** Consumers idle this long that own no pending entry are deleted from the group, ms. */
    EVENT_CONSUMER_CLEANUP_IDLE_MS: positiveInt.default(3_600_000),
    /** Duplicate suppression of event ids already processed by this group. */
    EVENT_DEDUPE_ENABLED: bool.default(true),
    /** How long a processed event id is remembered at least (at most twice as long), ms. */
    EVENT_DEDUPE_WINDOW_MS: positiveInt.default(3_600_000),
    /** PUBLISH each processed event on its per-type channel on the master. */
    EVENT_FANOUT_ENABLED: bool.default(true),
    /**
     * JSON file of event → job triggers (README "Triggers file"); unset: no triggers. A relative
     * path is taken from the working directory, else from the project root.
     */
    EVENT_TRIGGERS_FILE: optionalString,
    /** How often the retention janitor trims the stream (XTRIM MINID), ms; 0 disables it. */
    EVENT_TRIM_INTERVAL_MS: nonNegativeInt.default(60_000),
    ...streamRetentionShape,
    /** With STREAM_PARTITIONS > 1: a partition lease not renewed for this long expires (renewed every third), ms. */
    EVENT_PARTITION_LEASE_MS: positiveInt.min(300).max(600_000).default(10_000),
    /** A replay task whose runner has not written for this long is taken over by another, ms. */
    REPLAY_LEASE_MS: positiveInt.min(100).max(3_600_000).default(30_000),
    /** How often a processor looks for replay tasks to run, ms. */
    REPLAY_POLL_MS: positiveInt.max(600_000).default(1_000),
    /** Entries a replay reads and checkpoints at once (fewer when its rate is low). */
    REPLAY_BATCH_SIZE: positiveInt.max(10_000).default(100),
    /** Most replays to the handlers running at once (a new one beyond gets 409). */
    REPLAY_MAX_RUNNING: positiveInt.max(100).default(4),
    /** Largest `ratePerSec` a replay request may ask for. */
    REPLAY_MAX_RATE: positiveInt.max(1_000_000).default(10_000),
    /** How long a finished replay task stays readable, ms. */
    REPLAY_KEEP_MS: positiveInt.max(365 * 86_400_000).default(7 * 86_400_000),
    /** Alert when the stream length reaches this share of STREAM_MAXLEN_APPROX. */
    EVENT_CAP_ALERT_RATIO: ratio.default(0.8),
    /** Alert when the oldest entry pending in any group is older than this, ms; 0 disables the alert (the gauge stays). */
    EVENT_PENDING_ALERT_AGE_MS: nonNegativeInt.default(600_000),
    /** Largest stream entry (all field names and values) the processor decodes, bytes; larger ones go to the DLQ, cut. */
    EVENT_MAX_ENTRY_BYTES: positiveInt.max(64 * 1024 * 1024).default(1_048_576),
  })
  .refine((c) => c.EVENT_CONSUMERS_MIN <= c.EVENT_CONSUMERS_MAX, {
    message: 'must not exceed EVENT_CONSUMERS_MAX',
    path: ['EVENT_CONSUMERS_MIN'],
  })
  .refine((c) => !(c.STREAM_MAXLEN_APPROX > 0) || c.STREAM_RETENTION_MAXLEN < c.STREAM_MAXLEN_APPROX, {
    // Else the publishers' safety cap, not retention, decides what history is kept.
    message: 'must be below STREAM_MAXLEN_APPROX',
    path: ['STREAM_RETENTION_MAXLEN'],
  })
  .refine((c) => c.EVENT_SCALE_DOWN_LAG < c.EVENT_SCALE_UP_LAG, {
    message: 'must be below EVENT_SCALE_UP_LAG',
    path: ['EVENT_SCALE_DOWN_LAG'],
  });

export type EventConfig = z.output<typeof eventConfigSchema>;

export function loadConfig(env: Record<string, string | undefined>): EventConfig {
  return parseConfig(eventConfigSchema, env);
}
