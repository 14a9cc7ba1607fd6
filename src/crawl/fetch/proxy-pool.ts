/**
 * The crawl's proxies and which one a request goes through. Pure bookkeeping on an injected
 * clock — no sockets, no timers: the engine asks {@link ProxyPool.pick} for a proxy, reports how
 * the request went with {@link ProxyPool.failed} / {@link ProxyPool.succeeded}, and when every
 * proxy is on backoff it gets the time to wait instead (and says so in the progress line).
 */
import { type Clock, systemClock } from '../../conc/clock.js';
import type { ProxySpec } from './proxy-url.js';

/** `round-robin`: each pick takes the next proxy that is up. `session`: sticky per session slot. */
export type ProxyRotation = 'round-robin' | 'session';

/** Options of a {@link ProxyPool}. */
export interface ProxyPoolOptions {
  /** Default `round-robin`. */
  rotation?: ProxyRotation;
  /** The time source (ms). Default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Backoff after a proxy's first failure, ms. Default 1000. */
  baseBackoffMs?: number;
  /** Longest backoff, ms. Default 60 000. */
  maxBackoffMs?: number;
}

/** One proxy as the dashboard and /metrics show it. Never credentials. */
export interface ProxyStat {
  /** The proxy's `display` (`scheme://host:port`). */
  display: string;
  /** Picks of this proxy (requests sent, or about to be, through it). */
  requests: number;
  /** Failures reported with {@link ProxyPool.failed}, all of them. */
  errors: number;
  /** `backoff` while the proxy's backoff runs; `up` otherwise (also right after it ends). */
  state: 'up' | 'backoff';
  /** When the backoff ends (clock ms), or null when up. */
  until: number | null;
  /** The reason of the last failure (as given to `failed`, which must hold no secret), or null. */
  lastError: string | null;
}

/** What {@link ProxyPool.pick} answers: a proxy's index, or how long until one is back. */
export type ProxyPick = { index: number } | { waitMs: number };

interface Entry {
  requests: number;
  errors: number;
  /** Failures since the last success; the backoff is base × 2^(streak − 1), capped. */
  streak: number;
  /** End of the current (or last) backoff, or null when the proxy has not failed since a success. */
  until: number | null;
  /** Picked since its last backoff was set: a failure now is a new attempt's. */
  tried: boolean;
  lastError: string | null;
}

/**
 * A pool of proxies with rotation and per-proxy backoff. A proxy is *up* when it has not failed
 * since its last success or its backoff has ended (half-open: it is tried again, one success
 * resets it, one more failure doubles its backoff). Not thread-safe beyond JS's single thread;
 * every method is synchronous.
 */
export class ProxyPool {
  /** The proxies, in the order given; indexes refer to this array. */
  readonly proxies: readonly ProxySpec[];
  readonly rotation: ProxyRotation;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly entries: Entry[];
  private cursor = 0;

  /**
   * A pool over `proxies` (at least one; RangeError otherwise, and for a base backoff that is
   * not a positive finite number or a cap below the base). Every proxy starts up.
   */
  constructor(proxies: readonly ProxySpec[], options: ProxyPoolOptions = {}) {
    if (proxies.length === 0) throw new RangeError('ProxyPool needs at least one proxy');
    const base = options.baseBackoffMs ?? 1000;
    const max = options.maxBackoffMs ?? 60_000;
    if (!Number.isFinite(base) || base <= 0) throw new RangeError(`baseBackoffMs must be > 0 (got ${base})`);
    if (!(max >= base)) throw new RangeError(`maxBackoffMs must be ≥ baseBackoffMs (got ${max})`);
    this.proxies = [...proxies];
    this.rotation = options.rotation ?? 'round-robin';
    this.clock = options.clock ?? systemClock;
    this.baseMs = base;
    this.maxMs = max;
    this.entries = proxies.map(() => ({
      requests: 0,
      errors: 0,
      streak: 0,
      until: null,
      tried: false,
      lastError: null,
    }));
  }

  /** The number of proxies. */
  get size(): number {
    return this.proxies.length;
  }

