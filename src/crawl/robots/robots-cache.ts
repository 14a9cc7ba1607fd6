/**
 * A per-origin cache of robots.txt: one fetch per origin at a time (concurrent askers share it),
 * results kept for a bounded time, the RFC 9309 status rules applied to failures.
 */
import { type Clock, systemClock } from '../../conc/clock.js';
import { parseRobots, type Robots, robotsForStatus } from './robots.js';

/**
 * Fetches a robots.txt URL, following up to five redirects (RFC 9309 §2.3.1.2), and resolves
 * with the final status and body text (only the body of a 2xx is used; callers should cap it,
 * the RFC allows stopping at 500 KiB). Rejects on a network error or timeout, which the cache
 * treats as "unreachable".
 */
export type RobotsFetch = (url: string) => Promise<{ status: number; body: string }>;

/** Options for {@link RobotsCache}. */
export interface RobotsCacheOptions {
  fetch: RobotsFetch;
  /** How long a fetched (2xx or 4xx) result is used. Default and RFC maximum: 24 hours. */
  ttlMs?: number;
  /** How long a 429/5xx/unreachable result (disallow all) is used before retrying. Default 5 minutes. */
  errorTtlMs?: number;
  /** Origins kept; the least recently used is dropped beyond this. Default 10,000. */
  maxEntries?: number;
  clock?: Clock;
}

interface Entry {
  expires: number;
  robots: Promise<Robots>;
}

/** See the file comment. */
export class RobotsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttl: number;
  private readonly errorTtl: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;

  constructor(private readonly opts: RobotsCacheOptions) {
    this.ttl = opts.ttlMs ?? 24 * 3600_000;
    this.errorTtl = opts.errorTtlMs ?? 5 * 60_000;
    this.maxEntries = Math.max(1, opts.maxEntries ?? 10_000);
    this.clock = opts.clock ?? systemClock;
  }

  /**
   * The Robots for `url`'s origin (scheme, host, port). Fetches `<origin>/robots.txt` if there
   * is no fresh entry; concurrent calls for one origin share a single fetch. A 2xx body is
   * parsed; other statuses and fetch failures map through {@link robotsForStatus} (4xx → allow
   * all, 429/5xx/unreachable → disallow all, kept only `errorTtlMs`). The promise never
   * rejects; a `url` that is not an absolute http(s) URL throws a TypeError synchronously.
   */
  get(url: string): Promise<Robots> {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${url}`);
    const origin = u.origin;
    const now = this.clock.now();
    const hit = this.entries.get(origin);
    if (hit !== undefined && hit.expires > now) {
      // Re-insert to keep Map order = least recently used first.
      this.entries.delete(origin);
      this.entries.set(origin, hit);
      return hit.robots;
    }
    const entry: Entry = { expires: Number.POSITIVE_INFINITY, robots: Promise.resolve(undefined as never) };
    entry.robots = this.load(`${origin}/robots.txt`).then(({ robots, ok }) => {
      entry.expires = this.clock.now() + (ok ? this.ttl : this.errorTtl);
      return robots;
    });
    this.entries.delete(origin);
    this.entries.set(origin, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry.robots;
  }

  /** Shorthand for `(await get(url)).isAllowed(url, userAgent)`. */
  async isAllowed(url: string, userAgent: string): Promise<boolean> {
    return (await this.get(url)).isAllowed(url, userAgent);
  }

  /** Number of origins cached (fresh or stale). */
  get size(): number {
    return this.entries.size;
  }

  private async load(robotsUrl: string): Promise<{ robots: Robots; ok: boolean }> {
    let status: number;
    let body = '';
    try {
      ({ status, body } = await this.opts.fetch(robotsUrl));
    } catch {
      status = 0;
    }
    const fixed = robotsForStatus(status);
    if (fixed === undefined) return { robots: parseRobots(robotsUrl, body), ok: true };
    return { robots: fixed, ok: status >= 300 && status < 500 && status !== 429 };
  }
}
