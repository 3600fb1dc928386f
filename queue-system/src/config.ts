import { z } from 'zod';
import { bool, commonEnvShape, parseConfig, positiveInt } from '@event-infra/shared';

/** Queue processor configuration (SPEC sections 2 and 3). */
export const queueConfigSchema = z.object({
  ...commonEnvShape,
  QUEUE_ENABLED: bool.default(true),
  LONG_RUNNING_JOBS_ENABLED: bool.default(true),
  /** Default and cap of a job's timeout, in seconds. */
  MAX_JOB_DURATION: positiveInt.default(3600),
  /** Worker concurrency of each queue unless its own variable is set. */
  CONCURRENCY: positiveInt.default(5),
  /** How long start-up waits for each Redis before giving up, ms. */
  REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
});

export type QueueConfig = z.output<typeof queueConfigSchema>;

export function loadConfig(env: Record<string, string | undefined>): QueueConfig {
  return parseConfig(queueConfigSchema, env);
}
