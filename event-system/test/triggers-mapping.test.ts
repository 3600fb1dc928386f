/** Trigger job data and ids, and triggers-file paths: pure functions, literal cases. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvent, ValidationError } from '@event-infra/shared';
import { loadTriggersFile, resolveTriggersPath, triggerJobData, triggerJobId, triggerSchema, triggersFileSchema } from '../src/core/triggers';
import { workspaceCreated } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'triggers-mapping-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trigger mapping', () => {
  const event = createEvent({ ...workspaceCreated('m'), subject: 'ws-m' }, 'test');

  it('maps dotted paths, leaves out missing ones and paths through non-objects; constants win', () => {
    const trigger = triggerSchema.parse({
      name: 'map',
      on: '*',
      job: 'j',
      include: 'none',
      map: { subject: 'subject', owner: 'data.ownerId', deep: 'data.name.length', none: 'data.nothing.here', whole: 'data', name: 'data.name' },
      data: { name: 'constant' },
    });
    expect(triggerJobData(trigger, event)).toEqual({ subject: 'ws-m', owner: 'u-1', whole: event.data, name: 'constant' });
  });

  it('include "data" copies the data, "event" the envelope, and the map overrides the base', () => {
    const data = triggerSchema.parse({ name: 'd', on: '*', job: 'j', map: { name: 'id' } });
    expect(triggerJobData(data, event)).toEqual({ ...event.data, name: event.id });
    const whole = triggerSchema.parse({ name: 'e', on: '*', job: 'j', include: 'event' });
    expect(triggerJobData(whole, event)).toEqual({ ...event });
    expect(data.include).toBe('data');
    expect(data.opts).toEqual({});
  });

  it('job ids are evt-<trigger>-<event id> with colons replaced (BullMQ reserves them)', () => {
    const trigger = triggerSchema.parse({ name: 'ids', on: '*', job: 'j' });
    expect(triggerJobId(trigger, { ...event, id: 'a:b:c' })).toBe('evt-ids-a_b_c');
  });

  it('names are lowercase letters, digits and dashes, up to 64 characters, not starting with a dash', () => {
    const ok = (name: string) => triggerSchema.safeParse({ name, on: '*', job: 'j' }).success;
    expect(ok('a')).toBe(true);
    expect(ok('9-lives')).toBe(true);
    expect(ok('a'.repeat(64))).toBe(true);
    expect(ok('a'.repeat(65))).toBe(false);
    expect(ok('-a')).toBe(false);
    expect(ok('A')).toBe(false);
    expect(ok('a_b')).toBe(false);
    expect(ok('')).toBe(false);
    expect(triggerSchema.safeParse({ name: 'x', on: '', job: 'j' }).success).toBe(false);
    expect(triggerSchema.safeParse({ name: 'x', on: '*', job: '' }).success).toBe(false);
    expect(triggersFileSchema.safeParse({ triggers: [{ name: 'a', on: '*', job: 'x' }, { name: 'b', on: '*', job: 'x' }] }).success).toBe(true);
  });

  it('loading: bad JSON and a bad root name the file; errors are ValidationErrors', () => {
    const badJson = join(dir, 'bad-json.json');
    writeFileSync(badJson, '{ not json');
    expect(() => loadTriggersFile(badJson)).toThrow(ValidationError);
    expect(() => loadTriggersFile(badJson)).toThrow(/^triggers file .*bad-json\.json: /);
    const noList = join(dir, 'no-list.json');
    writeFileSync(noList, '{}');
    expect(() => loadTriggersFile(noList)).toThrow(/no-list\.json: triggers: /);
    const rootArray = join(dir, 'root.json');
    writeFileSync(rootArray, '[]');
    expect(() => loadTriggersFile(rootArray)).toThrow(/root\.json: \(root\): /);
  });

  it('resolves a relative path from the project root when it is not in the working directory', () => {
    expect(resolveTriggersPath('/abs/missing.json')).toBe('/abs/missing.json');
    const fromRoot = resolveTriggersPath('event-system/triggers.example.json');
    expect(fromRoot.endsWith('event-system/triggers.example.json')).toBe(true);
    expect(loadTriggersFile('event-system/triggers.example.json').length).toBeGreaterThan(0);
    expect(resolveTriggersPath('no/such/file.json')).toBe('no/such/file.json');
  });
});
