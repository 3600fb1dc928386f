/**
 * Event processor throughput and latency (issue 4).
 * 1. events/s draining a pre-filled stream through the real processor (service composition,
 *    one consumer loop, no-op handler, fan-out off, duplicate suppression on) against a bare
 *    XREADGROUP + XACK loop with the same batch size on the same stream (another group).
 * 2. publish → handled latency at ~1,000 events/s with fan-out on, against a bare blocking
 *    XREADGROUP reader measured the same way (same process, same publishing pattern).
 */
import { randomUUID } from 'node:crypto';
import { createEventPublisher, createRedis, type EventInput, type Redis } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';
import { loadConfig } from '../../event-system/src/config';
import { startEventProcessor, type EventProcessor } from '../../event-system/src/service';
import { benchEventEnv, cpuSince, prefillEvents, timedEventDrain, type DrainResult } from '../lib/event-drain';
import { median, percentile } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';

const BATCH = 100;

function event(id = randomUUID()): EventInput {
  return { id, type: 'workspace.created', data: { workspaceId: 'w-1', name: 'bench', ownerId: 'u-1' } };
}

/** Bare loop: XREADGROUP COUNT BATCH, XACK, until the group has read everything. */
async function bareDrain(redis: Redis, stream: string, group: string, count: number): Promise<DrainResult> {
  await redis.xgroup('CREATE', stream, group, '0');
  const cpu = process.cpuUsage();
  const started = performance.now();
  let read = 0;
  while (read < count) {
    const reply = (await redis.xreadgroup('GROUP', group, 'bare', 'COUNT', BATCH, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
    const ids = (reply?.[0]?.[1] ?? []).map(([id]) => id);
    if (ids.length === 0) break;
    await redis.xack(stream, group, ...ids);
    read += ids.length;
  }
  return { rate: read / ((performance.now() - started) / 1_000), cpuUsPerEvent: cpuSince(cpu, read) };
}

function env(url: string, overrides: Record<string, string>): Record<string, string> {
  return benchEventEnv(url, BATCH, { EVENT_DEDUPE_ENABLED: 'true', ...overrides });
}

/** The processor drains the stream as group `group`; timed from the first handled event. */
function processorDrain(url: string, stream: string, group: string, count: number): Promise<DrainResult> {
  return timedEventDrain(loadConfig(env(url, { STREAM_NAME: stream, CONSUMER_GROUP: group, EVENT_FANOUT_ENABLED: 'false' })), count);
}

/** Publishes `count` events at `ratePerSec`, one XADD each, recording the send time per id. */
async function publishAtRate(redis: Redis, stream: string, count: number, ratePerSec: number, sentAt: Map<string, number>): Promise<void> {
  const publisher = createEventPublisher({ stream, source: 'bench' }, { redis, logger: silentLogger() });
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let index = 0; index < count; index += 1) {
    const due = started + (index * 1_000) / ratePerSec;
    const wait = due - performance.now();
    // Yield every time: a publisher behind schedule must not starve the reader it measures.
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, Math.floor(wait)));
    else await new Promise((resolve) => setImmediate(resolve));
    const id = randomUUID();
    sentAt.set(id, performance.now());
    inFlight.push(publisher.publish(event(id)));
  }
  await Promise.all(inFlight);
}

