import { Cluster, type ChainableCommander, type Command } from 'ioredis';
import { toError } from '../errors/app-error';
import type { RedisClient } from './create-redis';

/**
 * A batch of commands sent in one go, with its replies in order: what the stack uses wherever it
 * pipelines. On a single Redis it is `redis.pipeline()` (unchanged). On a Redis Cluster an
 * ioredis pipeline must keep every key on one node, but the stack batches commands on keys of
 * different slots (XADDs to several partitions, an XACK with its dedupe markers, the SETs of
 * many job owners); there the batch sends each command on its own, all at once (ioredis writes
 * them to each node's connection in call order), and `exec()` resolves with `[error, reply]`
 * per command like a pipeline. Neither is atomic: code that needs atomicity uses MULTI or a
 * script on keys of one slot.
 */
export function createBatch(client: RedisClient): ChainableCommander {
  if (!(client instanceof Cluster)) return client.pipeline();
  return clusterBatch(client);
}

function clusterBatch(cluster: Cluster): ChainableCommander {
  const calls: (() => Promise<unknown>)[] = [];
  const own: Record<string | symbol, unknown> = {
    sendCommand(command: Command): unknown {
      calls.push(() => cluster.sendCommand(command) as Promise<unknown>);
      return proxy;
    },
    exec(): Promise<[Error | null, unknown][]> {
      const sent = calls.splice(0, calls.length);
      return Promise.all(sent.map((call) => call().then((reply): [null, unknown] => [null, reply], (caught: unknown): [Error, null] => [toError(caught), null])));
    },
  };
  const proxy: ChainableCommander = new Proxy(own, {
    get(target, property) {
      if (property === 'length') return calls.length;
      // queueFlatCommand reads the client's keyPrefix from here, as from a pipeline.
      if (property === 'options') return cluster.options;
      if (property in target) return target[property];
      if (typeof property === 'symbol' || property === 'then') return undefined;
      const method = (cluster as unknown as Record<string, unknown>)[property];
      if (typeof method !== 'function') return undefined;
      return (...args: unknown[]): ChainableCommander => {
        calls.push(() => (method as (...a: unknown[]) => Promise<unknown>).apply(cluster, args));
        return proxy;
      };
    },
  }) as unknown as ChainableCommander;
  return proxy;
}
