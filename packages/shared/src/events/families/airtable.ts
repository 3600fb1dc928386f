import { z } from 'zod';
import { data, id } from './common';

const record = { baseId: id, tableId: id, recordId: id };

export const airtableEvents = {
  'airtable.record.created': data({ ...record, fields: z.record(z.string(), z.unknown()) }),
  'airtable.record.updated': data({ ...record, fields: z.record(z.string(), z.unknown()) }),
  'airtable.record.deleted': data(record),
  'airtable.sync.started': data({ baseId: id, syncId: id, tableId: id.optional() }),
  'airtable.sync.completed': data({ baseId: id, syncId: id, recordCount: z.number().int().nonnegative() }),
  'airtable.sync.failed': data({ baseId: id, syncId: id, error: z.string().max(4096) }),
  'airtable.webhook.received': data({ baseId: id, webhookId: id, payload: z.unknown().optional() }),
} as const;
