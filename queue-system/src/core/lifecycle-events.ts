import { toError, type EventPublisher, type JobTrace, type Logger } from '@event-infra/shared';

export interface JobRef {
  queue: string;
  jobId: string;
  name: string;
  /** The job's trace: its events carry its correlation and cause (not part of their data). */
  trace?: JobTrace | undefined;
}

/**
 * Job lifecycle events on the stream (`job.started`, `job.progress`, `job.completed`,
 * `job.failed`, `job.dead-lettered`, `job.cancelled`). Every publish is fire-and-forget: a
 * failure is logged and never fails or delays the job.
 */
export interface LifecycleEvents {
  started(job: JobRef, attempt: number): void;
  /** Call on every progress report; emits at most one event per interval per job (and always 100). */
  progressEmitter(job: JobRef): (progress: number, message?: string) => void;
  completed(job: JobRef, durationMs: number, attempts: number): void;
  failed(job: JobRef, error: string, attempt: number, willRetry: boolean): void;
  deadLettered(job: JobRef, error: string, attempts: number): void;
  cancelled(job: JobRef): void;
}

export interface LifecycleEventsOptions {
  /** Minimum interval between two `job.progress` events of one job, ms. */
  progressIntervalMs: number;
}

/** Events limited to the schema's sizes. */
const MAX_ERROR_CHARS = 8192;

export function createLifecycleEvents(
  options: LifecycleEventsOptions,
  deps: { publisher: EventPublisher; logger: Logger },
): LifecycleEvents {
  const logger = deps.logger.child({ component: 'lifecycle-events' });
  const emit = (type: string, withTrace: Record<string, unknown> & { trace?: JobTrace | undefined }): void => {
    const { trace, ...data } = withTrace;
    const event = {
      type,
      data,
      subject: String(data.jobId),
      correlationid: trace?.correlationId,
      causationid: trace?.causationId,
      // The attempt's span (tracing on) or the job's trace context: consumers continue its trace.
      traceparent: trace?.traceparent,
      tracestate: trace?.traceparent !== undefined ? trace.tracestate : undefined,
    };
    deps.publisher.publish(event).catch((caught: unknown) => {
      logger.warn({ err: toError(caught), type, jobId: data.jobId }, 'lifecycle event not published');
    });
  };
  return {
    started: (job, attempt) => emit('job.started', { ...job, attempt }),
    progressEmitter(job) {
      let last = 0;
      return (progress, message) => {
        const now = Date.now();
        if (progress < 100 && now - last < options.progressIntervalMs) return;
        last = now;
        emit('job.progress', { ...job, progress, ...(message !== undefined ? { message: message.slice(0, 1024) } : {}) });
      };
    },
    completed: (job, durationMs, attempts) => emit('job.completed', { ...job, durationMs, attempts }),
    failed: (job, error, attempt, willRetry) =>
      emit('job.failed', { ...job, error: error.slice(0, MAX_ERROR_CHARS), attempt, willRetry }),
    deadLettered: (job, error, attempts) => emit('job.dead-lettered', { ...job, error: error.slice(0, MAX_ERROR_CHARS), attempts }),
    cancelled: (job) => emit('job.cancelled', { ...job }),
  };
}
