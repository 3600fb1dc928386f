import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Authenticator,
  FailureThrottle,
  LruCache,
  compileRouteTable,
  credentialList,
  hashSecret,
  parseSecretHash,
  verifySecret,
  type RouteTable,
} from '../src';

const FAST = { N: 1024, r: 8, p: 1 } as const;

describe('secret hashes', () => {
  it('round-trips, rejects a wrong secret, and each hash has its own salt', async () => {
    const one = await hashSecret('correct horse', FAST);
    const two = await hashSecret('correct horse', FAST);
    expect(one).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(one).not.toBe(two);
    expect(await verifySecret('correct horse', parseSecretHash(one))).toBe(true);
    expect(await verifySecret('correct horsE', parseSecretHash(one))).toBe(false);
  });

  it('refuses malformed or unbounded parameters without echoing the value', () => {
    expect(() => parseSecretHash('plain-text-secret')).toThrow(/not a scrypt hash/);
    expect(() => parseSecretHash('scrypt$1000$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5')).toThrow(/power of two/);
    expect(() => parseSecretHash(`scrypt$${2 ** 22}$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5`)).toThrow(/at most/);
  });
});

describe('credential lists (API_KEYS, ADMIN_USERS)', () => {
  it('parses name:role:hash entries and names bad ones by position only', async () => {
    const hash = await hashSecret('s3cret-value', FAST);
    const parsed = credentialList.parse(`svc:publisher:${hash}, ops:operator:${hash}`);
    expect(parsed.map((entry) => `${entry.name}:${entry.role}`)).toEqual(['svc:publisher', 'ops:operator']);
    expect(credentialList.parse(undefined)).toEqual([]);
    const bad = credentialList.safeParse(`svc:root:${hash},svc:viewer:${hash},x:viewer:${hash},x:admin:${hash}`);
    expect(bad.success).toBe(false);
    const messages = (bad as z.ZodSafeParseError<unknown>).error.issues.map((issue) => issue.message);
    expect(messages).toEqual(['entry 1 has a role that is not viewer, publisher, operator or admin', 'entry 4 repeats a name']);
    expect(JSON.stringify(messages)).not.toContain(hash);
  });
});

describe('route table', () => {
  const table: RouteTable = [
    { method: 'GET', path: '/q/:name/:id', permission: 'read', surface: 'board' },
    { method: 'PUT', path: '/q/pause', permission: 'operate', surface: 'board' },
    { method: 'PUT', path: '/q/:name/:id', permission: 'administer', surface: 'board' },
    { method: 'USE', path: '/static', permission: 'read', surface: 'board' },
  ];
  const lookup = compileRouteTable(table);

  it('matches method and path, decodes parameters, and HEAD as GET', () => {
    expect(lookup.lookup('GET', '/q/a%2Fb/7')).toMatchObject({ rule: { permission: 'read' }, params: { name: 'a/b', id: '7' } });
    expect(lookup.lookup('HEAD', '/q/x/7')?.rule.permission).toBe('read');
    expect(lookup.lookup('DELETE', '/q/x/7')).toBeUndefined();
    expect(lookup.lookup('GET', '/static/js/app.js')?.rule.path).toBe('/static');
    expect(() => lookup.lookup('GET', '/q/%E0%A4%A/1')).toThrow(/malformed percent-encoding/);
  });

  it('of several matching rows the most demanding wins', () => {
    expect(lookup.lookup('PUT', '/q/pause')?.rule.permission).toBe('operate');
    const reversed = compileRouteTable([{ method: 'PUT', path: '/q/:name', permission: 'administer', surface: 'board' }, table[1]!]);
    expect(reversed.lookup('PUT', '/q/pause')?.rule.permission).toBe('administer');
  });
});

describe('failure throttle and cache', () => {
  it('failures drain the bucket of one address only; tokens come back with time', () => {
    let now = 0;
    const throttle = new FailureThrottle({ burst: 2, refillPerSec: 1, maxDelayMs: 5000, maxAddresses: 10 }, () => now);
    throttle.recordFailure('a');
    expect(throttle.delayFor('a')).toBe(0);
    throttle.recordFailure('a');
    expect(throttle.delayFor('a')).toBe(1000);
    expect(throttle.delayFor('b')).toBe(0);
    now = 1000;
    expect(throttle.delayFor('a')).toBe(0);
  });

  it('the LRU forgets the least recently used entry and expired ones', () => {
    let now = 0;
    const cache = new LruCache<number>(2, 100, () => now);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    now = 100;
    expect(cache.get('a')).toBeUndefined();
  });

  it('the authenticator caches a verified key and counts a wrong one against the address', async () => {
    const hash = parseSecretHash(await hashSecret('the-right-key', FAST));
    let now = 0;
    const auth = new Authenticator(
      { cacheMaxEntries: 10, cacheTtlMs: 60_000, throttle: { burst: 1, refillPerSec: 1, maxDelayMs: 0, maxAddresses: 10 } },
      { apiKeys: [{ name: 'svc', role: 'publisher', hash }], users: [] },
      () => now,
    );
    expect(await auth.authenticate('Bearer the-right-key', 'x')).toEqual({ ok: true, principal: { name: 'svc', role: 'publisher', kind: 'service' } });
    expect(await auth.authenticate('Bearer wrong', 'x')).toEqual({ ok: false, reason: 'invalid' });
    expect(await auth.authenticate(undefined, 'x')).toEqual({ ok: false, reason: 'missing' });
    // Throttled (maxDelayMs 0: no wait), the right key is still accepted.
    expect((await auth.authenticate('bearer the-right-key', 'x')).ok).toBe(true);
    now = 1;
    expect((await auth.authenticate('Bearer the-right-key', 'x')).ok).toBe(true);
  });
});
