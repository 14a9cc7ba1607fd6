/**
 * The server-aware throttle of one host (`--auto-throttle`): an AIMD controller, in the spirit
 * of TCP congestion control, of how many requests the crawl keeps in flight to the host, plus a
 * delay between requests once that number is down to 1.
 *
 * Why both signals: a server that refuses work (429/503) says so too late — the refused
 * requests are already spent — and one that queues work says nothing but gets slower. Latency
 * rising above what the host answers in when idle is the early warning; 429/503 the hard one.
 */

// The shortest and the longest wait between two tries of a limit that drew a 429/503, in
// windows. At the longest, a host that refuses at a fixed concurrency C gets one refused request
// per 64 windows of C−1 answers (< 0.2 %); the shortest keeps the first probes of a short crawl
// from costing more than 1 % (measured on the capacity test host: with 1, 5 of its first 500
// requests were probes).
const MIN_PROBE_WINDOWS = 8;
const MAX_PROBE_WINDOWS = 64;

/** Why a host's throttle last changed (or `start`: it has not changed yet). */
export type ThrottleReason = 'start' | 'slow-start' | 'increase' | 'latency' | '429' | '503';

/** A host's throttle as the dashboard and metrics show it; plain data. */
export interface ThrottleState {
  /** The concurrency limit: requests to the host in flight at most. */
  readonly limit: number;
  /** Least time between two requests to the host, ms; only ever above 0 with `limit` 1. */
  readonly delayMs: number;
  readonly reason: ThrottleReason;
  /** Clock time of the last change (of the throttle's creation before any). */
  readonly changedAt: number;
  /** Mean latency of the last complete window, ms; null before the first. */
  readonly latencyMs: number | null;
  /** The host's base latency (see {@link AutoThrottle}), ms; null before the first window. */
  readonly baseLatencyMs: number | null;
}

/** Settings of an {@link AutoThrottle}; every field but `maxConcurrency` has a default. */
export interface AutoThrottleConfig {
  /** The highest limit (`--host-concurrency`); an integer ≥ 1. */
  maxConcurrency: number;
  /** The limit it starts at. Default 1 (an unknown host gets one request, then slow start). */
  initialConcurrency?: number;
  /** Multiplicative decrease on a 429/503: limit → ⌊limit · factor⌋ (at least 1). Default 0.7. */
  overloadFactor?: number;
  /** Multiplicative decrease on latency ≥ `shrinkAbove` × base. Default 0.9. */
  latencyFactor?: number;
  /** Slow start (doubling) goes on while a window's latency is below this × base. Default 1.25. */
  slowStartBelow?: number;
  /** Additive increase (+1) needs a window's latency below this × base. Default 1.5. */
  growBelow?: number;
  /** A window's latency at or above this × base is overload too. Default 2.5. */
  shrinkAbove?: number;
  /** The delay's first step at limit 1, ms; it doubles per overload event after that. Default 100. */
  firstDelayMs?: number;
  /** The delay's cap, ms. Default 300 000 (the crawl's backoff cap). */
  maxDelayMs?: number;
}

