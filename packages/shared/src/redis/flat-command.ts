import { Command, type ChainableCommander, type Pipeline } from 'ioredis';
import type { RedisClient } from './create-redis';

/** A command argument as ioredis writes it. */
export type FlatArg = string | number | Buffer;

/**
 * ioredis calls `args.flat()` on every command it builds, and V8 runs `Array.prototype.flat` on a
 * generic slow path: about 0.18 µs per argument on this machine, so 3.4 µs for the 19 arguments
 * of an XADD of 10 fields (more than validating and encoding the event) and 18 µs for an XACK
 * of 100 ids. Our hot paths build flat argument lists (strings, numbers, Buffers, no nested
 * arrays), for which a plain copy is exactly what `flat()` returns, in about 0.05 µs. The list
 * carries that copy as its own `flat` (an Array subclass would be slower still: V8 does not
 * optimise its `push`).
 */
function copyOfFlatList(this: readonly FlatArg[]): FlatArg[] {
  const copy = new Array<FlatArg>(this.length);
  for (let index = 0; index < this.length; index += 1) copy[index] = this[index]!;
  return copy;
}

/**
 * A command whose arguments are the concatenation of `parts` (each already flat: strings,
 * numbers, Buffers, no nested arrays); replies as strings. `keyPrefix` as the client's option
 * (ioredis prefixes the command's keys with it, as for its own methods).
 */
export function flatCommand(name: string, parts: readonly (readonly FlatArg[])[], keyPrefix?: string): Command {
  const args: FlatArg[] = parts.length === 1 ? [...parts[0]!] : ([] as FlatArg[]).concat(...parts);
  (args as { flat?: unknown }).flat = copyOfFlatList;
  return new Command(name, args, keyPrefix ? { replyEncoding: 'utf8', keyPrefix } : { replyEncoding: 'utf8' });
}

/** Queues the command `name` with the concatenated `parts` on `pipeline` (its reply lands in `exec()`'s results, in order). */
export function queueFlatCommand(pipeline: ChainableCommander, name: string, ...parts: readonly (readonly FlatArg[])[]): void {
  const target = pipeline as unknown as Pipeline;
  target.sendCommand(flatCommand(name, parts, target.options?.keyPrefix));
}

/** Sends the command `name` with the concatenated `parts` on `redis`; resolves with its reply. */
export function sendFlatCommand<T>(redis: RedisClient, name: string, ...parts: readonly (readonly FlatArg[])[]): Promise<T> {
  return redis.sendCommand(flatCommand(name, parts, redis.options.keyPrefix)) as Promise<T>;
}
