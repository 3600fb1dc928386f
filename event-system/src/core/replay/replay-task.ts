import type { RedisClient } from '@event-infra/shared';
import { NotFoundError, TaskTransition, TransitionConflictError, replayKeys, taskHashCodec } from '@event-infra/shared';

/**
 * A replay task's states. `running` is the only live state; the others are final.
 *
 * | transition | from | to | who |
 * |---|---|---|---|
 * | create   | (new)   | running (handlers) / completed (group) | `POST /replay` |
 * | claim    | running | running (owner, lease) | a runner, when unowned or the lease ran out |
 * | begin    | running | running (inflight batch) | its owner, before a batch's handlers |
 * | checkpoint | running | running (cursor past the batch) | its owner, after them |
 * | release  | running | running (no owner) | its owner, at shutdown |
 * | complete | running | completed | its owner, past the end |
 * | fail     | running | failed | its owner |
 * | cancel   | running | cancelled | `POST /replay/:id/cancel` |
 *
 * Every transition checks the state and the version the caller read, and bumps the version:
 * a runner whose write conflicts has lost the task (cancelled, or claimed by another runner
 * after its lease ran out) and stops before handling anything more: the version is its fence.
 */
export const REPLAY_STATES = ['running', 'completed', 'cancelled', 'failed'] as const;
export type ReplayState = (typeof REPLAY_STATES)[number];

export type ReplayTarget = { kind: 'handlers' } | { kind: 'group'; group: string };

/** A batch whose handlers had started when its runner stopped: replayed at most once (see README). */
export interface EntryRange {
  stream: string;
  first: string;
  last: string;
}

export interface ReplayTask {
  id: string;
  state: ReplayState;
  version: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  target: ReplayTarget;
  /** Type pattern the replayed events match (`*`, `workspace.*`, an exact type). */
  types: string;
  ratePerSec: number;
  /** The streams (partitions) replayed, in this order. */
  streams: string[];
  /** First entry id replayed (inclusive), all streams. */
  from: string;
  /** Last entry id replayed per stream (inclusive): the newest entry when the task was made, or the requested end. */
  to: Record<string, string>;
  /** Per stream, the next id to read (inclusive). */
  cursor: Record<string, string>;
  inflight: EntryRange | null;
  owner: string | null;
  leaseUntil: number;
  handled: number;
  skipped: number;
  invalid: number;
  failed: number;
  uncertain: EntryRange[];
  lastError: string | null;
}

export type NewReplayTask = Pick<ReplayTask, 'id' | 'target' | 'types' | 'ratePerSec' | 'streams' | 'from' | 'to'>;

export interface ReplayTaskStoreOptions {
  /** The event log's name (`STREAM_NAME`): its tasks are kept apart from other logs'. */
  log: string;
  /** Most tasks running at once (`REPLAY_MAX_RUNNING`). */
  maxRunning: number;
  /** How long a finished task stays readable, ms (`REPLAY_KEEP_MS`). */
  keepMs: number;
  /** Most uncertain ranges listed on a task (the count goes on). */
  maxUncertain?: number;
  now?: () => number;
}

export class ReplayConflictError extends TransitionConflictError {
  constructor(message: string, details?: unknown) {
    super(message, details);
    this.name = 'ReplayConflictError';
  }
}

/** The task hash (`state`, `version` and `updatedAt`, ms, are written by the transition script alone). */
const TASK_HASH = taskHashCodec<ReplayTask>({
  stateField: 'state',
  updatedAtField: 'updatedAt',
  jsonFields: ['target', 'streams', 'to', 'cursor', 'inflight', 'uncertain'],
  numberFields: ['version', 'ratePerSec', 'leaseUntil', 'handled', 'skipped', 'invalid', 'failed'],
  nullableFields: ['owner', 'lastError', 'finishedAt'],
});
const TRANSITION = new TaskTransition(new URL('../lua/replay-transition-3.lua', import.meta.url), TASK_HASH);

