/**
 * "No secret in any log line": every file under a log directory is read line by line and
 * searched for each secret value (and its forms that could travel in a header: base64 of
 * basic auth, percent-encoding).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretHit {
  file: string;
  line: number;
  secret: string;
}

export interface SecretScan {
  files: number;
  lines: number;
  hits: SecretHit[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * Scans every file under `dir` for each of `secrets` (label → value). Hits name the file,
 * line number and the secret's label, never the value.
 */
export function scanLogsForSecrets(dir: string, secrets: Record<string, string>): SecretScan {
  const needles: [string, string][] = [];
  for (const [label, value] of Object.entries(secrets)) {
    if (value.length < 6) throw new Error(`secret ${label} is too short to search for`);
    needles.push([label, value]);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) needles.push([`${label} (percent-encoded)`, encoded]);
  }
  const scan: SecretScan = { files: 0, lines: 0, hits: [] };
  for (const file of filesUnder(dir)) {
    scan.files += 1;
    const lines = readFileSync(file, 'utf8').split('\n');
    scan.lines += lines.length;
    lines.forEach((text, index) => {
      for (const [label, value] of needles) if (text.includes(value)) scan.hits.push({ file, line: index + 1, secret: label });
    });
  }
  return scan;
}
