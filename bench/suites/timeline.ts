/**
 * Issue #15: what the timeline and the OpenTelemetry spans cost. Event drain (the event
 * processor, noop handler, one loop) and job drain (the worker path, noop handler, jobs with a
 * `__trace`) in five variants, alternated in the same run on the same three Redis (master,
 * streams, queue, as in production): everything off (the baseline; tracing off means no
 * `Tracing` object, so its cost is the baseline's own `undefined` checks) on what the stack
 * writes for a caller without trace context, the same on today's untraced entries built by
 * hand, the timeline on, a caller's trace context carried with tracing off, and tracing on
 * (spans exported over OTLP/HTTP to a loopback receiver that discards them).
 *
 * Every drain runs in a fresh child process of its own (`bench/fixtures/timeline-drain.ts`:
 * the compiled services, production's NODE_OPTIONS, as the stack suite runs them), so that no
 * variant inherits another's heap, old-generation garbage or loaded modules (the tracing
 * variant's SDK). An even number of rounds, the order reversed every other round, so that
 * `off` runs before `timeline` in half the rounds and after it in the other half. Besides the
 * medians and ranges, the rows give the median of the per-round ratios (each round's `off`
 * and `timeline` run back to back), the same split by order, and what each variant costs per
 * item: the child's CPU (process.cpuUsage, all its threads) with its collections
 * (PerformanceObserver `gc`), and the CPU of the Redis it works on and of the master (INFO cpu).
 * Targets: the timeline on keeps at least 90 % of each drain's rate; tracing on is reported.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import {
  bullPrefix,
  JOB_TRACE_KEY,
  createRedis,
  newCorrelationId,
  newTraceparent,
  withJobTrace,
  type EventInput,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, startRedisServer } from '@event-infra/testing';
import type { DrainReport } from '../fixtures/timeline-drain';
import { spawnChild } from '../lib/child';
import { BENCH_EVENT_DATA, intakeContext, intakeEvent } from '../lib/intake-trace';
import { prefillEvents } from '../lib/event-drain';
import { median } from '../lib/stats';
import { BENCH_QUEUE as QUEUE, addNoopJobs } from '../lib/worker-drain';
import type { BenchRow, BenchSuite } from '../types';

/** Events per event drain and jobs per job drain at BENCH_SCALE=1, and the rounds of each (even). */
const EVENTS = 100_000;
const JOBS = 20_000;
/** Share of each drain done before its timed window opens (a fresh process starts on cold code). */
const WARMUP_SHARE = 0.2;
const EVENT_ROUNDS = 6;
const JOB_ROUNDS = 6;

/**
 * `off`: timeline and tracing off, on the events and jobs the stack's intake makes with tracing
 * off for a caller that sends no trace context (built by `traceRequest` itself: `bench/lib/intake-trace.ts`): the
 * baseline of the timeline.
 * `untraced`: events and jobs without any trace context, built by hand (what the stack carried
 * before issue #15). When the product is right, `off` drains the same entries, so `off` against
 * it guards against the stack adding work or bytes with tracing off; beyond that it is noise.
 * `timeline`: `off`'s entries, the timeline on.
 * `callertraced`: tracing off, entries carrying a caller's trace context (the intake keeps a
 * valid `traceparent` header unchanged): the caller's data, reported without a target.
 * `tracing`: `callertraced`'s entries (with tracing on every intake gives its events and jobs a
 * traceparent, the server span's), tracing on.
 */
type Variant = 'off' | 'untraced' | 'timeline' | 'callertraced' | 'tracing';
/**
 * Round r runs this order, reversed on odd rounds: each variant next to the one it is compared
 * with (`tracing` with `callertraced`, that with `untraced`, that with `off`, that with `timeline`).
 */
const ORDER: readonly Variant[] = ['tracing', 'callertraced', 'untraced', 'off', 'timeline'];
const roundOrder = (round: number): Variant[] => (round % 2 === 0 ? [...ORDER] : [...ORDER].reverse());

/** One drain's rate and what it cost over its timed window (the child's report). */
type Drain = DrainReport;

