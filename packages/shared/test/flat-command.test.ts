import { Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flatCommand, queueFlatCommand, sendFlatCommand, type Redis } from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { streamsClients } from './support/streams-clients';

let redis: Redis;
const { client, closeAll } = streamsClients();

beforeAll(async () => {
  redis = await client();
});

afterAll(closeAll);

describe('flat commands (arguments ioredis need not flatten)', () => {
  it('carry the same arguments as the command ioredis builds from the concatenated parts', () => {
    const parts = [['s'], ['MAXLEN', '~', 1000], ['f', 'é', Buffer.from('b')]] as const;
    const command = flatCommand('xadd', parts);
    expect(command.name).toBe('xadd');
    expect(command.args).toEqual(new Command('xadd', ([] as (string | number | Buffer)[]).concat(...parts)).args);
    expect(Array.isArray(command.args)).toBe(true);
    expect(Object.keys(command.args)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
  });

  it('run on a client and in a pipeline, with replies in order', async () => {
    const key = uniqueName('flat');
    expect(await sendFlatCommand<number>(redis, 'sadd', [key], ['a', 'b', 'c'])).toBe(3);
    const pipeline = redis.pipeline();
    pipeline.scard(key);
    queueFlatCommand(pipeline, 'srem', [key], ['a', 'x']);
    queueFlatCommand(pipeline, 'smismember', [key], ['a', 'b', 'c']);
    expect(await pipeline.exec()).toEqual([
      [null, 3],
      [null, 1],
      [null, [0, 1, 1]],
    ]);
  });

  it("prefix their keys with the client's keyPrefix, as ioredis's own methods do", async () => {
    const prefix = `${uniqueName('prefix')}:`;
    const prefixed = await client(prefix);
    await sendFlatCommand(prefixed, 'sadd', ['set'], ['a']);
    const pipeline = prefixed.pipeline();
    queueFlatCommand(pipeline, 'eval', ["return redis.call('SADD', KEYS[1], ARGV[1])", 1], ['set'], ['b']);
    await pipeline.exec();
    expect((await redis.smembers(`${prefix}set`)).sort()).toEqual(['a', 'b']);
    expect(await redis.exists('set')).toBe(0);
  });

  it('reject with the Redis error of a bad command', async () => {
    await expect(sendFlatCommand(redis, 'xadd', ['k'], ['not-an-id', 'f'])).rejects.toThrow(/ERR/);
  });
});
