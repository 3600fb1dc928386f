import type { RedisClient } from '@event-infra/shared';
import { isNoGroupError, isNoSuchKeyError, xinfoConsumers, xinfoGroups, type ConsumerInfo, type GroupInfo } from './stream-replies';

export interface StreamSnapshot {
  length: number;
  groups: GroupInfo[];
  /** Our group, when it exists. */
  group: GroupInfo | undefined;
  /** Entries of our group not delivered yet (exact when Redis knows, else counted, capped). */
  lag: number;
  consumers: ConsumerInfo[];
}

/** Ceiling of the fallback lag count (XRANGE) when Redis reports no lag. */
const LAG_COUNT_CAP = 100_000;
/** Entries per XRANGE page of that count: what is held in memory at once. */
const LAG_COUNT_PAGE = 1_000;

/** Entries after `afterId` (exclusive), counted in pages of LAG_COUNT_PAGE, at most LAG_COUNT_CAP. */
async function countAfter(redis: RedisClient, stream: string, afterId: string): Promise<number> {
  let counted = 0;
  let from = afterId;
  while (counted < LAG_COUNT_CAP) {
    const page = await redis.xrange(stream, `(${from}`, '+', 'COUNT', Math.min(LAG_COUNT_PAGE, LAG_COUNT_CAP - counted));
    counted += page.length;
    if (page.length < LAG_COUNT_PAGE) break;
    from = page.at(-1)![0];
  }
  return counted;
}

/**
 * Reads XLEN, XINFO GROUPS and XINFO CONSUMERS of our group. Missing stream or group reads as
 * empty. Redis reports `lag` as null after some deletions; then the undelivered entries are
 * counted with XRANGE from the last-delivered id (capped), a page at a time.
 */
export async function readStreamSnapshot(redis: RedisClient, stream: string, group: string, withConsumers = true): Promise<StreamSnapshot> {
  let groups: GroupInfo[] = [];
  try {
    groups = await xinfoGroups(redis, stream);
  } catch (caught) {
    if (!isNoSuchKeyError(caught)) throw caught;
  }
  const length = await redis.xlen(stream);
  const ours = groups.find((info) => info.name === group);
  let lag = 0;
  if (ours) {
    lag = ours.lag ?? (await countAfter(redis, stream, ours.lastDeliveredId));
  }
  let consumers: ConsumerInfo[] = [];
  if (ours && withConsumers) {
    try {
      consumers = await xinfoConsumers(redis, stream, group);
    } catch (caught) {
      if (!isNoGroupError(caught)) throw caught;
    }
  }
  return { length, groups, group: ours, lag, consumers };
}
