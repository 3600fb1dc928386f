import { Cluster } from 'ioredis';
import type { RedisClient } from './create-redis';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * A Lua script kept in its own file, run with EVALSHA (EVAL once when the server does not
 * have it yet). The file is named `<name>-<key count>.lua` and starts with a KEYS/ARGV header;
 * callers pass its URL (`new URL('./lua/x-2.lua', import.meta.url)`), so each package keeps
 * its scripts beside the module that runs them (the build copies them into `dist/`).
 */
export class LuaScript {
  private readonly source: string;
  private readonly sha: string;
  readonly keyCount: number;

  constructor(file: URL) {
    this.source = readFileSync(file, 'utf8');
    this.sha = createHash('sha1').update(this.source).digest('hex');
    const keys = /-(\d+)\.lua$/.exec(file.pathname)?.[1];
    if (keys === undefined) throw new Error(`script file ${file.pathname} does not name its key count`);
    this.keyCount = Number(keys);
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (keys.length !== this.keyCount) throw new Error(`script needs ${this.keyCount} keys, got ${keys.length}`);
    try {
      return await redis.evalsha(this.sha, this.keyCount, ...keys, ...args);
    } catch (caught) {
      if (!(caught instanceof Error) || !caught.message.startsWith('NOSCRIPT')) throw caught;
      return redis.eval(this.source, this.keyCount, ...keys, ...args);
    }
  }
}

/**
 * SCRIPT LOAD `source` where EVALSHA will look for it: the one server, or every master of a
 * Redis Cluster (a keyless command would reach one random node; a replica promoted later gets
 * the script again on its first NOSCRIPT).
 */
export async function loadScript(client: RedisClient, source: string): Promise<void> {
  if (client instanceof Cluster) {
    await Promise.all(client.nodes('master').map((node) => node.script('LOAD', source)));
    return;
  }
  await client.script('LOAD', source);
}
