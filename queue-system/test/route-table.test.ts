import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes, routesMissingFrom, type RedisServer } from '@event-infra/testing';
import { loadConfig as loadDlqConfig } from '../../dlq-system/src/config';
import { DLQ_ROUTE_TABLE } from '../../dlq-system/src/http/route-table';
import { startDlqProcessor, type DlqProcessor } from '../../dlq-system/src/service';
import { QUEUE_ROUTE_TABLE } from '../src/http/route-table';
import { startProcessor, startTestRedis, type StartedProcessor } from './support/processor';
import { silentLogger } from '@event-infra/testing';
import { loadConfig as loadEventConfig } from '../../event-system/src/config';
import { EVENT_ROUTE_TABLE } from '../../event-system/src/http/route-table';
import { startEventProcessor, type EventProcessor } from '../../event-system/src/service';

describe('route table: every registered route of every service has a row', () => {
  let redis: RedisServer;
  let queue: StartedProcessor;
  let dlq: DlqProcessor;
  let events: EventProcessor;

  beforeAll(async () => {
    redis = await startTestRedis();
    // ADMIN_READONLY=false: both Bull Board instances (read-only and writable) are mounted.
    queue = await startProcessor(redis, { QUEUE_ENABLED: 'false', ADMIN_READONLY: 'false', TIMELINE_ENABLED: 'true' });
    dlq = await startDlqProcessor(
      loadDlqConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', REDIS_URL: redis.url, REDIS_QUEUE_URL: redis.url, REDIS_STREAMS_URL: redis.url, DLQ_PROCESSOR_PORT: '0' }),
      silentLogger(),
    );
    events = await startEventProcessor(
      loadEventConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', REDIS_URL: redis.url, REDIS_QUEUE_URL: redis.url, REDIS_STREAMS_URL: redis.url, EVENT_PROCESSOR_PORT: '0' }),
      silentLogger(),
    );
  });
  afterAll(async () => {
    await queue?.close();
    await dlq?.close();
    await events?.close();
    await redis?.stop();
  });

  it('queue processor (8009), Bull Board API included once a first request loaded the boards', async () => {
    // The boards are imported on the first request under /admin/queues (issue 12, memory):
    // before it, only the guard is there; the request itself is what loads them.
    expect(registeredRoutes(queue.app)).not.toContainEqual({ method: 'USE', path: '/admin/queues/static' });
    const first = await Promise.all([fetch(`${queue.url}/admin/queues/`), fetch(`${queue.url}/admin/queues/api/queues`)]);
    expect(first.map((response) => response.status)).toEqual([200, 200]);
    await Promise.all(first.map((response) => response.arrayBuffer()));
    const routes = registeredRoutes(queue.app);
    // The walk really reaches into the mounted routers and both boards.
    expect(routes).toContainEqual({ method: 'POST', path: '/jobs/:queue' });
    expect(routes).toContainEqual({ method: 'PUT', path: '/admin/queues/api/queues/:queueName/obliterate' });
    expect(routes).toContainEqual({ method: 'USE', path: '/admin/queues/static' });
    expect(routesMissingFrom(queue.app, QUEUE_ROUTE_TABLE)).toEqual([]);
  });

  it('DLQ processor (8011)', () => {
    expect(registeredRoutes(dlq.app)).toContainEqual({ method: 'DELETE', path: '/dlq/:id' });
    expect(routesMissingFrom(dlq.app, DLQ_ROUTE_TABLE)).toEqual([]);
  });

  it('event processor (8010)', () => {
    expect(registeredRoutes(events.app)).toContainEqual({ method: 'POST', path: '/replay/:id/cancel' });
    expect(routesMissingFrom(events.app, EVENT_ROUTE_TABLE)).toEqual([]);
  });

  it('a route without a row is reported', async () => {
    await (await fetch(`${queue.url}/admin/queues/`)).arrayBuffer();
    const partial = QUEUE_ROUTE_TABLE.filter((rule) => !rule.path.endsWith('/obliterate'));
    expect(routesMissingFrom(queue.app, partial)).toContainEqual({ method: 'PUT', path: '/admin/queues/api/queues/:queueName/obliterate' });
  });
});
