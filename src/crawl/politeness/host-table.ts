import { type Clock, systemClock } from '../../conc/clock.js';
import { Limiter } from '../../conc/rate.js';
import { AutoThrottle } from './auto-throttle.js';

/**
 * What the crawl knows about robots.txt for a host: `pending` (first fetch not settled), `ok`
 * (rules from a 2xx), `allow-all` (4xx but 429, or redirect trouble), `disallow-all` (unreachable
 * for now: 429, 5xx or no response; fetched again, see robots-gate.ts) or `ignored`.
 */
export type RobotsStatus = 'pending' | 'ok' | 'allow-all' | 'disallow-all' | 'ignored';

/**
 * One host's politeness state: its own token bucket, concurrency count, pause, adaptive
 * concurrency cap and robots. The engine reads these fields; only {@link HostTable} writes the
 * ones {@link HostTable.readyAt} reads (`active`, `pausedUntil`, `concurrencyCap`, `robots`,
 * `pages`, `reserved`, `lastStartAt`, the buckets) and the backoff ones (`backoffLevel`,
 * `throttledAt`), so that it can tell when a host may go sooner (see its `mayGo`).
 */
export interface HostPoliteness {
  readonly host: string;
  readonly limiter: Limiter;
  /**
   * The same bucket again, taken when the request goes out (fetch-step's admit), after the
   * connection: `limiter` decides when a request may be dispatched, `wire` that the server sees
   * the rate — a request that waited for a connection would otherwise arrive right before the
   * next one to its host.
   */
  readonly wire: Limiter;
  /** Requests to this host now in flight. */
  active: number;
  /** No request before this time (Retry-After, 429/503 backoff). */
  pausedUntil: number;
  /** Consecutive throttle events (not responses: one overloaded burst is one event), for exponential backoff. */
  backoffLevel: number;
  /** Clock time the last throttle event began (-Infinity before the first). */
  throttledAt: number;
  /**
   * The host's effective concurrency cap, 1 ≤ cap ≤ policy.concurrency: halved by each throttle
   * event, grown back by one per `cap` successes (see {@link HostTable.succeeded}); with an
   * auto-throttle, its limit.
   */
  concurrencyCap: number;
  /** Successes counted towards the next +1 of `concurrencyCap`. */
  successesToGrow: number;
  robots: RobotsStatus;
  /** Crawl-delay from robots.txt in seconds, if any. */
  crawlDelay?: number;
  /** Records stored for this host (for --max-pages-per-host). */
  pages: number;
  /** Pages leased and not yet finished, counted against the per-host budget. */
  reserved: number;
  /** Requests made to this host (the engine counts them). */
  requests: number;
  /**
   * The host's server-aware throttle with `--auto-throttle` (then `concurrencyCap` follows its
   * limit, and its delay spaces requests), else null.
   */
  readonly auto: AutoThrottle | null;
  /** Clock time the last request to this host started (-Infinity before the first). */
  lastStartAt: number;
}

/** Politeness settings shared by every host. */
export interface HostPolicy {
  rate: number;
  burst: number;
  /** Most requests in flight per host; a host's adaptive cap starts here and never exceeds it. */
  concurrency: number;
  maxPages: number;
  /** Cap of the exponential 429/503 backoff, ms. */
  maxBackoffMs: number;
  /** The first backoff step, ms (doubling per event up to maxBackoffMs). Default 1000. */
  backoffBaseMs?: number;
  /**
   * `--auto-throttle`: each host's concurrency and delay are set by an {@link AutoThrottle}
   * (from 1 up to `concurrency`, delay capped at maxBackoffMs) instead of the backoff pauses.
   * Default false.
   */
  autoThrottle?: boolean;
}

