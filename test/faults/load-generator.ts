/**
 * Bounded, steady, mixed load over the public HTTP API of the queue processor: jobs to every
 * work queue (`POST /jobs/:queue`: short `demo.sleep`, `demo.fail` that succeeds after
 * `failTimes` failures, and permanent `demo.fail`) and events (`POST /events`, including
 * `workspace.created`, which the example trigger turns into a job). Every id the API accepted
 * (2xx) is recorded, and every request it refused (status or network error), so that a refusal
 * is never mistaken for a loss. Loopback only; stops by itself after `durationMs`.
 */
import { QUEUES, type WorkQueueName } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA } from '@event-infra/testing';

/** What a job is expected to end as when nothing goes wrong. */
export type JobExpectation = 'complete' | 'dead-letter';

export interface AcceptedJob {
  queue: WorkQueueName;
  id: string;
  name: string;
  expect: JobExpectation;
}

export interface AcceptedEvent {
  id: string;
  type: string;
  /** The example trigger creates a job for this event. */
  triggers: boolean;
}

export interface Refusal {
  what: string;
  /** HTTP status, or 0 for a network error / client timeout. */
  status: number;
  reason: string;
}

export interface LoadResult {
  sent: number;
  jobs: AcceptedJob[];
  events: AcceptedEvent[];
  refused: Refusal[];
  /** Ticks not sent because `maxInFlight` requests were already waiting (a frozen dependency). */
  skipped: number;
  durationMs: number;
}

export interface LoadOptions {
  /** Base URL of the queue processor, e.g. `http://127.0.0.1:8009`. */
  baseUrl: string;
  apiKey: string;
  /** Prefix of every job id (unique per load run; no `:`). */
  idPrefix: string;
  /** Requests per second. Default 30. */
  ratePerSec?: number;
  /** How long the load runs at most, ms (`stop()` ends it earlier). */
  durationMs: number;
  /** Client timeout of one request, ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Requests waiting at once before ticks are skipped. Default 200. */
  maxInFlight?: number;
}

type Step =
  | { kind: 'job'; queue: WorkQueueName; name: string; data: Record<string, unknown>; opts?: Record<string, unknown>; expect: JobExpectation }
  | { kind: 'event'; type: keyof typeof SAMPLE_EVENT_DATA; triggers: boolean };

const retried = { attempts: 3, backoff: 150 };

/** One cycle of the mix: 6 jobs (every queue; 2 retried then completed, 2 permanent failures) and 4 events. */
const CYCLE: Step[] = [
  { kind: 'job', queue: QUEUES.asyncProcessing, name: 'demo.sleep', data: { durationMs: 40 }, expect: 'complete' },
  { kind: 'event', type: 'workspace.created', triggers: true },
  { kind: 'job', queue: QUEUES.longRunning, name: 'demo.sleep', data: { durationMs: 300, steps: 2 }, expect: 'complete' },
  { kind: 'event', type: 'user.created', triggers: false },
  { kind: 'job', queue: QUEUES.eventDriven, name: 'demo.sleep', data: { durationMs: 40 }, expect: 'complete' },
  { kind: 'job', queue: QUEUES.asyncProcessing, name: 'demo.fail', data: { failTimes: 1 }, opts: retried, expect: 'complete' },
  { kind: 'event', type: 'workspace.created', triggers: true },
  { kind: 'job', queue: QUEUES.asyncProcessing, name: 'demo.fail', data: { permanent: true, message: 'fault-suite permanent failure' }, expect: 'dead-letter' },
  { kind: 'job', queue: QUEUES.eventDriven, name: 'demo.fail', data: { failTimes: 2 }, opts: retried, expect: 'complete' },
  { kind: 'event', type: 'auth.login', triggers: false },
  { kind: 'job', queue: QUEUES.longRunning, name: 'demo.fail', data: { permanent: true, message: 'fault-suite permanent failure' }, expect: 'dead-letter' },
];

/** A running load: `live` fills in as answers arrive; `done` resolves once every request sent was answered. */
export interface RunningLoad {
  live: LoadResult;
  done: Promise<LoadResult>;
  /** Ends the load before `durationMs`; `done` still waits for the answers. */
  stop(): void;
}

/** Starts the load for `durationMs` (see `RunningLoad`). */
export function startLoad(options: LoadOptions): RunningLoad {
  const live: LoadResult = { sent: 0, jobs: [], events: [], refused: [], skipped: 0, durationMs: 0 };
  const control = { stopped: false };
  return { live, done: drive(options, live, control), stop: () => void (control.stopped = true) };
}

/** Runs the load for `durationMs` and resolves once every request sent has been answered. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return startLoad(options).done;
}

async function drive(options: LoadOptions, result: LoadResult, control: { stopped: boolean }): Promise<LoadResult> {
  const rate = options.ratePerSec ?? 30;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const maxInFlight = options.maxInFlight ?? 200;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` };
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();

  const post = async (path: string, body: unknown, what: string): Promise<unknown> => {
    try {
      const response = await fetch(`${options.baseUrl}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (response.status >= 200 && response.status < 300) return JSON.parse(text) as unknown;
      result.refused.push({ what, status: response.status, reason: text.slice(0, 200) });
    } catch (caught) {
      // Connection refused (service down) or client timeout (a frozen Redis): refused, not lost.
      result.refused.push({ what, status: 0, reason: caught instanceof Error ? caught.name + ': ' + caught.message : String(caught) });
    }
    return undefined;
  };

  const send = async (index: number): Promise<void> => {
    const step = CYCLE[index % CYCLE.length]!;
    if (step.kind === 'job') {
      const id = `${options.idPrefix}-${index}`;
      const body = { name: step.name, data: step.data, opts: { ...step.opts, jobId: id } };
      const answer = (await post(`/jobs/${step.queue}`, body, `job ${step.queue}/${id}`)) as { id?: string } | undefined;
      if (answer?.id !== undefined) result.jobs.push({ queue: step.queue, id: answer.id, name: step.name, expect: step.expect });
      return;
    }
    const data = { ...SAMPLE_EVENT_DATA[step.type], ...('workspaceId' in SAMPLE_EVENT_DATA[step.type] ? { workspaceId: `ws-${options.idPrefix}-${index}` } : {}) };
    const answer = (await post('/events', { type: step.type, data }, `event ${step.type}`)) as { id?: string } | undefined;
    if (answer?.id !== undefined) result.events.push({ id: answer.id, type: step.type, triggers: step.triggers });
  };

  const total = Math.max(1, Math.floor((options.durationMs / 1000) * rate));
  for (let index = 0; index < total && !control.stopped; index += 1) {
    // Open loop on a fixed schedule: a slow answer does not slow the load down.
    const due = started + (index * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (control.stopped) break;
    if (inFlight.size >= maxInFlight) {
      result.skipped += 1;
      continue;
    }
    result.sent += 1;
    const request = send(index).finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  result.durationMs = Date.now() - started;
  return result;
}
