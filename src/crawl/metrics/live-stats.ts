/**
 * Rolling per-second windows for the live dashboard: requests, errors and pages stored per second,
 * and fetch latency p50/p95/p99 per second, over the last `windowSeconds` seconds. Recording is
 * O(1) and allocation-free (a few array writes); quantiles are computed once per elapsed second
 * from a log-bucketed histogram, so the hot path never sorts.
 */

/** Latency histogram resolution: bucket i covers (MIN_MS·GROWTH^(i-1), MIN_MS·GROWTH^i]. */
const MIN_MS = 0.1;
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
/** 0.1 ms · 1.1^170 ≈ 11 min: anything slower lands in the last bucket. */
const BUCKETS = 171;

/** The per-second series the dashboard charts, oldest first; all arrays have the same length. */
export interface LiveSeries {
  /** Start of each second, in seconds since the epoch (uPlot's x unit). */
  t: number[];
  requests: number[];
  errors: number[];
  pages: number[];
  /** Fetch latency quantiles in milliseconds; null for a second without requests. */
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
}

/**
 * A fixed-size ring of completed seconds plus the second in progress. Every call takes the current
 * time (ms since the epoch) from the caller, who reads its clock once and shares the reading among
 * its own uses (a clock read costs about as much as the rest of a record). Times must not go
 * backwards; a time in an already closed second is counted in the second in progress.
 */
export class LiveStats {
  /** How many completed seconds the window keeps. */
  readonly windowSeconds: number;
  // Ring of completed seconds; #head is the next slot to write, #size how many are valid.
  readonly #t: Float64Array;
  readonly #req: Uint32Array;
  readonly #err: Uint32Array;
  readonly #pages: Uint32Array;
  readonly #p50: Float64Array;
  readonly #p95: Float64Array;
  readonly #p99: Float64Array;
  #head = 0;
  #size = 0;
  // The second in progress.
  #sec: number;
  #curReq = 0;
  #curErr = 0;
  #curPages = 0;
  readonly #hist = new Uint32Array(BUCKETS);

  /**
   * Creates an empty window of `windowSeconds` (≥ 1, default 300 = 5 minutes) seconds whose first
   * second is the one holding `startMs` (ms since the epoch).
   */
  constructor(startMs: number, opts: { windowSeconds?: number } = {}) {
    this.windowSeconds = Math.max(1, Math.floor(opts.windowSeconds ?? 300));
    const n = this.windowSeconds;
    this.#t = new Float64Array(n);
    this.#req = new Uint32Array(n);
    this.#err = new Uint32Array(n);
    this.#pages = new Uint32Array(n);
    this.#p50 = new Float64Array(n);
    this.#p95 = new Float64Array(n);
    this.#p99 = new Float64Array(n);
    this.#sec = Math.floor(startMs / 1000);
  }

  /**
   * Counts one finished request (any outcome) with its latency in milliseconds in the second
   * holding `now`. A negative or NaN latency is counted as a request but not as a latency sample.
   */
  request(durationMs: number, now: number): void {
    this.#tick(now);
    this.#curReq++;
    if (durationMs >= 0) {
      const i = durationMs <= MIN_MS ? 0 : Math.ceil(Math.log(durationMs / MIN_MS) / LOG_GROWTH);
      this.#hist[i < BUCKETS ? i : BUCKETS - 1]++;
    }
  }

  /** Counts one error in the second holding `now`. */
  error(now: number): void {
    this.#tick(now);
    this.#curErr++;
  }

  /** Counts one stored page in the second holding `now`. */
  page(now: number): void {
    this.#tick(now);
    this.#curPages++;
  }

