/**
 * Redis Cluster settings and key layout, without a cluster: the seed-list variables, the slot
 * function (Redis' own test vectors), and that every key built for a cluster carries the tag
 * that keeps a script's keys in one slot while single-Redis keys stay unchanged.
 */
import { describe, expect, it } from 'vitest';
import {
  auditStreamKey,
  bullPrefix,
  clusterSlotOf,
  commonEnvSchema,
  parseConfig,
  processedEventsKey,
  replayKeys,
  slotTagOf,
  timelineBucketKey,
  timelineBucketsKey,
  AUDIT_STREAM,
} from '@event-infra/shared';
import { configErrorOf } from '@event-infra/testing';

describe('cluster seed lists', () => {
  it('parses host:port lists per role, IPv6 in brackets; empty means a single Redis', () => {
    const config = parseConfig(commonEnvSchema, {
      REDIS_QUEUE_CLUSTER_NODES: ' 10.0.0.5:6379, redis-node-2:7000 ,[::1]:7001',
      REDIS_CLUSTER_NODES: '',
    });
    expect(config.REDIS_QUEUE_CLUSTER_NODES).toEqual([
      { host: '10.0.0.5', port: 6379 },
      { host: 'redis-node-2', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    expect(config.REDIS_CLUSTER_NODES).toEqual([]);
    expect(config.REDIS_STREAMS_CLUSTER_NODES).toEqual([]);
  });

  it('refuses a bad item or more than 64 nodes, naming the variable', () => {
    expect(configErrorOf(commonEnvSchema, { REDIS_STREAMS_CLUSTER_NODES: 'a:1,b' }).message).toContain('REDIS_STREAMS_CLUSTER_NODES');
    expect(configErrorOf(commonEnvSchema, { REDIS_CLUSTER_NODES: 'a:70000' }).message).toContain('REDIS_CLUSTER_NODES');
    const many = Array.from({ length: 65 }, (_, index) => `n${index}:6379`).join(',');
    expect(configErrorOf(commonEnvSchema, { REDIS_QUEUE_CLUSTER_NODES: many }).message).toMatch(/REDIS_QUEUE_CLUSTER_NODES.*at most 64/);
  });
});

describe('key layout', () => {
  it('computes Redis Cluster slots as Redis does', () => {
    expect(clusterSlotOf('foo')).toBe(12182);
    expect(clusterSlotOf('bar')).toBe(5061);
    expect(clusterSlotOf('{user1000}.following')).toBe(clusterSlotOf('{user1000}.followers'));
    // An empty tag does not count: the whole key is hashed.
    expect(clusterSlotOf('{}foo')).not.toBe(clusterSlotOf('foo'));
  });

  it('keeps single-Redis keys unchanged', () => {
    expect(bullPrefix('async-processing', false)).toBe('bull');
    expect(auditStreamKey(false)).toBe(AUDIT_STREAM);
    expect(timelineBucketKey(1_764_000_000_000, 675_000)).toBe('evinfra:timeline-bucket:1764000000000:675000');
    expect(timelineBucketsKey()).toBe('evinfra:timeline-buckets');
    expect(replayKeys('pyairtable-events').index).toBe('evinfra:replay:pyairtable-events:index');
    expect(processedEventsKey('g', 7)).toBe('evinfra:processed:g:7');
  });

  it('puts the keys that one script or command touches in one slot on a cluster', () => {
    const slots = (keys: string[]): Set<number> => new Set(keys.map(clusterSlotOf));
    const queue = `${bullPrefix('async-processing', true)}:async-processing`;
    expect(slots([`${queue}:wait`, `${queue}:active`, `${queue}:42`, `${queue}:events`]).size).toBe(1);
    expect(clusterSlotOf(`${bullPrefix('long-running-jobs', true)}:long-running-jobs:wait`)).not.toBe(clusterSlotOf(`${queue}:wait`));
    // One flush writes its bucket and the bucket registry in one script call; a read pipelines every bucket.
    expect(slots([timelineBucketKey(1_764_000_000_000, 675_000, true), timelineBucketKey(1_764_000_675_000, 675_000, true), timelineBucketsKey(true)]).size).toBe(1);
    const replay = replayKeys('pyairtable-events', true);
    // The replay keys share a slot with the stream itself.
    expect(slots([replay.task('t'), replay.index, replay.running, 'pyairtable-events']).size).toBe(1);
    expect(slots([processedEventsKey('g', 1, true), processedEventsKey('g', 2, true)]).size).toBe(1);
    expect(slots(['{evinfra}:dlq:state', auditStreamKey(true)]).size).toBe(1);
    expect(slotTagOf('pyairtable-events:{p3}')).toBe('{p3}');
    expect(slotTagOf('pyairtable-events')).toBe('{pyairtable-events}');
  });
});
