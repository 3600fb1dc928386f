import type { RedisClient } from '@event-infra/shared';
import { NotFoundError, TaskTransition, TransitionConflictError, taskHashCodec, type AuditActor } from '@event-infra/shared';
import { dlqKeysFor, type DlqKeys } from './stored-entry';

/**
 * A bulk redrive task's statuses. `pending` and `running` are live; the others are final.
 *
 * | transition | from | to | who |
 * |---|---|---|---|
 * | create     | (new)             | pending (done when nothing was selected) | `POST /dlq/redrive` |
 * | claim      | pending, running  | running (owner, lease) | a runner: unowned, or the lease ran out |
 * | begin      | running           | running (inflight range) | its owner, before a batch |
 * | checkpoint | running           | running (cursor past the batch, counts, lease renewed) | its owner, after it |
 * | release    | running           | running (no owner) | its owner, at shutdown |
 * | finish     | running           | done | its owner, past the end |
 * | fail       | running           | failed | its owner, when the frozen selection is gone |
 * | cancel     | pending, running  | cancelled | `DELETE /dlq/tasks/:id` (any version) |
 *
 * Every transition checks the status and version the caller read and bumps the version; the
 * owner's transitions also check the owner. A runner whose write conflicts has lost the task
 * (cancelled, or claimed by another runner after its lease ran out) and stops.
 */
