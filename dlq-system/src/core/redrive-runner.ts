import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { claimAndRun, toError, type Logger } from '@event-infra/shared';
import type { DlqHandler } from './dlq-handler';
import { TaskConflictError, type RedriveTask, type RedriveTaskStore } from './redrive-task';

export interface RedriveRunnerOptions {
  /** A claimed task is this runner's for this long after each checkpoint, ms (`DLQ_REDRIVE_LEASE_MS`). */
  leaseMs: number;
  /** How often live tasks are looked for, ms. */
  pollMs: number;
  /** Most entries one batch (one begin/checkpoint pair) sends. */
  batchMax: number;
  /** Entries of a batch sent at once. */
  concurrency: number;
  /** This process's name as a task owner; default host, pid and random. */
  owner?: string;
}

export interface RedriveRunnerDeps {
  tasks: RedriveTaskStore;
  handler: DlqHandler;
  logger: Logger;
}

type Counts = Pick<RedriveTask, 'done' | 'skipped' | 'failed' | 'lastError'>;

/**
 * Runs redrive tasks, one at a time per process: claims a live task whose lease ran out (the
 * task's owner and version fence every later write), then sends its frozen selection back
 * in batches on a token schedule (entry n is due `n / rate` s after the run began, so the rate
 * does not drift with the time each batch takes). Each entry goes through the entry's own
 * `startRetry` transition: an entry no longer parked is skipped, so two runners, or a
 * restarted one, never retry an entry twice. A batch interrupted by a crash (its `inflight`
 * range) is checked again when the task is claimed: entries retried since the batch began
 * have that same retry sent again (idempotent), the others are handled as usual.
 */
export class RedriveRunner {
  private readonly logger: Logger;
  private readonly owner: string;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private closing = false;
  private wakeSleep: (() => void) | undefined;

  constructor(
    private readonly options: RedriveRunnerOptions,
    private readonly deps: RedriveRunnerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'redrive-runner' });
    this.owner = options.owner ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.wake();
  }

  /** Looks for a task now (a task was just created here). */
  wake(): void {
    if (this.closing || this.current !== undefined) return;
    this.current = this.poll()
      .catch((caught: unknown) => this.logger.warn({ err: toError(caught) }, 'redrive poll failed'))
      .finally(() => {
        this.current = undefined;
      });
  }

  /** Claims and runs each live task it may take (one held by another runner, finished meanwhile or gone is passed over). */
  private async poll(): Promise<void> {
    await claimAndRun(await this.deps.tasks.live(), {
      claim: async (id) => this.deps.tasks.claim(await this.deps.tasks.get(id), this.owner, this.options.leaseMs),
      run: async (task) => {
        this.logger.info({ taskId: task.id, cursor: task.cursor, selected: task.selected }, 'redrive task claimed');
        await this.run(task);
      },
      isStopping: () => this.closing,
    });
  }

  private async run(claimed: RedriveTask): Promise<void> {
    let task = claimed;
    try {
      if (task.inflight !== null) task = await this.resume(task);
      const began = Date.now();
      let sent = 0;
      while (!this.closing) {
        if (task.cursor >= task.selected) {
          task = await this.deps.tasks.finish(task);
          this.logger.info({ taskId: task.id, done: task.done, skipped: task.skipped, failed: task.failed }, 'redrive task done');
          return;
        }
        const due = Math.floor(((Date.now() - began) * task.rate) / 1000) + 1 - sent;
        if (due <= 0) {
          await this.sleep(began + (sent * 1000) / task.rate - Date.now());
          continue;
        }
        const count = Math.min(due, this.options.batchMax, task.selected - task.cursor);
        const range = { from: task.cursor, to: task.cursor + count };
        task = await this.deps.tasks.begin(task, range, this.options.leaseMs);
        const ids = await this.deps.tasks.selection(task.id, range.from, range.to);
        if (ids.length < count) {
          // The frozen selection is gone or short (deleted by hand, or expired): nothing left to send.
          task = await this.deps.tasks.fail(task, `selection lost at position ${range.from + ids.length} of ${task.selected}`);
          this.logger.error({ taskId: task.id, lastError: task.lastError }, 'redrive task failed');
          return;
        }
        const counts = await this.batch(task, ids, undefined);
        task = await this.deps.tasks.checkpoint(task, { cursor: range.to, ...counts }, this.options.leaseMs);
        sent += count;
      }
      task = await this.deps.tasks.release(task);
    } catch (caught) {
      if (caught instanceof TaskConflictError) {
        this.logger.info({ taskId: task.id, details: caught.details }, 'redrive task lost (cancelled or taken over): stopped');
        return;
      }
      // Redis trouble: stop; the lease runs out and a runner (this one too) claims it again.
      this.logger.error({ err: toError(caught), taskId: task.id }, 'redrive run stopped');
    }
  }

  /** The batch a crashed runner had begun: its entries are handled again (see the class comment). */
  private async resume(task: RedriveTask): Promise<RedriveTask> {
    const inflight = task.inflight!;
    this.logger.warn({ taskId: task.id, ...inflight }, 'redrive task resumed after an interrupted batch');
    const counts = await this.batch(task, await this.deps.tasks.selection(task.id, inflight.from, inflight.to), inflight.sinceMs);
    return this.deps.tasks.checkpoint(task, { cursor: inflight.to, ...counts }, this.options.leaseMs);
  }

  /** Sends `ids` back, `concurrency` at a time; resolves with the task's counts after them. */
  private async batch(task: RedriveTask, ids: string[], resumedSinceMs: number | undefined): Promise<Counts> {
    const counts: Counts = { done: task.done, skipped: task.skipped, failed: task.failed, lastError: task.lastError };
    const via = task.filter ?? { fingerprint: task.fingerprint };
    const one = async (id: string): Promise<void> => {
      try {
        if (resumedSinceMs !== undefined && (await this.deps.handler.resendInterrupted(id, resumedSinceMs))) {
          counts.done += 1;
          return;
        }
        const outcome = await this.deps.handler.redriveOne(id, task.createdBy, { ...via, taskId: task.id });
        if (outcome === 'retried') counts.done += 1;
        else counts.skipped += 1;
      } catch (caught) {
        const err = toError(caught);
        counts.failed += 1;
        counts.lastError = `${id}: ${err.message}`.slice(0, 500);
        this.logger.warn({ err, taskId: task.id, entryId: id }, 'redrive of one entry failed');
      }
    };
    for (let at = 0; at < ids.length; at += this.options.concurrency) {
      await Promise.all(ids.slice(at, at + this.options.concurrency).map(one));
    }
    return counts;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, Math.min(ms, 1_000)));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  /** Stops after the batch in flight and releases the task (another runner may take it at once). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.wakeSleep?.();
    await this.current;
  }
}
