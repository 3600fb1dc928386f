import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleAllows, type RouteRule } from '@event-infra/shared';
import { silentLogger, testPrincipals, type RedisServer } from '@event-infra/testing';
import { loadConfig as loadDlqConfig } from '../../dlq-system/src/config';
import { DLQ_ROUTE_TABLE } from '../../dlq-system/src/http/route-table';
import { startDlqProcessor, type DlqProcessor } from '../../dlq-system/src/service';
import { QUEUE_ROUTE_TABLE } from '../src/http/route-table';
import { startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

/** A concrete request path for a table row (parameters filled in, `USE` rows get a file below them). */
function concrete(rule: RouteRule): string {
  const path = rule.path
    .replace(':queueName', 'async-processing')
    .replace(':queue', 'async-processing')
    .replace(':queueStatus', 'failed')
    .replace(':jobId', 'no-such-job')
    .replace(':schedulerId', 'no-such-scheduler')
    .replace(':id', 'no-such-entry');
  return rule.method === 'USE' ? `${path}/no-such-file.js` : path;
}

const bodyFor = (rule: RouteRule): unknown => (rule.method === 'GET' || rule.method === 'USE' || rule.method === 'DELETE' ? undefined : {});

/**
 * Every row of both tables, called for real by each role's user: a role without the row's
 * permission gets 403 `forbidden` from the access check; a role with it never does (nor a
 * 401): whatever the route itself answers (200, 400, 404, the board guard's `forbidden_queue`).
 */
describe('every route of 8009 and 8011, called by every role', () => {
  let redis: RedisServer;
  let queue: StartedProcessor;
  let dlq: DlqProcessor;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;

  beforeAll(async () => {
    redis = await startTestRedis();
    principals = await testPrincipals();
    queue = await startProcessor(redis, { QUEUE_ENABLED: 'false', ADMIN_READONLY: 'false', ...principals.env });
    dlq = await startDlqProcessor(
      loadDlqConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', REDIS_URL: redis.url, REDIS_QUEUE_URL: redis.url, REDIS_STREAMS_URL: redis.url, DLQ_PROCESSOR_PORT: '0', ...principals.env }),
      silentLogger(),
    );
  });
  afterAll(async () => {
    await queue?.close();
    await dlq?.close();
    await redis?.stop();
  });

  const rows = [...QUEUE_ROUTE_TABLE.map((rule) => ({ service: 'queue' as const, rule })), ...DLQ_ROUTE_TABLE.map((rule) => ({ service: 'dlq' as const, rule }))];

  it.each(ROLES)('%s', async (role) => {
    const user = principals.users[role];
    const wrong: string[] = [];
    for (const { service, rule } of rows) {
      const url = `${service === 'queue' ? queue.url : dlq.url}${concrete(rule)}`;
      const body = bodyFor(rule);
      const response = await fetch(url, {
        method: rule.method === 'USE' ? 'GET' : rule.method,
        headers: { authorization: user.authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { error?: string }).error;
      } catch {
        // Not JSON (HTML page, static file, empty body): not the access check's answer.
        code = undefined;
      }
      const refused = response.status === 403 && code === 'forbidden';
      const allowed = roleAllows(role, rule.permission);
      if (allowed ? refused || response.status === 401 : !refused) wrong.push(`${rule.method} ${rule.path} (${rule.permission}): ${response.status} ${code ?? ''}`);
    }
    expect(wrong).toEqual([]);
  });
});