/** Replay tasks in Redis: reads, and the named transitions of the table above. */
export class ReplayTaskStore {
  private readonly now: () => number;
  private readonly keys: ReturnType<typeof replayKeys>;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: ReplayTaskStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.keys = replayKeys(options.log, redis.isCluster);
  }

  async get(id: string): Promise<ReplayTask> {
    const hash = await this.redis.hgetall(this.keys.task(id));
    if (hash.state === undefined) throw new NotFoundError(`replay task ${id} not found`);
    return TASK_HASH.decode(hash);
  }

  /** The newest `limit` tasks (finished ones only while kept). */
  async list(limit: number): Promise<ReplayTask[]> {
    const ids = await this.redis.zrevrange(this.keys.index, 0, limit - 1);
    const tasks: ReplayTask[] = [];
    for (const id of ids) {
      const hash = await this.redis.hgetall(this.keys.task(id));
      if (hash.state === undefined) await this.redis.zrem(this.keys.index, id);
      else tasks.push(TASK_HASH.decode(hash));
    }
    return tasks;
  }

  /** Ids of the running tasks. */
  running(): Promise<string[]> {
    return this.redis.smembers(this.keys.running);
  }

  create(input: NewReplayTask): Promise<ReplayTask> {
    const now = this.now();
    const final = input.target.kind === 'group';
    const cursor = Object.fromEntries(input.streams.map((stream) => [stream, input.from]));
    const task: Omit<ReplayTask, 'version' | 'updatedAt'> = {
      ...input,
      state: final ? 'completed' : 'running',
      createdAt: new Date(now).toISOString(),
      finishedAt: final ? new Date(now).toISOString() : null,
      cursor,
      inflight: null,
      owner: null,
      leaseUntil: 0,
      handled: 0,
      skipped: 0,
      invalid: 0,
      failed: 0,
      uncertain: [],
      lastError: null,
    };
    return this.apply(input.id, 0, ['new'], task.state, task);
  }

  /** A runner takes a running task whose lease ran out (or that has no owner, or is its own). */
  claim(task: ReplayTask, owner: string, leaseMs: number): Promise<ReplayTask> {
    if (task.owner !== null && task.owner !== owner && task.leaseUntil > this.now()) {
      throw new ReplayConflictError(`replay task ${task.id} is held by another runner`);
    }
    // A batch in flight when the previous owner stopped is never handled again: it is skipped and listed.
    const uncertain = task.inflight === null ? {} : this.skipInflight(task);
    return this.apply(task.id, task.version, ['running'], 'running', { owner, leaseUntil: this.now() + leaseMs, ...uncertain });
  }

  begin(task: ReplayTask, batch: EntryRange, leaseMs: number): Promise<ReplayTask> {
    return this.apply(task.id, task.version, ['running'], 'running', { inflight: batch, leaseUntil: this.now() + leaseMs });
  }

  checkpoint(task: ReplayTask, stream: string, next: string, counts: Pick<ReplayTask, 'handled' | 'skipped' | 'invalid' | 'failed' | 'lastError'>, leaseMs: number): Promise<ReplayTask> {
    return this.apply(task.id, task.version, ['running'], 'running', {
      cursor: { ...task.cursor, [stream]: next },
      inflight: null,
      leaseUntil: this.now() + leaseMs,
      ...counts,
    });
  }

  release(task: ReplayTask): Promise<ReplayTask> {
    return this.apply(task.id, task.version, ['running'], 'running', { owner: null, leaseUntil: 0 });
  }

  complete(task: ReplayTask): Promise<ReplayTask> {
    return this.apply(task.id, task.version, ['running'], 'completed', { finishedAt: new Date(this.now()).toISOString(), owner: null });
  }

  fail(task: ReplayTask, reason: string): Promise<ReplayTask> {
    return this.apply(task.id, task.version, ['running'], 'failed', { finishedAt: new Date(this.now()).toISOString(), owner: null, lastError: reason });
  }

  /**
   * Cancels a running task. A runner's checkpoint may bump the version between the read and the
   * write: then it reads again (the runner stops at its next write); a task that is no longer
   * running is a conflict (409).
   */
  async cancel(id: string): Promise<ReplayTask> {
    for (;;) {
      const task = await this.get(id);
      if (task.state !== 'running') throw new ReplayConflictError(`replay task ${id} is ${task.state}, not running`, { state: task.state });
      try {
        return await this.apply(id, task.version, ['running'], 'cancelled', { finishedAt: new Date(this.now()).toISOString(), owner: null });
      } catch (caught) {
        if (!(caught instanceof ReplayConflictError)) throw caught;
      }
    }
  }

  private skipInflight(task: ReplayTask): Pick<ReplayTask, 'inflight' | 'uncertain' | 'cursor'> {
    const batch = task.inflight!;
    const list = task.uncertain.length < (this.options.maxUncertain ?? 100) ? [...task.uncertain, batch] : task.uncertain;
    const [ms, seq] = batch.last.split('-');
    return { inflight: null, uncertain: list, cursor: { ...task.cursor, [batch.stream]: `${ms}-${BigInt(seq ?? '0') + 1n}` } };
  }

  private apply(id: string, version: number, from: readonly string[], to: ReplayState, fields: Partial<ReplayTask>): Promise<ReplayTask> {
    return TRANSITION.run(
      this.redis,
      [this.keys.task(id), this.keys.index, this.keys.running],
      [id, String(version), from.join(' '), to, this.now(), this.options.maxRunning, this.options.keepMs],
      fields,
      ([code, state, current]) =>
        code === 'full'
          ? new ReplayConflictError(`${state} replays are running already (REPLAY_MAX_RUNNING)`)
          : new ReplayConflictError(`replay task ${id} changed meanwhile (now ${state}, version ${current})`, { state, version: Number(current) }),
    );
  }
}
