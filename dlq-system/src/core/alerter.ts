import type { RedisClient } from '@event-infra/shared';
import { randomUUID } from 'node:crypto';
import { ALERT_CHANNEL, toError, type Logger } from '@event-infra/shared';
import type { DlqMetrics } from './dlq-metrics';
import type { AlertBucketWrite, DlqStore } from './dlq-store';
import { dlqKeysFor, type DlqKeys, type StoredEntry } from './stored-entry';
import { WebhookSender, type DeliveryOutcome, type WebhookSenderOptions } from './webhook-sender';

/** Entry ids listed in one alert (the count is exact, the list is capped). */
const ALERT_ID_LIMIT = 20;
/** Newest alerts checked at start for a webhook delivery still pending. */
const PENDING_SCAN = 100;

export interface AlertRecord {
  id: string;
  /** `<kind>:<origin name>`: the coalescing key. */
  key: string;
  kind: string;
  origin: string;
  /** Parked entries this alert stands for. */
  count: number;
  entryIds: string[];
  firstParkedAt: string;
  lastParkedAt: string;
  lastError: string;
  lastReason: string;
  message: string;
  createdAt: string;
  webhook: { status: 'disabled' | 'pending' | 'delivered' | 'failed'; attempts: number; lastError?: string };
}

export interface AlerterOptions {
  /** Parks of one origin within this window become one alert, ms; 0 alerts at once. */
  windowMs: number;
  /** Alerts kept in the history. */
  historyMax: number;
  /** The webhook (`ALERT_WEBHOOK_URL` and its delivery settings); absent disables it. */
  webhook?: WebhookSenderOptions | undefined;
}

export interface AlerterDeps {
  /** Producer client on the master: buckets, history, PUBLISH. */
  redis: RedisClient;
  store: DlqStore;
  metrics: DlqMetrics;
  logger: Logger;
}

/**
 * Parking raises an alert. Parks of the same origin are gathered in a bucket on the master
 * for `windowMs` (so a restart loses none), then sent as ONE alert with a count: an error log
 * line, a JSON message on `ALERT_CHANNEL`, a history record on the master, and a webhook POST
 * in the background.
 */
export class Alerter {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly logger: Logger;
  private closed = false;
  private readonly keys: DlqKeys;
  /** Owned: its delivery reports come back to `onWebhookAttempt`. */
  private readonly webhook: WebhookSender | undefined;

  constructor(
    private readonly options: AlerterOptions,
    private readonly deps: AlerterDeps,
  ) {
    this.logger = deps.logger.child({ component: 'alerter' });
    this.keys = dlqKeysFor(deps.redis.isCluster);
    this.webhook =
      options.webhook === undefined
        ? undefined
        : new WebhookSender(options.webhook, { logger: deps.logger, onAttempt: (id, outcome) => this.onWebhookAttempt(id, outcome) });
  }

  /** True when alerts are also POSTed to a webhook. */
  get hasWebhook(): boolean {
    return this.webhook !== undefined;
  }

  /**
   * Flushes buckets a previous process left behind, once their window is over, and sends
   * again the webhook of recent alerts still `pending` (the previous process stopped first).
   */
  async start(): Promise<void> {
    if (this.webhook !== undefined) {
      const { items } = await this.history(0, PENDING_SCAN);
      for (const alert of items) if (alert.webhook.status === 'pending') this.webhook.send(alert.id, alert);
    }
    const keys = await this.deps.redis.smembers(this.keys.alertBuckets());
    for (const key of keys) {
      const firstAt = Number(await this.deps.redis.hget(this.keys.alertBucket(key), 'firstAtMs'));
      const dueInMs = Number.isFinite(firstAt) ? Math.max(0, firstAt + this.options.windowMs - Date.now()) : 0;
      this.schedule(key, dueInMs);
    }
  }

  /** The bucket a parked entry joins: written by the park transition itself (one script per entry). */
  bucketOf(entry: StoredEntry): AlertBucketWrite {
    return { key: `${entry.kind}:${entry.originName}`, kind: entry.kind, lastError: entry.error.message, lastReason: entry.parkReason ?? '', idLimit: ALERT_ID_LIMIT };
  }

  /** An entry joined bucket `key` (see `bucketOf`): its alert goes out when the window is over. */
  parked(key: string): void {
    this.schedule(key, this.options.windowMs);
  }

