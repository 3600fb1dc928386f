/**
 * Secrets in failure messages (issue #11): a job failing with a URL carrying credentials and
 * with the configured API key in its message leaves neither in `failedReason`, the job log,
 * the DLQ entry (message and stack), the lifecycle event or any log line.
 */
import { describe, expect, it } from 'vitest';
import { describeFailure, redactText, secretsOf } from '@event-infra/shared';
import { captureLogger, waitFor, type CapturedLogger } from '@event-infra/testing';
import { processorPerFile, request } from './support/processor';

const KEY = 'api-key-7f3a9c-secret';
const URL_PASSWORD = 'pa55-w0rd-in-url';

describe('redactText / secretsOf', () => {
  it('removes URL credentials and configured secrets (also URL-encoded)', () => {
    const text = `GET redis://:${URL_PASSWORD}@10.0.0.1:6379 and https://bob:x@h/ failed; key=${KEY}; enc=${encodeURIComponent('p@ss/w')}`;
    const out = redactText(text, [KEY, 'p@ss/w', 'ab']);
    expect(out).not.toContain(URL_PASSWORD);
    expect(out).not.toContain('bob:x');
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(encodeURIComponent('p@ss/w'));
    expect(out).toContain('redis://[redacted]@10.0.0.1:6379');
  });

  it('every DLQ entry (jobs and events) drops URL credentials from the failure message and stack', () => {
    const failure = describeFailure(new Error(`connect redis://:${URL_PASSWORD}@10.0.0.1:6380 refused`));
    expect(JSON.stringify(failure)).not.toContain(URL_PASSWORD);
    expect(failure.message).toBe('connect redis://[redacted]@10.0.0.1:6380 refused');
  });

  it('collects *_PASSWORD, *_KEY and passwords inside *_URL values', () => {
    expect(secretsOf({ API_KEY: 'k1', REDIS_PASSWORD: 'p1', REDIS_URL: 'redis://:p2@h:1', ADMIN_USER: 'admin', PORT: 3 }).sort()).toEqual(['k1', 'p1', 'p2']);
  });
});

describe('failure messages are redacted before they are stored, logged or answered', () => {
  const log: CapturedLogger = captureLogger('queue-processor', 'debug');
  const auth = { authorization: `Bearer ${KEY}` };
  const started = processorPerFile({ API_KEY: KEY, PUBLISH_EVENTS: 'true', LONG_RUNNING_JOBS_ENABLED: 'false' }, () => log.logger);

  it('failedReason, job log, DLQ entry, event and logs carry no secret', async () => {
    const message = `upstream http://svc:${URL_PASSWORD}@internal.example/x refused key ${KEY}`;
    const created = await request(started.app.url, 'POST', '/jobs/async-processing', { headers: auth, body: { name: 'demo.fail', data: { permanent: true, message } } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const view = await waitFor(async () => {
      const reply = await request(started.app.url, 'GET', `/jobs/async-processing/${id}`, { headers: auth });
      return reply.body.state === 'failed' ? reply : undefined;
    }, 'job failed');
    expect(view.body.failedReason).toContain('http://[redacted]@internal.example/x');
    const answered = JSON.stringify({ ...view.body, data: undefined });
    const dlq = await waitFor(async () => (await started.inspect.queue('dead-letter-queue').getJobs(['waiting'])).find((job) => job.data.origin?.jobId === id), 'DLQ entry');
    const stored = JSON.stringify({ ...dlq.data, data: undefined });
    const logs = (await started.inspect.queue('async-processing').getJobLogs(id)).logs.join('\n');
    const events = JSON.stringify((await started.inspect.connection.xrange(started.app.env.STREAM_NAME!, '-', '+')).flat(2));
    for (const [where, text] of Object.entries({ answered, stored, logs, events, log: log.text() })) {
      expect(text.includes(URL_PASSWORD), `${where} carries the URL password`).toBe(false);
      expect(text.includes(KEY), `${where} carries the API key`).toBe(false);
    }
    expect(stored).toContain('[redacted]');
  });
});
