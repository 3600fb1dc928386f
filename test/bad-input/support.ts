import { afterAll, beforeAll, inject } from 'vitest';
import { expect } from 'vitest';
import { bullPrefix, createRedis, REDIS_ROLES, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { Queue } from 'bullmq';
import { loadConfig as loadQueueConfig } from '../../queue-system/src/config';
import { startQueueProcessor } from '../../queue-system/src/service';
import { loadConfig as loadDlqConfig } from '../../dlq-system/src/config';
import { startDlqProcessor } from '../../dlq-system/src/service';

/** The API key every service under test requires. */
export const API_KEY = `key-${uniqueName('secret')}`;

/** Secrets that must never appear in a response: the API key and every Redis password. */
export function secrets(): string[] {
  const urls = inject('redis');
  const passwords = Object.values(urls)
    .map((url) => decodeURIComponent(new URL(url).password))
    .filter((password) => password !== '');
  return [API_KEY, ...passwords];
}

/** Environment shared by the services under test: the global Redis, port 0, the API key. */
export function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const urls = inject('redis');
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: urls.master,
    REDIS_STREAMS_URL: urls.streams,
    REDIS_QUEUE_URL: urls.queue,
    STREAM_NAME: uniqueName('bad-input-events'),
    CONSUMER_GROUP: uniqueName('bad-input-group'),
    DLQ_QUEUE_NAME: uniqueName('bad-input-dlq'),
    API_KEY,
    HTTP_BODY_LIMIT: '64kb',
    QUEUE_PROCESSOR_PORT: '0',
    EVENT_PROCESSOR_PORT: '0',
    DLQ_PROCESSOR_PORT: '0',
    SHUTDOWN_GRACE_MS: '2000',
    ...overrides,
  };
}

export interface Reply {
  status: number;
  contentType: string;
  text: string;
  body: unknown;
}

export interface RequestSpec {
  method?: string;
  path: string;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** false: send no Authorization header (default: the right Bearer key). */
  auth?: boolean;
  /** A service that does not answer within this fails the call, ms. Default 15 s. */
  timeoutMs?: number;
}

/** One real HTTP request; the body is parsed as JSON when it is JSON. */
export async function call(baseUrl: string, spec: RequestSpec): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (spec.auth !== false) headers.authorization = `Bearer ${API_KEY}`;
  let body: string | Buffer | undefined;
  if (typeof spec.body === 'string' || Buffer.isBuffer(spec.body)) body = spec.body;
  else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, spec.headers ?? {});
  const response = await fetch(`${baseUrl}${spec.path}`, {
    method: spec.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    signal: AbortSignal.timeout(spec.timeoutMs ?? 15_000),
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, body: parsed };
}

/** The expected outcome of a rejected request. */
export interface ExpectedError {
  status: number;
  error: string;
  /** A substring of `message`. */
  message?: string | RegExp;
  /** A zod issue path (`details[].path`) that must be reported. */
  detailPath?: string;
}

/** Asserts the exact status and the `{error, message, details?}` shape. */
export function expectError(reply: Reply, expected: ExpectedError): void {
  expect(reply.contentType, reply.text).toMatch(/^application\/json/);
  const body = reply.body as Record<string, unknown>;
  expect({ status: reply.status, error: body?.error }, reply.text).toEqual({ status: expected.status, error: expected.error });
  expect(typeof body.message).toBe('string');
  expect(Object.keys(body).every((key) => ['error', 'message', 'details'].includes(key)), reply.text).toBe(true);
  if (expected.message !== undefined) expect(body.message).toMatch(expected.message);
  if (expected.detailPath !== undefined) {
    expect(Array.isArray(body.details), reply.text).toBe(true);
    const issues = body.details as { path: unknown; message: unknown }[];
    for (const issue of issues) {
      expect(Object.keys(issue).sort(), reply.text).toEqual(['message', 'path']);
      expect(typeof issue.path === 'string' && typeof issue.message === 'string', reply.text).toBe(true);
    }
    const paths = issues.map((issue) => issue.path);
    expect(paths, reply.text).toContain(expected.detailPath);
  }
}

/** Asserts no secret appears in the reply (body or text). */
export function expectNoSecret(reply: Reply): void {
  for (const secret of secrets()) expect(reply.text.includes(secret), `a secret leaked in ${reply.text.slice(0, 200)}`).toBe(false);
}

/** The queue processor in-process, workers off (the global queue Redis is shared by the run). */
export async function startQueueApi(overrides: Record<string, string> = {}) {
  const env = baseEnv({ QUEUE_ENABLED: 'false', MAX_JOB_DURATION: '60', ...overrides });
  return startQueueProcessor(loadQueueConfig(env), silentLogger());
}

/** The DLQ processor in-process with its own DLQ queue name. */
export async function startDlqApi(overrides: Record<string, string> = {}) {
  const env = baseEnv(overrides);
  const config = loadDlqConfig(env);
  return { processor: await startDlqProcessor(config, silentLogger()), env };
}

/** BullMQ queues on the global queue Redis, to look at jobs directly. */
export function queueInspector(): { redis: Redis; queue: (name: string) => Queue; close: () => Promise<void> } {
  const redis = createRedis({ url: inject('redis').queue, role: REDIS_ROLES.queue, profile: 'consumer', logger: silentLogger() });
  const queues = new Map<string, Queue>();
  return {
    redis,
    queue(name) {
      let queue = queues.get(name);
      if (!queue) {
        queue = new Queue(name, { connection: redis, prefix: bullPrefix(name, redis.isCluster) });
        queues.set(name, queue);
      }
      return queue;
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      redis.disconnect();
    },
  };
}

/**
 * One queue processor on the test Redis for a describe block, plus an inspector of its queues
 * and a client on the streams Redis; started in `beforeAll`, closed in `afterAll`.
 */
export function useQueueApi(overrides: Record<string, string>): {
  processor: Awaited<ReturnType<typeof startQueueApi>>;
  inspector: ReturnType<typeof queueInspector>;
  streams: Redis;
} {
  const fixture = {} as ReturnType<typeof useQueueApi>;
  beforeAll(async () => {
    fixture.processor = await startQueueApi(overrides);
    fixture.inspector = queueInspector();
    fixture.streams = createRedis({ url: inject('redis').streams, role: REDIS_ROLES.streams, profile: 'producer', logger: silentLogger() });
  });
  afterAll(async () => {
    await fixture.processor?.close();
    await fixture.inspector?.close();
    fixture.streams?.disconnect();
  });
  return fixture;
}
