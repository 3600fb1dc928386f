import { describe, expect, it } from 'vitest';
import { commonEnvSchema, parseConfig } from '@event-infra/shared';
import { captureLogger } from '@event-infra/testing';

const SECRET = 'redact-me-7f3a';

describe('createLogger redaction', () => {
  it('never writes passwords, authorization headers, API keys or Redis URLs', () => {
    const { logger, text, lines } = captureLogger('svc', 'info');
    const child = logger.child({ component: 'x' });
    child.info({ password: SECRET }, 'top-level password');
    child.info({ redis: { password: SECRET } }, 'nested password');
    child.info({ apiKey: SECRET, API_KEY: SECRET }, 'api keys');
    child.info({ authorization: `Bearer ${SECRET}` }, 'authorization');
    child.info({ headers: { authorization: `Bearer ${SECRET}` } }, 'headers');
    child.info({ req: { method: 'GET', headers: { authorization: `Basic ${SECRET}`, cookie: `sid=${SECRET}` } } }, 'request');
    child.info({ upstream: { headers: { authorization: `Bearer ${SECRET}` } } }, 'upstream');
    child.info({ redisUrl: `redis://:${SECRET}@h:1` }, 'redis url');
    const config = parseConfig(commonEnvSchema, {
      REDIS_URL: `redis://:${SECRET}@h:6382`,
      REDIS_STREAMS_URL: `redis://:${SECRET}@h:6380`,
      REDIS_QUEUE_URL: `redis://:${SECRET}@h:6381`,
      REDIS_PASSWORD: SECRET,
      REDIS_STREAMS_PASSWORD: SECRET,
      REDIS_QUEUE_PASSWORD: SECRET,
      API_KEY: SECRET,
    });
    child.info({ config }, 'configuration');
    child.info({ ...config }, 'configuration spread at the top level');
    expect(lines).toHaveLength(10);
    for (const line of text().split('\n')) expect(line).not.toContain(SECRET);
    expect(lines.every((line) => line.service === 'svc')).toBe(true);
    expect(lines[0]).toMatchObject({ password: '[redacted]', component: 'x' });
    expect((lines[8]!.config as Record<string, unknown>).STREAM_NAME).toBe('pyairtable-events');
  });

  it('errors go under err with message and stack', () => {
    const { logger, lines } = captureLogger();
    logger.error({ err: new Error('boom') }, 'failed');
    expect(lines[0]).toMatchObject({ level: 50, msg: 'failed', err: { type: 'Error', message: 'boom' } });
    expect((lines[0]!.err as { stack: string }).stack).toContain('boom');
  });
});
