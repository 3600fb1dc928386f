/**
 * Reply parsers, stream-id arithmetic and group creation of `stream-replies.ts`: pure helpers
 * on literal replies, and the Redis-facing ones against the real test Redis.
 */
import { describe, expect, it } from 'vitest';
import { uniqueName } from '@event-infra/testing';
import {
  compareStreamIds,
  ensureGroup,
  eventIdsOf,
  isNoGroupError,
  isNoSuchKeyError,
  nextStreamId,
  parseAutoClaimReply,
  parsePendingReply,
  parseReadBufferReply,
  xinfoConsumers,
  xinfoGroups,
} from '../src/core/stream-replies';
import { useTestResources } from './helpers';

const { client } = useTestResources();

describe('stream ids', () => {
  it('nextStreamId is the smallest id after the given one, with or without a sequence', () => {
    expect(nextStreamId('1700000000000-5')).toBe('1700000000000-6');
    expect(nextStreamId('1700000000000-0')).toBe('1700000000000-1');
    expect(nextStreamId('1700000000000')).toBe('1700000000000-1');
    // Beyond 2^53: BigInt, not a float.
    expect(nextStreamId('1-9007199254740993')).toBe('1-9007199254740994');
  });

  it('compareStreamIds orders by time, then by sequence, numerically', () => {
    expect(compareStreamIds('10-0', '9-0')).toBe(1);
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('5-10', '5-9')).toBe(1);
    expect(compareStreamIds('5-9', '5-10')).toBe(-1);
    expect(compareStreamIds('5-3', '5-3')).toBe(0);
    expect(compareStreamIds('5', '5-0')).toBe(0);
    expect(compareStreamIds('5-1', '5')).toBe(1);
    expect(compareStreamIds('5', '5-1')).toBe(-1);
    expect(compareStreamIds('9007199254740993-0', '9007199254740992-0')).toBe(1);
  });
});

describe('reply parsers', () => {
  it('parseReadBufferReply keeps ids as strings and fields as given; empty for a null or empty reply', () => {
    const fields = [Buffer.from('id'), Buffer.from('e1')];
    expect(parseReadBufferReply([[Buffer.from('s'), [[Buffer.from('1-1'), fields], [Buffer.from('1-2'), null]]]])).toEqual([
      { id: '1-1', fields },
      { id: '1-2', fields: null },
    ]);
    expect(parseReadBufferReply(null)).toEqual([]);
    expect(parseReadBufferReply([])).toEqual([]);
  });

  it('eventIdsOf takes the last id field of each entry, string or Buffer names, and skips entries without one', () => {
    const entries = [
      { id: '1-1', fields: [Buffer.from('type'), Buffer.from('a.b'), Buffer.from('id'), Buffer.from('first')] },
      { id: '1-2', fields: ['id', 'one', 'type', 'x', 'id', 'two'] },
      { id: '1-3', fields: null },
      { id: '1-4', fields: ['type', 'no-id'] },
      // A value named "id" is not a field name; a dangling name without a value is ignored.
      { id: '1-5', fields: ['name', 'id', 'id'] },
      { id: '1-6', fields: [Buffer.from('idx'), Buffer.from('not-an-id'), Buffer.from('i'), Buffer.from('d')] },
      // Two-byte names that are not "id" (compared byte by byte).
      { id: '1-7', fields: [Buffer.from('iD'), Buffer.from('x'), Buffer.from('di'), Buffer.from('y'), Buffer.from('Id'), Buffer.from('z')] },
      { id: '1-8', fields: [Buffer.from('traceparent'), Buffer.from('00-…'), Buffer.from('id'), Buffer.from('third')] },
    ];
    expect(eventIdsOf(entries)).toEqual(['first', 'two', 'third']);
  });

  it('parseAutoClaimReply reads cursor, entries and deleted ids (absent before Redis 7)', () => {
    expect(parseAutoClaimReply(['2-0', [['1-1', ['id', 'x']], ['1-2', null]], ['1-3']])).toEqual({
      next: '2-0',
      entries: [
        { id: '1-1', fields: ['id', 'x'] },
        { id: '1-2', fields: null },
      ],
      deleted: ['1-3'],
    });
    expect(parseAutoClaimReply(['0-0', []]).deleted).toEqual([]);
  });

  it('parsePendingReply names the four columns of XPENDING', () => {
    expect(parsePendingReply([['1-1', 'c1', 250, 3]])).toEqual([{ id: '1-1', consumer: 'c1', idleMs: 250, deliveries: 3 }]);
  });

  it('recognises NOGROUP and "no such key" errors only', () => {
    expect(isNoGroupError(new Error('NOGROUP No such key or consumer group'))).toBe(true);
    expect(isNoGroupError(new Error('ERR no such key'))).toBe(false);
    expect(isNoSuchKeyError(new Error('ERR no such key'))).toBe(true);
    expect(isNoSuchKeyError(new Error('NOGROUP x'))).toBe(false);
  });
});

describe('groups on the real Redis', () => {
  it('ensureGroup creates the stream and the group at 0, accepts an existing group, and rethrows other errors', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    await streams.xadd(stream, '*', 'id', 'before');
    const group = uniqueName('group');
    await ensureGroup(streams, stream, group);
    await ensureGroup(streams, stream, group);
    const [info] = await xinfoGroups(streams, stream);
    expect(info).toEqual({ name: group, consumers: 0, pending: 0, lastDeliveredId: '0-0', lag: 1 });

    const fresh = uniqueName('stream');
    await ensureGroup(streams, fresh, group);
    expect(await streams.exists(fresh)).toBe(1);

    const notAStream = uniqueName('key');
    await streams.set(notAStream, 'x');
    await expect(ensureGroup(streams, notAStream, group)).rejects.toThrow(/WRONGTYPE|key/i);
  });

  it('xinfoConsumers reports name, pending and idle time', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const group = uniqueName('group');
    await ensureGroup(streams, stream, group);
    await streams.xadd(stream, '*', 'id', 'a');
    await streams.xadd(stream, '*', 'id', 'b');
    await streams.xreadgroup('GROUP', group, 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    const [consumer] = await xinfoConsumers(streams, stream, group);
    expect(consumer).toMatchObject({ name: 'c1', pending: 2 });
    expect(consumer!.idleMs).toBeGreaterThanOrEqual(0);
    expect(consumer!.idleMs).toBeLessThan(10_000);
    const [info] = await xinfoGroups(streams, stream);
    expect(info).toMatchObject({ consumers: 1, pending: 2, lag: 0 });
  });
});
