import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { BULL_PREFIX, closeRedis, createLazyQueue, createRedis, waitForRedis, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';

const opened: Redis[] = [];
const queues: Queue[] = [];

async function connection(): Promise<Redis> {
  const redis = createRedis({ url: inject('redis').queue, role: 'redis-queue', profile: 'consumer', logger: silentLogger() });
  opened.push(redis);
  await waitForRedis(redis, 'redis-queue', 5_000);
  return redis;
}

afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.obliterate({ force: true }).finally(() => queue.close())));
  await Promise.all(opened.splice(0).map((redis) => closeRedis(redis)));
});

describe('createLazyQueue', () => {
  it('adds real BullMQ jobs under the stack prefix, the queue created on the first add', async () => {
    const redis = await connection();
    const name = uniqueName('lazy');
    const lazy = createLazyQueue(name, redis);
    const [first, second] = await Promise.all([lazy.add('demo.sleep', { n: 1 }, { jobId: 'one' }), lazy.add('demo.sleep', { n: 2 }, { jobId: 'two' })]);
    expect([first.id, second.id]).toEqual(['one', 'two']);
    const reader = new Queue(name, { connection: redis, prefix: BULL_PREFIX });
    queues.push(reader);
    expect((await reader.getJob('two'))?.data).toEqual({ n: 2 });
    expect(await reader.getJobCounts('waiting')).toEqual({ waiting: 2 });
    await lazy.close();
    // The connection is the caller's: still usable after close.
    expect(await redis.ping()).toBe('PONG');
  });

  it('close without an add creates nothing, is idempotent, and a later add is refused', async () => {
    const redis = await connection();
    const name = uniqueName('lazy-unused');
    const lazy = createLazyQueue(name, redis);
    const closed = lazy.close();
    expect(lazy.close()).toBe(closed);
    await closed;
    await expect(lazy.add('demo.sleep', {})).rejects.toThrow(`queue ${name} is closed`);
    expect(await redis.keys(`${BULL_PREFIX}:${name}:*`)).toEqual([]);
  });
});
