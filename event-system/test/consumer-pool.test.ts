/**
 * The consumer pool on the real streams Redis: start clamps to [min, max], grow and shrink
 * stop at the bounds, a retired loop leaves the group only when it owns nothing, close is
 * idempotent and no loop starts after it.
 */
import { describe, expect, it } from 'vitest';
import { createDeadLetterSink, createMetricsRegistry, type Redis, type RedisClient } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { BatchProcessor } from '../src/core/batch-processor';
import { ConsumerPool } from '../src/core/consumer-pool';
import { DuplicateFilter } from '../src/core/dedupe';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { Router } from '../src/core/router';
import { xinfoConsumers } from '../src/core/stream-replies';
import { useTestResources } from './helpers';

const { open, client } = useTestResources();

function poolOf(bounds: { initial: number; min: number; max: number }, router = new Router()) {
  const stream = uniqueName('stream');
  const group = uniqueName('group');
  const control = client('streams');
  const logger = silentLogger();
  const dlq = createDeadLetterSink({ queueName: uniqueName('dlq'), connection: client('queue') });
  open.push(dlq);
  const processor = new BatchProcessor(
    { stream, group, retryAttempts: 3, heartbeatMs: 1000, maxEntryBytes: 1_048_576 },
    { router, dedupe: new DuplicateFilter({ group, enabled: true, windowMs: 60_000 }), dlq, metrics: new ProcessorMetrics(createMetricsRegistry('test')), logger },
  );
  const opened: RedisClient[] = [];
  const closed: RedisClient[] = [];
  const pool = new ConsumerPool(
    { stream, group, baseName: 'pool', batchSize: 1, blockMs: 100, ...bounds },
    {
      openConnection: () => {
        const redis = client('streams');
        opened.push(redis);
        return redis;
      },
      closeConnection: async (redis) => void closed.push(redis),
      control,
      processor,
      logger,
    },
  );
  open.push(pool);
  return { pool, stream, group, control, opened, closed };
}

describe('consumer pool', () => {
  it('starts with the initial count clamped to [min, max] and numbers its loops', async () => {
    const high = poolOf({ initial: 9, min: 1, max: 2 });
    await high.pool.start();
    expect(high.pool.size).toBe(2);
    expect(high.pool.names()).toEqual(['pool-1', 'pool-2']);
    expect(high.pool.bounds).toEqual({ min: 1, max: 2 });
    const low = poolOf({ initial: 1, min: 2, max: 4 });
    await low.pool.start();
    expect(low.pool.size).toBe(2);
  });

  it('grows up to max and shrinks down to min, newest loop first; a retired loop leaves the group and its connection is closed', async () => {
    const { pool, stream, group, control, opened, closed } = poolOf({ initial: 1, min: 1, max: 2 });
    await pool.start();
    expect(await pool.grow()).toBe(true);
    expect(await pool.grow()).toBe(false);
    expect(pool.names()).toEqual(['pool-1', 'pool-2']);
    // A blocked read does not create its consumer yet: give both loops something to read, and
    // more while one of them has not read yet (a loop slow to connect on a loaded machine would
    // find the first entries taken by the other one).
    for (let i = 0; i < 6; i += 1) await control.xadd(stream, '*', 'garbage', String(i));
    await waitFor(async () => {
      const consumers = await xinfoConsumers(control, stream, group);
      if (consumers.length < 2) await control.xadd(stream, '*', 'garbage', 'more');
      return consumers.length === 2 && consumers.every((c) => c.pending === 0);
    }, 'both loops read and settled');
    expect(await pool.shrink()).toBe(true);
    expect(await pool.shrink()).toBe(false);
    expect(pool.names()).toEqual(['pool-1']);
    expect(closed).toEqual([opened[1]]);
    expect((await xinfoConsumers(control, stream, group)).map((c) => c.name)).toEqual(['pool-1']);
    // Numbers are never reused: the next loop is pool-3.
    expect(await pool.grow()).toBe(true);
    expect(pool.names()).toEqual(['pool-1', 'pool-3']);
  });

  it('a retired loop that still owns a pending entry stays in the group (its entry is reclaimed later)', async () => {
    const { pool, stream, group, control } = poolOf({ initial: 2, min: 1, max: 2 });
    // An entry the group delivered to pool-2 before (the loops read only new ones), never acknowledged.
    const id = await control.xadd(stream, '*', 'x', '1');
    await control.xgroup('CREATE', stream, group, '$');
    await control.call('XCLAIM', stream, group, 'pool-2', 0, id!, 'FORCE', 'JUSTID');
    await pool.start();
    expect(await pool.shrink()).toBe(true);
    const consumers = await xinfoConsumers(control, stream, group);
    expect(consumers.find((c) => c.name === 'pool-2')).toMatchObject({ pending: 1 });
  });

  it('close stops every loop once, and nothing grows after it', async () => {
    const { pool, stream, group, control, closed } = poolOf({ initial: 2, min: 1, max: 3 });
    await pool.start();
    const first = pool.close();
    const second = pool.close();
    await Promise.all([first, second]);
    expect(pool.size).toBe(0);
    expect(closed).toHaveLength(2);
    expect(await pool.grow()).toBe(false);
    expect(await xinfoConsumers(control, stream, group)).toEqual([]);
  });
});
