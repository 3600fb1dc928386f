import type { RedisClient } from '@event-infra/shared';
import { AppError, LuaScript, NotFoundError, type AuditActor } from '@event-infra/shared';
import { dlqKeysFor, type DlqKeys } from './stored-entry';

const TRANSITION = new LuaScript(new URL('./lua/redrive-transition-4.lua', import.meta.url));

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

export class TaskConflictError extends AppError {
  constructor(task: { id: string }, status: string, version: number) {
    super('conflict', `redrive task ${task.id} is ${status} (version ${version})`, { id: task.id, status, version });
    this.name = 'TaskConflictError';
  }
}

const JSON_FIELDS = ['filter', 'inflight', 'createdBy'] as const;
const NUMBER_FIELDS = ['version', 'rate', 'selected', 'cursor', 'done', 'skipped', 'failed', 'leaseUntil'] as const;
const NULLABLE_FIELDS = ['name', 'fingerprint', 'owner', 'startedAt', 'finishedAt', 'lastError'] as const;

function encode(fields: Partial<RedriveTask>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'status' || name === 'version' || name === 'updatedAt') continue;
    if ((JSON_FIELDS as readonly string[]).includes(name)) out.push(name, JSON.stringify(value));
    else out.push(name, value === null ? '' : String(value));
  }
  return out;
}

function decode(hash: Record<string, string>): RedriveTask {
  const task: Record<string, unknown> = { ...hash };
  for (const name of JSON_FIELDS) task[name] = JSON.parse(hash[name] ?? 'null');
  for (const name of NUMBER_FIELDS) task[name] = Number(hash[name] ?? 0);
  for (const name of NULLABLE_FIELDS) task[name] = hash[name] ? hash[name] : null;
  task.updatedAt = new Date(Number(hash.updatedAtMs)).toISOString();
  delete task.updatedAtMs;
  return task as unknown as RedriveTask;
}

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
    return decode(hash);
  }

  /** Newest first, `limit` from position `offset` (finished tasks only while kept). */
  async list(offset: number, limit: number): Promise<{ items: RedriveTask[]; more: boolean }> {
    const ids = await this.redis.zrevrange(this.keys.tasks(), offset, offset + limit);
    const items: RedriveTask[] = [];
    for (const id of ids.slice(0, limit)) {
      const hash = await this.redis.hgetall(this.keys.task(id));
      if (hash.status === undefined) await this.redis.zrem(this.keys.tasks(), id);
      else items.push(decode(hash));
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

  private async apply(id: string, version: number | '*', from: readonly (TaskStatus | 'new')[], to: TaskStatus, owner: string, fields: Partial<RedriveTask>): Promise<RedriveTask> {
    const reply = (await TRANSITION.run(
      this.redis,
      [this.keys.task(id), this.keys.tasks(), this.keys.liveTasks(), this.keys.taskIds(id)],
      [id, version, from.join(' '), to, this.now(), this.options.keepMs, owner, ...encode(fields)],
    )) as [string, ...unknown[]];
    if (reply[0] === 'conflict') throw new TaskConflictError({ id }, String(reply[1]), Number(reply[2]));
    const flat = reply[1] as string[];
    const hash: Record<string, string> = {};
    for (let index = 0; index + 1 < flat.length; index += 2) hash[flat[index]!] = flat[index + 1]!;
    return decode(hash);
  }
}

/** What an API answer shows of a task (the creator's request details stay in the audit log). */
export function taskView(task: RedriveTask) {
  const { createdBy, inflight: _inflight, leaseUntil: _lease, ...rest } = task;
  return { ...rest, createdBy: createdBy.principal, progress: task.selected === 0 ? 1 : Math.min(1, task.cursor / task.selected) };
}
