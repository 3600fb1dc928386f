/**
 * Clients of the shared test streams Redis for one test file, each optionally with ioredis's
 * `keyPrefix`, all closed by `closeAll` (the command-encoding tests send raw commands on them).
 */
import { inject } from 'vitest';
import { closeRedis, createRedis, waitForRedis, type Redis } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';

export function streamsClients(): { client: (keyPrefix?: string) => Promise<Redis>; closeAll: () => Promise<void> } {
  const opened: Redis[] = [];
  return {
    async client(keyPrefix?: string): Promise<Redis> {
      const created = createRedis({ url: inject('redis').streams, role: 'redis-streams', profile: 'producer', logger: silentLogger() });
      if (keyPrefix) created.options.keyPrefix = keyPrefix;
      opened.push(created);
      await waitForRedis(created, 'redis-streams', 5_000);
      return created;
    },
    async closeAll(): Promise<void> {
      await Promise.all(opened.splice(0).map((each) => closeRedis(each)));
    },
  };
}
