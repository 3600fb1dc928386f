import { describe, expect, it } from 'vitest';
import { createEventPublisher, partitionKeys, partitionOf, partitionStreams, readTimeline, timelineBucketsKey, timelineHandledField, timelineStepsField, type EventInput, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { LeaseLostError, PartitionLease } from '../src/core/partition/partition-lease';
import { useChildProcessors } from './child-processor';
import { pendingCount, testEnv, useTestResources } from './helpers';

const { client } = useTestResources();
const spawnProcessor = useChildProcessors();

async function readAs(redis: Redis, stream: string, group: string, consumer: string): Promise<string[]> {
  const reply = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
  return (reply?.[0]?.[1] ?? []).map(([id]) => id);
}

describe('partition leases', () => {
  it('one holder at a time; a holder stops before its lease expires; the fencing token refuses a stale owner', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const group = 'g';
    await streams.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    for (let i = 0; i < 4; i += 1) await streams.xadd(stream, '*', 'n', String(i));
    // A margin of 1.5 s: the checks between A's lease running out locally and in Redis have that
    // long (200 ms were a loaded machine's stall away from Redis expiring it first).
    const a = new PartitionLease(streams, { stream, group, owner: 'a', leaseMs: 3_000, marginMs: 1_500 });
    const b = new PartitionLease(streams, { stream, group, owner: 'b', leaseMs: 3_000, marginMs: 1_500 });
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    const ids = await readAs(streams, stream, group, 'a');
    expect(await a.ack(ids.slice(0, 2))).toBe(2);

    // No renewal: A stops counting on its lease a margin before Redis lets it go.
    await waitFor(() => !a.isValid(), 'A sees its lease run out');
    expect(await streams.pttl(partitionKeys.lease(stream, group))).toBeGreaterThan(0);
    expect(await b.acquire()).toBe(false);
    await waitFor(async () => (await streams.exists(partitionKeys.lease(stream, group))) === 0, 'lease expired in Redis');
    expect(await b.acquire()).toBe(true);
    expect(b.token).toBe(a.token + 1);

    // A wakes up stale: renewal and acknowledgement are refused, its entries stay pending for B.
    expect(await a.renew()).toBe(false);
    await expect(a.ack(ids.slice(2))).rejects.toBeInstanceOf(LeaseLostError);
    expect(await pendingCount(streams, stream, group)).toBe(2);
    expect(await b.ack(ids.slice(2))).toBe(2);
    await a.release();
    expect(await streams.get(partitionKeys.lease(stream, group))).toBe(`${b.token} b`);
    await b.release();
    expect(await streams.exists(partitionKeys.lease(stream, group))).toBe(0);
  });
});

describe('partitions: timeline', () => {
  it('records each delivery (consumer, delivery count, handlers) on the partitioned engine too, in batch records for events that are their own correlation', { timeout: 120_000 }, async () => {
    const env = testEnv({ RECORD_KEY: uniqueName('handled'), STREAM_PARTITIONS: '2', EVENT_PARTITION_LEASE_MS: '1500', EVENT_BLOCK_MS: '200', TIMELINE_ENABLED: 'true' });
    await spawnProcessor(env);
    const publisher = createEventPublisher({ stream: env.STREAM_NAME!, source: 'test', partitions: 2 }, { redis: client('streams'), logger: silentLogger() });
    const correlation = uniqueName('corr');
    const [published] = await publisher.publishBatch([{ type: 'workspace.updated', subject: 'w-1', correlationid: correlation, data: { workspaceId: 'w-1', changes: {} } }]);
    const timeline = await waitFor(async () => readTimeline(client('master'), correlation, 200), 'the delivery step', { timeoutMs: 60_000, intervalMs: 100 });
    expect(timeline.steps).toHaveLength(1);
    expect(timeline.steps[0]).toMatchObject({ kind: 'event.handled', subject: published!.id, service: 'event-processor' });
    expect(timeline.steps[0]!.detail).toMatchObject({ type: 'workspace.updated', deliveries: 1, consumer: expect.stringMatching(/-p[01]$/) });
    // An event without a correlationid: the same step, from the partition batch's record.
    const [own] = await publisher.publishBatch([{ type: 'workspace.updated', subject: 'w-2', data: { workspaceId: 'w-2', changes: {} } }]);
    const ownTimeline = await waitFor(async () => readTimeline(client('master'), own!.id, 200), 'the batched step', { timeoutMs: 60_000, intervalMs: 100 });
    const shape = (step: (typeof timeline.steps)[number]) => ({ ...step, at: typeof step.at, subject: typeof step.subject, detail: { ...step.detail, entryId: typeof step.detail?.entryId, consumer: typeof step.detail?.consumer } });
    expect(ownTimeline.steps.map(shape)).toEqual(timeline.steps.map(shape));
    expect(ownTimeline.steps[0]!.subject).toBe(own!.id);
    const master = client('master');
    const fields = { steps: false, handled: false };
    for (const bucket of await master.zrangebyscore(timelineBucketsKey(), Date.now(), '+inf')) {
      if ((await master.hexists(bucket, timelineStepsField(own!.id))) === 1) fields.steps = true;
      if ((await master.hexists(bucket, timelineHandledField(own!.id))) === 1) fields.handled = true;
    }
    expect(fields).toEqual({ steps: false, handled: true });
  });
});

