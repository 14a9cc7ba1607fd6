// A line-by-line port of golang.org/x/time/rate (rate.go), Copyright 2015 The Go Authors,
// BSD-style license. Go's time.Time / time.Duration become numbers of milliseconds (times are
// ms since the epoch on the limiter's Clock); Limit stays events per second.

import { unwatchAbort, watchAbort } from './abort-watch.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { signalDeadline } from './deadline.js';

/**
 * The infinite rate limit: it allows all events, even if burst is zero. Go's `rate.Inf` is
 * `math.MaxFloat64`; here it is `+Infinity`, and the conversions below keep `0 × Inf` at 0 as
 * Go's finite value does.
 */
export const Inf: number = Number.POSITIVE_INFINITY;

/**
 * The delay of a Reservation that is not OK (Go's `InfDuration`), and the wait of a limiter
 * whose limit is zero.
 */
export const InfDuration: number = Number.POSITIVE_INFINITY;

/**
 * Converts a minimum time interval between events (in milliseconds) to a Limit in events per
 * second. An interval of zero or less gives {@link Inf}.
 */
export function every(intervalMs: number): number {
  if (intervalMs <= 0) return Inf;
  return 1 / (intervalMs / 1000);
}

/**
 * The duration (ms) it takes to accumulate `tokens` at `limit` tokens per second; `InfDuration`
 * for a limit of zero or less (Go also caps overflow at `InfDuration`; floats need no cap).
 */
function durationFromTokens(limit: number, tokens: number): number {
  if (limit <= 0) return InfDuration;
  return (tokens / limit) * 1000;
}

/** The number of tokens accumulated during `d` ms at `limit` tokens per second. */
function tokensFromDuration(limit: number, d: number): number {
  if (limit <= 0) return 0;
  const seconds = d / 1000;
  // Go's Inf is finite, so 0s at Inf is 0 tokens there; with a true Infinity it would be NaN.
  return seconds === 0 ? 0 : seconds * limit;
}

/** Rejection of `waitN` when `n` exceeds the limiter's burst (and the limit is not Inf). */
export class LimiterBurstError extends Error {
  override name = 'LimiterBurstError';
  constructor(
    readonly n: number,
    readonly burst: number,
  ) {
    super(`rate: Wait(n=${n}) exceeds limiter's burst ${burst}`);
  }
}

/** Rejection of `waitN` when the wait would end after the signal's deadline. */
export class LimiterDeadlineError extends Error {
  override name = 'LimiterDeadlineError';
  constructor(readonly n: number) {
    super(`rate: Wait(n=${n}) would exceed context deadline`);
  }
}

// Node clamps longer timeouts to 1 ms, so long sleeps are taken in pieces.
const MAX_TIMER_MS = 0x7fffffff;

// Module-private bridges between Limiter and Reservation (Go's package-private access).
let cancelReservation: (lim: Limiter, r: Reservation, t: number) => void;
let newReservation: (
  lim: Limiter,
  ok: boolean,
  tokens: number,
  timeToAct: number,
  limit: number,
) => Reservation;
let reservationState: (r: Reservation) => { ok: boolean; tokens: number; timeToAct: number; limit: number };
let limiterClock: (lim: Limiter) => Clock;
let reserveWithin: (lim: Limiter, t: number, n: number, maxFutureReserve: number) => Reservation;

/**
 * A Limiter controls how frequently events are allowed to happen. It implements a "token
 * bucket" of size `burst`, initially full and refilled at `limit` tokens per second. Informally,
 * in any large enough time interval the Limiter limits the rate to `limit` tokens per second,
 * with a maximum burst size of `burst` events. As a special case, if `limit == Inf` the burst is
 * ignored. A zero limit allows the initial `burst` events and then none.
 *
 * It has three main methods, `allow`, `reserve` and `wait`, each consuming one token and
 * differing when none is available: `allow` returns false, `reserve` returns a reservation for
 * a future token and the delay before using it, `wait` resolves once the token is there (or
 * rejects when the signal aborts). The `N` variants consume n tokens; the `…At`/`…N(t, …)`
 * variants take the time explicitly instead of reading the limiter's clock.
 *
 * Times are milliseconds since the epoch as read from the limiter's {@link Clock} (default: the
 * monotonic system clock). Moving time backwards is tolerated as in Go: the limiter computes
 * from the earlier time without crediting tokens.
 */
