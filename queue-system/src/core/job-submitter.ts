import { createBatch } from '@event-infra/shared';
import { randomUUID } from 'node:crypto';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { AppError, jobCauseId, withJobTrace, type JobTrace, type RedisClient, type TimelineRecorder } from '@event-infra/shared';
import { JOB_CANCEL_CHANNEL } from '@event-infra/shared';
import type { HandlerRegistry } from './handler-registry';

/** A job as submitted over HTTP (already validated by the request schema). */
export interface JobSubmission {
  name: string;
  data: Record<string, unknown>;
  opts?: {
    jobId?: string | undefined;
    priority?: number | undefined;
    /** Start no earlier than this many ms from now. */
    delay?: number | undefined;
    attempts?: number | undefined;
    /** A number is a fixed delay in ms. */
    backoff?: number | { type: 'fixed' | 'exponential'; delay: number } | undefined;
    timeoutMs?: number | undefined;
  } | undefined;
}

export interface JobSubmitterOptions {
  /** `RETRY_ATTEMPTS`. */
  attempts: number;
  /** `RETRY_DELAY`, base of the exponential backoff, ms. */
  backoffDelayMs: number;
  /** `MAX_JOB_DURATION` in ms: a larger `timeoutMs` is capped to it. */
  maxTimeoutMs: number;
  /** Log lines kept per job (progress messages, failed attempts). Default 100. */
  keepLogs?: number;
}

