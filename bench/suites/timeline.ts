/**
 * Issue #15: what the timeline and the OpenTelemetry spans cost. Event drain (the event
 * processor, noop handler, one loop) and job drain (the worker path, noop handler, jobs that
 * carry a `__trace` with a traceparent) in four variants, alternated in the same run on the
 * same Redis: everything off (the baseline; tracing off means no `Tracing` object, so its cost
 * is the baseline's own `undefined` checks), no trace context at all, the timeline on, and
 * tracing on (spans exported over OTLP/HTTP to a loopback receiver that discards them).
 * Each round runs `off` and `timeline` back to back (their order alternates), so the shared
 * machine's load drifts little between the two: besides the medians and ranges, the rows give
 * the median of the per-round ratios. The event drain also reports what each variant costs
 * Redis (INFO commandstats, µs per event) and Node (process.cpuUsage, µs per event).
 * Targets: the timeline on keeps at least 90 % of each drain's rate; tracing on is reported.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { bullPrefix, JOB_TRACE_KEY, TimelineRecorder, createRedis, newTraceparent, startTracing, type Redis } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';
import { benchEventEnv, prefillEvents, timedEventDrain } from '../lib/event-drain';
import { median } from '../lib/stats';
import { BENCH_QUEUE as QUEUE, addNoopJobs, workerPathDrain } from '../lib/worker-drain';
import type { BenchRow, BenchSuite } from '../types';
import { loadConfig } from '../../event-system/src/config';

/**
 * `off`: traced events and jobs (a traceparent each), timeline and tracing off: the baseline.
 * `untraced`: the same without any traceparent (what the stack carried before issue #15), so
 * `off` against it is the cost of trace context with tracing off.
 */
type Variant = 'off' | 'untraced' | 'timeline' | 'tracing';
/** Round r runs this order, reversed on odd rounds: `off` and `timeline` always adjacent. */
const ORDER: readonly Variant[] = ['untraced', 'off', 'timeline', 'tracing'];
const roundOrder = (round: number): Variant[] => (round % 2 === 0 ? [...ORDER] : [...ORDER].reverse());

/** One drain's rate and what it cost Redis and this process, µs per item. */
interface Drain {
  rate: number;
  redisUs: number;
  nodeUs: number;
}

/** Total `usec` of every command in INFO commandstats (scripts count once, with their calls inside). */
async function redisUsec(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_[^:]+:calls=\d+,usec=(\d+),/gm)) total += Number(match[1]);
  return total;
}


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

function prefill(redis: Redis, stream: string, count: number, traced: boolean): Promise<void> {
  return prefillEvents(redis, stream, count, () => ({ type: 'workspace.created', ...(traced ? { traceparent: newTraceparent() } : {}), data: { workspaceId: 'w-1', name: 'bench', ownerId: 'u-1' } }));
}

/** Event processor drain of `count` events as group `group`; events/s from the first handled one, and its cost. */
async function eventDrain(redis: Redis, url: string, stream: string, group: string, count: number, variant: Variant, otlpUrl: string): Promise<Drain> {
  const config = loadConfig(
    benchEventEnv(url, 100, {
      EVENT_FANOUT_ENABLED: 'false',
      STREAM_NAME: stream,
      CONSUMER_GROUP: group,
      TIMELINE_ENABLED: String(variant === 'timeline'),
      OTEL_EXPORTER_OTLP_ENDPOINT: variant === 'tracing' ? otlpUrl : '',
    }),
  );
  const usecBefore = await redisUsec(redis);
  const drain = await timedEventDrain(config, count);
  return { rate: drain.rate, redisUs: ((await redisUsec(redis)) - usecBefore) / count, nodeUs: drain.cpuUsPerEvent };
}

/** Worker-path drain of `count` traced noop jobs, with or without a timeline recorder. */
async function jobDrain(url: string, queue: Queue, count: number, variant: Variant, otlpUrl: string): Promise<number> {
  await addNoopJobs(queue, count, (n) => ({ n, [JOB_TRACE_KEY]: { correlationId: randomUUID(), ...(variant === 'untraced' ? {} : { traceparent: newTraceparent() }) } }));
  const logger = silentLogger();
  const masterConnection = new IORedis(url, { maxRetriesPerRequest: null });
  const recorder = variant === 'timeline' ? new TimelineRecorder({ service: 'bench', retentionSec: 600, maxSteps: 200 }, { redis: masterConnection, logger }) : undefined;
  const tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: variant === 'tracing' ? otlpUrl : '' }, 'bench', logger);
  try {
    return await workerPathDrain(url, queue, count, { concurrency: 100, logger, timeline: recorder, tracing });
  } finally {
    await recorder?.close();
    await tracing?.close();
    masterConnection.disconnect();
  }
}

