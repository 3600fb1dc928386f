/**
 * The fetch watchdog's decision (pure logic, no Redis): a worker is replaced only when it runs
 * nothing, started nothing for `stalledAfterMs`, and its queue had jobs ready on two checks in a
 * row with no job started in between. The failover test (test/cluster) covers it on a real
 * cluster, where BullMQ's worker stops fetching.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@event-infra/testing';
import { startFetchWatchdog, type WatchedWorker } from '../src/core/fetch-watchdog';

function fakeWorker(state: { active: number; startedAt: number; ready: number }): WatchedWorker & { replaced: number } {
  const worker = {
    queue: 'async-processing',
    replaced: 0,
    active: () => state.active,
    lastStartedAt: () => state.startedAt,
    ready: async () => state.ready,
    replace: () => {
      worker.replaced += 1;
    },
  };
  return worker;
}

describe('fetch watchdog', () => {
  const options = { intervalMs: 60_000, stalledAfterMs: 10_000 };

  it('replaces an idle worker whose queue has ready jobs on two checks in a row', async () => {
    let now = 100_000;
    const state = { active: 0, startedAt: 50_000, ready: 3 };
    const worker = fakeWorker(state);
    const watchdog = startFetchWatchdog(options, { workers: () => [worker], logger: silentLogger(), now: () => now });
    try {
      await watchdog.check();
      expect(worker.replaced).toBe(0);
      now += 5_000;
      await watchdog.check();
      expect(worker.replaced).toBe(1);
      // After a replacement it needs two more suspicious checks.
      await watchdog.check();
      expect(worker.replaced).toBe(1);
    } finally {
      watchdog.close();
    }
  });

  it('leaves alone a worker that started a job between the checks, runs one, is recent, or has nothing ready', async () => {
    let now = 100_000;
    const state = { active: 0, startedAt: 50_000, ready: 3 };
    const worker = fakeWorker(state);
    const watchdog = startFetchWatchdog(options, { workers: () => [worker], logger: silentLogger(), now: () => now });
    try {
      await watchdog.check();
      state.startedAt = 60_000; // took a job since: a live loop, even if idle again now
      await watchdog.check();
      expect(worker.replaced).toBe(0);

      state.active = 1;
      await watchdog.check();
      await watchdog.check();
      expect(worker.replaced).toBe(0);

      state.active = 0;
      state.startedAt = now - 1_000;
      await watchdog.check();
      await watchdog.check();
      expect(worker.replaced).toBe(0);

      now += 20_000;
      state.ready = 0;
      await watchdog.check();
      await watchdog.check();
      expect(worker.replaced).toBe(0);
    } finally {
      watchdog.close();
    }
  });

  it('a failed count decides nothing', async () => {
    const worker = { ...fakeWorker({ active: 0, startedAt: 0, ready: 1 }), ready: async () => Promise.reject(new Error('CLUSTERDOWN')) };
    let replaced = 0;
    worker.replace = () => void (replaced += 1);
    const watchdog = startFetchWatchdog(options, { workers: () => [worker], logger: silentLogger(), now: () => 100_000 });
    try {
      await watchdog.check();
      await watchdog.check();
      expect(replaced).toBe(0);
    } finally {
      watchdog.close();
    }
  });
});
