import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS, createEvent, encodeEvent, encodeNewEvent, type EventInput, type EventType } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA } from '@event-infra/testing';

/**
 * The publisher encodes new events with `encodeNewEvent` when it is sure, else through
 * `createEvent` + `encodeEvent`. Whatever the fast encoder accepts, the slow path must accept
 * and encode to the same fields (a generated id aside).
 */
const NOW = '2026-01-01T00:00:00.000Z';
const ID = '0b6c2f8e-3c1a-4f5e-9a7b-2d4c6e8f0a1b';

function slow(input: EventInput, now: string | undefined): string[] | 'rejected' {
  try {
    return encodeEvent(createEvent(input, 'svc', now));
  } catch {
    return 'rejected';
  }
}

/** The fields with the id value replaced, for events whose id was generated. */
const withoutId = (fields: string[]): string[] => fields.map((value, index) => (index === 1 ? '<id>' : value));

const text = (max: number): unknown[] => ['', 'a', 'x'.repeat(max), 'x'.repeat(max + 1), 5, null];

function field(valid: unknown, ...tricky: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.constant(valid), weight: 10 }, { arbitrary: fc.constantFrom(...tricky), weight: 1 });
}

const input = fc.record({
  id: field(undefined, ID, ID.toUpperCase(), '0b6c2f8e3c1a4f5e9a7b2d4c6e8f0a1b', '', 42, null),
  type: field('workspace.created', 'workspace.deleted', 'billing.paid', 'Workspace.created', 'created', '', 7),
  source: field(undefined, 'own', ...text(256)),
  time: field(undefined, '2026-01-01T00:00:00Z', '2026-01-01T10:00:00+02:00', '2026-02-29T00:00:00Z', '2026-01-01 00:00:00Z', '', 0, null),
  specversion: field(undefined, '1.0', '1.1', 1, null),
  subject: field(undefined, ...text(512)),
  correlationid: field(undefined, ...text(256)),
  causationid: field(undefined, ...text(256)),
  dlqentryid: field(undefined, ...text(256)),
  dlqretries: field(undefined, 0, 3, -1, 1.5, 2 ** 53, '3', '03', ' 3', '', '9007199254740993', null, true),
  data: field(
    SAMPLE_EVENT_DATA['workspace.created'],
    { workspaceId: 'w1' },
    { ...SAMPLE_EVENT_DATA['workspace.created'], extra: { nested: [1] } },
    { workspaceId: '' },
    Object.assign(Object.create(null) as object, { ...SAMPLE_EVENT_DATA['workspace.created'] }),
    [],
    null,
    new Date(0),
    undefined,
  ),
  now: fc.constantFrom(NOW, undefined),
});

describe('encodeNewEvent', () => {
  it('encodes only what createEvent accepts, to the same fields', () => {
    let fast = 0;
    fc.assert(
      fc.property(input, ({ now, ...raw }) => {
        const candidate = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)) as unknown as EventInput;
        const encoded = encodeNewEvent(candidate, 'svc', now);
        if (encoded === undefined) return;
        fast += 1;
        const expected = slow(candidate, now);
        expect(expected).not.toBe('rejected');
        const generated = candidate.id === undefined;
        expect(generated ? withoutId(encoded.fields) : encoded.fields).toEqual(generated ? withoutId(expected as string[]) : expected);
        expect(encoded.fields[1]).toBe(encoded.id);
        expect(encoded.type).toBe(candidate.type);
      }),
      { numRuns: 3_000 },
    );
    // The property is not vacuous: most runs are valid and take the fast path.
    expect(fast).toBeGreaterThan(500);
  });

  it.each(Object.keys(EVENT_SCHEMAS) as EventType[])('%s: the sample event takes the fast path with a generated id and the given time', (type) => {
    const encoded = encodeNewEvent({ type, data: { ...SAMPLE_EVENT_DATA[type] } }, 'svc', NOW);
    expect(encoded).toBeDefined();
    expect(encoded!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(encoded!.fields).toEqual(['id', encoded!.id, 'type', type, 'source', 'svc', 'specversion', '1.0', 'time', NOW, 'data', JSON.stringify(SAMPLE_EVENT_DATA[type])]);
  });

  it('leaves invalid events to the slow path, which rejects them', () => {
    const invalid: EventInput[] = [
      { type: 'workspace.created', data: { name: 'no ids' } },
      { type: 'billing.paid', data: {} },
      { id: 'not-a-uuid', type: 'workspace.created', data: { ...SAMPLE_EVENT_DATA['workspace.created'] } },
    ];
    for (const event of invalid) {
      expect(encodeNewEvent(event, 'svc', NOW)).toBeUndefined();
      expect(slow(event, NOW)).toBe('rejected');
    }
  });
});
