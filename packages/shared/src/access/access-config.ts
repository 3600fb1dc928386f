import type { RedisClient } from '../redis/create-redis';
import type { CommonConfig } from '../config/common';
import { AuditLog } from '../audit/audit-log';
import type { AuditRoutesOptions } from '../audit/audit-http';
import { Authenticator, type AuthenticatorOptions } from './authenticator';
import type { CredentialSet } from './credentials';

const DAY_MS = 86_400_000;

/** The authenticator's options from the `AUTH_*` variables. */
export function authenticatorOptionsOf(config: CommonConfig): AuthenticatorOptions {
  return {
    cacheMaxEntries: config.AUTH_CACHE_MAX_ENTRIES,
    cacheTtlMs: config.AUTH_CACHE_TTL_MS,
    throttle: {
      burst: config.AUTH_FAILURE_BURST,
      refillPerSec: config.AUTH_FAILURE_REFILL_PER_SEC,
      maxDelayMs: config.AUTH_FAILURE_MAX_DELAY_MS,
      maxAddresses: 10_000,
    },
  };
}

/** Credentials, authenticator and audit log of a service, from its config and master client. */
export function accessOf(
  config: CommonConfig,
  legacyAdmin: CredentialSet['legacyAdmin'],
  master: RedisClient,
): { credentials: CredentialSet; authenticator: Authenticator; audit: AuditLog; auditRoutes: AuditRoutesOptions } {
  const credentials: CredentialSet = { apiKeys: config.API_KEYS, users: config.ADMIN_USERS, legacyApiKey: config.API_KEY, legacyAdmin };
  return {
    credentials,
    authenticator: new Authenticator(authenticatorOptionsOf(config), credentials),
    audit: new AuditLog({ retentionMs: config.AUDIT_RETENTION_DAYS * DAY_MS }, master),
    auditRoutes: { maxPageSize: config.AUDIT_PAGE_MAX_LIMIT, scanMax: config.AUDIT_SCAN_MAX, exportMax: config.AUDIT_EXPORT_MAX },
  };
}
