/**
 * Partitions (issue 16): drain of N pre-filled events through real event processor processes
 * (`event-system/src/main.ts`, fan-out and triggers off, 1 consumer loop, batch 100), over
 * 8 partitions with 1, 2 and 4 processes, against one process on one stream (STREAM_PARTITIONS=1,
 * no leases: today's engine) in the same run. The processes start, take their partitions (the
 * assignment settles), are paused (SIGSTOP), the events are published, and the clock runs from
 * SIGCONT until every partition's group has read everything and has nothing pending.
 * This machine has 2 cores shared with Redis and the runner: read the scaling with that in mind.
 */
import { createEventPublisher, createLogger, partitionKeys, partitionStreams, type EventInput } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA, freePort } from '@event-infra/testing';
import { Redis } from 'ioredis';
import { spawnChild, type BenchChild } from '../lib/child';
import { pollUntil } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';

const PARTITIONS = 8;

async function groupDone(redis: Redis, streams: string[], group: string): Promise<boolean> {
  for (const stream of streams) {
    const groups = (await redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
    const info = groups.map((flat) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [String(flat[2 * i]), flat[2 * i + 1]]))).find((g) => g.name === group);
    if (!info || Number(info.pending) > 0 || Number(info.lag ?? 1) > 0) return false;
  }
  return true;
}

async function drain(url: string, processes: number, partitions: number, count: number, run: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: false });
  const stream = `bench-partitions-${run}`;
  const group = `bench-group-${run}`;
  const streams = partitionStreams(stream, partitions);
  const children: BenchChild[] = [];
  try {
    for (let i = 0; i < processes; i += 1) {
      const port = await freePort();
      children.push(
        await spawnChild({
          name: `event processor ${i}`,
          flags: 'event',
          entry: 'event-system/src/main.ts',
          healthUrl: `http://127.0.0.1:${port}/health`,
          env: {
            REDIS_URL: url,
            REDIS_STREAMS_URL: url,
            REDIS_QUEUE_URL: url,
            HTTP_HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            EVENT_PROCESSOR_PORT: String(port),
            STREAM_NAME: stream,
            CONSUMER_GROUP: group,
            STREAM_PARTITIONS: String(partitions),
            // Longer than the pause while the events are published: no lease runs out meanwhile.
            EVENT_PARTITION_LEASE_MS: '60000',
            EVENT_CONSUMERS: '1',
            EVENT_BATCH_SIZE: '100',
            EVENT_FANOUT_ENABLED: 'false',
            EVENT_SCALE_INTERVAL_MS: '0',
            EVENT_TRIM_INTERVAL_MS: '0',
            CONSUMER_NAME: `bench-${run}-${i}`,
          },
        }),
      );
    }
    if (partitions > 1) {
      // Settled: every process holds its share (8 / R each) and every group exists.
      await pollUntil(
        async () => {
          const owners = await Promise.all(streams.map((name) => redis.get(partitionKeys.lease(name, group))));
          const perOwner = new Map<string, number>();
          for (const owner of owners) if (owner !== null) perOwner.set(owner.split(' ')[1]!.replace(/-p\d+$/, ''), (perOwner.get(owner.split(' ')[1]!.replace(/-p\d+$/, '')) ?? 0) + 1);
          return owners.every((owner) => owner !== null) && perOwner.size === processes;
        },
        60_000,
        'partitions assigned',
        100,
      );
    }
    await pollUntil(async () => groupDone(redis, streams, group), 30_000, 'groups created', 50);
    for (const child of children) child.pause();
    const publisher = createEventPublisher({ stream, source: 'bench', partitions, maxLenApprox: 0 }, { redis, logger: createLogger({ service: 'bench', level: 'silent' }) });
    for (let offset = 0; offset < count; offset += 1000) {
      const batch: EventInput[] = Array.from({ length: Math.min(1000, count - offset) }, (_, i) => ({ type: 'workspace.created', subject: `workspace/ws_${(offset + i) % 500}`, data: { ...SAMPLE_EVENT_DATA['workspace.created'] } }));
      await publisher.publishBatch(batch);
    }
    const started = Date.now();
    for (const child of children) child.resume();
    await pollUntil(async () => groupDone(redis, streams, group), 600_000, 'drained', 10);
    return count / ((Date.now() - started) / 1000);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await redis.quit();
  }
}

const suite: BenchSuite = {
  name: 'partitions',
  async run({ redis, scale }) {
    const count = Math.max(2_000, Math.round(40_000 * scale));
    const single = await drain(redis.url, 1, 1, count, 'single');
    const rows: BenchRow[] = [];
    for (const processes of [1, 2, 4]) {
      const rate = await drain(redis.url, processes, PARTITIONS, count, `p8-${processes}`);
      rows.push({
        metric: `drain ${count.toLocaleString('en-US')} events, ${PARTITIONS} partitions, ${processes} process${processes > 1 ? 'es' : ''}`,
        value: rate,
        unit: 'events/s',
        baseline: '1 process, 1 stream (no leases)',
        baselineValue: single,
        note: '2 cores shared with Redis and the publisher',
      });
    }
    return rows;
  },
};

export default suite;
