import type { RedisClient } from '@event-infra/shared';
import { randomUUID } from 'node:crypto';
import { toError, type Logger } from '@event-infra/shared';
import { compareStreamIds, isNoSuchKeyError, xinfoGroups } from '../stream-replies';
import { ReplayConflictError, type ReplayTask, type ReplayTaskStore } from './replay-task';

/** The largest sequence part of a stream id (2^64 − 1): `<ms>-MAX_SEQ` is the last id of a millisecond. */
const MAX_SEQ = '18446744073709551615';

/** A replay request, already validated (see `http/replay-schemas.ts`). */
export interface ReplayRequest {
  /** First entry replayed: a stream id (inclusive) or a time (the first entry at or after it). */
  from: { id: string } | { timeMs: number };
  /** Last entry replayed (inclusive); default: the newest entry when the request is made. Handlers only. */
  to?: { id: string } | { timeMs: number };
  types: string;
  ratePerSec: number;
  target: { kind: 'handlers' } | { kind: 'group'; group: string };
}

export interface ReplayPlannerOptions {
  /** The streams (partitions) of the event log. */
  streams: string[];
  /** Our own consumer group (`CONSUMER_GROUP`): a replay never creates it. */
  group: string;
}

export interface ReplayPlannerDeps {
  store: ReplayTaskStore;
  streams: RedisClient;
  logger: Logger;
}

export interface GroupProgress {
  stream: string;
  lag: number | null;
  pending: number;
  lastDeliveredId: string;
}

function fromId(point: { id: string } | { timeMs: number }): string {
  return 'id' in point ? point.id : `${point.timeMs}-0`;
}

function toId(point: { id: string } | { timeMs: number }): string {
  return 'id' in point ? point.id : `${point.timeMs}-${MAX_SEQ}`;
}

/** The id just before `id`: where `XGROUP CREATE` must start so that `id` is delivered first. */
function previousId(id: string): string {
  const [ms, seq] = id.split('-').map((part) => BigInt(part));
  if ((seq ?? 0n) > 0n) return `${ms}-${seq! - 1n}`;
  return ms! > 0n ? `${ms! - 1n}-${MAX_SEQ}` : '0-0';
}

/**
 * Turns a replay request into a task: the end of the range is fixed now (so a replay ends even
 * while events keep coming), and a group target creates the new group on every stream at the
 * start point right away (a task in state `completed`; its progress is the group's lag).
 */
export class ReplayPlanner {
  constructor(
    private readonly options: ReplayPlannerOptions,
    private readonly deps: ReplayPlannerDeps,
  ) {}

  async create(request: ReplayRequest): Promise<ReplayTask> {
    const id = randomUUID();
    const from = fromId(request.from);
    if (request.target.kind === 'group') {
      await this.createGroups(request.target.group, previousId(from));
      return this.deps.store.create({ id, target: request.target, types: '*', ratePerSec: request.ratePerSec, streams: this.options.streams, from, to: {} });
    }
    const to: Record<string, string> = {};
    for (const stream of this.options.streams) {
      const [newest] = await this.deps.streams.xrevrange(stream, '+', '-', 'COUNT', 1);
      const end = newest?.[0] ?? '0-0';
      to[stream] = request.to !== undefined && compareStreamIds(toId(request.to), end) < 0 ? toId(request.to) : end;
    }
    return this.deps.store.create({ id, target: request.target, types: request.types, ratePerSec: request.ratePerSec, streams: this.options.streams, from, to });
  }

  /** For a group target: the group's lag and pending entries on each stream (live figures). */
  async groupProgress(task: ReplayTask): Promise<GroupProgress[] | undefined> {
    if (task.target.kind !== 'group') return undefined;
    const name = task.target.group;
    const progress: GroupProgress[] = [];
    for (const stream of task.streams) {
      try {
        const info = (await xinfoGroups(this.deps.streams, stream)).find((group) => group.name === name);
        if (info) progress.push({ stream, lag: info.lag, pending: info.pending, lastDeliveredId: info.lastDeliveredId });
      } catch (caught) {
        if (!isNoSuchKeyError(caught)) throw caught;
      }
    }
    return progress;
  }

  /** Creates `group` on every stream at `startId`; an existing group (or ours) is a 409, and nothing is left created. */
  private async createGroups(group: string, startId: string): Promise<void> {
    if (group === this.options.group) throw new ReplayConflictError(`group ${group} is the processor's own group (CONSUMER_GROUP)`);
    const created: string[] = [];
    try {
      for (const stream of this.options.streams) {
        await this.deps.streams.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
        created.push(stream);
      }
    } catch (caught) {
      for (const stream of created) {
        await this.deps.streams.xgroup('DESTROY', stream, group).catch((err: unknown) => this.deps.logger.error({ err: toError(err), stream, group }, 'could not remove a replay group'));
      }
      if (toError(caught).message.includes('BUSYGROUP')) throw new ReplayConflictError(`group ${group} exists already`);
      throw caught;
    }
  }
}
