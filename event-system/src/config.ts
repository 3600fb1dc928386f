import { z } from 'zod';
import { commonEnvShape, parseConfig, positiveInt } from '@event-infra/shared';

/** Event processor configuration (SPEC sections 2 and 5). */
export const eventConfigSchema = z.object({
  ...commonEnvShape,
  /** Entries read per XREADGROUP call. */
  EVENT_BATCH_SIZE: positiveInt.default(100),
  /** How long one XREADGROUP blocks waiting for entries, ms. */
  EVENT_BLOCK_MS: positiveInt.default(2_000),
  /** Consumer name; default `<hostname>-<pid>-<random>` so replicas never share one. */
  CONSUMER_NAME: z.string().min(1).optional(),
  REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
});

export type EventConfig = z.output<typeof eventConfigSchema>;

export function loadConfig(env: Record<string, string | undefined>): EventConfig {
  return parseConfig(eventConfigSchema, env);
}
