/**
 * What the metrics know about the crawl's identities (proxies and sessions), as last reported by
 * the engine's sampler. Kept apart from CrawlMetrics so that the merging, capping and
 * never-decreasing rules live in one place that the snapshot and `/metrics` both read.
 */
import type { ProxyRow } from './snapshot.js';

/** Distinct proxy displays that get their own row and `proxy` label; later ones are left out. */
export const MAX_PROXY_ROWS = 1000;
/** Longest proxy display kept (a display is `scheme://host:port`, far shorter in practice). */
const MAX_DISPLAY = 500;

/** One proxy as the engine reports it (a ProxyPool's `ProxyStat`; `lastError` is not used). */
export interface ProxyReport {
  display: string;
  requests: number;
  errors: number;
  state: 'up' | 'backoff';
  until: number | null;
}

/** Everything {@link IdentityStats.update} takes: what `CrawlMetrics.setIdentities` is given. */
export interface IdentityReport {
  proxies: readonly ProxyReport[];
  proxiesDown: boolean;
  sessions: { live: number; created: number; retired: number };
}

/**
 * A count that never goes down, fed with a source's running total: a total lower than the last
 * one is taken as a source that started over (a new pool), so its new total is added on top of
 * what was counted before — the way Prometheus reads a counter reset, done here so that the
 * series trawl serves stays monotonic whatever it is fed.
 */
class MonotonicCount {
  #base = 0;
  #last = 0;

  set(total: number): void {
    if (total < this.#last) this.#base += this.#last;
    this.#last = total;
  }

  get value(): number {
    return this.#base + this.#last;
  }
}

interface ProxyEntry {
  display: string;
  requests: MonotonicCount;
  errors: MonotonicCount;
}

/** The proxies present in the last report, merged by display. */
interface PresentProxy {
  entry: ProxyEntry;
  state: 'up' | 'backoff';
  until: number | null;
}

/** A finite, non-negative count, else 0 (a broken report must not poison the counters). */
const count = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/**
 * The identity figures of one crawl. Proxies are keyed by their display (cut to 500
 * characters): reports of the same display (the same proxy in HTTP_PROXY's and HTTPS_PROXY's
 * pools) are merged into one row — counts summed, `backoff` when any of them is on backoff, with
 * the latest `until` (the time the proxy is back for every target). The first
 * {@link MAX_PROXY_ROWS} distinct displays ever reported keep their row and label for the whole
 * crawl; later ones are not shown at all (counted in `proxiesTotal` only), which bounds the
 * label cardinality. Request, error, created and retired counts never go down (see
 * {@link MonotonicCount}).
 */
export class IdentityStats {
  readonly #proxies = new Map<string, ProxyEntry>();
  #present: PresentProxy[] = [];
  #presentTotal = 0;
  #down = false;
  #live = 0;
  readonly #created = new MonotonicCount();
  readonly #retired = new MonotonicCount();

  /**
   * Replaces the last report with `r`. Proxies absent from `r` lose their row and `up` series
   * but keep their (never-decreasing) request and error counts; counts that are not finite
   * non-negative numbers are taken as 0. O(proxies in `r`).
   */
  update(r: IdentityReport): void {
    const merged = new Map<
      string,
      { requests: number; errors: number; down: boolean; until: number | null }
    >();
    for (const p of r.proxies) {
      const display = p.display.length > MAX_DISPLAY ? `${p.display.slice(0, MAX_DISPLAY)}…` : p.display;
      const m = merged.get(display);
      const down = p.state === 'backoff';
      if (m === undefined) {
        merged.set(display, { requests: count(p.requests), errors: count(p.errors), down, until: p.until });
        continue;
      }
      m.requests += count(p.requests);
      m.errors += count(p.errors);
      m.down ||= down;
      if (p.until !== null && (m.until === null || p.until > m.until)) m.until = p.until;
    }
    const present: PresentProxy[] = [];
    for (const [display, m] of merged) {
      let entry = this.#proxies.get(display);
      if (entry === undefined) {
        if (this.#proxies.size >= MAX_PROXY_ROWS) continue;
        entry = { display, requests: new MonotonicCount(), errors: new MonotonicCount() };
        this.#proxies.set(display, entry);
      }
      entry.requests.set(m.requests);
      entry.errors.set(m.errors);
      // A proxy that is up has no backoff end to show, whatever a merged twin said.
      present.push({ entry, state: m.down ? 'backoff' : 'up', until: m.down ? m.until : null });
    }
    this.#present = present;
    this.#presentTotal = merged.size;
    this.#down = r.proxiesDown;
    this.#live = count(r.sessions.live);
    this.#created.set(count(r.sessions.created));
    this.#retired.set(count(r.sessions.retired));
  }

  /**
   * The proxies of the last report, in the order first reported within it, with the backoff
   * left at `now` (ms, the metrics' clock: 0 when up or when `until` has passed).
   */
  rows(now: number): ProxyRow[] {
    return this.#present.map((p) => ({
      display: p.entry.display,
      requests: p.entry.requests.value,
      errors: p.entry.errors.value,
      state: p.state,
      until: p.until,
      backoffMs: p.until === null ? 0 : Math.max(0, p.until - now),
    }));
  }

  /** Distinct proxy displays in the last report (more than `rows` when capped). */
  get proxiesTotal(): number {
    return this.#presentTotal;
  }

  /** The last report's `proxiesDown`, false before any report. */
  get proxiesDown(): boolean {
    return this.#down;
  }

  /** Live sessions as last reported, and sessions created and retired (never decreasing). */
  get sessions(): { live: number; created: number; retired: number } {
    return { live: this.#live, created: this.#created.value, retired: this.#retired.value };
  }

  /** Every proxy ever labelled with its request and error counts, for the counters. */
  *counts(): Iterable<{ display: string; requests: number; errors: number }> {
    for (const e of this.#proxies.values()) {
      yield { display: e.display, requests: e.requests.value, errors: e.errors.value };
    }
  }

  /** The labelled proxies of the last report and whether each is up, for `trawl_proxy_up`. */
  *up(): Iterable<{ display: string; up: boolean }> {
    for (const p of this.#present) yield { display: p.entry.display, up: p.state === 'up' };
  }
}
