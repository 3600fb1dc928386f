import { afterEach, describe, expect, it } from 'vitest';
import {
  REDIS_ROLES,
  closeAll,
  clusterOptions,
  closeRedis,
  commonEnvSchema,
  connectRole,
  createRedis,
  describeRedisUrl,
  parseConfig,
  pingRedis,
  redisOptions,
  seedLookup,
  waitForAll,
  waitForRedis,
  type Redis,
  type RedisClient,
  type RedisConnectionSettings,
} from '@event-infra/shared';
import { captureLogger, freePort, silentLogger, startRedisServer, waitFor, type RedisServer } from '@event-infra/testing';

const opened: RedisClient[] = [];
const servers: RedisServer[] = [];

function client(settings: Partial<RedisConnectionSettings> & Pick<RedisConnectionSettings, 'url' | 'profile'>): Redis {
  const redis = createRedis({ role: REDIS_ROLES.queue, logger: silentLogger(), connectTimeoutMs: 1_000, ...settings });
  opened.push(redis);
  return redis;
}

async function server(options: Parameters<typeof startRedisServer>[0] = {}): Promise<RedisServer> {
  const started = await startRedisServer(options);
  servers.push(started);
  return started;
}

afterEach(async () => {
  await closeAll(opened.splice(0));
  // Restarted servers come last so the originals' stop() removes the shared temp dir after them.
  for (const started of servers.splice(0).reverse()) await started.stop();
});

