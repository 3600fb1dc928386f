/**
 * Issue #15 end to end, in local mode (real redis-server processes, the three services as
 * real child processes): one event → a trigger job that fails twice, is dead-lettered
 * (parked: DLQ_MAX_RETRIES=0), retried by an operator and succeeds. `GET /timeline` lists
 * every step in causal order with the right causes, by correlation id, event id and job id;
 * the job's lifecycle events on the stream carry the correlation too.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ROLES, fieldsToRecord, waitForAll, type RedisClient, type Timeline, type TimelineStep } from '@event-infra/shared';
import { silentLogger, waitFor } from '@event-infra/testing';
import { ROOT, STACK, run, stackClient, stackEnv } from './support/stack-runner';

const CORRELATION = `order-${Math.random().toString(36).slice(2)}`;

describe('timeline of one event through a failing trigger job, the DLQ and a retry', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let streams: RedisClient | undefined;
  let flag: string;
  const api = () => `http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}`;
  const dlqApi = () => `http://127.0.0.1:${env.DLQ_PROCESSOR_PORT}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-timeline-'));
    flag = join(dir, 'recovered.flag');
    const triggers = join(dir, 'triggers.json');
    writeFileSync(
      triggers,
      JSON.stringify({
        triggers: [
          {
            name: 'until-file',
            on: 'workspace.created',
            job: 'test.until-file',
            include: 'none',
            data: { flag },
            opts: { attempts: 2, backoff: { type: 'fixed', delay: 50 } },
          },
        ],
      }),
    );
    env = await stackEnv(dir, {
      EVENT_TRIGGERS_FILE: triggers,
      JOB_HANDLERS_MODULE: join(ROOT, 'test/fixtures/timeline-handlers.mjs'),
      DLQ_MAX_RETRIES: '0',
      API_KEY: 'timeline-test-key',
      TIMELINE_ENABLED: 'true',
      LOG_LEVEL: 'warn',
    });
    const up = await run('bash', [STACK, 'up'], env, 180_000);
    if (up.code !== 0) {
      await run('bash', [STACK, 'down'], env, 90_000);
      throw new Error(`stack.sh up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
    }
    streams = stackClient(env, REDIS_ROLES.streams, 'producer', silentLogger());
    await waitForAll({ streams }, 10_000);
  }, 240_000);

  afterAll(async () => {
    streams?.disconnect();
    if (env) {
      const down = await run('bash', [STACK, 'down'], env, 90_000);
      expect(down.code, down.stderr).toBe(0);
    }
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const headers = () => ({ authorization: 'Bearer timeline-test-key', 'content-type': 'application/json' });
  const timeline = async (query: string): Promise<{ status: number; body: Timeline }> => {
    const res = await fetch(`${api()}/timeline?${query}`, { headers: headers() });
    return { status: res.status, body: (await res.json()) as Timeline };
  };

  it('lists every step in order with its cause', async () => {
    const published = await fetch(`${api()}/events`, {
      method: 'POST',
      headers: { ...headers(), 'x-correlation-id': CORRELATION },
      body: JSON.stringify({ type: 'workspace.created', data: { workspaceId: 'w1', name: 'Acme', ownerId: 'u1' } }),
    });
    expect(published.status).toBe(202);
    expect(published.headers.get('x-correlation-id')).toBe(CORRELATION);
    const { id: eventId, correlationid } = (await published.json()) as { id: string; correlationid: string };
    expect(correlationid).toBe(CORRELATION);

    // Dead-lettered and parked after two attempts.
    const entry = await waitFor(async () => {
      const res = await fetch(`${dlqApi()}/dlq?status=parked`, { headers: headers() });
      const body = (await res.json()) as { items: { id: string; status: string }[] };
      return body.items[0];
    }, 'a parked DLQ entry', { timeoutMs: 60_000, intervalMs: 200 });
    writeFileSync(flag, 'ok');
    expect(existsSync(flag)).toBe(true);
    const retry = await fetch(`${dlqApi()}/dlq/${encodeURIComponent(entry.id)}/retry`, { method: 'POST', headers: headers() });
    expect(retry.status).toBe(202);

    let lastSeen: string[] = [];
    const done = await waitFor(async () => {
      const { status, body } = await timeline(`correlationid=${CORRELATION}`);
      lastSeen = status === 200 ? body.steps.map((step) => step.kind) : [String(status)];
      return status === 200 && body.steps.some((step) => step.kind === 'dlq.recovered') ? body : undefined;
    }, 'the recovered step in the timeline', { timeoutMs: 120_000, intervalMs: 200 }).catch((caught: unknown) => {
      throw new Error(`${String(caught)}; steps so far: ${JSON.stringify(lastSeen)}`);
    });

    const steps = done.steps;
    const triggerJob = steps.find((step) => step.kind === 'job.created')!;
    expect(triggerJob.cause).toBe(eventId);
    const jobSubject = triggerJob.subject;
    expect(jobSubject).toMatch(/^job:event-driven-jobs:evt-until-file-/);
    const at = (predicate: (step: TimelineStep) => boolean, label: string): number => {
      const index = steps.findIndex(predicate);
      expect(index, `${label} in ${JSON.stringify(steps.map((step) => step.kind))}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    const attempt = (kind: string, n: number, subject = jobSubject) => (step: TimelineStep) =>
      step.kind === kind && step.subject === subject && step.detail?.attempt === n;
    const order = [
      at((step) => step.kind === 'event.published' && step.subject === eventId, 'published'),
      at((step) => step.kind === 'job.created', 'job created'),
      at(attempt('job.started', 1), 'attempt 1 start'),
      at(attempt('job.failed', 1), 'attempt 1 failed'),
      at(attempt('job.started', 2), 'attempt 2 start'),
      at(attempt('job.failed', 2), 'attempt 2 failed'),
      at((step) => step.kind === 'job.dead-lettered' && step.subject === jobSubject, 'dead-lettered'),
      at((step) => step.kind === 'dlq.received' && step.subject === entry.id, 'dlq received'),
      at((step) => step.kind === 'dlq.transition' && step.detail?.transition === 'startRetry', 'operator retry'),
      at((step) => step.kind === 'job.completed' && step.cause === entry.id, 'retry job completed'),
      at((step) => step.kind === 'dlq.recovered' && step.subject === entry.id, 'recovered'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(steps.find((step) => step.kind === 'event.handled' && step.subject === eventId)?.detail?.deliveries).toBe(1);
    expect(steps[order[7]!]!.cause).toBe(jobSubject);
    expect(steps[order[7]!]!.detail?.status).toBe('parked');
    for (const n of [1, 2]) expect(steps.find(attempt('job.started', n))!.cause).toBe(eventId);
    expect(steps.find((step) => step.kind === 'job.started' && step.cause === entry.id)).toBeDefined();
    expect(done.omittedSteps).toBe(0);
    expect(done.totalSteps).toBe(steps.length);

    // The same timeline by event id and by job id.
    expect((await timeline(`eventId=${eventId}`)).body.correlationId).toBe(CORRELATION);
    const [, queue, jobId] = /^job:([^:]+):(.+)$/.exec(jobSubject)!;
    expect((await timeline(`jobId=${encodeURIComponent(jobId!)}&queue=${queue}`)).body.correlationId).toBe(CORRELATION);

    // The job's lifecycle events carry its correlation and cause.
    const failed = (await streams!.xrange(env.STREAM_NAME ?? 'pyairtable-events', '-', '+'))
      .map(([, fields]) => fieldsToRecord(fields))
      .filter((fields) => fields.type === 'job.failed');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    for (const fields of failed) expect([fields.correlationid, fields.causationid]).toEqual([CORRELATION, eventId]);
  }, 240_000);

  it('answers 404 for an unknown correlation, 400 for a bad query, 401 without the key', async () => {
    expect((await timeline('correlationid=never-seen')).status).toBe(404);
    expect((await timeline('correlationid=a&eventId=b')).status).toBe(400);
    expect((await timeline('jobId=1')).status).toBe(400);
    expect((await fetch(`${api()}/timeline?correlationid=${CORRELATION}`)).status).toBe(401);
    const bad = await fetch(`${api()}/events`, {
      method: 'POST',
      headers: { ...headers(), 'x-correlation-id': 'has space' },
      body: JSON.stringify({ type: 'workspace.created', data: { workspaceId: 'w1', name: 'Acme', ownerId: 'u1' } }),
    });
    expect(bad.status).toBe(400);
  });
});
