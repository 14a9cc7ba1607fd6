/**
 * Go's `time` channel helpers on a {@link Clock}: {@link after} / {@link Timer} (one value after
 * a delay), {@link Ticker} (a value every period, dropping ticks a slow receiver misses) and
 * {@link sleep}. Pass a `FakeClock` to drive them by hand in tests.
 *
 * Liveness (which pending timers keep Node running) follows Go: a program blocked on a timer
 * waits for it. A Timer's, `after`'s or Ticker's host timer keeps the process alive exactly
 * while someone is blocked receiving from its channel (a `recv`, a `for await`, or a waiting
 * `select` with a case on it) and not otherwise, so `await after(50).recv()` or a `select` on
 * `after(50)` alone waits 50 ms, while a timeout that nobody is waiting on any more (the work
 * beside it finished) never holds a finished program open. {@link sleep}'s timer always keeps
 * the process alive: its promise is what the caller awaits.
 */

import { unwatchAbort, watchAbort } from './abort-watch.js';
import { Alarm } from './alarm.js';
import { Channel } from './channel.js';
import { type Clock, systemClock } from './clock.js';
import { kKeepAlive } from './waitqueue.js';

/** Durations may be any number (≤ 0 means "now", Infinity "never") except NaN. */
function checkMs(ms: number, what: string): void {
  if (typeof ms !== 'number' || Number.isNaN(ms))
    throw new RangeError(`${what}: invalid duration ${String(ms)}`);
}

/**
 * Go's `time.Timer`: after `ms` milliseconds the clock's current time is sent once on `c`
 * (capacity 1, so the timer never blocks). Holds exactly one host timer while pending and none
 * after it fires or is stopped; that timer keeps the process alive only while someone is
 * blocked receiving from `c` (see the module doc). Like Go ≥ 1.23, `stop` and `reset` also
 * discard a value that fired but was not yet received, so no stale time is seen after them.
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
    this.c[kKeepAlive](this.#alarm);
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
 * and keeps the process alive only while someone is blocked receiving from the channel, as in
 * Go: `await after(50).recv()` waits 50 ms, and an unused timeout holds nothing open.
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
 * only while someone is blocked receiving from `c` (a running ticker nobody reads holds nothing
 * open); `stop` releases it.
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
    this.#alarm = new Alarm(clock, () => this.#tick());
    this.c[kKeepAlive](this.#alarm);
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
