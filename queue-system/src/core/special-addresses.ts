import { BlockList, isIP } from 'node:net';

/**
 * Special-purpose address blocks (RFC 6890 and the IANA IPv4/IPv6 Special-Purpose Address
 * Registries, plus multicast and the reserved 240/4): no `http.request` job may reach them
 * unless its host is listed exactly. Where the registry marks a block "globally reachable"
 * (a few anycast services inside 2001::/23) it is still refused: a job has no business there.
 * IPv4-mapped addresses (`::ffff:a.b.c.d`) are refused whatever they embed.
 */
const IPV4_BLOCKS: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (CGNAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.31.196.0', 24], // AS112-v4
  ['192.52.193.0', 24], // AMT
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['192.175.48.0', 24], // direct delegation AS112
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes the limited broadcast 255.255.255.255
];

const IPV6_BLOCKS: readonly (readonly [string, number])[] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated) ::a.b.c.d
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64 well-known prefix
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, benchmarking, …)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['3fff::', 20], // documentation
  ['5f00::', 16], // SRv6 SIDs
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

// Two lists: Node's BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules, so one
// list holding ::ffff:0:0/96 would refuse every IPv4 address.
const SPECIAL_V4 = new BlockList();
for (const [network, prefix] of IPV4_BLOCKS) SPECIAL_V4.addSubnet(network, prefix, 'ipv4');
const SPECIAL_V6 = new BlockList();
for (const [network, prefix] of IPV6_BLOCKS) SPECIAL_V6.addSubnet(network, prefix, 'ipv6');

/**
 * True for an address in a special-purpose block (IPv4 or IPv6, any textual form Node
 * accepts), and for anything that is not an IP address at all (fail closed).
 */
export function isSpecialPurposeAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return SPECIAL_V4.check(bare, 'ipv4');
  if (family === 6) return SPECIAL_V6.check(bare, 'ipv6');
  return true;
}
