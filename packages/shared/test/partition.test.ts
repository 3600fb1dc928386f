import { describe, expect, inject, it } from 'vitest';
import { REDIS_ROLES, closeRedis, createEvent, createEventPublisher, createRedis, fieldsToRecord, fnv1a32, partitionKeyOf, partitionOf, partitionStreams, waitForRedis, type EventInput } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';

describe('partitions', () => {
  it('FNV-1a 32 matches the published test vectors (README "Partitions")', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect([partitionOf('workspace/ws_42', 8), partitionOf('user-7', 8), partitionOf('é', 8), partitionOf('anything', 1)]).toEqual(README_VECTORS);
  });

  it('takes partitionkey, else subject, else the event id', () => {
    expect(partitionKeyOf({ id: 'i', subject: 's', partitionkey: 'k' })).toBe('k');
    expect(partitionKeyOf({ id: 'i', subject: 's' })).toBe('s');
    expect(partitionKeyOf({ id: 'i' })).toBe('i');
  });

  it('one partition is the stream itself; more carry one hash tag each', () => {
    expect(partitionStreams('pyairtable-events', 1)).toEqual(['pyairtable-events']);
    expect(partitionStreams('pyairtable-events', 3)).toEqual(['pyairtable-events:{p0}', 'pyairtable-events:{p1}', 'pyairtable-events:{p2}']);
  });
});

// fnv1a32: 2009567908, 4082333262, 513665217 (UTF-8 bytes c3 a9).
const README_VECTORS = [4, 6, 1, 0];

describe('publisher with STREAM_PARTITIONS > 1', () => {
  it('sends each event to the partition of its key (partitionkey, else subject, else id), with every path alike', async () => {
    const redis = createRedis({ url: inject('redis').streams, role: REDIS_ROLES.streams, profile: 'producer', logger: silentLogger() });
    try {
      await waitForRedis(redis, REDIS_ROLES.streams);
      const stream = uniqueName('stream');
      const publisher = createEventPublisher({ stream, source: 'test', partitions: 4 }, { redis, logger: silentLogger() });
      const streams = partitionStreams(stream, 4);
      const input = (subject?: string, partitionkey?: string): EventInput => ({
        type: 'workspace.created',
        data: { workspaceId: 'w', name: 'n', ownerId: 'u' },
        ...(subject !== undefined ? { subject } : {}),
        ...(partitionkey !== undefined ? { partitionkey } : {}),
      });
      const one = await publisher.publish(input('workspace/ws_42'));
      const batch = await publisher.publishBatch([input('workspace/ws_42'), input('user-7'), input('user-7', 'workspace/ws_42'), input()]);
      const byEnvelope = await publisher.publishEnvelope(createEvent(input(undefined, 'user-7'), 'test'));
      // Entry ids repeat across streams (each assigns its own): find the event by its id field.
      const where = async (published: { id: string; streamId: string }) => {
        for (const [index, name] of streams.entries()) {
          const [entry] = await redis.xrange(name, published.streamId, published.streamId);
          if (entry !== undefined && fieldsToRecord(entry[1]).id === published.id) return index;
        }
        return -1;
      };
      expect(await where(one)).toBe(partitionOf('workspace/ws_42', 4));
      expect(await Promise.all(batch.map((p) => where(p)))).toEqual([
        partitionOf('workspace/ws_42', 4),
        partitionOf('user-7', 4),
        partitionOf('workspace/ws_42', 4),
        partitionOf(batch[3]!.id, 4),
      ]);
      expect(await where(byEnvelope)).toBe(partitionOf('user-7', 4));
      // The key travels on the wire for readers in other languages.
      const [entry] = await redis.xrange(streams[partitionOf('workspace/ws_42', 4)]!, batch[2]!.streamId, batch[2]!.streamId);
      expect(fieldsToRecord(entry![1]).partitionkey).toBe('workspace/ws_42');
      expect(await redis.exists(stream)).toBe(0);
    } finally {
      await closeRedis(redis);
    }
  });
});
