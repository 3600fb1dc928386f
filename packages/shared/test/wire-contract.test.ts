/**
 * The golden wire fixtures (contract/fixtures): each stream entry or envelope and the answer
 * the Node side gives today. The Python client runs the same files
 * (clients/python/tests/test_contract_fixtures.py), so a rule changed on one side only fails.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, InvalidEventError, validateEvent } from '../src';

interface Expect {
  event?: unknown;
  reason?: string;
  paths?: string[];
}
interface Case<T> {
  name: string;
  expect: Expect;
  fields?: T;
  candidate?: T;
}

function cases<T>(file: string): Case<T>[] {
  const path = fileURLToPath(new URL(`../../../contract/fixtures/${file}`, import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: Case<T>[] }).cases;
}

function answer(run: () => unknown): Expect {
  try {
    return { event: run() };
  } catch (caught) {
    if (!(caught instanceof InvalidEventError)) throw caught;
    const details = (caught.details ?? []) as { path: string }[];
    return { reason: caught.reason, paths: [...new Set(details.map((issue) => issue.path))].sort() };
  }
}

const wire = cases<string[]>('wire-entries.json');
const envelopes = cases<unknown>('envelopes.json');

describe('wire contract fixtures', () => {
  it('has cases of every kind', () => {
    const reasons = new Set(wire.map((entry) => entry.expect.reason ?? 'ok'));
    expect([...reasons].sort()).toEqual(['bad_json', 'invalid_data', 'invalid_envelope', 'ok', 'unknown_family', 'unknown_type']);
    expect(envelopes.length).toBeGreaterThanOrEqual(10);
  });

  it.each(wire.map((entry) => [entry.name, entry] as const))('stream entry: %s', (_name, entry) => {
    expect(answer(() => decodeEvent(entry.fields!))).toEqual(entry.expect);
  });

  it.each(wire.map((entry) => [entry.name, entry] as const))('stream entry read as Buffers: %s', (_name, entry) => {
    expect(answer(() => decodeEvent(entry.fields!.map((field) => Buffer.from(field))))).toEqual(entry.expect);
  });

  it.each(envelopes.map((entry) => [entry.name, entry] as const))('envelope: %s', (_name, entry) => {
    expect(answer(() => validateEvent(entry.candidate))).toEqual(entry.expect);
  });

  it('every valid entry survives encodeEvent and decodeEvent unchanged', () => {
    for (const entry of wire.filter((item) => item.expect.event !== undefined)) {
      const event = decodeEvent(entry.fields!);
      expect(decodeEvent(encodeEvent(event)), entry.name).toEqual(event);
    }
  });
});