describe('partitions: per-key order across replicas', () => {
  it('50 keys × 200 sequence numbers over 8 partitions, 3 replicas, one kill -9ed and one added mid-run: 0 order violations, all handled, none pending', { timeout: 240_000 }, async () => {
    const recordKey = uniqueName('handled');
    const env = testEnv({
      RECORD_KEY: recordKey,
      STREAM_PARTITIONS: '8',
      // A holder stops a third of the lease before it runs out: 1.5 s of a stalled replica
      // (a loaded machine) before it could still be handling a partition another one took.
      EVENT_PARTITION_LEASE_MS: '4500',
      EVENT_BATCH_SIZE: '50',
      EVENT_BLOCK_MS: '200',
    });
    const master = client('master');
    const streams = client('streams');
    const replicas = await Promise.all([spawnProcessor(env), spawnProcessor(env), spawnProcessor(env)]);
    const keys = Array.from({ length: 50 }, (_, k) => `key-${k}`);
    const publisher = createEventPublisher({ stream: env.STREAM_NAME!, source: 'test', partitions: 8 }, { redis: streams, logger: silentLogger() });
    const total = keys.length * 200;
    const publishing = (async () => {
      for (let seq = 0; seq < 200; seq += 1) {
        const batch: EventInput[] = keys.map((key) => ({ type: 'workspace.updated', subject: key, data: { workspaceId: key, changes: {}, seq } }));
        await publisher.publishBatch(batch);
      }
    })();
    // The partitioned publisher wrote nothing to the plain stream name.
    await waitFor(async () => (await master.hlen(recordKey)) >= 2_000, '2,000 handled', { timeoutMs: 60_000 });
    replicas[0]!.process.kill('SIGKILL');
    expect((await replicas[0]!.exited).signal).toBe('SIGKILL');
    await waitFor(async () => (await master.hlen(recordKey)) >= 5_000, '5,000 handled', { timeoutMs: 60_000 });
    replicas.push(await spawnProcessor(env));
    await publishing;
    await waitFor(async () => (await master.hlen(recordKey)) === total, 'all handled', { timeoutMs: 120_000, intervalMs: 200 });
    const partitionNames = partitionStreams(env.STREAM_NAME!, 8);
    await waitFor(async () => {
      for (const name of partitionNames) if ((await pendingCount(streams, name, env.CONSUMER_GROUP!)) > 0) return false;
      return true;
    }, 'nothing pending', { timeoutMs: 30_000 });
    expect(await streams.exists(env.STREAM_NAME!)).toBe(0);

    let violations = 0;
    let repeats = 0;
    for (const key of keys) {
      const order = (await master.lrange(`${recordKey}:order:${key}`, 0, -1)).map(Number);
      const firstAt = new Map<number, number>();
      order.forEach((seq, index) => {
        if (firstAt.has(seq)) repeats += 1;
        else firstAt.set(seq, index);
      });
      expect(firstAt.size).toBe(200);
      for (let seq = 1; seq < 200; seq += 1) if (firstAt.get(seq)! < firstAt.get(seq - 1)!) violations += 1;
    }
    expect(violations).toBe(0);
    // Each key lives in one partition; the keys spread over all 8.
    expect(new Set(keys.map((key) => partitionOf(key, 8))).size).toBe(8);
    const stats = (await (await fetch(`${replicas[1]!.url}/stats`)).json()) as { partitions: number; pending: number; lag: number; partitionStats: { owner: string | null }[] };
    expect(stats).toMatchObject({ partitions: 8, pending: 0, lag: 0 });
    // The three live replicas share the partitions (3, 3, 2 once the assignment settled).
    const owners = await waitFor(async () => {
      const body = (await (await fetch(`${replicas[1]!.url}/stats`)).json()) as typeof stats;
      const counts = new Map<string, number>();
      for (const p of body.partitionStats) if (p.owner) counts.set(p.owner.replace(/-p\d+$/, ''), (counts.get(p.owner.replace(/-p\d+$/, '')) ?? 0) + 1);
      const sizes = [...counts.values()].sort();
      return sizes.join(',') === '2,3,3' ? sizes : undefined;
    }, 'partitions spread over 3 replicas', { timeoutMs: 30_000, intervalMs: 200 });
    expect(owners).toEqual([2, 3, 3]);
    console.info(`partition ordering run: ${total} events, ${repeats} repeated handlings (at-least-once after the kill -9), 0 violations`);
    for (const replica of replicas.slice(1)) replica.process.kill('SIGTERM');
    for (const replica of replicas.slice(1)) expect((await replica.exited).code).toBe(0);
  });
});
