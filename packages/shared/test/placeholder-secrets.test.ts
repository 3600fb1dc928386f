import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configErrorOf } from '@event-infra/testing';
import { z } from 'zod';
import { commonEnvSchema, commonEnvShape, optionalSecret, parseConfig, placeholderSecretIssues } from '@event-infra/shared';

/** KEY=VALUE lines of the env example, as the stack scripts read them. */
function exampleEnv(): Record<string, string> {
  const text = readFileSync(fileURLToPath(new URL('../../../env-example-event-infrastructure', import.meta.url)), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('placeholder secrets with NODE_ENV=production', () => {
  it("the example's own values are refused in production: one line naming each placeholder variable", () => {
    const error = configErrorOf(commonEnvSchema, { ...exampleEnv(), NODE_ENV: 'production' });
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['REDIS_PASSWORD', 'REDIS_QUEUE_PASSWORD', 'REDIS_STREAMS_PASSWORD']);
    expect(error.message).toMatch(/^invalid configuration: REDIS_PASSWORD: is the example's placeholder \(change-me-…\): set a real secret for NODE_ENV=production/);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain('change-me-master');
  });

  it('the example parses as it is in development and test', () => {
    for (const nodeEnv of ['development', 'test']) {
      expect(parseConfig(commonEnvSchema, { ...exampleEnv(), NODE_ENV: nodeEnv }).REDIS_PASSWORD).toBe('change-me-master');
    }
  });

  it('real secrets pass in production', () => {
    const config = parseConfig(commonEnvSchema, {
      NODE_ENV: 'production',
      REDIS_PASSWORD: 'kT9#vQ2-master',
      REDIS_STREAMS_PASSWORD: 'x7-streams-secret',
      REDIS_QUEUE_PASSWORD: 'queue-secret-4a1',
      API_KEY: 'a-real-key-with-change-me-inside',
    });
    expect(config.NODE_ENV).toBe('production');
  });

  it('checks API_KEY, any *_PASSWORD of a service schema, and the password inside a URL', () => {
    const schema = z.object({ ...commonEnvShape, ADMIN_USER: optionalSecret, ADMIN_PASSWORD: optionalSecret });
    const error = configErrorOf(schema, {
      NODE_ENV: 'production',
      API_KEY: 'change-me-api-key',
      ADMIN_USER: 'change-me-user-is-not-a-secret',
      ADMIN_PASSWORD: 'CHANGE-ME',
      REDIS_URL: 'redis://:change-me-master@127.0.0.1:6382',
      REDIS_STREAMS_URL: 'redis://:%63hange-me-streams@127.0.0.1:6380',
      REDIS_QUEUE_URL: 'redis://:fine-secret@127.0.0.1:6381',
    });
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['ADMIN_PASSWORD', 'API_KEY', 'REDIS_STREAMS_URL', 'REDIS_URL']);
  });

  it('placeholderSecretIssues ignores anything but a production config object', () => {
    expect(placeholderSecretIssues(undefined)).toEqual([]);
    expect(placeholderSecretIssues({ NODE_ENV: 'development', REDIS_PASSWORD: 'change-me-master' })).toEqual([]);
    expect(placeholderSecretIssues({ NODE_ENV: 'production', REDIS_PASSWORD: 'change-me-master' })).toHaveLength(1);
  });
});