describe('producer profile', () => {
  it('fails a command at once when Redis is down, without queueing it', async () => {
    const redis = client({ url: `redis://:pw@127.0.0.1:${await freePort()}`, profile: 'producer' });
    await expect(redis.set('k', 'v')).rejects.toThrow(/enableOfflineQueue|Stream isn't writeable|ECONNREFUSED|Connection is closed/i);
    expect(redis.status).not.toBe('ready');
  });

  it('reconnects by itself when Redis comes back, so health recovers', async () => {
    const original = await server();
    const redis = client({ url: original.url, profile: 'producer' });
    await waitForRedis(redis, REDIS_ROLES.queue, 5_000);
    await original.kill();
    await waitFor(() => redis.status !== 'ready', 'producer to notice the lost connection');
    await expect(pingRedis(redis)).rejects.toThrow(/connection is/);
    servers.push(await original.restart());
    await waitFor(() => redis.status === 'ready', 'producer to reconnect');
    await pingRedis(redis);
  });
});

describe('consumer profile', () => {
  it('keeps a command issued while Redis is down and runs it after the restart', async () => {
    const original = await server();
    const redis = client({ url: original.url, profile: 'consumer' });
    await waitForRedis(redis, REDIS_ROLES.queue, 5_000);
    await redis.set('before', '1');
    await original.kill();
    await waitFor(() => redis.status !== 'ready', 'consumer to notice the lost connection');
    const pending = redis.set('during', '2');
    servers.push(await original.restart());
    await expect(pending).resolves.toBe('OK');
    expect(await redis.get('during')).toBe('2');
    expect(redis.options.maxRetriesPerRequest).toBeNull();
  });
});

describe('waitForRedis / waitForAll', () => {
  it('names the role and host:port, never the password, when Redis is unreachable', async () => {
    const port = await freePort();
    const redis = client({ url: `redis://:do-not-leak-me@127.0.0.1:${port}`, profile: 'producer' });
    const error = await waitForRedis(redis, REDIS_ROLES.streams, 300).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(new RegExp(`^redis-streams at 127\\.0\\.0\\.1:${port} is unreachable after 300 ms`));
    expect(error?.message).toContain('ECONNREFUSED');
    expect(error?.message).not.toContain('do-not-leak-me');
  });

  it('names the role whose password is wrong, without the password', async () => {
    const good = await server();
    const bad = await server();
    const clients = {
      [REDIS_ROLES.master]: client({ url: good.url, profile: 'producer' }),
      [REDIS_ROLES.queue]: client({ url: `redis://:wrong-secret-123@127.0.0.1:${bad.port}`, profile: 'producer' }),
    };
    const error = await waitForAll(clients, 1_000).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(new RegExp(`^redis-queue at 127\\.0\\.0\\.1:${bad.port} is unreachable`));
    expect(error?.message).toMatch(/WRONGPASS|invalid password|NOAUTH/i);
    expect(error?.message).not.toContain('wrong-secret-123');
    expect(error?.message).not.toContain(bad.password);
  });

  it('resolves at once for a ready client', async () => {
    const started = await server();
    const redis = client({ url: started.url, profile: 'consumer' });
    await waitForAll({ [REDIS_ROLES.queue]: redis }, 5_000);
    await waitForRedis(redis, REDIS_ROLES.queue, 1);
  });
});

describe('passwords: in the URL or in a separate variable', () => {
  it('takes the URL password over the separate one, and decodes it', () => {
    expect(redisOptions({ url: 'redis://:from%40url@h:1', password: 'separate', role: 'r', profile: 'producer' }).password).toBe('from@url');
    expect(redisOptions({ url: 'redis://h:1', password: 'separate', role: 'r', profile: 'producer' }).password).toBe('separate');
    expect(redisOptions({ url: 'redis://h', role: 'r', profile: 'producer' })).not.toHaveProperty('password');
  });

  it('reads user, db, port and TLS from the URL', () => {
    const options = redisOptions({ url: 'rediss://alice:pw@cache.internal:6390/3', role: REDIS_ROLES.master, profile: 'consumer', name: 'sub' });
    expect(options).toMatchObject({ host: 'cache.internal', port: 6390, db: 3, username: 'alice', password: 'pw', tls: {} });
    expect(options.connectionName).toBe('evinfra:redis:sub');
    expect(redisOptions({ url: 'redis://h', role: 'r', profile: 'producer' })).toMatchObject({ port: 6379, db: 0, enableOfflineQueue: false });
  });

  it('connects with the password from the URL (special characters) and from the separate variable', async () => {
    const started = await server({ password: 'p@ss:w/rd#1' });
    const fromUrl = client({ url: started.url, profile: 'producer' });
    const separate = client({ url: started.urlWithoutPassword, password: started.password, profile: 'producer' });
    await waitForAll({ url: fromUrl, separate }, 5_000);
    expect(await fromUrl.ping()).toBe('PONG');
    expect(await separate.ping()).toBe('PONG');
  });

  it('connectRole picks the URL and password of the role from the configuration', async () => {
    const started = await server();
    const config = parseConfig(commonEnvSchema, {
      REDIS_QUEUE_URL: started.urlWithoutPassword,
      REDIS_QUEUE_PASSWORD: started.password,
    });
    const redis = connectRole(config, REDIS_ROLES.queue, 'producer', silentLogger(), 'api');
    opened.push(redis);
    await waitForRedis(redis, REDIS_ROLES.queue, 5_000);
    expect(await redis.client('GETNAME')).toBe('evinfra:redis-queue:api');
  });

  it('describeRedisUrl shows host:port only', () => {
    expect(describeRedisUrl('redis://:secret@h.example:6380/1')).toBe('h.example:6380');
    expect(describeRedisUrl('redis://h.example')).toBe('h.example:6379');
    expect(describeRedisUrl('nonsense secret')).toBe('(invalid url)');
  });
});

describe('connection logging', () => {
  it('logs an unreachable Redis once per distinct error, with role and endpoint, never the password', async () => {
    const { logger, lines, text } = captureLogger();
    const port = await freePort();
    const redis = createRedis({ url: `redis://:log-secret-42@127.0.0.1:${port}`, role: REDIS_ROLES.master, profile: 'consumer', logger });
    opened.push(redis);
    await waitFor(() => lines.some((line) => line.msg === 'redis connection error'), 'an error line');
    // Several reconnect attempts later there is still one line for the same error.
    let reconnects = 0;
    redis.on('reconnecting', () => (reconnects += 1));
    await waitFor(() => reconnects >= 3, 'three reconnect attempts');
    const errors = lines.filter((line) => line.msg === 'redis connection error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ role: 'redis', endpoint: `127.0.0.1:${port}` });
    expect(text()).not.toContain('log-secret-42');
  });
});

describe('pingRedis and closeRedis', () => {
  it('ping rejects on a client that is not ready; close is safe to repeat', async () => {
    const started = await server();
    const redis = client({ url: started.url, profile: 'producer' });
    await waitForRedis(redis, REDIS_ROLES.queue, 5_000);
    await pingRedis(redis);
    await closeRedis(redis);
    await closeRedis(redis);
    expect(redis.status).toBe('end');
    await expect(pingRedis(redis)).rejects.toThrow('connection is end');
  });
});

describe('cluster seed look-up', () => {
  const look = (hostname: string) =>
    new Promise<{ err: Error | null; address: string }>((resolve) => seedLookup(hostname, (err, address) => resolve({ err, address })));

  it('resolves a name that exists to its address', async () => {
    const { err, address } = await look('localhost');
    expect(err).toBeNull();
    expect(address).toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  it('keeps a name that no longer resolves (a stopped container) instead of failing every reconnect', async () => {
    const { err, address } = await look('evinfra-node-that-is-gone.invalid');
    expect(err).toBeNull();
    expect(address).toBe('evinfra-node-that-is-gone.invalid');
  });

  it('is the look-up of every cluster client, consumer and producer', () => {
    for (const profile of ['consumer', 'producer'] as const) {
      expect(clusterOptions({ url: 'redis://127.0.0.1:7101', role: 'queue', profile }).dnsLookup).toBe(seedLookup);
    }
  });
});
