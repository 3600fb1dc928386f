import { NotFoundError } from '../errors';
import { TransitionConflictError } from './task-transition';

export interface ClaimAndRunSteps<T> {
  /** Reads the task and applies its claim transition (owner and lease). */
  claim(id: string): Promise<T>;
  /** Runs a claimed task to its end, a lost write or the runner's close. */
  run(task: T): Promise<void>;
  /** True once the runner is closing: no further task is claimed. */
  isStopping(): boolean;
}

/**
 * One poll of a lease-fenced task runner: claims each of `ids` in turn and runs it before the
 * next. A task another runner holds, one that finished meanwhile (a `TransitionConflictError`)
 * or one that is gone (`NotFoundError`) is passed over; any other error ends the poll.
 */
export async function claimAndRun<T>(ids: readonly string[], steps: ClaimAndRunSteps<T>): Promise<void> {
  for (const id of ids) {
    if (steps.isStopping()) return;
    let task: T;
    try {
      task = await steps.claim(id);
    } catch (caught) {
      if (caught instanceof TransitionConflictError || caught instanceof NotFoundError) continue;
      throw caught;
    }
    await steps.run(task);
  }
}
