/**
 * Go's `time` channel helpers on a {@link Clock}: {@link after} / {@link Timer} (one value after
 * a delay), {@link Ticker} (a value every period, dropping ticks a slow receiver misses) and
 * {@link sleep}. Pass a `FakeClock` to drive them by hand in tests.
 *
 * Liveness (which pending timers keep Node running): `systemClock` timers are `unref`'d so a
 * *timeout* never keeps a process alive, and {@link after} / {@link Timer} follow that rule —
 * they are timeouts in a `select` next to the real work, and a ref'd 30 s timeout would hold a
 * finished program open for 30 s. {@link sleep} and {@link Ticker} are different: they *are* the
 * thing a program waits for (`await sleep(1000)` or `for await (const t of ticker.c)` in `main`
 * must not let Node exit mid-wait), so their timers are `ref`'d when the clock's handle supports
 * it, like `setInterval`. Stop a Ticker when done (Go's `defer t.Stop()`). To wait for time
 * alone, use `sleep`, not `await after(ms).recv()`.
 */

import { unwatchAbort, watchAbort } from './abort-watch.js';
import { Channel } from './channel.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';

/** Node clamps longer timeouts to 1 ms; longer delays are armed in chunks of this size. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** Durations may be any number (≤ 0 means "now", Infinity "never") except NaN. */
function checkMs(ms: number, what: string): void {
  if (typeof ms !== 'number' || Number.isNaN(ms))
    throw new RangeError(`${what}: invalid duration ${String(ms)}`);
}

/**
 * One pending call of `fn` at absolute time `at` on `clock`, armed in chunks for delays beyond
 * what a host timer can hold. Internal.
 */
class Alarm {
  readonly #clock: Clock;
  readonly #fn: () => void;
  readonly #keepAlive: boolean;
  #handle: TimerHandle | null = null;

  /** `keepAlive`: `ref` the host timer (see the module doc) instead of leaving the clock's default. */
  constructor(clock: Clock, fn: () => void, keepAlive: boolean) {
    this.#clock = clock;
    this.#fn = fn;
    this.#keepAlive = keepAlive;
  }

  /** (Re)arms the alarm for time `at`, cancelling any pending one. */
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
    if (this.#keepAlive) (handle as { ref?: () => void }).ref?.();
    this.#handle = handle;
  }

  /** Cancels the pending call; returns whether one was pending. */
  clear(): boolean {
    if (this.#handle === null) return false;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = null;
    return true;
  }
}

/**
 * Go's `time.Timer`: after `ms` milliseconds the clock's current time is sent once on `c`
 * (capacity 1, so the timer never blocks). Holds exactly one host timer while pending and none
 * after it fires or is stopped; that timer does not keep the process alive (it is a timeout,
 * see the module doc). Like Go ≥ 1.23, `stop` and `reset` also discard a value that fired but
 * was not yet received, so no stale time is seen after them.
 */
export class Timer {
  /** Receives the fire time (`clock.now()` when the timer fired); never closed, as in Go. */
  readonly c: Channel<number> = new Channel<number>(1);
  readonly #clock: Clock;
  readonly #alarm: Alarm;

  /**
   * Starts a timer firing after `ms` milliseconds on `clock` (default `systemClock`). `ms` ≤ 0
   * fires as soon as the clock runs timers; `Infinity` never fires; NaN throws RangeError.
   */
  constructor(ms: number, clock: Clock = systemClock) {
    checkMs(ms, 'Timer');
    this.#clock = clock;
    this.#alarm = new Alarm(
      clock,
      () => {
        if (!this.c.closed) this.c.trySend(this.#clock.now());
      },
      false,
    );
    this.#alarm.set(clock.now() + ms);
  }

  /**
   * Stops the timer, Go's `Timer.Stop`. Returns true if this call prevented it from firing,
   * false if it had already fired or been stopped. Releases the host timer and discards an
   * unreceived fired value.
   */
  stop(): boolean {
    const wasPending = this.#alarm.clear();
    this.c.tryRecv();
    return wasPending;
  }

