import type { Redis } from 'ioredis';
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

/**
 * Reads XLEN, XINFO GROUPS and XINFO CONSUMERS of our group. Missing stream or group reads as
 * empty. Redis reports `lag` as null after some deletions; then the undelivered entries are
 * counted with XRANGE from the last-delivered id (capped).
 */
export async function readStreamSnapshot(redis: Redis, stream: string, group: string, withConsumers = true): Promise<StreamSnapshot> {
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
    lag = ours.lag ?? (await redis.xrange(stream, `(${ours.lastDeliveredId}`, '+', 'COUNT', LAG_COUNT_CAP)).length;
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
