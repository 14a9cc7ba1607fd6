import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from '../../conc/clock.js';
import type { Weighted } from '../../conc/semaphore.js';
import { sleep } from '../../conc/time.js';
import { FetchError } from '../fetch/errors.js';
import { fetchPage } from '../fetch/fetch-page.js';
import type { RobotsStatus } from '../politeness/host-table.js';
import { parseRobots, type Robots, robotsForStatus } from './robots.js';

/** What the crawl learns when a host's robots.txt is settled. */
export interface RobotsInfo {
  status: RobotsStatus;
  crawlDelay?: number;
  sitemaps: string[];
  /** True when this is a refresh of an expired robots.txt, not the host's first. */
  refreshed: boolean;
}

export interface RobotsGateOptions {
  agent: Dispatcher;
  userAgent: string;
  timeoutMs: number;
  /** --ignore-robots: every host is settled at once as `ignored`. */
  ignore: boolean;
  /** The crawl's connection cap: robots fetches count against it like pages. */
  connections: Weighted;
  signal: AbortSignal;
  /** Called once per host when its robots.txt is settled (or ignored). */
  onReady: (host: string, info: RobotsInfo) => void;
  /** Attempts for a 5xx/unreachable robots.txt before the host is treated as disallow-all. */
  attempts?: number;
  /** Pause between those attempts, ms. */
  retryDelayMs?: number;
  /** How long a robots.txt is used before it is fetched again (default 24 h; a shorter Cache-Control max-age wins). */
  ttlMs?: number;
  /** Time source for the expiry (tests inject a FakeClock). */
  clock?: Clock;
}

const ROBOTS_MAX_BYTES = 512 * 1024;
const DAY_MS = 86_400_000;

/**
 * Fetches each host's robots.txt, keeps it for 24 hours (or its Cache-Control max-age, if
 * shorter; RFC 9309 §2.4) and then fetches it again in the background, answering from the old
 * rules meanwhile. Answers whether a URL may be fetched
 * (RFC 9309). 2xx: parsed; 4xx (but 429): allow all; 429, 5xx or unreachable: retried a few
 * times with a pause, then disallow all for this crawl (its URLs are recorded as skipped, so
 * the crawl still ends). Until settled, the host is `pending` and the scheduler leases none of
 * its URLs.
 */
export class RobotsGate {
  readonly #o: RobotsGateOptions;
  readonly #robots = new Map<string, Robots | null>();
  readonly #expires = new Map<string, number>();
  readonly #where = new Map<string, string>();
  readonly #clock: Clock;

  constructor(options: RobotsGateOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Starts fetching `host`'s robots.txt (once), using `sampleUrl`'s scheme. */
  request(host: string, sampleUrl: string): void {
    if (this.#robots.has(host)) return;
    this.#robots.set(host, null);
    if (this.#o.ignore) {
      this.#o.onReady(host, { status: 'ignored', sitemaps: [], refreshed: false });
      return;
    }
    const url = new URL('/robots.txt', sampleUrl).href;
    this.#where.set(host, url);
    void this.#settle(host, url, false);
  }

  /** Whether `url` on `host` may be fetched; true while unknown (the scheduler waits for it). */
  allowed(host: string, url: string): boolean {
    const expires = this.#expires.get(host);
    if (expires !== undefined && this.#clock.now() >= expires) {
      this.#expires.delete(host); // one refresh at a time; the old rules answer until it lands
      void this.#settle(host, this.#where.get(host)!, true);
    }
    const r = this.#robots.get(host);
    return !r || r.isAllowed(url, this.#o.userAgent);
  }

  /** The parsed robots of a settled host, if any. */
  get(host: string): Robots | null {
    return this.#robots.get(host) ?? null;
  }

  async #settle(host: string, url: string, refreshed: boolean): Promise<void> {
    const attempts = this.#o.attempts ?? 3;
    let robots: Robots | undefined;
    let status: RobotsStatus = 'disallow-all';
    let ttl = this.#o.ttlMs ?? DAY_MS;
    for (let i = 0; i < attempts && !this.#o.signal.aborted; i++) {
      const code = await this.#fetchStatus(url);
      if (typeof code !== 'number') {
        robots = code.robots;
        ttl = code.ttlMs;
        status = 'ok';
        break;
      }
      robots = robotsForStatus(code);
      if (code >= 400 && code < 500 && code !== 429) {
        status = 'allow-all';
        break;
      }
      if (i + 1 < attempts) await sleep(this.#o.retryDelayMs ?? 2000, this.#o.signal).catch(() => {});
    }
    robots ??= robotsForStatus(0);
    this.#robots.set(host, robots ?? null);
    this.#expires.set(host, this.#clock.now() + ttl);
    const ua = this.#o.userAgent;
    this.#o.onReady(host, {
      status,
      crawlDelay: robots?.crawlDelay(ua),
      sitemaps: robots?.sitemaps() ?? [],
      refreshed,
    });
  }

  /** The parsed robots and how long to keep them for a 2xx, else the status (0 for no response). */
  async #fetchStatus(url: string): Promise<{ robots: Robots; ttlMs: number } | number> {
    try {
      await this.#o.connections.acquire(1, this.#o.signal);
    } catch {
      return 0;
    }
    try {
      const res = await fetchPage(url, {
        dispatcher: this.#o.agent,
        timeoutMs: this.#o.timeoutMs,
        maxBytes: ROBOTS_MAX_BYTES,
        userAgent: this.#o.userAgent,
        signal: this.#o.signal,
        maxRedirects: 5,
      });
      if (res.status >= 200 && res.status < 300) {
        const maxAge = /(?:^|,)\s*max-age\s*=\s*(\d+)/i.exec(res.headers['cache-control'] ?? '');
        const ttlMs = Math.min(this.#o.ttlMs ?? DAY_MS, maxAge ? Number(maxAge[1]) * 1000 : DAY_MS);
        return { robots: parseRobots(res.finalUrl, res.body.toString('utf8')), ttlMs };
      }
      return res.status;
    } catch (err) {
      // Our own SSRF guard refused the host: its pages will be refused too, each recording why,
      // so robots.txt can't matter (a 404-like "allow all" instead of masking that reason).
      if (err instanceof FetchError && err.kind === 'ssrf') return 404;
      return 0;
    } finally {
      this.#o.connections.release(1);
    }
  }
}
