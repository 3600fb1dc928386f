/**
 * The queue processor's side of issue #15 over real HTTP and Redis: the W3C headers on
 * `POST /jobs` (and `/bulk`) and `POST /events` (kept unchanged when valid, ignored when not,
 * never an error; refused in the event body), the job's `__trace` and the stream entry carrying
 * them; with tracing off a request without a valid caller context gets NONE (nothing minted: no
 * field on the entry, none in `__trace`, none in the answer), with tracing on (a real OTLP/HTTP
 * receiver on loopback) the server span starts a root trace that the job and the event carry;
 * and the timeline's bounded progress milestones (each of 0/25/50/75/100 % at most once per
 * attempt, not every report).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_TRACE_KEY, TRACEPARENT_PATTERN, traceIdOf, type Timeline } from '@event-infra/shared';
import { startOtlpReceiver, waitFor, type OtlpReceiver } from '@event-infra/testing';
import { processorPerFile, request } from './support/processor';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const EVENT = { type: 'workspace.created', data: { workspaceId: 'w1', name: 'Acme', ownerId: 'u1' } };
/** The fields of a `POST /events` entry without trace context: the envelope's, as before the trace-context extension. */
const UNTRACED_EVENT_FIELDS = ['correlationid', 'data', 'id', 'source', 'specversion', 'time', 'type'];
/** Caller headers that carry no valid trace context. */
const NO_CALLER_CONTEXT: [string, Record<string, string>][] = [
  ['no header', {}],
  ['a malformed traceparent', { traceparent: '00-xyz', tracestate: 'rojo=1' }],
  ['version ff', { traceparent: CALLER.replace(/^00/, 'ff') }],
  ['a tracestate alone', { tracestate: 'rojo=1' }],
];

/** Field name → value of the stream entry holding event `id`. */
async function streamFields(started: ReturnType<typeof processorPerFile>, id: string): Promise<Record<string, string>> {
  const entries = await started.inspect.connection.xrange(started.app.env.STREAM_NAME!, '-', '+');
  for (const [, flat] of entries) {
    const fields: Record<string, string> = {};
    for (let at = 0; at < flat.length; at += 2) fields[flat[at]!] = flat[at + 1]!;
    if (fields.id === id) return fields;
  }
  throw new Error(`no stream entry for event ${id}`);
}

describe('trace context and timeline milestones', () => {
  const started = processorPerFile({ TIMELINE_ENABLED: 'true', LONG_RUNNING_JOBS_ENABLED: 'false', PUBLISH_EVENTS: 'false' });

  const traceOf = async (id: string) => ((await started.inspect.queue('async-processing').getJob(id))?.data as Record<string, unknown>)[JOB_TRACE_KEY] as Record<string, unknown>;

  it("keeps a valid caller's traceparent and tracestate in the job's __trace", async () => {
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', {
      body: { name: 'demo.sleep', data: { durationMs: 1 } },
      headers: { traceparent: CALLER, tracestate: 'rojo=1, congo=2' },
    });
    expect(created.status).toBe(201);
    expect(created.body.traceparent).toBe(CALLER);
    expect(await traceOf(created.body.id)).toMatchObject({ traceparent: CALLER, tracestate: 'rojo=1,congo=2' });
  });

  it.each(NO_CALLER_CONTEXT)('tracing off, %s: the job, its __trace and the answer carry no trace context', async (_name, headers) => {
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', { body: { name: 'demo.sleep', data: { durationMs: 1 } }, headers });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('traceparent');
    expect(Object.keys(await traceOf(created.body.id))).toEqual(['correlationId']);
  });

  it('tracing off: /bulk without caller context carries none, with one carries it unchanged to every job', async () => {
    const jobs = [{ name: 'demo.sleep', data: { durationMs: 1 } }, { name: 'demo.sleep', data: { durationMs: 1 } }];
    const bare = await request(started.app.url, 'POST', '/jobs/async-processing/bulk', { body: { jobs } });
    expect(bare.status).toBe(201);
    expect(bare.body).not.toHaveProperty('traceparent');
    for (const { id } of bare.body.jobs as { id: string }[]) expect(Object.keys(await traceOf(id))).toEqual(['correlationId']);
    const traced = await request(started.app.url, 'POST', '/jobs/async-processing/bulk', { body: { jobs }, headers: { traceparent: CALLER, tracestate: 'rojo=1' } });
    expect(traced.status).toBe(201);
    expect(traced.body.traceparent).toBe(CALLER);
    for (const { id } of traced.body.jobs as { id: string }[]) expect(await traceOf(id)).toEqual({ correlationId: expect.any(String), traceparent: CALLER, tracestate: 'rojo=1' });
  });

  it.each(NO_CALLER_CONTEXT)('tracing off, %s: POST /events writes the untraced field set and answers no traceparent', async (_name, headers) => {
    const accepted = await request(started.app.url, 'POST', '/events', { body: EVENT, headers });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ id: expect.any(String), correlationid: accepted.body.id });
    expect(Object.keys(await streamFields(started, accepted.body.id)).sort()).toEqual(UNTRACED_EVENT_FIELDS);
  });

  it("tracing off: POST /events carries a caller's context unchanged onto the stream entry", async () => {
    const accepted = await request(started.app.url, 'POST', '/events', { body: EVENT, headers: { traceparent: CALLER, tracestate: 'rojo=1, congo=2' } });
    expect(accepted.status).toBe(202);
    expect(accepted.body.traceparent).toBe(CALLER);
    const fields = await streamFields(started, accepted.body.id);
    expect(Object.keys(fields).sort()).toEqual([...UNTRACED_EVENT_FIELDS, 'traceparent', 'tracestate'].sort());
    expect(fields).toMatchObject({ traceparent: CALLER, tracestate: 'rojo=1,congo=2' });
  });

  it('POST /events takes trace context from the headers only', async () => {
    const ok = await request(started.app.url, 'POST', '/events', { body: EVENT, headers: { traceparent: CALLER } });
    expect(ok.status).toBe(202);
    expect(ok.body.traceparent).toBe(CALLER);
    const inBody = await request(started.app.url, 'POST', '/events', { body: { ...EVENT, traceparent: CALLER } });
    expect(inBody.status).toBe(400);
    expect(JSON.stringify(inBody.body)).toContain('traceparent header');
  });

  it('records progress milestones, not every progress report', async () => {
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', {
      body: { name: 'demo.sleep', data: { durationMs: 200, steps: 20 } },
      headers: { 'x-correlation-id': 'milestones-1' },
    });
    expect(created.status).toBe(201);
    const timeline = await waitFor(async () => {
      const res = await request(started.app.url, 'GET', '/timeline?correlationid=milestones-1');
      return res.status === 200 && (res.body as Timeline).steps.some((step) => step.kind === 'job.completed') ? (res.body as Timeline) : undefined;
    }, 'the completed job in its timeline', { timeoutMs: 30_000, intervalMs: 100 });
    const progress = timeline.steps.filter((step) => step.kind === 'job.progress').map((step) => step.detail?.percent);
    // 20 reports (5 %, 10 %, ... 100 %): the first one (milestone 0) and the 25/50/75/100 crossings only.
    expect(progress).toEqual([0, 25, 50, 75, 100]);
    expect(timeline.steps.map((step) => step.kind)).toEqual(['job.created', 'job.started', ...progress.map(() => 'job.progress'), 'job.completed']);
  });
});

