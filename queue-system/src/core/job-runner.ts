import type { Job } from 'bullmq';
import { UnrecoverableError } from '@event-infra/shared/bullmq';
import {
  PermanentJobError,
  buildJobDeadLetterEntry,
  dataWithFirstFailure,
  isPermanentError,
  jobCauseId,
  jobTraceOf,
  redactError,
  withJobTrace,
  splitReservedMeta,
  toError,
  type DeadLetterSink,
  type JobDlqMeta,
  type JobTrace,
  type Logger,
  type SpanHandle,
  type TimelineRecorder,
  type Tracing,
} from '@event-infra/shared';
import type { HandlerRegistry } from './handler-registry';
import { JobAttempt, type AttemptShared } from './job-attempt';
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
  /** Configured secrets (`secretsOf(config)`): removed, with URL credentials, from failure messages. */
  secrets?: readonly string[];
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
  logger: Logger;
  /** Records each attempt in the job's timeline (absent: TIMELINE_ENABLED off). */
  timeline?: TimelineRecorder | undefined;
  /** One span per attempt, child of the job's `traceparent` (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

/** Progress percentages recorded in the timeline: each one once per attempt, when first reached or passed. */
const PROGRESS_MILESTONES_PCT = 25;

/** `timeoutMs` from the job's options, capped by `maxTimeoutMs` (the default when absent). */
export function effectiveTimeoutMs(requested: unknown, maxTimeoutMs: number): number {
  return typeof requested === 'number' && requested > 0 ? Math.min(requested, maxTimeoutMs) : maxTimeoutMs;
}

/**
 * The BullMQ processor of one work queue: resolves the handler by job name, strips the
 * reserved metadata (`splitReservedMeta`), bounds the attempt by its timeout, maps permanent failures to
 * `UnrecoverableError`, and on the final failure writes the DLQ entry before BullMQ marks
 * the job failed (a crash in between re-runs the job; the DLQ id is deterministic, so the
 * entry lands once).
 */
