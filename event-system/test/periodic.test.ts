/** Periodic tasks: no overlap, a failure does not stop the schedule, stop waits for the run. */
import { describe, expect, it } from 'vitest';
import { captureLogger, waitFor } from '@event-infra/testing';
import { startPeriodic } from '../src/core/periodic';

describe('periodic task', () => {
  it('runs every interval, logs a failure and goes on; runNow rejects with the error', async () => {
    const { logger, lines } = captureLogger();
    let runs = 0;
    const task = startPeriodic(
      'flaky',
      5,
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('first run fails');
      },
      logger,
    );
    await waitFor(() => runs >= 3, 'three runs despite the first failure');
    await task.stop();
    const failure = lines.find((line) => line.msg === 'periodic task failed');
    expect(failure).toMatchObject({ task: 'flaky', err: { message: 'first run fails' } });
    const stopped = runs;
    await expect(task.runNow()).resolves.toBeUndefined();
    expect(runs).toBe(stopped + 1);
    const failing = startPeriodic('never', 60_000, async () => Promise.reject(new Error('on demand')), logger);
    await expect(failing.runNow()).rejects.toThrow('on demand');
    await failing.stop();
  });

  it('never overlaps runs: runNow waits for the one in progress; stop waits too and ends the schedule', async () => {
    const { logger } = captureLogger();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const task = startPeriodic(
      'slow',
      1,
      async () => {
        runs += 1;
        active += 1;
        maxActive = Math.max(maxActive, active);
        if (runs === 1) await gate;
        active -= 1;
      },
      logger,
    );
    await waitFor(() => runs === 1, 'first run started');
    const extra = task.runNow();
    const stopping = task.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await extra;
    await stopping;
    expect(maxActive).toBe(1);
  });
});
