import { lookup } from 'node:dns';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ClusterNodeAddress } from '../config/fragments';
import type { Logger } from '../logger';
import type { RedisRole } from '../names';

/**
 * `producer`: fail fast. No offline queue, so a command on a disconnected client rejects at
 * once instead of waiting: HTTP handlers and publishers answer with an error, never hang.
 * `consumer`: retry forever (`maxRetriesPerRequest: null`, as BullMQ workers require), so
 * long-lived readers ride out a Redis restart.
 */
export type RedisProfile = 'producer' | 'consumer';

/** A connection to one Redis role: a single server (`Redis`) or a Redis Cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

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
  /**
   * Seed nodes of a Redis Cluster: when non-empty the client is a `Cluster` over them, with
   * the URL's password, user and TLS (its host and db are not used: a cluster has db 0 only).
   */
  clusterNodes?: readonly ClusterNodeAddress[] | undefined;
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
  const { logger: parentLogger, clusterNodes: _single, ...rest } = settings;
  const client = new Redis(redisOptions(rest));
  attachLogging(client, parentLogger.child({ component: 'redis', role: settings.role, endpoint: describeRedisUrl(settings.url) }));
  return client;
}

/** `host:port,…` of a cluster's seed nodes, safe to log. */
export function describeClusterNodes(nodes: readonly ClusterNodeAddress[]): string {
  return nodes.map((node) => (node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`)).join(',');
}

/** Delay before a command is retried on a failover or CLUSTERDOWN, ms. */
const CLUSTER_RETRY_DELAY_MS = 200;

/**
 * Redirections (and failover retries) a `consumer` command gets: 300 × 200 ms = 60 s without a
 * master for its slot, enough for cluster-node-timeout 15000 (Redis' default) plus an election.
 */
export const CONSUMER_MAX_REDIRECTIONS = 300;

/**
 * The seed nodes' name look-up of a cluster client. ioredis resolves every seed name on each
 * (re)connect with one `Promise.all`: one name that no longer resolves (Docker drops a stopped
 * container's name) failed every reconnect with `ENOTFOUND`, though the other seeds answered,
 * and a compose cluster that lost a master left the workers' connections down. A name that does
 * not resolve is kept as it is here: only that seed fails, when it is tried.
 */
export function seedLookup(hostname: string, callback: (err: NodeJS.ErrnoException | null, address: string) => void): void {
  lookup(hostname, (err, address) => callback(null, err ? hostname : address));
}

/**
 * ioredis Cluster options with the same profile as `redisOptions`: the per-node connections get
 * the URL's password, user, TLS, connect timeout and client name; the cluster reconnects forever
 * (backing off up to 2 s) and follows MOVED/ASK and failovers by itself. `consumer` keeps an
 * offline queue and retries forever; `producer` fails fast while the cluster is not ready.
 */
export function clusterOptions(settings: Omit<RedisConnectionSettings, 'logger'>): ClusterOptions {
  const single = redisOptions(settings);
  const isConsumer = settings.profile === 'consumer';
  const nodeOptions: RedisOptions = {
    connectTimeout: single.connectTimeout!,
    ...(single.connectionName !== undefined ? { connectionName: single.connectionName } : {}),
    ...(single.password !== undefined ? { password: single.password } : {}),
    ...(single.username !== undefined ? { username: single.username } : {}),
    ...(single.tls !== undefined ? { tls: single.tls } : {}),
    // Per-node: a command is retried by the cluster layer (redirections, failover delay), not here.
    maxRetriesPerRequest: isConsumer ? null : 1,
  };
  return {
    redisOptions: nodeOptions,
    enableReadyCheck: true,
    enableOfflineQueue: isConsumer,
    clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
    // A node that died: wait this long before retrying on the refreshed slot map (its replica
    // is promoted after cluster-node-timeout plus an election).
    retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: 100,
    // Each retry above counts as a redirection. ioredis's default (16, ~3 s) gives up before a
    // replica is promoted (4-5 s with cluster-node-timeout 2000), so a BullMQ worker's
    // moveToFinished failed and its job waited for the stalled check (lock expiry + up to two
    // intervals). `consumer` rides out the failover; `producer` still fails fast (a 503).
    maxRedirections: isConsumer ? CONSUMER_MAX_REDIRECTIONS : 16,
    slotsRefreshTimeout: 2_000,
    slotsRefreshInterval: 5_000,
    dnsLookup: seedLookup,
  };
}

/** A client for the settings: a `Cluster` when `clusterNodes` lists seed nodes, else a single `Redis`. */
export function createRedisClient(settings: RedisConnectionSettings): RedisClient {
  const nodes = settings.clusterNodes ?? [];
  if (nodes.length === 0) return createRedis(settings);
  const { logger: parentLogger, clusterNodes: _nodes, ...rest } = settings;
  const cluster = new Cluster(
    nodes.map((node) => ({ host: node.host, port: node.port })),
    clusterOptions(rest),
  );
  attachLogging(cluster, parentLogger.child({ component: 'redis', role: settings.role, endpoint: describeClusterNodes(nodes), cluster: true }));
  return cluster;
}

/** Where a client connects, safe to log: `host:port` or the cluster's seed list. */
export function describeClient(client: RedisClient): string {
  if (client instanceof Cluster) {
    const known = client.nodes().map((node) => `${node.options.host ?? '?'}:${node.options.port ?? '?'}`);
    return known.length > 0 ? `cluster ${known.join(',')}` : 'cluster (no node reached yet)';
  }
  return `${client.options.host ?? '?'}:${client.options.port ?? '?'}`;
}

function attachLogging(client: RedisClient, logger: Logger): void {
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
}

/**
 * Resolves once the client is ready, or rejects with a clear message naming the role and
 * endpoint (never the password) after `timeoutMs`.
 */
export async function waitForRedis(client: RedisClient, role: string, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const endpoint = describeClient(client);
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
export async function pingRedis(client: RedisClient, timeoutMs = 1_000): Promise<void> {
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
export async function closeRedis(client: RedisClient, timeoutMs = 2_000): Promise<void> {
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
