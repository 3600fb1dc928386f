/**
 * Events per second through `publishBatch` (validate, fill id/time, encode, pipelined XADD)
 * against a raw ioredis pipelined XADD loop of the SAME events, pre-encoded with
 * `encodeEvent` before the clock starts, on the same Redis, same client, same batch size and
 * the same `MAXLEN ~` head. The machine is shared, so the two are interleaved finely: each
 * round walks the events in slices of 10,000, runs both sides on each slice (the order
 * alternating), and adds up each side's time; each figure is the median over the rounds.
 */
import {
  closeRedis,
  createEvent,
  createEventPublisher,
  createLogger,
  createRedis,
  encodeEvent,
  waitForRedis,
  type EventInput,
  type Redis,
} from '@event-infra/shared';
import { SAMPLE_EVENT_DATA } from '@event-infra/testing';
import { median } from '../lib/stats';
import type { BenchSuite } from '../types';

const BATCH_SIZE = 500;
const ROUNDS = 5;
const SLICE = 10_000;
const STREAM = 'bench-publisher';
const SOURCE = 'bench';
/** The publisher's default safety cap, so both sides send the same XADD head. */
const MAXLEN = 1_000_000;

/** Events of several families, varied ids, so neither side benefits from identical payloads. */
function makeInputs(count: number): EventInput[] {
  const kinds = ['workspace.created', 'job.progress', 'user.updated', 'airtable.record.updated'] as const;
  return Array.from({ length: count }, (_, index) => {
    const type = kinds[index % kinds.length]!;
    const data: Record<string, unknown> = { ...SAMPLE_EVENT_DATA[type] };
    if (type === 'job.progress') data.progress = index % 101;
    data.seq = index;
    return { type, data, correlationid: `corr-${index}` };
  });
}

/** Seconds to XADD the pre-encoded entries, `BATCH_SIZE` per pipeline. */
async function rawPipelined(redis: Redis, encoded: string[][]): Promise<number> {
  const started = process.hrtime.bigint();
  for (let offset = 0; offset < encoded.length; offset += BATCH_SIZE) {
    const pipeline = redis.pipeline();
    for (const fields of encoded.slice(offset, offset + BATCH_SIZE)) pipeline.xadd(STREAM, 'MAXLEN', '~', String(MAXLEN), '*', ...fields);
    const results = await pipeline.exec();
    if (results === null || results.some(([err]) => err !== null)) throw new Error('raw XADD failed');
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds to publish the inputs through `publishBatch`, `BATCH_SIZE` per call. */
async function throughPublisher(publish: (inputs: readonly EventInput[]) => Promise<unknown>, inputs: EventInput[]): Promise<number> {
  const started = process.hrtime.bigint();
  for (let offset = 0; offset < inputs.length; offset += BATCH_SIZE) await publish(inputs.slice(offset, offset + BATCH_SIZE));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const suite: BenchSuite = {
  name: 'publisher',
  async run({ redis: server, scale }) {
    const count = Math.max(BATCH_SIZE, Math.round(100_000 * scale));
    const logger = createLogger({ service: 'bench', level: 'warn' });
    const redis = createRedis({ url: server.url, role: 'redis-streams', profile: 'producer', logger });
    try {
      await waitForRedis(redis, 'redis-streams', 5_000);
      const publisher = createEventPublisher({ stream: STREAM, source: SOURCE, maxLenApprox: MAXLEN }, { redis, logger });
      const inputs = makeInputs(count);
      // The baseline sends exactly what the publisher would: complete, encoded envelopes.
      const encoded = inputs.map((input) => encodeEvent(createEvent(input, SOURCE)));
      const warmup = Math.min(count, SLICE);
      await rawPipelined(redis, encoded.slice(0, warmup));
      await throughPublisher(publisher.publishBatch, inputs.slice(0, warmup));
      await redis.del(STREAM);
      const raw: number[] = [];
      const published: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        let rawSeconds = 0;
        let publisherSeconds = 0;
        for (let offset = 0, slice = 0; offset < count; offset += SLICE, slice += 1) {
          const sideA = async (): Promise<void> => {
            rawSeconds += await rawPipelined(redis, encoded.slice(offset, offset + SLICE));
          };
          const sideB = async (): Promise<void> => {
            publisherSeconds += await throughPublisher(publisher.publishBatch, inputs.slice(offset, offset + SLICE));
          };
          if ((round + slice) % 2 === 0) {
            await sideA();
            await sideB();
          } else {
            await sideB();
            await sideA();
          }
        }
        // Both sides wrote `count` entries this round; start the next from an empty stream.
        await redis.del(STREAM);
        raw.push(count / rawSeconds);
        published.push(count / publisherSeconds);
      }
      const ratios = raw.map((value, index) => (published[index]! / value).toFixed(2)).join(' ');
      return [
        {
          metric: 'publishBatch events/s',
          value: median(published),
          unit: 'ev/s',
          baseline: 'raw pipelined XADD (pre-encoded)',
          baselineValue: median(raw),
          target: 0.8,
          note: `${count} events, ${BATCH_SIZE}/pipeline, interleaved per ${SLICE}, median of ${ROUNDS}; per-round ratios ${ratios}`,
        },
      ];
    } finally {
      await closeRedis(redis);
    }
  },
};

export default suite;
