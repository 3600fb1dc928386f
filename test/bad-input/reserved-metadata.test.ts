/**
 * Forged reserved metadata (issue #10): fields only the stack sets (`data.__dlq` and every
 * `__…` data key, job ids in the retry and trigger shapes, `dlqentryid`/`dlqretries` on an
 * event) are refused on every client surface with a 400 naming the field, and nothing is
 * added; on a raw stream entry (no answer to give) they are not believed: the event is
 * handled as any other and claims no DLQ entry.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dlqHandledKey, WORK_QUEUES } from '@event-infra/shared';
import { sampleEventInput, silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { loadConfig as loadEventConfig } from '../../event-system/src/config';
import { startEventProcessor } from '../../event-system/src/service';
import { baseEnv, call, expectError, expectNoSecret, queueInspector, startQueueApi, type ExpectedError, type RequestSpec, useQueueApi } from './support';

const QUEUE = WORK_QUEUES[1] ?? 'async-processing';
const JOB = { name: 'demo.sleep', data: { durationMs: 1 } };
const env = baseEnv();
const jobs = `/jobs/${QUEUE}`;
const TOKEN = 'a'.repeat(32);

interface Case extends ExpectedError {
  name: string;
  request: RequestSpec;
  /** A job id the request would have created: it must not exist afterwards. */
  jobId?: string;
}

const refusedIds: string[] = [];
/** A job with its own fresh id and `data` extended by `extra`. */
function dataCase(name: string, extra: Record<string, unknown>, detailPath: string): Case {
  const jobId = uniqueName('reserved-data');
  refusedIds.push(jobId);
  return { name, request: { path: jobs, body: { ...JOB, data: { ...JOB.data, ...extra }, opts: { jobId } } }, status: 400, error: 'validation_failed', detailPath, jobId };
}

function idCase(name: string, jobId: string): Case {
  refusedIds.push(jobId);
  return { name, request: { path: jobs, body: { ...JOB, opts: { jobId } } }, status: 400, error: 'validation_failed', detailPath: 'opts.jobId', jobId };
}

/** A bulk of four good jobs with `bad` merged into job 2: refused as a whole. */
function bulkCase(name: string, bad: Record<string, unknown>, detailPath: string): Case {
  const ids = Array.from({ length: 4 }, () => uniqueName('reserved-bulk'));
  refusedIds.push(...ids);
  const body = { jobs: ids.map((jobId, index) => (index === 2 ? { ...JOB, ...bad, opts: { ...(bad.opts as object), jobId: (bad.opts as { jobId?: string })?.jobId ?? jobId } } : { ...JOB, opts: { jobId } })) };
  return { name, request: { path: `${jobs}/bulk`, body }, status: 400, error: 'validation_failed', detailPath };
}

function eventCase(name: string, extra: Record<string, unknown>, detailPath: string): Case {
  return { name, request: { path: '/events', body: { ...sampleEventInput('workspace.created'), ...extra } }, status: 400, error: 'validation_failed', detailPath };
}

