import { Command } from 'ioredis';

/** Bytes a bulk string's header takes at most: `$`, ten digits, CRLF. */
const MAX_HEADER_BYTES = 13;

const EMPTY = Buffer.alloc(0);

/** Digits of length left for an argument written in pieces (`beginArg`): the timeline's steps are 100-999 bytes. */
const PIECE_HEADER_DIGITS = 3;

/** Number of decimal digits of a non-negative integer. */
function decimalDigits(value: number): number {
  let digits = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    digits += 1;
  }
  return digits;
}

/**
 * String arguments of one command written as RESP bulk strings straight into a Buffer while a
 * hot path collects them (the timeline's steps, docs/benchmarks/timeline-cost.md): an argument is one UTF-8 write
 * into the Buffer with its length header written around it (`add`, `addPair`), or written in
 * pieces (`beginArg` … `endArg`: text, bytes made once, integers as digits, JSON strings), or
 * copied pre-encoded (`addEncoded`). No string is kept per argument and none is joined later,
 * so the arguments leave no young-generation garbage behind but what the caller built, and
 * their bytes live off the JS heap (no scavenge copies them, however long they wait for a
 * flush). `BytesCommand` sends them behind a few plain arguments.
 */
export class EncodedBytes {
  /** Allocated at the first argument (an empty one costs nothing). */
  private bytes = EMPTY;
  private used = 0;
  private count = 0;
  /** Where the argument begun with `beginArg` (or `reopenArg`) starts, and its header's digits of length. */
  private argStart = 0;
  private argDigits = PIECE_HEADER_DIGITS;
  /** The last argument `endArg` ended: its start, its header's digits, where it ends (-1: none, or something was added after it). */
  private endedStart = -1;
  private endedDigits = 0;
  private endedEnd = -1;

  /** `initialBytes`: the Buffer's first size (it doubles as needed). */
  constructor(private readonly initialBytes = 16_384) {}

  /** Arguments added. */
  get size(): number {
    return this.count;
  }

  /** The RESP bytes of the arguments added (a view, valid until the next add). */
  view(): Buffer {
    return this.bytes.subarray(0, this.used);
  }

  /** Appends one argument. */
  add(arg: string): void {
    this.bulk(arg);
    this.count += 1;
  }

  /** Appends two arguments (a hash field and its value). */
  addPair(first: string, second: string): void {
    this.bulk(first);
    this.bulk(second);
    this.count += 2;
  }

  /**
   * Appends pre-encoded RESP given as text (`resp`: `count` whole arguments whose lengths are
   * their UTF-8 byte counts, as `EncodedArgs.text()` gives them), written as UTF-8: one write
   * for all of them (a sealed batch record, held off the JS heap until its HSET).
   */
  addEncodedText(resp: string, count: number): void {
    this.reserve(3 * resp.length);
    this.used += this.bytes.write(resp, this.used, 'utf8');
    this.count += count;
  }

  /**
   * Appends pre-encoded RESP (`resp`: `count` whole arguments, e.g. `$1\r\n1\r\n` built once
   * for a constant), copied byte by byte (no call out of JS for a few bytes).
   */
  addEncoded(resp: Uint8Array, count: number): void {
    this.reserve(resp.length);
    this.copyIn(resp);
    this.count += count;
  }

  /**
   * Starts one argument written in pieces (`piece`, `pieceBytes`, `pieceNumber`,
   * `pieceJsonString`, then `endArg`): room for a 3-digit length header is left, and `endArg`
   * writes the real one, moving the text when its length has another number of digits.
   */
  beginArg(): void {
    this.reserve(1 + PIECE_HEADER_DIGITS + 2);
    this.argStart = this.used;
    this.argDigits = PIECE_HEADER_DIGITS;
    this.used += 1 + PIECE_HEADER_DIGITS + 2;
  }

  /**
   * Begins again the argument `endArg` just ended, when it is the last one written: pieces
   * appended now go after its text, and `endArg` ends it again (one argument, longer).
   */
  reopenArg(): void {
    if (this.endedEnd !== this.used) throw new RangeError('reopenArg: the last argument was not ended by endArg');
    this.argStart = this.endedStart;
    this.argDigits = this.endedDigits;
    this.used -= 2;
    this.count -= 1;
    this.endedEnd = -1;
  }