  /**
   * The seconds of the window completed by `now`, oldest first; the second in progress is not
   * included (a partial second would read as a dip). Seconds with no activity are present with
   * zeros, so the x axis is continuous; at most `windowSeconds` entries.
   */
  series(now: number): LiveSeries {
    this.#tick(now);
    const n = this.#size;
    const out: LiveSeries = { t: [], requests: [], errors: [], pages: [], p50: [], p95: [], p99: [] };
    const cap = this.windowSeconds;
    for (let k = 0; k < n; k++) {
      const i = (this.#head - n + k + cap) % cap;
      out.t.push(this.#t[i]!);
      out.requests.push(this.#req[i]!);
      out.errors.push(this.#err[i]!);
      out.pages.push(this.#pages[i]!);
      const has = this.#req[i]! > 0 && this.#p50[i]! >= 0;
      out.p50.push(has ? this.#p50[i]! : null);
      out.p95.push(has ? this.#p95[i]! : null);
      out.p99.push(has ? this.#p99[i]! : null);
    }
    return out;
  }

  /** Closes every second that has fully elapsed, filling idle seconds with zeros. */
  #tick(now: number): void {
    const sec = Math.floor(now / 1000);
    if (sec <= this.#sec) return;
    this.#close();
    // Idle seconds between the closed one and now; more than a window's worth are all zeros
    // anyway, so only the last windowSeconds of them are written.
    const gap = sec - this.#sec - 1;
    const start = gap > this.windowSeconds ? sec - this.windowSeconds : this.#sec + 1;
    for (let s = start; s < sec; s++) this.#push(s, 0, 0, 0, -1, -1, -1);
    this.#sec = sec;
  }

  /** Moves the second in progress into the ring and resets it. */
  #close(): void {
    let p50 = -1;
    let p95 = -1;
    let p99 = -1;
    if (this.#curReq > 0) {
      let total = 0;
      for (let i = 0; i < BUCKETS; i++) total += this.#hist[i]!;
      if (total > 0) {
        p50 = quantile(this.#hist, total, 0.5);
        p95 = quantile(this.#hist, total, 0.95);
        p99 = quantile(this.#hist, total, 0.99);
      }
    }
    this.#push(this.#sec, this.#curReq, this.#curErr, this.#curPages, p50, p95, p99);
    this.#curReq = this.#curErr = this.#curPages = 0;
    this.#hist.fill(0);
  }

  #push(sec: number, req: number, err: number, pages: number, p50: number, p95: number, p99: number): void {
    const i = this.#head;
    this.#t[i] = sec;
    this.#req[i] = req;
    this.#err[i] = err;
    this.#pages[i] = pages;
    this.#p50[i] = p50;
    this.#p95[i] = p95;
    this.#p99[i] = p99;
    this.#head = (i + 1) % this.windowSeconds;
    if (this.#size < this.windowSeconds) this.#size++;
  }
}

/**
 * The q-quantile of a log-bucketed histogram holding `total` samples: the geometric middle of the
 * bucket holding the ceil(q·total)-th smallest sample, so the relative error is under 5 %.
 */
function quantile(hist: Uint32Array, total: number, q: number): number {
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return i === 0 ? MIN_MS : MIN_MS * GROWTH ** (i - 0.5);
  }
  return MIN_MS * GROWTH ** (hist.length - 1);
}

/** A fixed-capacity ring that keeps the most recent `capacity` items. */
export class RecentRing<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  /** An empty ring holding at most `capacity` (≥ 1) items; pushing more drops the oldest. */
  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(Math.max(1, capacity));
  }

  /** Adds an item, dropping the oldest when full. O(1). */
  push(item: T): void {
    this.#items[this.#head] = item;
    this.#head = (this.#head + 1) % this.#items.length;
    if (this.#size < this.#items.length) this.#size++;
  }

  /** How many items the ring holds. */
  get size(): number {
    return this.#size;
  }

  /** The items, newest first. */
  newestFirst(): T[] {
    const out: T[] = [];
    const cap = this.#items.length;
    for (let k = 1; k <= this.#size; k++) out.push(this.#items[(this.#head - k + cap) % cap]!);
    return out;
  }
}
