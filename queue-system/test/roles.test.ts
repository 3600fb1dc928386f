import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_STREAM, ROLES, type Role } from '@event-infra/shared';
import { testPrincipals, waitFor, type RedisServer, type TestPrincipal } from '@event-infra/testing';
import { inspectQueues, request, startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

const QUEUE = 'async-processing';
const job = (marker: string) => ({ name: 'demo.sleep', data: { durationMs: 5, marker } });

describe('roles on the queue processor (8009): API keys and users, every role against every kind of route', () => {
  let redis: RedisServer;
  let app: StartedProcessor;
  let master: Redis;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;
  const as = (who: TestPrincipal, method: string, path: string, body?: unknown) =>
    request(app.url, method, path, { headers: { authorization: who.authorization }, ...(body !== undefined ? { body } : {}) });
  const auditRecords = async () => (await request(app.url, 'GET', '/audit?limit=500', { headers: { authorization: principals.keys.viewer.authorization } })).body.items as any[];

  beforeAll(async () => {
    redis = await startTestRedis();
    principals = await testPrincipals();
    app = await startProcessor(redis, { QUEUE_ENABLED: 'false', ADMIN_READONLY: 'false', ...principals.env });
    master = new Redis(redis.url);
  });
  afterAll(async () => {
    master?.disconnect();
    await app?.close();
    await redis?.stop();
  });
  beforeEach(async () => {
    await master.flushall();
  });

  it.each(ROLES)('%s key: submit, read, cancel, publish and audit answer as the roles table says', async (role) => {
    const key = principals.keys[role];
    const may = { submit: ['publisher', 'admin'], read: ['viewer', 'operator', 'admin'], operate: ['operator', 'admin'] } as Record<string, Role[]>;
    const own = await as(principals.keys.admin, 'POST', `/jobs/${QUEUE}`, job('by-admin'));
    expect(own.status).toBe(201);
    const submitted = await as(key, 'POST', `/jobs/${QUEUE}`, job(`by-${role}`));
    expect(submitted.status).toBe(may.submit!.includes(role) ? 201 : 403);
    if (submitted.status === 403) expect(submitted.body).toMatchObject({ error: 'forbidden', message: expect.stringContaining('submit') });
    const bulk = await as(key, 'POST', `/jobs/${QUEUE}/bulk`, { jobs: [job('bulk')] });
    expect(bulk.status).toBe(may.submit!.includes(role) ? 201 : 403);
    const event = await as(key, 'POST', '/events', { type: 'user.created', data: { userId: 'u1', email: 'u1@example.com' } });
    expect(event.status).toBe(may.submit!.includes(role) ? 202 : 403);
    // Reading someone else's job: viewer+ yes; a publisher sees only its own.
    const others = await as(key, 'GET', `/jobs/${QUEUE}/${own.body.id}`);
    expect(others.status).toBe(may.read!.includes(role) ? 200 : 404);
    if (submitted.status === 201) expect((await as(key, 'GET', `/jobs/${QUEUE}/${submitted.body.id}`)).status).toBe(200);
    expect((await as(key, 'GET', '/audit')).status).toBe(may.read!.includes(role) ? 200 : 403);
    const cancelled = await as(key, 'DELETE', `/jobs/${QUEUE}/${own.body.id}`);
    expect(cancelled.status).toBe(may.operate!.includes(role) ? 200 : 403);
    expect((await as(principals.keys.admin, 'GET', `/jobs/${QUEUE}/${own.body.id}`)).status).toBe(may.operate!.includes(role) ? 404 : 200);
  });

  // Express and the table's matcher (both path-to-regexp 8) agree on these today; the access
  // check also answers any request no row matches with 404, so a disagreement cannot open a door.
  it('other spellings of a route (case, slashes, encoding) never get past the check', async () => {
    for (const path of [`/JOBS/${QUEUE}`, `/Jobs/${QUEUE}/`, `//jobs/${QUEUE}`, `/jobs/${QUEUE.toUpperCase()}`, `/%6Aobs/${QUEUE}`, `/jobs/${QUEUE}/bulk/`]) {
      const answer = await as(principals.keys.viewer, 'POST', path, path.includes('bulk') ? { jobs: [job('x')] } : job('x'));
      expect([403, 404], `${path}: ${answer.status}`).toContain(answer.status);
    }
    for (const path of ['/ADMIN/queues/api/queues/async-processing/pause', '/admin/QUEUES/api/queues/async-processing/pause', '/admin/queues/api/queues/async-processing/pause/']) {
      const answer = await as(principals.users.viewer, 'PUT', path);
      expect([403, 404], `${path}: ${answer.status}`).toContain(answer.status);
    }
    const inspect = inspectQueues(redis);
    try {
      expect(await inspect.queue(QUEUE).count()).toBe(0);
      expect(await inspect.queue(QUEUE).isPaused()).toBe(false);
    } finally {
      await inspect.close();
    }
  });

  it('no or wrong credentials: 401, counted per surface in /metrics as denied and failed logins', async () => {
    expect((await request(app.url, 'POST', `/jobs/${QUEUE}`, { body: job('x') })).status).toBe(401);
    const wrong = await request(app.url, 'GET', `/jobs/${QUEUE}/1`, { headers: { authorization: 'Bearer not-a-key-at-all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'unauthorized' });
    expect((await request(app.url, 'GET', '/admin/queues/api/queues')).status).toBe(401);
    expect((await as(principals.users.viewer, 'PUT', `/admin/queues/api/queues/${QUEUE}/pause`)).status).toBe(403);
    const metrics = String((await request(app.url, 'GET', '/metrics')).body);
    expect(metrics).toMatch(/auth_denied_total\{[^}]*surface="api"[^}]*status="401"[^}]*\} [2-9]/);
    expect(metrics).toMatch(/auth_denied_total\{[^}]*surface="board"[^}]*status="401"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/auth_denied_total\{[^}]*surface="board"[^}]*status="403"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/auth_login_failures_total\{[^}]*surface="api"[^}]*\} [1-9]/);
  });

  it("a human's job submit is audited, a service key's is not; cancels are audited for everyone", async () => {
    const byPerson = await as(principals.users.admin, 'POST', `/jobs/${QUEUE}`, { ...job('person'), opts: { jobId: 'person-1' } });
    expect(byPerson.status).toBe(201);
    const byService = await as(principals.keys.publisher, 'POST', `/jobs/${QUEUE}`, job('service'));
    expect(byService.status).toBe(201);
    expect((await as(principals.keys.operator, 'DELETE', `/jobs/${QUEUE}/person-1`)).status).toBe(200);
    const records = await auditRecords();
    expect(records.map((record) => `${record.action} ${record.principal} ${record.target} ${record.outcome}`)).toEqual([
      `job.cancel operator-svc ${QUEUE}/person-1 attempted`,
      `job.submit admin-person ${QUEUE}/person-1 attempted`,
    ]);
    expect(records[1]).toMatchObject({ role: 'admin', kind: 'human', address: expect.stringMatching(/127\.0\.0\.1/), requestId: expect.any(String), time: expect.any(String) });
    // A cancel of a job that is not there: attempted, then failed with its status.
    await as(principals.keys.operator, 'DELETE', `/jobs/${QUEUE}/nope`);
    const failed = await waitForRecords(2 + 2);
    expect(failed[0]).toMatchObject({ action: 'job.cancel', target: `${QUEUE}/nope`, outcome: 'failed', status: 404 });
  });

  it('Bull Board: viewer reads, operator pauses but cannot clean, admin cleans; bulk records carry the filter and the count', async () => {
    const viewer = principals.users.viewer;
    expect((await as(viewer, 'GET', '/admin/queues/api/queues')).status).toBe(200);
    for (const [method, path] of [
      ['PUT', `/admin/queues/api/queues/${QUEUE}/retry/failed`],
      ['PUT', `/admin/queues/api/queues/${QUEUE}/clean/completed`],
      ['POST', `/admin/queues/api/queues/${QUEUE}/add`],
    ] as const) {
      expect((await as(viewer, method, path, method === 'POST' ? { name: 'demo.sleep', data: {} } : undefined)).status).toBe(403);
    }
    const operator = principals.users.operator;
    expect((await as(operator, 'PUT', `/admin/queues/api/queues/${QUEUE}/pause`)).status).toBe(200);
    expect((await as(operator, 'PUT', `/admin/queues/api/queues/${QUEUE}/resume`)).status).toBe(200);
    expect((await as(operator, 'PUT', `/admin/queues/api/queues/${QUEUE}/empty`)).status).toBe(403);
    for (const marker of ['a', 'b', 'c']) expect((await as(principals.keys.admin, 'POST', `/jobs/${QUEUE}`, { ...job(marker), opts: { delay: 60_000 } })).status).toBe(201);
    expect((await as(principals.users.admin, 'PUT', `/admin/queues/api/queues/${QUEUE}/clean/delayed`)).status).toBe(200);
    const records = await auditRecords();
    expect(records.map((record) => `${record.action} ${record.principal} ${record.outcome}`)).toEqual([
      'board.clean admin-person attempted',
      'board.resume operator-person attempted',
      'board.pause operator-person attempted',
    ]);
    expect(records[0].detail).toEqual({ queue: QUEUE, filter: { status: 'delayed' }, count: 3 });
  });

  it('GET /audit filters by principal, action, target and time, pages with a cursor, and exports JSON lines', async () => {
    for (const id of ['j1', 'j2', 'j3']) {
      expect((await as(principals.users.publisher, 'POST', `/jobs/${QUEUE}`, { ...job(id), opts: { jobId: id } })).status).toBe(201);
    }
    expect((await as(principals.users.admin, 'DELETE', `/jobs/${QUEUE}/j2`)).status).toBe(200);
    const viewer = principals.keys.viewer;
    const first = await as(viewer, 'GET', '/audit?action=job.submit&limit=2');
    expect(first.body.items.map((record: any) => record.target)).toEqual([`${QUEUE}/j3`, `${QUEUE}/j2`]);
    const second = await as(viewer, 'GET', `/audit?action=job.submit&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((record: any) => record.target)).toEqual([`${QUEUE}/j1`]);
    expect((await as(viewer, 'GET', '/audit?principal=admin-person')).body.items).toHaveLength(1);
    expect((await as(viewer, 'GET', `/audit?target=${QUEUE}/j2`)).body.items).toHaveLength(2);
    expect((await as(viewer, 'GET', `/audit?target=${encodeURIComponent(`${QUEUE}/j*`)}`)).body.items).toHaveLength(4);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await as(viewer, 'GET', `/audit?from=${encodeURIComponent(future)}`)).body.items).toHaveLength(0);
    expect((await as(viewer, 'GET', '/audit?limit=100000')).status).toBe(400);
    expect((await as(viewer, 'GET', '/audit?cursor=drop-table')).status).toBe(400);
    const exported = await fetch(`${app.url}/audit/export?action=job.submit`, { headers: { authorization: viewer.authorization } });
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((record) => record.target)).toEqual([`${QUEUE}/j1`, `${QUEUE}/j2`, `${QUEUE}/j3`]);
    expect(await master.xlen(AUDIT_STREAM)).toBe(4);
  });

  const waitForRecords = (count: number): Promise<any[]> =>
    waitFor(async () => {
      const records = await auditRecords();
      return records.length >= count ? records : undefined;
    }, `${count} audit records`);
});
