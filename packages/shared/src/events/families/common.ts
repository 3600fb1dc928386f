import { z } from 'zod';

/** Identifiers: non-empty strings up to 256 characters (UUIDs, Airtable ids, slugs). */
export const id = z.string().min(1).max(256);

/**
 * Data objects are loose: required fields are checked, unknown fields pass through, so a
 * producer can add a field without breaking older consumers.
 */
export const data = z.looseObject;
