import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { Queue } from 'bullmq';
import {
  bullPrefix,
  REDIS_ROLES,
  createDeadLetterSink,
  createRedis,
  type DeadLetterEntry,
  type DeadLetterSink,
  type Logger,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, startRedisServer, uniqueName, type RedisServer } from '@event-infra/testing';
import { loadConfig } from '../../src/config';
import { startDlqProcessor, type DlqProcessor } from '../../src/service';

/** Environment of a DLQ processor under test: its own master Redis, unique DLQ queue, port 0, short delays. */
export function testEnv(master: RedisServer, overrides: Record<string, string> = {}): Record<string, string> {
  const urls = inject('redis');
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: master.url,
    REDIS_STREAMS_URL: urls.streams,
    REDIS_QUEUE_URL: urls.queue,
    DLQ_PROCESSOR_PORT: '0',
    DLQ_QUEUE_NAME: uniqueName('dlq'),
    DLQ_MAX_RETRIES: '3',
    DLQ_RETRY_BASE_DELAY_MS: '50',
    DLQ_HANDLE_RETRY_DELAY_MS: '200',
    DLQ_RECOVERY_CHECK_MS: '100',
    ALERT_COALESCE_WINDOW_MS: '0',
    ALERT_WEBHOOK_RETRY_DELAY_MS: '50',
    ...overrides,
  };
}

export interface DlqFixture {
  master: RedisServer;
  env: Record<string, string>;
  processor: DlqProcessor;
  /** Producer client on the queue Redis (tests' own use). */
  queueRedis: Redis;
  /** Writes entries into the DLQ queue the way the queue and event processors do. */
  sink: DeadLetterSink;
  dlqQueueName: string;
  /** `fetch` against the processor with the API key when set. */
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
  restartProcessor(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a master redis-server (AOF) and a DLQ processor on it. */
export async function startDlqFixture(overrides: Record<string, string> = {}, logger: Logger = silentLogger()): Promise<DlqFixture> {
  const master = await startRedisServer({ appendOnly: true });
  const env = testEnv(master, overrides);
  const config = loadConfig(env);
  const queueRedis = createRedis({ url: env.REDIS_QUEUE_URL!, role: REDIS_ROLES.queue, profile: 'producer', logger });
  const sink = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: queueRedis });
  const fixture: DlqFixture = {
    master,
    env,
    processor: await startDlqProcessor(config, logger),
    queueRedis,
    sink,
    dlqQueueName: config.DLQ_QUEUE_NAME,
    async api(method, path, body) {
      const headers: Record<string, string> = {};
      if (env.API_KEY) headers.authorization = `Bearer ${env.API_KEY}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${fixture.processor.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    },
    async restartProcessor() {
      await fixture.processor.close();
      fixture.processor = await startDlqProcessor(loadConfig(fixture.env), logger);
    },
    async close() {
      await fixture.processor.close();
      await sink.close();
      // Scheduled-retry queue of this test: remove it so no delayed job outlives the test.
      const retries = new Queue(`${config.DLQ_QUEUE_NAME}-retries`, { connection: queueRedis, prefix: bullPrefix(`${config.DLQ_QUEUE_NAME}-retries`, queueRedis.isCluster) });
      await retries.obliterate({ force: true }).catch(() => {
        // Best effort: the queue may not exist when no retry was ever scheduled.
      });
      await retries.close();
      queueRedis.disconnect();
      await fixture.master.stop();
    },
  };
  return fixture;
}

/**
 * Starts the DLQ processor as a real child process (`src/main.ts` through tsx) with `env`;
 * `cleanups` gets a step that kills it (SIGKILL) if it still runs when the test ends.
 */
export function spawnDlqProcessor(env: Record<string, string>, cleanups: (() => Promise<void>)[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../src/main.ts', import.meta.url))], { env: { ...process.env, ...env }, stdio: 'ignore' });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  return child;
}

/** A dead-letter entry for a job, as the queue processor writes it. */
export function jobEntry(queue: string, jobId: string, error: DeadLetterEntry['error'], extra: Partial<DeadLetterEntry> = {}): DeadLetterEntry {
  const now = new Date().toISOString();
  return {
    kind: 'job',
    origin: { kind: 'job', queue, jobId, opts: { attempts: 1 } },
    name: 'demo.fail',
    data: { message: 'boom' },
    error,
    attempts: 1,
    firstFailedAt: now,
    lastFailedAt: now,
    dlqRetries: 0,
    ...extra,
  };
}

export interface WebhookReceiver {
  url: string;
  port: number;
  bodies: any[];
  close(): Promise<void>;
}

/** A real HTTP server that records every POSTed JSON body (the alert webhook's far end). */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const bodies: any[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/alerts`,
    port: bound,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
