import type { Logger, WorkQueueName } from '@event-infra/shared';
import { WORK_QUEUES } from '@event-infra/shared';

/** What a handler knows about the job it runs. */
export interface JobInfo {
  id: string;
  name: string;
  queue: string;
  /** 1 on the first attempt. */
  attempt: number;
  /** Attempts the job may use in total. */
  maxAttempts: number;
  /** Effective timeout of this attempt, ms. */
  timeoutMs: number;
}

/**
 * What a handler receives. `signal` aborts on timeout (reason `JobTimeoutError`), on a
 * `DELETE /jobs/:queue/:id` of the active job, and never otherwise; long handlers must
 * honour it. `progress(percent, message?)` stores 0-100 on the job (visible in GET /jobs
 * and Bull Board) and emits a rate-limited `job.progress` event.
 */
export interface JobHandlerContext<TData = Record<string, unknown>> {
  data: TData;
  signal: AbortSignal;
  progress(percent: number, message?: string): Promise<void>;
  logger: Logger;
  job: JobInfo;
}

/**
 * A job handler: resolve with a JSON-serialisable result; throw `PermanentJobError` for a
 * failure no retry can fix, anything else is retried with backoff.
 */
export type JobHandler = (context: JobHandlerContext) => unknown;

/** A handler and the queues it serves (default: all three work queues). */
export interface HandlerDefinition {
  name: string;
  handler: JobHandler;
  queues?: readonly WorkQueueName[];
  description?: string;
}

/** Job name → handler, per work queue. */
export class HandlerRegistry {
  private readonly byQueue = new Map<string, Map<string, JobHandler>>();

  /** Registers (or replaces) `definition.name` on its queues. */
  register(definition: HandlerDefinition): this {
    for (const queue of definition.queues ?? WORK_QUEUES) {
      let handlers = this.byQueue.get(queue);
      if (handlers === undefined) {
        handlers = new Map();
        this.byQueue.set(queue, handlers);
      }
      handlers.set(definition.name, definition.handler);
    }
    return this;
  }

  get(queue: string, name: string): JobHandler | undefined {
    return this.byQueue.get(queue)?.get(name);
  }

  has(queue: string, name: string): boolean {
    return this.get(queue, name) !== undefined;
  }

  /** Job names accepted by `queue`, sorted. */
  names(queue: string): string[] {
    return [...(this.byQueue.get(queue)?.keys() ?? [])].sort();
  }
}
