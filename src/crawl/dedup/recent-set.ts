/**
 * A bounded, exact set of recently seen strings: two generations of at most `capacity` entries;
 * when the current one fills up, the older one is dropped. `has` never answers true for a string
 * that was not added (no false positives), and it forgets old strings instead of growing, so it
 * can sit in front of a durable seen set to skip the lookups for the links every page repeats
 * (navigation, footers) in bounded memory.
 */
export class RecentSet {
  #current = new Set<string>();
  #previous = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    this.#capacity = capacity;
  }

  /** Whether `s` was added recently (within the last one to two generations). */
  has(s: string): boolean {
    return this.#current.has(s) || this.#previous.has(s);
  }

  /** Remembers `s`, starting a new generation when the current one is full. */
  add(s: string): void {
    if (this.#current.size >= this.#capacity) {
      this.#previous = this.#current;
      this.#current = new Set();
    }
    this.#current.add(s);
  }

  /** Forgets everything (after a rolled-back insert, whose strings must not count as seen). */
  clear(): void {
    this.#current = new Set();
    this.#previous = new Set();
  }

  /** Entries held now (at most twice the capacity). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
