import { startRedisServer, type RedisServer } from './redis-server';
import { startRedisContainer, dockerEngineReachable } from './redis-container';

export interface RedisStack {
  urls: { master: string; streams: string; queue: string };
  stop(): Promise<void>;
}

interface Startable {
  url: string;
  stop(): Promise<void>;
}

/**
 * The three Redis instances of the stack for a test run: containers through testcontainers
 * when a Docker engine answers, otherwise `redis-server` processes on free ports.
 */
export async function startRedisStack(): Promise<RedisStack> {
  const useDocker = process.env.EVINFRA_TEST_REDIS !== 'process' && (await dockerEngineReachable());
  const start = (): Promise<Startable> => (useDocker ? startRedisContainer() : startRedisServer());
  const started: Startable[] = [];
  try {
    for (let index = 0; index < 3; index += 1) started.push(await start());
  } catch (caught) {
    await Promise.allSettled(started.map((server) => server.stop()));
    throw caught;
  }
  const [master, streams, queue] = started as [RedisServer, RedisServer, RedisServer];
  return {
    urls: { master: master.url, streams: streams.url, queue: queue.url },
    stop: async () => {
      await Promise.allSettled(started.map((server) => server.stop()));
    },
  };
}
