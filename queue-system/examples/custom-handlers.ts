/**
 * Example custom handler module. Start the processor with
 * `JOB_HANDLERS_MODULE=queue-system/examples/custom-handlers.ts` (path relative to the
 * working directory, or absolute) and submit `{"name": "example.uppercase", "data": {"text": "hi"}}`.
 *
 * The module exports `handlers` (or a default export): an array of `{name, handler, queues?}`.
 * A handler receives `{data, signal, progress, logger, job}` and returns a JSON-serialisable
 * result; throwing `PermanentJobError` stops further attempts, any other error is retried.
 */
import { PermanentJobError } from '@event-infra/shared';
import type { HandlerDefinition } from '../src/core/handler-registry';

export const handlers: HandlerDefinition[] = [
  {
    name: 'example.uppercase',
    queues: ['async-processing', 'event-driven-jobs'],
    async handler({ data, progress, logger, job }) {
      if (typeof data.text !== 'string') throw new PermanentJobError('data.text must be a string', { code: 'invalid_data' });
      logger.info({ attempt: job.attempt }, 'uppercasing');
      await progress(100, 'done');
      return { text: data.text.toUpperCase() };
    },
  },
];
