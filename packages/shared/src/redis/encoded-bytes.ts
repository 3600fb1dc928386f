import { Command } from 'ioredis';

/** Bytes a bulk string's header takes at most: `$`, ten digits, CRLF. */
const MAX_HEADER_BYTES = 13;

const EMPTY = Buffer.alloc(0);

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
 * hot path collects them (the timeline's steps, README "Cost"): each argument is one UTF-8
 * write into the Buffer (its length header written around it), no string is kept per argument
 * and none is joined later, so the arguments leave no young-generation garbage behind but the
 * strings the caller built, and the Buffer's bytes live off the JS heap (no scavenge copies
 * them, however long they wait for a flush). `command` sends them with a few plain arguments
 * in front (`BytesCommand`).
 */
export class EncodedBytes {
  /** Allocated at the first argument (an empty one costs nothing). */
  private bytes = EMPTY;
  private used = 0;
  private count = 0;

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
    this.bulk(arg, '');
    this.count += 1;
  }

  /** Appends two arguments (a hash field and its value). */
  addPair(first: string, second: string): void {
    this.bulk(first, '');
    this.bulk(second, '');
    this.count += 2;
  }

  /** Appends three arguments, the first given in two pieces (`firstA + firstB`): a hash field, a count and a value (the timeline's steps). */
  addTriple(firstA: string, firstB: string, second: string, third: string): void {
    this.bulk(firstA, firstB);
    this.bulk(second, '');
    this.bulk(third, '');
    this.count += 3;
  }

  /** `$<UTF-8 length>\r\n<a><b>\r\n`. */
  private bulk(a: string, b: string): void {
    const units = a.length + b.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2).
    this.reserve(MAX_HEADER_BYTES + 3 * units + 2);
    const bytes = this.bytes;
    let digits = decimalDigits(units);
    const start = this.used + digits + 3;
    // As many bytes as units exactly when every unit is ASCII (else the header is longer, and
    // the text moves right when its byte count has more digits than its unit count).
    let length = a.length === 0 ? 0 : bytes.write(a, start, 'utf8');
    if (b.length > 0) length += bytes.write(b, start + length, 'utf8');
    if (length !== units) {
      const actual = decimalDigits(length);
      if (actual !== digits) bytes.copyWithin(start + actual - digits, start, start + length);
      digits = actual;
    }
    let at = this.used;
    bytes[at] = 0x24; // '$'
    for (let place = at + digits, rest = length; place > at; place -= 1) {
      bytes[place] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    at += digits + 1;
    bytes[at] = 0x0d;
    bytes[at + 1] = 0x0a;
    at += 2 + length;
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
