// A port of golang.org/x/time/rate's sometimes.go, Copyright 2022 The Go Authors, BSD-style
// license. Go's Interval (a time.Duration) becomes milliseconds on an injectable Clock.

import { type Clock, systemClock } from './clock.js';

/** The filters of a {@link Sometimes}; each is off when zero (or absent, or negative). */
export interface SometimesOptions {
  /** If non-zero, the first `first` calls to `do` run the action. */
  first?: number;
  /** If non-zero, every `every`-th call to `do` (starting with the first) runs the action. */
  every?: number;
  /** If non-zero (ms), a call to `do` runs the action when `interval` has passed since it last ran. */
  interval?: number;
}

/**
 * Performs an action occasionally. The `first`, `every` and `interval` options govern the
 * behaviour of {@link Sometimes.do}, which performs the action; with no options the action runs
 * exactly once (like a `sync.Once`). Example, logging with rate limiting:
 * `const sometimes = new Sometimes({ first: 3, interval: 10_000 }); sometimes.do(() => log('here'))`.
 */
export class Sometimes {
  readonly #first: number;
  readonly #every: number;
  readonly #interval: number;
  readonly #clock: Clock;
  #count = 0; // number of do calls
  #last = Number.NEGATIVE_INFINITY; // last time the action ran (Go's zero Time)
  #running = false;

  /** `clock` (default: the system clock) is what `interval` is measured on. */
  constructor(opts: SometimesOptions = {}, clock: Clock = systemClock) {
    this.#first = opts.first ?? 0;
    this.#every = opts.every ?? 0;
    this.#interval = opts.interval ?? 0;
    this.#clock = clock;
  }

  /**
   * Runs `fn` as allowed by `first`, `every` and `interval`. The model is a union (not an
   * intersection) of filters: the first call always runs `fn`; later calls run it if allowed
   * by `first` or `every` or `interval`. `first: N` runs it on the first N calls; `every: M` on
   * every M-th call starting with the first; `interval` when that many ms have passed since `do`
   * last ran it (measured after `fn` returns). If `fn` throws, the error propagates and the call
   * is not counted (as a panic skips the count in Go). Calling `do` from inside its own `fn`
   * throws an Error, since in Go it deadlocks.
   */
  do(fn: () => void): void {
    if (this.#running) throw new Error('rate: Sometimes.do called from within its own action');
    this.#running = true;
    try {
      const count = this.#count;
      if (
        count === 0 ||
        (this.#first > 0 && count < this.#first) ||
        (this.#every > 0 && count % this.#every === 0) ||
        (this.#interval > 0 && this.#clock.now() - this.#last >= this.#interval)
      ) {
        fn();
        if (this.#interval > 0) this.#last = this.#clock.now();
      }
      this.#count++;
    } finally {
      this.#running = false;
    }
  }
}
