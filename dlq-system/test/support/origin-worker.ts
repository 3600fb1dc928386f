import { UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  BULL_PREFIX,
  DLQ_META_KEY,
  createDeadLetterSink,
  describeFailure,
  dlqRetryMetaSchema,
  isPermanentError,
  redisOptions,
  REDIS_ROLES,
  toError,
  type DlqRetryMeta,
  type Redis,
} from '@event-infra/shared';

export interface OriginRun {
  jobId: string;
  attemptsMade: number;
  data: Record<string, unknown>;
  meta: DlqRetryMeta | undefined;
  timestamp: number;
}

export interface OriginWorker {
  runs: OriginRun[];
  completed: string[];
  close(): Promise<void>;
}

/**
 * The origin side of a job, played by a bare BullMQ Worker that follows the contract of the
 * queue processor: strip `data[DLQ_META_KEY]` before the handler, and when a job used its
 * attempts (or failed permanently) write a DLQ entry through `createDeadLetterSink`, copying
 * `dlqRetries`/`dlqEntryId` from the meta.
 */
export function startOriginWorker(options: {
  queueUrl: string;
  queue: string;
  dlqQueueName: string;
  sinkConnection: Redis;
  handler: (data: Record<string, unknown>, job: Job) => Promise<unknown>;
}): OriginWorker {
  const sink = createDeadLetterSink({ queueName: options.dlqQueueName, connection: options.sinkConnection });
  const runs: OriginRun[] = [];
  const completed: string[] = [];
  const worker = new Worker(
    options.queue,
    async (job) => {
      const { [DLQ_META_KEY]: rawMeta, ...data } = job.data as Record<string, unknown>;
      const meta = rawMeta === undefined ? undefined : dlqRetryMetaSchema.parse(rawMeta);
      runs.push({ jobId: job.id!, attemptsMade: job.attemptsMade, data, meta, timestamp: job.timestamp });
      try {
        return await options.handler(data, job);
      } catch (caught) {
        const err = toError(caught);
        const permanent = isPermanentError(err);
        const final = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (final) {
          const now = new Date().toISOString();
          await sink.add({
            kind: 'job',
            origin: {
              kind: 'job',
              queue: options.queue,
              jobId: job.id!,
              opts: { attempts: job.opts.attempts, backoff: job.opts.backoff, priority: job.opts.priority },
            },
            name: job.name,
            data,
            error: describeFailure(err),
            attempts: job.attemptsMade + 1,
            firstFailedAt: new Date(job.timestamp).toISOString(),
            lastFailedAt: now,
            dlqRetries: meta?.retries ?? 0,
            ...(meta ? { dlqEntryId: meta.entryId } : {}),
          });
        }
        throw permanent ? new UnrecoverableError(err.message) : err;
      }
    },
    {
      connection: redisOptions({ url: options.queueUrl, role: REDIS_ROLES.queue, profile: 'consumer' }) as never,
      prefix: BULL_PREFIX,
      concurrency: 5,
    },
  );
  worker.on('completed', (job) => completed.push(job.id!));
  return {
    runs,
    completed,
    close: async () => {
      await worker.close();
      await sink.close();
    },
  };
}
