import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Loopback, private, link-local, CGNAT and unspecified ranges (IPv4 and IPv6). */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? PRIVATE.check(mapped[1]!, 'ipv4') : PRIVATE.check(address, 'ipv6');
  }
  return false;
}

export type HostVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Decides whether `http.request` may call `url`. Entries of `allowedHosts`
 * (`HTTP_ALLOWED_HOSTS`) are exact host names or IPs (`api.example.com`, `127.0.0.1`) or
 * suffix patterns (`*.example.com`). An empty list allows nothing. A host that resolves to a
 * loopback or private address is refused unless it is listed exactly (a wildcard is not
 * enough), so a public pattern cannot be turned against internal services by DNS.
 */
export function createHostGuard(
  allowedHosts: readonly string[],
  resolve: (host: string) => Promise<string[]> = async (host) =>
    (await lookup(host, { all: true })).map((entry) => entry.address),
) {
  const exact = new Set(allowedHosts.filter((entry) => !entry.startsWith('*.')).map((entry) => entry.toLowerCase()));
  const suffixes = allowedHosts.filter((entry) => entry.startsWith('*.')).map((entry) => entry.slice(1).toLowerCase());
  return async function check(url: URL): Promise<HostVerdict> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { allowed: false, reason: `protocol ${url.protocol} is not allowed` };
    const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    const listedExactly = exact.has(host);
    if (!listedExactly && !suffixes.some((suffix) => host.endsWith(suffix))) {
      return { allowed: false, reason: `host ${host} is not in HTTP_ALLOWED_HOSTS` };
    }
    if (listedExactly) return { allowed: true };
    const addresses = isIP(host) ? [host] : await resolve(host);
    const internal = addresses.find(isPrivateAddress);
    if (internal !== undefined) {
      return { allowed: false, reason: `host ${host} resolves to private address ${internal}; list it exactly to allow it` };
    }
    return { allowed: true };
  };
}
