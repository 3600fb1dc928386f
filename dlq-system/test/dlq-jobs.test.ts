import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { ALERT_CHANNEL, bullPrefix, PermanentJobError, RetryableJobError, createRedis, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { startDlqFixture, startWebhookReceiver, type DlqFixture, type WebhookReceiver } from './support/dlq-harness';
import { startOriginWorker, type OriginWorker } from './support/real-queue-worker';

const BASE_DELAY_MS = 200;

describe('DLQ processor with failing jobs', () => {
  let fx: DlqFixture;
  let receiver: WebhookReceiver;
  let subscriber: Redis;
  const alerts: any[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    fx = await startDlqFixture({ ALERT_WEBHOOK_URL: receiver.url, DLQ_RETRY_BASE_DELAY_MS: String(BASE_DELAY_MS) });
    subscriber = createRedis({ url: fx.master.url, role: 'test', profile: 'consumer', logger: silentLogger() });
    subscriber.on('message', (_channel: string, message: string) => alerts.push(JSON.parse(message)));
    await subscriber.subscribe(ALERT_CHANNEL);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  afterAll(async () => {
    subscriber.disconnect();
    await fx.close();
    await receiver.close();
  });

  async function originQueue(handler: (data: Record<string, unknown>) => Promise<unknown>): Promise<{ queue: Queue; worker: OriginWorker }> {
    const name = uniqueName('jobs');
    const queue = new Queue(name, { connection: fx.queueRedis, prefix: bullPrefix(name, fx.queueRedis.isCluster) });
    const worker = startOriginWorker({ queueUrl: fx.env.REDIS_QUEUE_URL!, queue: name, dlqQueueName: fx.dlqQueueName, sinkConnection: fx.queueRedis, handler });
    cleanups.push(async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    return { queue, worker };
  }

  /** The one entry of `origin` once it has `status`, read whole from `GET /dlq/:id` (list items are summaries). */
  async function onlyEntry(origin: string, status: string): Promise<any> {
    return waitFor(async () => {
      const { body } = await fx.api('GET', `/dlq?origin=${origin}`);
      if (body.items.length !== 1 || body.items[0].status !== status) return undefined;
      const detail = await fx.api('GET', `/dlq/${body.items[0].id}`);
      return detail.body.status === status ? detail.body : undefined;
    }, `the entry of ${origin} to be ${status}`);
  }

  it('retries a transient failure after the backoff; the retried job succeeds and the entry is recovered', async () => {
    let calls = 0;
    const { queue, worker } = await originQueue(async () => {
      calls += 1;
      if (calls <= 2) throw new RetryableJobError('connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED' });
      return 'ok';
    });
    const job = await queue.add('demo.fail', { input: 1 }, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });

    const entry = await onlyEntry(queue.name, 'recovered');
    expect(entry).toMatchObject({ kind: 'job', classification: 'transient', rule: 'network-code', retries: 1, failures: 1 });
    // An id no client can predict: the original id, the retry number and part of the entry's secret token.
    expect(entry.retriedTo).toEqual({ kind: 'job', queue: queue.name, jobId: expect.stringMatching(new RegExp(`^${job.id}-dlq-r1-[0-9a-f]{16}$`)) });

    // The retried job: same name and data, a link to its entry, fresh attempts, sent after the backoff.
    const retryRun = worker.runs.find((run) => run.jobId === entry.retriedTo.jobId)!;
    expect(retryRun).toMatchObject({ data: { input: 1 }, meta: { entryId: entry.id, retries: 1 }, attemptsMade: 0 });
    const retried = await queue.getJob(retryRun.jobId);
    expect(retried?.opts.attempts).toBe(2);
    expect(retried?.data.__dlq).toEqual({ entryId: entry.id, retries: 1, token: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(retryRun.timestamp - Date.parse(entry.history[0].at)).toBeGreaterThanOrEqual(BASE_DELAY_MS - 5);
    expect(worker.completed).toEqual([retryRun.jobId]);

    const stats = await fx.api('GET', '/stats');
    expect(stats.body.totals.recovered).toBeGreaterThanOrEqual(1);
    expect(alerts.filter((alert) => alert.origin === queue.name)).toEqual([]);
  });

  it('retries an always-failing transient job exactly DLQ_MAX_RETRIES times, then parks it and alerts once', async () => {
    const { queue, worker } = await originQueue(async () => {
      throw new RetryableJobError('upstream answered 503', { status: 503 });
    });
    const job = await queue.add('demo.fail', { input: 2 }, { attempts: 1 });

    const entry = await onlyEntry(queue.name, 'parked');
    expect(entry).toMatchObject({ classification: 'transient', rule: 'http-retryable-status', retries: 3, failures: 4, parkReason: 'retries_exhausted' });
    expect(entry.history.map((item: any) => item.retries)).toEqual([0, 1, 2, 3]);
    expect(worker.runs.map((run) => run.jobId.replace(/-[0-9a-f]{16}$/, ''))).toEqual([job.id, `${job.id}-dlq-r1`, `${job.id}-dlq-r2`, `${job.id}-dlq-r3`]);
    expect(worker.runs.map((run) => run.meta.retries)).toEqual([undefined, 1, 2, 3]);

    await waitFor(() => receiver.bodies.some((body) => body.origin === queue.name), 'the webhook alert');
    const history = await fx.api('GET', '/dlq/alerts');
    const mine = history.body.items.filter((alert: any) => alert.origin === queue.name);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ kind: 'job', count: 1, entryIds: [entry.id] });
    expect(alerts.filter((alert) => alert.origin === queue.name)).toHaveLength(1);
    expect(receiver.bodies.filter((body) => body.origin === queue.name)).toHaveLength(1);
    // Nothing is left scheduled for it.
    const retries = new Queue(`${fx.dlqQueueName}-retries`, { connection: fx.queueRedis, prefix: bullPrefix(`${fx.dlqQueueName}-retries`, fx.queueRedis.isCluster) });
    expect(await retries.getDelayedCount()).toBe(0);
    await retries.close();
  });

  it('parks a permanent failure at once and POSTs the alert to the webhook receiver', async () => {
    const { queue, worker } = await originQueue(async () => {
      throw new PermanentJobError('workspace id is not valid');
    });
    await queue.add('demo.fail', { input: 3 }, { attempts: 5 });

    const entry = await onlyEntry(queue.name, 'parked');
    expect(entry).toMatchObject({ classification: 'permanent', rule: 'permanent-marker', retries: 0, failures: 1, parkReason: 'permanent' });
    expect(entry.error).toMatchObject({ message: 'workspace id is not valid', permanent: true });
    expect(worker.runs).toHaveLength(1);

    const body = await waitFor(() => receiver.bodies.find((item) => item.origin === queue.name), 'the webhook alert');
    expect(body).toMatchObject({ kind: 'job', origin: queue.name, count: 1, entryIds: [entry.id], lastError: 'workspace id is not valid' });
    await waitFor(async () => {
      const history = await fx.api('GET', '/dlq/alerts');
      return history.body.items.find((alert: any) => alert.id === body.id)?.webhook.status === 'delivered';
    }, 'the alert to be recorded as delivered');
    expect(alerts.find((alert) => alert.id === body.id)).toBeDefined();
  });
});