  /** Sends the bucket of `key` now (no-op when empty). Returns the alert, if any. */
  async flush(key: string): Promise<AlertRecord | undefined> {
    const timer = this.timers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(key);
    const results = await this.deps.redis
      .multi()
      .hgetall(this.keys.alertBucket(key))
      .lrange(this.keys.alertBucketIds(key), 0, -1)
      .del(this.keys.alertBucket(key), this.keys.alertBucketIds(key))
      .srem(this.keys.alertBuckets(), key)
      .exec();
    const bucket = (results?.[0]?.[1] ?? {}) as Record<string, string>;
    const entryIds = [...new Set((results?.[1]?.[1] ?? []) as string[])];
    const count = Number(bucket.count ?? 0);
    if (count === 0) return undefined;
    const alert: AlertRecord = {
      id: randomUUID(),
      key,
      kind: bucket.kind ?? '',
      origin: bucket.origin ?? '',
      count,
      entryIds,
      firstParkedAt: new Date(Number(bucket.firstAtMs)).toISOString(),
      lastParkedAt: new Date(Number(bucket.lastAtMs)).toISOString(),
      lastError: bucket.lastError ?? '',
      lastReason: bucket.lastReason ?? '',
      message: `${count} ${bucket.kind ?? ''} failure(s) from ${bucket.origin ?? ''} parked in the DLQ (last reason: ${bucket.lastReason || 'unknown'})`,
      createdAt: new Date().toISOString(),
      webhook: { status: this.webhook ? 'pending' : 'disabled', attempts: 0 },
    };
    await this.record(alert);
    this.logger.error({ alert: { id: alert.id, origin: alert.origin, kind: alert.kind, count, entryIds, lastError: alert.lastError } }, 'dlq alert');
    await this.deps.redis.publish(ALERT_CHANNEL, JSON.stringify(alert));
    this.deps.metrics.alerts.inc({ channel: 'pubsub' });
    await this.deps.store.increment('alerts');
    this.webhook?.send(alert.id, alert);
    return alert;
  }

  /** Newest first. */
  async history(offset: number, limit: number): Promise<{ items: AlertRecord[]; total: number }> {
    const [ids, total] = await Promise.all([
      this.deps.redis.zrevrange(this.keys.alerts(), offset, offset + limit - 1),
      this.deps.redis.zcard(this.keys.alerts()),
    ]);
    if (ids.length === 0) return { items: [], total };
    const values = await this.deps.redis.mget(...ids.map((id) => this.keys.alert(id)));
    return { items: values.flatMap((json) => (json === null ? [] : [JSON.parse(json) as AlertRecord])), total };
  }

  /** Webhook bookkeeping: the alert's history record shows attempts and the outcome. */
  async onWebhookAttempt(id: string, outcome: DeliveryOutcome & { done: boolean }): Promise<void> {
    const json = await this.deps.redis.get(this.keys.alert(id));
    if (outcome.done) {
      if (outcome.delivered) {
        this.deps.metrics.alerts.inc({ channel: 'webhook' });
        await this.deps.store.increment('webhookDelivered');
      } else {
        this.deps.metrics.webhookFailures.inc();
        await this.deps.store.increment('webhookFailed');
      }
    }
    if (json === null) return;
    const alert = JSON.parse(json) as AlertRecord;
    alert.webhook = {
      status: outcome.delivered ? 'delivered' : outcome.done ? 'failed' : 'pending',
      attempts: outcome.attempts,
      ...(outcome.lastError ? { lastError: outcome.lastError } : {}),
    };
    await this.deps.redis.set(this.keys.alert(id), JSON.stringify(alert), 'KEEPTTL');
  }

  /**
   * Stops the timers and sends what the buckets hold (best effort; they stay on the master
   * otherwise), then closes the webhook sender (pending deliveries are sent again on the next start).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const keys = [...this.timers.keys()];
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const key of keys) {
      await this.flush(key).catch((caught: unknown) => {
        this.logger.error({ err: toError(caught), key }, 'alert flush on close failed; the bucket stays for the next start');
      });
    }
    await this.webhook?.close();
  }

  private schedule(key: string, delayMs: number): void {
    if (this.closed || this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.flush(key).catch((caught: unknown) => {
        this.logger.error({ err: toError(caught), key }, 'alert flush failed; retrying');
        this.schedule(key, Math.max(this.options.windowMs, 1_000));
      });
    }, delayMs);
    this.timers.set(key, timer);
  }

  private async record(alert: AlertRecord): Promise<void> {
    const score = Date.parse(alert.createdAt);
    await this.deps.redis.multi().set(this.keys.alert(alert.id), JSON.stringify(alert)).zadd(this.keys.alerts(), score, alert.id).exec();
    const excess = (await this.deps.redis.zcard(this.keys.alerts())) - this.options.historyMax;
    if (excess > 0) {
      const old = await this.deps.redis.zrange(this.keys.alerts(), 0, String(excess - 1));
      if (old.length > 0) await this.deps.redis.multi().zrem(this.keys.alerts(), ...old).del(...old.map((id) => this.keys.alert(id))).exec();
    }
  }
}
