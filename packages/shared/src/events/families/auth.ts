import { z } from 'zod';
import { data, id } from './common';

const method = z.enum(['password', 'oauth', 'sso', 'api_key', 'magic_link']);

export const authEvents = {
  'auth.login': data({ userId: id, method, ip: z.string().max(64).optional() }),
  'auth.login.failed': data({ userId: id.optional(), email: z.string().max(320).optional(), reason: z.string().max(1024) }),
  'auth.logout': data({ userId: id, sessionId: id }),
  'auth.session.created': data({ userId: id, sessionId: id, expiresAt: z.iso.datetime({ offset: true }) }),
  'auth.session.refreshed': data({ userId: id, sessionId: id, expiresAt: z.iso.datetime({ offset: true }) }),
  'auth.session.expired': data({ userId: id, sessionId: id }),
  'auth.session.revoked': data({ userId: id, sessionId: id, reason: z.string().max(1024).optional() }),
} as const;