/**
 * One host's throttle. Times are ms on the crawl's clock; the controller reads no clock itself —
 * every method takes `now` — so tests drive it with plain numbers or a FakeClock.
 *
 * **Limit.** Requests to the host in flight are kept at most `limit` (the host table's
 * concurrency cap follows it). It starts at `initialConcurrency` and changes only at these
 * moments:
 * - *Window end.* A window is `limit` responses (not 429/503) to requests sent at or after the
 *   last change; its latency is the mean of their latencies. `base` is the lowest window latency
 *   seen, except that a window at limit 1 sets it (see below), and `r = latency / base`. Then,
 *   in order:
 *   r ≥ `shrinkAbove`: decrease, limit → max(1, ⌊limit · latencyFactor⌋), reason `latency` (never
 *   at limit 1, whose window sets the base: there only a 429/503 adds a delay);
 *   else a delay > 0 and r < `growBelow`: the delay halves (under `firstDelayMs` it is 0);
 *   else, if the window was limit-bound (some request of it was sent with `limit` in flight, so
 *   the host really took that load) and limit < max: during slow start and r < `slowStartBelow`
 *   the limit doubles (capped at max), reason `slow-start`; otherwise r < `growBelow` gives +1,
 *   reason `increase`;
 *   else it holds. Slow start ends for good at the first window with r ≥ `slowStartBelow`, the
 *   first decrease or the first 429/503.
 * - *Overload.* A 429/503 of a request sent after the last decrease: limit →
 *   max(1, ⌊limit · overloadFactor⌋), or at limit 1 the delay goes to `firstDelayMs`, then doubles
 *   (capped at `maxDelayMs`); reason `429`/`503`. A 429/503 of a request sent at or before the
 *   last decrease belongs to the event that caused it and changes nothing: one overloaded burst
 *   is one decrease.
 *
 * **Ceiling.** The limit at which the last overload came is remembered. Additive increase to
 * that ceiling (or past it) waits until `probeEvery` windows in a row have ended just below it;
 * `probeEvery` is 8 after an overload below the ceiling, and doubles (up to 64) each time a probe
 * of the ceiling draws a 429/503 again — that probe's event sets the limit back to ceiling − 1
 * rather than multiplying it down, since ceiling − 1 is known to hold. A window completed at or
 * above the ceiling clears it. So a host that refuses at a fixed concurrency and does not slow
 * down first (latency gives no warning) is probed ever more rarely, TCP CUBIC's plateau in
 * spirit, and one whose capacity rose is found again within 64 windows.
 *
 * **Delay.** With a delay d > 0, requests to the host start at least d ms apart. It is never
 * above 0 while the limit is above 1: the delay is the last resort, the limit the main control.
 *
 * Responses of requests sent before the last change are not counted in a window: they measured
 * the host under the old limit.
 *
 * **Base latency.** Only a lowest-ever base keeps the reference honest while the host is kept
 * busy: a base that forgot old lows would drift up to the loaded latency and make the throttle
 * probe past the host's capacity again and again. A host that got slower for good is seen at
 * limit 1, where the crawl adds no load of its own; so a window at limit 1 sets the base to its
 * latency (up or down), and a throttle driven down by a slower host re-learns its base there.
 */
export class AutoThrottle {
  readonly #max: number;
  readonly #overloadFactor: number;
  readonly #latencyFactor: number;
  readonly #slowStartBelow: number;
  readonly #growBelow: number;
  readonly #shrinkAbove: number;
  readonly #firstDelay: number;
  readonly #maxDelay: number;

  #limit: number;
  #delay = 0;
  #reason: ThrottleReason = 'start';
  #changedAt: number;
  #decreasedAt = Number.NEGATIVE_INFINITY;
  #slowStart = true;
  #changes = 0;
  #updates = 0;
  // The limit at which the last 429/503 came, and how many windows to hold just below it before
  // trying it again (see the class comment).
  #ceiling = Number.POSITIVE_INFINITY;
  #probeEvery = MIN_PROBE_WINDOWS;
  #held = 0;
  // The window being counted.
  #count = 0;
  #sum = 0;
  #samples = 0;
  #limited = false;
  #latency: number | null = null;
  #base = Number.POSITIVE_INFINITY;

