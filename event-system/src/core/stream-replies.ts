import type { RedisClient } from '@event-infra/shared';
import { toError, type WireFields } from '@event-infra/shared';

/**
 * One stream entry as Redis returns it; `fields` is null when the entry was trimmed meanwhile.
 * The consumer loops read fields as Buffers (see `WireFields`), the reclaimer as strings.
 */
export interface RawEntry {
  id: string;
  fields: WireFields | null;
}

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

type XReadBufferReply = [stream: Buffer, entries: [id: Buffer, fields: Buffer[] | null][]][] | null;

/** Entries of the first (only) stream of an XREADGROUP…Buffer reply: ids as strings, fields kept as Buffers. */
export function parseReadBufferReply(reply: unknown): RawEntry[] {
  const entries = (reply as XReadBufferReply)?.[0]?.[1] ?? [];
  return entries.map(([id, fields]) => ({ id: id.toString(), fields }));
}

const ID_FIELD = Buffer.from('id');

/**
 * The `id` field of each entry (the last one when repeated, as the decoder reads it), without
 * decoding: enough for the duplicate look-up to leave before the batch is decoded. Entries
 * without one (deleted, or invalid) are left out; they never reach the handlers.
 */
export function eventIdsOf(entries: readonly RawEntry[]): string[] {
  const ids: string[] = [];
  for (const { fields } of entries) {
    if (fields === null) continue;
    let id: string | Buffer | undefined;
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const name = fields[index]!;
      if (typeof name === 'string' ? name === 'id' : ID_FIELD.equals(name)) id = fields[index + 1];
    }
    if (id !== undefined) ids.push(typeof id === 'string' ? id : id.toString());
  }
  return ids;
}

/** XAUTOCLAIM reply (Redis 7: `[next, entries, deletedIds]`). */
export function parseAutoClaimReply(reply: unknown): { next: string; entries: RawEntry[]; deleted: string[] } {
  // Read as strings or as Buffers (the reclaimer reads Buffers: binary fields reach the DLQ intact).
  const [next, entries, deleted] = reply as [string | Buffer, [string | Buffer, string[] | Buffer[] | null][], (string | Buffer)[] | undefined];
  return { next: String(next), entries: entries.map(([id, fields]) => ({ id: String(id), fields })), deleted: (deleted ?? []).map(String) };
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

/**
 * Creates the group at `0` (a new group sees the whole retained stream), with MKSTREAM so a
 * stream that does not exist yet is created empty. An existing group (BUSYGROUP) is fine.
 */
export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (caught) {
    if (!toError(caught).message.includes('BUSYGROUP')) throw caught;
  }
}

/** `1700000000000-5` → `1700000000000-6`: the smallest id after `id`. */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

/** Compares two stream ids numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map((part) => BigInt(part));
  const [bMs, bSeq] = b.split('-').map((part) => BigInt(part));
  if (aMs! !== bMs!) return aMs! < bMs! ? -1 : 1;
  const x = aSeq ?? 0n;
  const y = bSeq ?? 0n;
  return x === y ? 0 : x < y ? -1 : 1;
}