/** An OTLP/HTTP endpoint that reads and discards every export (the exporter's cost, not a receiver's). */
async function startDiscardingReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}`, server };
}

/** Which entries a variant drains: hand-built untraced ones, the intake's without caller context, the intake's with one. */
type Entries = 'untraced' | 'intake' | 'caller';
const ENTRIES: Record<Variant, Entries> = { untraced: 'untraced', off: 'intake', timeline: 'intake', callertraced: 'caller', tracing: 'caller' };

/** The headers of a request: a caller with a trace of its own (a new traceparent each), or none. */
const callerHeaders = (entries: Entries): Record<string, string> => (entries === 'caller' ? { traceparent: newTraceparent() } : {});

/** One event of `entries` as the intake hands it to the publisher (its trace fields), or by hand. */
function eventOf(entries: Entries): EventInput {
  if (entries === 'untraced') return { type: 'workspace.created', data: BENCH_EVENT_DATA };
  return intakeEvent(callerHeaders(entries));
}
/** One job's data of `entries`: the intake's `__trace` (`withJobTrace` of the correlation and the context, as `POST /jobs`), or by hand. */
function jobDataOf(entries: Entries, n: number): Record<string, unknown> {
  if (entries === 'untraced') return { n, [JOB_TRACE_KEY]: { correlationId: randomUUID() } };
  return withJobTrace({ n }, { correlationId: newCorrelationId(), ...intakeContext(callerHeaders(entries)) });
}
/** The field names of a stream's first entry, and of a job's `__trace`, of `entries` (the rows say whether `off`'s are `untraced`'s). */
async function shapeOf(redis: Redis, stream: string, entries: Entries): Promise<string> {
  const [first] = await redis.xrange(stream, '-', '+', 'COUNT', 1);
  const fields = (first?.[1] ?? []).filter((_, index) => index % 2 === 0).sort();
  const trace = Object.keys(jobDataOf(entries, 0)[JOB_TRACE_KEY] as object).sort();
  return `entry ${fields.join(',')}; __trace ${trace.join(',')}`;
}

/**
 * One drain of `count` items in a fresh child (`bench/fixtures/timeline-drain.ts`): started and
 * ready (modules loaded) first, then told to drain; the first `warmup` items are not timed.
 */
async function childDrain(masterUrl: string, workUrl: string, kind: 'event' | 'job', count: number, warmup: number, variant: Variant, env: Record<string, string>, otlpUrl: string): Promise<Drain> {
  const child = await spawnChild({
    name: `${kind} drain (${variant})`,
    entry: 'bench/fixtures/timeline-drain.ts',
    requests: true,
    env: {
      BENCH_DRAIN: kind,
      BENCH_MASTER_URL: masterUrl,
      BENCH_WORK_URL: workUrl,
      BENCH_COUNT: String(count),
      BENCH_WARMUP: String(warmup),
      BENCH_TIMELINE: String(variant === 'timeline'),
      BENCH_OTLP_URL: variant === 'tracing' ? otlpUrl : '',
      ...env,
    },
  });
  try {
    const line = await child.request('drain');
    if (!line.startsWith('{')) throw new Error(`${kind} drain (${variant}): ${line}`);
    return JSON.parse(line) as Drain;
  } finally {
    await child.stop();
  }
}

/** Per-round ratios `variant / over` (the runs of one round are back to back). */
function roundRatios(values: Map<Variant, number[]>, variant: Variant, over: Variant = 'off'): number[] {
  const on = values.get(variant)!;
  const off = values.get(over)!;
  return on.map((value, index) => value / off[index]!);
}

const list = (values: readonly number[], digits = 0): string => values.map((value) => value.toFixed(digits)).join('/');
const range = (values: readonly number[]): string => `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`;
/** Rounds where `off` ran before `timeline` (the even ones, `ORDER`) and after it (the odd ones). */
const evenRounds = <T>(values: readonly T[]): T[] => values.filter((_, round) => round % 2 === 0);
const oddRounds = <T>(values: readonly T[]): T[] => values.filter((_, round) => round % 2 === 1);

/**
 * The rows of one drain: tracing off without caller context (against today's untraced entries),
 * a caller's context carried, timeline on (rate, pairs, CPU), tracing on, and each variant's
 * cost. `shapes`: the field names `off` and `untraced` drain (the same when the product is right).
 */
function rowsOf(what: string, unit: string, perItem: string, drains: Map<Variant, Drain[]>, baseline: string, rounds: number, shapes: { off: string; untraced: string }): BenchRow[] {
  const of = (field: keyof Drain) => new Map<Variant, number[]>([...drains].map(([variant, runs]) => [variant, runs.map((run) => run[field])]));
  const rates = of('rate');
  const cost = new Map<Variant, number[]>([...drains].map(([variant, runs]) => [variant, runs.map((run) => run.nodeUs + run.masterUs + run.workUs)]));
  const off = rates.get('off')!;
  const timelinePairs = roundRatios(rates, 'timeline');
  const costPairs = roundRatios(cost, 'timeline');
  const untraced = rates.get('untraced')!;
  const callertraced = rates.get('callertraced')!;
  const sameEntries = shapes.off === shapes.untraced;
  const rows: BenchRow[] = [
    {
      metric: `${what}, tracing off, no caller trace context (what the stack writes)`,
      value: median(off),
      unit,
      baseline: "same drain of today's untraced entries",
      baselineValue: median(untraced),
      target: 0.98,
      note:
        `medians of ${rounds} rounds; off ${list(off)}, untraced ${list(untraced)}; per-round ratios ${list(roundRatios(rates, 'off', 'untraced'), 2)}, median ${median(roundRatios(rates, 'off', 'untraced')).toFixed(2)}; ` +
        (sameEntries ? `the same entries (${shapes.off}): a guard against the stack adding work or bytes with tracing off, the rest is noise` : `DIFFERENT entries: off ${shapes.off}, untraced ${shapes.untraced}`),
    },
    {
      metric: `${what}, a caller's trace context carried, tracing off`,
      value: median(callertraced),
      unit,
      baseline: "same drain of today's untraced entries",
      baselineValue: median(untraced),
      note: `reported, no target: the caller's data (a traceparent per entry, like a bigger payload); callertraced ${list(callertraced)}, untraced ${list(untraced)}; per-round ratios ${list(roundRatios(rates, 'callertraced', 'untraced'), 2)}, median ${median(roundRatios(rates, 'callertraced', 'untraced')).toFixed(2)}`,
    },
    {
      metric: `${what}, timeline on`,
      value: median(rates.get('timeline')!),
      unit,
      baseline,
      baselineValue: median(off),
      target: 0.9,
      note: `medians of ${rounds} rounds; on ${list(rates.get('timeline')!)} (${range(rates.get('timeline')!)}), off ${list(off)} (${range(off)})`,
    },
    {
      metric: `${what}, timeline on / off, median of ${rounds} back-to-back pairs`,
      value: median(timelinePairs),
      unit: 'x',
      baseline: "each pair's off run",
      baselineValue: 1,
      target: 0.9,
      note: `per-round ratios ${list(timelinePairs, 2)}; off first ${median(evenRounds(timelinePairs)).toFixed(2)}, timeline first ${median(oddRounds(timelinePairs)).toFixed(2)}`,
    },
    {
      metric: `${what}, timeline on: CPU per ${perItem} (Node + both Redis), median of ${rounds} pairs`,
      value: median(costPairs),
      unit: 'x',
      baseline: "each pair's off run",
      baselineValue: 1,
      lowerIsBetter: true,
      maxRatio: 1 / 0.9,
      note: `on/off per round ${list(costPairs, 2)}; µs per ${perItem} on ${list(cost.get('timeline')!, 1)}, off ${list(cost.get('off')!, 1)}`,
    },
    {
      metric: `${what}, tracing on (OTLP/HTTP)`,
      value: median(rates.get('tracing')!),
      unit,
      baseline: 'the same traced entries, tracing off (callertraced)',
      baselineValue: median(callertraced),
      note:
        `reported, no target; on ${list(rates.get('tracing')!)}, off (callertraced) ${list(callertraced)}; per-round ratios ${list(roundRatios(rates, 'tracing', 'callertraced'), 2)}, ` +
        `median ${median(roundRatios(rates, 'tracing', 'callertraced')).toFixed(2)}; against off (no trace context) ${median(roundRatios(rates, 'tracing')).toFixed(2)}`,
    },
  ];
  for (const variant of ORDER) {
    const runs = drains.get(variant)!;
    const field = (name: keyof Drain) => runs.map((run) => run[name]);
    rows.push({
      metric: `${what}, ${variant}: Node + Redis CPU per ${perItem}`,
      value: median(cost.get(variant)!),
      unit: 'us',
      note:
        `Node (child, process.cpuUsage) median ${median(field('nodeUs')).toFixed(1)}, rounds ${list(field('nodeUs'), 1)}; ` +
        `Redis the drain works on (INFO cpu) median ${median(field('workUs')).toFixed(1)}, rounds ${list(field('workUs'), 1)}; ` +
        `master (the timeline's) median ${median(field('masterUs')).toFixed(1)}, rounds ${list(field('masterUs'), 1)}; ` +
        `scavenges ${list(field('minorGcs'))}, mark-sweeps ${list(field('majorGcs'))}, GC pauses µs per ${perItem} ${list(field('gcUs'), 2)}`,
    });
  }
  return rows;
}

