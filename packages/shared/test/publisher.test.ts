import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import {
  InvalidEventError,
  PublishError,
  REDIS_ROLES,
  closeRedis,
  createEvent,
  createEventPublisher,
  createRedis,
  encodeEvent,
  fieldsToRecord,
  waitForRedis,
  type EventInput,
  type Redis,
} from '@event-infra/shared';
import {
  captureLogger,
  freePort,
  sampleEventInput,
  silentLogger,
  startRedisServer,
  uniqueName,
  type RedisServer,
} from '@event-infra/testing';

const logger = silentLogger();
const opened: Redis[] = [];
const servers: RedisServer[] = [];

async function producer(url: string): Promise<Redis> {
  const client = createRedis({ url, role: REDIS_ROLES.streams, profile: 'producer', logger, connectTimeoutMs: 1_000 });
  opened.push(client);
  return client;
}

async function readyProducer(url: string): Promise<Redis> {
  const client = await producer(url);
  await waitForRedis(client, REDIS_ROLES.streams, 5_000);
  return client;
}

async function ownServer(): Promise<RedisServer> {
  const server = await startRedisServer();
  servers.push(server);
  return server;
}

function inputs(count: number, type: Parameters<typeof sampleEventInput>[0] = 'job.progress'): EventInput[] {
  return Array.from({ length: count }, (_, index) =>
    sampleEventInput(type, type === 'job.progress' ? { data: { queue: 'q', jobId: String(index), name: 'n', progress: index % 101 } } : {}),
  );
}

let redis: Redis;
let stream: string;

beforeEach(async () => {
  redis = await readyProducer(inject('redis').streams);
  stream = uniqueName('publisher');
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((client) => closeRedis(client)));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe('publish', () => {
  it('XADDs one entry whose fields are the wire format of the validated event', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger });
    const published = await publisher.publish(sampleEventInput('workspace.created', { subject: 'w1', correlationid: 'c1' }));
    expect(published.type).toBe('workspace.created');
    const entries = await redis.xrange(stream, '-', '+');
    expect(entries).toHaveLength(1);
    const [entryId, fields] = entries[0]!;
    expect(entryId).toBe(published.streamId);
    const record = fieldsToRecord(fields);
    expect(record).toMatchObject({
      id: published.id,
      type: 'workspace.created',
      source: 'pub-test',
      specversion: '1.0',
      subject: 'w1',
      correlationid: 'c1',
    });
    expect(JSON.parse(record.data!)).toEqual(sampleEventInput('workspace.created').data);
    expect(Number.isNaN(Date.parse(record.time!))).toBe(false);
  });

  it('returns a rejected promise for an invalid event and sends nothing', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger });
    let outcome: Promise<unknown> | undefined;
    expect(() => {
      outcome = publisher.publish({ type: 'workspace.created', data: { name: 'no ids' } });
    }).not.toThrow();
    await expect(outcome).rejects.toMatchObject({ name: 'InvalidEventError', reason: 'invalid_data' });
    expect(await redis.xlen(stream)).toBe(0);
  });

  it('publishEnvelope keeps the id and the DLQ extensions', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger });
    const event = { ...createEvent(sampleEventInput('user.deleted'), 'origin'), dlqretries: 1, dlqentryid: 'e-1' };
    const published = await publisher.publishEnvelope(event);
    expect(published.id).toBe(event.id);
    const [[, fields]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]]];
    expect(fieldsToRecord(fields)).toMatchObject({ id: event.id, source: 'origin', dlqretries: '1', dlqentryid: 'e-1' });
  });
});

