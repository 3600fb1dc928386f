import { Command, type ChainableCommander, type Pipeline } from 'ioredis';

/**
 * String arguments of one command encoded as RESP bulk strings while a hot path collects them
 * (`add`, `addPair`), for commands of hundreds of arguments. ioredis, given the same arguments,
 * copies them (`args.flat()`, about 0.18 µs each on this machine, see `flat-command.ts`),
 * measures each, and appends five strings per argument to one rope that the socket write must
 * flatten (about 0.4 µs per 86 bytes); here an argument costs one template string, and the
 * command one `join` and one byte count of the joined text (about a third of that).
 * A command built (`command`) is single use; build another for a resend: the text is kept.
 */
export class EncodedArgs {
  /** Encoded arguments not yet joined into `joined`. */
  private parts: (string | number)[] = [];
  private joined = '';
  private count = 0;
  /** True while every argument is ASCII (the text's UTF-16 length is its byte length). */
  private ascii = true;

  /** Appends one argument. */
  add(arg: string): void {
    this.parts.push(`$${arg.length}\r\n${arg}\r\n`);
    this.count += 1;
  }

  /** Appends two arguments (a hash field and its value): one string for both. */
  addPair(first: string, second: string): void {
    this.parts.push(`$${first.length}\r\n${first}\r\n$${second.length}\r\n${second}\r\n`);
    this.count += 2;
  }

  /**
   * Appends two arguments given in pieces, field `fieldA + fieldB` and value
   * `valueA + valueB + valueC`, as ONE encoded string (the pieces go into it as they are:
   * neither argument is built on its own). One string per pair, not a dozen array slots: the
   * slots cost three times the time and more garbage (the array's growth), measured.
   */
  addPairOfPieces(fieldA: string, fieldB: string, valueA: string, valueB: string, valueC: string): void {
    this.parts.push(`$${fieldA.length + fieldB.length}\r\n${fieldA}${fieldB}\r\n$${valueA.length + valueB.length + valueC.length}\r\n${valueA}${valueB}${valueC}\r\n`);
    this.count += 2;
  }

  /**
   * Appends three arguments, the first given in two pieces (`firstA + firstB`), as ONE encoded
   * string: a hash field, a count and a value in one go (the timeline's steps).
   */
  addTriple(firstA: string, firstB: string, second: string, third: string): void {
    this.parts.push(`$${firstA.length + firstB.length}\r\n${firstA}${firstB}\r\n$${second.length}\r\n${second}\r\n$${third.length}\r\n${third}\r\n`);
    this.count += 3;
  }

  /** Appends the arguments of `other` (after these). */
  append(other: EncodedArgs): void {
    // After this text as it stands: `other`'s lengths are counted already, not to be counted again.
    const own = this.text();
    const added = other.text();
    this.joined = own.length === 0 ? added : own + added;
    this.count += other.count;
    this.ascii &&= other.ascii;
  }

  /** Arguments added. */
  get size(): number {
    return this.count;
  }

  /**
   * The RESP of the arguments added so far, one flat string. Taking it early (once a batch is
   * complete) lets the strings each argument was built of die young: kept in `parts` until a
   * flush, they would survive scavenges and be copied and promoted, several objects per
   * argument, where the flat text is one.
   */
  text(): string {
    if (this.parts.length > 0) {
      let joined = this.parts.join('');
      // Lengths were counted in UTF-16 units, right for ASCII only (ids, numbers: the hot
      // paths' arguments): one check for the whole text, a re-count where it holds more.
      if (Buffer.byteLength(joined) !== joined.length) {
        joined = recountLengths(joined);
        this.ascii = false;
      }
      this.joined = this.joined.length === 0 ? joined : this.joined + joined;
      this.parts = [];
    }
    return this.joined;
  }

  /**
   * The command `name` with `head` (its first arguments, keys among them: ioredis finds and
   * prefixes those with `keyPrefix`, as for its own methods, and a cluster routes by them),
   * then these arguments; replies as strings.
   */
  command(name: string, head: readonly (string | number)[], keyPrefix?: string): Command {
    return new EncodedCommand(name, head, this.text(), this.ascii, this.count, keyPrefix);
  }

  /** Queues `command(name, head)` on `pipeline` (its reply lands in `exec()`'s results, in order). */
  queue(pipeline: ChainableCommander, name: string, head: readonly (string | number)[]): void {
    const target = pipeline as unknown as Pipeline;
    target.sendCommand(this.command(name, head, target.options?.keyPrefix));
  }
}

/** `$<UTF-16 length>\r\n<arg>\r\n`… as `$<UTF-8 length>\r\n<arg>\r\n`…, what Redis reads. */
function recountLengths(text: string): string {
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    const lineEnd = text.indexOf('\r\n', at);
    const length = Number(text.slice(at + 1, lineEnd));
    const arg = text.slice(lineEnd + 2, lineEnd + 2 + length);
    out.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
    at = lineEnd + 2 + length + 2;
  }
  return out.join('');
}

/** A command of a few plain first arguments and pre-encoded others (built once, by `EncodedArgs`). */
class EncodedCommand extends Command {
  constructor(
    name: string,
    head: readonly (string | number)[],
    private readonly encoded: string,
    private readonly ascii: boolean,
    private readonly encodedCount: number,
    keyPrefix: string | undefined,
  ) {
    super(name, [...head], keyPrefix ? { replyEncoding: 'utf8', keyPrefix } : { replyEncoding: 'utf8' });
  }

  /**
   * `*<n>`, the name, the (prefixed) first arguments, the encoded ones: the bytes ioredis would
   * write for them all, as one Buffer. Given a string, the socket flattens `head + encoded` and
   * encodes it as UTF-8 character by character (half a microsecond per 90-byte argument,
   * profiled); ASCII text (the hot paths': ids, numbers, JSON of them) is copied as Latin-1.
   */
  override toWritable(): Buffer {
    let head = `*${this.args.length + this.encodedCount + 1}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`;
    for (const arg of this.args) {
      const text = String(arg);
      head += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
    }
    const headBytes = Buffer.byteLength(head);
    const encoding = this.ascii ? 'latin1' : 'utf8';
    const out = Buffer.allocUnsafe(headBytes + (this.ascii ? this.encoded.length : Buffer.byteLength(this.encoded)));
    out.write(head, 0, 'utf8');
    out.write(this.encoded, headBytes, encoding);
    return out;
  }
}