async function waitForAll(seen: Map<string, number>, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (seen.size < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Events before the measured run (JIT, connections, caches), then forgotten: steady state only. */
const WARM_UP_EVENTS = 500;
async function warmUp(redis: Redis, stream: string, sentAt: Map<string, number>, handledAt: Map<string, number>): Promise<void> {
  await publishAtRate(redis, stream, WARM_UP_EVENTS, 1_000, sentAt);
  await waitForAll(handledAt, WARM_UP_EVENTS);
  sentAt.clear();
  handledAt.clear();
}

function latencies(sentAt: Map<string, number>, handledAt: Map<string, number>): number[] {
  return [...handledAt].map(([id, at]) => at - sentAt.get(id)!).sort((a, b) => a - b);
}

async function bareLatency(url: string, publisherRedis: Redis, count: number): Promise<number[]> {
  const reader = createRedis({ url, role: 'bench', profile: 'consumer', logger: silentLogger() });
  const stream = `bench-latency-bare-${randomUUID()}`;
  await reader.xgroup('CREATE', stream, 'bare', '0', 'MKSTREAM');
  const sentAt = new Map<string, number>();
  const handledAt = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const reply = (await reader.xreadgroup('GROUP', 'bare', 'r', 'COUNT', BATCH, 'BLOCK', 200, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      const now = performance.now();
      for (const [, fields] of entries) handledAt.set(fields[fields.indexOf('id') + 1]!, now);
      if (entries.length > 0) await reader.xack(stream, 'bare', ...entries.map(([id]) => id));
    }
  })();
  await warmUp(publisherRedis, stream, sentAt, handledAt);
  await publishAtRate(publisherRedis, stream, count, 1_000, sentAt);
  await waitForAll(handledAt, count);
  running = false;
  await loop;
  reader.disconnect();
  return latencies(sentAt, handledAt);
}

async function processorLatency(url: string, publisherRedis: Redis, count: number): Promise<{ latencies: number[]; processor: EventProcessor }> {
  const stream = `bench-latency-proc-${randomUUID()}`;
  const sentAt = new Map<string, number>();
  const handledAt = new Map<string, number>();
  const config = loadConfig(env(url, { STREAM_NAME: stream, CONSUMER_GROUP: 'processor', EVENT_FANOUT_ENABLED: 'true', EVENT_BLOCK_MS: '200' }));
  // Registered after fan-out: "handled" is when the fan-out PUBLISH has been acknowledged.
  const processor = await startEventProcessor(config, silentLogger(), {
    configure: (router) => router.on('*', 'mark', async (e) => void handledAt.set(e.id, performance.now())),
  });
  await warmUp(publisherRedis, stream, sentAt, handledAt);
  await publishAtRate(publisherRedis, stream, count, 1_000, sentAt);
  await waitForAll(handledAt, count);
  return { latencies: latencies(sentAt, handledAt), processor };
}

const suite: BenchSuite = {
  name: 'events',
  async run({ redis, scale }) {
    const url = redis.url;
    const client = createRedis({ url, role: 'bench', profile: 'consumer', logger: silentLogger() });
    const rows: BenchRow[] = [];
    try {
      const count = Math.max(1_000, Math.round(200_000 * scale));
      const stream = 'bench-throughput';
      await prefillEvents(client, stream, count, () => event());
      // Alternated three times on the same stream (one group per run): the machine's load
      // drifts, so medians; CPU time per event is the steadier figure on a shared machine.
      const bareRuns: DrainResult[] = [];
      const processorRuns: DrainResult[] = [];
      for (const round of [1, 2, 3]) {
        bareRuns.push(await bareDrain(client, stream, `bare-${round}`, count));
        processorRuns.push(await processorDrain(url, stream, `processor-${round}`, count));
      }
      const list = (values: number[], digits = 0): string => values.map((value) => value.toFixed(digits)).join('/');
      const rates = (results: DrainResult[]): number[] => results.map((result) => result.rate);
      const cpus = (results: DrainResult[]): number[] => results.map((result) => result.cpuUsPerEvent);
      rows.push({
        metric: `processor drain ${count.toLocaleString('en-US')} events, batch ${BATCH}, 1 loop, dedupe on`,
        value: median(rates(processorRuns)),
        unit: 'events/s',
        baseline: 'bare XREADGROUP+XACK loop',
        baselineValue: median(rates(bareRuns)),
        target: 0.8,
        note: `median of 3 alternated runs; processor ${list(rates(processorRuns))}, bare ${list(rates(bareRuns))} events/s; CPU processor ${list(cpus(processorRuns), 1)}, bare ${list(cpus(bareRuns), 1)} µs/event`,
      });

      const latencyCount = Math.max(500, Math.round(5_000 * scale));
      const bareLat = await bareLatency(url, client, latencyCount);
      const { latencies: procLat, processor } = await processorLatency(url, client, latencyCount);
      await processor.close();
      const note = `${latencyCount} events at 1,000/s after ${WARM_UP_EVENTS} warm-up, fan-out on`;
      rows.push({ metric: 'publish→handled p50', value: percentile(procLat, 50), unit: 'ms', baseline: 'bare blocking reader p50', baselineValue: percentile(bareLat, 50), lowerIsBetter: true, note });
      rows.push({ metric: 'publish→handled p99', value: percentile(procLat, 99), unit: 'ms', baseline: 'bare blocking reader p99', baselineValue: percentile(bareLat, 99), target: 10, lowerIsBetter: true, note });
    } finally {
      client.disconnect();
    }
    return rows;
  },
};

export default suite;
