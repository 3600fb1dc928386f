import type { RedisClient } from '@event-infra/shared';
import { toError, type WireFields } from '@event-infra/shared';

// The XINFO/XPENDING readers live in the shared package (the DLQ console reads groups too).
export { isNoGroupError, isNoSuchKeyError, parsePendingReply, xinfoConsumers, xinfoGroups, type ConsumerInfo, type GroupInfo, type PendingEntry } from '@event-infra/shared';

/**
 * One stream entry as Redis returns it; `fields` is null when the entry was trimmed meanwhile.
 * The consumer loops read fields as Buffers (see `WireFields`), the reclaimer as strings.
 */
export interface RawEntry {
  id: string;
  fields: WireFields | null;
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
      // Bytes compared in place: `Buffer.equals` is a native call per field (one more per
      // traceparent and per tracestate), the two loads are not.
      if (typeof name === 'string' ? name === 'id' : name.length === 2 && name[0] === ID_FIELD[0] && name[1] === ID_FIELD[1]) id = fields[index + 1];
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
