import { Queue } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { bullPrefix, createDeadLetterSink, splitReservedMeta, type JobDlqMeta, type Redis, type WorkQueueName } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';
import { HandlerRegistry, type JobHandlerContext } from '../../../queue-system/src/core/handler-registry';
import { createJobRunner } from '../../../queue-system/src/core/job-runner';
import { startWorkerPool } from '../../../queue-system/src/core/worker-pool';

export interface OriginRun {
  jobId: string;
  attemptsMade: number;
  data: Record<string, unknown>;
  /** The job's reserved `__dlq` metadata as stored (the handler itself never sees it). */
  meta: JobDlqMeta;
  timestamp: number;
}

export interface OriginWorker {
  runs: OriginRun[];
  completed: string[];
  close(): Promise<void>;
}

/**
 * The origin side of a job: the REAL queue-processor worker (`startWorkerPool` with
 * `createJobRunner`, the production runner and stalled-job path) on one queue, with `handler`
 * registered for every job name the test uses. It strips the reserved metadata, writes DLQ
 * entries through the production sink, and records each run for the test.
 */
export function startOriginWorker(options: {
  queueUrl: string;
  queue: string;
  dlqQueueName: string;
  sinkConnection: Redis;
  handler: (data: Record<string, unknown>, context: JobHandlerContext) => Promise<unknown>;
  names?: readonly string[];
}): OriginWorker {
  const logger = silentLogger();
  const sink = createDeadLetterSink({ queueName: options.dlqQueueName, connection: options.sinkConnection });
  const inspect = new Queue(options.queue, { connection: options.sinkConnection, prefix: bullPrefix(options.queue, options.sinkConnection.isCluster) });
  const runs: OriginRun[] = [];
  const completed: string[] = [];
  const registry = new HandlerRegistry();
  for (const name of options.names ?? ['demo.fail']) {
    registry.register({
      name,
      // Test queues have unique names; the registry keys handlers by whatever queue it is given.
      queues: [options.queue as WorkQueueName],
      handler: async (context) => {
        const job = await inspect.getJob(context.job.id);
        runs.push({
          jobId: context.job.id,
          attemptsMade: context.job.attempt - 1,
          data: context.data,
          meta: splitReservedMeta(job?.data).meta,
          timestamp: job?.timestamp ?? Date.now(),
        });
        const result = await options.handler(context.data, context);
        completed.push(context.job.id);
        return result;
      },
    });
  }
  const pool = startWorkerPool(
    {
      queues: [{ name: options.queue, concurrency: 5 }],
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 1,
      keepCompleted: 1_000,
      keepFailed: 1_000,
    },
    {
      connect: () => new IORedis(options.queueUrl, { maxRetriesPerRequest: null }),
      runnerFor: (queue) => createJobRunner({ queue, maxTimeoutMs: 60_000 }, { registry, deadLetters: sink, logger }),
      deadLetters: sink,
      logger,
    },
  );
  return {
    runs,
    completed,
    close: async () => {
      await (await pool).close(5_000);
      await inspect.close();
      await sink.close();
    },
  };
}
