import { toError, type Logger } from '@event-infra/shared';

export interface PeriodicTask {
  /** Runs the task now (waits for a run in progress first); rejects with its error. */
  runNow(): Promise<void>;
  /** No further runs; waits for the one in progress. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs` (measured from the end of the previous run, so runs never
 * overlap). A failure is logged and the schedule goes on: a stray throw cannot stop it.
 */
export function startPeriodic(name: string, intervalMs: number, task: () => Promise<unknown>, logger: Logger): PeriodicTask {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const runOnce = (): Promise<void> => {
    const run = current.then(async () => {
      await task();
    });
    current = run.catch(() => undefined);
    return run;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((caught: unknown) => logger.error({ err: toError(caught), task: name }, 'periodic task failed'))
        .finally(schedule);
    }, intervalMs);
  };
  schedule();
  return {
    runNow: runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
