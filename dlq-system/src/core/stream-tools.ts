import type { RedisClient } from '@event-infra/shared';
import {
  NotFoundError,
  buildEventDeadLetterEntry,
  buildInvalidEntryDeadLetter,
  decodeEvent,
  isNoGroupError,
  isNoSuchKeyError,
  parsePendingReply,
  partitionStreams,
  xinfoConsumers,
  xinfoGroups,
  type DeadLetterEntry,
  type DeadLetterSink,
  type PendingEntry,
} from '@event-infra/shared';

export interface StreamToolsOptions {
  /** `STREAM_NAME`. */
  stream: string;
  /** `STREAM_PARTITIONS`. */
  partitions: number;
  /** `EVENT_MAX_ENTRY_BYTES`-like bound of the raw fields an invalid entry's record keeps, characters. */
  maxStoredChars: number;
  /** Most partitions, groups per stream and consumers per group one overview reads. */
  maxStreams?: number;
  maxGroups?: number;
  maxConsumers?: number;
}

export interface GroupView {
  name: string;
  stream: string;
  pending: number;
  /** Entries not delivered to the group yet (null: Redis does not know). */
  lag: number | null;
  lastDeliveredId: string;
  /** Age of the oldest entry not delivered yet, ms (0 when none). */
  oldestUndeliveredAgeMs: number;
  /** Age (since it was added to the stream) of the oldest pending entry, ms, and its idle time. */
  oldestPendingAgeMs: number;
  oldestPendingIdleMs: number;
  consumers: { name: string; pending: number; idleMs: number }[];
}

export interface StreamView {
  name: string;
  length: number;
  firstId: string | null;
  lastId: string | null;
  groups: GroupView[];
}

/** A pending entry dead-lettered by an operator: permanent (parked, never retried automatically). */
export class OperatorDeadLetterError extends Error {
  readonly permanent = true;
  readonly code = 'dead_lettered_by_operator';

  constructor(principal: string) {
    super(`dead-lettered by operator ${principal.slice(0, 128)}`);
    this.name = 'OperatorDeadLetterError';
  }
}

const msOfId = (id: string): number => Number(id.split('-')[0]);

/**
 * The consumer groups of the event log as an operator sees them (per partition stream: lag
 * in entries and in time, pending entries, consumers) and the one action on them: dead-letter
 * a stuck pending entry now, through the event processor's DLQ builders and sink, then XACK.
 * Every read is bounded (partitions, groups, consumers, a page of pending entries).
 */
export class StreamTools {
  private readonly streams: string[];

  constructor(
    private readonly options: StreamToolsOptions,
    private readonly deps: { streams: RedisClient; sink: DeadLetterSink },
  ) {
    this.streams = partitionStreams(options.stream, options.partitions).slice(0, options.maxStreams ?? 32);
  }

  /** The log's streams (partitions) this tool reads. */
  get streamNames(): readonly string[] {
    return this.streams;
  }

  async overview(): Promise<StreamView[]> {
    return Promise.all(this.streams.map((stream) => this.streamView(stream)));
  }

  private async streamView(stream: string): Promise<StreamView> {
    const redis = this.deps.streams;
    let groups: Awaited<ReturnType<typeof xinfoGroups>> = [];
    try {
      groups = (await xinfoGroups(redis, stream)).slice(0, this.options.maxGroups ?? 20);
    } catch (caught) {
      if (!isNoSuchKeyError(caught)) throw caught;
    }
    const [length, first, last] = await Promise.all([redis.xlen(stream), redis.xrange(stream, '-', '+', 'COUNT', 1), redis.xrevrange(stream, '+', '-', 'COUNT', 1)]);
    const views = await Promise.all(
      groups.map(async (group): Promise<GroupView> => {
        const [undelivered, oldestPending, consumers] = await Promise.all([
          redis.xrange(stream, `(${group.lastDeliveredId}`, '+', 'COUNT', 1),
          redis.xpending(stream, group.name, '-', '+', 1).then(parsePendingReply),
          xinfoConsumers(redis, stream, group.name).catch((caught: unknown) => {
            if (isNoGroupError(caught)) return [];
            throw caught;
          }),
        ]);
        // After the replies: Redis measured the idle times up to now, so an entry's age is never
        // shorter than its idle time (taken before them, a slow reply made it so).
        const now = Date.now();
        const next = undelivered[0]?.[0];
        const pending = oldestPending[0];
        return {
          name: group.name,
          stream,
          pending: group.pending,
          lag: group.lag,
          lastDeliveredId: group.lastDeliveredId,
          oldestUndeliveredAgeMs: next === undefined ? 0 : Math.max(0, now - msOfId(next)),
          oldestPendingAgeMs: pending === undefined ? 0 : Math.max(0, now - msOfId(pending.id)),
          oldestPendingIdleMs: pending?.idleMs ?? 0,
          consumers: consumers.slice(0, this.options.maxConsumers ?? 50),
        };
      }),
    );
    return { name: stream, length, firstId: first[0]?.[0] ?? null, lastId: last[0]?.[0] ?? null, groups: views };
  }

