import type { Job, JobsOptions, Queue } from 'bullmq';
import { bullPrefix } from '../names';
import type { RedisClient } from './create-redis';

/** A BullMQ queue that only adds jobs, created (and bullmq imported) on the first `add`. */
export interface LazyQueue {
  readonly name: string;
  add(name: string, data: unknown, opts?: JobsOptions): Promise<Job>;
  /** Closes the queue if one was created; idempotent (the same promise on every call). */
  close(): Promise<void>;
}

/**
 * For a process that adds jobs now and then but is not a queue service itself: the event
 * processor (trigger jobs, dead letters). Importing bullmq costs about 9 MB of RSS in a process
 * that has ioredis, express, zod, pino and prom-client already (issue 12, memory: median of
 * seven runs, 72 MB without it, 81 MB with it), so it is imported when the first job is added;
 * a processor with no trigger that fires and no dead letter never loads it. The import is
 * local and cached: only the first `add` waits for it. `connection` is not closed.
 */
export function createLazyQueue(name: string, connection: RedisClient): LazyQueue {
  let queue: Promise<Queue> | undefined;
  let closing: Promise<void> | undefined;
  const open = (): Promise<Queue> => {
    if (closing !== undefined) return Promise.reject(new Error(`queue ${name} is closed`));
    queue ??= import('../bullmq/index').then(({ Queue: QueueClass }) => new QueueClass(name, { connection, prefix: bullPrefix(name, connection.isCluster) }));
    return queue;
  };
  return {
    name,
    add: async (jobName, data, opts) => (await open()).add(jobName, data, opts),
    close() {
      closing ??= queue === undefined ? Promise.resolve() : queue.then((created) => created.close());
      return closing;
    },
  };
}
