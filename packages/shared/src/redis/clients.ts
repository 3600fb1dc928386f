import type { Redis } from 'ioredis';
import type { CommonConfig } from '../config';
import type { Logger } from '../logger';
import { REDIS_ROLES, type RedisRole } from '../names';
import { closeRedis, createRedis, waitForRedis, type RedisProfile } from './create-redis';

/** URL and password of each Redis role, from the common configuration. */
export function redisEndpoint(config: CommonConfig, role: RedisRole): { url: string; password: string | undefined } {
  switch (role) {
    case REDIS_ROLES.master:
      return { url: config.REDIS_URL, password: config.REDIS_PASSWORD };
    case REDIS_ROLES.streams:
      return { url: config.REDIS_STREAMS_URL, password: config.REDIS_STREAMS_PASSWORD };
    case REDIS_ROLES.queue:
      return { url: config.REDIS_QUEUE_URL, password: config.REDIS_QUEUE_PASSWORD };
  }
}

/** Opens a client for `role` with `profile`. */
export function connectRole(
  config: CommonConfig,
  role: RedisRole,
  profile: RedisProfile,
  logger: Logger,
  name?: string,
): Redis {
  return createRedis({ ...redisEndpoint(config, role), role, profile, logger, ...(name ? { name } : {}) });
}

/**
 * Waits until every client is ready. Rejects naming the first unreachable Redis (role and
 * host:port, never the password) so a service that cannot reach its Redis says which.
 */
export async function waitForAll(clients: Record<string, Redis>, timeoutMs: number): Promise<void> {
  await Promise.all(Object.entries(clients).map(([role, client]) => waitForRedis(client, role, timeoutMs)));
}

export async function closeAll(clients: Iterable<Redis>): Promise<void> {
  await Promise.allSettled([...clients].map((client) => closeRedis(client)));
}
