import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { AUDIT_STREAM, ROLES, type Role } from '@event-infra/shared';
import { testPrincipals, uniqueName, waitFor, type TestPrincipal } from '@event-infra/testing';
import { jobEntry, startDlqFixture, type DlqFixture } from './support/dlq-harness';

const permanent = { message: 'invalid input', permanent: true };

describe('roles and the audit log on the DLQ processor (8011)', () => {
  let fx: DlqFixture;
  let master: Redis;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;
  const origin = uniqueName('roles-origin');
  const as = async (who: TestPrincipal, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: who.authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${fx.processor.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  const park = async (jobId: string, from = origin): Promise<string> => {
    const id = await fx.sink.add(jobEntry(from, jobId, permanent));
    await waitFor(async () => (await fx.processor.store.state(id))?.status === 'parked', `entry ${jobId} parked`);
    return id;
  };
  const records = async (query = '') => (await as(principals.keys.viewer, 'GET', `/audit?limit=500${query}`)).body.items as any[];

  beforeAll(async () => {
    principals = await testPrincipals();
    fx = await startDlqFixture({ DLQ_MAX_RETRIES: '0', ...principals.env });
    master = new Redis(fx.master.url);
  });
  afterAll(async () => {
    master?.disconnect();
    await fx?.close();
  });

  it.each(ROLES)('%s key: list, retry, redrive, discard and audit answer as the roles table says', async (role) => {
    const may = { read: ['viewer', 'operator', 'admin'], operate: ['operator', 'admin'], administer: ['admin'] } as Record<string, Role[]>;
    const key = principals.keys[role];
    const id = await park(`${role}-1`);
    expect((await as(key, 'GET', '/dlq')).status).toBe(may.read!.includes(role) ? 200 : 403);
    expect((await as(key, 'GET', `/dlq/${id}`)).status).toBe(may.read!.includes(role) ? 200 : 403);
    expect((await as(key, 'GET', '/audit')).status).toBe(may.read!.includes(role) ? 200 : 403);
    expect((await as(key, 'POST', '/dlq/retry', { origin: `${origin}-none` })).status).toBe(may.operate!.includes(role) ? 200 : 403);
    const retried = await as(key, 'POST', `/dlq/${id}/retry`);
    expect(retried.status).toBe(may.operate!.includes(role) ? 202 : 403);
    const discarded = await as(key, 'DELETE', `/dlq/${id}`);
    expect(discarded.status).toBe(may.administer!.includes(role) ? 200 : 403);
  });

  it('retry, redrive (filter and count) and discard each leave records; the per-entry ones are written by the transition', async () => {
    const bulkOrigin = uniqueName('redrive-origin');
    const single = await park('audit-single');
    const bulk = [await park('audit-bulk-1', bulkOrigin), await park('audit-bulk-2', bulkOrigin)];
    const operator = principals.users.operator;
    expect((await as(operator, 'POST', `/dlq/${single}/retry`)).status).toBe(202);
    const redrive = await as(operator, 'POST', '/dlq/retry', { origin: bulkOrigin, limit: 10 });
    expect(redrive.status).toBe(200);
    expect(redrive.body.retried).toBe(2);
    expect((await as(principals.users.admin, 'DELETE', `/dlq/${single}`)).status).toBe(200);
    const seen = await records('&principal=operator-person');
    // Newest first: the two bulk retries (either order), the redrive before them, the single retry first of all.
    expect(seen.map((record) => `${record.action} ${record.outcome}`)).toEqual(['dlq.retry ok', 'dlq.retry ok', 'dlq.redrive attempted', 'dlq.retry ok']);
    expect(seen[3].target).toBe(`dlq/${single}`);
    expect(seen.slice(0, 2).map((record) => record.target).sort()).toEqual(bulk.map((id) => `dlq/${id}`).sort());
    const redriveRecord = seen.find((record) => record.action === 'dlq.redrive');
    expect(redriveRecord.detail).toEqual({ filter: { origin: bulkOrigin, limit: 10 }, count: 2 });
    // Each entry moved by the redrive names the filter it was moved by.
    expect(seen[0].detail.filter).toEqual({ origin: bulkOrigin, limit: 10 });
    expect(await records(`&action=dlq.discard&target=dlq/${single}`)).toMatchObject([{ principal: 'admin-person', role: 'admin', kind: 'human', outcome: 'ok' }]);
  });

  it('an audit record that cannot be written refuses the transition with 503: the entry stays as it was', async () => {
    const id = await park('audit-broken');
    const before = await fx.processor.store.state(id);
    // The audit stream key holds a string: the script's XADD fails before any other write.
    const aside = `${AUDIT_STREAM}:aside`;
    await master.rename(AUDIT_STREAM, aside);
    await master.set(AUDIT_STREAM, 'not a stream');
    try {
      const retry = await as(principals.keys.operator, 'POST', `/dlq/${id}/retry`);
      expect(retry.status).toBe(503);
      expect(retry.body).toMatchObject({ error: 'unavailable', message: expect.stringContaining('audit') });
      expect((await as(principals.keys.admin, 'DELETE', `/dlq/${id}`)).status).toBe(503);
      expect((await as(principals.keys.operator, 'POST', '/dlq/retry', { origin })).status).toBe(503);
      expect(await fx.processor.store.state(id)).toEqual(before);
      expect((await fx.processor.store.get(id))?.status).toBe('parked');
    } finally {
      await master.del(AUDIT_STREAM);
      await master.rename(aside, AUDIT_STREAM);
    }
    expect((await as(principals.keys.operator, 'POST', `/dlq/${id}/retry`)).status).toBe(202);
  });
});
