import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** A Lua script of `./lua/`, run with EVALSHA (EVAL once when the server does not have it yet). */
export class LuaScript {
  private readonly source: string;
  private readonly sha: string;

  /** `file` is `<name>-<key count>.lua` under `./lua/`. */
  constructor(file: string) {
    this.source = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    this.sha = createHash('sha1').update(this.source).digest('hex');
    const keys = /-(\d+)\.lua$/.exec(file)?.[1];
    if (keys === undefined) throw new Error(`script file ${file} does not name its key count`);
    this.keyCount = Number(keys);
  }

  readonly keyCount: number;

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (keys.length !== this.keyCount) throw new Error(`script needs ${this.keyCount} keys, got ${keys.length}`);
    try {
      return await redis.evalsha(this.sha, this.keyCount, ...keys, ...args);
    } catch (caught) {
      if (!(caught instanceof Error) || !caught.message.startsWith('NOSCRIPT')) throw caught;
      return redis.eval(this.source, this.keyCount, ...keys, ...args);
    }
  }
}
