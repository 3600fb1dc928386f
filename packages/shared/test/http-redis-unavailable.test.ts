import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncHandler, closeRedis, createRedis, finishServiceApp, isRedisUnavailable, startHttpServer, type Redis, type RunningServer } from '@event-infra/shared';
import { captureLogger, startRedisServer, waitFor, type RedisServer } from '@event-infra/testing';

describe('a Redis that is down answers 503, not 500', () => {
  const log = captureLogger('http-redis');
  let redisServer: RedisServer;
  let redis: Redis;
  let server: RunningServer;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = createRedis({ url: redisServer.url, role: 'redis-queue', profile: 'producer', logger: log.logger });
    await waitFor(() => redis.status === 'ready', 'the client to connect');
    const app = express();
    app.get('/write', asyncHandler(async (_req, res) => res.json({ set: await redis.set('k', 'v') })));
    app.get('/bug', asyncHandler(async () => {
      throw new TypeError('cannot read properties of undefined');
    }));
    server = await startHttpServer(finishServiceApp(app, log.logger), 0, '127.0.0.1');
  });

  afterAll(async () => {
    await server.close(100);
    await closeRedis(redis);
    await redisServer.stop();
  });

  it('works while Redis is up, 503 with Retry-After once it is killed, a bug stays 500', async () => {
    expect((await fetch(`${server.url}/write`)).status).toBe(200);
    await redisServer.kill();
    await waitFor(() => redis.status !== 'ready', 'the client to notice');
    const response = await fetch(`${server.url}/write`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({ error: 'unavailable', message: 'a backing Redis is unavailable; retry later' });
    expect(log.lines.some((line) => line.msg === 'redis unavailable')).toBe(true);
    expect((await fetch(`${server.url}/bug`)).status).toBe(500);
  });

  it('recognises the shapes of an unreachable Redis and nothing else', () => {
    expect(isRedisUnavailable(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRedisUnavailable(new Error('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisUnavailable({ failed: [{ error: new Error('Connection is closed.') }] })).toBe(true);
    // Redis Cluster in a failover: a slot without a master, and a client that gave up following it.
    expect(isRedisUnavailable(new Error('CLUSTERDOWN The cluster is down'))).toBe(true);
    expect(isRedisUnavailable(new Error('Too many Cluster redirections. Last error: ReplyError: MOVED 7071 127.0.0.1:7302'))).toBe(true);
    expect(isRedisUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }) }))).toBe(true);
    expect(isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisUnavailable(new TypeError('undefined is not a function'))).toBe(false);
    expect(isRedisUnavailable('ECONNREFUSED')).toBe(false);
  });
});
