import { createHash, timingSafeEqual } from 'node:crypto';
import { type Credential, type CredentialSet } from './credentials';
import { FailureThrottle, type FailureThrottleOptions } from './failure-throttle';
import { LruCache } from './lru-cache';
import type { Principal } from './roles';
import { parseSecretHash, verifySecret } from './secret-hash';

export interface AuthenticatorOptions {
  /** Verified credentials remembered (keyed by a SHA-256 of the presented header), default 1000. */
  cacheMaxEntries: number;
  /** How long a verified credential is remembered, ms (default 300000). */
  cacheTtlMs: number;
  throttle: FailureThrottleOptions;
}

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'invalid' };

function safeEqual(a: string, b: string): boolean {
  // Both sides hashed first: equal lengths, so the comparison time says nothing about either.
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

/** Unknown user names cost one scrypt too, so their answer takes as long as a wrong password. */
const DECOY = parseSecretHash('scrypt$32768$8$1$ZGVjb3ktc2FsdC0xMjM0$9sC0tT2cZfVQnq9J0QKjH6Ew1m0k2xQd3m5cC5d1yX8');

const principalOf = (credential: Credential, kind: Principal['kind']): Principal => ({ name: credential.name, role: credential.role, kind });

/**
 * Turns an `Authorization` header into a principal: `Bearer <key>` against `API_KEYS` (and
 * the old `API_KEY`), `Basic` against `ADMIN_USERS` (and the old `ADMIN_USER`). Verified
 * headers are cached, so only the first request of a key pays scrypt; failures drain the
 * caller's address bucket (`FailureThrottle`).
 */
export class Authenticator {
  private readonly cache: LruCache<Principal>;
  private readonly throttle: FailureThrottle;

  constructor(
    options: AuthenticatorOptions,
    private readonly credentials: CredentialSet,
    now: () => number = Date.now,
  ) {
    this.cache = new LruCache(options.cacheMaxEntries, options.cacheTtlMs, now);
    this.throttle = new FailureThrottle(options.throttle, now);
  }

  async authenticate(header: string | undefined, address: string): Promise<AuthResult> {
    if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
    const cacheKey = createHash('sha256').update(header).digest('base64url');
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return { ok: true, principal: cached };
    // Slowed, never refused: a right password is accepted after the wait (see FailureThrottle).
    const delayMs = Math.min(this.throttle.delayFor(address), this.throttle.options.maxDelayMs);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const principal = await this.verify(header);
    if (principal === undefined) {
      this.throttle.recordFailure(address);
      return { ok: false, reason: 'invalid' };
    }
    this.cache.set(cacheKey, principal);
    return { ok: true, principal };
  }

  private async verify(header: string): Promise<Principal | undefined> {
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (bearer !== undefined) return this.verifyKey(bearer);
    const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
    if (basic === undefined) return undefined;
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 0) return undefined;
    return this.verifyUser(decoded.slice(0, separator), decoded.slice(separator + 1));
  }

  private async verifyKey(key: string): Promise<Principal | undefined> {
    const legacy = this.credentials.legacyApiKey;
    if (legacy !== undefined && safeEqual(key, legacy)) return { name: 'api-key', role: 'admin', kind: 'service' };
    // Every configured key is tried (at most MAX_CREDENTIALS), in parallel on the libuv pool.
    const matches = await Promise.all(this.credentials.apiKeys.map((credential) => verifySecret(key, credential.hash)));
    const index = matches.indexOf(true);
    return index < 0 ? undefined : principalOf(this.credentials.apiKeys[index]!, 'service');
  }

  private async verifyUser(user: string, password: string): Promise<Principal | undefined> {
    const legacy = this.credentials.legacyAdmin;
    if (legacy !== undefined && safeEqual(user, legacy.user)) {
      return safeEqual(password, legacy.password) ? { name: legacy.user, role: 'admin', kind: 'human' } : undefined;
    }
    const credential = this.credentials.users.find((candidate) => candidate.name === user);
    const ok = await verifySecret(password, credential?.hash ?? DECOY);
    return ok && credential !== undefined ? principalOf(credential, 'human') : undefined;
  }
}
