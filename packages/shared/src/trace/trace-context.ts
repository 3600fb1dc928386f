import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), as the stack carries it: in the
 * envelope (the CloudEvents distributed-tracing extension: `traceparent`, `tracestate`) and in a
 * job's reserved `data.__trace`. The stack writes version `00` only; what comes from outside
 * (the HTTP headers) is parsed strictly and, when malformed, ignored (never an error): the
 * request then has no caller context (tracing on: its server span starts a new trace; off: none).
 */
export interface TraceContext {
  /** `00-<trace-id>-<parent-id>-<flags>`. */
  traceparent: string;
  /** Vendor entries, normalised (`k=v,k2=v2`), when the caller sent a valid one. */
  tracestate?: string | undefined;
}

/** A `traceparent` as the stack stores it (version 00; trace id and parent id not all zeros). */
export const TRACEPARENT_PATTERN = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** 1 for each byte that is a lower-case hex digit, else 0. */
const LOWER_HEX_BYTE = new Uint8Array(256);
for (const char of '0123456789abcdef') LOWER_HEX_BYTE[char.charCodeAt(0)] = 1;

/**
 * `TRACEPARENT_PATTERN.test(bytes.toString())`, read on the bytes as Redis sent them (the event
 * processor's hot path, before any string is made): the same answer for every byte sequence (a
 * non-ASCII byte is never a hex digit, and the pattern accepts ASCII only; a property test
 * compares them). About 0.04 µs a value where the pattern takes 0.24 (0.27 without its
 * look-aheads), so a traced event costs its decoder little more than an untraced one (README
 * "Cost"). Not a loop over the string's `charCodeAt`: in a process that has loaded the stack
 * (ioredis 6 among it) that took 0.4 µs, five times what it takes in a bare process. Branch-free
 * over the 48 hex digits: random digits and letters make a branch per character mispredict
 * about half the time.
 */
export function isTraceparentBytes(bytes: Uint8Array): boolean {
  if (bytes.length !== 55 || bytes[0] !== 48 || bytes[1] !== 48 || bytes[2] !== 45 || bytes[35] !== 45 || bytes[52] !== 45) return false;
  // `hex` stays 1 while every digit is lower-case hex; `trace` / `parent` collect the bits that
  // differ from '0' (still 0: an all-zero id).
  let hex = LOWER_HEX_BYTE[bytes[53]!]! & LOWER_HEX_BYTE[bytes[54]!]!;
  let trace = 0;
  for (let at = 3; at < 35; at += 1) {
    const byte = bytes[at]!;
    hex &= LOWER_HEX_BYTE[byte]!;
    trace |= byte ^ 48;
  }
  let parent = 0;
  for (let at = 36; at < 52; at += 1) {
    const byte = bytes[at]!;
    hex &= LOWER_HEX_BYTE[byte]!;
    parent |= byte ^ 48;
  }
  return hex === 1 && trace !== 0 && parent !== 0;
}

const KEY = '(?:[a-z][_0-9a-z*/-]{0,255}|[a-z0-9][_0-9a-z*/-]{0,240}@[a-z][_0-9a-z*/-]{0,13})';
const VALUE = '[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]';
const MEMBER = new RegExp(`^${KEY}=${VALUE}$`);
/** A normalised `tracestate`: 1-32 members `key=value` joined by commas, no blanks around them. */
export const TRACESTATE_PATTERN = new RegExp(`^${KEY}=${VALUE}(?:,${KEY}=${VALUE}){0,31}$`);
/** Longest `tracestate` kept, characters (the length W3C asks every vendor to propagate). */
export const MAX_TRACESTATE_CHARS = 512;

/** Any version's first four fields; a later version may append `-…` fields (W3C "versioning"). */
const ANY_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The `traceparent` header normalised to version 00, or undefined when it is not a valid one:
 * version `ff`, upper-case hex, an all-zero trace id or parent id, a version-00 value with
 * extra fields, or several headers (Node joins them with a comma) are all invalid.
 */
export function parseTraceparent(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length > 256) return undefined;
  const match = ANY_VERSION.exec(header);
  if (match === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const normalised = `00-${traceId}-${parentId}-${flags}`;
  return TRACEPARENT_PATTERN.test(normalised) ? normalised : undefined;
}

/**
 * The `tracestate` header normalised (blank members dropped, blanks around members trimmed),
 * or undefined when it is absent or invalid (a malformed member, a key given twice, more than
 * 32 members, longer than 512 characters): W3C says such a tracestate is discarded.
 */
export function parseTracestate(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length > MAX_TRACESTATE_CHARS * 2) return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of header.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member.length === 0) continue;
    if (!MEMBER.test(member)) return undefined;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return undefined;
    keys.add(key);
    members.push(member);
  }
  const joined = members.join(',');
  if (members.length === 0 || members.length > 32 || joined.length > MAX_TRACESTATE_CHARS) return undefined;
  return joined;
}

/**
 * A new trace: random trace id and parent id, sampled. The stack itself never mints one (with
 * tracing on the server span makes the ids, with it off a request without trace context gets
 * none); tests and benchmarks use it to play a caller that sends one.
 */
export function newTraceparent(): string {
  const bytes = randomBytes(24).toString('hex');
  return `00-${bytes.slice(0, 32)}-${bytes.slice(32, 48)}-01`;
}

/**
 * The caller's trace context of an HTTP request (`traceparent`, `tracestate` headers) when its
 * `traceparent` is valid, else undefined (a tracestate without a valid traceparent is dropped
 * with it). Nothing is minted here: with tracing off, what the request creates then carries no
 * trace context at all (no span would ever have the id as its parent), as OpenTelemetry's
 * propagation does with no SDK registered; with tracing on, the server span starts a new trace.
 */
export function requestTraceContext(headers: { traceparent?: unknown; tracestate?: unknown }): TraceContext | undefined {
  const traceparent = parseTraceparent(headers.traceparent);
  if (traceparent === undefined) return undefined;
  const tracestate = parseTracestate(headers.tracestate);
  return tracestate !== undefined ? { traceparent, tracestate } : { traceparent };
}

/** The trace id of a valid `traceparent`. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/** The stack's trace context stored on `raw` (`traceparent`, `tracestate` fields), when valid. */
export function traceContextOf(raw: unknown): TraceContext | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { traceparent, tracestate } = raw as Record<string, unknown>;
  if (typeof traceparent !== 'string' || !TRACEPARENT_PATTERN.test(traceparent)) return undefined;
  const state = typeof tracestate === 'string' && tracestate.length <= MAX_TRACESTATE_CHARS && TRACESTATE_PATTERN.test(tracestate) ? tracestate : undefined;
  return { traceparent, ...(state !== undefined ? { tracestate: state } : {}) };
}
