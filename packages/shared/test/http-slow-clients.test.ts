/**
 * Slow and numerous clients over real sockets: a client trickling its headers or its body is
 * cut by the headers/request timeout of `startHttpServer`, and connections over the cap are
 * closed at once, while a normal request still gets its answer.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { startHttpServer, type RunningServer } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';

const LIMITS = { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 1_000, maxConnections: 4 };
/**
 * Scheduling slack on a loaded 2-core machine: the bound checked is the timeout plus this. A
 * timeout not applied leaves Node's defaults (60 s headers, 300 s request): far above it.
 */
const SLACK_MS = 5_000;

let server: RunningServer;

beforeAll(async () => {
  const app = express();
  app.get('/ok', (_req, res) => void res.json({ ok: true }));
  app.post('/echo', express.text({ type: '*/*' }), (req, res) => void res.json({ length: String(req.body).length }));
  server = await startHttpServer(app, 0, '127.0.0.1', LIMITS);
});

afterAll(async () => {
  await server?.close(100);
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `chunks` one every `everyMs` until the server closes the socket; resolves with ms until close and what it answered. */
function trickle(socket: Socket, first: string, chunk: string, everyMs: number): Promise<{ closedAfterMs: number; answer: string }> {
  const started = Date.now();
  let answer = '';
  socket.on('data', (data) => {
    answer += data.toString();
  });
  socket.on('error', () => undefined); // a reset by the server is the expected end
  socket.write(first);
  const timer = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write(chunk);
  }, everyMs);
  return new Promise((resolve) => {
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
  });
}

describe('startHttpServer against slow clients', () => {
  it('cuts a client that sends its headers 10 bytes at a time within the headers timeout', async () => {
    const socket = await open();
    const result = await trickle(socket, 'GET /ok HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 200);
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(result.closedAfterMs).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
    expect(result.answer).not.toContain('"ok":true');
  }, 15_000);

  it('cuts a client that sends its body 10 bytes at a time within the request timeout', async () => {
    const socket = await open();
    const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n';
    const result = await trickle(socket, head, 'x'.repeat(10), 200);
    expect(result.closedAfterMs).toBeLessThan(LIMITS.requestTimeoutMs + SLACK_MS);
    expect(result.answer).not.toContain('"length"');
  }, 15_000);

  it('closes connections over HTTP_MAX_CONNECTIONS at once and still answers a normal request', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => open()));
    for (const socket of held) socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n'); // incomplete: holds the slot
    const extra = await open();
    const closed = await new Promise<boolean>((resolve) => {
      extra.on('error', () => undefined);
      extra.once('close', () => resolve(true));
      extra.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(closed).toBe(true);
    for (const socket of held) socket.destroy();
    // Slots are freed as the held sockets close: a normal request gets its answer again (a
    // deadline in time, not in attempts: on a loaded machine the closes take a while to land).
    const status = await waitFor(async () => {
      const answered = await fetch(`${server.url}/ok`).then((response) => response.status, () => 0);
      return answered === 200 ? answered : undefined;
    }, 'a normal request answered once the held sockets closed', { timeoutMs: 10_000, intervalMs: 10 });
    expect(status).toBe(200);
  }, 15_000);
});
