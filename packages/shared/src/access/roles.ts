/**
 * Principals, roles and the permissions each role holds (README "Roles"). A route needs one
 * permission; a role either holds it or the answer is 403. `public` routes need nothing.
 */
export const ROLES = ['viewer', 'publisher', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['public', 'read', 'readOwn', 'submit', 'operate', 'administer'] as const;
/**
 * - `read`: jobs, stats, DLQ entries, streams, the audit log, Bull Board's read routes
 * - `readOwn`: a job this principal submitted (the route checks the owner)
 * - `submit`: add jobs and publish events
 * - `operate`: retry, redrive, cancel, promote, pause/resume a queue
 * - `administer`: delete, discard, clean, empty, obliterate, edit payloads, queue settings
 */
export type Permission = (typeof PERMISSIONS)[number];

/** What each role may do. `admin` keeps `submit` so the old single `API_KEY` still submits jobs. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  viewer: new Set(['public', 'read', 'readOwn']),
  publisher: new Set(['public', 'submit', 'readOwn']),
  operator: new Set(['public', 'read', 'readOwn', 'operate']),
  admin: new Set(['public', 'read', 'readOwn', 'submit', 'operate', 'administer']),
};

/** `service`: an API key; `human`: a person logged in with a user name and password. */
export type PrincipalKind = 'service' | 'human' | 'anonymous';

export interface Principal {
  name: string;
  role: Role;
  kind: PrincipalKind;
}

/** The principal of a surface that has no credentials configured (open, as before roles). */
export const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', role: 'admin', kind: 'anonymous' });

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** Narrows a string read from the environment to a role. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
