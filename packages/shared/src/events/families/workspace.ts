import { z } from 'zod';
import { data, id } from './common';

const role = z.enum(['owner', 'admin', 'editor', 'viewer']);

export const workspaceEvents = {
  'workspace.created': data({ workspaceId: id, name: z.string().min(1).max(256), ownerId: id }),
  'workspace.updated': data({ workspaceId: id, changes: z.record(z.string(), z.unknown()) }),
  'workspace.deleted': data({ workspaceId: id }),
  'workspace.member.added': data({ workspaceId: id, userId: id, role }),
  'workspace.member.removed': data({ workspaceId: id, userId: id }),
} as const;
