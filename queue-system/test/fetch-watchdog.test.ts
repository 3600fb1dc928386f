/**
 * The fetch watchdog's decision (pure logic, no Redis): a worker is replaced only when it runs
 * nothing, started nothing for `stalledAfterMs`, and its queue had jobs ready on two checks in a
 * row with no job started in between. The failover test (test/cluster) covers it on a real
 * cluster, where BullMQ's worker stops fetching. The last test runs the real worker pool on a
 * real Redis: a queue whose workers idle on purpose (a global rate limit or concurrency, set from
 * Bull Board) is never taken for a stalled one.
 */
import { Queue, Worker } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES, bullPrefix, createDeadLetterSink } from '@event-infra/shared';
import { captureLogger, silentLogger, startRedisServer, waitFor, type RedisServer } from '@event-infra/testing';
import { startFetchWatchdog, type WatchedWorker } from '../src/core/fetch-watchdog';
import { HandlerRegistry } from '../src/core/handler-registry';
import { createJobRunner } from '../src/core/job-runner';
import { startWorkerPool } from '../src/core/worker-pool';

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

  /** Runs `body` with a watchdog over `worker` on the clock `now`, closed after. */
  async function withWatchdog(worker: WatchedWorker, now: () => number, body: (check: () => Promise<void>) => Promise<void>): Promise<void> {
    const watchdog = startFetchWatchdog(options, { workers: () => [worker], logger: silentLogger(), now });
    try {
      await body(() => watchdog.check());
    } finally {
      watchdog.close();
    }
  }

  it('replaces an idle worker whose queue has ready jobs on two checks in a row', async () => {
    let now = 100_000;
    const state = { active: 0, startedAt: 50_000, ready: 3 };
    const worker = fakeWorker(state);
    await withWatchdog(worker, () => now, async (check) => {
      await check();
      expect(worker.replaced).toBe(0);
      now += 5_000;
      await check();
      expect(worker.replaced).toBe(1);
      // After a replacement it needs two more suspicious checks.
      await check();
      expect(worker.replaced).toBe(1);
    });
  });

  it('leaves alone a worker that started a job between the checks, runs one, is recent, or has nothing ready', async () => {
    let now = 100_000;
    const state = { active: 0, startedAt: 50_000, ready: 3 };
    const worker = fakeWorker(state);
    await withWatchdog(worker, () => now, async (check) => {
      await check();
      state.startedAt = 60_000; // took a job since: a live loop, even if idle again now
      await check();
      expect(worker.replaced).toBe(0);

      state.active = 1;
      await check();
      await check();
      expect(worker.replaced).toBe(0);

      state.active = 0;
      state.startedAt = now - 1_000;
      await check();
      await check();
      expect(worker.replaced).toBe(0);

      now += 20_000;
      state.ready = 0;
      await check();
      await check();
      expect(worker.replaced).toBe(0);
    });
  });

  it('a failed count decides nothing', async () => {
    const worker = { ...fakeWorker({ active: 0, startedAt: 0, ready: 1 }), ready: async () => Promise.reject(new Error('CLUSTERDOWN')) };
    let replaced = 0;
    worker.replace = () => void (replaced += 1);
    await withWatchdog(worker, () => 100_000, async (check) => {
      await check();
      await check();
      expect(replaced).toBe(0);
    });
  });
});

describe('fetch watchdog on the real worker pool', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // A rate limit of one job a minute, or a global concurrency of one taken by a job that another
  // process (a plain BullMQ worker here) runs: the other jobs wait in `wait` while this pool's
  // worker runs nothing, and that is no stall.
  for (const limit of ['rate limit', 'global concurrency'] as const) {
    it(`does not replace the worker of a queue held back by its ${limit}`, async () => {
      const name = QUEUES.asyncProcessing;
      const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
      const queue = new Queue(name, { connection, prefix: bullPrefix(name, false) });
      await queue.obliterate({ force: true });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const registry = new HandlerRegistry().register({ name: 'test.step', handler: () => undefined });
      let other: Worker | undefined;
      if (limit === 'rate limit') await queue.setGlobalRateLimit(1, 60_000);
      else {
        await queue.setGlobalConcurrency(1);
        other = new Worker(name, () => held, { connection: new IORedis(redis.url, { maxRetriesPerRequest: null }), prefix: bullPrefix(name, false) });
        await queue.add('test.step', { n: 0 });
        await waitFor(async () => ((await queue.getJobCounts('active')).active === 1) || undefined, 'the other process running the one job allowed', { timeoutMs: 10_000 });
        await other.pause(true);
      }
      const deadLetters = createDeadLetterSink({ queueName: QUEUES.deadLetter, connection });
      const captured = captureLogger();
      let completed = 0;
      const pool = await startWorkerPool(
        {
          queues: [{ name, concurrency: 2 }],
          lockDurationMs: 30_000,
          stalledIntervalMs: 30_000,
          maxStalledCount: 1,
          keepCompleted: 100,
          keepFailed: 100,
          fetchWatchdog: { intervalMs: 100, stalledAfterMs: 200 },
        },
        {
          connect: () => new IORedis(redis.url, { maxRetriesPerRequest: null }),
          runnerFor: (queueName) =>
            createJobRunner(
              { queue: queueName, maxTimeoutMs: 60_000 },
              { registry, deadLetters, logger: silentLogger(), observer: { finished: (_q, _n, status) => void (status === 'completed' && (completed += 1)) } },
            ),
          deadLetters,
          logger: captured.logger,
        },
      );
      try {
        if (limit === 'rate limit') {
          await queue.addBulk([0, 1, 2, 3].map((n) => ({ name: 'test.step', data: { n } })));
          await waitFor(async () => completed === 1 || undefined, 'the one job the rate limit lets through', { timeoutMs: 10_000 });
        } else {
          await queue.addBulk([1, 2, 3].map((n) => ({ name: 'test.step', data: { n } })));
        }
        // Fifteen checks or more with three jobs waiting.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect((await queue.getJobCounts('wait')).wait).toBe(3);
        expect(captured.lines.filter((line) => String(line.msg).includes('replacing it'))).toEqual([]);
        expect(completed).toBe(limit === 'rate limit' ? 1 : 0);
      } finally {
        release();
        await other?.close(true);
        await pool.close(5_000);
        await deadLetters.close();
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
        connection.disconnect();
      }
    }, 30_000);
  }
});
