/**
 * How a background task (a DLQ redrive, an event-log replay) is laid out in its Redis hash:
 * every field a string; the JSON, number and nullable fields named here are turned back into
 * their types on read (a nullable field is stored as `""` for null).
 */
export interface TaskHashLayout<T> {
  /** The field holding the state (`status`, `state`): written by the transition script, never by `encode`. */
  stateField: keyof T & string;
  /** The hash field holding the last write's time, ms (written by the script), read back as the ISO `updatedAt`. */
  updatedAtField: string;
  /** Fields stored as JSON. */
  jsonFields: readonly (keyof T & string)[];
  /** Fields stored as decimal numbers (a missing one reads as 0). */
  numberFields: readonly (keyof T & string)[];
  /** String fields that may be null (stored as `""`). */
  nullableFields: readonly (keyof T & string)[];
}

export interface TaskHashCodec<T> {
  /** `fields` as `field, value, …` for HSET, without the state, version and time the script writes itself. */
  encode(fields: Partial<T>): string[];
  /** A task read back from its hash (HGETALL). */
  decode(hash: Record<string, string>): T;
}

/** The encoder and decoder of one task hash layout. */
export function taskHashCodec<T>(layout: TaskHashLayout<T>): TaskHashCodec<T> {
  const json: readonly string[] = layout.jsonFields;
  const scriptOwned = new Set([layout.stateField, 'version', 'updatedAt', layout.updatedAtField]);
  return {
    encode(fields) {
      const out: string[] = [];
      for (const [name, value] of Object.entries(fields)) {
        if (scriptOwned.has(name)) continue;
        if (json.includes(name)) out.push(name, JSON.stringify(value));
        else out.push(name, value === null ? '' : String(value));
      }
      return out;
    },
    decode(hash) {
      const task: Record<string, unknown> = { ...hash };
      for (const name of layout.jsonFields) task[name] = JSON.parse(hash[name] ?? 'null');
      for (const name of layout.numberFields) task[name] = Number(hash[name] ?? 0);
      for (const name of layout.nullableFields) task[name] = hash[name] ? hash[name] : null;
      const updatedAtMs = Number(hash[layout.updatedAtField]);
      if (layout.updatedAtField !== 'updatedAt') delete task[layout.updatedAtField];
      task.updatedAt = new Date(updatedAtMs).toISOString();
      return task as T;
    },
  };
}

/** A flat `field, value, …` reply (HGETALL inside a script) as an object. */
export function hashFromPairs(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) hash[flat[index]!] = flat[index + 1]!;
  return hash;
}
