import { Cluster, type RedisOptions } from 'ioredis';
import type { CommonConfig } from '../config';
import type { ClusterNodeAddress } from '../config/fragments';
import type { Logger } from '../logger';
import { REDIS_ROLES, type RedisRole } from '../names';
import { closeRedis, createRedisClient, redisOptions, waitForRedis, type RedisClient, type RedisProfile } from './create-redis';

/** Where a Redis role lives: its URL and password, and its cluster seed nodes (empty: a single Redis). */
export interface RedisEndpoint {
  url: string;
  password: string | undefined;
  clusterNodes: readonly ClusterNodeAddress[];
}

/** URL, password and cluster seed nodes of each Redis role, from the common configuration. */
export function redisEndpoint(config: CommonConfig, role: RedisRole): RedisEndpoint {
  switch (role) {
    case REDIS_ROLES.master:
      return { url: config.REDIS_URL, password: config.REDIS_PASSWORD, clusterNodes: config.REDIS_CLUSTER_NODES };
    case REDIS_ROLES.streams:
      return { url: config.REDIS_STREAMS_URL, password: config.REDIS_STREAMS_PASSWORD, clusterNodes: config.REDIS_STREAMS_CLUSTER_NODES };
    case REDIS_ROLES.queue:
      return { url: config.REDIS_QUEUE_URL, password: config.REDIS_QUEUE_PASSWORD, clusterNodes: config.REDIS_QUEUE_CLUSTER_NODES };
  }
}

/** Opens a client for `role` with `profile`: a `Cluster` when the role's `*_CLUSTER_NODES` is set. */
export function connectRole(
  config: CommonConfig,
  role: RedisRole,
  profile: RedisProfile,
  logger: Logger,
  name?: string,
): RedisClient {
  return createRedisClient({ ...redisEndpoint(config, role), role, profile, logger, ...(name ? { name } : {}) });
}

/**
 * Waits until every client is ready. Rejects naming the first unreachable Redis (role and
 * host:port, never the password) so a service that cannot reach its Redis says which.
 */
export async function waitForAll(clients: Record<string, RedisClient>, timeoutMs: number): Promise<void> {
  await Promise.all(Object.entries(clients).map(([role, client]) => waitForRedis(client, role, timeoutMs)));
}

export async function closeAll(clients: Iterable<RedisClient>): Promise<void> {
  await Promise.allSettled([...clients].map((client) => closeRedis(client)));
}

/** What BullMQ objects of one role connect with (`bullConnectionFor`). */
export interface BullConnection {
  /** Connection options (single Redis) or a `Cluster` client, as BullMQ's `connection` option takes them. */
  connection: RedisOptions | Cluster;
  /** Closes the cluster client (after the BullMQ objects that use it); nothing for options. */
  close(): Promise<void>;
}

/**
 * The `connection` for BullMQ workers and QueueEvents of `role`: on a single Redis, options
 * (BullMQ opens and closes its own connections, as before); on a cluster, one `Cluster` client
 * (BullMQ cannot build a cluster from options; a worker duplicates it for its blocking reads).
 */
export function bullConnectionFor(config: CommonConfig, role: RedisRole, logger: Logger, name: string): BullConnection {
  const endpoint = redisEndpoint(config, role);
  if (endpoint.clusterNodes.length === 0) {
    return { connection: redisOptions({ ...endpoint, role, profile: 'consumer', name }), close: async () => {} };
  }
  const cluster = connectRole(config, role, 'consumer', logger, name);
  return { connection: cluster as Cluster, close: () => closeRedis(cluster) };
}

/** True when a BullMQ `connection` (options or client) is a Redis Cluster client. */
export function isClusterConnection(connection: unknown): boolean {
  return connection instanceof Cluster;
}
