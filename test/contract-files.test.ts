/**
 * contract/*.json (and the Python client's copy) must be what the zod source generates today:
 * a schema change without `npm run contract` fails here, and in CI.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildContract, CONTRACT_DIRS, renderContractFile, ROOT } from '../scripts/contract/build-contract';

describe('contract files', () => {
  const files = [...buildContract()];

  it('cover the envelope, every family, the job bodies and the wire constants', () => {
    expect(files.map(([file]) => file)).toEqual(expect.arrayContaining(['envelope.schema.json', 'events/job.schema.json', 'job-submission.schema.json', 'wire.json']));
  });

  for (const dir of CONTRACT_DIRS) {
    it.each(files.map(([file, content]) => [file, content] as const))(`${dir.split('/').slice(-2).join('/')}/%s matches the zod source`, (file, content) => {
      expect(readFileSync(join(dir, file), 'utf8')).toBe(renderContractFile(content));
    });
  }
});
