import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  EVENT_FAMILIES,
  EVENT_SCHEMAS,
  InvalidEventError,
  SPEC_VERSION,
  compileTypePattern,
  createEvent,
  familyOf,
  validateEvent,
  type EventType,
} from '@event-infra/shared';
import { SAMPLE_EVENT_DATA } from '@event-infra/testing';

const TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

function envelope(type: string, data: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomUUID(),
    type,
    source: 'test-suite',
    time: '2026-01-01T00:00:00.000Z',
    specversion: SPEC_VERSION,
    data,
    ...extra,
  };
}

/** The InvalidEventError `validateEvent` must throw for `candidate`. */
function rejection(candidate: unknown): InvalidEventError {
  try {
    validateEvent(candidate);
  } catch (caught) {
    expect(caught).toBeInstanceOf(InvalidEventError);
    return caught as InvalidEventError;
  }
  throw new Error('validateEvent accepted an invalid event');
}

/** Keys of a type's data schema that may not be left out. */
function requiredKeys(type: EventType): string[] {
  const shape = (EVENT_SCHEMAS[type] as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
  return Object.keys(shape).filter((key) => !shape[key]!.safeParse(undefined).success);
}

describe('event families', () => {
  it.each(EVENT_FAMILIES)('family %s has concrete types', (family) => {
    expect(TYPES.filter((type) => familyOf(type) === family).length).toBeGreaterThanOrEqual(3);
  });

  it('every type belongs to a known family', () => {
    for (const type of TYPES) expect(EVENT_FAMILIES as readonly string[], type).toContain(familyOf(type));
  });
});

describe.each(TYPES)('%s', (type) => {
  it('accepts its sample event', () => {
    const event = validateEvent(envelope(type, SAMPLE_EVENT_DATA[type]));
    expect(event.type).toBe(type);
    expect(event.data).toEqual(SAMPLE_EVENT_DATA[type]);
  });

  it('rejects data missing or mistyping each required field, naming the field', () => {
    const keys = requiredKeys(type);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      for (const data of [
        Object.fromEntries(Object.entries(SAMPLE_EVENT_DATA[type]).filter(([name]) => name !== key)),
        { ...SAMPLE_EVENT_DATA[type], [key]: null },
      ]) {
        const error = rejection(envelope(type, data));
        expect(error.reason).toBe('invalid_data');
        expect(error.code).toBe('validation_failed');
        expect(error.message).toBe(`data is invalid for ${type}`);
        expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: `data.${key}` })]));
      }
    }
  });
});

describe('validateEvent', () => {
  it('tells an unknown family from an unknown type of a known family', () => {
    const family = rejection(envelope('billing.invoice.paid', {}));
    expect(family.reason).toBe('unknown_family');
    expect(family.message).toContain('"billing"');
    const type = rejection(envelope('user.teleported', { userId: 'u1' }));
    expect(type.reason).toBe('unknown_type');
    expect(type.message).toContain('"user.teleported"');
  });

  it.each([
    ['id is not a uuid', { id: 'not-a-uuid' }, 'id'],
    ['time is not ISO 8601', { time: 'yesterday' }, 'time'],
    ['time has no zone', { time: '2026-01-01 10:00' }, 'time'],
    ['specversion is not 1.0', { specversion: '0.3' }, 'specversion'],
    ['source is empty', { source: '' }, 'source'],
    ['type is not dotted lowercase', { type: 'Workspace.Created' }, 'type'],
    ['type has no family', { type: 'created' }, 'type'],
    ['data is an array', { data: [1, 2] }, 'data'],
    ['data is missing', { data: undefined }, 'data'],
    ['dlqretries is negative', { dlqretries: -1 }, 'dlqretries'],
  ])('rejects an envelope where %s', (_what, change, path) => {
    const error = rejection({ ...envelope('workspace.deleted', { workspaceId: 'w1' }), ...change });
    expect(error.reason).toBe('invalid_envelope');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });

  it('rejects something that is not an object at all', () => {
    expect(rejection('workspace.created').reason).toBe('invalid_envelope');
    expect(rejection(null).reason).toBe('invalid_envelope');
  });

  it('keeps unknown data fields (loose data) and the optional attributes', () => {
    const event = validateEvent(
      envelope('workspace.deleted', { workspaceId: 'w1', purgedBy: 'u9', nested: { a: 1 } }, {
        subject: 'w1',
        correlationid: 'c1',
        causationid: 'k1',
        dlqretries: '2',
        dlqentryid: 'd1',
      }),
    );
    expect(event.data).toEqual({ workspaceId: 'w1', purgedBy: 'u9', nested: { a: 1 } });
    expect(event).toMatchObject({ subject: 'w1', correlationid: 'c1', causationid: 'k1', dlqretries: 2, dlqentryid: 'd1' });
  });

  it('accepts a time with an offset', () => {
    expect(validateEvent(envelope('workspace.deleted', { workspaceId: 'w1' }, { time: '2026-01-01T10:00:00+02:00' })).time).toBe(
      '2026-01-01T10:00:00+02:00',
    );
  });
});

describe('createEvent', () => {
  it('fills id, time, specversion and source, keeping what the caller gave', () => {
    const event = createEvent({ type: 'workspace.deleted', data: { workspaceId: 'w1' } }, 'svc');
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(event.time))).toBe(false);
    expect(event.specversion).toBe(SPEC_VERSION);
    expect(event.source).toBe('svc');
    const id = randomUUID();
    const given = createEvent({ type: 'workspace.deleted', data: { workspaceId: 'w1' }, id, source: 'other', time: '2026-02-02T00:00:00Z' }, 'svc');
    expect(given).toMatchObject({ id, source: 'other', time: '2026-02-02T00:00:00Z' });
  });

  it('validates what it builds', () => {
    expect(() => createEvent({ type: 'workspace.deleted', data: {} }, 'svc')).toThrow(InvalidEventError);
  });
});

describe('compileTypePattern', () => {
  it('* matches every type', () => {
    const match = compileTypePattern('*');
    expect(TYPES.every(match)).toBe(true);
  });

  it('family.* matches every type of the family at any depth, and nothing else', () => {
    const match = compileTypePattern('workspace.*');
    expect(match('workspace.created')).toBe(true);
    expect(match('workspace.member.added')).toBe(true);
    expect(match('workspace')).toBe(false);
    expect(match('workspaces.created')).toBe(false);
    expect(match('user.created')).toBe(false);
    const nested = compileTypePattern('auth.session.*');
    expect(TYPES.filter(nested)).toEqual([
      'auth.session.created',
      'auth.session.refreshed',
      'auth.session.expired',
      'auth.session.revoked',
    ]);
  });

  it('an exact type matches only itself', () => {
    const match = compileTypePattern('auth.login');
    expect(match('auth.login')).toBe(true);
    expect(match('auth.login.failed')).toBe(false);
  });
});
