import type { z } from 'zod';

/**
 * Sound fast checks for the family data schemas, compiled once from the zod definitions:
 * a check that returns true means zod accepts the value unchanged (no schema here has a
 * transform or a default), so the data is kept as given and zod's per-field allocations,
 * the main cost of a publisher under load, are skipped. Only the building blocks the families
 * use are understood (loose object, optional, string with length and format checks, number
 * with bounds and int, boolean, enum, string record of unknowns, unknown); a schema with
 * anything else gets no fast check. A false answer proves nothing: zod then decides and
 * explains. A property test compares the two over every type.
 */
export type DataCheck = (value: unknown) => boolean;

interface Def {
  type: string;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  format?: string;
  pattern?: RegExp;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  entries?: Record<string, unknown>;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** A plain `{}` object: what zod's record accepts, minus the corner cases it decides itself. */
export function isPlainData(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  // An own `constructor` key changes how zod judges the object: let zod judge it.
  return (proto === Object.prototype || proto === null) && !Object.prototype.hasOwnProperty.call(value, 'constructor');
}

const isPattern = (value: unknown): value is RegExp => value instanceof RegExp && !value.global && !value.sticky;

function compileString(def: Def): DataCheck | undefined {
  const tests: DataCheck[] = [];
  if (def.format !== undefined) {
    if (!isPattern(def.pattern)) return undefined;
    const pattern = def.pattern;
    tests.push((value) => pattern.test(value as string));
  }
  for (const check of def.checks ?? []) {
    const { check: kind, minimum, maximum, pattern } = check._zod.def;
    if (kind === 'min_length' && typeof minimum === 'number') tests.push((value) => (value as string).length >= minimum);
    else if (kind === 'max_length' && typeof maximum === 'number') tests.push((value) => (value as string).length <= maximum);
    else if (kind === 'string_format' && isPattern(pattern)) tests.push((value) => pattern.test(value as string));
    else return undefined;
  }
  return (value) => typeof value === 'string' && tests.every((test) => test(value));
}

function compileNumber(def: Def): DataCheck | undefined {
  const tests: DataCheck[] = [];
  for (const check of def.checks ?? []) {
    const { check: kind, value: bound, inclusive, format } = check._zod.def;
    if (kind === 'greater_than' && typeof bound === 'number') {
      tests.push(inclusive === true ? (value) => (value as number) >= bound : (value) => (value as number) > bound);
    } else if (kind === 'less_than' && typeof bound === 'number') {
      tests.push(inclusive === true ? (value) => (value as number) <= bound : (value) => (value as number) < bound);
    } else if (kind === 'number_format' && format === 'safeint') {
      tests.push((value) => Number.isSafeInteger(value));
    } else return undefined;
  }
  return (value) => typeof value === 'number' && Number.isFinite(value) && tests.every((test) => test(value));
}

/** The fast check of `schema`, or `undefined` when it uses something not understood here. */
export function compileDataCheck(schema: z.ZodType): DataCheck | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'unknown':
      return () => true;
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'string':
      return compileString(def);
    case 'number':
      return compileNumber(def);
    case 'enum': {
      const values = new Set(Object.values(def.entries ?? {}));
      return values.size === 0 ? undefined : (value) => values.has(value);
    }
    case 'optional': {
      const inner = def.innerType && compileDataCheck(def.innerType);
      return inner && ((value) => value === undefined || inner(value));
    }
    case 'record': {
      const key = def.keyType && defOf(def.keyType);
      const plainKeys = key?.type === 'string' && (key.checks ?? []).length === 0 && key.format === undefined;
      return plainKeys && def.valueType && defOf(def.valueType).type === 'unknown' ? isPlainData : undefined;
    }
    case 'object': {
      // Loose objects only (catchall unknown): keeping the input as is matches zod's output.
      if (def.catchall === undefined || defOf(def.catchall).type !== 'unknown' || (def.checks ?? []).length > 0) return undefined;
      const fields: [string, DataCheck][] = [];
      for (const [name, field] of Object.entries(def.shape ?? {})) {
        const check = compileDataCheck(field);
        if (check === undefined) return undefined;
        fields.push([name, check]);
      }
      return (value) => isPlainData(value) && fields.every(([name, check]) => check(value[name]));
    }
    default:
      return undefined;
  }
}
