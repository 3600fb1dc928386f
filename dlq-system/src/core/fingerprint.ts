import { createHash } from 'node:crypto';

/** Characters of the normalized message a fingerprint is computed from (and shown). */
export const NORMALIZED_MESSAGE_CHARS = 300;

/**
 * Replacements in order: URLs before paths and numbers inside them, UUIDs before hex runs,
 * quoted values before the numbers they may hold. Everything is lowercased first.
 */
const RULES: readonly [RegExp, string | ((match: string) => string)][] = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/g, '<url>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '<str>'],
  // Hex ids: 8+ hex digits with at least one digit and one letter (pure digits are numbers below).
  [/\b(?:0x)?[0-9a-f]*\d[0-9a-f]*\b/g, (match) => (match.length >= 8 && /[a-f]/.test(match.replace(/^0x/, '')) ? '<hex>' : match)],
  [/\d+(?:\.\d+)?/g, '<n>'],
  [/\s+/g, ' '],
];

/**
 * An error message with what varies between occurrences of one failure replaced: URLs,
 * UUIDs, quoted values, hex ids (8+ digits), numbers; whitespace collapsed; lowercased; cut
 * to `NORMALIZED_MESSAGE_CHARS`.
 */
export function normalizeMessage(message: string): string {
  let text = message.slice(0, 4 * NORMALIZED_MESSAGE_CHARS).toLowerCase();
  for (const [pattern, replacement] of RULES) {
    text = typeof replacement === 'string' ? text.replace(pattern, replacement) : text.replace(pattern, replacement);
  }
  return text.trim().slice(0, NORMALIZED_MESSAGE_CHARS);
}

/** What a fingerprint groups by. */
export interface FingerprintInput {
  /** Queue or stream name. */
  originName: string;
  /** Job name or event type. */
  name: string;
  message: string;
}

/** 16 hex of sha256 over origin, name and the normalized message (NUL-separated, so no field can spill into another). */
export function fingerprintOf(input: FingerprintInput): { fingerprint: string; normalized: string } {
  const normalized = normalizeMessage(input.message);
  const fingerprint = createHash('sha256').update(`${input.originName}\0${input.name}\0${normalized}`).digest('hex').slice(0, 16);
  return { fingerprint, normalized };
}

/** A fingerprint id as the API accepts it. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;