/**
 * Per-host politeness on top of the global limits: each host has its own token bucket, its own
 * concurrency cap, a pause (Retry-After, backoff) and a page budget. The scheduler asks
 * {@link HostTable.readyAt} before leasing a host's URL, so one throttled host never blocks the
 * others (and the frontier sets a host aside until the time it says); {@link HostTable.nextReadyAt}
 * tells it how long to sleep when no host can go.
 *
 * Overload (429/503) is handled per *event*, not per response: the responses to requests that
 * were already in flight when the host's pause began belong to that one event (a burst of 56
 * 503s is one signal, not 56). Each event doubles the pause and halves the host's concurrency
 * cap; successes grow the cap back by one per round of answers (AIMD, as TCP congestion
 * control), so after a pause the host comes back at the concurrency it coped with, not at full
 * burst.
 *
 * With `policy.autoThrottle` each host has an {@link AutoThrottle} instead: its limit is the
 * host's concurrency cap, its delay the least time between two request starts, and a 429/503
 * without Retry-After pauses nothing (the throttle's decrease is the answer to it); a
 * Retry-After still pauses the host for that long.
 */
export class HostTable {
  readonly #hosts = new Map<string, HostPoliteness>();
  readonly #policy: HostPolicy;
  readonly #clock: Clock;
  readonly #mayGo: (host: string) => void;

  /**
   * `clock` drives every host's token bucket and the pauses (tests inject a FakeClock).
   * `mayGo(host)` is told of every change here that can let a host go sooner than
   * {@link readyAt} said before it, all of them events (time alone never calls it): a request
   * finished ({@link finish}), robots.txt settled ({@link setRobots}), the concurrency cap grew
   * ({@link succeeded}, {@link throttle}). The engine hands it to the frontier (Frontier.wake),
   * which sets hosts aside until then; it must not call back into this table. Every other change
   * only delays a host (see readyAt), and the fields readyAt reads are written here alone — which
   * is why this set is complete. Default: nobody is told.
   */
  constructor(policy: HostPolicy, clock: Clock = systemClock, mayGo: (host: string) => void = () => {}) {
    this.#policy = policy;
    this.#clock = clock;
    this.#mayGo = mayGo;
  }

