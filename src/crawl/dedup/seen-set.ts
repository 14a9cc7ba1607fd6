/**
 * The crawler's "already discovered?" set: a Bloom filter answers the common case (a new URL)
 * without touching the exact store, and every Bloom "maybe" is confirmed exactly, so a false
 * positive can never make the crawl drop a URL it has not seen.
 */
import { BloomFilter } from './bloom.js';

/** Options of {@link SeenSet}. */
export interface SeenSetOptions {
  /** Expected number of distinct URLs, sizing the Bloom filter. Default 1_000_000. */
  expected?: number;
  /** Target Bloom false-positive rate, in (0, 1). Default 0.01. */
  fpRate?: number;
  /**
   * Exact membership test used to confirm a Bloom positive, e.g. a lookup in the SQLite state.
   * It must return true exactly for the URLs this set (or an earlier run) accepted as new, which
   * means the caller records every URL for which `add` returned true before the next `add` or
   * `has` call. When given, the set keeps no in-memory exact copy. When omitted, an in-memory
   * `Set` is the exact store.
   */
  confirm?: (url: string) => boolean;
}

/**
 * A set of URL strings with a Bloom filter in front of an exact store. Lookups of new URLs (the
 * Bloom says "no") never reach the exact store; a Bloom "maybe" is always confirmed against the
 * exact store (the in-memory Set, or `opts.confirm`), so the answers are exact: no URL is ever
 * reported as seen without having been added.
 */
export class SeenSet {
  readonly #bloom: BloomFilter;
  readonly #exact: Set<string> | null;
  readonly #confirm: (url: string) => boolean;
  #size = 0;
  #bloomPositives = 0;
  #falsePositives = 0;

  /** Creates an empty set; see {@link SeenSetOptions} for the defaults. Throws a RangeError for a bad fpRate. */
  constructor(opts: SeenSetOptions = {}) {
    this.#bloom = new BloomFilter(opts.expected ?? 1_000_000, opts.fpRate ?? 0.01);
    if (opts.confirm) {
      this.#exact = null;
      this.#confirm = opts.confirm;
    } else {
      const exact = new Set<string>();
      this.#exact = exact;
      this.#confirm = (url) => exact.has(url);
    }
  }

  /**
   * Adds `url` and returns true if it was not in the set (the caller should then enqueue it, and,
   * with a `confirm` hook, record it in the store the hook reads); returns false if it was already
   * present. Exact: a Bloom positive is confirmed before false is returned.
   */
  add(url: string): boolean {
    if (this.#bloom.has(url)) {
      this.#bloomPositives++;
      if (this.#confirm(url)) return false;
      this.#falsePositives++;
    } else {
      this.#bloom.add(url);
    }
    this.#exact?.add(url);
    this.#size++;
    return true;
  }

  /** True when `url` was added (exact: Bloom positives are confirmed). Does not add it. */
  has(url: string): boolean {
    return this.#bloom.has(url) && this.#confirm(url);
  }

  /**
   * Marks `url` as present in the Bloom filter only, for URLs already in the external store
   * (e.g. rebuilding the filter from the SQLite state on resume). Does not change `size`.
   * Only meaningful with a `confirm` hook; without one, prefer `add`.
   */
  preload(url: string): void {
    this.#bloom.add(url);
  }

  /** Number of URLs for which `add` returned true on this instance. */
  get size(): number {
    return this.#size;
  }

  /**
   * Counters for metrics: `bloomPositives` is how many `add` calls needed exact confirmation,
   * `falsePositives` how many of those turned out to be new URLs.
   */
  stats(): { size: number; bloomPositives: number; falsePositives: number; bloomBits: number } {
    return {
      size: this.#size,
      bloomPositives: this.#bloomPositives,
      falsePositives: this.#falsePositives,
      bloomBits: this.#bloom.bits,
    };
  }
}
