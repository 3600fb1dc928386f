import { startRedisServer } from './redis-server';
import { startRedisContainer, dockerEngineReachable } from './redis-container';

export interface RedisStack {
  urls: { master: string; streams: string; queue: string };
  stop(): Promise<void>;
}

interface Startable {
  url: string;
  stop(): Promise<void>;
}

/** EVINFRA_TEST_REDIS: `auto` (default), `docker` (containers or fail), `process` (redis-server). */
export type TestRedisMode = 'auto' | 'docker' | 'process';

export function testRedisMode(env: NodeJS.ProcessEnv = process.env): TestRedisMode {
  const value = env.EVINFRA_TEST_REDIS ?? 'auto';
  if (value === 'auto' || value === 'docker' || value === 'process') return value;
  throw new Error(`EVINFRA_TEST_REDIS must be auto, docker or process (got "${value}")`);
}

async function startThree(start: () => Promise<Startable>): Promise<Startable[]> {
  const started: Startable[] = [];
  try {
    for (let index = 0; index < 3; index += 1) started.push(await start());
  } catch (caught) {
    await Promise.allSettled(started.map((server) => server.stop()));
    throw caught;
  }
  return started;
}

function firstLine(caught: unknown): string {
  const message = caught instanceof Error ? caught.message : String(caught);
  return (message.split('\n').find((line) => line.trim() !== '') ?? 'unknown error').trim().slice(0, 200);
}

/**
 * The three Redis instances of the stack for a test run. `auto`: containers through
 * testcontainers when a Docker engine answers and a redis:7-alpine container starts, otherwise
 * `redis-server` processes on free ports; an engine that answers but cannot start the container
 * (no image and no registry) costs one line on stderr, and the rest of the run (the other
 * projects' global setups) goes straight to processes.
 */
export async function startRedisStack(): Promise<RedisStack> {
  const mode = testRedisMode();
  let started: Startable[] | undefined;
  if (mode === 'docker' || (mode === 'auto' && (await dockerEngineReachable()))) {
    try {
      started = await startThree(startRedisContainer);
    } catch (caught) {
      if (mode === 'docker') throw caught;
      process.stderr.write(
        `test Redis: a Docker engine answers but no redis:7-alpine container started (${firstLine(caught)}); ` +
          'using redis-server processes instead (EVINFRA_TEST_REDIS=process skips the engine)\n',
      );
      // Read by the next global setup of this run (one per vitest project).
      process.env.EVINFRA_TEST_REDIS = 'process';
    }
  }
  started ??= await startThree(startRedisServer);
  const [master, streams, queue] = started as [Startable, Startable, Startable];
  return {
    urls: { master: master.url, streams: streams.url, queue: queue.url },
    stop: async () => {
      await Promise.allSettled(started.map((server) => server.stop()));
    },
  };
}
