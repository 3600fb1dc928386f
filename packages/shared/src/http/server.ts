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

/** Bounds against slow and numerous clients (`HTTP_*` variables; see README "Security"). */
export interface HttpServerLimits {
  /** Time a client has to send the complete request headers, ms. Default 10 s. */
  headersTimeoutMs: number;
  /** Time a client has to send the complete request (headers and body), ms. Default 30 s. */
  requestTimeoutMs: number;
  /** Idle time after which a keep-alive socket is closed, ms. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; further ones are closed at once. Default 1000. */
  maxConnections: number;
}

export const DEFAULT_HTTP_SERVER_LIMITS: HttpServerLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1000,
});

/** The limits from a service config (the shared `HTTP_*` variables). */
export function httpServerLimitsOf(config: {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  HTTP_MAX_CONNECTIONS: number;
}): HttpServerLimits {
  return {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: config.HTTP_MAX_CONNECTIONS,
  };
}

/** How often a closing server closes the keep-alive sockets that became idle, ms. */
const IDLE_SWEEP_MS = 50;

/**
 * Starts listening; resolves once bound, rejects with the OS error (e.g. EADDRINUSE).
 * Every server of the stack goes through here, so each gets the same slow-client bounds.
 */
export async function startHttpServer(
  app: Express,
  port: number,
  host: string,
  limits: HttpServerLimits = DEFAULT_HTTP_SERVER_LIMITS,
): Promise<RunningServer> {
  // Node checks the headers and request deadlines only every `connectionsCheckingInterval`
  // (30 s by default): a tighter interval is what makes a 10 s headers timeout real.
  const checkEveryMs = Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4)));
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // Node requires headersTimeout <= requestTimeout (0 would mean "no limit").
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkEveryMs,
    },
    app,
  );
  // Keep-alive sockets otherwise hold `close()` open for the client's idle time.
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
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
      // `server.close()` closes the sockets idle at that moment only: a socket whose in-flight
      // request finishes later stays open until the client drops it or the keep-alive timeout.
      // Swept while closing, so shutdown ends with the last request, not seconds after it.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      sweep.unref();
      server.close(() => {
        clearTimeout(timer);
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, port: address.port, host: address.address, url: `http://${shownHost}:${address.port}`, close };
}
