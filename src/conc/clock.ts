/**
 * A source of time and timers. Everything in `trawl/conc` that reads the time or sleeps takes a
 * Clock, so tests can drive time by hand (Go's x/time/rate tests pass explicit times; we also
 * let whole programs run on a {@link FakeClock}). Times are milliseconds since the Unix epoch,
 * as fractional numbers: sub-millisecond precision matters for rates above 1000/s.
 */
export interface Clock {
  /** The current time in milliseconds since the epoch (may be fractional). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for a timer that already fired or was cleared. */
  clearTimeout(handle: TimerHandle): void;
}

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

const origin = Date.now() - performance.now();

/**
 * The real clock: `performance.now()` anchored to the epoch (monotonic, sub-millisecond), and
 * Node timers that are `unref`'d so a pending timer alone never keeps the process alive — a
 * blocked operation is kept alive by whatever will wake it, not by its own timeout.
 */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A manually driven clock for tests. Time only moves when {@link FakeClock.advance} or
 * {@link FakeClock.set} is called; timers due by then fire in order of their due time (ties in
 * order of creation), each seeing `now()` equal to its own due time.
 */
export class FakeClock implements Clock {
  #now: number;
  #timers: FakeTimer[] = [];
  #seq = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.indexOf(handle as FakeTimer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** The number of timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  /**
   * Sets the time to `t`, firing every timer due at or before `t`. Setting a time in the past
   * is allowed (Go's limiter tests jump backwards) and fires nothing.
   */
  set(t: number): void {
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers) {
        if (timer.at <= t && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) {
          next = timer;
        }
      }
      if (!next) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      if (next.at > this.#now) this.#now = next.at;
      next.fn();
    }
    this.#now = t;
  }

  /**
   * Advances time by `ms` in steps, letting pending promise callbacks run between timers, so
   * async code woken by a timer can schedule the next one before time moves on.
   */
  async advanceAsync(ms: number, settle: () => Promise<void> = flush): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      let nextAt = Number.POSITIVE_INFINITY;
      for (const timer of this.#timers) nextAt = Math.min(nextAt, timer.at);
      if (nextAt > end) break;
      this.set(nextAt);
      await settle();
    }
    this.set(end);
    await settle();
  }
}

/** Lets every queued promise callback run (a macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
