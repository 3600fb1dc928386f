/**
 * Bad input over the queue processor's HTTP API (8009): one table, each case the exact status
 * and `{error, message, details?}`; afterwards the service still answers and nothing was
 * added by a rejected request (no job id of a rejected bulk exists, the stream did not grow).
 */
import { describe, expect, it } from 'vitest';
import { WORK_QUEUES } from '@event-infra/shared';
import { sampleEventInput, uniqueName } from '@event-infra/testing';
import { baseEnv, call, expectError, expectNoSecret, queueInspector, startQueueApi, type ExpectedError, type RequestSpec, useQueueApi } from './support';

const QUEUE = WORK_QUEUES[1] ?? 'async-processing';
const JOB = { name: 'demo.sleep', data: { durationMs: 1 } };
const env = baseEnv();
const DLQ = env.DLQ_QUEUE_NAME!;

/** A valid bulk whose jobs carry fresh ids, with `bad` merged into job 2. */
function bulkWith(bad: Record<string, unknown>, ids: string[]): { jobs: Record<string, unknown>[] } {
  return {
    jobs: ids.map((jobId, index) => ({ ...JOB, opts: { jobId }, ...(index === 2 ? bad : {}) })),
  };
}

const rejectedBulkIds: string[][] = [];
function freshIds(): string[] {
  const ids = Array.from({ length: 4 }, () => uniqueName('bulk-job'));
  rejectedBulkIds.push(ids);
  return ids;
}

const withOpts = (opts: unknown) => ({ ...JOB, opts });
/** 30,000 nested arrays (60 kB): JSON.parse takes it, JSON.stringify would overflow the stack. */
const DEEP = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
const json = { 'content-type': 'application/json' };
const jobs = `/jobs/${QUEUE}`;

interface Case extends ExpectedError {
  name: string;
  request: RequestSpec;
}

