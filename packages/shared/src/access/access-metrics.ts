import type { Registry } from 'prom-client';
import { Counter } from '../metrics/prom-client';

/** `/metrics`: failed logins and 401/403/429 answers of the access check, per surface. */
export interface AccessMetrics {
  loginFailures: Counter<'surface'>;
  denied: Counter<'surface' | 'status'>;
}

export function createAccessMetrics(registry: Registry): AccessMetrics {
  return {
    loginFailures: new Counter({
      name: 'auth_login_failures_total',
      help: 'Credentials presented and rejected (wrong key or password), per surface (api, board)',
      labelNames: ['surface'],
      registers: [registry],
    }),
    denied: new Counter({
      name: 'auth_denied_total',
      help: 'Requests refused by the access check, per surface and status (401 no or bad credentials, 403 role lacks the permission)',
      labelNames: ['surface', 'status'],
      registers: [registry],
    }),
  };
}
