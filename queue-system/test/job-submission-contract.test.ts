/**
 * The golden job bodies (contract/fixtures/job-submissions.json) against the server's schema;
 * the Python client checks the same file before it sends a job.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jobSubmissionSchema } from '../src/http/schemas';

interface Case {
  name: string;
  body: unknown;
  expect: { valid: boolean; paths?: string[] };
  serverOnly?: boolean;
}

const path = fileURLToPath(new URL('../../contract/fixtures/job-submissions.json', import.meta.url));
const cases = (JSON.parse(readFileSync(path, 'utf8')) as { cases: Case[] }).cases;

describe('job submission fixtures', () => {
  it('has valid and invalid cases', () => {
    expect(cases.filter((entry) => entry.expect.valid).length).toBeGreaterThanOrEqual(3);
    expect(cases.filter((entry) => !entry.expect.valid).length).toBeGreaterThanOrEqual(10);
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
    const result = jobSubmissionSchema.safeParse(entry.body);
    const answer = result.success
      ? { valid: true }
      : { valid: false, paths: [...new Set(result.error.issues.map((issue) => issue.path.map(String).join('.')))].sort() };
    expect(answer).toEqual(entry.expect);
  });
});
