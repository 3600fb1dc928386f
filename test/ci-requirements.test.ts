/**
 * A suite that needs an external tool never skips silently in CI: with `CI=true` and the tool
 * missing the run fails naming it; outside CI it is skipped with one line saying why. Checked
 * on the real Bull Board browser suite, run as a child vitest with Chromium pointed nowhere.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requirementVerdict } from '@event-infra/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runBrowserSuite(ci: boolean): Promise<{ code: number; output: string }> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), EVINFRA_CHROMIUM: '/nonexistent/chromium', EVINFRA_TEST_REDIS: 'process', NO_COLOR: '1' };
  delete env.CI;
  if (ci) env.CI = 'true';
  return new Promise((resolve) => {
    execFile('npx', ['vitest', 'run', '--project', 'queue-system', 'test/bull-board.browser.test.ts'], { cwd: ROOT, env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('tests that need Chromium or Docker', () => {
  it('requirementVerdict: run when available, fail in CI, skip elsewhere', () => {
    expect(requirementVerdict(true, { CI: 'true' })).toBe('run');
    expect(requirementVerdict(false, { CI: 'true' })).toBe('fail');
    expect(requirementVerdict(false, {})).toBe('skip');
    expect(requirementVerdict(false, { CI: 'false' })).toBe('skip');
  });

  it('CI=true without Chromium: the browser suite fails, saying Chromium is missing', async () => {
    const result = await runBrowserSuite(true);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('Chromium is missing (/nonexistent/chromium');
  }, 100_000);

  it('outside CI without Chromium: skipped, with one line saying why', async () => {
    const result = await runBrowserSuite(false);
    expect(result.code, result.output).toBe(0);
    expect(result.output.match(/skipped "Bull Board in a real browser": Chromium is missing/g)).toHaveLength(1);
  }, 100_000);
});
