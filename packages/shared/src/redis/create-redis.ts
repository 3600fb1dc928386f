import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger';
import type { RedisRole } from '../names';

/**
 * `producer`: fail fast. No offline queue, so a command on a disconnected client rejects at
 * once instead of waiting: HTTP handlers and publishers answer with an error, never hang.
 * `consumer`: retry forever (`maxRetriesPerRequest: null`, as BullMQ workers require), so
 * long-lived readers ride out a Redis restart.
 */
export type RedisProfile = 'producer' | 'consumer';

export interface RedisConnectionSettings {
  /** `redis://[:password@]host:port[/db]`. */
  url: string;
  /** Used when the URL carries no password. */
  password?: string | undefined;
  role: RedisRole | string;
  profile: RedisProfile;
  logger: Logger;
  /** Extra client name suffix (shown by `CLIENT LIST`). */
  name?: string;
  /** Connection attempt timeout, ms. Default 5000. */
  connectTimeoutMs?: number;
}

/** `host:port` of a Redis URL, safe to log (no credentials). */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    // Config validation rejects bad URLs before we get here; say so rather than echo it.
    return '(invalid url)';
  }
}

/** ioredis options for a URL and profile; exposed so BullMQ can be handed the same options. */
export function redisOptions(settings: Omit<RedisConnectionSettings, 'logger'>): RedisOptions {
  const url = new URL(settings.url);
  const password = url.password !== '' ? decodeURIComponent(url.password) : settings.password;
  const username = url.username !== '' ? decodeURIComponent(url.username) : undefined;
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  const base: RedisOptions = {
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db: Number.isInteger(db) ? db : 0,
    connectionName: `evinfra:${settings.role}${settings.name ? `:${settings.name}` : ''}`,
    connectTimeout: settings.connectTimeoutMs ?? 5_000,
    // Back off up to 2 s between reconnect attempts, forever: the stack heals when Redis returns.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(username !== undefined ? { username } : {}),
  };
  return settings.profile === 'consumer'
    ? { ...base, maxRetriesPerRequest: null, enableOfflineQueue: true }
    : { ...base, maxRetriesPerRequest: 1, enableOfflineQueue: false };
}

/**
 * The only place the product opens a Redis connection. Attaches `error`, `reconnecting` and
 * `ready` logging once; the error log is rate-limited to one line per status change so a
 * Redis that is down does not flood the logs.
 */
export function createRedis(settings: RedisConnectionSettings): Redis {
  const { logger: parentLogger, ...rest } = settings;
  const endpoint = describeRedisUrl(settings.url);
  const logger = parentLogger.child({ component: 'redis', role: settings.role, endpoint });
  const client = new Redis(redisOptions(rest));
  let lastError = '';
  client.on('error', (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    logger.error({ err: { message: err.message, code: (err as { code?: string }).code } }, 'redis connection error');
  });
  client.on('reconnecting', (delayMs: number) => logger.debug({ delayMs }, 'redis reconnecting'));
  client.on('ready', () => {
    if (lastError !== '') logger.info('redis connection restored');
    lastError = '';
  });
  return client;
}

/**
 * Resolves once the client is ready, or rejects with a clear message naming the role and
 * endpoint (never the password) after `timeoutMs`.
 */
export async function waitForRedis(client: Redis, role: string, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const endpoint = `${client.options.host ?? '?'}:${client.options.port ?? '?'}`;
    let lastError: Error | undefined;
    const onError = (err: Error): void => {
      lastError = err;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `${role} at ${endpoint} is unreachable after ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`,
        ),
      );
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

/** PING with a deadline: a health check must answer even when Redis does not. */
export async function pingRedis(client: Redis, timeoutMs = 1_000): Promise<void> {
  if (client.status !== 'ready') throw new Error(`connection is ${client.status}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no PING reply within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * QUIT politely, and disconnect if Redis does not answer within `timeoutMs`. Resolves once
 * the connection has ended (status `end`), so a caller that closed its clients can rely on
 * no socket being left open.
 */
export async function closeRedis(client: Redis, timeoutMs = 2_000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    // Connecting or reconnecting: nothing to say goodbye to; this also cancels the retry timer.
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  // QUIT resolves on Redis' OK, before the socket closes; 'end' is when the client is done.
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await Promise.race([
      client.quit().then(() => ended),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // QUIT on a connection that is already closing rejects; disconnect below finishes the job.
  } finally {
    clearTimeout(timer);
    // A cast: TypeScript narrowed status to 'ready' above, but the awaits may have changed it.
    if ((client.status as string) !== 'end') client.disconnect();
  }
}
