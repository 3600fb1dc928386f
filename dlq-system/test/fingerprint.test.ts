import { describe, expect, it } from 'vitest';
import { fingerprintOf, normalizeMessage } from '../src/core/fingerprint';

describe('fingerprint', () => {
  it.each([
    ['timeout after 3000ms calling https://api.example.com/v1/items/42?q=1', 'timeout after <n>ms calling <url>'],
    ['record 3b241101-e2bb-4255-8caf-4136c566a962 not found', 'record <uuid> not found'],
    ['unknown column "user_name" in table \'accounts\'', 'unknown column <str> in table <str>'],
    ['object deadbeef0123 is locked by 0xABCDEF12', 'object <hex> is locked by <hex>'],
    ['HTTP   503\n from   upstream', 'http <n> from upstream'],
    ['ratio 0.75 exceeded 12 times', 'ratio <n> exceeded <n> times'],
  ])('normalizes %j', (message, normalized) => {
    expect(normalizeMessage(message)).toBe(normalized);
  });

  it('keeps words that merely look like hex, and bounds the length', () => {
    expect(normalizeMessage('bad face cafe')).toBe('bad face cafe');
    expect(normalizeMessage('x'.repeat(5000))).toHaveLength(300);
  });

  it('groups by origin, name and the normalized message; any of the three splits a group', () => {
    const a = fingerprintOf({ originName: 'q', name: 'demo.fail', message: 'timeout after 3000ms' });
    expect(fingerprintOf({ originName: 'q', name: 'demo.fail', message: 'Timeout after 12ms' }).fingerprint).toBe(a.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintOf({ originName: 'q2', name: 'demo.fail', message: 'timeout after 3000ms' }).fingerprint).not.toBe(a.fingerprint);
    expect(fingerprintOf({ originName: 'q', name: 'demo.sleep', message: 'timeout after 3000ms' }).fingerprint).not.toBe(a.fingerprint);
    expect(fingerprintOf({ originName: 'q', name: 'demo.fail', message: 'refused after 3000ms' }).fingerprint).not.toBe(a.fingerprint);
    // The separator keeps fields apart: origin "a" + name "b.c" is not origin "a\0b" + name "c".
    expect(fingerprintOf({ originName: 'a', name: 'b', message: 'm' }).fingerprint).not.toBe(fingerprintOf({ originName: 'a\0b', name: '', message: 'm' }).fingerprint);
  });
});
