import type { RedisClient } from '@event-infra/shared';
import { claimAndRun, compileTypePattern, decodeEvent, toError, type Logger } from '@event-infra/shared';
import { startPeriodic, type PeriodicTask } from '../periodic';
import type { Router } from '../router';
import { compareStreamIds, nextStreamId } from '../stream-replies';
import { ReplayConflictError, type ReplayTask, type ReplayTaskStore } from './replay-task';

export interface ReplayRunnerOptions {
  /** This runner's name (the processor's consumer name prefix: unique per process). */
  owner: string;
  /** `REPLAY_LEASE_MS`: a task whose owner has not written for this long is taken over, ms. */
  leaseMs: number;
  /** `REPLAY_POLL_MS`: how often running tasks are looked for, ms. */
  pollMs: number;
  /** `REPLAY_BATCH_SIZE`: entries read (and checkpointed) at once; less when the rate is low. */
  batchSize: number;
}

export interface ReplayRunnerDeps {
  store: ReplayTaskStore;
  /** Non-blocking client on the streams Redis. */
  streams: RedisClient;
  router: Router;
  logger: Logger;
}

type Counts = Pick<ReplayTask, 'handled' | 'skipped' | 'invalid' | 'failed' | 'lastError'>;

/**
 * Runs replay tasks to the live handlers, one at a time per process, in the background: looks
 * for running tasks it may claim, then reads each stream from the task's cursor with XRANGE, in
 * batches: `begin` records the batch in flight, its events matching the type pattern go through
 * the router in stream order (marked as a replay, no duplicate suppression) at the task's rate,
 * `checkpoint` moves the cursor past it. A write that conflicts means the task was cancelled or
 * taken over: the runner stops there. At close it checkpoints what it handled and releases the task.
 */
export class ReplayRunner {
  private readonly logger: Logger;
  private periodic: PeriodicTask | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** The id of the task this runner is running now, if any. */
  active: string | null = null;

  constructor(
    private readonly options: ReplayRunnerOptions,
    private readonly deps: ReplayRunnerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'replay' });
  }

  start(): void {
    this.periodic = startPeriodic('replay', this.options.pollMs, () => this.pollOnce(), this.logger);
  }

  /** Claims and runs (to its end, a conflict or close) every running task it may take. */
  async pollOnce(): Promise<void> {
    await claimAndRun(await this.deps.store.running(), {
      claim: async (id) => this.deps.store.claim(await this.deps.store.get(id), this.options.owner, this.options.leaseMs),
      run: async (task) => {
        this.logger.info({ taskId: task.id, cursor: task.cursor, uncertain: task.uncertain.length }, 'replay task claimed');
        this.active = task.id;
        try {
          await this.run(task);
        } finally {
          this.active = null;
        }
      },
      isStopping: () => this.stopping,
    });
  }

  private async run(claimed: ReplayTask): Promise<void> {
    let task = claimed;
    const matches = compileTypePattern(task.types);
    // About a second of work per batch at most (and a third of the lease): a cancel or a take-over
    // is seen at the next checkpoint, and a crash leaves at most one batch uncertain.
    const batchSize = Math.max(1, Math.min(this.options.batchSize, task.ratePerSec, Math.floor((task.ratePerSec * this.options.leaseMs) / 3000)));
    const gapMs = 1000 / task.ratePerSec;
    let nextAt = Date.now();
    try {
      while (!this.stopping) {
        const stream = task.streams.find((name) => compareStreamIds(task.cursor[name]!, task.to[name]!) <= 0);
        if (stream === undefined) {
          task = await this.deps.store.complete(task);
          this.logger.info({ taskId: task.id, handled: task.handled, failed: task.failed }, 'replay completed');
          return;
        }
        const counts: Counts = { handled: task.handled, skipped: task.skipped, invalid: task.invalid, failed: task.failed, lastError: task.lastError };
        const entries = await this.deps.streams.xrange(stream, task.cursor[stream]!, task.to[stream]!, 'COUNT', batchSize);
        if (entries.length === 0) {
          // Nothing (left) in the range: trimmed, or the end reached.
          task = await this.deps.store.checkpoint(task, stream, nextStreamId(task.to[stream]!), counts, this.options.leaseMs);
          continue;
        }
        task = await this.deps.store.begin(task, { stream, first: entries[0]![0], last: entries.at(-1)![0] }, this.options.leaseMs);
        let next = task.cursor[stream]!;
        for (const [entryId, fields] of entries) {
          if (this.stopping) break;
          await this.pace(nextAt);
          nextAt = Math.max(nextAt + gapMs, Date.now() - 1000);
          await this.replayEntry(task.id, entryId, fields, matches, counts);
          next = nextStreamId(entryId);
        }
        task = await this.deps.store.checkpoint(task, stream, next, counts, this.options.leaseMs);
      }
      task = await this.deps.store.release(task);
    } catch (caught) {
      if (!(caught instanceof ReplayConflictError)) throw caught;
      this.logger.warn({ taskId: task.id, err: caught }, 'replay task cancelled or taken over; this runner stops');
    }
  }

  private async replayEntry(taskId: string, entryId: string, fields: string[], matches: (type: string) => boolean, counts: Counts): Promise<void> {
    let event;
    try {
      event = decodeEvent(fields);
    } catch {
      // Invalid entries went to the DLQ on their live delivery; a replay only counts them.
      counts.invalid += 1;
      return;
    }
    if (!matches(event.type)) {
      counts.skipped += 1;
      return;
    }
    try {
      await this.deps.router.dispatch(event, { entryId, deliveries: 1, replay: { taskId } });
      counts.handled += 1;
    } catch (caught) {
      // A replay does not redeliver or dead-letter: the failure is counted and named on the task.
      counts.failed += 1;
      counts.lastError = `${entryId}: ${toError(caught).message}`.slice(0, 1000);
      this.logger.warn({ taskId, entryId, err: toError(caught) }, 'replayed event failed');
    }
  }

  /** Waits until `at` (the rate), cut short by close. */
  private async pace(at: number): Promise<void> {
    const waitMs = at - Date.now();
    if (waitMs <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** Stops after the entry in hand, checkpoints and releases the task. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.wake?.();
      await this.periodic?.stop();
    })();
    return this.closing;
  }
}
