import type { z } from 'zod';
import { ValidationError } from '@event-infra/shared';
import { issuesOf } from './schemas';

/** Parses a request body with `schema`; throws `ValidationError` (400) with the zod issues. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new ValidationError(`invalid ${what}`, issuesOf(result.error));
  return result.data;
}
