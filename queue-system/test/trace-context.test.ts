/**
 * The queue processor's side of issue #15 over real HTTP and Redis: the W3C headers on
 * `POST /jobs` and `POST /events` (kept when valid, a new trace when not, never an error; refused
 * in the event body), the job's `__trace` carrying them, and the timeline's bounded progress
 * milestones (each of 0/25/50/75/100 % at most once per attempt, not every report).
 */
import { describe, expect, it } from 'vitest';
import { JOB_TRACE_KEY, TRACEPARENT_PATTERN, type Timeline } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { processorPerFile, request } from './support/processor';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

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

  it.each([
    ['a malformed traceparent', { traceparent: '00-xyz', tracestate: 'rojo=1' }],
    ['version ff', { traceparent: CALLER.replace(/^00/, 'ff') }],
    ['no header', {}],
  ])('starts a new trace for %s (never an error)', async (_name, headers: Record<string, string>) => {
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', { body: { name: 'demo.sleep', data: { durationMs: 1 } }, headers });
    expect(created.status).toBe(201);
    expect(created.body.traceparent).toMatch(TRACEPARENT_PATTERN);
    expect(created.body.traceparent).not.toContain('4bf92f3577b34da6a3ce929d0e0e4736');
    const trace = await traceOf(created.body.id);
    expect(trace.traceparent).toBe(created.body.traceparent);
    expect(trace.tracestate).toBeUndefined();
  });

  it('POST /events takes trace context from the headers only', async () => {
    const event = { type: 'workspace.created', data: { workspaceId: 'w1', name: 'Acme', ownerId: 'u1' } };
    const ok = await request(started.app.url, 'POST', '/events', { body: event, headers: { traceparent: CALLER } });
    expect(ok.status).toBe(202);
    expect(ok.body.traceparent).toBe(CALLER);
    const inBody = await request(started.app.url, 'POST', '/events', { body: { ...event, traceparent: CALLER } });
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
