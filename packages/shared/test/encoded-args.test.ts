import { Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncodedArgs, type Redis } from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { seededRandom } from './support/seeded-random';
import { streamsClients } from './support/streams-clients';

let redis: Redis;
const { client, closeAll } = streamsClients();

beforeAll(async () => {
  redis = await client();
});

afterAll(closeAll);

/** A random string of ASCII, Latin-1, BMP and astral characters, spaces and CR/LF included. */
function randomText(random: () => number): string {
  const alphabet = ['a', 'Z', '0', ' ', '\r', '\n', '$', '*', ':', 'é', 'ÿ', '€', '中', '😀', '\u0000'];
  return Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
}

describe('encoded arguments (RESP built while collected)', () => {
  it('write exactly what ioredis writes for the same command, whatever the characters (pairs, pieces, triples, appended)', () => {
    const random = seededRandom(15);
    for (let round = 0; round < 300; round += 1) {
      const key = randomText(random) || 'k';
      const args: string[] = [];
      const encoded = new EncodedArgs();
      for (let index = Math.floor(random() * 8); index > 0; index -= 1) {
        const choice = random();
        if (choice < 0.35) {
          const arg = randomText(random);
          args.push(arg);
          encoded.add(arg);
        } else if (choice < 0.55) {
          const pieces = Array.from({ length: 5 }, () => randomText(random)) as [string, string, string, string, string];
          args.push(pieces[0] + pieces[1], pieces[2] + pieces[3] + pieces[4]);
          encoded.addPairOfPieces(...pieces);
        } else if (choice < 0.7) {
          const pieces = Array.from({ length: 4 }, () => randomText(random)) as [string, string, string, string];
          args.push(pieces[0] + pieces[1], pieces[2], pieces[3]);
          encoded.addTriple(...pieces);
        } else if (choice < 0.85) {
          const other = new EncodedArgs();
          const [first, second] = [randomText(random), randomText(random)];
          other.add(first);
          other.add(second);
          args.push(first, second);
          encoded.append(other);
        } else {
          const [field, value] = [randomText(random), randomText(random)];
          args.push(field, value);
          encoded.addPair(field, value);
        }
      }
      expect(encoded.size).toBe(args.length);
      // The bytes on the wire (ours are a Buffer, ioredis's a string it writes as UTF-8).
      const bytes = (command: Command) => Buffer.from(command.toWritable(undefined as never));
      expect(bytes(encoded.command('hset', [key])).equals(bytes(new Command('hset', [key, ...args])))).toBe(true);
      expect(bytes(encoded.command('evalsha', ['0'.repeat(40), 1, key, 7])).equals(bytes(new Command('evalsha', ['0'.repeat(40), 1, key, 7, ...args])))).toBe(true);
    }
  });

  it('run in a pipeline and on a client, with their replies, and prefix the key as ioredis does', async () => {
    const key = uniqueName('encoded');
    const encoded = new EncodedArgs();
    encoded.addPair('f1', 'é v1');
    encoded.addPair('f 2', '😀');
    const pipeline = redis.pipeline();
    encoded.queue(pipeline, 'hset', [key]);
    pipeline.hgetall(key);
    expect(await pipeline.exec()).toEqual([
      [null, 2],
      [null, { f1: 'é v1', 'f 2': '😀' }],
    ]);
    // Written again (a resend): same fields, none added.
    expect(await redis.sendCommand(encoded.command('hset', [key]))).toBe(0);
    const prefix = `${uniqueName('prefix')}:`;
    const prefixed = await client(prefix);
    const other = prefixed.pipeline();
    encoded.queue(other, 'hset', ['h']);
    await other.exec();
    expect(await redis.hgetall(`${prefix}h`)).toEqual({ f1: 'é v1', 'f 2': '😀' });
    expect(await redis.exists('h')).toBe(0);
  });

  it('reject with the Redis error of a bad command', async () => {
    const encoded = new EncodedArgs();
    encoded.add('only-a-field');
    await expect(redis.sendCommand(encoded.command('hset', [uniqueName('bad')]))).rejects.toThrow(/wrong number of arguments/);
  });
});
