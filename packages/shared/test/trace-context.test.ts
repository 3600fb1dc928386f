/**
 * W3C Trace Context parsing (https://www.w3.org/TR/trace-context/): what the HTTP intake accepts
 * from `traceparent` / `tracestate` headers, what it ignores (a new trace instead, never an
 * error), and that what it keeps passes the envelope's own patterns.
 */
import { describe, expect, it } from 'vitest';
import { TRACEPARENT_PATTERN, TRACESTATE_PATTERN, envelopeSchema, newTraceparent, parseTraceparent, parseTracestate, requestTraceContext } from '@event-infra/shared';

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
    expect(requestTraceContext({ traceparent: VALID, tracestate: 'rojo=1' })).toEqual({ traceparent: VALID, tracestate: 'rojo=1', fromCaller: true });
    expect(requestTraceContext({ traceparent: VALID, tracestate: 'Bad' })).toEqual({ traceparent: VALID, fromCaller: true });
  });

  it('starts a new trace for a missing or bad traceparent (its tracestate is dropped)', () => {
    const fresh = requestTraceContext({ traceparent: 'garbage', tracestate: 'rojo=1' });
    expect(fresh.fromCaller).toBe(false);
    expect(fresh.tracestate).toBeUndefined();
    expect(fresh.traceparent).toMatch(TRACEPARENT_PATTERN);
    expect(requestTraceContext({}).traceparent).not.toBe(requestTraceContext({}).traceparent);
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
