import { z } from 'zod';
import { PermanentJobError } from '@event-infra/shared';
import { abortableSleep } from '../abortable-sleep';
import type { HandlerDefinition } from '../handler-registry';

const dataSchema = z.object({
  /** Total sleep, ms (at most 24 h). */
  durationMs: z.number().int().nonnegative().max(86_400_000),
  /** Progress reports while sleeping (default 10). */
  steps: z.number().int().positive().max(10_000).default(10),
});

/** `demo.sleep` `{durationMs, steps?}`: sleeps, reporting progress after each step; honours abort. */
export const demoSleepHandler: HandlerDefinition = {
  name: 'demo.sleep',
  description: 'sleeps durationMs, reporting progress in `steps` steps',
  async handler({ data, signal, progress }) {
    const parsed = dataSchema.safeParse(data);
    if (!parsed.success) throw new PermanentJobError(`invalid demo.sleep data: ${parsed.error.message}`, { code: 'invalid_data' });
    const { durationMs, steps } = parsed.data;
    const started = Date.now();
    for (let step = 1; step <= steps; step += 1) {
      await abortableSleep(Math.max(0, started + (durationMs * step) / steps - Date.now()), signal);
      await progress(Math.round((step * 100) / steps), `step ${step}/${steps}`);
    }
    return { sleptMs: Date.now() - started };
  },
};
