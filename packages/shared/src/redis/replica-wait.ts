import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './create-redis';

/** CRC16-XMODEM, as Redis Cluster hashes keys. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster hash slot of `key` (its `{tag}` when it has a non-empty one), 0..16383. */
export function clusterSlotOf(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % 16_384;
}

/** The cluster's connection to the master that serves `key` now, if the client knows it. */
function masterFor(cluster: Cluster, key: string): Redis | undefined {
  const nodeKey = cluster.slots[clusterSlotOf(key)]?.[0];
  if (nodeKey === undefined) return undefined;
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
}

/**
 * After a write that must survive a failover (a DLQ entry parked): `WAIT 1 timeoutMs` on the
 * master that holds `key`, so the write is on at least one replica before the caller answers.
 * Resolves with the replicas that acknowledged (0 after the timeout: the write is only on the
 * master; the caller logs it). On a single Redis, or when the client has no slot map yet, it
 * resolves with undefined at once: there is no replica to wait for (README "Scaling").
 */
export async function waitForReplica(client: RedisClient, key: string, timeoutMs: number): Promise<number | undefined> {
  if (!(client instanceof Cluster)) return undefined;
  const master = masterFor(client, key);
  if (master === undefined) return undefined;
  return Number(await master.wait(1, timeoutMs));
}