  /** One page of a group's pending entries, oldest first, after `cursor` (exclusive). 404 for an unknown stream or group. */
  async pending(stream: string, group: string, page: { consumer?: string; minIdleMs?: number; cursor?: string; limit: number }): Promise<{ items: PendingEntry[]; nextCursor: string | null }> {
    this.assertStream(stream);
    const args: (string | number)[] = [stream, group];
    if (page.minIdleMs !== undefined) args.push('IDLE', page.minIdleMs);
    args.push(page.cursor === undefined ? '-' : `(${page.cursor}`, '+', page.limit);
    if (page.consumer !== undefined) args.push(page.consumer);
    let items: PendingEntry[];
    try {
      items = parsePendingReply(await this.deps.streams.call('XPENDING', ...args));
    } catch (caught) {
      if (isNoGroupError(caught)) throw new NotFoundError(`no consumer group ${group} on ${stream}`);
      throw caught;
    }
    return { items, nextCursor: items.length === page.limit ? items.at(-1)!.id : null };
  }

  /**
   * Dead-letters one pending entry: its DLQ record (a valid event, or the raw fields of an
   * invalid one) goes into the DLQ queue under the id the event processor would give it, then
   * the entry is XACKed. Idempotent: an entry no longer pending is reported, nothing is done.
   */
  async deadLetter(stream: string, group: string, entryId: string, principal: string): Promise<{ deadLettered: true; dlqJobId: string } | { deadLettered: false; reason: 'not pending' }> {
    this.assertStream(stream);
    const redis = this.deps.streams;
    let pending: PendingEntry[];
    try {
      pending = parsePendingReply(await redis.xpending(stream, group, entryId, entryId, 1));
    } catch (caught) {
      if (isNoGroupError(caught)) throw new NotFoundError(`no consumer group ${group} on ${stream}`);
      throw caught;
    }
    const found = pending.find((item) => item.id === entryId);
    if (found === undefined) return { deadLettered: false, reason: 'not pending' };
    const [row] = await redis.xrange(stream, entryId, entryId);
    const entry = this.recordOf(stream, group, entryId, row?.[1] ?? [], found.deliveries, new OperatorDeadLetterError(principal));
    const dlqJobId = await this.deps.sink.add(entry);
    await redis.xack(stream, group, entryId);
    return { deadLettered: true, dlqJobId };
  }

  private recordOf(stream: string, group: string, entryId: string, fields: string[], deliveries: number, error: OperatorDeadLetterError): DeadLetterEntry {
    const now = new Date().toISOString();
    try {
      const event = decodeEvent(fields);
      return buildEventDeadLetterEntry({ stream, group, entryId, event, error, deliveries, firstFailedAt: now, lastFailedAt: now });
    } catch {
      // Not a valid event (or trimmed meanwhile): its raw fields, bounded, as the event processor stores them.
      return buildInvalidEntryDeadLetter({ stream, group, entryId, fields, error, deliveries, maxStoredChars: this.options.maxStoredChars });
    }
  }

  private assertStream(stream: string): void {
    if (!this.streams.includes(stream)) throw new NotFoundError(`${stream} is not a stream of the event log`);
  }
}
