import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithTool, testPrincipals, type RedisServer } from '@event-infra/testing';
import { inspectQueues, request, startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

const CHROMIUM = process.env.EVINFRA_CHROMIUM ?? '/usr/bin/chromium';
const QUEUE = 'async-processing';

/** Bull Board in Chromium for a viewer and an admin (ADMIN_READONLY=false, so the role decides). */
describeWithTool('Chromium', existsSync(CHROMIUM), `${CHROMIUM}; apt-get install -y chromium`, 'Bull Board by role in a real browser', () => {
  let redis: RedisServer;
  let app: StartedProcessor;
  let browser: Browser;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;

  const contextFor = (role: 'viewer' | 'admin'): Promise<BrowserContext> => {
    const user = principals.users[role];
    return browser.newContext({ httpCredentials: { username: user.name, password: user.secret }, viewport: { width: 1400, height: 900 } });
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    principals = await testPrincipals();
    app = await startProcessor(redis, { QUEUE_ENABLED: 'false', ADMIN_READONLY: 'false', ...principals.env });
    for (const marker of ['one', 'two']) {
      const created = await request(app.url, 'POST', `/jobs/${QUEUE}`, {
        headers: { authorization: principals.keys.admin.authorization },
        body: { name: 'demo.sleep', data: { durationMs: 5, marker }, opts: { delay: 3_600_000 } },
      });
      expect(created.status).toBe(201);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await redis?.stop();
  });

  const delayedPage = `/admin/queues/queue/${QUEUE}?status=delayed`;

  it('an admin sees the promote and clean buttons on delayed jobs (the selectors find them)', async () => {
    const context = await contextFor('admin');
    try {
      const page = await context.newPage();
      expect((await page.goto(`${app.url}${delayedPage}`))?.status()).toBe(200);
      await page.getByText('"two"').first().waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: /clean all/i }).first().waitFor({ timeout: 15_000 });
      expect(await page.getByRole('button', { name: /promote/i }).count()).toBeGreaterThan(0);
      // The header's menu links to the operator console (CONSOLE_URL, default below): Bull Board's miscLinks.
      const uiConfig = JSON.parse((await page.locator('#__UI_CONFIG__').textContent()) ?? '{}') as { miscLinks?: { text: string; url: string }[] };
      expect(uiConfig.miscLinks).toEqual([{ text: 'Operator console', url: 'http://localhost:8011/console' }]);
    } finally {
      await context.close();
    }
  });

  it('a viewer sees the jobs but no retry, promote or clean button, and the board API answers 403 to a direct call', async () => {
    const context = await contextFor('viewer');
    try {
      const page = await context.newPage();
      expect((await page.goto(`${app.url}${delayedPage}`))?.status()).toBe(200);
      await page.getByText('"two"').first().waitFor({ timeout: 15_000 });
      for (const name of [/clean/i, /retry/i, /promote/i]) expect(await page.getByRole('button', { name }).count()).toBe(0);
      // The same browser session calling the API directly: refused at the server.
      const clean = await context.request.put(`${app.url}/admin/queues/api/queues/${QUEUE}/clean/delayed`);
      expect(clean.status()).toBe(403);
      const promote = await context.request.put(`${app.url}/admin/queues/api/queues/${QUEUE}/promote`);
      expect(promote.status()).toBe(403);
      const inspect = inspectQueues(redis);
      try {
        expect(await inspect.queue(QUEUE).getDelayedCount()).toBe(2);
      } finally {
        await inspect.close();
      }
    } finally {
      await context.close();
    }
  });
});
