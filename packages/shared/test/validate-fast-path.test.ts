import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS, InvalidEventError, envelopeSchema, isKnownEventType, validateEvent, type EventType } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA } from '@event-infra/testing';

/**
 * validateEvent checks the envelope with a hand-written fast path and falls back to zod
 * when it is unsure. This compares it with the plain zod answer over many tricky envelopes:
 * same verdict, same reason, same output.
 */
function reference(candidate: unknown): { reason: string } | { event: unknown } {
  const envelope = envelopeSchema.safeParse(candidate);
  if (!envelope.success) return { reason: 'invalid_envelope' };
  const { type } = envelope.data;
  if (!isKnownEventType(type)) return { reason: /^(user|workspace|auth|airtable|job)\./.test(type) ? 'unknown_type' : 'unknown_family' };
  const data = EVENT_SCHEMAS[type].safeParse(envelope.data.data);
  if (!data.success) return { reason: 'invalid_data' };
  return { event: { ...envelope.data, data: data.data } };
}

function actual(candidate: unknown): { reason: string } | { event: unknown } {
  try {
    return { event: validateEvent(candidate) };
  } catch (caught) {
    if (caught instanceof InvalidEventError) return { reason: caught.reason };
    throw caught;
  }
}

const text = (max: number): unknown[] => [undefined, '', 'a', 'x'.repeat(max), 'x'.repeat(max + 1), 5, null];

/** Mostly the valid value, sometimes one of the tricky ones (valid or not): most runs differ in one field. */
function field(valid: unknown, ...tricky: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.constant(valid), weight: 12 }, { arbitrary: fc.constantFrom(...tricky), weight: 1 });
}

const candidate = fc.record({
  id: field(
    '0b6c2f8e-3c1a-4f5e-9a7b-2d4c6e8f0a1b',
    '0B6C2F8E-3C1A-4F5E-9A7B-2D4C6E8F0A1B',
    '00000000-0000-0000-0000-000000000000',
    '0b6c2f8e-3c1a-9f5e-9a7b-2d4c6e8f0a1b',
    '0b6c2f8e3c1a4f5e9a7b2d4c6e8f0a1b',
    '',
    42,
    undefined,
  ),
  type: field('workspace.created', 'workspace.deleted', 'workspace.archived', 'billing.paid', 'Workspace.created', 'created', '', 7),
  source: field('svc', ...text(256)),
  time: field(
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00.123456Z',
    '2026-01-01T10:00:00+02:00',
    '2024-02-29T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-01-01 00:00:00Z',
    '2026-01-01T00:00:00',
    '',
    1_700_000_000_000,
  ),
  specversion: field('1.0', '1.1', 1, undefined),
  subject: field(undefined, ...text(512)),
  correlationid: field(undefined, ...text(256)),
  causationid: field(undefined, ...text(256)),
  dlqentryid: field(undefined, ...text(256)),
  dlqretries: field(undefined, 0, 3, -1, 1.5, 2 ** 53, '3', '03', ' 3', '-1', '', 'x', '9007199254740993', null, true),
  data: field(
    SAMPLE_EVENT_DATA['workspace.created'],
    { workspaceId: 'w1' },
    { ...SAMPLE_EVENT_DATA['workspace.created'], extra: { nested: [1] } },
    { workspaceId: '' },
    Object.assign(Object.create(null) as object, { ...SAMPLE_EVENT_DATA['workspace.created'] }),
    [],
    null,
    'data',
    new Date(0),
    undefined,
  ),
  extra: fc.constantFrom(undefined, 'ignored'),
  dropUndefined: fc.boolean(),
});

describe('validateEvent fast path', () => {
  it('agrees with the zod schemas on verdict, reason and output', () => {
    fc.assert(
      fc.property(candidate, (input) => {
        const { extra, dropUndefined, ...envelope } = input;
        const value: Record<string, unknown> = extra === undefined ? envelope : { ...envelope, extra };
        // Absent and explicitly undefined attributes must be treated alike.
        if (dropUndefined) for (const [key, field] of Object.entries(value)) if (field === undefined) delete value[key];
        expect(actual(value)).toEqual(reference(value));
      }),
      { numRuns: 3_000 },
    );
  });

  it('is exercised: valid envelopes of every shape pass, and the output drops unknown attributes', () => {
    const event = validateEvent({
      id: '0b6c2f8e-3c1a-4f5e-9a7b-2d4c6e8f0a1b',
      type: 'workspace.deleted',
      source: 's',
      time: '2026-01-01T00:00:00Z',
      specversion: '1.0',
      data: { workspaceId: 'w1' },
      dlqretries: '4',
      unknown: 'dropped',
    });
    expect(event).toEqual({
      id: '0b6c2f8e-3c1a-4f5e-9a7b-2d4c6e8f0a1b',
      type: 'workspace.deleted',
      source: 's',
      time: '2026-01-01T00:00:00Z',
      specversion: '1.0',
      data: { workspaceId: 'w1' },
      dlqretries: 4,
    });
    expect(event).not.toHaveProperty('unknown');
  });
});

/** Values that sit on or across the bounds the family schemas use. */
const TRICKY: unknown[] = [
  null,
  undefined,
  '',
  'a',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(256),
  'x'.repeat(257),
  'x'.repeat(1025),
  'x'.repeat(4097),
  'x'.repeat(8193),
  0,
  -1,
  1.5,
  100,
  101,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  'ada@example.com',
  'not-an-email',
  '2030-01-01T00:00:00Z',
  '2030-01-01',
  'owner',
  'editor',
  'root',
  'password',
  'magic_link',
  {},
  { a: 1 },
  [],
  new Date(0),
  Object.create(null) as object,
  { constructor: Date },
];

describe('validateEvent fast data checks', () => {
  const envelopeOf = (type: string, data: unknown): Record<string, unknown> => ({
    id: '0b6c2f8e-3c1a-4f5e-9a7b-2d4c6e8f0a1b',
    type,
    source: 'svc',
    time: '2026-01-01T00:00:00Z',
    specversion: '1.0',
    data,
  });

  it.each(Object.keys(EVENT_SCHEMAS) as EventType[])('%s: same verdict and output as zod for every field and tricky value', (type) => {
    const sample = SAMPLE_EVENT_DATA[type];
    const variants: unknown[] = [sample, { ...sample, extra: { deep: [1] } }, ...TRICKY];
    const keys = [...Object.keys((EVENT_SCHEMAS[type] as unknown as { shape: object }).shape), 'extra'];
    for (const key of keys) {
      variants.push(Object.fromEntries(Object.entries(sample).filter(([name]) => name !== key)));
      for (const value of TRICKY) variants.push({ ...sample, [key]: value });
    }
    let accepted = 0;
    for (const data of variants) {
      const candidate = envelopeOf(type, data);
      const expected = reference(candidate);
      expect(actual(candidate), JSON.stringify(data)?.slice(0, 200)).toEqual(expected);
      if ('event' in expected) accepted += 1;
    }
    expect(accepted).toBeGreaterThan(2);
  });
});
