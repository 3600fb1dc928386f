import type { RedisClient } from './create-redis';
import { toError } from '../errors';

/** A group as reported by XINFO GROUPS (Redis ≥ 7.0 fields; `lag` may be null). */
export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
  lag: number | null;
}

export interface ConsumerInfo {
  name: string;
  pending: number;
  idleMs: number;
}

export interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

/** XPENDING extended form reply. */
export function parsePendingReply(reply: unknown): PendingEntry[] {
  return (reply as [string, string, number, number][]).map(([id, consumer, idleMs, deliveries]) => ({ id, consumer, idleMs, deliveries }));
}

function flatToRecord(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) record[String(flat[index])] = flat[index + 1];
  return record;
}

export async function xinfoGroups(redis: RedisClient, stream: string): Promise<GroupInfo[]> {
  const reply = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  return reply.map((flat) => {
    const r = flatToRecord(flat);
    return {
      name: String(r.name),
      consumers: Number(r.consumers),
      pending: Number(r.pending),
      lastDeliveredId: String(r['last-delivered-id']),
      lag: r.lag === null || r.lag === undefined ? null : Number(r.lag),
    };
  });
}

export async function xinfoConsumers(redis: RedisClient, stream: string, group: string): Promise<ConsumerInfo[]> {
  const reply = (await redis.call('XINFO', 'CONSUMERS', stream, group)) as unknown[][];
  return reply.map((flat) => {
    const r = flatToRecord(flat);
    return { name: String(r.name), pending: Number(r.pending), idleMs: Number(r.idle) };
  });
}

/** True for the error Redis gives when the stream or the group does not exist. */
export function isNoGroupError(caught: unknown): boolean {
  return toError(caught).message.includes('NOGROUP');
}

/** True for "ERR no such key" (XINFO on a stream that does not exist). */
export function isNoSuchKeyError(caught: unknown): boolean {
  return toError(caught).message.includes('no such key');
}