/** Median of the per-round ratios `variant / off` (the runs of one round are back to back). */
function pairedRatio(rates: Map<Variant, number[]>, variant: Variant, over: Variant = 'off'): number {
  const on = rates.get(variant)!;
  const off = rates.get(over)!;
  return median(on.map((value, index) => value / off[index]!));
}

/** The rows of one drain: trace context carried, timeline on, tracing on, each against its baseline. */
function rowsOf(what: string, unit: string, rates: Map<Variant, number[]>, baseline: string, rounds: number): BenchRow[] {
  const off = rates.get('off')!;
  const list = (values: number[]) => values.map(Math.round).join('/');
  const range = (values: number[]) => `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`;
  const ratios = (variant: Variant, over: Variant = 'off') =>
    rates
      .get(variant)!
      .map((value, index) => (value / rates.get(over)![index]!).toFixed(2))
      .join('/');
  return [
    {
      metric: `${what}, tracing off (trace context carried)`,
      value: median(off),
      unit,
      baseline: 'same drain without any traceparent',
      baselineValue: median(rates.get('untraced')!),
      target: 0.98,
      note: `medians of ${rounds} rotated rounds; with ${list(off)}, without ${list(rates.get('untraced')!)}; per-round ratios ${ratios('off', 'untraced')}, median ${pairedRatio(rates, 'off', 'untraced').toFixed(2)}`,
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
      value: pairedRatio(rates, 'timeline'),
      unit: 'x',
      baseline: 'each pair\'s off run',
      baselineValue: 1,
      target: 0.9,
      note: `per-round ratios ${ratios('timeline')}`,
    },
    {
      metric: `${what}, tracing on (OTLP/HTTP)`,
      value: median(rates.get('tracing')!),
      unit,
      baseline,
      baselineValue: median(off),
      note: `reported, no target; on ${list(rates.get('tracing')!)}, off ${list(off)}; per-round ratios ${ratios('tracing')}`,
    },
  ];
}

const suite: BenchSuite = {
  name: 'timeline',
  async run({ redis, scale }): Promise<BenchRow[]> {
    const url = redis.url;
    const rows: BenchRow[] = [];
    const client = createRedis({ url, role: 'bench', profile: 'consumer', logger: silentLogger() });
    const admin = new IORedis(url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection: admin, prefix: bullPrefix(QUEUE, admin.isCluster) });
    const otlp = await startDiscardingReceiver();
    try {
      const events = Math.max(1_000, Math.round(50_000 * scale));
      const stream = `bench-timeline-${randomUUID()}`;
      const untracedStream = `bench-untraced-${randomUUID()}`;
      await prefill(client, stream, events, true);
      await prefill(client, untracedStream, events, false);
      const eventRates = new Map<Variant, number[]>(ORDER.map((variant) => [variant, []]));
      const costs = new Map<Variant, { redisUs: number[]; nodeUs: number[] }>(ORDER.map((variant) => [variant, { redisUs: [], nodeUs: [] }]));
      const eventRounds = 5;
      for (let round = 0; round < eventRounds; round += 1) {
        for (const variant of roundOrder(round)) {
          const drain = await eventDrain(client, url, variant === 'untraced' ? untracedStream : stream, `g-${round}-${variant}`, events, variant, otlp.url);
          eventRates.get(variant)!.push(drain.rate);
          costs.get(variant)!.redisUs.push(drain.redisUs);
          costs.get(variant)!.nodeUs.push(drain.nodeUs);
        }
      }
      rows.push(...rowsOf(`event drain ${events} events`, 'events/s', eventRates, 'same drain, timeline and tracing off', eventRounds));
      for (const variant of ORDER) {
        const cost = costs.get(variant)!;
        rows.push({
          metric: `event drain, ${variant}: Redis and Node per event`,
          value: median(cost.redisUs),
          unit: 'us',
          note: `Redis µs/event (INFO commandstats) median ${median(cost.redisUs).toFixed(1)}, rounds ${cost.redisUs.map((v) => v.toFixed(1)).join('/')}; Node CPU µs/event (process.cpuUsage) median ${median(cost.nodeUs).toFixed(1)}, rounds ${cost.nodeUs.map((v) => v.toFixed(1)).join('/')}`,
        });
      }

      const jobs = Math.max(1_000, Math.round(20_000 * scale));
      const jobRates = new Map<Variant, number[]>(ORDER.map((variant) => [variant, []]));
      const jobRounds = 3;
      for (let round = 0; round < jobRounds; round += 1) {
        for (const variant of roundOrder(round)) {
          await admin.flushall();
          jobRates.get(variant)!.push(await jobDrain(url, queue, jobs, variant, otlp.url));
        }
      }
      rows.push(...rowsOf(`job drain ${jobs} traced jobs, concurrency 100`, 'jobs/s', jobRates, 'same drain without a timeline recorder or tracing', jobRounds));
    } finally {
      await new Promise((resolve) => otlp.server.close(resolve));
      await queue.close();
      admin.disconnect();
      client.disconnect();
    }
    return rows;
  },
};

export default suite;
