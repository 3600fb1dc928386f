import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '@event-infra/shared';

/** `depth` arrays or objects inside each other. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = kind === 'array' ? [] : {};
  for (let level = 1; level < depth; level += 1) value = kind === 'array' ? [value] : { a: value };
  return value;
}

describe('exceedsJsonDepth', () => {
  it('accepts scalars and nesting up to the limit, rejects one level more', () => {
    for (const scalar of [null, 1, 'x', true]) expect(exceedsJsonDepth(scalar)).toBe(false);
    for (const kind of ['array', 'object'] as const) {
      expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH, kind))).toBe(false);
      expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1, kind))).toBe(true);
    }
  });

  it('finds a deep branch next to shallow ones, and handles 100,000 levels without recursion', () => {
    expect(exceedsJsonDepth({ a: 1, b: [1, 2], c: { d: nested(MAX_JSON_DEPTH, 'array') } })).toBe(true);
    expect(exceedsJsonDepth(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toBe(true);
    expect(exceedsJsonDepth({ a: 1 }, 0)).toBe(true);
  });
});
