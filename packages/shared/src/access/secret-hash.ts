import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Secrets (API keys, passwords) are stored as scrypt hashes (node:crypto):
 * `scrypt$<N>$<r>$<p>$<salt base64url>$<key base64url>`. `$` separates the parts because
 * `API_KEYS` uses `:` between name, role and hash. `npm run hash-secret` makes one.
 */
export interface SecretHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Defaults: N=2^15, r=8, p=1 (about 50-100 ms of one core), 16-byte salt, 32-byte key. */
export const SCRYPT_DEFAULTS = { N: 32_768, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;
/** Bounds a configured hash may ask for, so a typo in the environment cannot stall every login. */
const LIMITS = { maxN: 1 << 20, maxR: 32, maxP: 16, minKeyBytes: 16, maxKeyBytes: 128 } as const;

function scrypt(secret: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const memoryFor = (hash: Pick<SecretHash, 'N' | 'r' | 'p'>): number => 128 * hash.N * hash.r * (hash.p + 2) + 1024 * 1024;

/** Parses the text form; throws with a message that never repeats the value. */
export function parseSecretHash(text: string): SecretHash {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new Error('not a scrypt hash (scrypt$N$r$p$salt$key; see npm run hash-secret)');
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const isPowerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > LIMITS.maxN) throw new Error(`scrypt N must be a power of two, at most ${LIMITS.maxN}`);
  if (!Number.isInteger(r) || r < 1 || r > LIMITS.maxR) throw new Error(`scrypt r must be 1..${LIMITS.maxR}`);
  if (!Number.isInteger(p) || p < 1 || p > LIMITS.maxP) throw new Error(`scrypt p must be 1..${LIMITS.maxP}`);
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8) throw new Error('scrypt salt must be at least 8 bytes');
  if (key.length < LIMITS.minKeyBytes || key.length > LIMITS.maxKeyBytes) throw new Error(`scrypt key must be ${LIMITS.minKeyBytes}..${LIMITS.maxKeyBytes} bytes`);
  return { N, r, p, salt, key };
}

/** A new hash of `secret` with fresh salt. */
export async function hashSecret(secret: string, options: Partial<Pick<SecretHash, 'N' | 'r' | 'p'>> = {}): Promise<string> {
  const params = { N: options.N ?? SCRYPT_DEFAULTS.N, r: options.r ?? SCRYPT_DEFAULTS.r, p: options.p ?? SCRYPT_DEFAULTS.p };
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const key = await scrypt(secret, salt, SCRYPT_DEFAULTS.keyBytes, { ...params, maxmem: memoryFor(params) });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `secret` hashes to `hash`; the keys are compared in constant time. */
export async function verifySecret(secret: string, hash: SecretHash): Promise<boolean> {
  const key = await scrypt(secret, hash.salt, hash.key.length, { N: hash.N, r: hash.r, p: hash.p, maxmem: memoryFor(hash) });
  return timingSafeEqual(key, hash.key);
}
