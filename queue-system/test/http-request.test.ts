/**
 * The `http.request` handler against real HTTP servers on 127.0.0.1: the allow-list's port
 * rule, the response body streamed and cut at the cap (the server sees the connection close
 * long before its 50 MiB are sent), one resolution whose address is the one connected to (a
 * rebinding resolver gets no second chance), credentials in URLs refused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentJobError } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';
import { httpRequestHandler } from '../src/core/handlers/http-request';
import { createHostGuard, type Resolver } from '../src/core/host-guard';

const BIG_BYTES = 50 * 1024 * 1024;
const CAP = 4096;

let target: Server;
let other: Server;
let port = 0;
let otherPort = 0;
const big = { written: 0, closed: false };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  target = createServer((req, res) => {
    if (req.url === '/ok') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
    if (req.url === '/host') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(String(req.headers.host));
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      res.on('close', () => {
        big.closed = true;
      });
      const pump = (): void => {
        while (big.written < BIG_BYTES && !res.destroyed) {
          big.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      return pump();
    }
    res.writeHead(404).end();
  });
  other = createServer((_req, res) => void res.writeHead(200).end('internal page'));
  port = await listen(target);
  otherPort = await listen(other);
});

afterAll(async () => {
  for (const server of [target, other]) {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
});

function run(guardEntries: string[], data: Record<string, unknown>, resolve?: Resolver) {
  const handler = httpRequestHandler(createHostGuard(guardEntries, resolve), { maxResponseBytes: CAP });
  return handler.handler({
    data,
    signal: new AbortController().signal,
    progress: async () => undefined,
    logger: silentLogger(),
    job: { id: 'j', name: 'http.request', queue: 'async-processing', attempt: 1, maxAttempts: 1, timeoutMs: 30_000 },
  }) as Promise<{ status: number; body: unknown; truncated?: boolean }>;
}

describe('http.request handler (real servers)', () => {
  it('calls a listed host:port and returns the parsed JSON body', async () => {
    expect(await run([`127.0.0.1:${port}`], { url: `http://127.0.0.1:${port}/ok` })).toMatchObject({ status: 200, body: { hello: 'world' } });
  });

  it('refuses another port of the same listed host, and any port but 80 for a bare host', async () => {
    await expect(run([`127.0.0.1:${port}`], { url: `http://127.0.0.1:${otherPort}/` })).rejects.toBeInstanceOf(PermanentJobError);
    await expect(run(['127.0.0.1'], { url: `http://127.0.0.1:${otherPort}/` })).rejects.toThrow(/not in HTTP_ALLOWED_HOSTS/);
  });

  it('streams the body and cuts it at the cap: the 50 MiB answer is never read whole', async () => {
    const rssBefore = process.memoryUsage().rss;
    const result = await run([`127.0.0.1:${port}`], { url: `http://127.0.0.1:${port}/big` });
    expect(result.status).toBe(200);
    expect(result.truncated).toBe(true);
    expect(String(result.body)).toHaveLength(CAP);
    // The handler closed the connection: the server could not push its 50 MiB.
    await expect.poll(() => big.closed).toBe(true);
    expect(big.written).toBeLessThan(BIG_BYTES / 4);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(BIG_BYTES);
  });

  it('connects to the address the guard checked: one resolution, no second look-up', async () => {
    let calls = 0;
    // First answer loopback (listed exactly), every later one an unroutable address.
    const rebinding: Resolver = async () => {
      calls += 1;
      return [{ address: calls === 1 ? '127.0.0.1' : '203.0.113.1', family: 4 }];
    };
    const result = await run([`app.rebind.test:${port}`], { url: `http://app.rebind.test:${port}/host`, timeoutMs: 5_000 }, rebinding);
    expect(result).toMatchObject({ status: 200, body: `app.rebind.test:${port}` });
    expect(calls).toBe(1);
  });

  it('refuses credentials in the URL without echoing them', async () => {
    const failure = run([`127.0.0.1:${port}`], { url: `http://user:hunter2-secret@127.0.0.1:${port}/ok` });
    await expect(failure).rejects.toBeInstanceOf(PermanentJobError);
    await expect(failure).rejects.toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2-secret') }));
  });

  it('a job cannot set the Host header it is sent with', async () => {
    const result = await run([`127.0.0.1:${port}`], { url: `http://127.0.0.1:${port}/host`, headers: { Host: 'internal.admin' } });
    expect(result.body).toBe(`127.0.0.1:${port}`);
  });
});
