import { describe, expect, it } from 'vitest';
import { ConfigError } from '@event-infra/shared';
import { loadConfig } from '../src/config';

describe('dlq config', () => {
  it('has the documented defaults; an empty DLQ_RETRY_BASE_DELAY_MS means RETRY_DELAY', () => {
    const config = loadConfig({ DLQ_RETRY_BASE_DELAY_MS: '', ALERT_WEBHOOK_URL: '' });
    expect(config).toMatchObject({ DLQ_MAX_RETRIES: 3, DLQ_PROCESSOR_PORT: 8011, ALERT_COALESCE_WINDOW_MS: 10_000, DLQ_RETENTION_DAYS: 30 });
    expect(config.DLQ_RETRY_BASE_DELAY_MS).toBeUndefined();
    expect(config.ALERT_WEBHOOK_URL).toBeUndefined();
  });

  it('rejects a bad value with one line naming the variable, without echoing a secret URL', () => {
    const secretUrl = 'ftp://user:s3cret@example.com/hook';
    expect(() => loadConfig({ ALERT_WEBHOOK_URL: secretUrl })).toThrow(ConfigError);
    let message = '';
    try {
      loadConfig({ ALERT_WEBHOOK_URL: secretUrl, DLQ_MAX_RETRIES: 'many' });
    } catch (caught) {
      message = (caught as Error).message;
    }
    expect(message).toContain('ALERT_WEBHOOK_URL');
    expect(message).toContain('DLQ_MAX_RETRIES');
    expect(message).not.toContain('s3cret');
    expect(message).not.toContain('\n');
  });
});
