import { z } from 'zod';
import { PermanentJobError, RetryableJobError } from '@event-infra/shared';
import type { HandlerDefinition } from '../handler-registry';

const dataSchema = z.object({
  message: z.string().max(4096).default('demo failure'),
  /** Fail with the permanent marker: no further attempts. */
  permanent: z.boolean().default(false),
  /** Fail the first N attempts, then succeed. Default: always fail. */
  failTimes: z.number().int().nonnegative().optional(),
});

/** `demo.fail` `{message?, permanent?, failTimes?}`: transient or permanent failures on demand. */
export const demoFailHandler: HandlerDefinition = {
  name: 'demo.fail',
  description: 'fails (transient or permanent), optionally only for the first failTimes attempts',
  handler({ data, job }) {
    const parsed = dataSchema.safeParse(data);
    if (!parsed.success) throw new PermanentJobError(`invalid demo.fail data: ${parsed.error.message}`, { code: 'invalid_data' });
    const { message, permanent, failTimes } = parsed.data;
    if (failTimes !== undefined && job.attempt > failTimes) return { succeededOnAttempt: job.attempt };
    if (permanent) throw new PermanentJobError(message, { code: 'demo_failure' });
    throw new RetryableJobError(message, { code: 'demo_failure' });
  },
};
