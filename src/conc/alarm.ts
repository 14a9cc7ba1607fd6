/**
 * One pending call at an absolute time on a {@link Clock}, the host timer behind `Timer`,
 * `Ticker`, `sleep` and context deadlines (internal to `trawl/conc`). It does two things a bare
 * `clock.setTimeout` does not: it arms delays beyond what a host timer can hold in chunks (Node
 * clamps anything above 2^31 − 1 ms to 1 ms), and it keeps its host timer ref'd exactly while
 * it is *held* — while someone waits for it — and unref'd otherwise (see `keep-alive.ts`).
 */

import type { Clock, TimerHandle } from './clock.js';
import type { Keeper } from './keep-alive.js';
import { setTimerRef } from './keep-alive.js';

/** The longest delay a Node timer holds; longer delays are armed in chunks of this size. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * A re-armable alarm. `hold` / `release` count waiters (it implements {@link Keeper}'s
 * shape so a channel's wait queue can hold it directly); the host timer is ref'd while the
 * count is above zero, across re-arms and chunks.
 */
export class Alarm implements Keeper {
  readonly #clock: Clock;
  readonly #fn: () => void;
  #handle: TimerHandle | null = null;
  #holds: number;

  /** `keepAlive`: held for good (the alarm *is* what its owner awaits, as in `sleep`). */
  constructor(clock: Clock, fn: () => void, keepAlive = false) {
    this.#clock = clock;
    this.#fn = fn;
    this.#holds = keepAlive ? 1 : 0;
  }

  /**
   * (Re)arms the alarm for time `at`, cancelling any pending call. `+Infinity` stays pending
   * forever (re-armed chunk by chunk), as a Go timer of a huge duration does.
   */
  set(at: number): void {
    this.clear();
    this.#arm(at);
  }

  #arm(at: number): void {
    const delay = at - this.#clock.now();
    const handle =
      delay > MAX_TIMEOUT
        ? this.#clock.setTimeout(() => this.#arm(at), MAX_TIMEOUT)
        : this.#clock.setTimeout(() => {
            this.#handle = null;
            this.#fn();
          }, delay);
    // Set explicitly either way, so the rule holds whatever the clock's default is.
    setTimerRef(handle, this.#holds > 0);
    this.#handle = handle;
  }

  /** Cancels the pending call; returns whether one was pending. */
  clear(): boolean {
    if (this.#handle === null) return false;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = null;
    return true;
  }

  /** One more waiter: the host timer keeps the process alive from now on. */
  hold(): void {
    if (this.#holds++ === 0 && this.#handle !== null) setTimerRef(this.#handle, true);
  }

  /** One waiter fewer: with none left the host timer no longer keeps the process alive. */
  release(): void {
    if (--this.#holds === 0 && this.#handle !== null) setTimerRef(this.#handle, false);
  }
}