describe('publishBatch', () => {
  it('keeps the order and sends the whole batch as one pipeline', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger });
    const pipelines = vi.spyOn(redis, 'pipeline');
    const singles = vi.spyOn(redis, 'xadd');
    const batch = inputs(200);
    const published = await publisher.publishBatch(batch);
    expect(pipelines).toHaveBeenCalledTimes(1);
    expect(singles).not.toHaveBeenCalled();
    expect(published).toHaveLength(200);
    const entries = await redis.xrange(stream, '-', '+');
    expect(entries.map(([entryId]) => entryId)).toEqual(published.map((event) => event.streamId));
    expect(entries.map(([, fields]) => JSON.parse(fieldsToRecord(fields).data!).jobId)).toEqual(batch.map((input) => input.data.jobId));
  });

  it('an empty batch sends nothing', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger });
    expect(await publisher.publishBatch([])).toEqual([]);
    expect(await redis.exists(stream)).toBe(0);
  });

  it('one invalid event: nothing is sent and the error names its index', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger });
    await publisher.publish(sampleEventInput());
    const batch = inputs(10);
    batch[7] = { type: 'job.progress', data: { queue: 'q', jobId: '7', name: 'n', progress: 101 } };
    const error = await publisher.publishBatch(batch).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).message).toMatch(/^event 7: data is invalid for job.progress/);
    expect((error as InvalidEventError).details).toMatchObject({ index: 7 });
    expect(await redis.xlen(stream)).toBe(1);
  });

  it('when Redis refuses the entries (WRONGTYPE), PublishError lists every failed index', async () => {
    const { logger: captured, lines } = captureLogger();
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis, logger: captured });
    await redis.set(stream, 'not a stream');
    const error = await publisher.publishBatch(inputs(5)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PublishError);
    const publishError = error as PublishError;
    expect(publishError.failed.map((failure) => failure.index)).toEqual([0, 1, 2, 3, 4]);
    expect(publishError.failed[0]!.error.message).toContain('WRONGTYPE');
    expect(publishError.published).toEqual([]);
    expect(publishError.message).toMatch(/^5 of 5 events were not published/);
    expect(lines.some((line) => line.msg === 'batch partly unpublished')).toBe(true);
    await expect(publisher.publish(sampleEventInput())).rejects.toThrow(/WRONGTYPE/);
  });

  it('a batch cut short by Redis (OOM mid-batch) reports what landed and what did not; nothing silently dropped', async () => {
    const server = await ownServer();
    const own = await readyProducer(server.url);
    const publisher = createEventPublisher({ stream, source: 'pub-test', maxLenApprox: 0 }, { redis: own, logger });
    const used = Number(/used_memory:(\d+)/.exec(await own.info('memory'))![1]);
    await own.config('SET', 'maxmemory-policy', 'noeviction');
    await own.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024));
    const big = 'x'.repeat(64 * 1024);
    const batch = Array.from({ length: 100 }, (_, index) =>
      sampleEventInput('job.progress', { data: { queue: 'q', jobId: String(index), name: 'n', progress: 1, message: 'm', blob: big } }),
    );
    const error = (await publisher.publishBatch(batch).then(
      () => undefined,
      (caught: unknown) => caught,
    )) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.published.length).toBeGreaterThan(0);
    expect(error.failed.length).toBeGreaterThan(0);
    expect(error.published.length + error.failed.length).toBe(100);
    expect(error.failed[0]!.error.message).toMatch(/OOM/);
    // Redis holds exactly what was reported published, in order.
    const entries = await own.xrange(stream, '-', '+');
    expect(entries.map(([entryId]) => entryId)).toEqual(error.published.map((event) => event.streamId));
    const failedIds = new Set(error.failed.map((failure) => failure.id));
    expect(error.published.some((event) => failedIds.has(event.id))).toBe(false);
  });
});

describe('Redis unavailable', () => {
  it('publish and publishBatch reject promptly when Redis stops', async () => {
    const server = await ownServer();
    const own = await readyProducer(server.url);
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis: own, logger });
    await publisher.publish(sampleEventInput());
    await server.kill();
    const started = Date.now();
    await expect(publisher.publish(sampleEventInput())).rejects.toThrow();
    await expect(publisher.publishBatch(inputs(3))).rejects.toThrow();
    // Fail fast, not after a reconnect loop: generous bound, the point is "does not hang".
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a producer on a port where nothing listens rejects instead of queueing', async () => {
    const own = await producer(`redis://:pw@127.0.0.1:${await freePort()}`);
    const publisher = createEventPublisher({ stream, source: 'pub-test' }, { redis: own, logger });
    await expect(publisher.publish(sampleEventInput())).rejects.toThrow();
    await expect(publisher.publishBatch(inputs(2))).rejects.toThrow();
  });
});

describe('MAXLEN safety cap', () => {
  it('keeps the stream around the cap', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test', maxLenApprox: 100 }, { redis, logger });
    for (let round = 0; round < 10; round += 1) await publisher.publishBatch(inputs(100));
    const length = await redis.xlen(stream);
    // Approximate trimming removes whole macro nodes (stream-node-max-entries, 100): never below the cap.
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(300);
  });

  it('0 disables the cap', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test', maxLenApprox: 0 }, { redis, logger });
    for (let round = 0; round < 10; round += 1) await publisher.publishBatch(inputs(100));
    expect(await redis.xlen(stream)).toBe(1_000);
  });

  it('the encoded entry is what the XADD carries (no extra fields)', async () => {
    const publisher = createEventPublisher({ stream, source: 'pub-test', maxLenApprox: 10 }, { redis, logger });
    const event = createEvent(sampleEventInput('auth.logout'), 'pub-test');
    await publisher.publishEnvelope(event);
    const [[, fields]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]]];
    expect(fields).toEqual(encodeEvent(event));
  });
});