describe('trace context with tracing on (a real OTLP/HTTP receiver)', () => {
  let otlp: OtlpReceiver;
  const env: Record<string, string> = { LONG_RUNNING_JOBS_ENABLED: 'false', PUBLISH_EVENTS: 'false' };
  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
  });
  // Registered after the receiver's hook: the processor starts once the endpoint is known.
  const started = processorPerFile(env);
  afterAll(async () => {
    await otlp?.close();
  });

  const spanOf = (traceparent: string) =>
    waitFor(() => otlp.spans.find((span) => span.spanId === traceparent.slice(36, 52)), `the span of ${traceparent}`, { timeoutMs: 15_000, intervalMs: 50 });

  it('POST /jobs without caller context: a new root trace, the server span carried by the job', async () => {
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', { body: { name: 'demo.sleep', data: { durationMs: 1 } } });
    expect(created.status).toBe(201);
    expect(created.body.traceparent).toMatch(TRACEPARENT_PATTERN);
    const trace = ((await started.inspect.queue('async-processing').getJob(created.body.id))?.data as Record<string, unknown>)[JOB_TRACE_KEY];
    expect(trace).toMatchObject({ traceparent: created.body.traceparent });
    const span = await spanOf(created.body.traceparent);
    expect(span).toMatchObject({ name: 'POST /jobs/:queue', parentSpanId: undefined, traceId: traceIdOf(created.body.traceparent) });
  });

  it("POST /events with a caller's context: the event carries the publish span, in the caller's trace", async () => {
    const accepted = await request(started.app.url, 'POST', '/events', { body: EVENT, headers: { traceparent: CALLER, tracestate: 'rojo=1' } });
    expect(accepted.status).toBe(202);
    expect(traceIdOf(accepted.body.traceparent)).toBe(traceIdOf(CALLER));
    expect(accepted.body.traceparent).not.toBe(CALLER);
    const fields = await streamFields(started, accepted.body.id);
    expect(fields).toMatchObject({ traceparent: accepted.body.traceparent, tracestate: 'rojo=1' });
    const publish = await spanOf(accepted.body.traceparent);
    expect(publish.name).toBe('publish workspace.created');
    const server = await waitFor(() => otlp.spans.find((span) => span.spanId === publish.parentSpanId), 'the server span');
    expect(server).toMatchObject({ name: 'POST /events', parentSpanId: CALLER.slice(36, 52) });
  });

  it('POST /events without caller context: a new root trace that the event carries', async () => {
    const accepted = await request(started.app.url, 'POST', '/events', { body: EVENT });
    expect(accepted.status).toBe(202);
    expect(accepted.body.traceparent).toMatch(TRACEPARENT_PATTERN);
    expect((await streamFields(started, accepted.body.id)).traceparent).toBe(accepted.body.traceparent);
    const publish = await spanOf(accepted.body.traceparent);
    const server = await waitFor(() => otlp.spans.find((span) => span.spanId === publish.parentSpanId), 'the server span');
    expect(server).toMatchObject({ name: 'POST /events', parentSpanId: undefined });
  });
});
