/**
 * The whole stack through its public surfaces (issue 6). The three services run as real child
 * processes, compiled (`node --conditions=evinfra-dist <svc>/dist/main.js`), on three redis-servers: the runner's one is
 * the master, the suite starts the streams and queue ones. Each baseline also runs as a child
 * process (bench/fixtures/bare-*.ts) on the same Redis, measured the same way, and does the
 * same work as its service in one process: the bare worker drains AND takes the bulk intake,
 * as the queue processor does both (until 2026-12-01 the intake's `Queue.addBulk` ran in this
 * process and the bare worker only drained; that drain-only worker still runs, its peak RSS
 * is in the queue processor's peak note, and the in-process `addBulk` rate in the intake note):
 * - HTTP job intake: jobs/s accepted by `POST /jobs/long-running-jobs/bulk` (1,000 per request;
 *   that queue has no worker here) vs the bare worker child given the same body on its stdin,
 *   which parses it and adds the jobs with `Queue.addBulk` and the same options;
 * - job drain: the child is paused (SIGSTOP), N tiny `bench.noop` jobs are added, the clock
 *   starts at SIGCONT and stops when the queue has nothing waiting or active; queue processor
 *   (custom handler module, concurrency 100, events off) vs a bare BullMQ Worker child;
 * - event drain: same pause/fill/resume, N events in the stream, until the group has read all
 *   and has nothing pending; event processor vs a bare XREADGROUP+XACK child;
 * - publish→handled latency at a steady rate, observed on the master: the event processor's
 *   fan-out message vs the bare reader's PUBLISH of the id after reading;
 * - each service's idle RSS (VmRSS 30 s after start, before any load; target < 80 MB) and peak
 *   RSS (VmHWM) at the end, against the baseline child where there is one (target <= 1.2x):
 *   the queue processor against the bare worker (intake and drain), the event processor
 *   against the bare reader.
 * Sides alternate per round; figures are medians; every round is in the note.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix, EVENT_CHANNEL_PATTERN, STREAM_DEFAULTS, createEventPublisher, createLogger, type EventInput, type EventPublisher } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA, startRedisServer } from '@event-infra/testing';
import type { BenchChild } from '../lib/child';
import { BARE_CHANNEL, BARE_DRAIN_ONLY_QUEUE, BARE_LATENCY_STREAM, BARE_QUEUE, BARE_STREAM, CONCURRENCY, EVENT_STREAM, INTAKE_QUEUE, RETRY, startStack, type Stack } from '../lib/stack-children';
import { median, percentile, pollUntil } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';

/** Issue 12's memory targets: peak RSS at most 1.2x the bare child's, idle below 80 MB. */
const PEAK_MAX_RATIO = 1.2;
const IDLE_TARGET_MB = 80;
/** How long every child idles after start before its idle RSS is read (BENCH_SCALE < 1: 10 s). */
const IDLE_SEC = 30;
const DRAIN_QUEUE = 'async-processing';

/** Runs `measure` for both sides `rounds` times, alternating which goes first. */
async function alternate(rounds: number, measure: (side: 'ours' | 'bare') => Promise<number>): Promise<{ ours: number[]; bare: number[] }> {
  const result = { ours: [] as number[], bare: [] as number[] };
  for (let round = 0; round < rounds; round += 1) {
    for (const side of round % 2 === 0 ? (['bare', 'ours'] as const) : (['ours', 'bare'] as const)) result[side].push(await measure(side));
  }
  return result;
}

function row(metric: string, sides: { ours: number[]; bare: number[] }, unit: string, baseline: string, target: number | undefined, note: string): BenchRow {
  const ratios = sides.ours.map((value, index) => (value / sides.bare[index]!).toFixed(2)).join(' ');
  return { metric, value: median(sides.ours), unit, baseline, baselineValue: median(sides.bare), ...(target === undefined ? {} : { target }), note: `${note}; medians of ${sides.ours.length} alternating rounds, ratios ${ratios}` };
}

async function jobsLeft(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** Pauses `child`, adds `count` no-op jobs, resumes it: jobs/s until nothing is waiting or active. */
async function drainJobs(child: BenchChild, queue: Queue, count: number): Promise<number> {
  child.pause();
  try {
    for (let added = 0; added < count; added += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, count - added) }, (_, index) => ({ name: 'bench.noop', data: { n: added + index } })));
    }
  } finally {
    child.resume();
  }
  const started = performance.now();
  await pollUntil(async () => (await jobsLeft(queue)) === 0, 120_000, `${child.name} to drain ${queue.name}`);
  const rate = count / ((performance.now() - started) / 1000);
  const failed = (await queue.getJobCounts('failed')).failed ?? 0;
  if (failed > 0) throw new Error(`${child.name}: ${failed} bench jobs failed`);
  return rate;
}

