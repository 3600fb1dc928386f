/**
 * `npm run hash-secret`: prints the scrypt hash of a secret for `API_KEYS` / `ADMIN_USERS`.
 * The secret is read from stdin (never from the command line, where the shell history and
 * `ps` would see it): `printf %s 'the-password' | npm run -s hash-secret`.
 * `npm run -s hash-secret -- --generate` makes a new random API key and prints the key, then its hash.
 */
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../packages/shared/src/access/secret-hash';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  if (process.argv.includes('--generate')) {
    const key = randomBytes(32).toString('base64url');
    process.stdout.write(`key:  ${key}\nhash: ${await hashSecret(key)}\n`);
    return;
  }
  if (process.stdin.isTTY) process.stderr.write('type the secret, then Enter and Ctrl-D (it is echoed; prefer a pipe):\n');
  const secret = await readStdin();
  if (secret.length < 8) {
    process.stderr.write('the secret must be at least 8 characters\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${await hashSecret(secret)}\n`);
}

await main();