  /**
   * The proxy for the next request of session slot `slot` (any number: truncated, negative ones
   * wrap, a non-finite one is 0; ignored by round-robin), counted as one request of that proxy
   * and marking it tried (see {@link ProxyPool.failed}). Round-robin: the first up proxy at or after a cursor
   * that moves past each pick, so n up proxies take turns evenly and a proxy on backoff is
   * skipped. Session: proxy `slot mod n` while it is up; when it is down, the next up proxy
   * after it (wrapping), and the slot returns to its own as soon as that is up again. When every
   * proxy is on backoff: `{ waitMs }`, the time (> 0) until the first backoff ends; nothing is
   * counted.
   */
  pick(slot: number): ProxyPick {
    const n = this.entries.length;
    const now = this.clock.now();
    const home = Number.isFinite(slot) ? ((Math.trunc(slot) % n) + n) % n : 0;
    const start = this.rotation === 'session' ? home : this.cursor;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.isUp(i, now)) {
        if (this.rotation === 'round-robin') this.cursor = (i + 1) % n;
        const e = this.entries[i]!;
        e.requests++;
        e.tried = true;
        return { index: i };
      }
    }
    return { waitMs: this.nextUpAt() - now };
  }

  /**
   * Reports that a request through proxy `index` failed because of the proxy (refused, 407,
   * 502/503 from the proxy itself, timeout...); `reason` is kept for the dashboard and must hold
   * no secret. Counts an error; if the proxy is up, puts it on backoff for base × 2^(f − 1) ms,
   * capped, where f counts its failures since its last success — so a proxy whose backoff ended
   * and that fails again waits twice as long. One step per attempt: a failure reported while the
   * proxy is on backoff, or after its backoff ended but before it was picked again (either way a
   * request that was in flight through it when it failed) counts as an error but neither
   * lengthens the backoff nor doubles the next one. RangeError for an index that is not a
   * proxy's.
   */
  failed(index: number, reason: string): void {
    const e = this.entry(index);
    const now = this.clock.now();
    e.errors++;
    e.lastError = reason;
    // Not picked since its backoff was set (so also still on it): an earlier attempt's failure.
    if (e.until !== null && !e.tried) return;
    e.streak++;
    e.tried = false;
    const backoff = Math.min(this.baseMs * 2 ** (e.streak - 1), this.maxMs);
    e.until = now + backoff;
  }

  /**
   * Reports that a request through proxy `index` got an answer from past the proxy (whatever
   * the target's status): the proxy is up, its backoff is cleared and the doubling starts over
   * (a late success of a request sent before a failure counts too: the proxy did answer).
   * RangeError for an index that is not a proxy's.
   */
  succeeded(index: number): void {
    const e = this.entry(index);
    e.streak = 0;
    e.until = null;
  }

  /** True when every proxy is on backoff now (a pick would answer `{ waitMs }`). */
  allDown(): boolean {
    const now = this.clock.now();
    for (let i = 0; i < this.entries.length; i++) if (this.isUp(i, now)) return false;
    return true;
  }

  /** Per-proxy figures, in index order, for the dashboard and /metrics: display only. */
  stats(): ProxyStat[] {
    const now = this.clock.now();
    return this.entries.map((e, i) => {
      const up = this.isUp(i, now);
      return {
        display: this.proxies[i]!.display,
        requests: e.requests,
        errors: e.errors,
        state: up ? 'up' : 'backoff',
        until: up ? null : e.until,
        lastError: e.lastError,
      };
    });
  }

  private isUp(i: number, now: number): boolean {
    const until = this.entries[i]!.until;
    return until === null || now >= until;
  }

  private nextUpAt(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const e of this.entries) if (e.until !== null && e.until < first) first = e.until;
    return first;
  }

  private entry(index: number): Entry {
    const e = Number.isInteger(index) ? this.entries[index] : undefined;
    if (e === undefined) throw new RangeError(`no proxy ${index} (the pool has ${this.entries.length})`);
    return e;
  }
}
