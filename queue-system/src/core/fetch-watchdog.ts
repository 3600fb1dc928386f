import { toError, type Logger } from '@event-infra/shared';

/**
 * A BullMQ worker whose fetch loop has stopped (seen with BullMQ 6.7 on an ioredis Cluster after
 * a `kill -9` of its queue's master: the connections come back, the loop never sends BZPOPMIN
 * again, no error is emitted) leaves every later job of its queue waiting. The watchdog notices
 * it from outside: the worker runs nothing, started nothing for a while, and its queue has jobs
 * ready on two checks in a row (one interval apart, so a job added just now is not mistaken for
 * a stall: a live worker takes it within milliseconds). Then the pool replaces the worker.
 */
export interface FetchWatchdogOptions {
  /** How often workers are checked, ms. */
  intervalMs: number;
  /** A worker that started no job for this long is a candidate, ms. */
  stalledAfterMs: number;
}

/** What the watchdog needs to know about one worker, and how it asks for a replacement. */
export interface WatchedWorker {
  queue: string;
  /** Jobs this process runs on the queue now. */
  active(): number;
  /** Epoch ms of the worker's last job start (or of its own start). */
  lastStartedAt(): number;
  /** Jobs ready to run on the queue (wait + prioritized). */
  ready(): Promise<number>;
  /** Swaps the worker for a new one; `lastStartedAt` starts again from now. */
  replace(): void;
}

export interface FetchWatchdogDeps {
  workers: () => readonly WatchedWorker[];
  logger: Logger;
  now?: () => number;
}

export interface FetchWatchdog {
  /** One check of every worker (the timer calls it; exposed for tests). */
  check(): Promise<void>;
  close(): void;
}

/** Starts the periodic check (an unref'd timer; `close()` stops it). */
export function startFetchWatchdog(options: FetchWatchdogOptions, deps: FetchWatchdogDeps): FetchWatchdog {
  const now = deps.now ?? Date.now;
  // Queue → the last-start time seen by the previous check that found it idle with jobs ready.
  const suspects = new Map<string, number>();
  let running = false;

  const checkOne = async (worker: WatchedWorker): Promise<void> => {
    const startedAt = worker.lastStartedAt();
    if (worker.active() > 0 || now() - startedAt < options.stalledAfterMs) {
      suspects.delete(worker.queue);
      return;
    }
    const ready = await worker.ready();
    if (ready === 0) {
      suspects.delete(worker.queue);
      return;
    }
    if (suspects.get(worker.queue) !== startedAt) {
      suspects.set(worker.queue, startedAt);
      return;
    }
    suspects.delete(worker.queue);
    deps.logger.warn({ queue: worker.queue, ready, idleMs: now() - startedAt }, 'worker takes no job though jobs are ready: replacing it');
    worker.replace();
  };

  const check = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      for (const worker of deps.workers()) {
        await checkOne(worker).catch((caught: unknown) => {
          // Redis unavailable for the count: no decision this round.
          deps.logger.debug({ queue: worker.queue, err: toError(caught) }, 'fetch watchdog check failed');
        });
      }
    } finally {
      running = false;
    }
  };

  const timer = setInterval(() => void check(), options.intervalMs);
  timer.unref();
  return { check, close: () => clearInterval(timer) };
}