/** Rounds of each drain: even (both orders equally often), at least 2. */
function roundsAt(scale: number, full: number): number {
  return Math.max(2, 2 * Math.round((full * Math.min(1, scale)) / 2));
}

const suite: BenchSuite = {
  name: 'timeline',
  async run({ redis, scale }): Promise<BenchRow[]> {
    // Three Redis as in production (SPEC §1): the master (the suite's) holds the timeline, the
    // stream and the queue are on their own; each drain works on one and records on the master.
    const master = redis;
    const streams = await startRedisServer();
    const queueRedis = await startRedisServer().catch(async (caught: unknown) => {
      await streams.stop();
      throw caught;
    });
    const rows: BenchRow[] = [];
    const client = createRedis({ url: streams.url, role: 'bench', profile: 'consumer', logger: silentLogger() });
    const admin = new IORedis(queueRedis.url, { maxRetriesPerRequest: null });
    const masterAdmin = new IORedis(master.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection: admin, prefix: bullPrefix(QUEUE, admin.isCluster) });
    const otlp = await startDiscardingReceiver();
    try {
      const events = Math.max(1_000, Math.round(EVENTS * scale));
      const streamOf: Record<Entries, string> = { untraced: `bench-untraced-${randomUUID()}`, intake: `bench-intake-${randomUUID()}`, caller: `bench-caller-${randomUUID()}` };
      for (const entries of ['untraced', 'intake', 'caller'] as const) await prefillEvents(client, streamOf[entries], events, () => eventOf(entries));
      const entryShapes = { off: await shapeOf(client, streamOf.intake, 'intake'), untraced: await shapeOf(client, streamOf.untraced, 'untraced') };
      const eventRounds = roundsAt(scale, EVENT_ROUNDS);
      const eventDrains = new Map<Variant, Drain[]>(ORDER.map((variant) => [variant, []]));
      for (let round = 0; round < eventRounds; round += 1) {
        for (const variant of roundOrder(round)) {
          const env = { BENCH_STREAM: streamOf[ENTRIES[variant]], BENCH_GROUP: `g-${round}-${variant}` };
          eventDrains.get(variant)!.push(await childDrain(master.url, streams.url, 'event', events, Math.round(events * WARMUP_SHARE), variant, env, otlp.url));
        }
      }
      rows.push(...rowsOf(`event drain ${events} events`, 'events/s', 'event', eventDrains, 'same drain, timeline and tracing off', eventRounds, entryShapes));

      const jobs = Math.max(1_000, Math.round(JOBS * scale));
      const jobRounds = roundsAt(scale, JOB_ROUNDS);
      const jobDrains = new Map<Variant, Drain[]>(ORDER.map((variant) => [variant, []]));
      for (let round = 0; round < jobRounds; round += 1) {
        for (const variant of roundOrder(round)) {
          await admin.flushall();
          await masterAdmin.flushall();
          await addNoopJobs(queue, jobs, (n) => jobDataOf(ENTRIES[variant], n));
          jobDrains.get(variant)!.push(await childDrain(master.url, queueRedis.url, 'job', jobs, Math.round(jobs * WARMUP_SHARE), variant, { BENCH_QUEUE: QUEUE, BENCH_CONCURRENCY: '100' }, otlp.url));
        }
      }
      // The same shapes: they name both the stream entry's fields and the job's `__trace`.
      rows.push(...rowsOf(`job drain ${jobs} jobs, concurrency 100`, 'jobs/s', 'job', jobDrains, 'same drain without a timeline recorder or tracing', jobRounds, entryShapes));
    } finally {
      await new Promise((resolve) => otlp.server.close(resolve));
      await queue.close();
      admin.disconnect();
      masterAdmin.disconnect();
      client.disconnect();
      await Promise.allSettled([streams.stop(), queueRedis.stop()]);
    }
    return rows;
  },
};

export default suite;
