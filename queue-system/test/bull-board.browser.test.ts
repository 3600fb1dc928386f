import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithTool, type RedisServer } from '@event-infra/testing';
import { request, startProcessor, startTestRedis, type StartedProcessor } from './support/processor';

/** Debian's Chromium; EVINFRA_CHROMIUM overrides the path (the CI-requirement test points it nowhere). */
const CHROMIUM = process.env.EVINFRA_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../../.artifacts/', import.meta.url));
const admin = { username: 'board-admin', password: 'board-secret-pw' };

/** Bull Board in Debian's Chromium (installed by .ci/run; `apt-get install -y chromium`). */
// Outside CI a machine without Chromium skips this file with one line on stderr; in CI
// (.ci/run installs Chromium) a missing browser fails the run, saying so.
describeWithTool('Chromium', existsSync(CHROMIUM), `${CHROMIUM}; apt-get install -y chromium`, 'Bull Board in a real browser', () => {
  let redis: RedisServer;
  let app: StartedProcessor;
  let browser: Browser;

  beforeAll(async () => {
    redis = await startTestRedis();
    // No workers: the submitted job stays waiting, so the board shows it.
    app = await startProcessor(redis, { QUEUE_ENABLED: 'false', ADMIN_USER: admin.username, ADMIN_PASSWORD: admin.password });
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

  it('refuses the board without credentials', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const seen: { status: number; challenge: string | undefined }[] = [];
      page.on('response', (response) => seen.push({ status: response.status(), challenge: response.headers()['www-authenticate'] }));
      // Headless Chromium has no one to ask for credentials: the 401 challenge ends the navigation.
      const navigation = await page.goto(`${app.url}/admin/queues`).then(
        (response) => response?.status(),
        (err: Error) => err.message,
      );
      expect(String(navigation)).toMatch(/401|ERR_INVALID_AUTH_CREDENTIALS/);
      expect(seen[0]).toMatchObject({ status: 401, challenge: expect.stringContaining('Basic') });
      const wrong = await request(app.url, 'GET', '/admin/queues', { headers: { authorization: `Basic ${Buffer.from('board-admin:nope').toString('base64')}` } });
      expect(wrong.status).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('with credentials shows the four queues and a job submitted over HTTP', async () => {
    const created = await request(app.url, 'POST', '/jobs/async-processing', { body: { name: 'demo.sleep', data: { durationMs: 5, marker: 'board-visible' } } });
    expect(created.status).toBe(201);
    const context = await browser.newContext({ httpCredentials: admin, viewport: { width: 1400, height: 900 } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${app.url}/admin/queues`);
      expect(response?.status()).toBe(200);
      for (const queue of ['long-running-jobs', 'async-processing', 'event-driven-jobs', 'dead-letter-queue']) {
        await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 15_000 });
      }
      await page.goto(`${app.url}/admin/queues/queue/async-processing?status=waiting`);
      await page.getByText('demo.sleep').first().waitFor({ timeout: 15_000 });
      await page.getByText(`#${created.body.id}`).first().waitFor({ timeout: 15_000 });
      await page.getByText('"board-visible"').first().waitFor({ timeout: 15_000 });
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}bull-board.png`, fullPage: true });
      expect(existsSync(`${artifacts}bull-board.png`)).toBe(true);
    } finally {
      await context.close();
    }
  });
});
