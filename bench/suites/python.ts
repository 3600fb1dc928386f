/**
 * Python publish throughput (clients/python, `StreamPublisher.publish_batch`, batches of 100,
 * one pipeline each) on the suite's Redis, against, in the same run and on the same Redis:
 * redis-benchmark's pipelined XADD (`-P 100`, one connection, the first event's exact wire
 * fields repeated; ten times the requests, at least 200,000, so that its run lasts long enough
 * to time), the Node publisher's `publishBatch` (same events, same batch size), and the
 * Python RESP client sending the same events pre-encoded (what validation and encoding cost).
 * The events come from the Python script (`dump`), so both languages publish identical inputs.
 * Rounds interleave the sides (order rotating), the stream is emptied between sides, and each
 * figure is the median over the rounds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closeRedis,
  createEvent,
  createEventPublisher,
  createLogger,
  createRedis,
  encodeEvent,
  waitForRedis,
  type EventInput,
} from '@event-infra/shared';
import { median } from '../lib/stats';
import type { BenchSuite } from '../types';

const BATCH_SIZE = 100;
const ROUNDS = 3;
const STREAM = 'bench-python';
const SOURCE = 'bench';
const MAXLEN = 1_000_000;
const CLIENT_DIR = fileURLToPath(new URL('../../clients/python/', import.meta.url));
const SCRIPT = join(CLIENT_DIR, 'bench', 'publish_throughput.py');
const CHILD_TIMEOUT_MS = 180_000;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: CHILD_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${error.message} ${stderr.slice(-500)}`));
      else resolve(stdout);
    });
  });
}

async function python(url: string, count: number, mode: 'publisher' | 'raw'): Promise<number> {
  const args = [SCRIPT, url, STREAM, String(count), String(BATCH_SIZE), ...(mode === 'raw' ? ['raw'] : [])];
  return (JSON.parse(await run('python3', args)) as { eventsPerSec: number }).eventsPerSec;
}

/** redis-benchmark's requests/s for `XADD` of `fields`, `-P 100`, one client (its CSV output). */
async function redisBenchmark(host: string, port: number, password: string, count: number, fields: string[]): Promise<number> {
  const args = ['-h', host, '-p', String(port), '-a', password, '-n', String(count), '-c', '1', '-P', String(BATCH_SIZE), '--csv'];
  const out = await run('redis-benchmark', [...args, 'XADD', STREAM, 'MAXLEN', '~', String(MAXLEN), '*', ...fields]);
  const line = out.trim().split('\n').find((text) => text.startsWith('"XADD'));
  const rps = line === undefined ? Number.NaN : Number(/","([\d.]+)"/.exec(line)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`redis-benchmark printed no rate: ${out.slice(-300)}`);
  return rps;
}

const suite: BenchSuite = {
  name: 'python',
  async run({ redis: server, scale }) {
    const count = Math.max(1_000, Math.round(50_000 * scale));
    const inputs = JSON.parse(await run('python3', [SCRIPT, 'dump', String(count)])) as EventInput[];
    const logger = createLogger({ service: 'bench', level: 'warn' });
    const redis = createRedis({ url: server.url, role: 'redis-streams', profile: 'producer', logger });
    try {
      await waitForRedis(redis, 'redis-streams', 5_000);
      const publisher = createEventPublisher({ stream: STREAM, source: SOURCE, maxLenApprox: MAXLEN }, { redis, logger });
      const sample = encodeEvent(createEvent(inputs[0]!, SOURCE));
      const node = async (): Promise<number> => {
        const started = process.hrtime.bigint();
        for (let offset = 0; offset < count; offset += BATCH_SIZE) await publisher.publishBatch(inputs.slice(offset, offset + BATCH_SIZE));
        return count / (Number(process.hrtime.bigint() - started) / 1e9);
      };
      const sides: Record<string, () => Promise<number>> = {
        python: () => python(server.url, count, 'publisher'),
        pythonRaw: () => python(server.url, count, 'raw'),
        node,
        redisBenchmark: () => redisBenchmark(server.host, server.port, server.password, Math.max(200_000, count * 10), sample),
      };
      const names = Object.keys(sides);
      const results: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
      await node(); // warm-up of the Node side's JIT; not counted
      for (let round = 0; round < ROUNDS; round += 1) {
        for (let step = 0; step < names.length; step += 1) {
          const name = names[(round + step) % names.length]!;
          await redis.del(STREAM);
          results[name]!.push(await sides[name]!());
        }
      }
      const [py, raw, nodeRate, rb] = ['python', 'pythonRaw', 'node', 'redisBenchmark'].map((name) => median(results[name]!)) as [number, number, number, number];
      const note = `${count} events, ${BATCH_SIZE}/pipeline, median of ${ROUNDS} interleaved rounds`;
      const perRound = (side: string, base: string): string => results[side]!.map((value, index) => (value / results[base]![index]!).toFixed(2)).join(' ');
      return [
        { metric: 'Python publish_batch events/s', value: py, unit: 'ev/s', baseline: 'redis-benchmark XADD -P 100 -c 1', baselineValue: rb, note },
        { metric: 'Python publish_batch events/s', value: py, unit: 'ev/s', baseline: 'Node publishBatch (batch 100)', baselineValue: nodeRate, note: `${note}; per-round ratios ${perRound('python', 'node')}` },
        { metric: 'Python pre-encoded XADD events/s', value: raw, unit: 'ev/s', baseline: 'redis-benchmark XADD -P 100 -c 1', baselineValue: rb, note: 'the RESP client alone: no validation, no encoding' },
        { metric: 'Node publishBatch events/s', value: nodeRate, unit: 'ev/s', baseline: 'redis-benchmark XADD -P 100 -c 1', baselineValue: rb, note },
      ];
    } finally {
      await closeRedis(redis);
    }
  },
};

export default suite;
