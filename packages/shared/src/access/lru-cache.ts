/** A bounded map that forgets the least recently used key first, with a time to live per entry. */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  /** `maxEntries` ≥ 1; `ttlMs` how long an entry is good for after it was set. */
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const found = this.entries.get(key);
    if (found === undefined) return undefined;
    this.entries.delete(key);
    if (found.expiresAtMs <= this.now()) return undefined;
    this.entries.set(key, found);
    return found.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtMs: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
