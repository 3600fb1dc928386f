/**
 * The alerter on a real master redis-server: buckets written by park transitions (through
 * the real handler, see support/handler-parts.ts), flushed into one alert each, published,
 * kept in a bounded history, webhook bookkeeping, and buckets left by a previous process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_CHANNEL, SERVICES, createMetricsRegistry, createRedis, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { Alerter, type AlerterOptions, type AlertRecord } from '../src/core/alerter';
import { createDlqMetrics } from '../src/core/dlq-metrics';
import { dlqKeys } from '../src/core/stored-entry';
import { jobEntry, startWebhookReceiver } from './support/dlq-harness';
import { startHandlerParts, type HandlerParts } from './support/handler-parts';

const permanent = { message: 'bad input', permanent: true };
/**
 * A coalescing window for the "not before the window is over" checks: they look 100-200 ms
 * after the park, so the window leaves seconds for a loaded machine between the two.
 */
const SHORT_WINDOW_MS = 3_000;

describe('alerter', () => {
  let parts: HandlerParts;
  let subscriber: Redis;
  const published: AlertRecord[] = [];
  const alerters: Alerter[] = [];

  beforeAll(async () => {
    parts = await startHandlerParts({ maxRetries: 0, baseDelayMs: 1000, maxDelayMs: 1000 });
    subscriber = createRedis({ url: parts.master.url, role: 'test', profile: 'consumer', logger: silentLogger() });
    subscriber.on('message', (_channel: string, message: string) => published.push(JSON.parse(message) as AlertRecord));
    await subscriber.subscribe(ALERT_CHANNEL);
  });
  afterAll(async () => {
    for (const alerter of alerters) await alerter.close();
    subscriber.disconnect();
    await parts.close();
  });

  function alerter(options: Partial<AlerterOptions> = {}): Alerter {
    const registry = createMetricsRegistry(SERVICES.dlq);
    const made = new Alerter({ windowMs: 60_000, historyMax: 100, ...options }, { redis: parts.redis, store: parts.store, metrics: createDlqMetrics(registry, parts.store), logger: silentLogger() });
    alerters.push(made);
    return made;
  }

  /** Parks `count` permanent failures of one new origin; returns the bucket key and entry ids. */
  async function park(count: number, message = permanent.message): Promise<{ key: string; origin: string; ids: string[] }> {
    const origin = uniqueName('alert-origin');
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) ids.push((await parts.handler.handle(jobEntry(origin, `j${index}`, { ...permanent, message: `${message} ${index}` }), `${origin}-${index}`)).id);
    return { key: `job:${origin}`, origin, ids };
  }

  it('flushes a bucket into one alert: exact count, ids, times, last error and reason; published, recorded, counted once', async () => {
    const subject = alerter();
    const alertsBefore = (await parts.store.counters()).alerts;
    const { key, origin, ids } = await park(3);
    const alert = (await subject.flush(key))!;
    expect(alert).toMatchObject({
      key,
      kind: 'job',
      origin,
      count: 3,
      lastError: 'bad input 2',
      lastReason: 'permanent',
      message: `3 job failure(s) from ${origin} parked in the DLQ (last reason: permanent)`,
      webhook: { status: 'disabled', attempts: 0 },
    });
    expect([...alert.entryIds].sort()).toEqual([...ids].sort());
    expect(Date.parse(alert.firstParkedAt)).toBeLessThanOrEqual(Date.parse(alert.lastParkedAt));
    expect(Date.parse(alert.lastParkedAt)).toBeLessThanOrEqual(Date.parse(alert.createdAt));
    await waitFor(() => published.some((item) => item.id === alert.id), 'the alert on the channel');
    expect((await subject.history(0, 1)).items[0]).toEqual(alert);
    expect((await parts.store.counters()).alerts).toBe(alertsBefore + 1);
    // The bucket is gone: a second flush sends nothing.
    expect(await subject.flush(key)).toBeUndefined();
    expect(await parts.redis.sismember(dlqKeys.alertBuckets(), key)).toBe(0);
    expect(await parts.redis.exists(dlqKeys.alertBucket(key), dlqKeys.alertBucketIds(key))).toBe(0);
  });

  it('lists at most 20 entry ids per alert while the count stays exact', async () => {
    const { key } = await park(23);
    const alert = (await alerter().flush(key))!;
    expect(alert.count).toBe(23);
    expect(alert.entryIds).toHaveLength(20);
  });

  it('keeps the newest historyMax alerts, newest first, with offset and limit', async () => {
    const subject = alerter({ historyMax: 3 });
    // Its own history key space is shared with the other cases: start from an empty one.
    await parts.redis.del(dlqKeys.alerts());
    const made: AlertRecord[] = [];
    for (let index = 0; index < 5; index += 1) {
      made.push((await subject.flush((await park(1)).key))!);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const history = await subject.history(0, 10);
    expect(history.total).toBe(3);
    expect(history.items.map((item) => item.id)).toEqual([made[4]!.id, made[3]!.id, made[2]!.id]);
    expect((await subject.history(1, 1)).items.map((item) => item.id)).toEqual([made[3]!.id]);
    expect(await parts.redis.exists(dlqKeys.alert(made[0]!.id), dlqKeys.alert(made[1]!.id))).toBe(0);
    expect(await subject.history(5, 10)).toEqual({ items: [], total: 3 });
  });

  it('records webhook attempts on the alert: pending with the last error, then delivered or failed, each counted when done', async () => {
    const subject = alerter();
    const alert = (await subject.flush((await park(1)).key))!;
    const before = await parts.store.counters();
    await subject.onWebhookAttempt(alert.id, { delivered: false, attempts: 1, lastError: 'HTTP 500', done: false });
    expect((await subject.history(0, 1)).items[0]?.webhook).toEqual({ status: 'pending', attempts: 1, lastError: 'HTTP 500' });
    await subject.onWebhookAttempt(alert.id, { delivered: true, attempts: 2, done: true });
    expect((await subject.history(0, 1)).items[0]?.webhook).toEqual({ status: 'delivered', attempts: 2 });
    await subject.onWebhookAttempt(alert.id, { delivered: false, attempts: 3, lastError: 'ECONNREFUSED', done: true });
    expect((await subject.history(0, 1)).items[0]?.webhook).toEqual({ status: 'failed', attempts: 3, lastError: 'ECONNREFUSED' });
    // An alert trimmed from the history meanwhile: counted, nothing written back.
    await subject.onWebhookAttempt('gone-alert', { delivered: true, attempts: 1, done: true });
    expect(await parts.redis.exists(dlqKeys.alert('gone-alert'))).toBe(0);
    const after = await parts.store.counters();
    expect([after.webhookDelivered - before.webhookDelivered, after.webhookFailed - before.webhookFailed]).toEqual([2, 1]);
  });

  it('parked() sends the bucket when the window is over, not before; close sends what is still waiting', async () => {
    const subject = alerter({ windowMs: SHORT_WINDOW_MS });
    const { key } = await park(1);
    subject.parked(key);
    subject.parked(key);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await parts.redis.sismember(dlqKeys.alertBuckets(), key)).toBe(1);
    await waitFor(() => published.some((item) => item.key === key), 'the window to end', { timeoutMs: SHORT_WINDOW_MS + 10_000 });
    expect(await parts.redis.sismember(dlqKeys.alertBuckets(), key)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(published.filter((item) => item.key === key)).toHaveLength(1);

    const waiting = alerter({ windowMs: 60_000 });
    const later = await park(2);
    waiting.parked(later.key);
    await waiting.close();
    await waitFor(() => published.some((item) => item.key === later.key && item.count === 2), 'the flush on close');
    // Closed: a new park is left in its bucket for the next start (even with no window).
    const closed = alerter({ windowMs: 0 });
    await closed.close();
    const afterClose = await park(1);
    waiting.parked(afterClose.key);
    closed.parked(afterClose.key);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await parts.redis.sismember(dlqKeys.alertBuckets(), afterClose.key)).toBe(1);
  });

  it('start() flushes buckets a previous process left (once their window is over) and sends webhooks still pending', async () => {
    const left = await park(2);
    const receiver = await startWebhookReceiver();
    try {
      const withHook = alerter({ windowMs: 0, webhook: { url: receiver.url, timeoutMs: 2000, attempts: 3, retryDelayMs: 10, maxDelayMs: 50 } });
      expect(withHook.hasWebhook).toBe(true);
      expect(alerter().hasWebhook).toBe(false);
      // An alert whose webhook was still pending when its process stopped.
      const pending: AlertRecord = { ...(await alerter().flush((await park(1)).key))!, webhook: { status: 'pending', attempts: 1 } };
      await parts.redis.set(dlqKeys.alert(pending.id), JSON.stringify(pending));
      // One already delivered and one that failed for good: never sent again.
      const done = [(await alerter().flush((await park(1)).key))!, (await alerter().flush((await park(1)).key))!];
      await parts.redis.set(dlqKeys.alert(done[0]!.id), JSON.stringify({ ...done[0], webhook: { status: 'delivered', attempts: 1 } }));
      await parts.redis.set(dlqKeys.alert(done[1]!.id), JSON.stringify({ ...done[1], webhook: { status: 'failed', attempts: 3 } }));
      // Without a webhook, start() leaves pending alerts alone.
      await alerter().start();
      await withHook.start();
      await waitFor(() => receiver.bodies.some((body) => body.key === left.key && body.count === 2), 'the left bucket sent, webhook included');
      await waitFor(() => receiver.bodies.some((body) => body.id === pending.id), 'the pending webhook sent again');
      await waitFor(async () => JSON.parse((await parts.redis.get(dlqKeys.alert(pending.id)))!).webhook.status === 'delivered', 'recorded as delivered');
      expect(receiver.bodies.filter((body) => done.some((alert) => alert.id === body.id))).toEqual([]);
      const fresh = receiver.bodies.find((body) => body.key === left.key);
      expect(fresh.webhook).toEqual({ status: 'pending', attempts: 0 });
    } finally {
      await receiver.close();
    }
  });

  it('start() sends a bucket a previous process left when its window is over, not at once', async () => {
    const left = await park(1);
    await alerter({ windowMs: SHORT_WINDOW_MS }).start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await parts.redis.sismember(dlqKeys.alertBuckets(), left.key)).toBe(1);
    await waitFor(() => published.some((item) => item.key === left.key), 'the bucket sent once its window is over', { timeoutMs: SHORT_WINDOW_MS + 10_000 });
  });
});
