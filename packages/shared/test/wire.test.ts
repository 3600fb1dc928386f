import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  InvalidEventError,
  WIRE_FIELDS,
  createEvent,
  decodeEvent,
  encodeEvent,
  fieldsToRecord,
  type EventEnvelope,
  type WireFields,
} from '@event-infra/shared';
import { SAMPLE_EVENT_DATA } from '@event-infra/testing';

function rejectionOf(fields: WireFields): InvalidEventError {
  try {
    decodeEvent(fields);
  } catch (caught) {
    expect(caught).toBeInstanceOf(InvalidEventError);
    return caught as InvalidEventError;
  }
  throw new Error('decodeEvent accepted an invalid entry');
}

const asBuffers = (fields: readonly string[]): Buffer[] => fields.map((field) => Buffer.from(field));

/** The rejection of `fields`, which must be the same when they are read as Buffers. */
function decodeRejection(fields: string[]): InvalidEventError {
  const error = rejectionOf(fields);
  const fromBuffers = rejectionOf(asBuffers(fields));
  expect({ reason: fromBuffers.reason, message: fromBuffers.message, details: fromBuffers.details }).toEqual({
    reason: error.reason,
    message: error.message,
    details: error.details,
  });
  return error;
}

const minimal = (): EventEnvelope =>
  createEvent({ type: 'workspace.created', data: { ...SAMPLE_EVENT_DATA['workspace.created'] } }, 'wire-test');

describe('encodeEvent / decodeEvent', () => {
  it('round-trips a minimal event with exactly the required fields', () => {
    const event = minimal();
    const fields = encodeEvent(event);
    expect(Object.keys(fieldsToRecord(fields)).sort()).toEqual([...WIRE_FIELDS.required].sort());
    expect(fieldsToRecord(fields).data).toBe(JSON.stringify(event.data));
    expect(decodeEvent(fields)).toEqual(event);
  });

  it('round-trips every optional attribute and the DLQ extensions', () => {
    const event = createEvent(
      {
        type: 'user.created',
        data: { ...SAMPLE_EVENT_DATA['user.created'], extra: [1, { deep: true }] },
        subject: 'u1',
        correlationid: 'corr-1',
        causationid: 'cause-1',
        dlqretries: 2,
        dlqentryid: 'dlq-entry-7',
      },
      'wire-test',
    );
    const record = fieldsToRecord(encodeEvent(event));
    expect(record).toMatchObject({ subject: 'u1', correlationid: 'corr-1', causationid: 'cause-1', dlqretries: '2', dlqentryid: 'dlq-entry-7' });
    const decoded = decodeEvent(encodeEvent(event));
    expect(decoded).toEqual(event);
    expect(decoded.dlqretries).toBe(2);
  });

  it('keeps dlqretries 0 (a falsy value is still a value)', () => {
    const event = { ...minimal(), dlqretries: 0 };
    expect(fieldsToRecord(encodeEvent(event)).dlqretries).toBe('0');
    expect(decodeEvent(encodeEvent(event)).dlqretries).toBe(0);
  });
});

