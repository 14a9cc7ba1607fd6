/**
 * Tells when a crawl is settled: nothing can happen until the clock moves or an outside event
 * arrives. It is settled when the crawl has ended, or when the scheduler waits (parked for time
 * or an event, or blocked handing a URL to a full worker pool) and `quiet(waiting)` holds — the
 * crawler's test that every URL in flight but `waiting` ones (waiting for a global rate token, or
 * held by the blocked scheduler) is queued in the pool, and no robots.txt fetch or sitemap walk
 * runs. For tests that
 * must prove nothing more happens (no real-time sleep); plain counters, checked only while
 * someone waits for it.
 */
export class IdleWatch {
  readonly #waiters: (() => void)[] = [];
  #quiet: (tokenWaits: number) => boolean = () => false;
  #schedulerWaits = false;
  #held = 0;
  #tokenWaits = 0;
  #ended = false;

  /** Sets the crawler's quiet test (see the class comment). */
  watch(quiet: (tokenWaits: number) => boolean): void {
    this.#quiet = quiet;
  }

  /** Resolves once the crawl is settled (at once if it is now). */
  idle(): Promise<void> {
    if (this.#settled()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * The scheduler starts (true) or stops (false) waiting; `holding` URLs it has leased but not
   * yet handed on (1 while blocked on a full pool) count as waiting with it.
   */
  schedulerWaits(waits: boolean, holding = 0): void {
    this.#schedulerWaits = waits;
    this.#held = waits ? holding : 0;
    if (waits) this.#check();
  }

  /** A fetch worker starts (true) or stops (false) waiting for a global rate token. */
  tokenWait(waits: boolean): void {
    this.#tokenWaits += waits ? 1 : -1;
    if (waits) this.#check();
  }

  /** The crawl is over: every waiter resolves, now and later. */
  ended(): void {
    this.#ended = true;
    this.#check();
  }

  #settled(): boolean {
    return this.#ended || (this.#schedulerWaits && this.#quiet(this.#tokenWaits + this.#held));
  }

  #check(): void {
    if (this.#waiters.length === 0 || !this.#settled()) return;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
