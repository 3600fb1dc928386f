import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface RunningServer {
  server: Server;
  /** Port actually bound (useful with port 0). */
  port: number;
  host: string;
  url: string;
  /** Stops accepting, lets in-flight requests finish up to `graceMs`, then drops the rest. */
  close: (graceMs?: number) => Promise<void>;
}

/** Starts listening; resolves once bound, rejects with the OS error (e.g. EADDRINUSE). */
export async function startHttpServer(app: Express, port: number, host: string): Promise<RunningServer> {
  const server = createServer(app);
  // Keep-alive sockets otherwise hold `close()` open for the client's idle time.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (graceMs = 5_000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, port: address.port, host: address.address, url: `http://${shownHost}:${address.port}`, close };
}
