import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { BULL_PREFIX, DLQ_META_KEY, REDIS_ROLES, createRedis, waitForRedis } from '@event-infra/shared';
import { freePort, silentLogger, startRedisServer, uniqueName, waitFor } from '@event-infra/testing';
import { DlqStore } from '../src/core/dlq-store';
import { dlqKeys } from '../src/core/stored-entry';
import { spawnDlqProcessor, testEnv } from './support/dlq-harness';
import { putEntries, storedEntry } from './support/stored-entries';

/**
 * Entries selected; at 1,000/s the runner's batches follow each other, so the kill lands inside
 * one (its `inflight` range). The kill comes after an eighth: the task still has 1.75 s to go
 * then, room for a loaded machine between seeing the count and the kill.
 */
const SELECTED = 2_000;

describe('a redrive task survives kill -9 of its DLQ processor', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('resumes after the lease runs out: every selected entry is retried exactly once', async () => {
    const master = await startRedisServer({ appendOnly: true });
    cleanups.push(() => master.stop());
    const port = await freePort();
    const env = testEnv(master, { DLQ_PROCESSOR_PORT: String(port), DLQ_MAX_RETRIES: '0', DLQ_REDRIVE_LEASE_MS: '1500', DLQ_REDRIVE_POLL_MS: '200' });
    const url = `http://127.0.0.1:${port}`;
    const origin = uniqueName('crash-redrive');
    const logger = silentLogger();
    const masterClient = createRedis({ url: master.url, role: REDIS_ROLES.master, profile: 'producer', logger });
    const queueClient = createRedis({ url: env.REDIS_QUEUE_URL!, role: REDIS_ROLES.queue, profile: 'producer', logger });
    await Promise.all([waitForRedis(masterClient, 'master'), waitForRedis(queueClient, 'queue')]);
    const queue = new Queue(origin, { connection: queueClient, prefix: BULL_PREFIX });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
      queueClient.disconnect();
      masterClient.disconnect();
    });
    const entries = Array.from({ length: SELECTED }, (_, i) => storedEntry({ id: `${origin}-${String(i).padStart(4, '0')}`, origin }));
    await putEntries(new DlqStore(masterClient), entries);

    const start = (): ChildProcess => spawnDlqProcessor(env, cleanups);
    const healthy = async () => (await fetch(`${url}/health`).catch(() => undefined))?.status === 200;
    const task = async (id: string) => (await (await fetch(`${url}/dlq/tasks/${id}`)).json()) as any;

    const first = start();
    await waitFor(healthy, 'the first DLQ processor', { timeoutMs: 60_000 });
    const created = await fetch(`${url}/dlq/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: { origin }, rate: 1000 }) });
    expect(created.status).toBe(202);
    const { taskId } = (await created.json()) as { taskId: string };
    await waitFor(async () => (await task(taskId)).done >= SELECTED / 8, 'an eighth of the entries redriven', { timeoutMs: 20_000 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = await masterClient.hgetall(dlqKeys.task(taskId));
    expect(atKill.status).toBe('running');
    expect(Number(atKill.cursor)).toBeLessThan(SELECTED);

    start();
    await waitFor(healthy, 'the restarted DLQ processor', { timeoutMs: 60_000 });
    const done = await waitFor(async () => {
      const body = await task(taskId);
      return body.status === 'done' ? body : undefined;
    }, 'the task to finish after the restart', { timeoutMs: 30_000 });
    expect(done).toMatchObject({ selected: SELECTED, done: SELECTED, skipped: 0, failed: 0, progress: 1 });

    // Exactly one retry job per entry in the origin queue, and every entry retried once.
    const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
    const perEntry = new Map<string, number>();
    for (const job of jobs) {
      const entryId = (job.data[DLQ_META_KEY] as { entryId: string }).entryId;
      perEntry.set(entryId, (perEntry.get(entryId) ?? 0) + 1);
    }
    expect(jobs).toHaveLength(SELECTED);
    expect([...perEntry.keys()].sort()).toEqual(entries.map((e) => e.id).sort());
    expect([...perEntry.values()].every((count) => count === 1)).toBe(true);
    const stored = await new DlqStore(masterClient).getMany(entries.map((e) => e.id));
    expect(stored.every((entry) => entry.status === 'retried' && entry.retries === 1)).toBe(true);
  }, 240_000);
});
