import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { bullPrefix, REDIS_ROLES, createRedis } from '@event-infra/shared';
import { freePort, silentLogger, startRedisServer, uniqueName, waitFor, type RedisServer } from '@event-infra/testing';
import { jobEntry, spawnDlqProcessor, startDlqFixture, testEnv, type DlqFixture } from './support/dlq-harness';
import { startOriginWorker, type OriginWorker } from './support/real-queue-worker';

const permanent = { message: 'schema mismatch', permanent: true };

describe('DLQ processor restarts', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('keeps parked entries across a master Redis crash (AOF) and a processor restart, losing nothing in between', async () => {
    const fx: DlqFixture = await startDlqFixture({ DLQ_HANDLE_RETRY_DELAY_MS: '100' });
    cleanups.push(() => fx.close());
    const origin = uniqueName('restart');
    const first = await Promise.all([fx.sink.add(jobEntry(origin, '1', permanent)), fx.sink.add(jobEntry(origin, '2', permanent))]);
    await waitFor(async () => (await fx.api('GET', `/dlq?origin=${origin}&status=parked`)).body.total === 2, 'two parked');
    const before = (await fx.api('GET', `/dlq/${first[0]}`)).body;

    // The master dies (SIGKILL); a failure arriving meanwhile waits in the DLQ queue, delayed.
    await fx.master.kill();
    const during = await fx.sink.add(jobEntry(origin, '3', permanent));
    const dlqQueue = new Queue(fx.dlqQueueName, { connection: fx.queueRedis, prefix: bullPrefix(fx.dlqQueueName, fx.queueRedis.isCluster) });
    cleanups.push(() => dlqQueue.close());
    await waitFor(async () => (await dlqQueue.getJobState(during)) === 'delayed', 'the entry to wait while the master is down');
    expect((await fetch(`${fx.processor.url}/health`)).status).toBe(503);

    fx.master = await fx.master.restart();
    await waitFor(async () => (await fx.api('GET', `/dlq/${during}`)).body?.status === 'parked', 'the waiting entry parked after the master came back');
    expect((await fx.api('GET', `/dlq/${first[0]}`)).body).toEqual(before);

    await fx.restartProcessor();
    const listed = await fx.api('GET', `/dlq?origin=${origin}`);
    expect(listed.body.items.map((item: any) => item.id).sort()).toEqual([...first, during].sort());
    expect((await fx.api('GET', `/dlq/${first[0]}`)).body).toEqual(before);
    const alerts = await fx.api('GET', '/dlq/alerts');
    expect(alerts.body.items.filter((a: any) => a.origin === origin).reduce((sum: number, a: any) => sum + a.count, 0)).toBe(3);
    // A clean master restart (SIGTERM) keeps them too.
    fx.master = await fx.master.restart();
    await waitFor(async () => (await fx.api('GET', `/dlq?origin=${origin}`)).body?.total === 3, 'entries after a clean master restart');
  });

  it('runs a scheduled retry after the processor was killed (kill -9) during the backoff', async () => {
    const master: RedisServer = await startRedisServer({ appendOnly: true });
    cleanups.push(() => master.stop());
    const port = await freePort();
    // The backoff leaves seconds between seeing the retry scheduled and the kill (a retry run
    // by the first process, still failing, would make it the second retry; one taken by it
    // just before the kill would wait for its lock and a stalled check, 30 s each): 8 s, as 4
    // were once not enough on a loaded CI machine.
    const env = testEnv(master, { DLQ_PROCESSOR_PORT: String(port), DLQ_RETRY_BASE_DELAY_MS: '8000' });
    const url = `http://127.0.0.1:${port}`;
    const origin = uniqueName('crash');
    const sinkConnection = createRedis({ url: env.REDIS_QUEUE_URL!, role: REDIS_ROLES.queue, profile: 'producer', logger: silentLogger() });
    const queue = new Queue(origin, { connection: sinkConnection, prefix: bullPrefix(origin, sinkConnection.isCluster) });
    let fail = true;
    const worker: OriginWorker = startOriginWorker({
      queueUrl: env.REDIS_QUEUE_URL!,
      queue: origin,
      dlqQueueName: env.DLQ_QUEUE_NAME!,
      sinkConnection,
      handler: async () => {
        if (fail) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return 'ok';
      },
    });
    cleanups.push(async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      sinkConnection.disconnect();
    });

    const start = (): ChildProcess => spawnDlqProcessor(env, cleanups);
    const healthy = async () => (await fetch(`${url}/health`).catch(() => undefined))?.status === 200;

    const first = start();
    await waitFor(healthy, 'the first DLQ processor', { timeoutMs: 20_000 });
    const job = await queue.add('demo.fail', { n: 1 }, { attempts: 1 });
    const entryId = `job-${origin}-${job.id}-0`;
    await waitFor(async () => ((await (await fetch(`${url}/dlq/${entryId}`)).json()) as any)?.status === 'scheduled', 'the retry scheduled', { timeoutMs: 20_000 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    fail = false;

    start();
    await waitFor(healthy, 'the restarted DLQ processor', { timeoutMs: 20_000 });
    const entry = await waitFor(async () => {
      const body = (await (await fetch(`${url}/dlq/${entryId}`)).json()) as any;
      return body?.status === 'recovered' ? body : undefined;
    }, 'the retry to run and the entry to recover', { timeoutMs: 30_000 });
    expect(entry.retries).toBe(1);
    expect(worker.completed).toEqual([entry.retriedTo.jobId]);
    expect(entry.retriedTo.jobId).toMatch(new RegExp(`^${job.id}-dlq-r1-[0-9a-f]{16}$`));
  }, 90_000);
});