export function createJobRunner(options: JobRunnerOptions, deps: JobRunnerDeps) {
  const { queue } = options;
  const logger = deps.logger.child({ component: 'job-runner', queue });
  const events = deps.events;

  const timeline = deps.timeline;
  /** One step of the job's timeline, when it has a trace and the timeline is on. */
  const step = (
    trace: JobTrace | undefined,
    jobId: string,
    kind: 'job.started' | 'job.progress' | 'job.completed' | 'job.failed' | 'job.dead-lettered',
    detail: Record<string, unknown>,
    atMs?: number,
  ): void => {
    if (timeline === undefined || trace === undefined) return;
    timeline.record(trace.correlationId, { kind, subject: jobCauseId(queue, jobId), cause: trace.causationId, detail, atMs });
  };
  // The two steps of every attempt, written from bytes made once for this queue (the same stored form as `step`'s).
  const startedForm = timeline?.jobStepForm('job.started', queue, 'attempt', 'maxAttempts');
  const completedForm = timeline?.jobStepForm('job.completed', queue, 'attempt', 'durationMs');

  async function deadLetter(job: Job, data: Record<string, unknown>, meta: JobDlqMeta, error: Error, now: Date, trace: JobTrace | undefined): Promise<void> {
    const ref = { queue, jobId: String(job.id), name: job.name, trace };
    try {
      const entry = buildJobDeadLetterEntry({
        queue,
        jobId: String(job.id),
        name: job.name,
        data,
        opts: job.opts as Record<string, unknown>,
        meta,
        error,
        attempts: job.attemptsMade + 1,
        lastFailedAt: now,
        trace,
      });
      const dlqId = await deps.deadLetters.add(entry);
      // At the failure's time (as `job.failed`, recorded before it), not after the add: the DLQ
      // processor may record `dlq.received` before the add's reply is back here, and the
      // timeline orders steps by time (then by arrival).
      step(trace, String(job.id), 'job.dead-lettered', { attempts: job.attemptsMade + 1, error: error.message }, now.getTime());
      logger.warn({ jobId: job.id, name: job.name, dlqId, err: error }, 'job dead-lettered');
      events?.deadLettered(ref, error.message, job.attemptsMade + 1);
    } catch (caught) {
      // The job still ends in the failed set (kept), so the failure is not lost.
      logger.error({ jobId: job.id, err: toError(caught) }, 'could not write DLQ entry');
    }
  }

  const running = new Map<string, JobAttempt>();
  // Rate-limited progress events, one emitter per running job.
  const progressEmitters = new Map<string, ReturnType<LifecycleEvents['progressEmitter']>>();
  // Timeline milestones of a running traced attempt (`attempt.timelineTrace`, cleared when it ends): the last one recorded (0, 25, 50, 75, 100).
  const milestone = (attempt: JobAttempt, percent: number, message: string | undefined): void => {
    const trace = attempt.timelineTrace;
    if (trace === undefined) return;
    const reached = Math.floor(percent / PROGRESS_MILESTONES_PCT) * PROGRESS_MILESTONES_PCT;
    if (reached <= attempt.milestoneReached) return;
    attempt.milestoneReached = reached;
    step(trace, attempt.id, 'job.progress', { attempt: attempt.attempt, percent: reached, ...(message !== undefined ? { message } : {}) });
  };
  const shared: AttemptShared = {
    queue,
    logger,
    running,
    onProgress:
      events || timeline
        ? (attempt, percent, message) => {
            if (timeline !== undefined) milestone(attempt, percent, message);
            if (events === undefined) return;
            let emit = progressEmitters.get(attempt.id);
            if (emit === undefined) {
              emit = events.progressEmitter({ queue, jobId: attempt.id, name: attempt.bullJob.name });
              progressEmitters.set(attempt.id, emit);
            }
            emit(percent, message);
          }
        : undefined,
  };

  async function processJob(job: Job): Promise<unknown> {
    const started = performance.now();
    const { data, meta } = splitReservedMeta(job.data);
    const trace = jobTraceOf(job.data);
    const attemptNumber = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const timeoutMs = effectiveTimeoutMs((job.opts as { timeoutMs?: unknown }).timeoutMs, options.maxTimeoutMs);
    const attempt = new JobAttempt(job, data, timeoutMs, attemptNumber, maxAttempts, shared);
    let span: SpanHandle | undefined;
    if (deps.tracing !== undefined) {
      span = deps.tracing.start(`job ${queue} ${job.name}`, {
        kind: 'consumer',
        parent: trace?.traceparent !== undefined ? { traceparent: trace.traceparent, tracestate: trace.tracestate } : undefined,
        attributes: { 'job.queue': queue, 'job.id': attempt.id, 'job.name': job.name, 'job.attempt': attemptNumber, 'job.max_attempts': maxAttempts },
      });
    }
    // What the attempt causes (lifecycle events, the DLQ entry) names the attempt's span as its parent.
    const causedTrace = span !== undefined && trace !== undefined ? { ...trace, traceparent: span.traceparent } : trace;
    const ref = events ? { queue, jobId: attempt.id, name: job.name, trace: causedTrace } : undefined;
    if (ref) events!.started(ref, attemptNumber);
    if (startedForm !== undefined && trace !== undefined) {
      timeline!.recordJobStep(trace.correlationId, startedForm, attempt.id, trace.causationId, attemptNumber, maxAttempts);
      attempt.timelineTrace = trace;
    }
    try {
      const handler = deps.registry.get(queue, job.name);
      if (handler === undefined) throw new PermanentJobError(`no handler for job name ${job.name} on ${queue}`, { code: 'no_handler' });
      const result = await attempt.run(handler);
      const durationMs = performance.now() - started;
      deps.observer?.finished(queue, job.name, 'completed', durationMs);
      if (ref) events!.completed(ref, durationMs, attemptNumber);
      if (completedForm !== undefined && trace !== undefined) timeline!.recordJobStep(trace.correlationId, completedForm, attempt.id, trace.causationId, attemptNumber, Math.round(durationMs));
      span?.end();
      return result;
    } catch (caught) {
      // Redacted once, here: the failedReason, the job log, the event, the DLQ entry and the
      // log line below all carry this message.
      const error = redactError(toError(caught), options.secrets);
      const now = new Date();
      deps.observer?.finished(queue, job.name, 'failed', performance.now() - started);
      const cancelled = error instanceof JobCancelledError;
      const permanent = isPermanentError(error);
      const final = permanent || attemptNumber >= maxAttempts;
      step(trace, attempt.id, 'job.failed', { attempt: attemptNumber, error: error.message, willRetry: !final && !permanent, permanent }, now.getTime());
      if (ref) {
        events!.failed(ref, error.message, attemptNumber, !final);
        if (cancelled) events!.cancelled(ref);
      }
      span?.setAttributes({ 'job.will_retry': !final && !permanent });
      span?.end(error);
      if (final && !cancelled) await deadLetter(job, data, meta, error, now, causedTrace);
      else if (!final && meta.firstFailedAt === undefined) {
        // The first failure time travels in the job's reserved data (one write, on the first failure only).
        await job.updateData(withJobTrace(dataWithFirstFailure(data, meta, now), trace)).catch((updateError: unknown) => {
          attempt.logger.warn({ err: toError(updateError) }, 'could not record the first failure time');
        });
      }
      attempt.logger.info({ attempt: attemptNumber, maxAttempts, willRetry: !final, err: error }, 'job attempt failed');
      if (!permanent) throw error;
      const unrecoverable = new UnrecoverableError(error.message);
      if (error.stack !== undefined) unrecoverable.stack = error.stack;
      throw unrecoverable;
    } finally {
      if (ref) progressEmitters.delete(attempt.id);
      // A progress report that lands after the attempt's end records no milestone.
      attempt.timelineTrace = undefined;
    }
  }

  return {
    processJob,
    /** Aborts the job's running attempt in this process; false when it does not run here. */
    cancel(jobId: string): boolean {
      const attempt = running.get(jobId);
      if (attempt === undefined) return false;
      attempt.abort(new JobCancelledError());
      return true;
    },
  };
}

