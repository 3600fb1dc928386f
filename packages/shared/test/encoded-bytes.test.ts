import { Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BytesCommand, EncodedBytes, type Redis } from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { seededRandom } from './support/seeded-random';
import { streamsClients } from './support/streams-clients';

let redis: Redis;
const { client, closeAll } = streamsClients();

beforeAll(async () => {
  redis = await client();
});

afterAll(closeAll);

/** A random string of ASCII, Latin-1, BMP and astral characters, lone surrogates, spaces and CR/LF included; now and then long (past 9, 99, 999 units). */
function randomText(random: () => number): string {
  const alphabet = ['a', 'Z', '0', ' ', '\r', '\n', '$', '*', ':', 'é', 'ÿ', '€', '中', '😀', '\u0000', '\ud800', '\udfff'];
  const length = random() < 0.1 ? Math.floor(random() * 1_500) : Math.floor(random() * 14);
  return Array.from({ length }, () => alphabet[Math.floor(random() * (random() < 0.5 ? 9 : alphabet.length))]).join('');
}

/** The bytes on the wire (ours are a Buffer, ioredis's a string it writes as UTF-8). */
const bytes = (command: Command) => Buffer.from(command.toWritable(undefined as never));

describe('encoded bytes (RESP written into a Buffer while collected)', () => {
  it('write exactly what ioredis writes for the same command, whatever the characters and lengths (single, pairs, triples, plain parts between)', () => {
    const random = seededRandom(1515);
    for (let round = 0; round < 300; round += 1) {
      const key = randomText(random) || 'k';
      const args: string[] = [];
      const parts: (EncodedBytes | string)[] = [];
      // A small first size, so that growing is exercised too.
      let encoded = new EncodedBytes(16);
      parts.push(encoded);
      for (let index = Math.floor(random() * 10); index > 0; index -= 1) {
        const choice = random();
        if (choice < 0.3) {
          const arg = randomText(random);
          args.push(arg);
          encoded.add(arg);
        } else if (choice < 0.6) {
          const pieces = Array.from({ length: 4 }, () => randomText(random)) as [string, string, string, string];
          args.push(pieces[0] + pieces[1], pieces[2], pieces[3]);
          encoded.addTriple(...pieces);
        } else if (choice < 0.8) {
          const [field, value] = [randomText(random), randomText(random)];
          args.push(field, value);
          encoded.addPair(field, value);
        } else {
          const plain = randomText(random);
          args.push(plain);
          parts.push(plain, (encoded = new EncodedBytes(16)));
        }
      }
      expect(parts.reduce((sum, part) => sum + (typeof part === 'string' ? 1 : part.size), 0)).toBe(args.length);
      expect(bytes(new BytesCommand('hset', [key], parts)).equals(bytes(new Command('hset', [key, ...args])))).toBe(true);
      expect(bytes(new BytesCommand('evalsha', ['0'.repeat(40), 1, key, 7], parts)).equals(bytes(new Command('evalsha', ['0'.repeat(40), 1, key, 7, ...args])))).toBe(true);
    }
  });

  it('run on a client with its reply, again (a resend), and prefix the key as ioredis does', async () => {
    const key = uniqueName('encoded-bytes');
    const encoded = new EncodedBytes();
    encoded.addPair('f1', 'é v1');
    encoded.addTriple('f ', '2', '😀', 'f3');
    const command = () => new BytesCommand('hset', [key], [encoded, 'v3']);
    expect(await redis.sendCommand(command())).toBe(3);
    expect(await redis.hgetall(key)).toEqual({ f1: 'é v1', 'f 2': '😀', f3: 'v3' });
    expect(await redis.sendCommand(command())).toBe(0);
    const prefix = `${uniqueName('prefix')}:`;
    const prefixed = await client(prefix);
    await prefixed.sendCommand(new BytesCommand('hset', ['h'], [encoded, 'v3'], prefix));
    expect(await redis.hgetall(`${prefix}h`)).toEqual({ f1: 'é v1', 'f 2': '😀', f3: 'v3' });
    expect(await redis.exists('h')).toBe(0);
  });

  it('reject with the Redis error of a bad command', async () => {
    const encoded = new EncodedBytes();
    encoded.add('only-a-field');
    await expect(redis.sendCommand(new BytesCommand('hset', [uniqueName('bad')], [encoded]))).rejects.toThrow(/wrong number of arguments/);
  });
});
