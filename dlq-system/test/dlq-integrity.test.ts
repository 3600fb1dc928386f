/**
 * The recovery path trusts no client (issue #10): forged DLQ metadata, squatted retry ids and
 * concurrent operator actions cannot move an entry; only the stack's own proof can. Each case
 * runs against the real DLQ processor and the real queue-system worker.
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { ALERT_CHANNEL, bullPrefix, DLQ_META_KEY, PermanentJobError, createRedis, retryJobId, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { dlqKeys } from '../src/core/stored-entry';
import { jobEntry, startDlqFixture, type DlqFixture } from './support/dlq-harness';
import { startOriginWorker } from './support/real-queue-worker';

/**
 * `count` POSTs that reach the server together: one keep-alive socket each, opened (by a GET
 * /health on every one) before any POST is written, then all POSTs written in one tick.
 */
async function concurrentPosts(baseUrl: string, path: string, count: number): Promise<{ status: number; body: any }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  const send = (method: string, target: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const request = http.request(new URL(target, baseUrl), { method, agent }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
      });
      request.on('error', reject);
      request.end();
    });
  try {
    await Promise.all(Array.from({ length: count }, () => send('GET', '/health')));
    return await Promise.all(Array.from({ length: count }, () => send('POST', path)));
  } finally {
    agent.destroy();
  }
}

