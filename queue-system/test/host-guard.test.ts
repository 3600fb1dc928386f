/**
 * The http.request guard as a pure unit: allow-list syntax (`host[:port]`, a bare host is its
 * scheme's default port only), every special-purpose block refused unless listed exactly, one
 * resolution whose address is the one returned for the connection.
 */
import { describe, expect, it } from 'vitest';
import { createHostGuard, parseAllowEntry, type Resolver } from '../src/core/host-guard';
import { isSpecialPurposeAddress } from '../src/core/special-addresses';

const resolveTo = (map: Record<string, string[]>): Resolver => async (host) =>
  (map[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('allow-list entries', () => {
  it('parses host, host:port, patterns and bracketed IPv6; refuses the rest naming the entry', () => {
    expect(parseAllowEntry('API.example.com')).toEqual({ host: 'api.example.com', isPattern: false, port: undefined });
    expect(parseAllowEntry('localhost:8080')).toEqual({ host: 'localhost', isPattern: false, port: 8080 });
    expect(parseAllowEntry('*.partner.io:8443')).toEqual({ host: '.partner.io', isPattern: true, port: 8443 });
    expect(parseAllowEntry('[::1]:9000')).toEqual({ host: '::1', isPattern: false, port: 9000 });
    for (const bad of ['http://a.example', 'a.example:0', 'a.example:70000', 'a.example/path', '*.10.0.0.1', 'a b', '*', 'user@a.example']) {
      expect(() => parseAllowEntry(bad), bad).toThrow(/HTTP_ALLOWED_HOSTS entry/);
    }
  });
});

describe('createHostGuard', () => {
  it('allows exact hosts and suffix patterns, refuses the rest and non-http protocols', async () => {
    const guard = createHostGuard(['api.example.com', '*.partner.io'], resolveTo({ 'api.example.com': ['93.184.216.34'], 'a.partner.io': ['93.184.216.35'] }));
    expect(await guard(new URL('https://api.example.com/x'))).toEqual({ allowed: true, address: '93.184.216.34', family: 4 });
    expect(await guard(new URL('https://a.partner.io/x'))).toEqual({ allowed: true, address: '93.184.216.35', family: 4 });
    expect(await guard(new URL('https://partner.io/x'))).toMatchObject({ allowed: false });
    expect(await guard(new URL('https://evilpartner.io/x'))).toMatchObject({ allowed: false });
    expect(await guard(new URL('https://evil.com/x'))).toMatchObject({ allowed: false, reason: expect.stringContaining('not in HTTP_ALLOWED_HOSTS') });
    expect(await guard(new URL('file:///etc/passwd'))).toMatchObject({ allowed: false });
    expect(await createHostGuard([])(new URL('https://api.example.com'))).toMatchObject({ allowed: false });
  });

  it('a bare host allows only its scheme default port; host:port only that port', async () => {
    const guard = createHostGuard(['localhost', '127.0.0.1:8080'], resolveTo({ localhost: ['127.0.0.1'] }));
    expect(await guard(new URL('http://localhost/'))).toMatchObject({ allowed: true });
    expect(await guard(new URL('https://localhost/'))).toMatchObject({ allowed: true });
    expect(await guard(new URL('http://localhost:443/'))).toMatchObject({ allowed: false });
    expect(await guard(new URL('http://localhost:8011/dlq'))).toMatchObject({ allowed: false, reason: expect.stringContaining('localhost:8011') });
    expect(await guard(new URL('http://127.0.0.1:8080/'))).toMatchObject({ allowed: true, address: '127.0.0.1' });
    expect(await guard(new URL('http://127.0.0.1:8081/'))).toMatchObject({ allowed: false });
    expect(await guard(new URL('http://127.0.0.1/'))).toMatchObject({ allowed: false });
  });

  it('a pattern-matched host resolving to any special-purpose address is refused; an exact entry allows it', async () => {
    const guard = createHostGuard(['*.corp.example', 'db.corp.example'], resolveTo({
      'wiki.corp.example': ['93.184.216.34', '10.0.0.5'],
      'nat.corp.example': ['64:ff9b::a00:1'],
      'db.corp.example': ['10.0.0.6'],
    }));
    expect(await guard(new URL('http://wiki.corp.example/'))).toMatchObject({ allowed: false, reason: expect.stringContaining('10.0.0.5') });
    expect(await guard(new URL('http://nat.corp.example/'))).toMatchObject({ allowed: false, reason: expect.stringContaining('64:ff9b') });
    expect(await guard(new URL('http://gone.corp.example/'))).toMatchObject({ allowed: false, reason: expect.stringContaining('does not resolve') });
    expect(await guard(new URL('http://db.corp.example/'))).toEqual({ allowed: true, address: '10.0.0.6', family: 4 });
  });

  it('resolves once per check and returns that address', async () => {
    let calls = 0;
    const guard = createHostGuard(['*.rebind.example'], async () => {
      calls += 1;
      return [{ address: calls === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    });
    expect(await guard(new URL('http://a.rebind.example/'))).toEqual({ allowed: true, address: '93.184.216.34', family: 4 });
    expect(calls).toBe(1);
  });
});

describe('special-purpose addresses (RFC 6890, IANA registries)', () => {
  const special = [
    '0.0.0.0', '0.1.2.3', '10.1.2.3', '100.64.0.1', '100.127.255.254', '127.0.0.1', '127.255.255.255', '169.254.169.254',
    '172.16.0.1', '172.31.255.255', '192.0.0.8', '192.0.2.1', '192.31.196.1', '192.52.193.1', '192.88.99.1', '192.168.1.1',
    '192.175.48.1', '198.18.0.1', '198.19.255.255', '198.51.100.7', '203.0.113.9', '224.0.0.1', '239.255.255.250',
    '240.0.0.1', '255.255.255.255',
    '::', '::1', '::127.0.0.1', '::a00:1', '::ffff:127.0.0.1', '::ffff:8.8.8.8', '64:ff9b::7f00:1', '64:ff9b:1::1', '100::1',
    '2001::1', '2001:db8::1', '2002:7f00:1::1', '2002::1', '3fff::1', '5f00::1', 'fc00::1', 'fd12:3456::1', 'fe80::1',
    'fe80::1%eth0', 'fec0::1', 'feff::1', 'ff02::1', 'ff05::2', '[::1]', 'not-an-ip',
  ];
  const ordinary = ['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '198.20.0.1', '11.0.0.1', '2606:4700::1111', '2a00:1450:4001::1', '2001:4860:4860::8888'];

  it.each(special)('%s is special-purpose', (address) => {
    expect(isSpecialPurposeAddress(address)).toBe(true);
  });
  it.each(ordinary)('%s is not', (address) => {
    expect(isSpecialPurposeAddress(address)).toBe(false);
  });
});
