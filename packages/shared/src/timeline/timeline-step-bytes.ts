import type { EncodedBytes } from '../redis/encoded-bytes';
import { TIMELINE_STEP_KINDS, type TimelineStepInput } from './timeline-step';

/** `["<kind>",` of each kind, as bytes (built once). */
const KIND_OPENINGS = new Map(TIMELINE_STEP_KINDS.map((kind) => [kind, Buffer.from(`["${kind}",`, 'latin1')]));
const COMMA = Buffer.from(',');
const ZERO_CAUSE = Buffer.from(',0,');
const OPEN_OBJECT = Buffer.from('{');
const CLOSE_OBJECT = Buffer.from('}');
const CLOSE = Buffer.from(']');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/** Keys a `DetailKeys` keeps at most (a caller with keys of its own cannot grow it further). */
const MAX_KEYS_CACHED = 256;

/** `"<key>":` of the detail keys a writer has seen, as bytes (the stack's steps use a few dozen names): one per recorder. */
export type DetailKeys = Map<string, Buffer>;

/**
 * Writes the stored form of a step into `out` as ONE argument, the same bytes as
 * `encodeStep(step, serviceJson, atMs, detail)` in UTF-8 (a seeded test checks it), without
 * building the string: the constant parts copied from bytes made once (`serviceBytes`: the
 * service's JSON string as bytes, the recorder's), the subject and cause written between
 * quotes and checked on their bytes (`EncodedBytes.pieceJsonString`), the time as digits, the
 * detail as `writeDetail` writes it.
 */
export function writeStep(out: EncodedBytes, step: TimelineStepInput, serviceBytes: Uint8Array, atMs: number, detail: Record<string, unknown> | undefined, keys: DetailKeys): void {
  out.beginArg();
  writeStepPieces(out, step, serviceBytes, atMs, detail, keys);
  out.endArg();
}

/** `writeStep`'s bytes as pieces of the argument begun (the recorder appends a step to an entry's with it). */
export function writeStepPieces(out: EncodedBytes, step: TimelineStepInput, serviceBytes: Uint8Array, atMs: number, detail: Record<string, unknown> | undefined, keys: DetailKeys): void {
  out.pieceBytes(KIND_OPENINGS.get(step.kind) ?? Buffer.from(`["${step.kind}",`));
  out.pieceJsonString(step.subject);
  if (step.cause === undefined) out.pieceBytes(ZERO_CAUSE);
  else {
    out.pieceBytes(COMMA);
    out.pieceJsonString(step.cause);
    out.pieceBytes(COMMA);
  }
  out.pieceNumber(atMs);
  out.pieceBytes(COMMA);
  out.pieceBytes(serviceBytes);
  if (detail !== undefined) {
    out.pieceBytes(COMMA);
    writeDetail(out, detail, keys);
  }
  out.pieceBytes(CLOSE);
}

/**
 * `JSON.stringify(detail)` written into the argument begun: a plain object whose values are
 * numbers, booleans, null, strings or undefined (the steps' details) is written here, its keys
 * from `keys` and its values as JSON writes them (in JSON.stringify's order: own keys,
 * integer-like first, which `for…in` follows on such an object; undefined left out); anything
 * else (a nested value, another prototype) rewinds and goes through JSON.stringify.
 */
function writeDetail(out: EncodedBytes, detail: Record<string, unknown>, keys: DetailKeys): void {
  const prototype = Object.getPrototypeOf(detail) as unknown;
  if (prototype === Object.prototype || prototype === null) {
    const start = out.piecesLength;
    if (writeFlatDetail(out, detail, keys)) return;
    out.rewindPieces(start);
  }
  // (`?? 'undefined'`: what encodeStep's template writes for a detail whose toJSON gives undefined.)
  out.piece(JSON.stringify(detail) ?? 'undefined');
}

/** False (part written) at the first value JSON.stringify would write otherwise than here. */
function writeFlatDetail(out: EncodedBytes, detail: Record<string, unknown>, keys: DetailKeys): boolean {
  out.pieceBytes(OPEN_OBJECT);
  let first = true;
  for (const key in detail) {
    if (!Object.hasOwn(detail, key)) return false;
    const value = detail[key];
    if (value === undefined) continue;
    if (!first) out.pieceBytes(COMMA);
    first = false;
    writeKey(out, key, keys);
    if (typeof value === 'number') {
      if (Number.isFinite(value)) out.pieceNumber(value);
      else out.pieceBytes(NULL);
    } else if (typeof value === 'string') out.pieceJsonString(value);
    else if (typeof value === 'boolean') out.pieceBytes(value ? TRUE : FALSE);
    else if (value === null) out.pieceBytes(NULL);
    else return false;
  }
  out.pieceBytes(CLOSE_OBJECT);
  return true;
}

function writeKey(out: EncodedBytes, key: string, keys: DetailKeys): void {
  let bytes = keys.get(key);
  if (bytes === undefined) {
    const encoded = Buffer.from(`${JSON.stringify(key)}:`, 'utf8');
    if (keys.size >= MAX_KEYS_CACHED) return out.pieceBytes(encoded);
    keys.set(key, (bytes = encoded));
  }
  out.pieceBytes(bytes);
}
