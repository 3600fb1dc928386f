import { Command, type ChainableCommander, type Pipeline } from 'ioredis';

/**
 * String arguments of one command encoded as RESP bulk strings while a hot path collects them
 * (`add`, `addPair`), for commands of hundreds of arguments. ioredis, given the same arguments,
 * copies them (`args.flat()`, about 0.18 µs each on this machine, see `flat-command.ts`),
 * measures each, and appends five strings per argument to one rope that the socket write must
 * flatten (about 0.4 µs per 86 bytes); here an argument costs its byte length and one template
 * string, and the command one `join` (about a third of that, `bench/suites/timeline.ts`).
 * A command built (`command`) is single use; build another for a resend: the text is kept.
 */
export class EncodedArgs {
  /** Encoded arguments not yet joined into `joined`. */
  private parts: string[] = [];
  private joined = '';
  private count = 0;

  /** Appends one argument. */
  add(arg: string): void {
    this.parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
    this.count += 1;
  }

  /** Appends two arguments (a hash field and its value): one string for both. */
  addPair(first: string, second: string): void {
    this.parts.push(`$${Buffer.byteLength(first)}\r\n${first}\r\n$${Buffer.byteLength(second)}\r\n${second}\r\n`);
    this.count += 2;
  }

  /** Appends the arguments of `other` (after these). */
  append(other: EncodedArgs): void {
    this.parts.push(other.text());
    this.count += other.count;
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
      const joined = this.parts.join('');
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
    return new EncodedCommand(name, head, this.text(), this.count, keyPrefix);
  }

  /** Queues `command(name, head)` on `pipeline` (its reply lands in `exec()`'s results, in order). */
  queue(pipeline: ChainableCommander, name: string, head: readonly (string | number)[]): void {
    const target = pipeline as unknown as Pipeline;
    target.sendCommand(this.command(name, head, target.options?.keyPrefix));
  }
}

/** A command of a few plain first arguments and pre-encoded others (built once, by `EncodedArgs`). */
class EncodedCommand extends Command {
  constructor(
    name: string,
    head: readonly (string | number)[],
    private readonly encoded: string,
    private readonly encodedCount: number,
    keyPrefix: string | undefined,
  ) {
    super(name, [...head], keyPrefix ? { replyEncoding: 'utf8', keyPrefix } : { replyEncoding: 'utf8' });
  }

  /** `*<n>`, the name, the (prefixed) first arguments, the encoded ones: what ioredis would write for them all. */
  override toWritable(): string {
    let head = `*${this.args.length + this.encodedCount + 1}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`;
    for (const arg of this.args) {
      const text = String(arg);
      head += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
    }
    return head + this.encoded;
  }
}