function benchEvent(index: number, id?: string): EventInput {
  return { ...(id ? { id } : {}), type: 'user.updated', data: { ...SAMPLE_EVENT_DATA['user.updated'], seq: index } };
}

/** True when `group` has read up to the stream's last entry and acknowledged everything. */
async function groupDone(redis: Redis, stream: string, group: string): Promise<boolean> {
  const info = (await redis.xinfo('STREAM', stream)) as unknown[];
  const last = info[info.indexOf('last-generated-id') + 1];
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  const mine = groups.find((fields) => fields[fields.indexOf('name') + 1] === group);
  if (!mine) return false;
  return mine[mine.indexOf('last-delivered-id') + 1] === last && mine[mine.indexOf('pending') + 1] === 0;
}

/** Pauses `child`, publishes `count` events to `stream`, resumes it: events/s until read and acknowledged. */
async function drainEvents(child: BenchChild, redis: Redis, publisher: EventPublisher, stream: string, group: string, count: number): Promise<number> {
  child.pause();
  try {
    for (let sent = 0; sent < count; sent += 1000) await publisher.publishBatch(Array.from({ length: Math.min(1000, count - sent) }, (_, index) => benchEvent(sent + index)));
  } finally {
    child.resume();
  }
  const started = performance.now();
  await pollUntil(() => groupDone(redis, stream, group), 120_000, `${child.name} to drain ${stream}`);
  const rate = count / ((performance.now() - started) / 1000);
  await redis.xtrim(stream, 'MAXLEN', 0);
  return rate;
}

/**
 * Publishes `count` events one XADD each at `perSecond` and records, per id, publish → the
 * message that names it on the master (the subscriber fills `handledAt`); sorted latencies in ms.
 */
async function latencies(publisher: EventPublisher, handledAt: Map<string, number>, count: number, perSecond: number, timeoutMs = 30_000): Promise<number[]> {
  handledAt.clear();
  const sentAt = new Map<string, number>();
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let index = 0; index < count; index += 1) {
    const wait = started + (index * 1000) / perSecond - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, Math.floor(wait)));
    const id = randomUUID();
    sentAt.set(id, performance.now());
    pending.push(publisher.publish(benchEvent(index, id)));
  }
  await Promise.all(pending);
  await pollUntil(() => [...sentAt.keys()].every((id) => handledAt.has(id)), timeoutMs, 'every latency event to be handled', 20);
  return [...sentAt].map(([id, at]) => handledAt.get(id)! - at).sort((a, b) => a - b);
}

