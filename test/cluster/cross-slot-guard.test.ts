/** The guard of `npm run test:cluster` catches the errors a cross-slot command leaves in a log. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crossSlotFindings } from './cross-slot-guard';

describe('cross-slot guard', () => {
  const dirs: string[] = [];
  const logDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'evinfra-guard-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('names every line with a cross-slot or redirection error, in nested log dirs', () => {
    const root = logDir();
    mkdirSync(join(root, 'stack-a'));
    // Lines as the services wrote them before the key layout was cluster-safe.
    writeFileSync(
      join(root, 'stack-a', 'dlq-processor.log'),
      [
        '{"level":30,"msg":"listening"}',
        '{"level":50,"err":{"message":"CROSSSLOT Keys in request don\'t hash to the same slot"},"msg":"handling a DLQ entry failed; will try again"}',
      ].join('\n'),
    );
    writeFileSync(join(root, 'event-processor.log'), '{"level":50,"err":{"message":"All the keys in a pipeline command should belong to the same slot"},"msg":"read failed"}\n');
    writeFileSync(join(root, 'check.log'), 'FAIL  a batch of 100 events (XADD) is handled  (MOVED 7071 127.0.0.1:7302)\n');
    writeFileSync(join(root, 'notes.txt'), 'CROSSSLOT in a file that is not a log\n');
    // A failover: the client gave up after redirections while the slot had no master (not a finding).
    writeFileSync(join(root, 'queue-processor.log'), '{"level":50,"err":{"message":"Too many Cluster redirections. Last error: ReplyError: MOVED 7071 127.0.0.1:7302"}}\n');
    const findings = crossSlotFindings(root);
    expect(findings).toHaveLength(3);
    expect(findings[0]).toMatch(/check\.log:1: .*MOVED 7071/);
    expect(findings.some((line) => /stack-a\/dlq-processor\.log:2: .*CROSSSLOT/.test(line))).toBe(true);
  });

  it('finds nothing in clean logs', () => {
    const root = logDir();
    writeFileSync(join(root, 'queue-processor.log'), '{"level":30,"msg":"job completed","queue":"bull:{async-processing}"}\n');
    expect(crossSlotFindings(root)).toEqual([]);
  });
});
