import { UnrecoverableError, type Job } from 'bullmq';
import { JobTimeoutError, PermanentJobError, isPermanentError, toError, type DeadLetterSink, type Logger } from '@event-infra/shared';
import { FAILED_ATTEMPT_LOG, buildDeadLetterEntry, firstFailureTime, splitDlqMeta } from './dlq-forwarder';
import type { HandlerRegistry, JobHandler, JobHandlerContext } from './handler-registry';
import type { LifecycleEvents } from './lifecycle-events';

/** Reason a job's signal aborts with when `DELETE /jobs/:queue/:id` cancels it. */
export class JobCancelledError extends PermanentJobError {
  constructor() {
    super('job was cancelled', { code: 'cancelled' });
    this.name = 'JobCancelledError';
  }
}

export interface JobRunnerOptions {
  queue: string;
  /** `MAX_JOB_DURATION` in ms: default and cap of a job's `timeoutMs`. */
  maxTimeoutMs: number;
}

/** Per-job outcome hooks (metrics); called synchronously, must not throw. */
export interface JobObserver {
  finished(queue: string, name: string, status: 'completed' | 'failed', durationMs: number): void;
}

export interface JobRunnerDeps {
  registry: HandlerRegistry;
  deadLetters: DeadLetterSink;
  /** Absent when PUBLISH_EVENTS is off: then the worker path makes no extra Redis call. */
  events?: LifecycleEvents | undefined;
  observer?: JobObserver | undefined;
  /** Reads a job's log lines (for the DLQ entry's first failure time). */
  readLogs: (jobId: string) => Promise<string[]>;
  logger: Logger;
}

/** `timeoutMs` from the job's options, capped by `maxTimeoutMs` (the default when absent). */
export function effectiveTimeoutMs(requested: unknown, maxTimeoutMs: number): number {
  return typeof requested === 'number' && requested > 0 ? Math.min(requested, maxTimeoutMs) : maxTimeoutMs;
}

/**
 * Runs `handler` with a signal that aborts on timeout (`JobTimeoutError`) or when `outer`
 * aborts (`JobCancelledError`). A handler that ignores its signal still loses the race: the
 * attempt fails at the deadline (its promise is left to settle on its own).
 */
function runBounded(handler: JobHandler, context: Omit<JobHandlerContext, 'signal'>, timeoutMs: number, outer: AbortSignal | undefined): Promise<unknown> {
  const controller = new AbortController();
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    const onOuter = (): void => controller.abort(new JobCancelledError());
    outer?.addEventListener('abort', onOuter, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    };
    // The first of abort / handler outcome wins; later calls to resolve/reject are no-ops.
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    try {
      Promise.resolve(handler({ ...context, signal: controller.signal })).then(
        (value) => {
          settle();
          resolve(value);
        },
        (caught: unknown) => {
          settle();
          reject(caught);
        },
      );
    } catch (caught) {
      settle();
      reject(caught);
    }
  });
}

/**
 * The BullMQ processor of one work queue: resolves the handler by job name, strips the DLQ
 * metadata, bounds the attempt by its timeout, maps permanent failures to
 * `UnrecoverableError`, and on the final failure writes the DLQ entry before BullMQ marks
 * the job failed (a crash in between re-runs the job; the DLQ id is deterministic, so the
 * entry lands once).
 */
export function createJobRunner(options: JobRunnerOptions, deps: JobRunnerDeps) {
  const { queue } = options;
  const logger = deps.logger.child({ component: 'job-runner', queue });
  const events = deps.events;

  async function deadLetter(job: Job, data: Record<string, unknown>, meta: ReturnType<typeof splitDlqMeta>['meta'], error: Error, now: Date): Promise<void> {
    const ref = { queue, jobId: String(job.id), name: job.name };
    try {
      const firstFailedAt = await firstFailureTime(job, deps.readLogs, now).catch(() => now);
      const entry = buildDeadLetterEntry({ job, queue, data, meta, error, attempts: job.attemptsMade + 1, firstFailedAt, lastFailedAt: now });
      const dlqId = await deps.deadLetters.add(entry);
      logger.warn({ jobId: job.id, name: job.name, dlqId, err: error }, 'job dead-lettered');
      events?.deadLettered(ref, error.message, job.attemptsMade + 1);
    } catch (caught) {
      // The job still ends in the failed set (kept), so the failure is not lost.
      logger.error({ jobId: job.id, err: toError(caught) }, 'could not write DLQ entry');
    }
  }

  return async function processJob(job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> {
    const started = performance.now();
    const { data, meta } = splitDlqMeta(job.data);
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const timeoutMs = effectiveTimeoutMs((job.opts as { timeoutMs?: unknown }).timeoutMs, options.maxTimeoutMs);
    const ref = events ? { queue, jobId: String(job.id), name: job.name } : undefined;
    if (ref) events!.started(ref, attempt);
    // Built on first use: a pino child per job costs more than an empty handler does.
    let jobLogger: Logger | undefined;
    const getJobLogger = (): Logger => (jobLogger ??= logger.child({ jobId: job.id, name: job.name }));
    const emitProgress = ref ? events!.progressEmitter(ref) : undefined;
    try {
      const handler = deps.registry.get(queue, job.name);
      if (handler === undefined) throw new PermanentJobError(`no handler for job name ${job.name} on ${queue}`, { code: 'no_handler' });
      const result = await runBounded(
        handler,
        {
          data,
          get logger() {
            return getJobLogger();
          },
          job: { id: String(job.id), name: job.name, queue, attempt, maxAttempts, timeoutMs },
          progress: async (percent, message) => {
            const value = Math.max(0, Math.min(100, Math.round(percent)));
            await job.updateProgress(value);
            if (message !== undefined) await job.log(message);
            emitProgress?.(value, message);
          },
        },
        timeoutMs,
        signal,
      );
      const durationMs = performance.now() - started;
      deps.observer?.finished(queue, job.name, 'completed', durationMs);
      if (ref) events!.completed(ref, durationMs, attempt);
      return result;
    } catch (caught) {
      const error = toError(caught);
      const now = new Date();
      deps.observer?.finished(queue, job.name, 'failed', performance.now() - started);
      const cancelled = error instanceof JobCancelledError;
      const permanent = isPermanentError(error);
      const final = permanent || attempt >= maxAttempts;
      if (ref) {
        events!.failed(ref, error.message, attempt, !final);
        if (cancelled) events!.cancelled(ref);
      }
      if (final && !cancelled) await deadLetter(job, data, meta, error, now);
      else if (!final) {
        await job.log(`${FAILED_ATTEMPT_LOG} ${attempt} at ${now.toISOString()}: ${error.message}`).catch((logError: unknown) => {
          getJobLogger().warn({ err: toError(logError) }, 'could not log failed attempt');
        });
      }
      getJobLogger().info({ attempt, maxAttempts, willRetry: !final, err: error }, 'job attempt failed');
      if (!permanent) throw error;
      const unrecoverable = new UnrecoverableError(error.message);
      if (error.stack !== undefined) unrecoverable.stack = error.stack;
      throw unrecoverable;
    }
  };
}
