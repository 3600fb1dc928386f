import { AppError } from '../errors';
import { LuaScript } from '../redis/lua-script';
import type { RedisClient } from '../redis/create-redis';
import { hashFromPairs, type TaskHashCodec } from './task-hash';

/**
 * A task transition that did not apply (the task moved on, another runner holds it, a limit):
 * code `conflict`, so the caller of the HTTP API gets 409. Each task kind names its own subclass.
 */
export class TransitionConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super('conflict', message, details);
    this.name = 'TransitionConflictError';
  }
}

/**
 * The one Lua script that applies every named transition of a task kind. The script's
 * contract: its last ARGV are the `field, value, …` pairs to write; it replies
 * `{"ok", HGETALL of the task after the write}` or a refusal `{code, …}` (`conflict`, `full`, …)
 * that `refused` turns into the kind's conflict error.
 */
export class TaskTransition<T> {
  private readonly script: LuaScript;

  constructor(
    file: URL,
    private readonly codec: TaskHashCodec<T>,
  ) {
    this.script = new LuaScript(file);
  }

  /** Applies one transition: resolves with the task as this write left it, or throws `refused(reply)`. */
  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
    fields: Partial<T>,
    refused: (reply: readonly string[]) => TransitionConflictError,
  ): Promise<T> {
    const reply = (await this.script.run(redis, keys, [...args, ...this.codec.encode(fields)])) as [string, ...unknown[]];
    if (reply[0] !== 'ok') throw refused(reply.map(String));
    // The task as this write left it (read in the same step): the version the caller holds next.
    return this.codec.decode(hashFromPairs(reply[1] as string[]));
  }
}