const cases: Case[] = [
  // --- body format ---
  { name: 'malformed JSON', request: { path: jobs, body: '{"name": "demo.sleep",', headers: { 'content-type': 'application/json' } }, status: 400, error: 'invalid_json' },
  { name: 'text/plain body', request: { path: jobs, body: JSON.stringify(JOB), headers: { 'content-type': 'text/plain' } }, status: 415, error: 'unsupported_media_type' },
  { name: 'form-encoded body', request: { path: jobs, body: 'name=demo.sleep', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, error: 'unsupported_media_type' },
  { name: 'JSON body without content type', request: { path: jobs, body: JSON.stringify(JOB), headers: { 'content-type': '' } }, status: 415, error: 'unsupported_media_type' },
  { name: 'empty body', request: { method: 'POST', path: jobs, headers: { 'content-type': 'application/json' } }, status: 400, error: 'validation_failed' },
  { name: 'array instead of object', request: { path: jobs, body: [JOB] }, status: 400, error: 'validation_failed' },
  { name: 'JSON null', request: { path: jobs, body: 'null', headers: { 'content-type': 'application/json' } }, status: 400, error: 'validation_failed' },
  { name: 'JSON string', request: { path: jobs, body: '"demo.sleep"', headers: { 'content-type': 'application/json' } }, status: 400, error: 'validation_failed' },
  { name: 'huge body (over HTTP_BODY_LIMIT)', request: { path: jobs, body: { ...JOB, data: { blob: 'x'.repeat(200_000) } } }, status: 413, error: 'payload_too_large' },
  { name: 'unsupported charset', request: { path: jobs, body: JSON.stringify(JOB), headers: { 'content-type': 'application/json; charset=ebcdic' } }, status: 415, error: 'unsupported_media_type' },
  { name: 'gzip content-encoding on a plain body', request: { path: jobs, body: JOB, headers: { 'content-encoding': 'gzip' } }, status: 400, error: 'validation_failed' },
  { name: 'unknown content-encoding', request: { path: jobs, body: JOB, headers: { 'content-encoding': 'bogus' } }, status: 415, error: 'unsupported_media_type' },
  // --- job body fields ---
  { name: 'name missing', request: { path: jobs, body: { data: {} } }, status: 400, error: 'validation_failed', detailPath: 'name' },
  { name: 'name a number', request: { path: jobs, body: { name: 42 } }, status: 400, error: 'validation_failed', detailPath: 'name' },
  { name: 'name empty', request: { path: jobs, body: { name: '' } }, status: 400, error: 'validation_failed', detailPath: 'name' },
  { name: 'name over 256 chars', request: { path: jobs, body: { name: 'n'.repeat(300) } }, status: 400, error: 'validation_failed', detailPath: 'name' },
  { name: 'data an array', request: { path: jobs, body: { ...JOB, data: [1, 2] } }, status: 400, error: 'validation_failed', detailPath: 'data' },
  { name: 'data a string', request: { path: jobs, body: { ...JOB, data: 'x' } }, status: 400, error: 'validation_failed', detailPath: 'data' },
  { name: 'unknown top-level key', request: { path: jobs, body: { ...JOB, queue: 'other' } }, status: 400, error: 'validation_failed', detailPath: '' },
  { name: 'opts a string', request: { path: jobs, body: withOpts('fast') }, status: 400, error: 'validation_failed', detailPath: 'opts' },
  { name: 'negative delay', request: { path: jobs, body: withOpts({ delay: -1 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.delay' },
  { name: 'fractional delay', request: { path: jobs, body: withOpts({ delay: 1.5 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.delay' },
  { name: 'delay over a year', request: { path: jobs, body: withOpts({ delay: 366 * 86_400_000 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.delay' },
  { name: 'attempts 0', request: { path: jobs, body: withOpts({ attempts: 0 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.attempts' },
  { name: 'attempts a string', request: { path: jobs, body: withOpts({ attempts: '3' }) }, status: 400, error: 'validation_failed', detailPath: 'opts.attempts' },
  { name: 'timeoutMs 0', request: { path: jobs, body: withOpts({ timeoutMs: 0 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.timeoutMs' },
  { name: 'timeoutMs negative', request: { path: jobs, body: withOpts({ timeoutMs: -100 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.timeoutMs' },
  { name: 'timeoutMs Infinity-like huge', request: { path: jobs, body: withOpts({ timeoutMs: 1e308 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.timeoutMs' },
  { name: 'jobId a number', request: { path: jobs, body: withOpts({ jobId: 123 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.jobId' },
  { name: 'jobId with ":"', request: { path: jobs, body: withOpts({ jobId: 'a:b' }) }, status: 400, error: 'validation_failed', detailPath: 'opts.jobId' },
  { name: 'jobId a bare integer string', request: { path: jobs, body: withOpts({ jobId: '42' }) }, status: 400, error: 'validation_failed', detailPath: 'opts.jobId' },
  { name: 'jobId empty', request: { path: jobs, body: withOpts({ jobId: '' }) }, status: 400, error: 'validation_failed', detailPath: 'opts.jobId' },
  { name: 'jobId over 256 chars', request: { path: jobs, body: withOpts({ jobId: 'j'.repeat(257) }) }, status: 400, error: 'validation_failed', detailPath: 'opts.jobId' },
  { name: 'priority negative', request: { path: jobs, body: withOpts({ priority: -1 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.priority' },
  { name: 'priority over 2097151', request: { path: jobs, body: withOpts({ priority: 2_097_152 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.priority' },
  { name: 'priority a string', request: { path: jobs, body: withOpts({ priority: 'high' }) }, status: 400, error: 'validation_failed', detailPath: 'opts.priority' },
  { name: 'unknown opts key', request: { path: jobs, body: withOpts({ removeOnComplete: true }) }, status: 400, error: 'validation_failed', detailPath: 'opts' },
  { name: 'backoff of unknown type', request: { path: jobs, body: withOpts({ backoff: { type: 'linear', delay: 10 } }) }, status: 400, error: 'validation_failed', detailPath: 'opts.backoff' },
  { name: 'backoff negative', request: { path: jobs, body: withOpts({ backoff: -5 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.backoff' },
  { name: 'data nested 30,000 levels deep', request: { path: jobs, body: `{"name":"demo.sleep","data":{"a":${DEEP}}}`, headers: json }, status: 400, error: 'validation_failed', message: /nested deeper than 64/ },
  // --- bounds of job options (JOB_MAX_*, MAX_JOB_DURATION: defaults, MAX_JOB_DURATION=60) ---
  { name: 'attempts over JOB_MAX_ATTEMPTS', request: { path: jobs, body: withOpts({ attempts: 26 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.attempts', message: /opts\.attempts must be at most 25 \(JOB_MAX_ATTEMPTS\)/ },
  { name: 'attempts 1000', request: { path: jobs, body: withOpts({ attempts: 1000 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.attempts' },
  { name: 'fixed backoff over JOB_MAX_BACKOFF_DELAY_MS', request: { path: jobs, body: withOpts({ backoff: 3_600_001 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.backoff', message: /JOB_MAX_BACKOFF_DELAY_MS/ },
  { name: 'backoff.delay 2^53-1', request: { path: jobs, body: withOpts({ backoff: { type: 'exponential', delay: 2 ** 53 - 1 } }) }, status: 400, error: 'validation_failed', detailPath: 'opts.backoff.delay', message: /at most 3600000/ },
  { name: 'backoff.delay fixed 1e12', request: { path: jobs, body: withOpts({ backoff: { type: 'fixed', delay: 1e12 } }) }, status: 400, error: 'validation_failed', detailPath: 'opts.backoff.delay' },
  { name: 'delay over JOB_MAX_DELAY_MS (7 days)', request: { path: jobs, body: withOpts({ delay: 7 * 86_400_000 + 1 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.delay', message: /JOB_MAX_DELAY_MS/ },
  { name: 'timeoutMs over MAX_JOB_DURATION', request: { path: jobs, body: withOpts({ timeoutMs: 60_001 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.timeoutMs', message: /at most 60000 \(MAX_JOB_DURATION\)/ },
  { name: 'timeoutMs ten hours', request: { path: jobs, body: withOpts({ timeoutMs: 10 * 3_600_000 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.timeoutMs' },
  { name: 'attempts 10 with the default exponential backoff (60 s × 2^8)', request: { path: jobs, body: withOpts({ attempts: 10 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.attempts', message: /longest wait must be at most 3600000/ },
  { name: 'exponential base 1 h with 3 attempts (2 h before the last)', request: { path: jobs, body: withOpts({ attempts: 3, backoff: { type: 'exponential', delay: 3_600_000 } }) }, status: 400, error: 'validation_failed', detailPath: 'opts.backoff.delay' },
  { name: 'two options over their bounds', request: { path: jobs, body: withOpts({ attempts: 100, delay: 30 * 86_400_000 }) }, status: 400, error: 'validation_failed', detailPath: 'opts.delay' },
  { name: 'bulk job over a bound', request: { path: `${jobs}/bulk`, body: bulkWith({ opts: { attempts: 500 } }, freshIds()) }, status: 400, error: 'validation_failed', detailPath: 'jobs.2.opts.attempts' },
  { name: 'bulk naming one jobId twice', request: { path: `${jobs}/bulk`, body: { jobs: [withOpts({ jobId: 'twice-a' }), withOpts({ jobId: 'once' }), withOpts({ jobId: 'twice-a' })] } }, status: 400, error: 'validation_failed', detailPath: 'jobs', message: /"twice-a"/ },
  { name: 'bulk naming two ids twice', request: { path: `${jobs}/bulk`, body: { jobs: ['x1', 'x2', 'x1', 'x2'].map((jobId) => withOpts({ jobId })) } }, status: 400, error: 'validation_failed', message: /"x1", "x2"/ },
  // --- queue and handler ---
  { name: 'unknown queue', request: { path: '/jobs/no-such-queue', body: JOB }, status: 404, error: 'unknown_queue' },
  { name: 'DLQ queue is not writable', request: { path: `/jobs/${DLQ}`, body: JOB }, status: 403, error: 'forbidden_queue' },
  { name: 'unknown handler', request: { path: jobs, body: { name: 'no.such.handler' } }, status: 422, error: 'no_handler' },
  { name: 'unicode handler name', request: { path: jobs, body: { name: 'démo.😀.sleep' } }, status: 422, error: 'no_handler' },
  { name: 'control characters in name', request: { path: jobs, body: { name: 'demo.sleep\u0000\u001b[31m' } }, status: 422, error: 'no_handler' },
  { name: 'queue name with traversal', request: { path: '/jobs/..%2F..%2Fetc', body: JOB }, status: 404, error: 'unknown_queue' },
  // --- bulk ---
  { name: 'bulk over 1000 jobs', request: { path: `${jobs}/bulk`, body: { jobs: Array.from({ length: 1001 }, () => JOB) } }, status: 400, error: 'validation_failed', detailPath: 'jobs' },
  { name: 'bulk empty', request: { path: `${jobs}/bulk`, body: { jobs: [] } }, status: 400, error: 'validation_failed', detailPath: 'jobs' },
  { name: 'bulk as a bare array', request: { path: `${jobs}/bulk`, body: [JOB] }, status: 400, error: 'validation_failed' },
  { name: 'bulk with one bad job (schema)', request: { path: `${jobs}/bulk`, body: bulkWith({ opts: { delay: -1 } }, freshIds()) }, status: 400, error: 'validation_failed', detailPath: 'jobs.2.opts.delay' },
  { name: 'bulk with one unknown handler', request: { path: `${jobs}/bulk`, body: bulkWith({ name: 'nope' }, freshIds()) }, status: 422, error: 'no_handler', message: /jobs\[2\]/ },
  { name: 'bulk to the DLQ queue', request: { path: `/jobs/${DLQ}/bulk`, body: { jobs: [JOB] } }, status: 403, error: 'forbidden_queue' },
  { name: 'bulk malformed JSON', request: { path: `${jobs}/bulk`, body: '{"jobs": [', headers: { 'content-type': 'application/json' } }, status: 400, error: 'invalid_json' },
  // --- reading and cancelling by id ---
  { name: 'unknown job id', request: { path: `${jobs}/no-such-job` }, status: 404, error: 'not_found' },
  { name: 'path traversal in :id', request: { path: `${jobs}/..%2F..%2F..%2Fetc%2Fpasswd` }, status: 404, error: 'not_found' },
  { name: 'very long id', request: { path: `${jobs}/${'x'.repeat(4000)}` }, status: 404, error: 'not_found' },
  { name: 'NUL and unicode in :id', request: { path: `${jobs}/${encodeURIComponent('a\u0000b😀')}` }, status: 404, error: 'not_found' },
  { name: 'malformed percent-encoding in :id', request: { path: `${jobs}/%E0%A4%A` }, status: 400, error: 'validation_failed' },
  { name: 'unknown id in the DLQ queue (read allowed)', request: { path: `/jobs/${DLQ}/nope` }, status: 404, error: 'not_found' },
  { name: 'cancel of an unknown id', request: { method: 'DELETE', path: `${jobs}/no-such-job` }, status: 404, error: 'not_found' },
  { name: 'cancel in the DLQ queue', request: { method: 'DELETE', path: `/jobs/${DLQ}/x` }, status: 403, error: 'forbidden_queue' },
  { name: 'unknown route under /jobs', request: { method: 'PUT', path: jobs, body: JOB }, status: 404, error: 'not_found' },
  // --- events ---
  { name: 'event without type', request: { path: '/events', body: { data: {} } }, status: 400, error: 'validation_failed', detailPath: 'type' },
  { name: 'event type a number', request: { path: '/events', body: { type: 7, data: {} } }, status: 400, error: 'validation_failed', detailPath: 'type' },
  { name: 'event type not dotted lowercase', request: { path: '/events', body: { type: 'Workspace Created', data: {} } }, status: 400, error: 'validation_failed' },
  { name: 'event of an unknown family', request: { path: '/events', body: { type: 'billing.charged', data: {} } }, status: 400, error: 'validation_failed', message: /famil/ },
  { name: 'event of an unknown type', request: { path: '/events', body: { type: 'user.exploded', data: {} } }, status: 400, error: 'validation_failed', message: /type/ },
  { name: 'event data invalid for its type', request: { path: '/events', body: { type: 'workspace.created', data: { name: 5 } } }, status: 400, error: 'validation_failed' },
  { name: 'event data an array', request: { path: '/events', body: { type: 'workspace.created', data: [] } }, status: 400, error: 'validation_failed', detailPath: 'data' },
  { name: 'event with id', request: { path: '/events', body: { ...sampleEventInput(), id: '6b1c9f2e-1f0a-4c3e-9b7a-2d4e5f6a7b8c' } }, status: 400, error: 'validation_failed', detailPath: 'id' },
  { name: 'event with time', request: { path: '/events', body: { ...sampleEventInput(), time: new Date().toISOString() } }, status: 400, error: 'validation_failed', detailPath: 'time' },
  { name: 'event with specversion 2.0', request: { path: '/events', body: { ...sampleEventInput(), specversion: '2.0' } }, status: 400, error: 'validation_failed' },
  { name: 'event data nested 30,000 levels deep', request: { path: '/events', body: `{"type":"workspace.updated","data":{"workspaceId":"w1","changes":{"a":${DEEP}}}}`, headers: json }, status: 400, error: 'validation_failed', message: /nested deeper than 64/ },
  { name: 'event with source (server-set)', request: { path: '/events', body: { ...sampleEventInput(), source: 'queue-processor' } }, status: 400, error: 'validation_failed', detailPath: 'source', message: /assigned by the server/ },
  { name: 'event with an empty source', request: { path: '/events', body: { ...sampleEventInput(), source: '' } }, status: 400, error: 'validation_failed', detailPath: 'source' },
  { name: 'forged job.dead-lettered', request: { path: '/events', body: { type: 'job.dead-lettered', data: { queue: QUEUE, jobId: 'x', name: 'demo.sleep', error: 'forged', attempts: 1 } } }, status: 400, error: 'validation_failed', detailPath: 'type', message: /published by the stack only/ },
  { name: 'forged job.completed', request: { path: '/events', body: { type: 'job.completed', data: { queue: QUEUE, jobId: 'x', name: 'demo.sleep' } } }, status: 400, error: 'validation_failed', detailPath: 'type' },
  { name: 'forged job.retried', request: { path: '/events', body: { type: 'job.retried', data: {} } }, status: 400, error: 'validation_failed', detailPath: 'type' },
  // --- Bull Board write routes (read-only by default; no admin credentials in this suite) ---
  { name: 'board add (ADMIN_READONLY)', request: { path: `/admin/queues/api/queues/${QUEUE}/add`, body: JOB }, status: 403, error: 'forbidden_queue', message: /ADMIN_READONLY/ },
  { name: 'board pause (ADMIN_READONLY)', request: { method: 'PUT', path: `/admin/queues/api/queues/${QUEUE}/pause` }, status: 403, error: 'forbidden_queue' },
  { name: 'board pause all (ADMIN_READONLY)', request: { method: 'PUT', path: '/admin/queues/api/queues/pause' }, status: 403, error: 'forbidden_queue' },
  { name: 'board obliterate (ADMIN_READONLY)', request: { method: 'PUT', path: `/admin/queues/api/queues/${QUEUE}/obliterate` }, status: 403, error: 'forbidden_queue' },
  { name: 'board clean (ADMIN_READONLY)', request: { method: 'PUT', path: `/admin/queues/api/queues/${QUEUE}/clean/completed` }, status: 403, error: 'forbidden_queue' },
  { name: 'board update-data (ADMIN_READONLY)', request: { method: 'PATCH', path: `/admin/queues/api/queues/${QUEUE}/x/update-data`, body: { jobData: {} } }, status: 403, error: 'forbidden_queue' },
  { name: 'board add to the DLQ queue', request: { path: `/admin/queues/api/queues/${DLQ}/add`, body: JOB }, status: 403, error: 'forbidden_queue' },
  { name: 'event as an array', request: { path: '/events', body: [sampleEventInput()] }, status: 400, error: 'validation_failed' },
  { name: 'event malformed JSON', request: { path: '/events', body: '{type:', headers: { 'content-type': 'application/json' } }, status: 400, error: 'invalid_json' },
  // --- authorization ---
  { name: 'no Authorization', request: { path: jobs, body: JOB, auth: false }, status: 401, error: 'unauthorized' },
  { name: 'wrong key', request: { path: jobs, body: JOB, auth: false, headers: { authorization: 'Bearer wrong-key' } }, status: 401, error: 'unauthorized' },
  { name: 'Bearer without a key', request: { path: jobs, body: JOB, auth: false, headers: { authorization: 'Bearer' } }, status: 401, error: 'unauthorized' },
  { name: 'Basic instead of Bearer', request: { path: jobs, body: JOB, auth: false, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }, status: 401, error: 'unauthorized' },
  { name: 'auth checked before the body', request: { path: jobs, body: '{bad', auth: false, headers: { 'content-type': 'application/json' } }, status: 401, error: 'unauthorized' },
  { name: 'events without Authorization', request: { path: '/events', body: sampleEventInput(), auth: false }, status: 401, error: 'unauthorized' },
  { name: 'job read without Authorization', request: { path: `${jobs}/x`, auth: false }, status: 401, error: 'unauthorized' },
];

describe('queue processor (8009): bad input', () => {
  const api = useQueueApi(env);

  it(`has at least 100 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(cases)('$name → $status $error', async (testCase) => {
    const reply = await call(api.processor.url, testCase.request);
    expectError(reply, testCase);
    expectNoSecret(reply);
  });

  it('a timeoutMs of exactly MAX_JOB_DURATION is accepted and stored as given', async () => {
    const jobId = uniqueName('at-bound');
    const reply = await call(api.processor.url, { path: jobs, body: withOpts({ jobId, timeoutMs: 60_000 }) });
    expect(reply.status, reply.text).toBe(201);
    const view = await call(api.processor.url, { path: `${jobs}/${jobId}` });
    expect(view.status).toBe(200);
    expect((view.body as { opts: { timeoutMs: number } }).opts.timeoutMs).toBe(60_000);
    await api.inspector.queue(QUEUE).remove(jobId);
  });

  it('unicode and control characters in data round-trip unchanged', async () => {
    const jobId = uniqueName('unicode');
    const data = { durationMs: 1, text: 'zß水🀄\u0000\u0007\u202e', nested: { '\u0000key': ['\ud83d\ude00'] } };
    const reply = await call(api.processor.url, { path: jobs, body: { name: 'demo.sleep', data, opts: { jobId, delay: 3_600_000 } } });
    expect(reply.status, reply.text).toBe(201);
    const job = await api.inspector.queue(QUEUE).getJob(jobId);
    expect(job?.data).toEqual({ ...data, __trace: { correlationId: expect.any(String) } });
    await api.inspector.queue(QUEUE).remove(jobId);
  });

  it('a rejected bulk leaves the queue counts unchanged', async () => {
    const counts = () => api.inspector.queue(QUEUE).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    const before = await counts();
    const ids = freshIds();
    const reply = await call(api.processor.url, { path: `${jobs}/bulk`, body: bulkWith({ opts: { jobId: ids[2], priority: -3 } }, ids) });
    expectError(reply, { status: 400, error: 'validation_failed', detailPath: 'jobs.2.opts.priority' });
    const late = await call(api.processor.url, { path: `${jobs}/bulk`, body: { jobs: [...bulkWith({}, ids).jobs, { name: 'no.such.handler' }] } });
    expectError(late, { status: 422, error: 'no_handler' });
    expect(await counts()).toEqual(before);
  });

  it('after the table: still healthy, no job of a rejected bulk exists, nothing reached the stream or the DLQ queue', async () => {
    const health = await call(api.processor.url, { path: '/health', auth: false });
    expect(health.status).toBe(200);
    expect(rejectedBulkIds.length).toBe(4);
    for (const id of rejectedBulkIds.flat()) expect(await api.inspector.queue(QUEUE).getJob(id), id).toBeUndefined();
    expect(await api.streams.xlen(env.STREAM_NAME!)).toBe(0);
    const dlqCounts = await api.inspector.queue(DLQ).getJobCounts();
    expect(Object.values(dlqCounts).reduce((sum, count) => sum + count, 0)).toBe(0);
    // The API still accepts a good job and a good event after all of that.
    const event = await call(api.processor.url, { path: '/events', body: sampleEventInput() });
    expect(event.status, event.text).toBe(202);
    expect(await api.streams.xlen(env.STREAM_NAME!)).toBe(1);
  });
});
