/**
 * Webhook sender against real HTTP servers on 127.0.0.1: what a POST carries, what a refused
 * connection reports, that bookkeeping failures do not stop retries, and that close cancels
 * scheduled retries and requests in flight without recording them.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@event-infra/testing';
import { WebhookSender, type DeliveryOutcome } from '../src/core/webhook-sender';

type Outcome = DeliveryOutcome & { done: boolean };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(handler: (req: { method: string; url: string; headers: IncomingHttpHeaders; body: string }, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => handler({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts` };
}

function sender(url: string, outcomes: Outcome[], options: Partial<{ attempts: number; retryDelayMs: number; timeoutMs: number }> = {}, onAttempt?: (id: string, outcome: Outcome) => Promise<void>) {
  const webhook = new WebhookSender(
    { url, timeoutMs: options.timeoutMs ?? 2_000, attempts: options.attempts ?? 3, retryDelayMs: options.retryDelayMs ?? 10 },
    { logger: silentLogger(), onAttempt: onAttempt ?? (async (_id, outcome) => void outcomes.push(outcome)) },
  );
  closers.unshift(() => webhook.close());
  return webhook;
}

describe('webhook-sender lifecycle', () => {
  it('POSTs the JSON payload with its content type and user agent to the configured URL', async () => {
    const requests: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
    const { url } = await listen((req, res) => {
      requests.push(req);
      res.writeHead(200).end('ok');
    });
    const outcomes: Outcome[] = [];
    sender(url, outcomes).send('a1', { count: 2, ids: ['x', 'y'] });
    await waitFor(() => outcomes.length === 1, 'one outcome');
    expect(outcomes).toEqual([{ delivered: true, attempts: 1, done: true }]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/alerts', body: '{"count":2,"ids":["x","y"]}' });
    expect(requests[0]!.headers['content-type']).toBe('application/json');
    expect(requests[0]!.headers['user-agent']).toBe('evinfra-dlq-processor');
  });

  it('reports a 4xx by its status and a refused connection by its code', async () => {
    const { url } = await listen((_req, res) => res.writeHead(404).end());
    const outcomes: Outcome[] = [];
    sender(url, outcomes, { attempts: 1 }).send('a2', {});
    await waitFor(() => outcomes.length === 1, 'the 404 outcome');
    expect(outcomes).toEqual([{ delivered: false, attempts: 1, done: true, lastError: 'HTTP 404' }]);
    // A port nobody listens on any more (a fresh one: no pooled connection to it).
    const gone = await listen(() => undefined);
    await new Promise<void>((resolve) => gone.server.close(() => resolve()));
    const refused: Outcome[] = [];
    sender(gone.url, refused, { attempts: 1 }).send('a3', {});
    await waitFor(() => refused.length === 1, 'the refused outcome');
    expect(refused).toEqual([{ delivered: false, attempts: 1, done: true, lastError: 'ECONNREFUSED' }]);
  });

  it('a failing bookkeeping callback does not stop the retries', async () => {
    let requests = 0;
    const { url } = await listen((_req, res) => {
      requests += 1;
      res.writeHead(requests < 3 ? 500 : 204).end();
    });
    const seen: Outcome[] = [];
    sender(url, [], { attempts: 3 }, async (_id, outcome) => {
      seen.push(outcome);
      throw new Error('history unavailable');
    }).send('a4', {});
    await waitFor(() => seen.some((outcome) => outcome.done), 'the last attempt');
    expect(seen.map((o) => [o.attempts, o.delivered])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });

  it('close cancels a scheduled retry and aborts a request in flight, without recording either; send after close does nothing', async () => {
    let requests = 0;
    const held: ServerResponse[] = [];
    const { url } = await listen((_req, res) => {
      requests += 1;
      if (requests === 1) res.writeHead(500).end();
      else held.push(res);
    });
    closers.push(async () => void held.forEach((res) => res.destroy()));
    const outcomes: Outcome[] = [];
    const retrying = sender(url, outcomes, { attempts: 5, retryDelayMs: 60_000 });
    retrying.send('a5', {});
    await waitFor(() => outcomes.length === 1, 'first failure');
    await retrying.close();
    await retrying.close();
    retrying.send('a6', {});
    expect(requests).toBe(1);

    const hanging = sender(url, outcomes, { attempts: 5, timeoutMs: 60_000 });
    hanging.send('a7', {});
    await waitFor(() => held.length === 1, 'request in flight');
    await hanging.close();
    expect(outcomes).toHaveLength(1);
  });
});
