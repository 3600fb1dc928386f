import { describe, it } from 'vitest';

/** What a test file does about a missing tool: run, skip (outside CI), or fail (CI). */
export type RequirementVerdict = 'run' | 'skip' | 'fail';

/** `run` when available; otherwise `fail` in CI (`CI=true`) and `skip` elsewhere. */
export function requirementVerdict(available: boolean, env: Readonly<Record<string, string | undefined>> = process.env): RequirementVerdict {
  if (available) return 'run';
  return env.CI === 'true' ? 'fail' : 'skip';
}

function missingMessage(what: string, hint: string): string {
  return `${what} is missing (${hint})`;
}

/**
 * `describe` for a suite that needs an external tool (Chromium, Docker/compose). Available:
 * runs. Missing in CI (`CI=true`): one test fails saying what is missing, so CI never passes
 * with the suite silently skipped. Missing elsewhere: skipped, with one line on stderr saying why.
 */
export function describeWithTool(what: string, available: boolean, hint: string, name: string, body: () => void): void {
  const verdict = requirementVerdict(available);
  if (verdict === 'run') return void describe(name, body);
  if (verdict === 'fail') {
    return void describe(name, () => {
      it(`needs ${what}`, () => {
        throw new Error(`${missingMessage(what, hint)}: CI=true runs this suite, it cannot be skipped`);
      });
    });
  }
  process.stderr.write(`skipped "${name}": ${missingMessage(what, hint)}\n`);
  describe.skip(name, body);
}

/** `it` for one test that needs an external tool; same rule as `describeWithTool`. */
export function itWithTool(what: string, available: boolean, hint: string, name: string, body: () => Promise<void>, timeoutMs?: number): void {
  const verdict = requirementVerdict(available);
  if (verdict === 'run') return void it(name, body, timeoutMs);
  if (verdict === 'fail') {
    return void it(name, () => {
      throw new Error(`${missingMessage(what, hint)}: CI=true runs this test, it cannot be skipped`);
    });
  }
  process.stderr.write(`skipped "${name}": ${missingMessage(what, hint)}\n`);
  it.skip(name, body);
}
