import { Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeRedis, createRedis, flatCommand, queueCommand, sendFlatCommand, waitForRedis, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';

let redis: Redis;

beforeAll(async () => {
  redis = createRedis({ url: inject('redis').streams, role: 'redis-streams', profile: 'producer', logger: silentLogger() });
  await waitForRedis(redis, 'redis-streams', 5_000);
});

afterAll(async () => {
  await closeRedis(redis);
});

describe('flatCommand (arguments ioredis need not flatten)', () => {
  it('carries the same arguments as the command ioredis builds from the concatenated parts', () => {
    const parts = [['s'], ['MAXLEN', '~', 1000], ['f', 'é', Buffer.from('b')]] as const;
    const command = flatCommand('xadd', ...parts);
    expect(command.name).toBe('xadd');
    expect(command.args).toEqual(new Command('xadd', ([] as (string | number | Buffer)[]).concat(...parts)).args);
    expect(Array.isArray(command.args)).toBe(true);
    expect(Object.keys(command.args)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
  });

  it('runs on a client and in a pipeline, with replies in order', async () => {
    const key = uniqueName('flat');
    expect(await sendFlatCommand<number>(redis, flatCommand('sadd', [key], ['a', 'b', 'c']))).toBe(3);
    const pipeline = redis.pipeline();
    pipeline.scard(key);
    queueCommand(pipeline, flatCommand('srem', [key], ['a', 'x']));
    queueCommand(pipeline, flatCommand('smismember', [key], ['a', 'b', 'c']));
    expect(await pipeline.exec()).toEqual([
      [null, 3],
      [null, 1],
      [null, [0, 1, 1]],
    ]);
  });

  it('rejects with the Redis error of a bad command', async () => {
    await expect(sendFlatCommand(redis, flatCommand('xadd', ['k'], ['not-an-id', 'f']))).rejects.toThrow(/ERR/);
  });
});
