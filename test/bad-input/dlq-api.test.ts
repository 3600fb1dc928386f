/**
 * Bad input over the DLQ processor's HTTP API (8011): bad filters, bad page/limit/cursor,
 * unknown ids, a retry of an entry that is not parked, bad bulk-retry bodies, auth. Each case
 * the exact status and `{error, message, details?}`; afterwards the service still answers and
 * the stored entry is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDeadLetterSink, createRedis, REDIS_ROLES, type DeadLetterSink, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { call, expectError, expectNoSecret, startDlqApi, type ExpectedError, type RequestSpec } from './support';

interface Case extends ExpectedError {
  name: string;
  request: RequestSpec;
}

/** Filled in once the scheduled entry exists. */
let scheduledId = '';

const cases: Case[] = [
  // --- GET /dlq filters and paging ---
  { name: 'page 0', request: { path: '/dlq?page=0' }, status: 400, error: 'validation_failed', detailPath: 'page' },
  { name: 'page not a number', request: { path: '/dlq?page=abc' }, status: 400, error: 'validation_failed', detailPath: 'page' },
  { name: 'page fractional', request: { path: '/dlq?page=1.5' }, status: 400, error: 'validation_failed', detailPath: 'page' },
  { name: 'page given twice', request: { path: '/dlq?page=1&page=2' }, status: 400, error: 'validation_failed', detailPath: 'page' },
  { name: 'limit 0', request: { path: '/dlq?limit=0' }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'limit over 500', request: { path: '/dlq?limit=501' }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'limit negative', request: { path: '/dlq?limit=-1' }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'limit huge', request: { path: '/dlq?limit=1e400' }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'cursor (not supported)', request: { path: '/dlq?cursor=abc' }, status: 400, error: 'validation_failed' },
  { name: 'unknown kind', request: { path: '/dlq?kind=message' }, status: 400, error: 'validation_failed', detailPath: 'kind' },
  { name: 'unknown classification', request: { path: '/dlq?classification=fatal' }, status: 400, error: 'validation_failed', detailPath: 'classification' },
  { name: 'unknown status', request: { path: '/dlq?status=lost' }, status: 400, error: 'validation_failed', detailPath: 'status' },
  { name: 'from not a date', request: { path: '/dlq?from=yesterday' }, status: 400, error: 'validation_failed', detailPath: 'from' },
  { name: 'to without offset', request: { path: '/dlq?to=2026-01-01T00:00:00' }, status: 400, error: 'validation_failed', detailPath: 'to' },
  { name: 'origin empty', request: { path: '/dlq?origin=' }, status: 400, error: 'validation_failed', detailPath: 'origin' },
  { name: 'origin over 256 chars', request: { path: `/dlq?origin=${'o'.repeat(300)}` }, status: 400, error: 'validation_failed', detailPath: 'origin' },
  { name: 'bracket syntax is not nesting', request: { path: '/dlq?kind[$ne]=job' }, status: 400, error: 'validation_failed' },
  { name: 'alerts limit 0', request: { path: '/dlq/alerts?limit=0' }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'alerts unknown parameter', request: { path: '/dlq/alerts?since=1' }, status: 400, error: 'validation_failed' },
  // --- ids ---
  { name: 'unknown id', request: { path: '/dlq/no-such-entry' }, status: 404, error: 'not_found' },
  { name: 'retry of an unknown id', request: { method: 'POST', path: '/dlq/no-such-entry/retry' }, status: 404, error: 'not_found' },
  { name: 'delete of an unknown id', request: { method: 'DELETE', path: '/dlq/no-such-entry' }, status: 404, error: 'not_found' },
  { name: 'id over 512 chars', request: { path: `/dlq/${'i'.repeat(600)}` }, status: 400, error: 'validation_failed' },
  { name: 'path traversal in :id', request: { path: '/dlq/..%2F..%2Fetc%2Fpasswd' }, status: 404, error: 'not_found' },
  { name: 'NUL and unicode in :id', request: { path: `/dlq/${encodeURIComponent('\u0000😀')}` }, status: 404, error: 'not_found' },
  { name: 'malformed percent-encoding in :id', request: { path: '/dlq/%E0%A4%A' }, status: 400, error: 'validation_failed' },
  { name: 'retry of an entry that is not parked', request: { method: 'POST', path: '/dlq/(scheduled)/retry' }, status: 409, error: 'conflict', message: /scheduled/ },
  // --- POST /dlq/retry bodies ---
  { name: 'bulk retry malformed JSON', request: { path: '/dlq/retry', body: '{"limit":', headers: { 'content-type': 'application/json' } }, status: 400, error: 'invalid_json' },
  { name: 'bulk retry text/plain', request: { path: '/dlq/retry', body: '{}', headers: { 'content-type': 'text/plain' } }, status: 415, error: 'unsupported_media_type' },
  { name: 'bulk retry body an array', request: { path: '/dlq/retry', body: [] }, status: 400, error: 'validation_failed' },
  { name: 'bulk retry body a number', request: { path: '/dlq/retry', body: '7', headers: { 'content-type': 'application/json' } }, status: 400, error: 'validation_failed' },
  { name: 'bulk retry limit 0', request: { path: '/dlq/retry', body: { limit: 0 } }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'bulk retry limit over 1000', request: { path: '/dlq/retry', body: { limit: 1001 } }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'bulk retry limit a string', request: { path: '/dlq/retry', body: { limit: '5' } }, status: 400, error: 'validation_failed', detailPath: 'limit' },
  { name: 'bulk retry bad kind', request: { path: '/dlq/retry', body: { kind: 'x' } }, status: 400, error: 'validation_failed', detailPath: 'kind' },
  { name: 'bulk retry status (not a filter here)', request: { path: '/dlq/retry', body: { status: 'scheduled' } }, status: 400, error: 'validation_failed' },
  { name: 'bulk retry bad from', request: { path: '/dlq/retry', body: { from: 12 } }, status: 400, error: 'validation_failed', detailPath: 'from' },
  { name: 'bulk retry huge body', request: { path: '/dlq/retry', body: { origin: 'o'.repeat(100_000) } }, status: 413, error: 'payload_too_large' },
  { name: 'bulk retry body nested 30,000 levels deep', request: { path: '/dlq/retry', body: `{"origin":${'['.repeat(30_000)}${']'.repeat(30_000)}}`, headers: { 'content-type': 'application/json' } }, status: 400, error: 'validation_failed', message: /nested deeper than 64/ },
  // --- auth ---
  { name: 'no Authorization', request: { path: '/dlq', auth: false }, status: 401, error: 'unauthorized' },
  { name: 'wrong key', request: { path: '/dlq', auth: false, headers: { authorization: 'Bearer nope' } }, status: 401, error: 'unauthorized' },
  { name: 'malformed Authorization', request: { path: '/dlq', auth: false, headers: { authorization: 'Bearer\tof\tlies' } }, status: 401, error: 'unauthorized' },
  { name: 'retry without Authorization', request: { method: 'POST', path: '/dlq/x/retry', auth: false }, status: 401, error: 'unauthorized' },
  { name: 'bulk retry without Authorization (before the body)', request: { path: '/dlq/retry', body: '{bad', auth: false, headers: { 'content-type': 'application/json' } }, status: 401, error: 'unauthorized' },
  { name: 'unknown route', request: { method: 'PUT', path: '/dlq' }, status: 404, error: 'not_found' },
];

