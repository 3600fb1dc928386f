import type { Job } from 'bullmq';
import { JobTimeoutError, type JobTrace, type Logger } from '@event-infra/shared';
import type { JobHandler, JobHandlerContext, JobInfo } from './handler-registry';

/** What every attempt of one runner shares. */
export interface AttemptShared {
  queue: string;
  logger: Logger;
  /** Attempts running now in this process, by job id (for cancel). */
  running: Map<string, JobAttempt>;
  /** Called after each stored progress report (rate-limited events). */
  onProgress?: ((attempt: JobAttempt, percent: number, message: string | undefined) => void) | undefined;
}

function onTimeout(attempt: JobAttempt): void {
  attempt.abort(new JobTimeoutError(attempt.timeoutMs));
}

/**
 * One attempt of one job: the handler's context and its time bound. At the deadline, or on
 * `abort(reason)` (cancel), the attempt rejects at once and the handler's signal aborts with
 * the reason; a handler that ignores its signal still loses (its promise is left to settle
 * on its own). Everything the handler may not use (signal, logger, job info, bound
 * `progress`) is built on first access, and the methods live on the prototype: an empty
 * handler costs a handful of allocations, which keeps the worker path close to bare BullMQ.
 */
export class JobAttempt implements JobHandlerContext {
  readonly id: string;
  private controller: AbortController | undefined;
  private abortReason: Error | undefined;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private resolveRun: ((value: unknown) => void) | undefined;
  private rejectRun: ((reason: unknown) => void) | undefined;
  private childLogger: Logger | undefined;
  private info: JobInfo | undefined;
  private boundProgress: JobHandlerContext['progress'] | undefined;
  /** The job runner's timeline state: the trace while this attempt records progress milestones (undefined: none, or it ended), and the last milestone recorded. */
  timelineTrace: JobTrace | undefined;
  milestoneReached = -1;

  constructor(
    readonly bullJob: Job,
    readonly data: Record<string, unknown>,
    readonly timeoutMs: number,
    readonly attempt: number,
    readonly maxAttempts: number,
    private readonly shared: AttemptShared,
  ) {
    this.id = String(bullJob.id);
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get logger(): Logger {
    return (this.childLogger ??= this.shared.logger.child({ jobId: this.id, name: this.bullJob.name }));
  }

  get job(): JobInfo {
    return (this.info ??= {
      id: this.id,
      name: this.bullJob.name,
      queue: this.shared.queue,
      attempt: this.attempt,
      maxAttempts: this.maxAttempts,
      timeoutMs: this.timeoutMs,
    });
  }

  /** Bound, so handlers can destructure it. */
  get progress(): JobHandlerContext['progress'] {
    return (this.boundProgress ??= this.reportProgress.bind(this));
  }

  /** Runs `handler` with this attempt as its context, bounded by `timeoutMs`. */
  run(handler: JobHandler): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.resolveRun = resolve;
      this.rejectRun = reject;
      this.timer = setTimeout(onTimeout, this.timeoutMs, this);
      this.shared.running.set(this.id, this);
      let result: unknown;
      try {
        result = handler(this);
      } catch (caught) {
        this.settle(false, caught);
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (value: unknown) => this.settle(true, value),
          (caught: unknown) => this.settle(false, caught),
        );
      } else {
        this.settle(true, result);
      }
    });
  }

  /** Ends the attempt now with `reason` (timeout, cancel) and aborts the handler's signal. */
  abort(reason: Error): void {
    if (this.settled) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.settle(false, reason);
  }

  private settle(ok: boolean, value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.shared.running.get(this.id) === this) this.shared.running.delete(this.id);
    if (ok) this.resolveRun!(value);
    else this.rejectRun!(value);
  }

  private async reportProgress(percent: number, message?: string): Promise<void> {
    const value = Math.max(0, Math.min(100, Math.round(percent)));
    await this.bullJob.updateProgress(value);
    if (message !== undefined) await this.bullJob.log(message);
    this.shared.onProgress?.(this, value, message);
  }
}
