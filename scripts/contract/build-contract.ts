/**
 * The wire contract as files: JSON Schemas generated from the zod source (the event envelope,
 * each event family's data, the job submission bodies) and the wire constants that no schema
 * expresses (field names, JSON depth limit). `npm run contract` writes them to contract/ and to
 * the Python client's bundled copy; `npm run contract -- --check` (and a test) fails when a
 * committed file differs from what the zod source gives today.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  EVENT_FAMILIES,
  EVENT_SCHEMAS,
  EVENT_TYPE_PATTERN,
  MAX_JSON_DEPTH,
  SPEC_VERSION,
  WIRE_FIELDS,
  envelopeSchema,
  familyOf,
} from '@event-infra/shared';
import { bulkSubmissionSchema, jobSubmissionSchema, MAX_BULK_JOBS } from '../../queue-system/src/http/schemas';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the files go: the contract folder, and the copy the Python package ships with. */
export const CONTRACT_DIRS = [join(ROOT, 'contract'), join(ROOT, 'clients', 'python', 'evinfra', 'contract')] as const;

const SCHEMA_BASE = 'https://event-infra.local/contract/';

interface PipeDef {
  type: string;
  in: z.ZodType;
  out: z.ZodType;
}

const defOf = (schema: unknown): PipeDef => (schema as { _zod: { def: PipeDef } })._zod.def;

/**
 * `unknown().superRefine(…).pipe(schema)` checks the raw input, then parses it with `schema`
 * (the job data's reserved `__` keys): as an input schema zod describes only the `unknown`
 * side, which says nothing. Such a pipe is described by its output side instead, what the
 * server actually requires; the refinement itself stays the server's.
 */
function describePipesByOutput(io: 'input' | 'output') {
  return (context: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void => {
    const def = defOf(context.zodSchema);
    if (io !== 'input' || def.type !== 'pipe' || defOf(def.in).type !== 'unknown') return;
    const { $schema: _ignored, ...out } = schemaOf(def.out, io);
    Object.assign(context.jsonSchema, out);
  };
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // `unrepresentable: 'throw'`: a zod construct JSON Schema cannot say must fail the build,
  // not vanish from the contract. Refinements (the job id's) are not representable either,
  // and zod drops them silently: the server still checks them and answers 400.
  return z.toJSONSchema(schema, { io, unrepresentable: 'throw', target: 'draft-2020-12', override: describePipesByOutput(io) as never }) as Record<string, unknown>;
}

function titled(file: string, title: string, body: Record<string, unknown>): Record<string, unknown> {
  const { $schema, ...rest } = body;
  return { $schema, $id: `${SCHEMA_BASE}${file}`, title, ...rest };
}

/** Relative path → JSON content (stable key order: insertion order of this function). */
export function buildContract(): Map<string, unknown> {
  const files = new Map<string, unknown>();
  files.set('envelope.schema.json', titled('envelope.schema.json', 'Event envelope: what is accepted (unknown attributes are dropped; on the wire dlqretries is digits)', schemaOf(envelopeSchema, 'input')));
  for (const family of EVENT_FAMILIES) {
    const defs: Record<string, unknown> = {};
    for (const [type, schema] of Object.entries(EVENT_SCHEMAS)) {
      if (familyOf(type) !== family) continue;
      const { $schema: _ignored, ...body } = schemaOf(schema, 'output');
      defs[type] = body;
    }
    const file = `events/${family}.schema.json`;
    files.set(file, {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `${SCHEMA_BASE}${file}`,
      title: `data of the ${family}.* events, one definition per event type`,
      $defs: defs,
    });
  }
  files.set('job-submission.schema.json', titled('job-submission.schema.json', 'POST /jobs/:queue body', schemaOf(jobSubmissionSchema, 'input')));
  files.set('job-bulk-submission.schema.json', titled('job-bulk-submission.schema.json', 'POST /jobs/:queue/bulk body', schemaOf(bulkSubmissionSchema, 'input')));
  files.set('wire.json', {
    description: 'Stream entry wire format: one field per envelope attribute, data as a JSON string. See README "Wire format".',
    specversion: SPEC_VERSION,
    eventTypePattern: EVENT_TYPE_PATTERN.source,
    families: [...EVENT_FAMILIES],
    requiredFields: [...WIRE_FIELDS.required],
    optionalFields: [...WIRE_FIELDS.optional],
    datacontenttype: 'application/json',
    maxJsonDepth: MAX_JSON_DEPTH,
    maxBulkJobs: MAX_BULK_JOBS,
  });
  return files;
}

/** The text written for one file: two-space JSON and a final newline. */
export function renderContractFile(content: unknown): string {
  return `${JSON.stringify(content, null, 2)}\n`;
}
