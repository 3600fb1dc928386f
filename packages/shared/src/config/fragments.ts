import { z } from 'zod';

/**
 * Zod fragments every service composes into its own config schema. Values arrive as
 * strings from the environment; each fragment turns them into the typed value.
 */

/** `redis://` or `rediss://` URL. The password may be in the URL or in a separate variable. */
export const redisUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
    } catch {
      // `new URL` throws on anything that is not a URL: that is the answer.
      return false;
    }
  }, 'must be a redis:// or rediss:// URL with a host');

/** An `http://` or `https://` URL (a link the pages show: no credentials in it). */
export const httpUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
    } catch {
      // `new URL` throws on anything that is not a URL: that is the answer.
      return false;
    }
  }, 'must be an http:// or https:// URL without credentials');

export const port = z.coerce.number().int().min(0).max(65535);

export const positiveInt = z.coerce.number().int().positive();

export const nonNegativeInt = z.coerce.number().int().nonnegative();

/** A byte size as express' body limit takes it: `2048` (bytes), `512kb`, `1mb` (read by `sizeToBytes`). */
export const byteSize = z.string().regex(/^\d+(b|kb|mb)?$/i, 'must be a size like 1mb or 512kb');

/** "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off". Never `z.coerce.boolean()`, which reads "false" as true. */
export const bool = z.stringbool();

/** An optional secret: empty string means unset. */
export const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));

/** An optional http(s) URL; empty means unset. May carry a token, so it is never logged. */
export const optionalHttpUrl = optionalSecret.refine((value) => {
  if (value === undefined) return true;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    // Not parseable as a URL: the refinement's message says what is expected.
    return false;
  }
}, 'must be an http:// or https:// URL');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Comma-separated list; blanks dropped. */
export const csv = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

/** One seed node of a Redis Cluster. */
export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/** Most seed nodes a cluster variable may list (a client needs one that answers; the rest are found through it). */
export const MAX_CLUSTER_SEED_NODES = 64;

/**
 * Seed nodes of a Redis Cluster, `host:port,host:port` (IPv6 as `[addr]:port`); unset or empty
 * means the role is a single Redis. At most `MAX_CLUSTER_SEED_NODES`.
 */
export const clusterNodes = z
  .string()
  .optional()
  .transform((value, context): ClusterNodeAddress[] => {
    const items = (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
    if (items.length > MAX_CLUSTER_SEED_NODES) {
      context.addIssue({ code: 'custom', message: `lists ${items.length} nodes; at most ${MAX_CLUSTER_SEED_NODES}` });
      return z.NEVER;
    }
    const nodes: ClusterNodeAddress[] = [];
    for (const item of items) {
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
      const port = Number(match?.[3]);
      if (match === null || port < 1 || port > 65_535) {
        // The item is named by position only: a seed list is not secret, but keep errors short.
        context.addIssue({ code: 'custom', message: `item ${nodes.length + 1} must be host:port` });
        return z.NEVER;
      }
      nodes.push({ host: match[1] ?? match[2]!, port });
    }
    return nodes;
  });
