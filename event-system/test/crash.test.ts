import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from '@event-infra/shared';
import { uniqueName, waitFor } from '@event-infra/testing';
import { pendingCount, testClient, testEnv, testPublisher, workspaceCreated } from './helpers';

const fixture = fileURLToPath(new URL('./fixtures/recording-processor.ts', import.meta.url));
const children: ChildProcess[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(clients.splice(0).map((client) => client.quit()));
});
function client(role: 'master' | 'streams' | 'queue'): Redis {
  const redis = testClient(role);
  clients.push(redis);
  return redis;
}

interface Child {
  process: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function spawnProcessor(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    void exited.then(({ code }) => reject(new Error(`processor exited with ${code}: ${output}`)));
  });
  return { process: child, url, exited };
}

async function publishMany(redis: Redis, stream: string, count: number): Promise<Set<string>> {
  const publisher = testPublisher(redis, stream);
  const ids = new Set<string>();
  for (let offset = 0; offset < count; offset += 500) {
    const batch = Array.from({ length: Math.min(500, count - offset) }, (_, i) => workspaceCreated(`e${offset + i}`));
    for (const published of await publisher.publishBatch(batch)) ids.add(published.id);
  }
  return ids;
}

describe('crash and shutdown', () => {
  it('two processes, one kill -9ed mid-way: every event handled at least once, none pending', { timeout: 120_000 }, async () => {
    const recordKey = uniqueName('handled');
    const env = testEnv({ RECORD_KEY: recordKey, EVENT_CONSUMERS: '2', EVENT_BATCH_SIZE: '50', EVENT_CLAIM_IDLE_MS: '1000', EVENT_CLAIM_INTERVAL_MS: '250', EVENT_BLOCK_MS: '500' });
    const master = client('master');
    const streams = client('streams');
    const [victim, survivor] = await Promise.all([spawnProcessor(env), spawnProcessor(env)]);
    const total = 10_000;
    const published = await publishMany(streams, env.STREAM_NAME!, total);
    expect(published.size).toBe(total);
    await waitFor(async () => (await master.hlen(recordKey)) >= 2_000, '2,000 events handled', { timeoutMs: 60_000 });
    victim.process.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const stranded = await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!);
    // Killed mid-way: work left to do, some of it read but unacknowledged by the victim.
    expect(await master.hlen(recordKey)).toBeLessThan(total);
    expect(stranded).toBeGreaterThan(0);

    await waitFor(async () => (await master.hlen(recordKey)) === total, 'all 10,000 handled', { timeoutMs: 90_000, intervalMs: 200 });
    await waitFor(async () => (await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'nothing pending', { timeoutMs: 30_000 });

    const counts = await master.hgetall(recordKey);
    expect(new Set(Object.keys(counts))).toEqual(published);
    const deliveries = Object.values(counts).map(Number);
    const handledTwice = deliveries.filter((n) => n > 1).length;
    // Only entries the victim had read but not acknowledged can run twice.
    expect(deliveries.every((n) => n >= 1)).toBe(true);
    expect(handledTwice).toBeLessThanOrEqual(stranded + 2 * 50);
    const stats = (await (await fetch(`${survivor.url}/stats`)).json()) as { counters: { processed: number; reclaimed: number; deadLettered: number }; pending: number; lag: number };
    expect(stats).toMatchObject({ pending: 0, lag: 0 });
    expect(stats.counters.deadLettered).toBe(0);
    // The survivor took the victim's unacknowledged entries over.
    expect(stats.counters.reclaimed).toBeGreaterThan(0);
    survivor.process.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);
  });

  it('SIGTERM: stops reading, acknowledges the batch in hand and exits 0', { timeout: 60_000 }, async () => {
    const recordKey = uniqueName('handled');
    const env = testEnv({ RECORD_KEY: recordKey, EVENT_CONSUMERS: '2', EVENT_BATCH_SIZE: '20', EVENT_BLOCK_MS: '30000', EVENT_CLAIM_IDLE_MS: '60000' });
    const master = client('master');
    const streams = client('streams');
    const child = await spawnProcessor(env);
    // Far more than it handles before the signal lands, even when the poll below is late: the
    // child handles thousands a second.
    const total = 10_000;
    await publishMany(streams, env.STREAM_NAME!, total);
    await waitFor(async () => (await master.hlen(recordKey)) >= 300, 'some events handled', { timeoutMs: 30_000 });
    const signalledAt = Date.now();
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    // A blocked read is interrupted: shutdown does not wait for the 30 s block (the bound leaves
    // a loaded machine room for the child's own shutdown steps).
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    expect(await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)).toBe(0);
    const handled = await master.hlen(recordKey);
    expect(handled).toBeLessThan(total);
    const groups = (await streams.call('XINFO', 'GROUPS', env.STREAM_NAME!)) as unknown[][];
    const entriesRead = Number(groups[0]![groups[0]!.indexOf('entries-read') + 1]);
    // Everything it read was handled and acknowledged: read count equals handled count.
    expect(entriesRead).toBe(handled);
  });
});