  /** A throttle at `initialConcurrency`, created at clock time `now`. */
  constructor(config: AutoThrottleConfig, now: number) {
    const max = config.maxConcurrency;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`maxConcurrency must be an integer ≥ 1, got ${max}`);
    this.#max = max;
    this.#limit = Math.min(max, Math.max(1, Math.floor(config.initialConcurrency ?? 1)));
    this.#overloadFactor = config.overloadFactor ?? 0.7;
    this.#latencyFactor = config.latencyFactor ?? 0.9;
    this.#slowStartBelow = config.slowStartBelow ?? 1.25;
    this.#growBelow = config.growBelow ?? 1.5;
    this.#shrinkAbove = config.shrinkAbove ?? 2.5;
    this.#firstDelay = config.firstDelayMs ?? 100;
    this.#maxDelay = config.maxDelayMs ?? 300_000;
    this.#changedAt = now;
  }

  /** The concurrency limit now. */
  get limit(): number {
    return this.#limit;
  }

  /** The least time between two requests now, ms (0 unless the limit is 1). */
  get delayMs(): number {
    return this.#delay;
  }

  /** How many times the limit or the delay changed: a cheap "anything new?" for reporters. */
  get changes(): number {
    return this.#changes;
  }

  /** How many times the state changed at all (a change, or a window's latency measured). */
  get updates(): number {
    return this.#updates;
  }

  /** The base latency, ms, or null before the first window. */
  get baseLatencyMs(): number | null {
    return this.#base === Number.POSITIVE_INFINITY ? null : this.#base;
  }

  /** The state as plain data. */
  state(): ThrottleState {
    return {
      limit: this.#limit,
      delayMs: this.#delay,
      reason: this.#reason,
      changedAt: this.#changedAt,
      latencyMs: this.#latency,
      baseLatencyMs: this.baseLatencyMs,
    };
  }

  /**
   * A request to the host starts with `inFlight` requests in flight, itself included. Only marks
   * the window limit-bound when that is the limit: growth needs the host to have taken the load.
   */
  sent(inFlight: number): void {
    if (inFlight >= this.#limit) this.#limited = true;
  }

  /**
   * A response other than 429/503 to a request sent at `sentAt`, at clock time `now`;
   * `latencyMs` is how long it took (null: not known, e.g. served by a browser — the response
   * then counts in the window without a latency sample). See the class for the window rule.
   */
  responded(sentAt: number, latencyMs: number | null, now: number): void {
    if (sentAt < this.#changedAt) return;
    this.#count++;
    if (latencyMs !== null && latencyMs >= 0 && Number.isFinite(latencyMs)) {
      this.#sum += latencyMs;
      this.#samples++;
    }
    if (this.#count >= this.#limit) this.#endWindow(now);
  }

  /**
   * A 429 or 503 to a request sent at `sentAt`, arriving at `now`. Returns true when it was a new
   * overload event (the limit or delay went down), false when it belongs to the last one.
   */
  overloaded(sentAt: number, status: 429 | 503, now: number): boolean {
    if (sentAt <= this.#decreasedAt) return false;
    const reason = status === 429 ? '429' : '503';
    if (this.#limit > 1 && this.#limit >= this.#ceiling) {
      // A failed probe of a limit that failed before: back to just below it, and wait twice as
      // long before the next try.
      this.#probeEvery = Math.min(MAX_PROBE_WINDOWS, this.#probeEvery * 2);
      this.#slowStart = false;
      this.#decreasedAt = now;
      this.#change(this.#ceiling - 1, 0, reason, now);
      return true;
    }
    // Below the last ceiling (or the first event): the host can take less than it could.
    this.#ceiling = this.#limit;
    this.#probeEvery = MIN_PROBE_WINDOWS;
    this.#decrease(this.#overloadFactor, reason, now);
    return true;
  }

  #endWindow(now: number): void {
    const latency = this.#samples > 0 ? this.#sum / this.#samples : null;
    const limited = this.#limited;
    this.#resetWindow();
    // Without a latency sample (every response rendered, say) a window says only "coping".
    let r = 1;
    if (latency !== null) {
      this.#updates++;
      this.#latency = latency;
      if (this.#limit === 1 || latency < this.#base) this.#base = latency;
      r = this.#base > 0 ? latency / this.#base : 1;
    }
    if (r >= this.#shrinkAbove) {
      this.#decrease(this.#latencyFactor, 'latency', now);
      return;
    }
    if (this.#delay > 0) {
      if (r < this.#growBelow) {
        const half = this.#delay / 2;
        this.#change(this.#limit, half < this.#firstDelay ? 0 : half, 'increase', now);
      }
      return;
    }
    if (this.#slowStart && r >= this.#slowStartBelow) this.#slowStart = false;
    // A whole window at or above the ceiling without a 429/503: the host takes more now.
    if (this.#limit >= this.#ceiling) {
      this.#ceiling = Number.POSITIVE_INFINITY;
      this.#probeEvery = MIN_PROBE_WINDOWS;
    }
    if (!limited || this.#limit >= this.#max) return;
    if (this.#slowStart) {
      this.#change(Math.min(this.#max, this.#limit * 2), 0, 'slow-start', now);
    } else if (r < this.#growBelow) {
      // Just below the ceiling, hold `probeEvery` windows before trying it again.
      if (this.#limit + 1 >= this.#ceiling && ++this.#held < this.#probeEvery) return;
      this.#change(this.#limit + 1, 0, 'increase', now);
    }
  }

  // Multiplicative decrease of the limit, or at limit 1 the delay's next step.
  #decrease(factor: number, reason: ThrottleReason, now: number): void {
    this.#slowStart = false;
    this.#decreasedAt = now;
    if (this.#limit > 1) {
      this.#change(Math.max(1, Math.floor(this.#limit * factor)), 0, reason, now);
    } else {
      const delay = this.#delay === 0 ? this.#firstDelay : Math.min(this.#maxDelay, this.#delay * 2);
      this.#change(1, delay, reason, now);
    }
  }

  #change(limit: number, delay: number, reason: ThrottleReason, now: number): void {
    this.#held = 0;
    this.#limit = limit;
    this.#delay = delay;
    this.#reason = reason;
    this.#changedAt = now;
    this.#changes++;
    this.#updates++;
    this.#resetWindow();
  }

  #resetWindow(): void {
    this.#count = 0;
    this.#sum = 0;
    this.#samples = 0;
    this.#limited = false;
  }
}
