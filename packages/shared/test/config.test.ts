import { describe, expect, it } from 'vitest';
import { configErrorOf } from '@event-infra/testing';
import { z } from 'zod';
import {
  QUEUES,
  STREAM_DEFAULTS,
  bool,
  commonEnvSchema,
  commonEnvShape,
  csv,
  logLevel,
  nonNegativeInt,
  optionalSecret,
  parseConfig,
  port,
  positiveInt,
  redisUrl,
} from '@event-infra/shared';

const SECRET = 'hunter2-do-not-echo';

describe('parseConfig with the common shape', () => {
  it('fills every default of the env example', () => {
    const config = parseConfig(commonEnvSchema, {});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      HTTP_HOST: '127.0.0.1',
      REDIS_URL: 'redis://127.0.0.1:6382',
      REDIS_STREAMS_URL: 'redis://127.0.0.1:6380',
      REDIS_QUEUE_URL: 'redis://127.0.0.1:6381',
      EVENT_BUS_ENABLED: true,
      PUBLISH_EVENTS: true,
      STREAM_NAME: STREAM_DEFAULTS.stream,
      CONSUMER_GROUP: STREAM_DEFAULTS.group,
      STREAM_MAXLEN_APPROX: 1_000_000,
      DLQ_QUEUE_NAME: QUEUES.deadLetter,
      RETRY_ATTEMPTS: 3,
      RETRY_DELAY: 60_000,
      HTTP_BODY_LIMIT: '1mb',
      HTTP_BODY_MAX_IN_FLIGHT: '8mb',
      SHUTDOWN_GRACE_MS: 30_000,
      HTTP_ALLOWED_HOSTS: [],
      QUEUE_PROCESSOR_PORT: 8009,
      EVENT_PROCESSOR_PORT: 8010,
      DLQ_PROCESSOR_PORT: 8011,
    });
    expect(config.REDIS_PASSWORD).toBeUndefined();
    expect(config.API_KEY).toBeUndefined();
  });

  it('returns a frozen object', () => {
    const config = parseConfig(commonEnvSchema, { RETRY_ATTEMPTS: '5' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { RETRY_ATTEMPTS: number }).RETRY_ATTEMPTS = 1;
    }).toThrow(TypeError);
  });

  it('reads "false" as false and "true" as true (z.stringbool, never coerce)', () => {
    for (const [text, value] of [
      ['false', false],
      ['0', false],
      ['no', false],
      ['off', false],
      ['true', true],
      ['1', true],
      ['yes', true],
      ['on', true],
    ] as const) {
      const config = parseConfig(commonEnvSchema, { EVENT_BUS_ENABLED: text, PUBLISH_EVENTS: text });
      expect(config.EVENT_BUS_ENABLED, text).toBe(value);
      expect(config.PUBLISH_EVENTS, text).toBe(value);
    }
  });

  it('converts numbers and lists', () => {
    const config = parseConfig(commonEnvSchema, {
      RETRY_DELAY: '0',
      STREAM_MAXLEN_APPROX: '0',
      HTTP_ALLOWED_HOSTS: ' a.example , ,b.example ',
      QUEUE_PROCESSOR_PORT: '0',
    });
    expect(config.RETRY_DELAY).toBe(0);
    expect(config.STREAM_MAXLEN_APPROX).toBe(0);
    expect(config.QUEUE_PROCESSOR_PORT).toBe(0);
    expect(config.HTTP_ALLOWED_HOSTS).toEqual(['a.example', 'b.example']);
  });

  it('treats an empty variable as unset: the default applies (Compose passes unset variables as "")', () => {
    const config = parseConfig(commonEnvSchema, {
      QUEUE_PROCESSOR_PORT: '',
      RETRY_DELAY: '',
      RETRY_ATTEMPTS: '',
      STREAM_NAME: '',
      EVENT_BUS_ENABLED: '',
      REDIS_PASSWORD: '',
    });
    expect(config.QUEUE_PROCESSOR_PORT).toBe(8009);
    expect(config.RETRY_DELAY).toBe(60_000);
    expect(config.RETRY_ATTEMPTS).toBe(3);
    expect(config.STREAM_NAME).toBe(STREAM_DEFAULTS.stream);
    expect(config.EVENT_BUS_ENABLED).toBe(true);
    expect(config.REDIS_PASSWORD).toBeUndefined();
  });

  it('keeps passwords given separately', () => {
    const config = parseConfig(commonEnvSchema, { REDIS_QUEUE_PASSWORD: SECRET, API_KEY: SECRET });
    expect(config.REDIS_QUEUE_PASSWORD).toBe(SECRET);
    expect(config.API_KEY).toBe(SECRET);
  });
});