const suite: BenchSuite = {
  name: 'stack',
  async run({ redis: master, scale }) {
    const logger = createLogger({ service: 'bench', level: 'silent' });
    const streams = await startRedisServer();
    const queueServer = await startRedisServer();
    const rows: BenchRow[] = [];
    const clients: Redis[] = [];
    const client = (url: string, opts: object = {}): Redis => {
      const created = new Redis(url, { maxRetriesPerRequest: null, ...opts });
      clients.push(created);
      return created;
    };
    let stack: Stack | undefined;
    try {
      stack = await startStack(master, streams, queueServer);
      // Idle RSS: every child started and left alone (V8's memory reducer starts after 8 s).
      const idleSec = scale < 1 ? 10 : IDLE_SEC;
      await new Promise((resolve) => setTimeout(resolve, idleSec * 1000));
      const idle = new Map([stack.queueProcessor, stack.eventProcessor, stack.dlqProcessor, stack.bareWorker, stack.bareDrainWorker, stack.bareReader].map((child) => [child, child.rssMb()]));
      const queueRedis = client(queueServer.url);
      const streamsRedis = client(streams.url);
      const rounds = scale < 1 ? 2 : 4;

      // HTTP job intake.
      const intakeQueue = new Queue(INTAKE_QUEUE, { connection: queueRedis, prefix: bullPrefix(INTAKE_QUEUE, queueRedis.isCluster) });
      const batches = Math.max(2, Math.round(10 * scale));
      const batch = Array.from({ length: 1000 }, (_, index) => ({ name: 'bench.noop', data: { n: index } }));
      const body = JSON.stringify({ jobs: batch });
      const sameOpts = { attempts: RETRY.attempts, backoff: { type: 'exponential', delay: RETRY.delay }, keepLogs: 100 };
      const batchWithOpts = batch.map((job) => ({ ...job, opts: sameOpts }));
      // The bare side is the bare worker child (it adds the same body with Queue.addBulk, see
      // bench/fixtures/bare-worker.ts); Queue.addBulk in this process, the baseline before, is
      // measured after each round for the note.
      const timedBulks = async (send: () => Promise<void>): Promise<number> => {
        await intakeQueue.obliterate({ force: true });
        const started = performance.now();
        for (let index = 0; index < batches; index += 1) await send();
        return (batches * 1000) / ((performance.now() - started) / 1000);
      };
      const inRunner: number[] = [];
      const intake = await alternate(rounds, async (side) => {
        const rate = await timedBulks(async () => {
          if (side === 'bare') {
            const reply = await stack!.bareWorker.request(body);
            if (reply !== `added ${batch.length}`) throw new Error(`bare worker intake answered ${reply}`);
            return;
          }
          const response = await fetch(`${stack!.queueUrl}/jobs/${INTAKE_QUEUE}/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          if (response.status !== 201) throw new Error(`bulk answered ${response.status}: ${await response.text()}`);
          await response.arrayBuffer();
        });
        if (side === 'bare') inRunner.push(await timedBulks(async () => void (await intakeQueue.addBulk(batchWithOpts))));
        return rate;
      });
      await intakeQueue.obliterate({ force: true });
      await intakeQueue.close();
      const inRunnerNote = `Queue.addBulk in the bench process (the baseline before): median ${Math.round(median(inRunner))} jobs/s, ours / it ${(median(intake.ours) / median(inRunner)).toFixed(2)}`;
      rows.push(row(`HTTP job intake, POST /jobs/:queue/bulk ${batches} x 1000`, intake, 'jobs/s', 'bare worker child: Queue.addBulk of the same body and options', 0.8, `queue processor child over HTTP; ${inRunnerNote}`));

      // Job drain.
      const drainCount = Math.max(2000, Math.round(20_000 * scale));
      const drainQueue = new Queue(DRAIN_QUEUE, { connection: queueRedis, prefix: bullPrefix(DRAIN_QUEUE, queueRedis.isCluster) });
      const bareQueue = new Queue(BARE_QUEUE, { connection: queueRedis, prefix: bullPrefix(BARE_QUEUE, queueRedis.isCluster) });
      const drainOnlyQueue = new Queue(BARE_DRAIN_ONLY_QUEUE, { connection: queueRedis, prefix: bullPrefix(BARE_DRAIN_ONLY_QUEUE, queueRedis.isCluster) });
      const drainOnly: number[] = [];
      const drain = await alternate(rounds, async (side) => {
        if (side === 'ours') return drainJobs(stack!.queueProcessor, drainQueue, drainCount);
        const rate = await drainJobs(stack!.bareWorker, bareQueue, drainCount);
        // The drain-only bare worker (the old baseline) drains the same after each bare round.
        drainOnly.push(await drainJobs(stack!.bareDrainWorker, drainOnlyQueue, drainCount));
        return rate;
      });
      await Promise.all([drainQueue.close(), bareQueue.close(), drainOnlyQueue.close()]);
      rows.push(row(`job drain, ${drainCount} no-op jobs, concurrency ${CONCURRENCY}`, drain, 'jobs/s', 'bare BullMQ Worker child', 0.9, `SIGSTOP, fill, SIGCONT, until none waiting/active; the drain-only bare worker: median ${Math.round(median(drainOnly))} jobs/s`));

      // Event drain.
      const eventCount = Math.max(5000, Math.round(50_000 * scale));
      const ourPublisher = createEventPublisher({ stream: EVENT_STREAM, source: 'bench' }, { redis: streamsRedis, logger });
      const barePublisher = createEventPublisher({ stream: BARE_STREAM, source: 'bench' }, { redis: streamsRedis, logger });
      const bareLatencyPublisher = createEventPublisher({ stream: BARE_LATENCY_STREAM, source: 'bench' }, { redis: streamsRedis, logger });
      const group = STREAM_DEFAULTS.group;
      const events = await alternate(rounds, (side) =>
        side === 'ours'
          ? drainEvents(stack!.eventProcessor, streamsRedis, ourPublisher, EVENT_STREAM, group, eventCount)
          : drainEvents(stack!.bareReader, streamsRedis, barePublisher, BARE_STREAM, 'bare', eventCount),
      );
      rows.push(row(`event drain, ${eventCount} events`, events, 'ev/s', 'bare XREADGROUP+XACK child, batch 100', undefined, '1 consumer loop, dedupe and fan-out on; SIGSTOP, fill, SIGCONT, until read and acked'));

      // publish → handled latency, observed on the master.
      const handledAt = new Map<string, number>();
      const subscriber = client(master.url, { maxRetriesPerRequest: 20 });
      subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
        const id = (JSON.parse(message) as { id?: string }).id;
        if (id) handledAt.set(id, performance.now());
      });
      subscriber.on('message', (_channel: string, id: string) => handledAt.set(id, performance.now()));
      await subscriber.psubscribe(EVENT_CHANNEL_PATTERN);
      await subscriber.subscribe(BARE_CHANNEL);
      const latencyCount = Math.max(500, Math.round(2_000 * scale));
      const rate = 500;
      const ours: number[][] = [];
      const bare: number[][] = [];
      let fanOut = true;
      try {
        await latencies(ourPublisher, handledAt, 20, rate, 5_000);
      } catch {
        fanOut = false;
      }
      if (fanOut) {
        await latencies(bareLatencyPublisher, handledAt, 200, rate);
        await latencies(ourPublisher, handledAt, 200, rate);
        for (let round = 0; round < 2; round += 1) {
          for (const side of round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']) {
            if (side === 'ours') ours.push(await latencies(ourPublisher, handledAt, latencyCount, rate));
            else bare.push(await latencies(bareLatencyPublisher, handledAt, latencyCount, rate));
          }
        }
      }
      const all = (runs: number[][]): number[] => runs.flat().sort((a, b) => a - b);
      const latencyNote = fanOut
        ? `${2 * latencyCount} events at ${rate}/s per side after warm-up, 2 alternating rounds; seen on the master (fan-out vs bare PUBLISH)`
        : 'not measured: the event processor publishes no fan-out message on the master';
      rows.push({ metric: 'publish→handled p50', value: percentile(all(ours), 50), unit: 'ms', baseline: 'bare blocking reader p50', baselineValue: percentile(all(bare), 50), lowerIsBetter: true, note: latencyNote });
      rows.push({ metric: 'publish→handled p99', value: percentile(all(ours), 99), unit: 'ms', baseline: 'bare blocking reader p99', baselineValue: percentile(all(bare), 99), lowerIsBetter: true, target: 10, note: latencyNote });

      // Idle RSS after start, and peak RSS of each service over the whole run.
      const idleRss = (child: BenchChild, baseline?: BenchChild): BenchRow => ({
        metric: `${child.name} idle RSS`,
        value: idle.get(child)!,
        unit: 'MB',
        ...(baseline ? { baseline: `${baseline.name} child`, baselineValue: idle.get(baseline)! } : {}),
        lowerIsBetter: true,
        target: IDLE_TARGET_MB,
        note: `VmRSS ${idleSec} s after start, before any load`,
      });
      const peakRss = (child: BenchChild, baseline?: BenchChild, note = ''): BenchRow => ({
        metric: `${child.name} peak RSS`,
        value: child.peakRssMb(),
        unit: 'MB',
        ...(baseline ? { baseline: `${baseline.name} child`, baselineValue: baseline.peakRssMb(), maxRatio: PEAK_MAX_RATIO } : {}),
        lowerIsBetter: true,
        note: `VmHWM at the end of the run${note}`,
      });
      rows.push(idleRss(stack.queueProcessor, stack.bareWorker), idleRss(stack.eventProcessor, stack.bareReader), idleRss(stack.dlqProcessor));
      const drainOnlyPeak = stack.bareDrainWorker.peakRssMb();
      const oldBaseline = `; the bare worker took the bulk intake too (same body over stdin, Queue.addBulk); the drain-only bare worker (the baseline before): ${drainOnlyPeak.toFixed(0)} MB peak, ratio ${(stack.queueProcessor.peakRssMb() / drainOnlyPeak).toFixed(2)}, idle ${idle.get(stack.bareDrainWorker)!.toFixed(0)} MB`;
      rows.push(peakRss(stack.queueProcessor, stack.bareWorker, oldBaseline), peakRss(stack.eventProcessor, stack.bareReader), peakRss(stack.dlqProcessor));
      return rows;
    } finally {
      if (stack) await Promise.allSettled([stack.queueProcessor, stack.eventProcessor, stack.dlqProcessor, stack.bareWorker, stack.bareDrainWorker, stack.bareReader, stack.bareLatencyReader].map((child) => child.stop()));
      for (const created of clients) created.disconnect();
      await Promise.allSettled([streams.stop(), queueServer.stop()]);
    }
  },
};

export default suite;
