import type { CommonConfig } from '../config';
import type { ClusterNodeAddress } from '../config/fragments';
import type { Logger } from '../logger';
import { REDIS_ROLES, type RedisRole } from '../names';
import { closeRedis, createRedisClient, waitForRedis, type RedisClient, type RedisProfile } from './create-redis';

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
