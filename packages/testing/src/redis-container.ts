import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/**
 * True when a Docker engine answers (not only the client). Checked through testcontainers'
 * own runtime detection, which fails fast without an engine.
 */
export async function dockerEngineReachable(): Promise<boolean> {
  if (process.env.DOCKER_HOST === undefined && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    // No engine behind the socket: the redis-server path is the answer.
    return false;
  }
}

/** A `redis:7` container with a password and AOF, mapped to a random host port. */
export async function startRedisContainer(): Promise<{ url: string; stop(): Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const password = `test-${randomBytes(8).toString('hex')}`;
  const container = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', '--requirepass', password, '--appendonly', 'yes', '--appendfsync', 'everysec'])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return {
    url: `redis://:${password}@${container.getHost()}:${container.getMappedPort(6379)}`,
    stop: async () => {
      await container.stop();
    },
  };
}