describe('DLQ integrity against hostile clients', () => {
  let fx: DlqFixture;
  let master: Redis;
  let subscriber: Redis;
  const alerts: any[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // No automatic retries: every failure parks, so each case controls when a retry happens.
    fx = await startDlqFixture({ DLQ_MAX_RETRIES: '0', DLQ_LOST_RETRY_GRACE_MS: '300' });
    master = createRedis({ url: fx.master.url, role: 'test', profile: 'producer', logger: silentLogger() });
    subscriber = createRedis({ url: fx.master.url, role: 'test', profile: 'consumer', logger: silentLogger() });
    subscriber.on('message', (_channel: string, message: string) => alerts.push(JSON.parse(message)));
    await subscriber.subscribe(ALERT_CHANNEL);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  afterAll(async () => {
    subscriber.disconnect();
    master.disconnect();
    await fx.close();
  });

  /** A unique queue served by the real queue-system worker running `handler`. */
  function origin(handler: (data: Record<string, unknown>) => Promise<unknown>): Queue {
    const name = uniqueName('integrity');
    const queue = new Queue(name, { connection: fx.queueRedis, prefix: bullPrefix(name, fx.queueRedis.isCluster) });
    const worker = startOriginWorker({ queueUrl: fx.env.REDIS_QUEUE_URL!, queue: name, dlqQueueName: fx.dlqQueueName, sinkConnection: fx.queueRedis, handler });
    cleanups.push(async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    return queue;
  }

  const entryOf = async (id: string) => (await fx.api('GET', `/dlq/${id}`)).body;
  const parkedEntry = (id: string) => waitFor(async () => ((await entryOf(id))?.status === 'parked' ? entryOf(id) : undefined), `${id} parked`);
  const failing = async (data: Record<string, unknown>) => {
    throw new PermanentJobError(`bad input ${String(data.who)}`);
  };

  it('20 concurrent retries of one parked entry: exactly one 202, 19 × 409 with the current state; counted once', async () => {
    const queue = origin(async () => 'ok');
    const id = await fx.sink.add(jobEntry(queue.name, 'race-1', { message: 'bad', permanent: true }));
    await parkedEntry(id);
    const before = (await fx.api('GET', '/stats')).body.totals.retried;

    const replies = await concurrentPosts(fx.processor.url, `/dlq/${id}/retry`, 20);

    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses).toEqual([202, ...Array<number>(19).fill(409)]);
    for (const reply of replies.filter((item) => item.status === 409)) {
      expect(reply.body).toMatchObject({ error: 'conflict', details: { id, status: expect.stringMatching(/^(retried|recovered)$/) } });
    }
    await waitFor(async () => (await entryOf(id)).status === 'recovered', 'the one retry to recover the entry');
    expect((await entryOf(id)).retries).toBe(1);
    expect((await fx.api('GET', '/stats')).body.totals.retried).toBe(before + 1);
    expect(await queue.getJobCountByTypes('completed', 'waiting', 'active', 'delayed')).toBe(1);
  });

  it('20 retries interleaved at Redis (all read the entry before any writes): one wins, 19 conflicts', async () => {
    const queue = origin(async () => 'ok');
    const id = await fx.sink.add(jobEntry(queue.name, 'race-2', { message: 'bad', permanent: true }));
    await parkedEntry(id);
    // In-process, the 20 reads share one connection and are all answered before the first write.
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => fx.processor.handler.manualRetry(id)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(rejected.map((outcome) => (outcome.reason as { code?: string }).code)).toEqual(Array<string>(19).fill('conflict'));
    await waitFor(async () => (await entryOf(id)).status === 'recovered', 'the one retry to recover the entry');
    expect(await queue.getJobCountByTypes('completed', 'waiting', 'active', 'delayed')).toBe(1);
  });

  it('a squatted retry id: the retry is refused (409), the entry stays parked, and the alert says why', async () => {
    const queue = origin(async () => 'squatter ran');
    const id = await fx.sink.add(jobEntry(queue.name, 'victim-1', { message: 'bad', permanent: true }));
    await parkedEntry(id);
    // Someone who could predict the id (here: the test, reading the stack's own record) takes it first.
    const token = String(await master.hget(dlqKeys.state(), id)).split('|')[2]!;
    const squatId = retryJobId('victim-1', 1, token);
    await queue.add('demo.fail', { squatter: true }, { jobId: squatId });
    await waitFor(async () => (await queue.getJobState(squatId)) === 'completed', 'the squatter job to complete');

    const reply = await fx.api('POST', `/dlq/${id}/retry`);

    expect(reply.status).toBe(409);
    expect(reply.body.message).toContain('already taken');
    const entry = await parkedEntry(id);
    expect(entry).toMatchObject({ status: 'parked', parkReason: 'retry_id_taken' });
    const alert = await waitFor(() => alerts.find((item) => item.origin === queue.name && item.lastReason === 'retry_id_taken'), 'the alert');
    expect(alert.message).toContain('retry_id_taken');
    // Not waiting for the squatter's completion: the retry id is not tracked for recovery.
    expect(await master.hget(dlqKeys.tracking(), JSON.stringify([queue.name, squatId]))).toBeNull();
    expect((await entryOf(id)).status).toBe('parked');
  });

  it("a job carrying forged __dlq metadata of someone else's entry fails into an entry of its own; the victim is untouched", async () => {
    const queue = origin(failing);
    const victimId = await fx.sink.add(jobEntry(queue.name, 'victim-2', { message: 'original failure', permanent: true }));
    const victim = await parkedEntry(victimId);

    // As any writer could add it (POST /jobs refuses __dlq; the runner must not trust it either).
    for (const token of [undefined, 'f'.repeat(32)]) {
      const forged = { entryId: victimId, retries: 1, ...(token ? { token } : {}) };
      const job = await queue.add('demo.fail', { who: 'attacker', [DLQ_META_KEY]: forged }, { attempts: 1 });
      // Its DLQ job id carries the claimed retry count; the entry itself believes none of it.
      const attackerEntry = await parkedEntry(`job-${queue.name}-${job.id}-${token ? 1 : 0}`);
      expect(attackerEntry).toMatchObject({ data: { who: 'attacker' }, retries: 0, failures: 1 });
    }

    const after = await entryOf(victimId);
    expect(after).toMatchObject({ status: 'parked', failures: 1, retries: 0, error: { message: 'original failure' }, version: victim.version });
    expect(after.history).toHaveLength(1);
    const metrics = await (await fetch(`${fx.processor.url}/metrics`)).text();
    expect(Number(/dlq_unverified_claims_total\{kind="failure"[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it("a forged claim on a victim's future entry id does not capture the victim's failure", async () => {
    const queue = origin(failing);
    // The victim's entry id is predictable; the attacker's job claims it before the victim fails.
    const victimEntryId = `job-${queue.name}-victim-3-0`;
    const attacker = await queue.add('demo.fail', { who: 'attacker', [DLQ_META_KEY]: { entryId: victimEntryId, retries: 0 } }, { attempts: 1 });
    await parkedEntry(`job-${queue.name}-${attacker.id}-0`);
    expect((await fx.api('GET', `/dlq/${victimEntryId}`)).status).toBe(404);

    await queue.add('demo.fail', { who: 'victim' }, { jobId: 'victim-3', attempts: 1 });

    const victim = await parkedEntry(victimEntryId);
    expect(victim).toMatchObject({ data: { who: 'victim' }, failures: 1, error: { message: 'bad input victim' } });
    // A retry of the victim's entry re-runs the victim's job, not the attacker's.
    const reply = await fx.api('POST', `/dlq/${victimEntryId}/retry`);
    expect(reply.status).toBe(202);
    const retry = await queue.getJob(reply.body.retriedTo.jobId);
    expect(retry?.data).toMatchObject({ who: 'victim' });
  });

  it('a retry whose job is gone without a completion (a send lost in a crash, a removed job) parks the entry again', async () => {
    // No worker on this queue: the retry job waits until the test removes it.
    const queueName = uniqueName('lost');
    const queue = new Queue(queueName, { connection: fx.queueRedis, prefix: bullPrefix(queueName, fx.queueRedis.isCluster) });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const id = await fx.sink.add(jobEntry(queueName, 'lost-1', { message: 'bad', permanent: true }));
    await parkedEntry(id);
    const reply = await fx.api('POST', `/dlq/${id}/retry`);
    expect(reply.status).toBe(202);
    await queue.remove(reply.body.retriedTo.jobId);

    const entry = await waitFor(async () => {
      const body = await entryOf(id);
      return body.status === 'parked' && body.parkReason === 'retry_failed' ? body : undefined;
    }, 'the entry parked again');
    expect(entry.retries).toBe(1);
    await waitFor(() => alerts.find((item) => item.origin === queueName && item.lastReason === 'retry_failed'), 'the alert');
    // Parked again: an operator can retry it.
    expect((await fx.api('POST', `/dlq/${id}/retry`)).status).toBe(202);
  });

  it('an automatic retry interrupted between startRetry and the send is sent again by its scheduler job, same id and token', async () => {
    const queueName = uniqueName('interrupted');
    const queue = new Queue(queueName, { connection: fx.queueRedis, prefix: bullPrefix(queueName, fx.queueRedis.isCluster) });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const id = await fx.sink.add(jobEntry(queueName, 'cut-1', { message: 'bad', permanent: true }));
    const parked = await parkedEntry(id);
    // The state a crash leaves: `retried` stored (retry 1 planned), nothing added to the queue.
    const token = String(await master.hget(dlqKeys.state(), id)).split('|')[2]!;
    const jobId = retryJobId('cut-1', 1, token);
    const retried = { ...parked, status: 'retried', retries: 1, retriedAt: new Date().toISOString(), retriedTo: { kind: 'job', queue: queueName, jobId } };
    const applied = await fx.processor.store.transition({ id, entry: retried, from: ['parked'], to: 'retried', expectedVersion: parked.version });
    expect(applied.ok).toBe(true);
    expect(await queue.getJob(jobId)).toBeUndefined();

    // What the scheduler's durable job does when it runs again after the restart.
    await fx.processor.handler.autoRetry(id, 1);

    const job = await queue.getJob(jobId);
    expect(job?.data).toMatchObject({ [DLQ_META_KEY]: { entryId: id, retries: 1, token } });
    expect((await entryOf(id)).status).toBe('retried');
    await fx.processor.handler.autoRetry(id, 1);
    expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBe(1);
  });

  it('discarding races like any transition: one DELETE wins, a concurrent retry or DELETE gets 409 or 404', async () => {
    const queue = origin(async () => 'ok');
    const id = await fx.sink.add(jobEntry(queue.name, 'gone-1', { message: 'bad', permanent: true }));
    await parkedEntry(id);
    const replies = await Promise.all([fx.api('DELETE', `/dlq/${id}`), fx.api('DELETE', `/dlq/${id}`), fx.api('DELETE', `/dlq/${id}`)]);
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    for (const reply of replies.filter((item) => item.status !== 200)) expect([404, 409]).toContain(reply.status);
    expect((await fx.api('GET', `/dlq/${id}`)).status).toBe(404);
    expect(await master.hget(dlqKeys.state(), id)).toMatch(/^discarded\|/);
  });
});
