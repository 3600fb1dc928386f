import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { bullPrefix, DLQ_META_KEY } from '@event-infra/shared';
import { uniqueName, waitFor } from '@event-infra/testing';
import { jobEntry, startDlqFixture, type DlqFixture } from './support/dlq-harness';
import { startOriginWorker, type OriginWorker } from './support/real-queue-worker';

const API_KEY = 'test-api-key-3f9a';

describe('DLQ recovery API', () => {
  let fx: DlqFixture;
  let worker: OriginWorker;
  let queue: Queue;
  const originA = uniqueName('api-a');
  const originB = uniqueName('api-b');
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    fx = await startDlqFixture({ API_KEY, DLQ_MAX_RETRIES: '0' });
    queue = new Queue(originA, { connection: fx.queueRedis, prefix: bullPrefix(originA, fx.queueRedis.isCluster) });
    // Origin A's jobs succeed now: a retried job completes and its entry becomes recovered.
    worker = startOriginWorker({ queueUrl: fx.env.REDIS_QUEUE_URL!, queue: originA, dlqQueueName: fx.dlqQueueName, sinkConnection: fx.queueRedis, handler: async () => 'done' });
    const permanent = { message: 'invalid input', permanent: true };
    const transient = { message: 'connect ETIMEDOUT', code: 'ETIMEDOUT' };
    // With DLQ_MAX_RETRIES=0 transient failures are parked too: 3 permanent + 2 transient in A, 2 permanent in B.
    const entries = [
      ['a1', jobEntry(originA, 'a1', permanent)],
      ['a2', jobEntry(originA, 'a2', permanent)],
      ['a3', jobEntry(originA, 'a3', permanent)],
      ['a4', jobEntry(originA, 'a4', transient)],
      ['a5', jobEntry(originA, 'a5', transient)],
      ['b1', jobEntry(originB, 'b1', permanent)],
      ['b2', jobEntry(originB, 'b2', permanent)],
    ] as const;
    for (const [key, entry] of entries) ids[key] = await fx.sink.add(entry);
    await waitFor(async () => (await fx.api('GET', '/dlq?status=parked')).body.total === entries.length, 'all entries parked');
  });

  afterAll(async () => {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await fx.close();
  });

  it('requires the API key on /dlq routes, and keeps /health open', async () => {
    const noKey = await fetch(`${fx.processor.url}/dlq`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ error: 'unauthorized' });
    const wrongKey = await fetch(`${fx.processor.url}/dlq/${ids.a1}/retry`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrongKey.status).toBe(401);
    const text = await (await fetch(`${fx.processor.url}/dlq`)).text();
    expect(text).not.toContain(API_KEY);
    expect((await fetch(`${fx.processor.url}/health`)).status).toBe(200);
  });

  it('lists with filters by origin, kind, classification and status, newest first, with paging', async () => {
    const all = await fx.api('GET', `/dlq?origin=${originA}`);
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(5);
    const times = all.body.items.map((item: any) => Date.parse(item.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const permanentA = await fx.api('GET', `/dlq?origin=${originA}&classification=permanent&kind=job&status=parked`);
    expect(permanentA.body.total).toBe(3);
    expect(permanentA.body.items.map((item: any) => item.id).sort()).toEqual([ids.a1, ids.a2, ids.a3].sort());
    const transientA = await fx.api('GET', `/dlq?origin=${originA}&classification=transient`);
    expect(transientA.body.items.map((item: any) => item.id).sort()).toEqual([ids.a4, ids.a5].sort());
    expect((await fx.api('GET', `/dlq?origin=${originB}&kind=event`)).body.total).toBe(0);

    const seen: string[] = [];
    let page: number | null = 1;
    while (page !== null) {
      const { body }: { body: any } = await fx.api('GET', `/dlq?origin=${originA}&limit=2&page=${page}`);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((item: any) => item.id));
      page = body.nextPage;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);

    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await fx.api('GET', `/dlq?origin=${originA}&from=${encodeURIComponent(future)}`)).body.total).toBe(0);
  });

  it('answers 400 for bad filters and 404 for unknown entries, in the shared error shape', async () => {
    const badStatus = await fx.api('GET', '/dlq?status=lost');
    expect(badStatus.status).toBe(400);
    expect(badStatus.body).toMatchObject({ error: 'validation_failed', message: expect.stringMatching(/^invalid query/) });
    expect(badStatus.body.details).toBeInstanceOf(Array);
    expect((await fx.api('GET', '/dlq?limit=0')).status).toBe(400);
    expect((await fx.api('GET', '/dlq?colour=red')).status).toBe(400);
    expect((await fx.api('POST', '/dlq/retry', { kind: 'parcel' })).status).toBe(400);

    for (const [method, path] of [['GET', '/dlq/nope'], ['POST', '/dlq/nope/retry'], ['DELETE', '/dlq/nope']] as const) {
      const response = await fx.api(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body).toMatchObject({ error: 'not_found' });
    }
  });

  it('retries one parked job: it goes back to its queue with a link to the entry, completes, and the entry is recovered', async () => {
    const response = await fx.api('POST', `/dlq/${ids.a1}/retry`);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ id: ids.a1, status: 'retried', retries: 1, retriedTo: { kind: 'job', queue: originA, jobId: expect.stringMatching(/^a1-dlq-r1-[0-9a-f]{16}$/) } });
    const retryJobId = response.body.retriedTo.jobId as string;
    const job = await queue.getJob(retryJobId);
    expect(job?.data[DLQ_META_KEY]).toEqual({ entryId: ids.a1, retries: 1, token: expect.stringMatching(/^[0-9a-f]{32}$/) });
    await waitFor(async () => (await fx.api('GET', `/dlq/${ids.a1}`)).body.status === 'recovered', 'entry recovered');
    expect(worker.completed).toContain(retryJobId);

    const again = await fx.api('POST', `/dlq/${ids.a1}/retry`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'conflict' });
  });

  it('retries by filter and says how many', async () => {
    const response = await fx.api('POST', '/dlq/retry', { origin: originA, classification: 'transient' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ matched: 2, retried: 2, failed: [] });
    expect([...response.body.ids].sort()).toEqual([ids.a4, ids.a5].sort());
    for (const id of [ids.a4, ids.a5]) {
      await waitFor(async () => (await fx.api('GET', `/dlq/${id}`)).body.status === 'recovered', `${id} recovered`);
    }
    // Untouched: the other parked permanent entries of A.
    expect((await fx.api('GET', `/dlq?origin=${originA}&status=parked`)).body.total).toBe(2);

    const limited = await fx.api('POST', '/dlq/retry', { origin: originA, limit: 1 });
    expect(limited.body).toMatchObject({ matched: 2, retried: 1 });
  });

  it('deletes an entry: gone from GET and from every listing', async () => {
    const response = await fx.api('DELETE', `/dlq/${ids.b1}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: ids.b1, deleted: true });
    expect((await fx.api('GET', `/dlq/${ids.b1}`)).status).toBe(404);
    const listed = await fx.api('GET', `/dlq?origin=${originB}`);
    expect(listed.body.items.map((item: any) => item.id)).toEqual([ids.b2]);
    expect((await fx.api('GET', '/dlq?status=parked&classification=permanent')).body.items.map((i: any) => i.id)).not.toContain(ids.b1);
    expect((await fx.api('DELETE', `/dlq/${ids.b1}`)).status).toBe(404);
  });

  it('reports parked entries by origin and class in /stats and /metrics', async () => {
    const stats = await fx.api('GET', '/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.parked[originB]).toEqual({ transient: 0, permanent: 1 });
    expect(stats.body.totals).toMatchObject({ received: 7, parked: 7 });
    expect(stats.body.totals.retried).toBeGreaterThanOrEqual(4);
    expect(stats.body.totals.recovered).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`${fx.processor.url}/metrics`)).text();
    expect(metrics).toContain(`dlq_parked_entries{origin="${originB}",classification="permanent",service="dlq-processor"} 1`);
    expect(metrics).toMatch(/dlq_retried_total\{kind="job",mode="manual",service="dlq-processor"\} [4-9]/);
    expect(metrics).toMatch(/dlq_recovered_total\{kind="job",service="dlq-processor"\} [3-9]/);
    expect(metrics).toMatch(/dlq_alerts_sent_total\{channel="pubsub",service="dlq-processor"\} \d+/);
  });

  // Last: it adds an entry, which the counters above must not see.
  it('list pages are summaries: no payload, stack or history (only GET /dlq/:id has them); limit bounded by DLQ_PAGE_MAX_LIMIT', async () => {
    const big = { message: `huge ${'m'.repeat(5000)}`, permanent: true, stack: `Error: huge\n    at /srv/app/${'s'.repeat(2000)}.ts:1:1` };
    const bigId = await fx.sink.add(jobEntry(originB, 'big', big, { data: { blob: 'x'.repeat(200_000) } }));
    await waitFor(async () => (await fx.api('GET', `/dlq/${bigId}`)).body?.status === 'parked' || undefined, 'big entry parked');
    const page = await fx.api('GET', `/dlq?origin=${originB}&limit=${fx.env.DLQ_PAGE_MAX_LIMIT ?? 200}`);
    expect(page.status).toBe(200);
    const item = page.body.items.find((entry: any) => entry.id === bigId);
    expect(item).toMatchObject({ id: bigId, kind: 'job', origin: { kind: 'job', queue: originB, jobId: 'big' }, status: 'parked' });
    for (const key of ['data', 'history', 'lastSource']) expect(item, key).not.toHaveProperty(key);
    expect(item.error).not.toHaveProperty('stack');
    expect(item.origin).not.toHaveProperty('opts');
    expect(item.error.message.length).toBeLessThanOrEqual(513);
    expect(JSON.stringify(page.body).length).toBeLessThan(20_000);
    const detail = await fx.api('GET', `/dlq/${bigId}`);
    expect(detail.body.data.blob).toHaveLength(200_000);
    expect(detail.body.error.stack).toContain('/srv/app/');
    expect(detail.body.history.length).toBeGreaterThan(0);
    const over = await fx.api('GET', '/dlq?limit=201');
    expect(over.status).toBe(400);
    expect(over.body.message).toContain('at most 200 (DLQ_PAGE_MAX_LIMIT)');
    await fx.api('DELETE', `/dlq/${bigId}`);
  });
});