const cases: Case[] = [
  // --- POST /jobs/:queue: reserved data keys ---
  dataCase('data.__dlq with a full retry claim', { __dlq: { entryId: 'job-x-1-0', retries: 1, token: TOKEN } }, 'data.__dlq'),
  dataCase('data.__dlq with only an entry id', { __dlq: { entryId: 'job-x-1-0' } }, 'data.__dlq'),
  dataCase('data.__dlq a string', { __dlq: 'anything' }, 'data.__dlq'),
  dataCase('data.__dlq null', { __dlq: null }, 'data.__dlq'),
  dataCase('data.__dlq with a forged first failure time', { __dlq: { firstFailedAt: '2000-01-01T00:00:00.000Z' } }, 'data.__dlq'),
  dataCase('another reserved key (__stack)', { __stack: true }, 'data.__stack'),
  dataCase('__proto__ as a data key', JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>, 'data.__proto__'),
  // --- POST /jobs/:queue: job ids in the stack's shapes ---
  idCase('jobId in the retry shape (<id>-dlq-r1)', 'victim-dlq-r1'),
  idCase('jobId in the retry shape with a token part', 'victim-dlq-r2-0123456789abcdef'),
  idCase('jobId with a retry marker in the middle', 'a-dlq-r12-b'),
  idCase('jobId in the trigger shape (evt-<trigger>-<eventId>)', `evt-workspace-jobs-${randomUUID()}`),
  idCase('jobId that is only the trigger prefix', 'evt-'),
  // --- POST /jobs/:queue/bulk: the same, one bad job refuses the whole bulk ---
  bulkCase('bulk: data.__dlq in job 2', { data: { __dlq: { entryId: 'e', retries: 1 } } }, 'jobs.2.data.__dlq'),
  bulkCase('bulk: a reserved __ key in job 2', { data: { __x: 1 } }, 'jobs.2.data.__x'),
  bulkCase('bulk: retry-shaped jobId in job 2', { opts: { jobId: 'victim-dlq-r1' } }, 'jobs.2.opts.jobId'),
  bulkCase('bulk: trigger-shaped jobId in job 2', { opts: { jobId: `evt-t-${randomUUID()}` } }, 'jobs.2.opts.jobId'),
  // --- POST /events: DLQ envelope attributes ---
  eventCase('dlqentryid', { dlqentryid: 'job-x-1-0' }, 'dlqentryid'),
  eventCase('dlqentryid with a token', { dlqentryid: `event-s-g-1-1.${TOKEN}` }, 'dlqentryid'),
  eventCase('dlqretries', { dlqretries: 1 }, 'dlqretries'),
  eventCase('dlqretries 0', { dlqretries: 0 }, 'dlqretries'),
  eventCase('dlqretries as a string', { dlqretries: '3' }, 'dlqretries'),
  eventCase('dlqentryid and dlqretries together', { dlqentryid: 'e', dlqretries: 9 }, 'dlqentryid'),
];

describe('reserved metadata over every client surface', () => {
  const api = useQueueApi(env);

  it(`has at least 20 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('$name → $status naming $detailPath', async (testCase) => {
    const reply = await call(api.processor.url, testCase.request);
    expectError(reply, testCase);
    expectNoSecret(reply);
  });

  it('after the table: no refused job exists and nothing reached the stream', async () => {
    for (const id of refusedIds) expect(await api.inspector.queue(QUEUE).getJob(id), id).toBeUndefined();
    expect(await api.streams.xlen(env.STREAM_NAME!)).toBe(0);
  });

  it('raw stream entries carrying forged DLQ attributes are handled as plain events and claim nothing', async () => {
    const streamEnv = baseEnv({ EVENT_BLOCK_MS: '100' });
    const handled = new Set<string>();
    const events = await startEventProcessor(loadEventConfig(streamEnv), silentLogger(), {
      configure: (router) => router.on('workspace.created', 'reserved-recorder', async (event) => void handled.add(event.id)),
    });
    try {
      const ids: string[] = [];
      for (const extra of [['dlqentryid', 'job-x-1-0'], ['dlqentryid', `job-x-1-0.${TOKEN}`], ['dlqretries', '99']]) {
        const id = randomUUID();
        ids.push(id);
        const data = JSON.stringify({ workspaceId: 'w1', name: 'n', ownerId: 'u1' });
        await api.streams.xadd(streamEnv.STREAM_NAME!, '*', 'id', id, 'type', 'workspace.created', 'source', 'foreign', 'specversion', '1.0', 'time', new Date().toISOString(), 'data', data, ...extra);
      }
      await waitFor(async () => ids.every((id) => handled.has(id)) && ((await api.streams.xpending(streamEnv.STREAM_NAME!, streamEnv.CONSUMER_GROUP!)) as [number])[0] === 0, 'the entries handled');
      // Only a claim with a token shape leaves a record, and the DLQ processor checks that token (it matches nothing here).
      expect(await api.streams.hgetall(dlqHandledKey(streamEnv.CONSUMER_GROUP!))).toEqual({ 'job-x-1-0': TOKEN });
      expect(await api.inspector.queue(streamEnv.DLQ_QUEUE_NAME!).count()).toBe(0);
    } finally {
      await events.close();
      await api.streams.del(dlqHandledKey(streamEnv.CONSUMER_GROUP!));
    }
  });
});
