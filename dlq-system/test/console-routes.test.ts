import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrincipals, uniqueName, waitFor, type TestPrincipal } from '@event-infra/testing';
import { CONSOLE_CSP, CONSOLE_PAGES } from '../src/http/console/console-routes';
import { CONSOLE_REALM } from '../src/http/app';
import { jobEntry, startDlqFixture, type DlqFixture } from './support/dlq-harness';

/** The console's own routes on a real DLQ processor: logins per role, headers, files, cross-site writes. */
describe('operator console routes (/console on 8011)', () => {
  let fx: DlqFixture;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;
  const origin = uniqueName('console-origin');
  const call = async (path: string, init: { who?: TestPrincipal; method?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.who) headers.authorization = init.who.authorization;
    const response = await fetch(`${fx.processor.url}${path}`, { method: init.method ?? 'GET', headers });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  const park = async (jobId: string): Promise<string> => {
    const id = await fx.sink.add(jobEntry(origin, jobId, { message: 'invalid input', permanent: true }));
    await waitFor(async () => (await fx.processor.store.state(id))?.status === 'parked', `entry ${jobId} parked`);
    return id;
  };

  beforeAll(async () => {
    principals = await testPrincipals();
    fx = await startDlqFixture({ DLQ_MAX_RETRIES: '0', CONSOLE_QUEUE_PROCESSOR_URL: 'http://queue.example:8009/', ...principals.env });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('every page answers the shell with the strict CSP for a viewer; no inline script in it', async () => {
    for (const page of CONSOLE_PAGES) {
      const path = `/console${page.replace(':id', 'job-x-1-0')}`;
      const answer = await call(path, { who: principals.users.viewer });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      // Scripts only by src (the CSP would refuse an inline one anyway).
      expect(answer.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(answer.text).toContain('<script type="module" src="/console/assets/app.js">');
    }
  });

  it('without credentials: 401 with one Basic realm for the pages and the JSON API, so the browser reuses its login', async () => {
    for (const path of ['/console', '/console/api/me', '/dlq']) {
      const answer = await call(path);
      expect(answer.status, path).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe(`Basic realm="${CONSOLE_REALM}", charset="UTF-8"`);
    }
    expect((await call('/console', { who: { ...principals.users.viewer, authorization: `Basic ${Buffer.from('viewer-person:wrong').toString('base64')}` } })).status).toBe(401);
  });

  it('/console/api/me says who is logged in and what the role may do; a publisher may not open the console', async () => {
    const me = async (who: TestPrincipal) => JSON.parse((await call('/console/api/me', { who })).text);
    expect(await me(principals.users.viewer)).toEqual({
      principal: { name: 'viewer-person', role: 'viewer', kind: 'human' },
      may: { read: true, operate: false, administer: false },
      links: { bullBoard: 'http://queue.example:8009/admin/queues', timeline: 'http://queue.example:8009/timeline' },
    });
    expect((await me(principals.users.operator)).may).toEqual({ read: true, operate: true, administer: false });
    expect((await me(principals.users.admin)).may).toEqual({ read: true, operate: true, administer: true });
    expect((await call('/console', { who: principals.users.publisher })).status).toBe(403);
    expect((await call('/console/api/me', { who: principals.users.publisher })).status).toBe(403);
  });

  it('serves its scripts and uPlot from node_modules, and nothing else', async () => {
    const app = await call('/console/assets/app.js', { who: principals.users.viewer });
    expect(app.status).toBe(200);
    expect(app.headers.get('content-type')).toMatch(/^text\/javascript/);
    const chart = await call('/console/vendor/uplot.js', { who: principals.users.viewer });
    expect(chart.status).toBe(200);
    expect(chart.text).toContain('export { uPlot as default }');
    expect((await call('/console/vendor/uplot.css', { who: principals.users.viewer })).headers.get('content-type')).toMatch(/^text\/css/);
    for (const path of ['/console/assets/console.html', '/console/assets/..%2Fconsole-routes.ts', '/console/vendor/package.json', '/console/assets/nope.js']) {
      expect((await call(path, { who: principals.users.viewer })).status, path).toBe(404);
    }
    expect((await call('/console/assets/app.js')).status).toBe(401);
  });

  it('the timeline of a correlation: 404 when none is stored, 400 for a malformed id, 401 without a login', async () => {
    const missing = await call('/console/api/timeline/no-such-correlation', { who: principals.users.viewer });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).message).toContain('no timeline');
    expect((await call(`/console/api/timeline/${'x'.repeat(300)}`, { who: principals.users.viewer })).status).toBe(400);
    expect((await call('/console/api/timeline/anything')).status).toBe(401);
  });

  it('a cross-site POST with an operator login is refused 403 and the entry stays parked; the same POST from the page works', async () => {
    const id = await park('cross-site');
    const retry = `/dlq/${encodeURIComponent(id)}/retry`;
    const operator = principals.users.operator;
    const forged = await call(retry, { who: operator, method: 'POST', headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.text).message).toBe('cross-site request refused');
    expect((await call(retry, { who: operator, method: 'POST', headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await call(retry, { who: operator, method: 'POST', headers: { origin: 'null' } })).status).toBe(403);
    expect((await fx.processor.store.get(id))?.status).toBe('parked');
    const viewer = await call(retry, { who: principals.users.viewer, method: 'POST', headers: { origin: fx.processor.url, 'sec-fetch-site': 'same-origin' } });
    expect(viewer.status).toBe(403);
    const page = await call(retry, { who: operator, method: 'POST', headers: { origin: fx.processor.url, 'sec-fetch-site': 'same-origin' } });
    expect(page.status).toBe(202);
  });
});
