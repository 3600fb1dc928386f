/**
 * A test HTTP receiver for the DLQ processor's alert webhook, on a fixed loopback port so it
 * can be stopped (connections refused) and started again at the same URL.
 */
import { createServer, type Server } from 'node:http';

export interface ReceivedAlert {
  id: string;
  count: number;
  path: string;
}

export interface WebhookReceiver {
  port: number;
  readonly running: boolean;
  /** Every alert POSTed while running, in arrival order. */
  readonly received: ReceivedAlert[];
  start(): Promise<void>;
  /** Stops listening and drops open connections: the next POST gets ECONNREFUSED. */
  stop(): Promise<void>;
}

export function createWebhookReceiver(port: number): WebhookReceiver {
  const received: ReceivedAlert[] = [];
  let server: Server | undefined;
  return {
    port,
    get running() {
      return server !== undefined;
    },
    received,
    async start() {
      if (server) return;
      const next = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string; count?: number };
            received.push({ id: String(body.id), count: Number(body.count ?? 0), path: request.url ?? '' });
            response.writeHead(204).end();
          } catch {
            // Not JSON: the sender is broken; answer 400 so it shows in its history.
            response.writeHead(400).end();
          }
        });
      });
      await new Promise<void>((resolve, reject) => next.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
      server = next;
    },
    async stop() {
      const current = server;
      if (!current) return;
      server = undefined;
      current.closeAllConnections();
      await new Promise((resolve) => current.close(resolve));
    },
  };
}
