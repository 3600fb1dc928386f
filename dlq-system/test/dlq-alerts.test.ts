import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_CHANNEL, createRedis, type Redis } from '@event-infra/shared';
import { freePort, silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { jobEntry, startDlqFixture, startWebhookReceiver, type DlqFixture, type WebhookReceiver } from './support/dlq-harness';

describe('DLQ alerts', () => {
  let fx: DlqFixture;
  let webhookPort: number;
  let receiver: WebhookReceiver | undefined;
  let subscriber: Redis;
  const alerts: any[] = [];

  beforeAll(async () => {
    // The webhook receiver is down at first: nothing listens on this port yet.
    webhookPort = await freePort();
    fx = await startDlqFixture({
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/hook`,
      ALERT_WEBHOOK_ATTEMPTS: '100',
      ALERT_WEBHOOK_RETRY_DELAY_MS: '50',
      ALERT_WEBHOOK_MAX_RETRY_DELAY_MS: '200',
      ALERT_WEBHOOK_TIMEOUT_MS: '1000',
      // Wide enough that the four parks below land in one window on a loaded machine.
      ALERT_COALESCE_WINDOW_MS: '3000',
    });
    subscriber = createRedis({ url: fx.master.url, role: 'test', profile: 'consumer', logger: silentLogger() });
    subscriber.on('message', (_channel: string, message: string) => alerts.push(JSON.parse(message)));
    await subscriber.subscribe(ALERT_CHANNEL);
  });

  afterAll(async () => {
    subscriber.disconnect();
    await fx.close();
    await receiver?.close();
  });

  const permanent = { message: 'payload is not valid', permanent: true };
  const parked = (id: string) => async () => (await fx.api('GET', `/dlq/${id}`)).body?.status === 'parked';

  it('coalesces parks of one origin within the window into one alert with a count', async () => {
    const [x, y] = [uniqueName('orders'), uniqueName('billing')];
    const ids = await Promise.all([
      fx.sink.add(jobEntry(x, '1', permanent)),
      fx.sink.add(jobEntry(x, '2', permanent)),
      fx.sink.add(jobEntry(x, '3', permanent)),
      fx.sink.add(jobEntry(y, '1', permanent)),
    ]);
    for (const id of ids) await waitFor(parked(id), `${id} parked`);
    await waitFor(() => alerts.some((a) => a.origin === x) && alerts.some((a) => a.origin === y), 'both alerts');
    const forX = alerts.filter((a) => a.origin === x);
    expect(forX).toHaveLength(1);
    expect(forX[0]).toMatchObject({ kind: 'job', count: 3, key: `job:${x}` });
    expect([...forX[0].entryIds].sort()).toEqual(ids.slice(0, 3).sort());
    expect(alerts.filter((a) => a.origin === y)).toEqual([expect.objectContaining({ count: 1, entryIds: [ids[3]] })]);
  });

  it('keeps processing while the webhook is down, and retries the alert until the receiver answers', async () => {
    const origin = uniqueName('payments');
    const first = await fx.sink.add(jobEntry(origin, '1', permanent));
    await waitFor(parked(first), 'first entry parked');
    const alert = await waitFor(() => alerts.find((a) => a.origin === origin), 'the alert on the channel');
    await waitFor(async () => {
      const { body } = await fx.api('GET', '/dlq/alerts');
      const record = body.items.find((a: any) => a.id === alert.id);
      return record?.webhook.status === 'pending' && record.webhook.attempts >= 2 && record.webhook.lastError === 'ECONNREFUSED';
    }, 'failed webhook attempts recorded');

    // Processing goes on meanwhile: another failure is parked and alerted on the channel.
    const other = uniqueName('shipping');
    const second = await fx.sink.add(jobEntry(other, '1', permanent));
    await waitFor(parked(second), 'second entry parked while the webhook is down');
    await waitFor(() => alerts.some((a) => a.origin === other), 'the second alert on the channel');

    receiver = await startWebhookReceiver(webhookPort);
    const delivered = await waitFor(() => receiver!.bodies.find((body) => body.id === alert.id), 'the retried webhook delivery');
    expect(delivered).toMatchObject({ origin, count: 1, entryIds: [first] });
    await waitFor(() => receiver!.bodies.some((body) => body.origin === other), 'the second alert delivered');
    await waitFor(async () => {
      const { body } = await fx.api('GET', '/dlq/alerts');
      const record = body.items.find((a: any) => a.id === alert.id);
      return record?.webhook.status === 'delivered' && record.webhook.attempts >= 3;
    }, 'the alert recorded as delivered after retries');
    const stats = await fx.api('GET', '/stats');
    expect(stats.body.totals.webhookDelivered).toBeGreaterThanOrEqual(2);
  });

  it('sends a webhook still pending when the processor stopped after the restart', async () => {
    await receiver!.close();
    const origin = uniqueName('invoices');
    const id = await fx.sink.add(jobEntry(origin, '1', permanent));
    await waitFor(parked(id), 'entry parked');
    const alert = await waitFor(() => alerts.find((a) => a.origin === origin), 'the alert on the channel');
    await waitFor(async () => {
      const { body } = await fx.api('GET', '/dlq/alerts');
      return body.items.find((a: any) => a.id === alert.id)?.webhook.attempts >= 1;
    }, 'a failed attempt recorded');

    await fx.restartProcessor();
    const pending = (await fx.api('GET', '/dlq/alerts')).body.items.find((a: any) => a.id === alert.id);
    expect(pending.webhook.status).toBe('pending');
    receiver = await startWebhookReceiver(webhookPort);
    const delivered = await waitFor(() => receiver!.bodies.find((body) => body.id === alert.id), 'the delivery after the restart');
    expect(delivered).toMatchObject({ origin, entryIds: [id] });
    await waitFor(async () => {
      const { body } = await fx.api('GET', '/dlq/alerts');
      return body.items.find((a: any) => a.id === alert.id)?.webhook.status === 'delivered';
    }, 'recorded as delivered');
  });
});
