/**
 * The fault suite: one local-mode stack (`scripts/stack.sh up`, free ports, temp data and
 * logs, API key, admin credentials and Redis passwords of this run), and under a steady mixed
 * load each fault in turn: `kill -9` of each service then restart, SHUTDOWN and restart of each
 * Redis (AOF), a Redis frozen for 10 s (SIGSTOP/SIGCONT), an alert webhook receiver that is
 * down. After each: every /health is 200 again, and per id, every accepted job completed or
 * is in the DLQ (parked/recovered) and every accepted event is on the stream and acknowledged
 * by the group, with its trigger job run. At the end, no secret in any log line of the run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_CHANNEL_PATTERN, STREAM_DEFAULTS, waitForAll, type Redis } from '@event-infra/shared';
import { freePort, waitFor } from '@event-infra/testing';
import { startLoad, type LoadResult } from './load-generator';
import { settleEvents, settleJobs, type DlqApi } from './settlement';
import { figuresLine, figuresTable, writeFiguresFile, type FaultFigures } from './fault-report';
import { scanLogsForSecrets } from './log-secrets';
import { createWebhookReceiver, type WebhookReceiver } from './webhook-receiver';
import {
  allHealthy, createStackEnv, healthCode, isAlive, killNine, recordedPid, REDIS_NAMES, SERVICE_NAMES, shutdownRedis,
  stackDown, stackRedis, stackUp, waitHealthy, type RedisName, type ServiceName, type StackHandle,
} from './fault-stack';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Load before the fault, and after it once the stack is healthy again, ms (FAULTS_LOAD_MS, each side). */
const LOAD_MS = Number(process.env.FAULTS_LOAD_MS ?? 3_000);
/** Requests per second of the load (FAULTS_RATE). */
const RATE = Number(process.env.FAULTS_RATE ?? 30);
const SETTLE_MS = 120_000;
const FREEZE_MS = 10_000;