  /**
   * Re-arms the timer to fire `ms` milliseconds from now, Go's `Timer.Reset`. Returns true if
   * the timer was pending (its old firing is cancelled), false if it had fired or been stopped.
   * Discards an unreceived fired value first. NaN throws RangeError.
   */
  reset(ms: number): boolean {
    checkMs(ms, 'Timer.reset');
    const wasPending = this.#alarm.clear();
    this.c.tryRecv();
    this.#alarm.set(this.#clock.now() + ms);
    return wasPending;
  }
}

/** Creates a {@link Timer}, Go's `time.NewTimer`. */
export function newTimer(ms: number, clock: Clock = systemClock): Timer {
  return new Timer(ms, clock);
}

/**
 * Go's `time.After`: a channel that receives `clock.now()` once, `ms` milliseconds from now.
 * Like Go's, the channel is never closed: once its value is taken it stays empty forever, so
 * in a `select` loop it fires exactly once (a closed channel would be ready on every turn). The
 * host timer is released when it fires (to release it earlier use {@link newTimer} and `stop`)
 * and does not keep the process alive, so use it as a timeout beside other work and use
 * {@link sleep} to wait for time alone.
 */
export function after(ms: number, clock: Clock = systemClock): Channel<number> {
  return new Timer(ms, clock).c;
}

/**
 * Go's `time.Ticker`: sends `clock.now()` on `c` every `ms` milliseconds. `c` has capacity 1,
 * so a receiver that falls behind gets the oldest undelivered tick and the ticks in between
 * are dropped (the ticker never blocks). Ticks keep their phase: if the host fires late, the
 * next tick is still due on the original grid (missed grid points are skipped, not bunched).
 * `c` is never closed. While running it holds one host timer, which keeps the process alive
 * (like `setInterval`); `stop` releases it.
 */
export class Ticker {
  /** Receives the time of each delivered tick; never closed, as in Go. */
  readonly c: Channel<number> = new Channel<number>(1);
  readonly #clock: Clock;
  readonly #alarm: Alarm;
  #period: number;
  #due = 0;

  /** Starts a ticker; `ms` must be a positive number (RangeError otherwise, as Go panics). */
  constructor(ms: number, clock: Clock = systemClock) {
    checkPeriod(ms, 'Ticker');
    this.#clock = clock;
    this.#period = ms;
    this.#alarm = new Alarm(clock, () => this.#tick(), true);
    this.#schedule(clock.now() + ms);
  }

  #schedule(at: number): void {
    this.#due = at;
    this.#alarm.set(at);
  }

  #tick(): void {
    const now = this.#clock.now();
    // A full buffer drops the tick; a channel someone closed by mistake is just left alone.
    if (!this.c.closed) this.c.trySend(now);
    const late = Math.max(0, Math.floor((now - this.#due) / this.#period));
    this.#schedule(this.#due + (late + 1) * this.#period);
  }

  /**
   * Stops the ticker, Go's `Ticker.Stop`: no more ticks are sent, the host timer is released and
   * an unreceived tick is discarded (Go ≥ 1.23 semantics). The channel is not closed. A stopped
   * ticker can be restarted with {@link Ticker.reset}. Idempotent.
   */
  stop(): void {
    this.#alarm.clear();
    this.c.tryRecv();
  }

  /**
   * Changes the period to `ms` and restarts the ticker (also a stopped one): the next tick is
   * `ms` from now; an unreceived tick is discarded. `ms` must be positive (RangeError otherwise).
   */
  reset(ms: number): void {
    checkPeriod(ms, 'Ticker.reset');
    this.#period = ms;
    this.c.tryRecv();
    this.#schedule(this.#clock.now() + ms);
  }
}

function checkPeriod(ms: number, what: string): void {
  if (!(typeof ms === 'number' && ms > 0 && ms !== Number.POSITIVE_INFINITY)) {
    throw new RangeError(
      `${what}: period must be a positive finite number of milliseconds, got ${String(ms)}`,
    );
  }
}

/** Creates a {@link Ticker}, Go's `time.NewTicker`. */
export function newTicker(ms: number, clock: Clock = systemClock): Ticker {
  return new Ticker(ms, clock);
}

/**
 * Resolves after `ms` milliseconds on `clock` (Go's `time.Sleep`, cancellable like a select on
 * `ctx.Done()` and `time.After`). With `signal`: rejects with `signal.reason` at once if already
 * aborted, or when it aborts first; the host timer and the abort listener are released either
 * way. `ms` ≤ 0 resolves as soon as the clock runs timers; NaN throws RangeError. The pending
 * timer keeps the process alive.
 */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  checkMs(ms, 'sleep');
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const watcher = {
      onAbort(reason: unknown): void {
        alarm.clear();
        reject(reason);
      },
    };
    const alarm = new Alarm(
      clock,
      () => {
        if (signal !== undefined) unwatchAbort(signal, watcher);
        resolve();
      },
      true,
    );
    alarm.set(clock.now() + ms);
    if (signal !== undefined) watchAbort(signal, watcher);
  });
}
