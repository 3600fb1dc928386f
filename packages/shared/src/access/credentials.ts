import { z } from 'zod';
import { isRole, type Role } from './roles';
import { parseSecretHash, type SecretHash } from './secret-hash';

/** One configured credential: an API key (`API_KEYS`) or a user (`ADMIN_USERS`). */
export interface Credential {
  name: string;
  role: Role;
  hash: SecretHash;
}

/** Entries per variable at most: a bearer key is checked against each (on a cache miss). */
export const MAX_CREDENTIALS = 32;

/**
 * `name:role:hash[,name:role:hash…]` (hash from `npm run hash-secret`). Names are 1-64 of
 * letters, digits and `. _ @ -`, unique per variable; role one of viewer, publisher,
 * operator, admin. Errors name the entry by position, never its text.
 */
export const credentialList = z
  .string()
  .optional()
  .transform((value, context): Credential[] => {
    const entries = (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
    if (entries.length > MAX_CREDENTIALS) {
      context.addIssue({ code: 'custom', message: `at most ${MAX_CREDENTIALS} entries` });
      return z.NEVER;
    }
    const seen = new Set<string>();
    const out: Credential[] = [];
    entries.forEach((entry, index) => {
      const [name = '', role = '', hash = '', ...rest] = entry.split(':');
      const problem =
        rest.length > 0 || hash === ''
          ? 'is not name:role:hash'
          : !/^[\w.@-]{1,64}$/.test(name)
            ? 'has a name that is not 1-64 of letters, digits and . _ @ -'
            : !isRole(role)
              ? 'has a role that is not viewer, publisher, operator or admin'
              : seen.has(name)
                ? 'repeats a name'
                : undefined;
      if (problem !== undefined) {
        context.addIssue({ code: 'custom', message: `entry ${index + 1} ${problem}` });
        return;
      }
      try {
        out.push({ name, role: role as Role, hash: parseSecretHash(hash) });
        seen.add(name);
      } catch (caught) {
        context.addIssue({ code: 'custom', message: `entry ${index + 1}: ${(caught as Error).message}` });
      }
    });
    return out;
  });

/** The credentials a service checks, compiled from its config once. */
export interface CredentialSet {
  /** `API_KEYS`. */
  apiKeys: readonly Credential[];
  /** `ADMIN_USERS`. */
  users: readonly Credential[];
  /** The old single `API_KEY`: one admin service principal named `api-key`. */
  legacyApiKey?: string | undefined;
  /** The old `ADMIN_USER` + `ADMIN_PASSWORD`: one admin human principal. */
  legacyAdmin?: { user: string; password: string } | undefined;
}

/** Bearer keys are configured: the API surface needs credentials. */
export const hasApiKeys = (set: CredentialSet): boolean => set.apiKeys.length > 0 || set.legacyApiKey !== undefined;
/** Users are configured: Bull Board needs credentials. */
export const hasUsers = (set: CredentialSet): boolean => set.users.length > 0 || set.legacyAdmin !== undefined;
