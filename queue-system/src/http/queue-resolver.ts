import type { Request } from 'express';
import { AppError } from '@event-infra/shared';

export interface QueueResolverOptions {
  /** Work queues jobs may be submitted to. */
  workQueues: readonly string[];
  /** `DLQ_QUEUE_NAME`: known, but only the DLQ processor writes to it. */
  deadLetterQueue: string;
}

/**
 * `:queue` → a work queue name. Unknown name: 404 `unknown_queue`; the dead-letter queue:
 * 403 `forbidden_queue` unless `readOnly` (reading a DLQ job is allowed).
 */
export function createQueueResolver(options: QueueResolverOptions) {
  const known = new Set(options.workQueues);
  return (req: Request, { readOnly = false }: { readOnly?: boolean } = {}): string => {
    const name = String(req.params.queue ?? '');
    if (name === options.deadLetterQueue) {
      if (readOnly) return name;
      throw new AppError('forbidden_queue', `${name} is written by failed jobs only; use the DLQ processor API`);
    }
    if (!known.has(name)) throw new AppError('unknown_queue', `unknown queue ${name}`, { queues: [...known, options.deadLetterQueue] });
    return name;
  };
}

export type QueueResolver = ReturnType<typeof createQueueResolver>;