describe('configuration errors', () => {
  // One bad value per fragment of the common shape; the secret sits inside each value.
  const cases: { variable: string; value: string; message: RegExp }[] = [
    { variable: 'REDIS_URL', value: `http://:${SECRET}@host:6379`, message: /redis:\/\/ or rediss:\/\/ URL/ },
    { variable: 'REDIS_STREAMS_URL', value: `redis://:${SECRET}@`, message: /redis:\/\/ or rediss:\/\/ URL/ },
    { variable: 'REDIS_QUEUE_URL', value: `not a url ${SECRET}`, message: /redis:\/\/ or rediss:\/\/ URL/ },
    { variable: 'QUEUE_PROCESSOR_PORT', value: `${SECRET}`, message: /expected number/ },
    { variable: 'EVENT_PROCESSOR_PORT', value: '70000', message: /<=65535/ },
    { variable: 'DLQ_PROCESSOR_PORT', value: '80.5', message: /integer|int/i },
    { variable: 'RETRY_ATTEMPTS', value: '0', message: />0/ },
    { variable: 'RETRY_DELAY', value: '-1', message: />=0/ },
    { variable: 'STREAM_MAXLEN_APPROX', value: `1${SECRET}`, message: /expected number/ },
    { variable: 'EVENT_BUS_ENABLED', value: `${SECRET}`, message: /expected one of/ },
    { variable: 'LOG_LEVEL', value: `${SECRET}`, message: /expected one of/ },
    { variable: 'NODE_ENV', value: `${SECRET}`, message: /expected one of/ },
    { variable: 'HTTP_BODY_LIMIT', value: `${SECRET}`, message: /size like 1mb/ },
  ];

  it.each(cases)('$variable: one line naming the variable, value not echoed', ({ variable, value, message }) => {
    const error = configErrorOf(commonEnvSchema, { [variable]: value });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.variable).toBe(variable);
    expect(error.issues[0]!.message).toMatch(message);
    expect(error.message).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain(SECRET);
  });

  it('says "is required" for each missing required variable, also when empty', () => {
    const schema = z.object({
      ...commonEnvShape,
      ADMIN_PASSWORD: z.string().min(1),
      WEBHOOK_URL: redisUrl,
      WORKERS: positiveInt,
      FLAG: bool,
    });
    const error = configErrorOf(schema, { ADMIN_PASSWORD: '', WORKERS: '' });
    expect(error.issues).toEqual([
      { variable: 'ADMIN_PASSWORD', message: 'is required' },
      { variable: 'WEBHOOK_URL', message: 'is required' },
      { variable: 'WORKERS', message: 'is required' },
      { variable: 'FLAG', message: 'is required' },
    ]);
    expect(error.message).toBe(
      'invalid configuration: ADMIN_PASSWORD: is required; WEBHOOK_URL: is required; WORKERS: is required; FLAG: is required',
    );
  });

  it('names every bad variable in one line', () => {
    const error = configErrorOf(commonEnvSchema, { RETRY_ATTEMPTS: 'x', LOG_PRETTY: 'maybe', REDIS_URL: SECRET });
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['LOG_PRETTY', 'REDIS_URL', 'RETRY_ATTEMPTS']);
    expect(error.message.split('\n')).toHaveLength(1);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('fragments', () => {
  it('redisUrl accepts redis:// and rediss:// with or without credentials and db', () => {
    for (const url of ['redis://h', 'redis://:p@h:6380', 'rediss://user:p@h:6380/2', ' redis://127.0.0.1:6379 ']) {
      expect(redisUrl.safeParse(url).success, url).toBe(true);
    }
    expect(redisUrl.parse(' redis://h:1 ')).toBe('redis://h:1');
    for (const url of ['', 'h:6379', 'http://h', 'redis://', 'redis:///0']) {
      expect(redisUrl.safeParse(url).success, url).toBe(false);
    }
  });

  it('port, positiveInt and nonNegativeInt bounds', () => {
    expect(port.parse('65535')).toBe(65535);
    expect(port.safeParse('-1').success).toBe(false);
    expect(positiveInt.parse('1')).toBe(1);
    expect(positiveInt.safeParse('0').success).toBe(false);
    expect(positiveInt.safeParse('1.5').success).toBe(false);
    expect(nonNegativeInt.parse('0')).toBe(0);
    expect(nonNegativeInt.safeParse('-3').success).toBe(false);
  });

  it('bool, optionalSecret, csv and logLevel', () => {
    expect(bool.parse('false')).toBe(false);
    expect(bool.safeParse('maybe').success).toBe(false);
    expect(optionalSecret.parse('')).toBeUndefined();
    expect(optionalSecret.parse(undefined)).toBeUndefined();
    expect(optionalSecret.parse('s')).toBe('s');
    expect(csv.parse(undefined)).toEqual([]);
    expect(csv.parse('a,b')).toEqual(['a', 'b']);
    expect(logLevel.parse('silent')).toBe('silent');
    expect(logLevel.safeParse('verbose').success).toBe(false);
  });
});
