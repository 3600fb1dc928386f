/**
 * Bull Board's basic auth over plain HTTP (the browser test needs Chromium; this one runs
 * everywhere): every path under /admin/queues, its JSON API and static assets included, is
 * 401 without the credentials when ADMIN_USER/ADMIN_PASSWORD are set, and open otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServer } from '@event-infra/testing';
import { request, startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

const ADMIN = { user: 'ops-admin', password: 'board-pw-7c2e' };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('Bull Board basic auth (HTTP)', () => {
  let redis: RedisServer;
  let closed: StartedProcessor;
  let open: StartedProcessor;

  beforeAll(async () => {
    redis = await startTestRedis();
    closed = await startProcessor(redis, { QUEUE_ENABLED: 'false', ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password });
    open = await startProcessor(redis, { QUEUE_ENABLED: 'false' });
  });
  afterAll(async () => {
    await closed?.close();
    await open?.close();
    await redis?.stop();
  });

  it('401 with a Basic challenge on the page, its API and its assets without or with wrong credentials', async () => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png', '/admin/queues/queue/async-processing']) {
      const missing = await request(closed.url, 'GET', path);
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get('www-authenticate'), path).toMatch(/^Basic /);
      expect(JSON.stringify(missing.body)).not.toContain(ADMIN.password);
      expect((await request(closed.url, 'GET', path, { headers: basic(ADMIN.user, 'wrong') })).status, path).toBe(401);
      expect((await request(closed.url, 'GET', path, { headers: basic('admin', ADMIN.password) })).status, path).toBe(401);
    }
  });

  it('200 with the credentials: the API lists the four queues', async () => {
    const page = await request(closed.url, 'GET', '/admin/queues', { headers: basic(ADMIN.user, ADMIN.password) });
    expect(page.status).toBe(200);
    const api = await request(closed.url, 'GET', '/admin/queues/api/queues', { headers: basic(ADMIN.user, ADMIN.password) });
    expect(api.status).toBe(200);
    const names = (api.body as { queues: { name: string }[] }).queues.map((queue) => queue.name).sort();
    expect(names).toEqual(['async-processing', 'dead-letter-queue', 'event-driven-jobs', 'long-running-jobs']);
  });

  it('health stays open for probes while the board is closed', async () => {
    expect((await request(closed.url, 'GET', '/health')).status).toBe(200);
  });

  it('without ADMIN_USER/ADMIN_PASSWORD the board is open (development)', async () => {
    expect((await request(open.url, 'GET', '/admin/queues/api/queues')).status).toBe(200);
  });
});
