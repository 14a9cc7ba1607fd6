import { type Clock, systemClock } from '../../conc/clock.js';
import { Limiter } from '../../conc/rate.js';

/** What the crawl knows about robots.txt for a host. */
export type RobotsStatus = 'pending' | 'ok' | 'allow-all' | 'disallow-all' | 'ignored';

/** Per-host politeness state: its own token bucket, concurrency count, pause and robots. */
export interface HostState {
  readonly host: string;
  readonly limiter: Limiter;
  /** Requests to this host now in flight. */
  active: number;
  /** No request before this time (Retry-After, 429 backoff). */
  pausedUntil: number;
  /** Consecutive 429/503 responses, for exponential backoff. */
  backoffLevel: number;
  robots: RobotsStatus;
  /** Crawl-delay from robots.txt in seconds, if any. */
  crawlDelay?: number;
  /** Records stored for this host (for --max-pages-per-host). */
  pages: number;
  /** Pages leased and not yet finished, counted against the per-host budget. */
  reserved: number;
  requests: number;
  errors: number;
}

/** Politeness settings shared by every host. */
export interface HostPolicy {
  rate: number;
  burst: number;
  concurrency: number;
  maxPages: number;
  /** Cap of the exponential 429 backoff, ms. */
  maxBackoffMs: number;
}

/**
 * Per-host politeness on top of the global limits: each host has its own token bucket, its own
 * concurrency cap, a pause (Retry-After, backoff) and a page budget. The scheduler asks
 * {@link HostTable.ready} before leasing a host's URL, so one throttled host never blocks the
 * others; {@link HostTable.nextReadyAt} tells it how long to sleep when no host can go.
 */
export class HostTable {
  readonly #hosts = new Map<string, HostState>();
  readonly #policy: HostPolicy;
  readonly #clock: Clock;

  /** `clock` drives every host's token bucket and the pauses (tests inject a FakeClock). */
  constructor(policy: HostPolicy, clock: Clock = systemClock) {
    this.#policy = policy;
    this.#clock = clock;
  }

  /** The state of `host`, created on first use with robots `pending` (or as given). */
  get(host: string, robots: RobotsStatus = 'pending'): HostState {
    let s = this.#hosts.get(host);
    if (!s) {
      s = {
        host,
        limiter: new Limiter(this.#policy.rate, this.#policy.burst, this.#clock),
        active: 0,
        pausedUntil: 0,
        backoffLevel: 0,
        robots,
        pages: 0,
        reserved: 0,
        requests: 0,
        errors: 0,
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
  all(): IterableIterator<HostState> {
    return this.#hosts.values();
  }

  /**
   * True when a request to `host` may start at `now`: robots known, under the concurrency cap,
   * not paused, a token available and page budget left. Does not take the token.
   */
  ready(s: HostState, now: number): boolean {
    return (
      s.robots !== 'pending' &&
      s.active < this.#policy.concurrency &&
      s.pausedUntil <= now &&
      s.pages + s.reserved < this.#policy.maxPages &&
      s.limiter.tokensAt(now) >= 1
    );
  }

  /** True when the host's page budget is used up (its remaining URLs are skipped). */
  exhausted(s: HostState): boolean {
    return s.pages + s.reserved >= this.#policy.maxPages;
  }

  /** Takes the host's token and a concurrency slot for one request starting at `now`. */
  take(s: HostState, now: number): void {
    s.limiter.allowN(now, 1);
    s.active++;
    s.reserved++;
  }

  /** Gives back the concurrency slot; `stored` says whether a record was written. */
  finish(s: HostState, stored: boolean): void {
    s.active--;
    s.reserved--;
    if (stored) s.pages++;
  }

  /** Applies robots.txt's Crawl-delay: at most one request per `delaySec` seconds, burst 1. */
  applyCrawlDelay(s: HostState, delaySec: number): void {
    s.crawlDelay = delaySec;
    if (delaySec <= 0) return;
    const now = this.#clock.now();
    const rate = Math.min(this.#policy.rate, 1 / delaySec);
    s.limiter.setLimitAt(now, rate);
    s.limiter.setBurstAt(now, 1);
  }

  /**
   * Pauses the host after a 429/503: for the Retry-After when given, else exponentially
   * (1 s, 2 s, 4 s ... capped) in the number of consecutive throttling responses.
   */
  throttle(s: HostState, retryAfterMs: number | null): number {
    s.backoffLevel++;
    const backoff = Math.min(this.#policy.maxBackoffMs, 1000 * 2 ** (s.backoffLevel - 1));
    const wait = retryAfterMs ?? backoff;
    s.pausedUntil = Math.max(s.pausedUntil, this.#clock.now() + wait);
    return wait;
  }

  /** A successful response ends the host's backoff streak. */
  succeeded(s: HostState): void {
    s.backoffLevel = 0;
  }

  /**
   * The earliest time after `now` at which `s` could become ready by time alone (pause or
   * token refill), or undefined if only an event (a request finishing, robots) can free it.
   */
  nextReadyAt(s: HostState, now: number): number | undefined {
    if (s.robots === 'pending' || s.active >= this.#policy.concurrency) return undefined;
    let at = Math.max(now, s.pausedUntil);
    const tokens = s.limiter.tokensAt(at);
    if (tokens < 1) {
      const limit = s.limiter.limit();
      if (limit <= 0) return undefined;
      at += ((1 - tokens) / limit) * 1000;
    }
    return at;
  }
}
