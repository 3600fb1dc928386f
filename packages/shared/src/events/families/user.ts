import { z } from 'zod';
import { data, id } from './common';

export const userEvents = {
  'user.created': data({ userId: id, email: z.email(), name: z.string().max(256).optional() }),
  'user.updated': data({ userId: id, changes: z.record(z.string(), z.unknown()) }),
  'user.deleted': data({ userId: id, reason: z.string().max(1024).optional() }),
  'user.verified': data({ userId: id, email: z.email() }),
} as const;
