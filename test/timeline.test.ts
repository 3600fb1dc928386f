/**
 * Issue #15 end to end, in local mode (real redis-server processes, the three services as
 * real child processes): one event → a trigger job that fails twice, is dead-lettered
 * (parked: DLQ_MAX_RETRIES=0), retried by an operator and succeeds. `GET /timeline` lists
 * every step in causal order with the right causes, by correlation id, event id and job id;
 * the job's lifecycle events on the stream carry the correlation too. With
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at a real OTLP/HTTP receiver on loopback, the caller's
 * `traceparent` starts one trace that covers the HTTP intake, the publish, the processing, every
 * attempt, the DLQ's handling and the operator's retry.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ROLES, fieldsToRecord, waitForAll, type RedisClient, type Timeline, type TimelineStep } from '@event-infra/shared';
import { silentLogger, startOtlpReceiver, waitFor, type OtlpReceiver, type ReceivedSpan } from '@event-infra/testing';
import { ROOT, STACK, run, stackClient, stackEnv, stackUp } from './support/stack-runner';

const CORRELATION = `order-${Math.random().toString(36).slice(2)}`;
const TRACE_ID = randomBytes(16).toString('hex');
const CALLER_TRACEPARENT = `00-${TRACE_ID}-${randomBytes(8).toString('hex')}-01`;

describe('timeline of one event through a failing trigger job, the DLQ and a retry', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let streams: RedisClient | undefined;
  let flag: string;
  let otlp: OtlpReceiver;
  const api = () => `http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}`;
  const dlqApi = () => `http://127.0.0.1:${env.DLQ_PROCESSOR_PORT}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-timeline-'));
    otlp = await startOtlpReceiver();
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
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      LOG_LEVEL: 'warn',
    });
    await stackUp(env);
    streams = stackClient(env, REDIS_ROLES.streams, 'producer', silentLogger());
    await waitForAll({ streams }, 10_000);
  }, 240_000);

  afterAll(async () => {
    streams?.disconnect();
    if (env) {
      const down = await run('bash', [STACK, 'down'], env, 90_000);
      expect(down.code, down.stderr).toBe(0);
    }
    await otlp?.close();
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
      headers: { ...headers(), 'x-correlation-id': CORRELATION, traceparent: CALLER_TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7' },
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
    const handled = steps.find((step) => step.kind === 'event.handled' && step.subject === eventId);
    expect(handled?.detail?.deliveries).toBe(1);
    expect(handled?.detail?.consumer).toEqual(expect.any(String));
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
    // ... and the trace: the W3C extension attributes, in the caller's trace.
    for (const fields of failed) {
      expect(fields.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
      expect(fields.tracestate).toBe('rojo=00f067aa0ba902b7');
    }

    // One trace over everything, exported by the three services (BatchSpanProcessor: 1 s delay).
    let names: string[] = [];
    const trace = await waitFor(async () => {
      const spans = otlp.spans.filter((span) => span.traceId === TRACE_ID);
      names = spans.map((span) => `${span.service}:${span.name}`);
      const attempts = spans.filter((span) => span.name.startsWith('job event-driven-jobs '));
      return attempts.length >= 3 && spans.some((span) => span.name === 'dlq retry') ? spans : undefined;
    }, 'the whole trace at the OTLP receiver', { timeoutMs: 30_000, intervalMs: 200 }).catch((caught: unknown) => {
      throw new Error(`${String(caught)}; spans so far: ${JSON.stringify(names)}`);
    });
    const one = (name: string, service: string): ReceivedSpan => {
      const found = trace.filter((span) => span.name === name && span.service === service);
      expect(found, `${service}:${name} in ${JSON.stringify(names)}`).toHaveLength(1);
      return found[0]!;
    };
    const intake = one('POST /events', 'queue-processor');
    expect(intake.parentSpanId).toBe(CALLER_TRACEPARENT.split('-')[2]);
    const publish = one('publish workspace.created', 'queue-processor');
    expect(publish.parentSpanId).toBe(intake.spanId);
    const processed = one('process workspace.created', 'event-processor');
    expect(processed.parentSpanId).toBe(publish.spanId);
    const batch = otlp.spans.find((span) => span.service === 'event-processor' && span.name.startsWith('process batch ') && span.links.some((link) => link.spanId === publish.spanId));
    expect(batch, 'a batch span linked to the event').toBeDefined();
    const attempts = trace.filter((span) => span.name === 'job event-driven-jobs test.until-file');
    expect(attempts).toHaveLength(3);
    const received = one('dlq receive', 'dlq-processor');
    const retried = one('dlq retry', 'dlq-processor');
    // The trigger job's two failed attempts are children of the event's processing ...
    const original = attempts.filter((span) => span.parentSpanId === processed.spanId).sort((a, b) => Number(a.attributes['job.attempt']) - Number(b.attributes['job.attempt']));
    expect(original.map((span) => [span.attributes['job.attempt'], span.statusCode])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    // ... the DLQ received the last one's failure, the operator's retry continues from there ...
    expect(received.parentSpanId).toBe(original[1]!.spanId);
    expect(retried.parentSpanId).toBe(original[1]!.spanId);
    // ... and the retry job's successful attempt is the retry's child.
    const again = attempts.filter((span) => span.parentSpanId === retried.spanId);
    expect(again.map((span) => [span.attributes['job.attempt'], span.statusCode])).toEqual([[1, 0]]);
    expect(otlp.rejected).toBe(0);
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