export class Limiter {
  #limit: number;
  #burst: number;
  #tokens: number;
  // last is the last time the limiter's tokens field was updated; -Infinity plays Go's zero Time.
  #last = Number.NEGATIVE_INFINITY;
  // lastEvent is the latest time of a rate-limited event (past or future).
  #lastEvent = Number.NEGATIVE_INFINITY;
  readonly #clock: Clock;
  // The result of #reserveN, kept in fields so allow() allocates nothing (Go returns the
  // Reservation by value for the same reason).
  #rTokens = 0;
  #rTimeToAct = 0;
  #rLimit = 0;

  static {
    cancelReservation = (lim, r, t) => lim.#cancelAt(r, t);
    limiterClock = (lim) => lim.#clock;
    reserveWithin = (lim, t, n, max) => {
      const ok = lim.#reserveN(t, n, max);
      return newReservation(lim, ok, lim.#rTokens, lim.#rTimeToAct, lim.#rLimit);
    };
  }

  /**
   * A limiter allowing events up to `limit` per second with bursts of at most `burst` tokens
   * (an integer), starting full. `clock` defaults to the system clock.
   */
  constructor(limit: number, burst: number, clock: Clock = systemClock) {
    checkInt('burst', burst);
    this.#limit = limit;
    this.#burst = burst;
    this.#tokens = burst;
    this.#clock = clock;
  }

  /** The maximum overall event rate, in events per second. */
  limit(): number {
    return this.#limit;
  }

  /**
   * The maximum burst size: the most tokens a single `allowN`, `reserveN` or `waitN` may consume.
   * A zero burst allows no events, unless the limit is Inf.
   */
  burst(): number {
    return this.#burst;
  }

  /** The number of tokens available at time `t` (ms since the epoch); negative while in debt. */
  tokensAt(t: number): number {
    return this.#advance(t); // does not mutate the limiter
  }

  /** The number of tokens available now, per the limiter's clock. */
  tokens(): number {
    return this.tokensAt(this.#clock.now());
  }

  /** Whether an event may happen now; shorthand for `allowN(clock.now(), 1)`. */
  allow(): boolean {
    return this.#reserveN(this.#clock.now(), 1, 0);
  }

  /**
   * Whether `n` events may happen at time `t`, consuming the tokens when they may. Use it to
   * drop or skip events that exceed the rate; otherwise use `reserveN` or `waitN`. It never
   * allocates. `n` must be an integer (RangeError otherwise), as everywhere in this class.
   */
  allowN(t: number, n: number): boolean {
    checkInt('n', n);
    return this.#reserveN(t, n, 0);
  }

  /** Shorthand for `reserveN(clock.now(), 1)`. */
  reserve(): Reservation {
    return this.reserveN(this.#clock.now(), 1);
  }

  /**
   * Returns a Reservation saying how long the caller must wait before `n` events happen at time
   * `t`. The limiter takes the reservation into account when allowing future events. The
   * reservation's `ok()` is false when `n` exceeds the burst (limit Inf excepted); then nothing
   * is consumed. With a zero limit and too few tokens it is ok with an infinite delay, as in Go.
   * Usage: `const r = lim.reserveN(now, 1); if (!r.ok()) return; await sleep(r.delay()); act()`.
   * Use `waitN` instead to respect a deadline or abort the delay, `allowN` to drop events.
   */
  reserveN(t: number, n: number): Reservation {
    checkInt('n', n);
    const ok = this.#reserveN(t, n, InfDuration);
    return newReservation(this, ok, this.#rTokens, this.#rTimeToAct, this.#rLimit);
  }

  /** Shorthand for `waitN(1, signal)`. */
  wait(signal?: AbortSignal): Promise<void> {
    return this.waitN(1, signal);
  }

  /**
   * Resolves once the limiter permits `n` events. Rejects at once with
   * {@link LimiterBurstError} if `n` exceeds the burst (unless the limit is Inf), with
   * `signal.reason` if the signal is already aborted, and with {@link LimiterDeadlineError}
   * (consuming nothing) if the signal carries a deadline (see `setSignalDeadline`) that the wait
   * would pass. While waiting, an abort rejects with `signal.reason` and cancels the reservation
   * so later events may proceed sooner. The wait ends no earlier than the reservation's time to
   * act on the limiter's clock; a limit of zero with no tokens waits until aborted. The sleep's
   * timer keeps the process alive (it is what wakes the waiter); abort listener and timer are
   * removed when the wait settles. A non-integer `n` throws a RangeError synchronously (Go's int
   * cannot express it).
   */
  waitN(n: number, signal?: AbortSignal): Promise<void> {
    checkInt('n', n);
    const burst = this.#burst;
    const limit = this.#limit;
    if (n > burst && limit !== Inf) return Promise.reject(new LimiterBurstError(n, burst));
    // Check if the signal is already aborted.
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Determine the wait limit.
    const t = this.#clock.now();
    let waitLimit = InfDuration;
    const deadline = signalDeadline(signal);
    if (deadline !== undefined) waitLimit = deadline - t;
    // Reserve.
    if (!this.#reserveN(t, n, waitLimit)) return Promise.reject(new LimiterDeadlineError(n));
    // Wait if necessary.
    const timeToAct = this.#rTimeToAct;
    if (timeToAct - t <= 0) return resolved;
    const r = newReservation(this, true, this.#rTokens, timeToAct, this.#rLimit);
    return sleepUntil(this.#clock, timeToAct, r, signal);
  }

  /** Shorthand for `setLimitAt(clock.now(), limit)`. */
  setLimit(r: number): void {
    this.setLimitAt(this.#clock.now(), r);
  }

  /**
   * Sets a new limit at time `t`, first accruing the tokens earned under the old one. The new
   * limit and burst may be violated or underused by reservations made but not acted on before.
   */
  setLimitAt(t: number, r: number): void {
    const tokens = this.#advance(t);
    this.#last = t;
    this.#tokens = tokens;
    this.#limit = r;
  }

  /** Shorthand for `setBurstAt(clock.now(), burst)`. */
  setBurst(b: number): void {
    this.setBurstAt(this.#clock.now(), b);
  }

  /** Sets a new burst size (an integer) at time `t`, first accruing the tokens earned so far. */
  setBurstAt(t: number, b: number): void {
    checkInt('burst', b);
    const tokens = this.#advance(t);
    this.#last = t;
    this.#tokens = tokens;
    this.#burst = b;
  }

  // reserveN is the helper behind allowN, reserveN and waitN. maxFutureReserve is the longest
  // wait (ms) allowed. The reservation is left in #rTokens/#rTimeToAct/#rLimit.
  #reserveN(t: number, n: number, maxFutureReserve: number): boolean {
    if (this.#limit === Inf) {
      this.#rTokens = n;
      this.#rTimeToAct = t;
      this.#rLimit = 0; // Go leaves Reservation.limit zero here
      return true;
    }

    let tokens = this.#advance(t);

    // Calculate the remaining number of tokens resulting from the request.
    tokens -= n;

    // Calculate the wait duration.
    let waitDuration = 0;
    if (tokens < 0) waitDuration = durationFromTokens(this.#limit, -tokens);

    // Decide the result.
    const ok = n <= this.#burst && waitDuration <= maxFutureReserve;

    this.#rLimit = this.#limit;
    if (ok) {
      this.#rTokens = n;
      this.#rTimeToAct = t + waitDuration;
      // Update state.
      this.#last = t;
      this.#tokens = tokens;
      this.#lastEvent = this.#rTimeToAct;
    }
    // When not ok, #rTokens/#rTimeToAct are left stale: a reservation that is not ok never
    // reads them (delayFrom answers InfDuration, cancelAt returns at once).
    return ok;
  }

  // advance returns the token count at t from the passage of time since last, without changing
  // the limiter. A t before last counts as no time passed (Go's jump-backwards handling).
  #advance(t: number): number {
    let last = this.#last;
    if (t < last) last = t;

    // Calculate the new number of tokens, due to time that passed.
    const elapsed = t - last;
    const delta = tokensFromDuration(this.#limit, elapsed);
    let tokens = this.#tokens + delta;
    if (tokens > this.#burst) tokens = this.#burst;
    return tokens;
  }

  #cancelAt(r: Reservation, t: number): void {
    const s = reservationState(r);
    if (!s.ok) return;
    if (this.#limit === Inf || s.tokens === 0 || s.timeToAct < t) return;

    // Calculate the tokens to restore. The duration between lastEvent and r.timeToAct tells
    // how many tokens were reserved after r was obtained; those must not be restored.
    const restoreTokens = s.tokens - tokensFromDuration(s.limit, this.#lastEvent - s.timeToAct);
    if (restoreTokens <= 0) return;
    // Advance time to t.
    let tokens = this.#advance(t);
    // Calculate the new number of tokens.
    tokens += restoreTokens;
    if (tokens > this.#burst) tokens = this.#burst;
    // Update state.
    this.#last = t;
    this.#tokens = tokens;
    if (s.timeToAct === this.#lastEvent) {
      const prevEvent = s.timeToAct + durationFromTokens(s.limit, -s.tokens);
      if (!(prevEvent < t)) this.#lastEvent = prevEvent;
    }
  }
}

/**
 * Shorthand for `new Limiter(limit, burst, clock)`: a limiter allowing events up to `limit` per
 * second with bursts of at most `burst`, starting full.
 */
export function newLimiter(limit: number, burst: number, clock?: Clock): Limiter {
  return new Limiter(limit, burst, clock);
}

/**
 * A Reservation holds information about events a Limiter permits to happen after a delay. A
 * reservation may be cancelled, which may let the limiter permit additional events.
 */
export class Reservation {
  readonly #lim: Limiter;
  readonly #ok: boolean;
  readonly #tokens: number;
  readonly #timeToAct: number;
  // The limit at reservation time; it can change later.
  readonly #limit: number;

  static {
    newReservation = (lim, ok, tokens, timeToAct, limit) =>
      new Reservation(lim, ok, tokens, timeToAct, limit);
    reservationState = (r) => ({ ok: r.#ok, tokens: r.#tokens, timeToAct: r.#timeToAct, limit: r.#limit });
  }

  private constructor(lim: Limiter, ok: boolean, tokens: number, timeToAct: number, limit: number) {
    this.#lim = lim;
    this.#ok = ok;
    this.#tokens = tokens;
    this.#timeToAct = timeToAct;
    this.#limit = limit;
  }

  /**
   * Whether the limiter can provide the requested tokens within the maximum wait. When false,
   * `delay` returns Infinity (Go's InfDuration) and `cancel` does nothing.
   */
  ok(): boolean {
    return this.#ok;
  }

  /** Shorthand for `delayFrom(now)` on the limiter's clock. */
  delay(): number {
    return this.delayFrom(limiterClock(this.#lim).now());
  }

  /**
   * How many ms the holder must wait from time `t` before acting: 0 means act now, Infinity
   * means the limiter cannot grant the tokens (not ok, or a zero limit with no tokens left).
   */
  delayFrom(t: number): number {
    if (!this.#ok) return InfDuration;
    const delay = this.#timeToAct - t;
    if (delay < 0) return 0;
    return delay;
  }

  /** Shorthand for `cancelAt(now)` on the limiter's clock. */
  cancel(): void {
    this.cancelAt(limiterClock(this.#lim).now());
  }

  /**
   * Says the holder will not act, and reverses the reservation's effect on the limiter as far
   * as possible at time `t`, given that later reservations may already have been made (their
   * tokens are not handed back). Does nothing if not ok, if the limit is Inf, if the
   * reservation was for zero tokens, or if its time to act is before `t`.
   */
  cancelAt(t: number): void {
    if (!this.#ok) return;
    cancelReservation(this.#lim, this, t);
  }
}

const resolved: Promise<void> = Promise.resolve();

function checkInt(what: string, v: number): void {
  if (!Number.isInteger(v)) throw new RangeError(`rate: ${what} must be an integer, got ${v}`);
}

// Go's durations are whole nanoseconds: a wait shorter than 1 ns is no wait.
const NS = 1e-6;
// Below this remainder (ms) a timer that fired early is followed by setImmediate polling rather
// than a new timer; larger values buy accuracy at burst 1 for CPU (measured: 1 ms → ~50% of a
// core for 4 waiters at 1000/s, 0.5 ms → ~13%).
const POLL_MS = 0.5;

// Sleeps until the clock reaches timeToAct, or rejects on abort after cancelling the
// reservation. Node's timers run on a cached millisecond loop clock and often fire a little
// early (about half of sub-2 ms timers, measured); re-arming a timer then would cost a whole
// extra millisecond (Node's minimum), so on the system clock a short remainder is polled with
// setImmediate instead. A timer that fires late costs no rate as long as the bucket can hold
// the lateness: the next reservation is computed from the limiter's state (time to act), not
// from the wake-up.
function sleepUntil(clock: Clock, timeToAct: number, r: Reservation, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    let immediate: ReturnType<typeof setImmediate> | undefined;
    // Watched through abort-watch (not a listener of our own): one listener per signal however
    // many wait, and a deadline timer on the signal stays ref'd while we wait for it.
    const watcher = {
      onAbort: (reason: unknown) => {
        if (timer !== undefined) clock.clearTimeout(timer);
        if (immediate !== undefined) clearImmediate(immediate);
        timer = immediate = undefined;
        // Aborted before we could proceed: cancel the reservation, which may permit other
        // events to proceed sooner.
        r.cancel();
        reject(reason);
      },
    };
    const arm = (fromTimer: boolean) => {
      timer = immediate = undefined;
      const remaining = timeToAct - clock.now();
      if (remaining < NS) {
        if (signal !== undefined) unwatchAbort(signal, watcher);
        resolve();
        return;
      }
      // A limit of zero never delivers: wait for the abort alone.
      if (remaining === Number.POSITIVE_INFINITY) return;
      if (fromTimer && remaining < POLL_MS && clock === systemClock) {
        immediate = setImmediate(arm, true);
        return;
      }
      timer = clock.setTimeout(() => arm(true), Math.min(remaining, MAX_TIMER_MS));
      // This timer is what wakes the waiter, so unlike a timeout it must keep the process
      // alive (systemClock unrefs its timers): re-ref a Node timer handle.
      (timer as { ref?: () => unknown }).ref?.();
    };
    if (signal !== undefined) watchAbort(signal, watcher);
    arm(false);
  });
}

/**
 * Test hook, not public API: Go's unexported `reserveN(t, n, maxFutureReserve)`, which Go's own
 * tests call to check the wait bound that `waitN` derives from a deadline.
 * @internal
 */
export function _reserveNWithin(lim: Limiter, t: number, n: number, maxFutureReserveMs: number): Reservation {
  return reserveWithin(lim, t, n, maxFutureReserveMs);
}
