import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isSpecialPurposeAddress } from './special-addresses';

/** One `HTTP_ALLOWED_HOSTS` entry: a host (or `*.suffix`) and a port, or the scheme's default. */
export interface AllowEntry {
  /** Lower-case host name or IP (IPv6 without brackets); for a pattern, the suffix with its dot (`.example.com`). */
  host: string;
  isPattern: boolean;
  /** Undefined: only the scheme's default port (80 for http, 443 for https). */
  port: number | undefined;
}

const ENTRY = /^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;

/**
 * Parses an allow-list entry: `host`, `host:port`, `*.suffix`, `*.suffix:port`,
 * `[v6]`, `[v6]:port`. Throws with the entry named when it is none of these.
 */
export function parseAllowEntry(raw: string): AllowEntry {
  const text = raw.trim().toLowerCase();
  const match = ENTRY.exec(text);
  const port = match?.[3] === undefined ? undefined : Number(match[3]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    throw new Error(`HTTP_ALLOWED_HOSTS entry "${raw}" is not host[:port], *.suffix[:port] or [ipv6][:port]`);
  }
  const host = match[2]!.replace(/^\[(.*)\]$/, '$1');
  if (match[1] !== undefined && isIP(host) !== 0) throw new Error(`HTTP_ALLOWED_HOSTS entry "${raw}": a pattern cannot be an IP address`);
  return { host: match[1] === undefined ? host : `.${host}`, isPattern: match[1] !== undefined, port };
}

export type HostVerdict =
  | { allowed: true; /** The checked address: connect to this one, never resolve again. */ address: string; family: 4 | 6 }
  | { allowed: false; reason: string };

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = async (host) => lookup(host, { all: true, verbatim: true });

/**
 * Decides whether `http.request` may call `url`, and which address it connects to.
 * `allowedHosts` (`HTTP_ALLOWED_HOSTS`) entries are `host[:port]` or `*.suffix[:port]`; a
 * bare host allows only its scheme's default port, so listing `localhost` does not open every
 * loopback port. An empty list allows nothing. The name is resolved once here; a host whose
 * address is special-purpose (loopback, private, link-local, NAT64, 6to4, multicast, …) is
 * refused unless its entry lists it exactly (a pattern is not enough), so DNS cannot turn a
 * public pattern against internal services. The caller connects to `verdict.address`.
 */
export function createHostGuard(allowedHosts: readonly string[], resolve: Resolver = systemResolver) {
  const entries = allowedHosts.map(parseAllowEntry);
  return async function check(url: URL): Promise<HostVerdict> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { allowed: false, reason: `protocol ${url.protocol} is not allowed` };
    const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? undefined : Number(url.port);
    const portMatches = (entry: AllowEntry): boolean => entry.port === port || (entry.port === undefined && port === undefined);
    const exact = entries.some((entry) => !entry.isPattern && entry.host === host && portMatches(entry));
    const pattern = !exact && entries.some((entry) => entry.isPattern && host.endsWith(entry.host) && host.length > entry.host.length && portMatches(entry));
    const shown = url.port === '' ? host : `${host}:${url.port}`;
    if (!exact && !pattern) return { allowed: false, reason: `host ${shown} is not in HTTP_ALLOWED_HOSTS` };
    let addresses: { address: string; family: number }[];
    if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
    else {
      try {
        addresses = await resolve(host);
      } catch (caught) {
        const code = (caught as { code?: unknown }).code;
        return { allowed: false, reason: `host ${host} does not resolve${typeof code === 'string' ? ` (${code})` : ''}` };
      }
    }
    if (addresses.length === 0) return { allowed: false, reason: `host ${host} does not resolve` };
    if (!exact) {
      const special = addresses.find((entry) => isSpecialPurposeAddress(entry.address));
      if (special !== undefined) {
        return { allowed: false, reason: `host ${host} resolves to special-purpose address ${special.address}; list it exactly to allow it` };
      }
    }
    const chosen = addresses[0]!;
    return { allowed: true, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
  };
}

export type HostGuard = ReturnType<typeof createHostGuard>;
