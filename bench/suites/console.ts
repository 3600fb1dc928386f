/**
 * The console's server side (issue 14) with 100,000 parked entries on the master Redis:
 * `GET /dlq` first page, a filtered page (three criteria, cursor pages) and a text search
 * page, p50/p99 of sequential requests (client round trip on loopback: an upper bound of
 * the server time; target p99 < 100 ms); `GET /dlq/fingerprints` (target < 500 ms); and a
 * redrive task of 10,000 entries at 1,000/s (target: done within 12 s, rate within 10 %).
 * Baselines, same run, same Redis: the bare `ZREVRANGE` + `MGET` of one page, and the asked rate.
 */
import { Redis } from 'ioredis';
import { createLogger } from '@event-infra/shared';
import { loadConfig } from '../../dlq-system/src/config';
import { dlqKeys } from '../../dlq-system/src/core/stored-entry';
import { startDlqProcessor } from '../../dlq-system/src/service';
import { putEntries, storedEntry } from '../../dlq-system/test/support/stored-entries';
import { percentile, pollUntil } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';

const ORIGINS = 10;
const REDRIVE_ORIGIN = 'bench-redrive';

async function timed(url: string): Promise<{ ms: number; body: any }> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.json();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  return { ms: performance.now() - started, body };
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

const suite: BenchSuite = {
  name: 'console',
  async run({ redis, scale }) {
    const logger = createLogger({ service: 'bench', level: 'silent' });
    const total = Math.max(10_000, Math.round(100_000 * scale));
    const redriveCount = Math.max(1_000, Math.round(10_000 * scale));
    const env = {
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_QUEUE_URL: redis.url,
      REDIS_STREAMS_URL: redis.url,
      DLQ_PROCESSOR_PORT: '0',
      DLQ_RETENTION_MAX_ENTRIES: '0',
      DLQ_REDRIVE_POLL_MS: '200',
    };
    const processor = await startDlqProcessor(loadConfig(env), logger);
    const master = new Redis(redis.url);
    const rows: BenchRow[] = [];
    try {
      // Setup: `total` parked entries through the store's own transition, pipelined on one connection.
      const now = Date.now();
      const entries = Array.from({ length: total }, (_, i) => {
        const redrive = i < redriveCount;
        const event = !redrive && i % 17 === 0;
        return storedEntry({
          id: `bench-${String(i).padStart(6, '0')}`,
          origin: redrive ? REDRIVE_ORIGIN : `bench-origin-${i % ORIGINS}`,
          classification: i % 3 === 0 ? 'transient' : 'permanent',
          kind: event ? 'event' : 'job',
          message: redrive ? `timeout after ${i}ms calling https://svc.test/items/${i}` : `failure kind ${i % 40} for record ${i}`,
          createdAtMs: now - (total - i) * 10,
          ...(event ? { name: 'workspace.created', subject: `workspace/w-${i}` } : {}),
        });
      });
      const setupStarted = performance.now();
      await putEntries(processor.store, entries, 1_000);
      const setupMs = performance.now() - setupStarted;
      if ((await master.zcard(dlqKeys.indexStatus('parked'))) !== total) throw new Error('setup: not every entry parked');

      // The bare Redis cost of one page: ZREVRANGE 50 ids + MGET of their entries.
      const bare: number[] = [];
      const samples = Math.max(50, Math.round(300 * scale));
      for (let i = 0; i < samples; i += 1) {
        const started = performance.now();
        const ids = await master.zrevrange(dlqKeys.indexAll(), 0, 49);
        await master.mget(...ids.map((id) => dlqKeys.entry(id)));
        bare.push(performance.now() - started);
      }
      const bareSorted = sorted(bare);

      const measure = async (name: string, path: (i: number, previous: any) => string): Promise<void> => {
        const times: number[] = [];
        let previous: any;
        let items = 0;
        for (let i = 0; i < samples; i += 1) {
          const { ms, body } = await timed(`${processor.url}${path(i, previous)}`);
          times.push(ms);
          items += body.items.length;
          previous = body;
        }
        const list = sorted(times);
        for (const p of [50, 99]) {
          rows.push({
            metric: `${name} p${p}`,
            value: percentile(list, p),
            unit: 'ms',
            baseline: 'ZREVRANGE+MGET of 50',
            baselineValue: percentile(bareSorted, p),
            target: p === 99 ? 100 : undefined,
            lowerIsBetter: true,
            note: p === 50 ? `${samples} requests, ${(items / samples).toFixed(1)} items/page, ${total.toLocaleString('en-US')} entries` : undefined,
          });
        }
      };

      await measure('GET /dlq first page (50)', () => '/dlq?limit=50');
      // Three criteria; each request follows the previous page's cursor (restarting at the end).
      const filtered = `/dlq?origin=bench-origin-3&classification=permanent&status=parked&limit=50`;
      await measure('GET /dlq filtered page (origin+class+status, cursor)', (_i, previous) =>
        previous?.nextCursor ? `${filtered}&cursor=${encodeURIComponent(previous.nextCursor)}` : filtered,
      );
      await measure('GET /dlq text search page (q, bounded scan)', (i) => `/dlq?q=workspace/w-${(i * 17 * 31) % total}&limit=50`);

      // Fingerprint grouping: counters kept by the transitions, read back.
      const fpTimes: number[] = [];
      let groups = 0;
      for (let i = 0; i < Math.max(20, Math.round(100 * scale)); i += 1) {
        const { ms, body } = await timed(`${processor.url}/dlq/fingerprints?status=parked&limit=50`);
        fpTimes.push(ms);
        groups = body.total;
      }
      const fpSorted = sorted(fpTimes);
      rows.push({ metric: 'GET /dlq/fingerprints p50', value: percentile(fpSorted, 50), unit: 'ms', lowerIsBetter: true, note: `${groups} fingerprints over ${total.toLocaleString('en-US')} entries` });
      rows.push({ metric: 'GET /dlq/fingerprints p99', value: percentile(fpSorted, 99), unit: 'ms', target: 500, lowerIsBetter: true });

      // Redrive one fingerprint of `redriveCount` entries at 1,000/s.
      const fingerprints = (await (await fetch(`${processor.url}/dlq/fingerprints?origin=${REDRIVE_ORIGIN}`)).json()) as any;
      const fingerprint = fingerprints.items[0].fingerprint as string;
      const posted = performance.now();
      const response = await fetch(`${processor.url}/dlq/redrive`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fingerprint, rate: 1000 }),
      });
      const created = (await response.json()) as any;
      if (response.status !== 202 || created.selected !== redriveCount) throw new Error(`redrive answered ${response.status} selecting ${created.selected}`);
      const selectedMs = performance.now() - posted;
      let task: any;
      await pollUntil(
        async () => {
          task = await (await fetch(`${processor.url}/dlq/tasks/${created.taskId}`)).json();
          return task.status === 'done' || task.status === 'failed';
        },
        120_000,
        'the redrive task',
        50,
      );
      const doneMs = performance.now() - posted;
      const runMs = Date.parse(task.finishedAt) - Date.parse(task.startedAt);
      const rate = (task.done / runMs) * 1000;
      rows.push({
        metric: `redrive ${redriveCount.toLocaleString('en-US')} at 1,000/s: POST to done`,
        value: doneMs / 1000,
        unit: 's',
        target: (12 * redriveCount) / 10_000,
        lowerIsBetter: true,
        note: `selection frozen in ${selectedMs.toFixed(0)} ms; done ${task.done}, skipped ${task.skipped}, failed ${task.failed}`,
      });
      rows.push({ metric: 'redrive rate held', value: rate, unit: '/s', baseline: 'asked rate', baselineValue: 1000, target: 0.9, note: `ratio must stay within 0.90–1.10; run ${runMs} ms` });
      rows.push({ metric: 'setup: entries stored through the transition', value: total / (setupMs / 1000), unit: '/s', note: `${total.toLocaleString('en-US')} in ${(setupMs / 1000).toFixed(1)} s` });
    } finally {
      master.disconnect();
      await processor.close();
    }
    return rows;
  },
};

export default suite;