  /**
   * Inserts `prefix` at the start of the text of the argument begun (`beginArg`, `reopenArg`):
   * what is written of it moves right (a joined entry's `<count>\n` before its first step).
   */
  prefixArg(prefix: Uint8Array): void {
    const textStart = this.argStart + 1 + this.argDigits + 2;
    this.reserve(prefix.length);
    const bytes = this.bytes;
    bytes.copyWithin(textStart + prefix.length, textStart, this.used);
    for (let index = 0; index < prefix.length; index += 1) bytes[textStart + index] = prefix[index]!;
    this.used += prefix.length;
  }

  /** Rewrites the byte at `offset` of the text of the argument begun (`beginArg`, `reopenArg`). */
  setArgByte(offset: number, byte: number): void {
    this.bytes[this.argStart + 1 + this.argDigits + 2 + offset] = byte;
  }

  /** Appends `text` to the argument begun, as UTF-8. */
  piece(text: string): void {
    if (text.length === 0) return;
    this.reserve(3 * text.length);
    this.used += this.bytes.write(text, this.used, 'utf8');
  }

  /** Appends bytes (pre-encoded text) to the argument begun. */
  pieceBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.copyIn(bytes);
  }

  /** Bytes written so far (for `rewindPieces`). */
  get piecesLength(): number {
    return this.used;
  }

  /** Drops what the argument begun got after `piecesLength` was `length`. */
  rewindPieces(length: number): void {
    if (length < this.argStart || length > this.used) throw new RangeError('rewindPieces: not within the argument begun');
    this.used = length;
  }

  /**
   * Appends `value` as `String(value)` writes it (digits written here for a non-negative safe
   * integer). In int32 arithmetic only: a time in ms (13 digits) is written as its high digits
   * and its last nine, since `%` and division on a double past 2^31 are float operations (`%`
   * a call to fmod), which made this a third of a job step's cost (docs/benchmarks/timeline-cost.md).
   */
  pieceNumber(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) return this.piece(String(value));
    if (value <= 0x7fffffff) return this.pieceInt32(value);
    const high = Math.floor(value / 1e9);
    this.pieceInt32(high);
    this.pieceInt32Padded(value - high * 1e9, 9);
  }

  /** The digits of a non-negative int32. */
  private pieceInt32(value: number): void {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = (rest / 10) | 0) digits += 1;
    this.pieceInt32Padded(value, digits);
  }

  /** The last `digits` digits of a non-negative int32, zeros in front. */
  private pieceInt32Padded(value: number, digits: number): void {
    this.reserve(digits);
    const bytes = this.bytes;
    let rest = value | 0;
    for (let place = this.used + digits - 1; place >= this.used; place -= 1) {
      const next = (rest / 10) | 0;
      bytes[place] = 0x30 + rest - next * 10;
      rest = next;
    }
    this.used += digits;
  }

  /**
   * Appends `JSON.stringify(text)`: written between quotes as it is, then checked on its bytes;
   * when they hold a quote, a backslash, a control character or anything not ASCII (a lone
   * surrogate would need escaping), rewritten through `JSON.stringify` (rare for ids).
   */
  pieceJsonString(text: string): void {
    this.reserve(1);
    this.bytes[this.used] = 0x22;
    this.used += 1;
    this.pieceJsonStringBody(text);
    this.reserve(1);
    this.bytes[this.used] = 0x22;
    this.used += 1;
  }

  /**
   * Appends what `JSON.stringify(text)` writes between its quotes (the rest of a JSON string
   * whose opening quote and first characters are bytes made once, e.g. a job step's subject
   * after `"job:<queue>:`): written as it is and checked on its bytes, rewritten escaped when
   * they hold a quote, a backslash, a control character or anything not ASCII. JSON escapes
   * character by character, so a string's escaped form is its parts' escaped forms joined.
   */
  pieceJsonStringBody(text: string): void {
    const start = this.used;
    this.reserve(3 * text.length);
    const bytes = this.bytes;
    const end = start + bytes.write(text, start, 'utf8');
    for (let at = start; at < end; at += 1) {
      const byte = bytes[at]!;
      if (byte < 0x20 || byte === 0x22 || byte === 0x5c || byte >= 0x80) {
        this.used = start;
        return this.piece(JSON.stringify(text).slice(1, -1));
      }
    }
    this.used = end;
  }

  /** Ends the argument begun with `beginArg`. */
  endArg(): void {
    const reserved = this.argDigits;
    const textStart = this.argStart + 1 + reserved + 2;
    const length = this.used - textStart;
    const digits = decimalDigits(length);
    if (digits !== reserved) {
      this.reserve(Math.max(0, digits - reserved));
      this.bytes.copyWithin(textStart + digits - reserved, textStart, this.used);
      this.used += digits - reserved;
    }
    this.header(this.argStart, digits, length);
    this.reserve(2);
    this.bytes[this.used] = 0x0d;
    this.bytes[this.used + 1] = 0x0a;
    this.used += 2;
    this.count += 1;
    this.endedStart = this.argStart;
    this.endedDigits = digits;
    this.endedEnd = this.used;
  }

  private copyIn(source: Uint8Array): void {
    const bytes = this.bytes;
    const at = this.used;
    for (let index = 0; index < source.length; index += 1) bytes[at + index] = source[index]!;
    this.used += source.length;
  }

  /** `$<length>\r\n` at `at` (`digits` the length's). */
  private header(at: number, digits: number, length: number): void {
    const bytes = this.bytes;
    bytes[at] = 0x24; // '$'
    for (let place = at + digits, rest = length; place > at; place -= 1) {
      bytes[place] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    bytes[at + digits + 1] = 0x0d;
    bytes[at + digits + 2] = 0x0a;
  }

  /** `$<UTF-8 length>\r\n<text>\r\n`. */
  private bulk(text: string): void {
    const units = text.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2).
    this.reserve(MAX_HEADER_BYTES + 3 * units + 2);
    const bytes = this.bytes;
    let digits = decimalDigits(units);
    const start = this.used + digits + 3;
    // As many bytes as units exactly when every unit is ASCII (else the header is longer, and
    // the text moves right when its byte count has more digits than its unit count).
    const length = units === 0 ? 0 : bytes.write(text, start, 'utf8');
    if (length !== units) {
      const actual = decimalDigits(length);
      if (actual !== digits) bytes.copyWithin(start + actual - digits, start, start + length);
      digits = actual;
    }
    this.header(this.used, digits, length);
    const at = this.used + digits + 3 + length;
    bytes[at] = 0x0d;
    bytes[at + 1] = 0x0a;
    this.used = at + 2;
  }

  private reserve(more: number): void {
    if (this.used + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.initialBytes, 2 * this.bytes.length, this.used + more));
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}