  /** The state of `host`, created on first use with robots `pending` (or as given). */
  get(host: string, robots: RobotsStatus = 'pending'): HostPoliteness {
    let s = this.#hosts.get(host);
    if (!s) {
      const auto = this.#policy.autoThrottle
        ? new AutoThrottle(
            { maxConcurrency: Math.max(1, this.#policy.concurrency), maxDelayMs: this.#policy.maxBackoffMs },
            this.#clock.now(),
          )
        : null;
      s = {
        host,
        limiter: new Limiter(this.#policy.rate, this.#policy.burst, this.#clock),
        wire: new Limiter(this.#policy.rate, this.#policy.burst, this.#clock),
        active: 0,
        pausedUntil: 0,
        backoffLevel: 0,
        throttledAt: Number.NEGATIVE_INFINITY,
        concurrencyCap: auto === null ? Math.max(1, this.#policy.concurrency) : auto.limit,
        successesToGrow: 0,
        robots,
        pages: 0,
        reserved: 0,
        requests: 0,
        auto,
        lastStartAt: Number.NEGATIVE_INFINITY,
      };
      this.#hosts.set(host, s);
    }
    return s;
  }

  /** Whether a known host exists in the table. */
  has(host: string): boolean {
    return this.#hosts.has(host);
  }

  /** All hosts, for metrics and status. */
  all(): IterableIterator<HostPoliteness> {
    return this.#hosts.values();
  }

  /**
   * True when a request to `host` may start at `now`: robots known, under the host's current
   * (adaptive) concurrency cap, not paused, its auto-throttle's delay since the last start
   * passed, a token available and page budget left. Does not take the token. The same as
   * `readyAt(s, now) <= now`.
   */
  ready(s: HostPoliteness, now: number): boolean {
    return this.readyAt(s, now) <= now;
  }

  /**
   * When a request to `host` may start, as seen at `now`: `now` when it may start now (see
   * {@link ready}); else, when only time stands in the way, the earliest time > `now` at which it
   * may (the later of its pause's end and its auto-throttle's delay after the last start, then
   * the time its bucket holds a token); else Infinity: only an event can let it go — robots.txt
   * pending (until it settles), its concurrency cap full (until a request finishes or the cap
   * grows), its page budget used up (until a reserved page finishes without a record).
   *
   * A finite answer only moves later while no such event happens (a pause is only ever extended,
   * the last start and the spent tokens only grow, a Crawl-delay only lowers the rate, and the
   * auto-throttle's delay only shrinks on a response at limit 1, while the host is at its cap),
   * which is why a frontier may keep the host aside until that time without asking again. If
   * rounding makes the token's time come out as the very time considered, the answer is 1 ms
   * later, so that a finite answer is always > `now` and `ready` agrees with it.
   */
  readyAt(s: HostPoliteness, now: number): number {
    if (s.robots === 'pending' || s.active >= s.concurrencyCap || this.exhausted(s))
      return Number.POSITIVE_INFINITY;
    const at = this.#earliest(s, now);
    const wait = this.#tokenWait(s, at);
    if (wait === 0) return at;
    const refill = at + wait;
    return refill > at ? refill : at + 1;
  }

  /** The later of `now`, the host's pause end and its auto-throttle's delay after the last start. */
  #earliest(s: HostPoliteness, now: number): number {
    const at = Math.max(now, s.pausedUntil);
    return s.auto === null ? at : Math.max(at, s.lastStartAt + s.auto.delayMs);
  }

  /** Ms from `at` until the host's bucket holds a token: 0 when it does, Infinity if it never refills. */
  #tokenWait(s: HostPoliteness, at: number): number {
    const tokens = s.limiter.tokensAt(at);
    if (tokens >= 1) return 0;
    const limit = s.limiter.limit();
    return limit <= 0 ? Number.POSITIVE_INFINITY : ((1 - tokens) / limit) * 1000;
  }

  /** True when the host's page budget is used up (its remaining URLs are skipped). */
  exhausted(s: HostPoliteness): boolean {
    return s.pages + s.reserved >= this.#policy.maxPages;
  }

  /** Takes the host's token and a concurrency slot for one request starting at `now`. */
  take(s: HostPoliteness, now: number): void {
    s.limiter.allowN(now, 1);
    s.active++;
    s.reserved++;
    s.lastStartAt = now;
    s.auto?.sent(s.active);
  }

  /**
   * Gives back the concurrency slot; `stored` says whether a record was written. Tells `mayGo`
   * (a slot is free, and without a record the page budget has room again).
   */
  finish(s: HostPoliteness, stored: boolean): void {
    s.active--;
    s.reserved--;
    if (stored) s.pages++;
    this.#mayGo(s.host);
  }

  /**
   * Sets what robots.txt says for the host (each time a fetch of it settles, success or not) and
   * tells `mayGo`: a host leaves `pending` only here.
   */
  setRobots(s: HostPoliteness, status: RobotsStatus): void {
    s.robots = status;
    this.#mayGo(s.host);
  }

  /**
   * Applies robots.txt's Crawl-delay: at most one request per `delaySec` seconds, burst 1. It only
   * lowers the rate, so it tells nobody (the robots.txt that carries it does: {@link setRobots}).
   */
  applyCrawlDelay(s: HostPoliteness, delaySec: number): void {
    s.crawlDelay = delaySec;
    if (delaySec <= 0) return;
    const now = this.#clock.now();
    const rate = Math.min(this.#policy.rate, 1 / delaySec);
    for (const l of [s.limiter, s.wire]) {
      l.setLimitAt(now, rate);
      l.setBurstAt(now, 1);
    }
  }

  /**
   * Records a 429/503 from the host and returns how long to wait before retrying that request,
   * ms (the host's remaining pause).
   *
   * `sentAt` is the clock time the request was sent (taken before it started). A response to a
   * request sent at or before the time the current event began belongs to that event: it does
   * not raise the backoff level, halve the cap again or extend the pause — except that a longer
   * Retry-After is honoured. Without `sentAt`, a response that arrives while the host is still
   * paused counts as the same event (no request is admitted during a pause, so it was sent
   * before the event); one arriving after the pause ends counts as a new event.
   *
   * A new event: the backoff level goes up by one, the host pauses for the Retry-After when
   * given, else `backoffBaseMs · 2^(level-1)` capped at maxBackoffMs, and its concurrency cap
   * halves (floor 1), so that after the pause it resumes with fewer requests in flight.
   *
   * With an auto-throttle (`s.auto`), `status` goes to {@link AutoThrottle.overloaded}, which
   * decides new event or not by `sentAt` (default now); there is no backoff pause, only a
   * Retry-After's, so the wait returned is what is left of that (0 without one). Should its limit
   * (the cap) come out higher, `mayGo` is told.
   */
  throttle(s: HostPoliteness, retryAfterMs: number | null, sentAt?: number, status: 429 | 503 = 503): number {
    const now = this.#clock.now();
    if (s.auto !== null) {
      // The throttle decides whether this is a new event (sent after its last decrease).
      s.auto.overloaded(sentAt ?? now, status, now);
      this.#setCap(s, s.auto.limit);
      if (retryAfterMs !== null) s.pausedUntil = Math.max(s.pausedUntil, now + retryAfterMs);
      return Math.max(0, s.pausedUntil - now);
    }
    const sameEvent = sentAt !== undefined ? sentAt <= s.throttledAt : now < s.pausedUntil;
    if (sameEvent) {
      if (retryAfterMs !== null) s.pausedUntil = Math.max(s.pausedUntil, now + retryAfterMs);
      return Math.max(0, s.pausedUntil - now);
    }
    s.throttledAt = now;
    s.backoffLevel++;
    s.concurrencyCap = Math.max(1, Math.floor(s.concurrencyCap / 2));
    s.successesToGrow = 0;
    const base = this.#policy.backoffBaseMs ?? 1000;
    const backoff = Math.min(this.#policy.maxBackoffMs, base * 2 ** (s.backoffLevel - 1));
    const wait = retryAfterMs ?? backoff;
    s.pausedUntil = Math.max(s.pausedUntil, now + wait);
    return Math.max(0, s.pausedUntil - now);
  }

  /**
   * Records a response that shows the host coping (the engine calls it for status < 400).
   * `sentAt` as for {@link throttle}: a success of a request sent at or before the last throttle
   * event began (without `sentAt`: one arriving while the host is still paused) says nothing
   * about the host after that event and is ignored. Otherwise it ends the backoff streak (the
   * next event pauses for the first step again) and counts towards growing the concurrency cap:
   * +1 once `concurrencyCap` successes have been seen (one per round of answers: additive
   * increase), up to policy.concurrency.
   *
   * With an auto-throttle (`s.auto`) the response, with `latencyMs` (from `sentAt` to its end;
   * null when not measured), goes to {@link AutoThrottle.responded} instead. When the cap grows,
   * `mayGo` is told.
   */
  succeeded(s: HostPoliteness, sentAt?: number, latencyMs: number | null = null): void {
    if (s.auto !== null) {
      const now = this.#clock.now();
      s.auto.responded(sentAt ?? now, latencyMs, now);
      this.#setCap(s, s.auto.limit);
      return;
    }
    const stale = sentAt !== undefined ? sentAt <= s.throttledAt : this.#clock.now() < s.pausedUntil;
    if (stale) return;
    s.backoffLevel = 0;
    if (s.concurrencyCap >= this.#policy.concurrency) return;
    if (++s.successesToGrow >= s.concurrencyCap) {
      s.successesToGrow = 0;
      this.#setCap(s, s.concurrencyCap + 1);
    }
  }

  /** Sets the host's concurrency cap, telling `mayGo` when it grew (a blocked host may go). */
  #setCap(s: HostPoliteness, cap: number): void {
    const grew = cap > s.concurrencyCap;
    s.concurrencyCap = cap;
    if (grew) this.#mayGo(s.host);
  }

  /**
   * The earliest time after `now` at which `s` could become ready by time alone (pause or
   * token refill), or undefined if only an event (a request finishing, robots) can free it.
   */
  nextReadyAt(s: HostPoliteness, now: number): number | undefined {
    if (s.robots === 'pending' || s.active >= s.concurrencyCap) return undefined;
    const at = this.#earliest(s, now);
    const wait = this.#tokenWait(s, at);
    return wait === Number.POSITIVE_INFINITY ? undefined : at + wait;
  }
}
