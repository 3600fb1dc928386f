/**
 * Setup shared by the suites that drain a pre-filled stream through the real event processor
 * (`events`, `timeline`): the stream's pre-fill, the processor's environment, and the timed
 * drain itself. What each suite varies (batch, dedupe, fan-out, timeline, tracing) it passes in.
 */
import { createEventPublisher, type EventInput, type Redis } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';
import type { EventConfig } from '../../event-system/src/config';
import { startEventProcessor } from '../../event-system/src/service';

/** Appends `count` events built by `event` to `stream`, 1,000 per `publishBatch`, untrimmed. */
export async function prefillEvents(redis: Redis, stream: string, count: number, event: () => EventInput): Promise<void> {
  const publisher = createEventPublisher({ stream, source: 'bench', maxLenApprox: 0 }, { redis, logger: silentLogger() });
  for (let done = 0; done < count; done += 1_000) {
    await publisher.publishBatch(Array.from({ length: Math.min(1_000, count - done) }, () => event()));
  }
}

/**
 * A bench event processor's environment on one Redis for every role: batch `batchSize`, one
 * consumer loop, no autoscaling, no trimming, no HTTP port to pick; `overrides` add the rest
 * (stream, group, dedupe, fan-out, timeline, tracing).
 */
export function benchEventEnv(url: string, batchSize: number, overrides: Record<string, string>): Record<string, string> {
  return {
    REDIS_URL: url,
    REDIS_STREAMS_URL: url,
    REDIS_QUEUE_URL: url,
    EVENT_PROCESSOR_PORT: '0',
    LOG_LEVEL: 'silent',
    EVENT_BATCH_SIZE: String(batchSize),
    EVENT_CONSUMERS: '1',
    EVENT_SCALE_INTERVAL_MS: '0',
    EVENT_TRIM_INTERVAL_MS: '0',
    ...overrides,
  };
}

/** A drain's rate and this process's CPU time per event over the same window (µs). */
export interface DrainResult {
  rate: number;
  cpuUsPerEvent: number;
}

/** This process's CPU time (user + system) since `start`, per event, µs. */
export function cpuSince(start: NodeJS.CpuUsage, events: number): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / events;
}

/**
 * The processor built from `config` (a noop handler on every type) drains `count` events of
 * its stream as its group. The first handled event starts the clock (connections and HTTP
 * start-up are not part of the drain), so the rate is over `count - 1` events.
 */
export async function timedEventDrain(config: EventConfig, count: number): Promise<DrainResult> {
  let handled = 0;
  let started = 0;
  let cpu = process.cpuUsage();
  let finish!: (ms: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const processor = await startEventProcessor(config, silentLogger(), {
    configure: (router) =>
      router.on('*', 'noop', async () => {
        handled += 1;
        if (handled === 1) {
          started = performance.now();
          cpu = process.cpuUsage();
        }
        if (handled === count) finish(performance.now() - started);
      }),
  });
  try {
    const ms = await finished;
    return { rate: (count - 1) / (ms / 1_000), cpuUsPerEvent: cpuSince(cpu, count - 1) };
  } finally {
    await processor.close();
  }
}