describe('entries written by a foreign publisher (plain XADD)', () => {
  const id = randomUUID();
  const data = JSON.stringify({ workspaceId: 'w1', name: 'Research', ownerId: 'u1' });

  it('accepts fields in any order, without specversion, with unknown extra fields ignored', () => {
    const event = decodeEvent([
      'data', data,
      'x-trace', 'abc',
      'time', '2026-01-01T00:00:00Z',
      'source', 'python-worker',
      'type', 'workspace.created',
      'datacontenttype', 'application/json',
      'id', id,
    ]);
    expect(event).toEqual({
      id,
      type: 'workspace.created',
      source: 'python-worker',
      specversion: '1.0',
      time: '2026-01-01T00:00:00Z',
      data: { workspaceId: 'w1', name: 'Research', ownerId: 'u1' },
    });
    expect(event).not.toHaveProperty('x-trace');
    expect(event).not.toHaveProperty('datacontenttype');
  });

  it('rejects data that is not JSON as bad_json', () => {
    const error = decodeRejection(['id', id, 'type', 'workspace.created', 'source', 's', 'time', '2026-01-01T00:00:00Z', 'data', '{"workspaceId":']);
    expect(error.reason).toBe('bad_json');
    expect(error.message).toMatch(/^data is not valid JSON/);
  });

  it('rejects a datacontenttype other than JSON', () => {
    const error = decodeRejection([
      'id', id, 'type', 'workspace.created', 'source', 's', 'time', '2026-01-01T00:00:00Z',
      'datacontenttype', 'application/xml', 'data', '<w/>',
    ]);
    expect(error.reason).toBe('invalid_envelope');
    expect(error.message).toContain('application/xml');
  });

  it('rejects an entry without data, or whose data is JSON but not an object', () => {
    expect(decodeRejection(['id', id, 'type', 'workspace.created', 'source', 's', 'time', '2026-01-01T00:00:00Z']).reason).toBe('invalid_envelope');
    expect(decodeRejection(['id', id, 'type', 'workspace.created', 'source', 's', 'time', '2026-01-01T00:00:00Z', 'data', '[1]']).reason).toBe(
      'invalid_envelope',
    );
  });

  it('rejects a wrong specversion and a non-numeric dlqretries', () => {
    const base = ['id', id, 'type', 'workspace.created', 'source', 's', 'time', '2026-01-01T00:00:00Z', 'data', data];
    expect(decodeRejection([...base, 'specversion', '0.3']).reason).toBe('invalid_envelope');
    expect(decodeRejection([...base, 'dlqretries', 'many']).reason).toBe('invalid_envelope');
  });

  it('reports the family and type reasons for a decodable entry', () => {
    const base = ['id', id, 'source', 's', 'time', '2026-01-01T00:00:00Z', 'data', '{}'];
    expect(decodeRejection([...base, 'type', 'billing.paid']).reason).toBe('unknown_family');
    expect(decodeRejection([...base, 'type', 'workspace.archived']).reason).toBe('unknown_type');
    expect(decodeRejection([...base, 'type', 'workspace.created']).reason).toBe('invalid_data');
  });

  it('rejects an entry with a field given twice, even with the same value', () => {
    const fields = encodeEvent(minimal());
    expect(decodeRejection([...fields, 'type', 'user.created']).message).toMatch(/"type" appears more than once/);
    expect(decodeRejection([...fields, 'source', fieldsToRecord(fields).source!]).reason).toBe('invalid_envelope');
    // A `__proto__` field is no own key of the record, and no duplicate either.
    expect(decodeEvent([...fields, '__proto__', 'x']).id).toBe(fieldsToRecord(fields).id);
  });
});

describe('fields read as Buffers (the event processor reads with XREADGROUP…Buffer)', () => {
  it('keep a valid traceparent and tracestate, and refuse a bad traceparent exactly as strings do', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = { ...minimal(), traceparent, tracestate: 'rojo=00f067aa0ba902b7' };
    const fields = encodeEvent(traced);
    expect(decodeEvent(asBuffers(fields))).toEqual(traced);
    expect(decodeEvent(asBuffers(fields))).toEqual(decodeEvent(fields));
    // Checked on its bytes in the decoder: a bad one still goes to the checked path and is refused the same way.
    for (const bad of [
      traceparent.toUpperCase(),
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      `${traceparent}-extra`,
      '00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01',
      '',
    ]) {
      const rejection = decodeRejection(encodeEvent({ ...minimal(), traceparent: bad }));
      expect(rejection.reason).toBe('invalid_envelope');
      expect(JSON.stringify(rejection.details)).toContain('traceparent');
    }
  });

  it('decode to the same event as strings, UTF-8 text, optional and unknown fields included', () => {
    const event = createEvent(
      { type: 'workspace.created', data: { workspaceId: 'w-é', name: 'Recherche 研究 🚀', ownerId: 'u1' }, subject: 'ws/é', correlationid: 'c-1' },
      'wire-test-ü',
    );
    const fields = [...encodeEvent({ ...event, dlqretries: 2, dlqentryid: 'd-1' }), 'x-extra', 'ignored'];
    expect(decodeEvent(asBuffers(fields))).toEqual(decodeEvent(fields));
    expect(decodeEvent(asBuffers(fields)).data).toEqual(event.data);
    expect(decodeEvent(asBuffers([...fields, 'datacontenttype', 'application/json'])).id).toBe(event.id);
  });

  it('give the same record as strings', () => {
    expect(fieldsToRecord(asBuffers(['a', '1', 'b', 'é', 'dangling']))).toEqual({ a: '1', b: 'é' });
  });
});

describe('fieldsToRecord', () => {
  it('pairs fields and values, ignoring a dangling field; the last duplicate wins', () => {
    expect(fieldsToRecord(['a', '1', 'b', '2', 'a', '3', 'dangling'])).toEqual({ a: '3', b: '2' });
  });
});