export interface JobSubmitterDeps {
  queues: ReadonlyMap<string, Queue>;
  registry: HandlerRegistry;
  /** Producer client on the queue Redis (publishes cancel requests, reads add tokens back). */
  redis: RedisClient;
  /** Records `job.created` in the job's timeline (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
}

/**
 * A job of a bulk and whether this request created it (false: its `jobId` already existed).
 * Only what the answer and the timeline need: BullMQ's `Job` objects of a chunk are dropped as
 * soon as the chunk is stored (see `BULK_CHUNK`).
 */
export interface BulkResult {
  id: string;
  name: string;
  /** The job's `timestamp` as BullMQ stored it (ms). */
  timestamp: number;
  created: boolean;
}

/**
 * Jobs per `Queue.addBulk` call of one bulk request. BullMQ builds a `Job`, its JSON, its
 * packed options and a pipeline command per job, and all of them live until its pipeline's
 * replies are back; 1,000 at once outlive the young generation (2 MB semi-space), are
 * promoted, and grow the old generation with every bulk request. Chunks of 100 (two in
 * flight, `BULK_CHUNKS_IN_FLIGHT`) mostly die young.
 * Exported for the test that checks a bulk of several chunks is added in order.
 */
export const BULK_CHUNK = 100;
/** Chunks of one bulk request sent before the first of them is answered. */
const BULK_CHUNKS_IN_FLIGHT = 2;

/**
 * Job option that carries a per-submission token. BullMQ's add script is an atomic
 * add-if-absent (an existing id is left untouched); reading the token back after the add tells
 * the one caller whose job was stored from the ones who found it there, without a
 * check-then-add window.
 */
const ADD_TOKEN = 'addToken';

export type CancelOutcome = 'removed' | 'cancel-requested';

/** Adds, reads and cancels jobs of the work queues. No HTTP here: errors are `AppError` codes. */
export function createJobSubmitter(options: JobSubmitterOptions, deps: JobSubmitterDeps) {
  const queueOf = (name: string): Queue => {
    const queue = deps.queues.get(name);
    if (queue === undefined) throw new AppError('unknown_queue', `unknown queue ${name}`);
    return queue;
  };

  const checkHandler = (queue: string, name: string, index?: number): void => {
    if (deps.registry.has(queue, name)) return;
    const where = index === undefined ? '' : `jobs[${index}]: `;
    throw new AppError('no_handler', `${where}no handler for job name ${name} on queue ${queue}`, {
      ...(index === undefined ? {} : { index }),
      name,
      accepted: deps.registry.names(queue),
    });
  };

  const toBullOptions = (submission: JobSubmission): JobsOptions => {
    const opts = submission.opts ?? {};
    const backoff =
      typeof opts.backoff === 'number'
        ? { type: 'fixed', delay: opts.backoff }
        : (opts.backoff ?? { type: 'exponential', delay: options.backoffDelayMs });
    // Retention (removeOnComplete/removeOnFail) comes from the worker options, and an absent
    // timeoutMs means MAX_JOB_DURATION: neither is stored per job, which keeps adds cheap.
    const bull: JobsOptions & { timeoutMs?: number } = {
      attempts: opts.attempts ?? options.attempts,
      backoff,
      keepLogs: options.keepLogs ?? 100,
    };
    if (opts.timeoutMs !== undefined) bull.timeoutMs = Math.min(opts.timeoutMs, options.maxTimeoutMs);
    if (opts.jobId !== undefined) bull.jobId = opts.jobId;
    if (opts.priority !== undefined && opts.priority > 0) bull.priority = opts.priority;
    if (opts.delay !== undefined && opts.delay > 0) bull.delay = opts.delay;
    return bull;
  };

  /** The stored add tokens of `ids` (undefined: no such job any more). */
  const storedTokens = async (queue: Queue, ids: readonly string[]): Promise<(string | undefined)[]> => {
    if (ids.length === 0) return [];
    const pipeline = createBatch(deps.redis);
    for (const id of ids) pipeline.hget(queue.toKey(id), 'opts');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, raw]) => {
      if (err || typeof raw !== 'string') return undefined;
      try {
        const token = (JSON.parse(raw) as Record<string, unknown>)[ADD_TOKEN];
        return typeof token === 'string' ? token : '';
      } catch {
        // Unreadable opts cannot carry our token: the job is someone else's.
        return '';
      }
    });
  };

  /** The job's id, name and `timestamp` (ms, taken before the add). */
  type AddedJob = Pick<BulkResult, 'id' | 'name' | 'timestamp'>;
  const addedOf = (job: Job): AddedJob => ({ id: String(job.id), name: job.name, timestamp: job.timestamp });
  const created = (queue: string, job: AddedJob, trace: JobTrace | undefined): void => {
    if (deps.timeline === undefined || trace === undefined) return;
    deps.timeline.record(
      trace.correlationId,
      // At the job's own timestamp (taken before the add): its worker may start it before the add resolves here.
      { kind: 'job.created', subject: jobCauseId(queue, job.id), cause: trace.causationId, detail: { name: job.name, via: 'http' }, atMs: job.timestamp },
      { job: `${queue}:${job.id}` },
    );
  };

  return {
    /** `MAX_JOB_DURATION` in ms: default and cap of `timeoutMs`. */
    maxTimeoutMs: options.maxTimeoutMs,

    /**
     * Adds one job (with `trace` in its reserved data). With an existing `jobId`, nothing is
     * added and `created` is false.
     */
    async add(queueName: string, submission: JobSubmission, trace?: JobTrace): Promise<{ job: Job; created: boolean }> {
      const queue = queueOf(queueName);
      checkHandler(queueName, submission.name);
      const jobId = submission.opts?.jobId;
      const data = withJobTrace(submission.data, trace);
      if (jobId === undefined) {
        const job = await queue.add(submission.name, data, toBullOptions(submission));
        created(queueName, addedOf(job), trace);
        return { job, created: true };
      }
      const token = randomUUID();
      const job = await queue.add(submission.name, data, { ...toBullOptions(submission), [ADD_TOKEN]: token } as JobsOptions);
      const [stored] = await storedTokens(queue, [jobId]);
      // Gone already (completed and trimmed): it was stored, and by this add only if nobody else held the id.
      if (stored === token || stored === undefined) {
        created(queueName, addedOf(job), trace);
        return { job, created: true };
      }
      return { job: (await queue.getJob(jobId)) ?? job, created: false };
    },

    /**
     * Adds all jobs, after checking every one: any bad job, none added. They go to Redis in
     * chunks of `BULK_CHUNK`, two at a time, in the request's order. Not a transaction:
     * BullMQ's `addBulk` is a pipeline of one add script per job (not MULTI), so a Redis
     * failure part-way leaves the jobs before it added, with chunks as without them.
     * A job whose `jobId` already existed is left as it was and reported with `created: false`.
     */
    async addBulk(queueName: string, submissions: readonly JobSubmission[], trace?: JobTrace): Promise<BulkResult[]> {
      const queue = queueOf(queueName);
      submissions.forEach((submission, index) => checkHandler(queueName, submission.name, index));
      const addChunk = async (chunk: readonly JobSubmission[]): Promise<BulkResult[]> => {
        // A token only where a `jobId` may already exist (the check below reads those alone).
        const tokens = chunk.map((submission) => (submission.opts?.jobId === undefined ? '' : randomUUID()));
        const added = await queue.addBulk(
          chunk.map((submission, index) => ({
            name: submission.name,
            data: withJobTrace(submission.data, trace),
            opts: (submission.opts?.jobId === undefined ? toBullOptions(submission) : { ...toBullOptions(submission), [ADD_TOKEN]: tokens[index] }) as JobsOptions,
          })),
        );
        const withIds = chunk.flatMap((submission, index) => (submission.opts?.jobId === undefined ? [] : [{ index, id: submission.opts.jobId }]));
        const stored = await storedTokens(queue, withIds.map((entry) => entry.id));
        const existing = new Set(withIds.filter((entry, at) => stored[at] !== undefined && stored[at] !== tokens[entry.index]).map((entry) => entry.index));
        return added.map((job, index) => ({ id: String(job.id), name: job.name, timestamp: job.timestamp, created: !existing.has(index) }));
      };
      // Two chunks in flight: the next one is built while Redis runs the one before (one
      // connection, so Redis still runs them in the request's order).
      const results: BulkResult[] = [];
      const inFlight: Promise<BulkResult[]>[] = [];
      try {
        for (let start = 0; start < submissions.length; start += BULK_CHUNK) {
          const chunk = addChunk(submissions.slice(start, start + BULK_CHUNK));
          // Handled here and awaited below: a chunk that fails while the one before it is
          // still awaited must not count as an unhandled rejection (it would end the process).
          chunk.catch(() => undefined);
          inFlight.push(chunk);
          if (inFlight.length === BULK_CHUNKS_IN_FLIGHT) results.push(...(await inFlight.shift()!));
        }
        while (inFlight.length > 0) results.push(...(await inFlight.shift()!));
      } catch (caught) {
        // The first failure is the answer; the chunk still in flight settles first.
        await Promise.allSettled(inFlight);
        throw caught;
      }
      for (const result of results) if (result.created) created(queueName, result, trace);
      return results;
    },

    /** The last `count` log lines of a job (progress messages, failed attempts). */
    async logs(queueName: string, jobId: string, count: number): Promise<string[]> {
      return (await queueOf(queueName).getJobLogs(jobId, -count, -1)).logs;
    },

    /** The job's state (`unknown` when there is no such job). */
    async state(queueName: string, jobId: string): Promise<string> {
      return queueOf(queueName).getJobState(jobId);
    },

    /** The job, or undefined. */
    async get(queueName: string, jobId: string): Promise<Job | undefined> {
      return (await queueOf(queueName).getJob(jobId)) ?? undefined;
    },

    /**
     * Removes a waiting, delayed, completed or failed job; for an active job, asks every
     * replica (pub/sub on the queue Redis) to abort it: the one running it aborts the
     * handler's signal and the job fails as cancelled. Undefined when there is no such job.
     */
    async cancel(queueName: string, jobId: string): Promise<{ outcome: CancelOutcome; state: string } | undefined> {
      const queue = queueOf(queueName);
      const job = await queue.getJob(jobId);
      if (!job) return undefined;
      const state = await job.getState();
      if (state !== 'active') {
        // A remove races with a worker taking the job: 0 means it became active (locked).
        const removed = await queue.remove(jobId);
        if (removed === 1) return { outcome: 'removed', state };
        if ((await job.getState()) !== 'active') return (await queue.getJob(jobId)) ? { outcome: 'removed', state } : undefined;
      }
      await deps.redis.publish(JOB_CANCEL_CHANNEL, JSON.stringify({ queue: queueName, jobId }));
      return { outcome: 'cancel-requested', state: 'active' };
    },
  };
}

export type JobSubmitter = ReturnType<typeof createJobSubmitter>;
