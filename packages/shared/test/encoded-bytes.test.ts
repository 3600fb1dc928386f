import { Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BytesCommand, EncodedBytes, TIMELINE_STEP_KINDS, encodeStep, writeStep, type Redis, type TimelineStepInput } from '@event-infra/shared';
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
  const alphabet = ['a', 'Z', '0', ' ', '\r', '\n', '$', '*', ':', '"', '\\', 'é', 'ÿ', '€', '中', '😀', '\u0000', '\ud800', '\udfff'];
  const length = random() < 0.1 ? Math.floor(random() * 1_500) : Math.floor(random() * 14);
  return Array.from({ length }, () => alphabet[Math.floor(random() * (random() < 0.5 ? 11 : alphabet.length))]).join('');
}

/**
 * A step's detail: mostly flat (numbers of every kind, booleans, null, undefined, strings with
 * escapes, integer-like and escaped keys, in random order), sometimes nested, an array value, a
 * function, a class instance or an object without prototype.
 */
function randomDetail(random: () => number, round: number): Record<string, unknown> {
  const keys = ['attempt', 'maxAttempts', 'durationMs', 'error', 'willRetry', '10', '2', 'a"b', 'é', `k${round % 300}`];
  const values = [0, 1, 42, -7, 1.5, -0, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY, true, false, null, undefined];
  const detail: Record<string, unknown> = random() < 0.05 ? (Object.create(null) as Record<string, unknown>) : {};
  for (let count = Math.floor(random() * 6); count > 0; count -= 1) {
    const key = keys[Math.floor(random() * keys.length)]!;
    detail[key] = random() < 0.3 ? randomText(random) : values[Math.floor(random() * values.length)];
  }
  const odd = random();
  if (odd < 0.05) detail.nested = { at: [1, randomText(random)] };
  else if (odd < 0.08) detail.list = [1, 'a'];
  else if (odd < 0.1) detail.fn = () => 1;
  else if (odd < 0.12) return Object.assign(new (class Detail {})(), detail) as Record<string, unknown>;
  return detail;
}

/** The bytes on the wire (ours are a Buffer, ioredis's a string it writes as UTF-8). */
const bytes = (command: Command) => Buffer.from(command.toWritable(undefined as never));

describe('encoded bytes (RESP written into a Buffer while collected)', () => {
  it('write a timeline step as the bytes of encodeStep, whatever its subject, cause, time and detail', () => {
    const random = seededRandom(2015);
    const keys = new Map<string, Buffer>();
    for (let round = 0; round < 1_000; round += 1) {
      const step: TimelineStepInput = {
        kind: TIMELINE_STEP_KINDS[Math.floor(random() * TIMELINE_STEP_KINDS.length)]!,
        subject: random() < 0.5 ? `job:q-${round}:${round * 7}` : randomText(random),
        ...(random() < 0.5 ? { cause: random() < 0.5 ? `evt-${round}` : randomText(random) } : {}),
      };
      const detail = random() < 0.2 ? undefined : randomDetail(random, round);
      const atMs = random() < 0.9 ? 1_733_000_000_000 + round : [0, 5, 1.25, -1][round % 4]!;
      const service = random() < 0.8 ? 'queue-processor' : randomText(random);
      const encoded = new EncodedBytes(32);
      writeStep(encoded, step, Buffer.from(JSON.stringify(service), 'utf8'), atMs, detail, keys);
      const expected = new EncodedBytes();
      expected.add(encodeStep(step, JSON.stringify(service), atMs, detail));
      expect(encoded.size).toBe(1);
      expect(encoded.view().equals(expected.view())).toBe(true);
    }
  });

  it('write exactly what ioredis writes for the same command, whatever the characters and lengths (single, pairs, in pieces, pre-encoded, plain parts between)', () => {
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
        } else if (choice < 0.5) {
          // One argument in pieces: text, bytes, integers (safe or not), JSON strings.
          let arg = '';
          encoded.beginArg();
          for (let piece = Math.floor(random() * 6); piece > 0; piece -= 1) {
            const kind = random();
            const text = randomText(random);
            if (kind < 0.25) {
              encoded.piece(text);
              arg += text;
            } else if (kind < 0.45) {
              encoded.pieceBytes(Buffer.from(text, 'utf8'));
              arg += Buffer.from(text, 'utf8').toString('utf8');
            } else if (kind < 0.7) {
              const value = [0, 7, 10, 99, 1_733_000_000_123, -3, 1.5, 2 ** 60, Number.NaN][Math.floor(random() * 9)]!;
              encoded.pieceNumber(value);
              arg += String(value);
            } else {
              encoded.pieceJsonString(text);
              arg += JSON.stringify(text);
            }
          }
          encoded.endArg();
          args.push(arg);
        } else if (choice < 0.6) {
          encoded.addEncoded(Buffer.from('$1\r\n1\r\n$2\r\nab\r\n'), 2);
          args.push('1', 'ab');
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
    encoded.beginArg();
    encoded.piece('f ');
    encoded.pieceNumber(2);
    encoded.endArg();
    encoded.add('😀');
    encoded.add('f3');
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
