import { z } from 'zod';
import { commonEnvShape, parseConfig, positiveInt } from '@event-infra/shared';

/** DLQ processor configuration (SPEC sections 2 and 6). */
export const dlqConfigSchema = z.object({
  ...commonEnvShape,
  REDIS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
});

export type DlqConfig = z.output<typeof dlqConfigSchema>;

export function loadConfig(env: Record<string, string | undefined>): DlqConfig {
  return parseConfig(dlqConfigSchema, env);
}