/** `refused: 12× status 0 (TypeError), 3× 503` style summary. */
function refusalSummary(result: LoadResult): string {
  if (result.refused.length === 0) return '';
  const counts = new Map<string, number>();
  for (const refusal of result.refused) {
    const key = refusal.status === 0 ? `no answer (${refusal.reason.split(':')[0]})` : `${refusal.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return `refused: ${[...counts].map(([key, count]) => `${count}× ${key}`).join(', ')}`;
}

const triggerName = (JSON.parse(readFileSync(join(ROOT, 'event-system', 'triggers.example.json'), 'utf8')) as { triggers: { name: string; on: string }[] })
  .triggers.find((trigger) => trigger.on === 'workspace.created')!.name;

describe('fault suite (local-mode stack under load)', () => {
  let dir: string;
  let stack: StackHandle;
  let receiver: WebhookReceiver;
  let queueRedis: Redis;
  let streamsRedis: Redis;
  let subscriber: Redis;
  let dlqApi: DlqApi;
  const fanOutIds = new Set<string>();
  const figures: FaultFigures[] = [];
  const frozen = new Set<number>();
  let faultNumber = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-faults-'));
    receiver = createWebhookReceiver(await freePort());
    await receiver.start();
    stack = await createStackEnv(dir, receiver.port);
    await stackUp(stack);
    dlqApi = { baseUrl: stack.urls['dlq-processor'], apiKey: stack.secrets.apiKey };
    queueRedis = stackRedis(stack, 'redis-queue');
    streamsRedis = stackRedis(stack, 'redis-streams');
    subscriber = stackRedis(stack, 'redis');
    await waitForAll({ queueRedis, streamsRedis, subscriber }, 10_000);
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      try {
        fanOutIds.add((JSON.parse(message) as { id: string }).id);
      } catch {
        // Not an envelope: not ours to count.
      }
    });
    await subscriber.psubscribe(EVENT_CHANNEL_PATTERN);
  }, 240_000);

  afterAll(async () => {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    subscriber?.disconnect();
    queueRedis?.disconnect();
    streamsRedis?.disconnect();
    if (stack) await stackDown(stack);
    await receiver?.stop();
    if (figures.length > 0) {
      const file = writeFiguresFile(ROOT, figures, `Load: ${RATE} req/s (jobs on every work queue, events with triggers), from ${LOAD_MS / 1000} s before each fault until ${LOAD_MS / 1000} s after the stack is healthy again.`);
      process.stdout.write(`\n${figuresTable(figures)}\n(written to ${file})\n`);
    }
    if (dir && !process.env.FAULTS_KEEP_DIR) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  /**
   * Runs the load, injects the fault once some load was accepted, waits for health, then
   * proves per id that nothing accepted was lost. `inject` resolves once the fault is over
   * (restart done, process resumed); it returns a note for the table.
   */
  async function underLoad(fault: string, inject: () => Promise<string>): Promise<FaultFigures> {
    faultNumber += 1;
    await waitHealthy(stack, Date.now());
    const fromEntryId = `${Date.now() - 1_000}-0`;
    const load = startLoad({ baseUrl: stack.urls['queue-processor'], apiKey: stack.secrets.apiKey, idPrefix: `f${faultNumber}`, ratePerSec: RATE, durationMs: 180_000 });
    const loadStart = Date.now();
    // Some load accepted, for at least LOAD_MS, before the fault.
    await waitFor(() => load.live.jobs.length >= 10 && load.live.events.length >= 5 && Date.now() - loadStart >= LOAD_MS, 'load accepted before the fault', { timeoutMs: 60_000 });
    const faultAt = Date.now();
    let note: string;
    try {
      note = await inject();
    } catch (caught) {
      load.stop();
      await load.done;
      throw caught;
    }
    const healthyMs = await waitHealthy(stack, faultAt);
    // The stack accepts load again after the fault: more jobs and events accepted, for LOAD_MS.
    const [jobsBefore, eventsBefore, healthyAt] = [load.live.jobs.length, load.live.events.length, Date.now()];
    await waitFor(
      () => load.live.jobs.length >= jobsBefore + 10 && load.live.events.length >= eventsBefore + 5 && Date.now() - healthyAt >= LOAD_MS,
      'load accepted again after the fault',
      { timeoutMs: 60_000 },
    );
    load.stop();
    const result: LoadResult = await load.done;
    const loadEnd = Date.now();
    const jobs = await settleJobs(queueRedis, dlqApi, result.jobs, SETTLE_MS);
    const events = await settleEvents(result.events, {
      streamsRedis, queueRedis, api: dlqApi, stream: STREAM_DEFAULTS.stream, group: STREAM_DEFAULTS.group, fromEntryId, triggerName, timeoutMs: SETTLE_MS,
    });
    const settleMs = Date.now() - loadEnd;
    const triggered = result.events.filter((event) => event.triggers).length;
    const row: FaultFigures = {
      fault,
      sent: result.sent,
      acceptedJobs: result.jobs.length,
      acceptedEvents: result.events.length,
      refused: result.refused.length,
      completed: jobs.completed,
      deadLettered: jobs.parked + jobs.recovered,
      handled: events.handled,
      triggers: `${events.triggersCompleted}/${triggered}`,
      fanOut: result.events.filter((event) => fanOutIds.has(event.id)).length,
      healthyMs,
      settleMs,
      note: [note, refusalSummary(result), jobs.recovered > 0 ? `${jobs.recovered} recovered from the DLQ` : '', result.skipped > 0 ? `${result.skipped} ticks skipped` : '']
        .filter(Boolean).join('; '),
    };
    figures.push(row);
    process.stdout.write(`${figuresLine(row)}\n`);
    // Nothing lost: per id, jobs completed or dead-lettered, events acknowledged with their trigger jobs.
    expect(jobs.unsettled, 'jobs neither completed nor in the DLQ').toEqual([]);
    expect(events.unsettled, 'events not handled').toEqual([]);
    expect(jobs.completed + jobs.parked + jobs.recovered).toBe(result.jobs.length);
    expect(events.handled).toBe(result.events.length);
    expect(events.triggersCompleted + events.deadLettered).toBe(triggered);
    // The load really ran, and permanent failures really went to the DLQ (the check can tell them apart).
    expect(result.jobs.length).toBeGreaterThan(20);
    expect(jobs.expectedDeadLetters).toBe(result.jobs.filter((job) => job.expect === 'dead-letter').length);
    return row;
  }

  const servicePids = (): (number | undefined)[] => SERVICE_NAMES.map((name) => recordedPid(stack, name));

  it('closes the APIs and Bull Board without credentials, opens them with', async () => {
    const queueApi = stack.urls['queue-processor'];
    expect((await fetch(`${queueApi}/jobs/async-processing/nope`)).status).toBe(401);
    const basic = `Basic ${Buffer.from(`${stack.secrets.adminUser}:${stack.secrets.adminPassword}`).toString('base64')}`;
    expect((await fetch(`${queueApi}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${queueApi}/admin/queues`, { headers: { authorization: basic } })).status).toBe(200);
    expect((await fetch(`${stack.urls['dlq-processor']}/dlq`)).status).toBe(401);
  });

  it('the proof tells a lost id apart (a job and an event that were never stored)', async () => {
    const fromEntryId = `${Date.now() - 1_000}-0`;
    const jobs = await settleJobs(queueRedis, dlqApi, [{ queue: 'async-processing', id: 'never-stored', name: 'demo.sleep', expect: 'complete' }], 1_500);
    expect(jobs.unsettled).toEqual(['async-processing/never-stored (demo.sleep): NO JOB HASH']);
    const events = await settleEvents([{ id: '00000000-0000-4000-8000-000000000000', type: 'user.created', triggers: false }], {
      streamsRedis, queueRedis, api: dlqApi, stream: STREAM_DEFAULTS.stream, group: STREAM_DEFAULTS.group, fromEntryId, triggerName, timeoutMs: 1_500,
    });
    expect(events.unsettled.join('\n')).toContain('NOT ON THE STREAM');
  });

  for (const service of SERVICE_NAMES) {
    it(`kill -9 of ${service}, then restart: nothing lost`, async () => {
      await underLoad(`kill -9 ${service}`, async () => {
        const pid = await killNine(stack, service as ServiceName);
        // The others keep serving while it is down.
        const others = SERVICE_NAMES.filter((name) => name !== service);
        const codes = await Promise.all(others.map((name) => healthCode(stack.urls[name])));
        await stackUp(stack);
        expect(recordedPid(stack, service)).not.toBe(pid);
        return `others' /health while down: ${codes.join(',')}`;
      });
    });
  }

  for (const name of REDIS_NAMES) {
    it(`restart of ${name} (SHUTDOWN, AOF): services recover by themselves, nothing lost`, async () => {
      const before = servicePids();
      await underLoad(`restart ${name}`, async () => {
        await shutdownRedis(stack, name as RedisName);
        // Some service reports it down before it comes back.
        await waitFor(async () => !(await allHealthy(stack)), `a /health not 200 while ${name} is down`, { timeoutMs: 15_000, intervalMs: 100 });
        await stackUp(stack);
        return 'services not restarted';
      });
      expect(servicePids()).toEqual(before);
      expect(before.every((pid) => pid !== undefined && isAlive(pid))).toBe(true);
    });
  }

  it('redis-queue frozen for 10 s (SIGSTOP, SIGCONT): healthy again by itself, nothing lost', async () => {
    const before = servicePids();
    await underLoad('redis-queue frozen 10 s', async () => {
      const pid = recordedPid(stack, 'redis-queue')!;
      const started = Date.now();
      process.kill(pid, 'SIGSTOP');
      frozen.add(pid);
      let unhealthySeen = false;
      try {
        // Hold the freeze for 10 s, watching /health answer "down" meanwhile.
        await waitFor(async () => {
          if (!(await allHealthy(stack))) unhealthySeen = true;
          return Date.now() - started >= FREEZE_MS;
        }, 'the 10 s freeze', { timeoutMs: FREEZE_MS + 15_000, intervalMs: 250 });
      } finally {
        process.kill(pid, 'SIGCONT');
        frozen.delete(pid);
      }
      expect(unhealthySeen).toBe(true);
      return 'no restart; /health not 200 during the freeze';
    });
    expect(servicePids()).toEqual(before);
  });

  it('alert webhook receiver down: processing never blocked, alerts delivered once it is back', async () => {
    let downSince = 0;
    let alertsWhileDown: { id: string; webhook: { status: string; attempts: number } }[] = [];
    await underLoad('webhook receiver down', async () => {
      await receiver.stop();
      downSince = Date.now();
      return 'receiver stopped during the load';
    });
    // The load above settled (jobs parked, alerts raised) while the receiver was down.
    const since = new Date(downSince).toISOString();
    const alerts = async (): Promise<typeof alertsWhileDown> => {
      const response = await fetch(`${dlqApi.baseUrl}/dlq/alerts?limit=500`, { headers: { authorization: `Bearer ${dlqApi.apiKey}` } });
      const body = (await response.json()) as { items: (typeof alertsWhileDown[number] & { createdAt: string })[] };
      return body.items.filter((alert) => alert.createdAt >= since);
    };
    alertsWhileDown = await waitFor(async () => {
      const list = await alerts();
      return list.length > 0 && list.every((alert) => alert.webhook.attempts >= 1) ? list : undefined;
    }, 'alerts raised and attempted while the receiver is down', { timeoutMs: 30_000, intervalMs: 250 });
    expect(alertsWhileDown.every((alert) => alert.webhook.status !== 'delivered')).toBe(true);
    const upAt = Date.now();
    await receiver.start();
    await waitFor(async () => {
      const list = await alerts();
      const got = new Set(receiver.received.map((alert) => alert.id));
      return list.every((alert) => alert.webhook.status === 'delivered' && got.has(alert.id));
    }, 'every alert delivered to the receiver', { timeoutMs: 60_000, intervalMs: 250 });
    const row = figures.at(-1)!;
    row.note = `${row.note}; ${alertsWhileDown.length} alerts held, all delivered ${((Date.now() - upAt) / 1000).toFixed(1)} s after the receiver came back`;
    expect(receiver.received.every((alert) => alert.path === `/hooks/${stack.secrets.webhookToken}`)).toBe(true);
  });

  it('stops cleanly, and no secret of the run is in any log line', async () => {
    const down = await stackDown(stack);
    expect(down.code, down.stderr).toBe(0);
    const { secrets } = stack;
    const basic = Buffer.from(`${secrets.adminUser}:${secrets.adminPassword}`).toString('base64');
    const scan = scanLogsForSecrets(stack.logDir, {
      API_KEY: secrets.apiKey,
      ADMIN_PASSWORD: secrets.adminPassword,
      'admin basic auth': basic,
      REDIS_PASSWORD: secrets.redisPasswords.redis,
      REDIS_STREAMS_PASSWORD: secrets.redisPasswords['redis-streams'],
      REDIS_QUEUE_PASSWORD: secrets.redisPasswords['redis-queue'],
      'webhook URL token': secrets.webhookToken,
    });
    process.stdout.write(`secrets scan: ${scan.files} log files, ${scan.lines} lines, ${scan.hits.length} hits\n`);
    expect(scan.files).toBeGreaterThanOrEqual(6);
    expect(scan.lines).toBeGreaterThan(1_000);
    expect(scan.hits).toEqual([]);
  });
});
