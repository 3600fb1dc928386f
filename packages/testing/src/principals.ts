import { hashSecret, type Role } from '@event-infra/shared';

/** A test principal: its secret and the `Authorization` header that presents it. */
export interface TestPrincipal {
  name: string;
  role: Role;
  secret: string;
  authorization: string;
}

/** Cheap scrypt parameters for tests (the format and the checks are the production ones). */
const TEST_SCRYPT = { N: 1024, r: 8, p: 1 } as const;

/**
 * One API key and one user per role, and the `API_KEYS` / `ADMIN_USERS` values that
 * configure them: `keys.viewer` is the viewer's bearer key, `users.admin` the admin user.
 */
export async function testPrincipals(): Promise<{
  keys: Record<Role, TestPrincipal>;
  users: Record<Role, TestPrincipal>;
  env: { API_KEYS: string; ADMIN_USERS: string };
}> {
  const roles: Role[] = ['viewer', 'publisher', 'operator', 'admin'];
  const keys = {} as Record<Role, TestPrincipal>;
  const users = {} as Record<Role, TestPrincipal>;
  const apiKeys: string[] = [];
  const adminUsers: string[] = [];
  for (const role of roles) {
    const key = { name: `${role}-svc`, role, secret: `key-of-${role}-0123456789` };
    keys[role] = { ...key, authorization: `Bearer ${key.secret}` };
    apiKeys.push(`${key.name}:${role}:${await hashSecret(key.secret, TEST_SCRYPT)}`);
    const user = { name: `${role}-person`, role, secret: `password-of-${role}` };
    users[role] = { ...user, authorization: `Basic ${Buffer.from(`${user.name}:${user.secret}`).toString('base64')}` };
    adminUsers.push(`${user.name}:${role}:${await hashSecret(user.secret, TEST_SCRYPT)}`);
  }
  return { keys, users, env: { API_KEYS: apiKeys.join(','), ADMIN_USERS: adminUsers.join(',') } };
}