export const TASK_STATUSES = ['pending', 'running', 'cancelled', 'done', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Entries of the selection whose retry had started when the runner stopped: checked again on resume. */
export interface InflightRange {
  /** Selection positions [from, to). */
  from: number;
  to: number;
  /** When the batch began, ms: an entry retried since then was retried by this batch. */
  sinceMs: number;
}

export interface RedriveTask {
  id: string;
  name: string | null;
  status: TaskStatus;
  version: number;
  /** The filter as given (null for a fingerprint task). */
  filter: Record<string, unknown> | null;
  fingerprint: string | null;
  /** Entries per second. */
  rate: number;
  selected: number;
  /** Next selection position to handle. */
  cursor: number;
  done: number;
  skipped: number;
  failed: number;
  inflight: InflightRange | null;
  owner: string | null;
  leaseUntil: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /** Who created it: every entry's retry is audited as theirs. */
  createdBy: AuditActor;
  lastError: string | null;
}

export type NewRedriveTask = Pick<RedriveTask, 'id' | 'name' | 'filter' | 'fingerprint' | 'rate' | 'createdBy'>;

export interface RedriveTaskStoreOptions {
  /** How long a finished task stays readable, ms (`DLQ_REDRIVE_KEEP_MS`). */
  keepMs: number;
  now?: () => number;
}

export class TaskConflictError extends TransitionConflictError {
  constructor(task: { id: string }, status: string, version: number) {
    super(`redrive task ${task.id} is ${status} (version ${version})`, { id: task.id, status, version });
    this.name = 'TaskConflictError';
  }
}

/** The task hash (`status`, `version` and `updatedAtMs` are written by the transition script alone). */
const TASK_HASH = taskHashCodec<RedriveTask>({
  stateField: 'status',
  updatedAtField: 'updatedAtMs',
  jsonFields: ['filter', 'inflight', 'createdBy'],
  numberFields: ['version', 'rate', 'selected', 'cursor', 'done', 'skipped', 'failed', 'leaseUntil'],
  nullableFields: ['name', 'fingerprint', 'owner', 'startedAt', 'finishedAt', 'lastError'],
});
const TRANSITION = new TaskTransition(new URL('./lua/redrive-transition-4.lua', import.meta.url), TASK_HASH);

/** Redrive tasks on the master Redis: reads, the frozen selection, and the named transitions above. */
export class RedriveTaskStore {
  private readonly now: () => number;
  private readonly keys: DlqKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedriveTaskStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.keys = dlqKeysFor(redis.isCluster);
  }

  async get(id: string): Promise<RedriveTask> {
    const hash = await this.redis.hgetall(this.keys.task(id));
    if (hash.status === undefined) throw new NotFoundError(`no redrive task ${id}`);
    return TASK_HASH.decode(hash);
  }

  /** Newest first, `limit` from position `offset` (finished tasks only while kept). */
  async list(offset: number, limit: number): Promise<{ items: RedriveTask[]; more: boolean }> {
    const ids = await this.redis.zrevrange(this.keys.tasks(), offset, offset + limit);
    const items: RedriveTask[] = [];
    for (const id of ids.slice(0, limit)) {
      const hash = await this.redis.hgetall(this.keys.task(id));
      if (hash.status === undefined) await this.redis.zrem(this.keys.tasks(), id);
      else items.push(TASK_HASH.decode(hash));
    }
    return { items, more: ids.length > limit };
  }

  /** Ids of the pending and running tasks. */
  live(): Promise<string[]> {
    return this.redis.smembers(this.keys.liveTasks());
  }

  /** Entry ids at selection positions [from, to). */
  selection(id: string, from: number, to: number): Promise<string[]> {
    return to <= from ? Promise.resolve([]) : this.redis.lrange(this.keys.taskIds(id), from, to - 1);
  }

  /**
   * Freezes `ids` as the task's selection, then creates the task over it (one step: the
   * selection list, written first with an expiry, is kept only by the create transition).
   */
  async create(input: NewRedriveTask, ids: readonly string[]): Promise<RedriveTask> {
    const key = this.keys.taskIds(input.id);
    for (let at = 0; at < ids.length; at += 1000) {
      await this.redis.multi().rpush(key, ...ids.slice(at, at + 1000)).pexpire(key, 3_600_000).exec();
    }
    const nowIso = new Date(this.now()).toISOString();
    const empty = ids.length === 0;
    const task: Omit<RedriveTask, 'version' | 'updatedAt'> = {
      ...input,
      status: empty ? 'done' : 'pending',
      selected: ids.length,
      cursor: 0,
      done: 0,
      skipped: 0,
      failed: 0,
      inflight: null,
      owner: null,
      leaseUntil: 0,
      createdAt: nowIso,
      startedAt: null,
      finishedAt: empty ? nowIso : null,
      lastError: null,
    };
    return this.apply(input.id, 0, ['new'], task.status, '', task);
  }

  /** A runner takes a live task that is unowned, or whose lease ran out. A lost race is a conflict. */
  async claim(task: RedriveTask, owner: string, leaseMs: number): Promise<RedriveTask> {
    if (task.owner !== null && task.owner !== owner && task.leaseUntil > this.now()) throw new TaskConflictError(task, task.status, task.version);
    return this.apply(task.id, task.version, ['pending', 'running'], 'running', '', {
      owner,
      leaseUntil: this.now() + leaseMs,
      ...(task.startedAt === null ? { startedAt: new Date(this.now()).toISOString() } : {}),
    });
  }

  begin(task: RedriveTask, range: Omit<InflightRange, 'sinceMs'>, leaseMs: number): Promise<RedriveTask> {
    return this.apply(task.id, task.version, ['running'], 'running', task.owner ?? '', { inflight: { ...range, sinceMs: this.now() }, leaseUntil: this.now() + leaseMs });
  }

  checkpoint(task: RedriveTask, counts: Pick<RedriveTask, 'cursor' | 'done' | 'skipped' | 'failed' | 'lastError'>, leaseMs: number): Promise<RedriveTask> {
    return this.apply(task.id, task.version, ['running'], 'running', task.owner ?? '', { ...counts, inflight: null, leaseUntil: this.now() + leaseMs });
  }

  release(task: RedriveTask): Promise<RedriveTask> {
    return this.apply(task.id, task.version, ['running'], 'running', task.owner ?? '', { owner: null, leaseUntil: 0 });
  }

  finish(task: RedriveTask): Promise<RedriveTask> {
    return this.apply(task.id, task.version, ['running'], 'done', task.owner ?? '', { finishedAt: new Date(this.now()).toISOString(), owner: null, leaseUntil: 0 });
  }

  fail(task: RedriveTask, reason: string): Promise<RedriveTask> {
    return this.apply(task.id, task.version, ['running'], 'failed', task.owner ?? '', { finishedAt: new Date(this.now()).toISOString(), owner: null, leaseUntil: 0, lastError: reason.slice(0, 500) });
  }

  /** Any version: a cancel must not lose to the runner's checkpoints (whose next write then conflicts). */
  cancel(task: RedriveTask): Promise<RedriveTask> {
    return this.apply(task.id, '*', ['pending', 'running'], 'cancelled', '', { finishedAt: new Date(this.now()).toISOString(), owner: null, leaseUntil: 0 });
  }

  private apply(id: string, version: number | '*', from: readonly (TaskStatus | 'new')[], to: TaskStatus, owner: string, fields: Partial<RedriveTask>): Promise<RedriveTask> {
    return TRANSITION.run(
      this.redis,
      [this.keys.task(id), this.keys.tasks(), this.keys.liveTasks(), this.keys.taskIds(id)],
      [id, version, from.join(' '), to, this.now(), this.options.keepMs, owner],
      fields,
      (reply) => new TaskConflictError({ id }, String(reply[1]), Number(reply[2])),
    );
  }
}

/** What an API answer shows of a task (the creator's request details stay in the audit log). */
export function taskView(task: RedriveTask) {
  const { createdBy, inflight: _inflight, leaseUntil: _lease, ...rest } = task;
  return { ...rest, createdBy: createdBy.principal, progress: task.selected === 0 ? 1 : Math.min(1, task.cursor / task.selected) };
}