describe('DLQ processor (8011): bad input', () => {
  let dlq: Awaited<ReturnType<typeof startDlqApi>>;
  let queueRedis: Redis;
  let sink: DeadLetterSink;
  const origin = uniqueName('bad-input-origin');

  beforeAll(async () => {
    // Automatic retries far in the future: a transient failure stays `scheduled`.
    dlq = await startDlqApi({ DLQ_MAX_RETRIES: '5', DLQ_RETRY_BASE_DELAY_MS: '3600000', HTTP_BODY_LIMIT: '64kb' });
    queueRedis = createRedis({ url: inject('redis').queue, role: REDIS_ROLES.queue, profile: 'producer', logger: silentLogger() });
    sink = createDeadLetterSink({ queueName: dlq.env.DLQ_QUEUE_NAME!, connection: queueRedis });
    const now = new Date().toISOString();
    await sink.add({
      kind: 'job',
      origin: { kind: 'job', queue: origin, jobId: uniqueName('job') },
      name: 'demo.fail',
      data: {},
      error: { message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
      attempts: 3,
      firstFailedAt: now,
      lastFailedAt: now,
    });
    const listed = await waitFor(async () => {
      const reply = await call(dlq.processor.url, { path: `/dlq?origin=${origin}&status=scheduled` });
      return (reply.body as { items: { id: string }[] }).items[0];
    }, 'the scheduled entry');
    scheduledId = listed.id;
  });

  afterAll(async () => {
    await sink?.close();
    queueRedis?.disconnect();
    await dlq?.processor.close();
  });

  it(`has at least 40 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('$name → $status $error', async (testCase) => {
    const path = testCase.request.path.replace('(scheduled)', encodeURIComponent(scheduledId));
    const reply = await call(dlq.processor.url, { ...testCase.request, path });
    expectError(reply, testCase);
    expectNoSecret(reply);
  });

  it('after the table: still healthy, the entry untouched, a good request answered', async () => {
    expect((await call(dlq.processor.url, { path: '/health', auth: false })).status).toBe(200);
    const entry = await call(dlq.processor.url, { path: `/dlq/${encodeURIComponent(scheduledId)}` });
    expect(entry.status).toBe(200);
    expect(entry.body).toMatchObject({ id: scheduledId, status: 'scheduled', retries: 0 });
    const bulk = await call(dlq.processor.url, { path: '/dlq/retry', body: { origin } });
    expect(bulk.status, bulk.text).toBe(200);
    expect(bulk.body).toMatchObject({ matched: 0, retried: 0 });
  });
});