/** A part of a `BytesCommand` after its head: encoded arguments, or one plain argument. */
export type BytesCommandPart = EncodedBytes | string;

/**
 * A command of a few plain first arguments (`head`: keys among them, which ioredis finds and
 * prefixes with `keyPrefix` as for its own methods, and by which a cluster routes), then
 * `parts` in order, each `EncodedBytes`' arguments or one plain argument; replies as strings.
 * Written as one Buffer (the head's text, then the parts' bytes copied in).
 */
export class BytesCommand extends Command {
  constructor(
    name: string,
    head: readonly (string | number)[],
    private readonly parts: readonly BytesCommandPart[],
    keyPrefix?: string,
  ) {
    super(name, [...head], keyPrefix ? { replyEncoding: 'utf8', keyPrefix } : { replyEncoding: 'utf8' });
  }

  override toWritable(): Buffer {
    let count = this.args.length + 1;
    for (const part of this.parts) count += typeof part === 'string' ? 1 : part.size;
    let head = `*${count}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`;
    for (const arg of this.args) {
      const text = String(arg);
      head += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
    }
    const pieces: Buffer[] = [Buffer.from(head, 'utf8')];
    for (const part of this.parts) pieces.push(typeof part === 'string' ? Buffer.from(`$${Buffer.byteLength(part)}\r\n${part}\r\n`, 'utf8') : part.view());
    return Buffer.concat(pieces);
  }
}
