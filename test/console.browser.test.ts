/**
 * Issue #14: the operator console in Debian's Chromium against a live local-mode stack (real
 * redis-server processes, the three services as child processes): logins per role, the
 * overview's numbers against the services' own, a viewer without actions (and a direct POST
 * refused), a fingerprint redrive of 300 parked entries at 100/s watched to 100 % and to their
 * recovery, an invalid edit refused in the page, and job data carrying markup shown as text.
 * Screenshots of each page go to `.screenshots/` (ignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REDIS_ROLES, createRedis, waitForAll, type Redis, type Role } from '@event-infra/shared';
import { describeWithTool, silentLogger, testPrincipals, waitFor } from '@event-infra/testing';
import { ROOT, STACK, run, stackEnv, stackUp } from './support/stack-runner';

const CHROMIUM = process.env.EVINFRA_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, '.screenshots');
const QUEUE = 'async-processing';
const RECOVERABLE = 300;
const XSS = '<img src=x onerror="window.__xss=1">';
const STREAM = 'pyairtable-events';
/** A consumer group whose only consumer read one event and never acknowledged it. */
const STUCK_GROUP = 'console-stuck';

describeWithTool('Chromium', existsSync(CHROMIUM), `${CHROMIUM}; apt-get install -y chromium`, 'operator console in a real browser', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let browser: Browser;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;
  let streams: Redis | undefined;
  let flag: string;
  const queueApi = () => `http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}`;
  const dlqUrl = (path: string) => `http://127.0.0.1:${env.DLQ_PROCESSOR_PORT}${path}`;
  const consoleUrl = (path = '') => dlqUrl(`/console${path}`);
  const admin = () => ({ authorization: principals.keys.admin.authorization, 'content-type': 'application/json' });
  const dlq = async (query: string): Promise<any> => (await fetch(dlqUrl(`/dlq?${query}`), { headers: admin() })).json();

  const contextFor = (role: Role): Promise<BrowserContext> => {
    const user = principals.users[role];
    return browser.newContext({ httpCredentials: { username: user.name, password: user.secret }, viewport: { width: 1400, height: 900 } });
  };
  /** A page of `role` that fails the test on a page error or a CSP violation. */
  const openAs = async (role: Role, path: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> => {
    const context = await contextFor(role);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 40[034]/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    const answer = await page.goto(consoleUrl(path));
    expect(answer?.status()).toBe(200);
    await page.locator(`[data-role="${role}"]`).waitFor({ timeout: 15_000 });
    return { context, page, problems };
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });
  const addJobs = async (jobs: unknown[]): Promise<void> => {
    const added = await fetch(`${queueApi()}/jobs/${QUEUE}/bulk`, { method: 'POST', headers: admin(), body: JSON.stringify({ jobs }) });
    expect(added.status, await added.clone().text()).toBe(201);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'evinfra-console-'));
    flag = join(dir, 'recovered.flag');
    principals = await testPrincipals();
    env = await stackEnv(dir, {
      ...principals.env,
      JOB_HANDLERS_MODULE: join(ROOT, 'test/fixtures/timeline-handlers.mjs'),
      DLQ_MAX_RETRIES: '0',
      DLQ_RECOVERY_CHECK_MS: '500',
      CONSOLE_SAMPLE_INTERVAL_MS: '1000',
      TIMELINE_ENABLED: 'true',
      LOG_LEVEL: 'warn',
    });
    env.CONSOLE_QUEUE_PROCESSOR_URL = `http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}`;
    env.CONSOLE_URL = consoleUrl();
    await stackUp(env);
    streams = createRedis({ url: env.REDIS_STREAMS_URL!, password: env.REDIS_STREAMS_PASSWORD, role: REDIS_ROLES.streams, profile: 'producer', logger: silentLogger() });
    await waitForAll({ streams }, 10_000);
    // 300 jobs failing with one message (one fingerprint) until the flag file exists, and a
    // few permanent failures of another kind, one with markup in its data and message.
    await addJobs(Array.from({ length: RECOVERABLE }, (_, index) => ({ name: 'test.until-file', data: { flag, n: index }, opts: { attempts: 1 } })));
    await addJobs([
      ...Array.from({ length: 5 }, (_, index) => ({ name: 'demo.fail', data: { message: `card declined for order ${index}`, permanent: true }, opts: { attempts: 1 } })),
      { name: 'demo.fail', data: { message: `bad ${XSS}`, permanent: true, note: XSS }, opts: { jobId: 'xss-job', attempts: 1 } },
    ]);
    await streams.xgroup('CREATE', STREAM, STUCK_GROUP, '$');
    const published = await fetch(`${queueApi()}/events`, { method: 'POST', headers: admin(), body: JSON.stringify({ type: 'workspace.created', data: { workspaceId: 'w-stuck', name: 'Stuck', ownerId: 'u1' } }) });
    expect(published.status).toBe(202);
    const read = (await streams.xreadgroup('GROUP', STUCK_GROUP, 'ghost', 'COUNT', 1, 'STREAMS', STREAM, '>')) as [string, [string, string[]][]][] | null;
    expect(read?.[0]?.[1]).toHaveLength(1);
    await waitFor(async () => (await dlq('status=parked&limit=1')).total === RECOVERABLE + 6 || undefined, `${RECOVERABLE + 6} parked entries`, { timeoutMs: 120_000, intervalMs: 500 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 360_000);

  afterAll(async () => {
    await browser?.close();
    streams?.disconnect();
    if (env) {
      const down = await run('bash', [STACK, 'down'], env, 90_000);
      expect(down.code, down.stderr).toBe(0);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('each role logs in with its user; a publisher is refused; no login is a 401', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const { context, page, problems } = await openAs(role, '');
      expect(await page.locator('#who').innerText()).toContain(principals.users[role].name);
      expect(problems).toEqual([]);
      await context.close();
    }
    const publisher = await contextFor('publisher');
    expect((await (await publisher.newPage()).goto(consoleUrl()))?.status()).toBe(403);
    await publisher.close();
    expect((await fetch(consoleUrl())).status).toBe(401);
  }, 90_000);

  it('the overview shows the live numbers of the queues, the stream and the DLQ', async () => {
    const { context, page, problems } = await openAs('viewer', '');
    const stats = (await (await fetch(`${queueApi()}/stats`, { headers: admin() })).json()) as { queues: { name: string; counts: Record<string, number> }[] };
    const counts = stats.queues.find((queue) => queue.name === QUEUE)!.counts;
    expect(counts.failed).toBe(RECOVERABLE + 6);
    // The row's cells: name, then waiting, active, completed, failed, delayed, prioritized as the queue processor counts them.
    const row = page.locator('[data-testid=queues] tbody tr', { hasText: QUEUE });
    const cells = async () => (await row.locator('td').allInnerTexts()).map((cell) => cell.replace(/,/g, '').trim());
    await expect.poll(cells, { timeout: 15_000 }).toEqual([QUEUE, ...['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'].map((state) => String(counts[state] ?? 0))]);
    const parked = page.locator('[data-testid=dlq-totals] tr', { hasText: 'parked' }).first();
    await expect.poll(() => parked.innerText(), { timeout: 15_000 }).toContain(String(RECOVERABLE + 6));
    const length = Number(await streams!.xlen(env.STREAM_NAME ?? 'pyairtable-events'));
    expect(length).toBeGreaterThan(0);
    await expect.poll(async () => Number((await page.getByTestId('stream-length').innerText()).replace(/,/g, '')), { timeout: 15_000 }).toBeGreaterThanOrEqual(length);
    await page.locator('[data-testid=throughput-chart] canvas').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=groups] tbody tr').count()).toBeGreaterThan(0);
    await shot(page, 'overview');
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('a viewer sees entries but no action anywhere, and the server refuses the POSTs 403', async () => {
    const entry = (await dlq('status=parked&q=card+declined&limit=1')).items[0];
    const { context, page, problems } = await openAs('viewer', `/dlq/${encodeURIComponent(entry.id)}`);
    await page.getByTestId('payload').waitFor();
    expect(await page.getByRole('button').count()).toBe(0);
    expect(await page.getByTestId('edit-form').count()).toBe(0);
    await page.goto(consoleUrl('/dlq?status=parked'));
    await page.getByTestId('entries-table').waitFor();
    expect(await page.locator('.fingerprint-redrive').count()).toBe(0);
    expect(await page.getByTestId('redrive-filter').count()).toBe(0);
    await page.goto(consoleUrl('/redrive'));
    await page.getByTestId('redrive-form').waitFor();
    expect(await page.getByRole('button').count()).toBe(0);
    await page.goto(consoleUrl(`/streams?group=${STUCK_GROUP}`));
    await page.getByTestId(`pending-${STUCK_GROUP}`).locator('tbody tr td').first().waitFor();
    expect(await page.locator('.dead-letter').count()).toBe(0);
    // The same login calling the API directly, from the page (same origin) and from outside.
    const fromPage = await page.evaluate(async (id) => (await fetch(`/dlq/${encodeURIComponent(id)}/retry`, { method: 'POST' })).status, entry.id);
    expect(fromPage).toBe(403);
    const redrive = await context.request.post(dlqUrl('/dlq/redrive'), { data: { filter: {}, rate: 100 } });
    expect(redrive.status()).toBe(403);
    expect((await context.request.delete(dlqUrl(`/dlq/${encodeURIComponent(entry.id)}`))).status()).toBe(403);
    expect((await dlq('status=parked&q=card+declined')).items).toHaveLength(5);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('an operator narrows the DLQ to one fingerprint, dry-runs, redrives at 50/s to 100 %, and the entries recover', async () => {
    const { context, page, problems } = await openAs('operator', '/dlq?status=parked');
    const group = page.locator('[data-testid=fingerprints-table] tr', { hasText: 'test.until-file' });
    await group.waitFor();
    expect(await group.getByTestId('fingerprint-count').innerText()).toBe(String(RECOVERABLE));
    await shot(page, 'dlq-triage');
    await group.locator('.fingerprint-filter').click();
    await page.waitForURL(/fingerprint=/);
    const fingerprint = new URL(page.url()).searchParams.get('fingerprint')!;
    await expect.poll(() => page.getByTestId('entries-summary').innerText()).toContain(`${RECOVERABLE} matching`);
    expect(await page.locator('[data-testid=entries-table] tbody tr').count()).toBe(50);
    await page.getByTestId('next-page').click();
    await expect.poll(() => page.locator('[data-testid=entries-table] tbody tr').count()).toBe(50);
    await page.goto(consoleUrl(`/redrive?fingerprint=${fingerprint}`));
    await page.getByTestId('dry-run').click();
    await expect.poll(() => page.getByTestId('dry-run-count').innerText()).toContain(`${RECOVERABLE} parked entries match`);
    writeFileSync(flag, 'ok');
    // 50/s: the task runs for 6 s, time for the page (polling every 500 ms) to show it running
    // even when the browser is slow on a loaded machine.
    await page.locator('input[name=rate]').fill('50');
    // A changed form needs a new dry run before it can start.
    expect(await page.getByTestId('start-redrive').isDisabled()).toBe(true);
    await page.getByTestId('dry-run').click();
    await expect.poll(() => page.getByTestId('start-redrive').isDisabled()).toBe(false);
    await page.getByTestId('start-redrive').click();
    await page.getByTestId('task').waitFor();
    await expect.poll(() => page.getByTestId('task-status').innerText(), { timeout: 30_000 }).toBe('running');
    await shot(page, 'redrive-running');
    await expect.poll(() => page.getByTestId('task-progress').innerText(), { timeout: 60_000, interval: 250 }).toMatch(/^100 %/);
    await expect.poll(() => page.getByTestId('task-status').innerText()).toBe('done');
    expect(await page.getByTestId('task-progress').innerText()).toContain(`${RECOVERABLE} of ${RECOVERABLE} handled: ${RECOVERABLE} retried, 0 skipped, 0 failed`);
    await shot(page, 'redrive');
    const taskId = new URL(page.url()).searchParams.get('task')!;
    const task = (await (await fetch(dlqUrl(`/dlq/tasks/${taskId}`), { headers: admin() })).json()) as any;
    // 300 at 50/s: about 6 s, never much faster than the rate allows.
    expect(Date.parse(task.finishedAt) - Date.parse(task.startedAt)).toBeGreaterThan(5_500);
    await waitFor(async () => (await dlq(`fingerprint=${fingerprint}&status=recovered&limit=1`)).total === RECOVERABLE || undefined, `${RECOVERABLE} recovered`, { timeoutMs: 90_000, intervalMs: 500 });
    expect((await dlq(`fingerprint=${fingerprint}&status=parked&limit=1`)).items).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('an admin edits a payload: an invalid edit is refused in the page with the schema message and nothing is sent', async () => {
    const entry = (await dlq('status=parked&q=order+1&limit=1')).items[0];
    const { context, page, problems } = await openAs('admin', `/dlq/${encodeURIComponent(entry.id)}`);
    const editor = page.locator('[data-testid=edit-form] textarea');
    await editor.waitFor();
    await editor.fill('{"message": "fixed", "__dlq": 1}');
    await page.getByRole('button', { name: /validate and retry/i }).click();
    const refused = page.locator('[data-testid=edit-result] [role=alert]');
    await refused.waitFor();
    expect(await refused.innerText()).toMatch(/^400: .*__dlq/);
    // The entry's correlation has a timeline (TIMELINE_ENABLED): shown in the page.
    await expect.poll(() => page.getByTestId('timeline').innerText()).toContain('dlq.received');
    await shot(page, 'entry');
    await editor.fill('{"message": ');
    await page.getByRole('button', { name: /validate and retry/i }).click();
    await expect.poll(() => refused.innerText()).toMatch(/^not valid JSON/);
    const stored = (await (await fetch(dlqUrl(`/dlq/${encodeURIComponent(entry.id)}`), { headers: admin() })).json()) as any;
    expect(stored.status).toBe('parked');
    expect(stored.retries).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('markup in job data and error messages is shown as text, never run', async () => {
    const { context, page, problems } = await openAs('admin', '/dlq?status=parked&q=bad');
    await page.getByTestId('entries-table').getByText(XSS, { exact: false }).first().waitFor();
    await page.locator('.entry-link').first().click();
    await page.getByTestId('payload').waitFor();
    expect(await page.getByTestId('payload').innerText()).toContain(XSS.replace(/"/g, '\\"'));
    expect(await page.getByTestId('error-message').innerText()).toContain(XSS);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('an operator sees the pending entry of the stuck group and dead-letters it from the page', async () => {
    const [pendingId] = ((await streams!.xpending(STREAM, STUCK_GROUP, '-', '+', 10)) as [string, string, number, number][]).map(([id]) => id);
    expect(pendingId).toBeDefined();
    const { context, page, problems } = await openAs('operator', `/streams?group=${STUCK_GROUP}`);
    const row = page.getByTestId(`pending-${STUCK_GROUP}`).locator('tbody tr', { hasText: pendingId! });
    await row.waitFor();
    expect(await row.innerText()).toContain('ghost');
    await shot(page, 'streams');
    page.once('dialog', (dialog) => void dialog.accept());
    await row.locator('.dead-letter').click();
    await expect.poll(() => row.innerText()).toMatch(/dead-lettered \(DLQ job /);
    expect(await streams!.xpending(STREAM, STUCK_GROUP, '-', '+', 10)).toEqual([]);
    await waitFor(async () => (await dlq('kind=event&limit=50')).items.find((item: any) => item.origin.entryId === pendingId && item.origin.group === STUCK_GROUP), 'the dead-lettered event in the DLQ', { timeoutMs: 30_000, intervalMs: 250 });
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('an operator starts a slow redrive by filter and cancels it from the page', async () => {
    const { context, page, problems } = await openAs('operator', '/redrive?q=card+declined&name=slow');
    await page.locator('input[name=rate]').fill('1');
    await page.getByTestId('dry-run').click();
    await expect.poll(() => page.getByTestId('dry-run-count').innerText()).toContain('5 parked entries match');
    await page.getByTestId('start-redrive').click();
    await expect.poll(() => page.getByTestId('task-status').innerText(), { timeout: 30_000 }).toMatch(/pending|running/);
    await page.getByTestId('cancel-task').click();
    await expect.poll(() => page.getByTestId('task-status').innerText(), { timeout: 15_000 }).toBe('cancelled');
    expect(await page.getByTestId('cancel-task').count()).toBe(0);
    const taskId = new URL(page.url()).searchParams.get('task')!;
    const task = (await (await fetch(dlqUrl(`/dlq/tasks/${taskId}`), { headers: admin() })).json()) as any;
    expect(task).toMatchObject({ status: 'cancelled', name: 'slow', selected: 5, createdBy: 'operator-person' });
    expect(task.cursor).toBeLessThan(5);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
