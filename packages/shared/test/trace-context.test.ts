/**
 * W3C Trace Context parsing (https://www.w3.org/TR/trace-context/): what the HTTP intake accepts
 * from `traceparent` / `tracestate` headers, what it ignores (no trace context then: nothing is
 * minted, never an error), and that what it keeps passes the envelope's own patterns.
 */
import { describe, expect, it } from 'vitest';
import {
  JOB_TRACE_KEY,
  TRACEPARENT_PATTERN,
  TRACESTATE_PATTERN,
  buildEventDeadLetterEntry,
  buildJobDeadLetterEntry,
  createEvent,
  encodeEvent,
  envelopeSchema,
  isTraceparentBytes,
  newTraceparent,
  parseTraceparent,
  parseTracestate,
  requestTraceContext,
  retryJobData,
  traceFromEvent,
} from '@event-infra/shared';
import { seededRandom } from './support/seeded-random';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('parseTraceparent', () => {
  it('accepts a version-00 value and normalises later versions to 00', () => {
    expect(parseTraceparent(VALID)).toBe(VALID);
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    // A future version may append fields: its first four are read.
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds')).toBe(VALID);
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09');
  });

  it.each([
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version 00 with extra fields', `${VALID}-extra`],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['two headers joined by Node', `${VALID}, ${VALID}`],
    ['spaces', ` ${VALID}`],
    ['not hex', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['empty', ''],
    ['an array', [VALID]],
  ])('refuses %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('parseTracestate', () => {
  it('keeps valid members, trimmed, blank members dropped', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(parseTracestate('  ,acme@vendor=a b,\t,x=1 ')).toBe('acme@vendor=a b,x=1');
  });

  it.each([
    ['a key given twice', 'a=1,a=2'],
    ['an upper-case key', 'Rojo=1'],
    ['a value with =', 'a=b=c'],
    ['a member without =', 'a=b,x'],
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['more than 512 characters', `a=${'x'.repeat(256)},b=${'y'.repeat(256)}`],
    ['no members', ' , '],
  ])('discards %s', (_name, value) => {
    expect(parseTracestate(value)).toBeUndefined();
  });
});

describe('requestTraceContext', () => {
  it("keeps the caller's context, with a valid tracestate", () => {
    expect(requestTraceContext({ traceparent: VALID, tracestate: 'rojo=1' })).toEqual({ traceparent: VALID, tracestate: 'rojo=1' });
    expect(requestTraceContext({ traceparent: VALID, tracestate: 'Bad' })).toEqual({ traceparent: VALID });
  });

  it('mints nothing for a missing or bad traceparent (its tracestate is dropped with it)', () => {
    expect(requestTraceContext({})).toBeUndefined();
    expect(requestTraceContext({ tracestate: 'rojo=1' })).toBeUndefined();
    expect(requestTraceContext({ traceparent: 'garbage', tracestate: 'rojo=1' })).toBeUndefined();
    expect(requestTraceContext({ traceparent: VALID.replace(/^00/, 'ff') })).toBeUndefined();
  });

  it('produces only values the envelope accepts', () => {
    for (let index = 0; index < 50; index += 1) expect(newTraceparent()).toMatch(TRACEPARENT_PATTERN);
    expect('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE').toMatch(TRACESTATE_PATTERN);
    const base = { id: '6f1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e', type: 'workspace.created', source: 's', time: '2026-01-01T00:00:00.000Z', specversion: '1.0', data: {} };
    expect(envelopeSchema.safeParse({ ...base, traceparent: VALID, tracestate: 'rojo=1' }).success).toBe(true);
    expect(envelopeSchema.safeParse({ ...base, traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }).success).toBe(false);
    expect(envelopeSchema.safeParse({ ...base, tracestate: 'a=1,a b' }).success).toBe(false);
  });
});

describe('an absent trace context stays absent in what it causes (tracing off, no caller context)', () => {
  const event = createEvent({ type: 'workspace.created', data: { workspaceId: 'w1', name: 'Acme', ownerId: 'u1' }, ...requestTraceContext({}) }, 'test');

  it('the event, its stream entry and its trigger job', () => {
    expect(Object.keys(event)).not.toContain('traceparent');
    expect(encodeEvent(event).filter((_, index) => index % 2 === 0)).toEqual(['id', 'type', 'source', 'specversion', 'time', 'data']);
    expect(traceFromEvent(event)).toEqual({ correlationId: event.id, causationId: event.id });
  });

  it("the event's and a job's DLQ entries, and the retry job", () => {
    const eventEntry = buildEventDeadLetterEntry({ stream: 's', group: 'g', entryId: '1-0', event, error: new Error('boom'), deliveries: 3, firstFailedAt: event.time, lastFailedAt: event.time });
    expect(eventEntry).not.toHaveProperty('traceparent');
    expect(eventEntry).not.toHaveProperty('tracestate');
    const trace = { correlationId: 'c1', ...requestTraceContext({ tracestate: 'rojo=1' }) };
    const jobEntry = buildJobDeadLetterEntry({ queue: 'q', jobId: '1', name: 'n', data: {}, opts: {}, meta: {}, error: new Error('boom'), attempts: 3, lastFailedAt: new Date(), trace });
    expect(jobEntry).not.toHaveProperty('traceparent');
    expect(jobEntry).not.toHaveProperty('tracestate');
    expect(retryJobData({}, { entryId: 'e1', retries: 1, token: 't' }, trace)[JOB_TRACE_KEY]).toEqual({ correlationId: 'c1', causationId: 'e1' });
  });
});

describe('isTraceparentBytes (the event decoder checks a traceparent on its bytes)', () => {
  /** Bytes a mutation puts in: every hex digit, their upper-case forms, neighbours of the ranges, '-', NUL, non-ASCII. */
  const PICKS = [...'0123456789abcdefABCDEFgG/:`-z ', '\n'].map((char) => char.charCodeAt(0)).concat([0x00, 0x7f, 0x80, 0xc3, 0xa9, 0xff]);

  it('answers as TRACEPARENT_PATTERN on the decoded string, for 20,000 seeded valid, mutated and random values', () => {
    const next = seededRandom(15);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const cases: Buffer[] = [
      Buffer.from(VALID),
      Buffer.from('00-00000000000000000000000000000000-00f067aa0ba902b7-01'),
      Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'),
      Buffer.from('00-00000000000000000000000000000001-0000000000000001-00'),
      Buffer.from(`${VALID}\n`),
      Buffer.from(`${VALID}-`),
      Buffer.from(VALID.slice(0, 54)),
      Buffer.from(''),
    ];
    for (let index = 0; index < 20_000; index += 1) {
      const bytes = Buffer.from(index % 3 === 0 ? VALID : newTraceparent());
      const kind = next();
      if (kind < 0.6) {
        // One to three bytes replaced.
        const changes = 1 + Math.floor(next() * 3);
        for (let change = 0; change < changes; change += 1) bytes[Math.floor(next() * bytes.length)] = pick(PICKS);
        cases.push(bytes);
      } else if (kind < 0.75) {
        // An id made all zeros but (maybe) one digit.
        const [from, to] = next() < 0.5 ? [3, 35] : [36, 52];
        bytes.fill(48, from, to);
        if (next() < 0.5) bytes[from + Math.floor(next() * (to - from))] = pick(PICKS);
        cases.push(bytes);
      } else if (kind < 0.85) {
        // A byte inserted or removed (length 54 or 56).
        const at = Math.floor(next() * bytes.length);
        cases.push(next() < 0.5 ? Buffer.concat([bytes.subarray(0, at), Buffer.from([pick(PICKS)]), bytes.subarray(at)]) : Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]));
      } else if (kind < 0.95) {
        cases.push(bytes);
      } else {
        cases.push(Buffer.from(Array.from({ length: 55 }, () => pick(PICKS))));
      }
    }
    let accepted = 0;
    for (const bytes of cases) {
      const expected = TRACEPARENT_PATTERN.test(bytes.toString());
      expect(isTraceparentBytes(bytes), JSON.stringify(bytes.toString('latin1'))).toBe(expected);
      if (expected) accepted += 1;
    }
    // Both answers occur often (the comparison is not one-sided).
    expect(accepted).toBeGreaterThan(2_000);
    expect(cases.length - accepted).toBeGreaterThan(8_000);
  });
});
