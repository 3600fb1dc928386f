import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@event-infra/testing';
import { WebhookSender, type DeliveryOutcome } from '../src/core/webhook-sender';

describe('webhook-sender', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  // 3 s: under load (a mutation run on a shared machine) a shorter bound also cut the 500 and the 204.
  it('times out a hanging receiver, retries a 500, and delivers on the next attempt, without blocking the caller', async () => {
    const held: ServerResponse[] = [];
    const received: unknown[] = [];
    let requests = 0;
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        requests += 1;
        received.push(JSON.parse(text));
        if (requests === 1) held.push(res); // never answered: the sender's timeout must fire
        else if (requests === 2) res.writeHead(500).end();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const outcomes: (DeliveryOutcome & { done: boolean })[] = [];
    const sender = new WebhookSender(
      { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, timeoutMs: 3_000, attempts: 5, retryDelayMs: 20 },
      { logger: silentLogger(), onAttempt: async (_id, outcome) => void outcomes.push(outcome) },
    );
    closers.push(() => sender.close());

    sender.send('alert-1', { hello: 'world' });
    expect(requests).toBe(0); // send() returned before any request was made

    await waitFor(() => outcomes.some((outcome) => outcome.delivered), 'the delivery');
    expect(outcomes).toEqual([
      { delivered: false, attempts: 1, done: false, lastError: 'timeout after 3000 ms' },
      { delivered: false, attempts: 2, done: false, lastError: 'HTTP 500' },
      { delivered: true, attempts: 3, done: true },
    ]);
    expect(received).toEqual([{ hello: 'world' }, { hello: 'world' }, { hello: 'world' }]);
  });

  it('gives up after its attempts and reports the failure as done', async () => {
    const server = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const outcomes: (DeliveryOutcome & { done: boolean })[] = [];
    const sender = new WebhookSender(
      // Its answers are immediate: a long timeout keeps a loaded machine's slow reply a 503.
      { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, timeoutMs: 10_000, attempts: 3, retryDelayMs: 10 },
      { logger: silentLogger(), onAttempt: async (_id, outcome) => void outcomes.push(outcome) },
    );
    closers.push(() => sender.close());
    sender.send('alert-2', {});
    await waitFor(() => outcomes.some((outcome) => outcome.done), 'the last attempt');
    expect(outcomes.map((o) => [o.attempts, o.delivered, o.done, o.lastError])).toEqual([
      [1, false, false, 'HTTP 503'],
      [2, false, false, 'HTTP 503'],
      [3, false, true, 'HTTP 503'],
    ]);
  });
});
