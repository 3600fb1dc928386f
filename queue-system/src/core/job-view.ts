import type { Job } from 'bullmq';
import { JOB_TRACE_KEY, jobTraceOf } from '@event-infra/shared';
import { effectiveTimeoutMs } from './job-runner';

const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

/** The job's data without its trace (answered as `correlationId`). */
function withoutTrace(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || !(JOB_TRACE_KEY in data)) return data;
  const { [JOB_TRACE_KEY]: _trace, ...rest } = data as Record<string, unknown>;
  return rest;
}

/** The JSON shape of `GET /jobs/:queue/:id`. */
/**
 * `maxTimeoutMs` (MAX_JOB_DURATION in ms) gives the effective timeout of jobs that set none.
 * Stack traces (source paths, internals) are answered only with `exposeStacks` (`EXPOSE_STACKS`).
 */
export function toJobView(job: Job, queue: string, state: string, progressMessage: string | undefined, maxTimeoutMs: number, exposeStacks = false) {
  const opts = job.opts as Record<string, unknown>;
  return {
    id: String(job.id),
    name: job.name,
    queue,
    state,
    progress: job.progress,
    progressMessage: progressMessage ?? null,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    stalledCounter: job.stalledCounter,
    data: withoutTrace(job.data),
    /** The job's correlation (`data.__trace`), for `GET /timeline?correlationid=`. */
    correlationId: jobTraceOf(job.data)?.correlationId ?? null,
    opts: {
      attempts: opts.attempts,
      backoff: opts.backoff,
      priority: opts.priority ?? 0,
      delay: opts.delay ?? 0,
      timeoutMs: effectiveTimeoutMs(opts.timeoutMs, maxTimeoutMs),
    },
    returnValue: job.returnvalue ?? null,
    failedReason: job.failedReason || null,
    ...(exposeStacks ? { stacktrace: job.stacktrace ?? [] } : {}),
    timestamps: {
      created: iso(job.timestamp),
      processed: iso(job.processedOn),
      finished: iso(job.finishedOn),
    },
  };
}
