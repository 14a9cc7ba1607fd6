import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from '../../conc/clock.js';
import type { Weighted } from '../../conc/semaphore.js';
import { sleep } from '../../conc/time.js';
import { classifyError, type FetchError, type FetchErrorKind } from '../fetch/errors.js';
import { fetchPage, type Hop } from '../fetch/fetch-page.js';
import { isRetryable } from '../fetch/retry.js';
import type { RobotsStatus } from '../politeness/host-table.js';
import { parseRobots, type Robots, robotsForStatus } from './robots.js';

/** What the crawl learns when a fetch of a host's robots.txt settles. */
export interface RobotsInfo {
  /** `disallow-all` means robots.txt is unreachable for now (429, 5xx or no response). */
  status: RobotsStatus;
  crawlDelay?: number;
  sitemaps: string[];
  /**
   * True when an earlier settle of this host already reported rules from a 2xx robots.txt
   * (so its sitemaps were already seen); false for the first 2xx, and for every settle before it.
   */
  refreshed: boolean;
}

/**
 * Whether the crawl may fetch one URL now, by robots.txt (RFC 9309):
 * - allow: fetch it;
 * - deny: robots.txt disallows it: do not fetch; `reason` is the record's error text;
 * - unreachable: robots.txt could not be fetched (network error, timeout, 429 or 5xx), so the
 *   host is disallowed *for now* (§2.3.1.3): do not fetch; count a failed attempt of the page
 *   with `error` (a fetch error's `<kind>: <detail>` text), retry it like a failed page fetch when
 *   `retryable`, and record `error` once out of retries.
 */
export type RobotsVerdict =
  | { kind: 'allow' }
  | { kind: 'deny'; reason: string }
  | { kind: 'unreachable'; error: string; retryable: boolean };

export interface RobotsGateOptions {
  agent: Dispatcher;
  userAgent: string;
  timeoutMs: number;
  /** --ignore-robots: every host is settled at once as `ignored`. */
  ignore: boolean;
  /** The crawl's connection cap: robots fetches count against it like pages. */
  connections: Weighted;
  signal: AbortSignal;
  /**
   * Called each time a fetch of a host's robots.txt settles, with what is in force after it (a
   * failed refresh reports the rules still held); once, at once, when ignored.
   */
  onReady: (host: string, info: RobotsInfo) => void;
  /** Called with every robots.txt fetch's hops as they crossed the wire (for WARC); default none. */
  onHops?: (hops: readonly Hop[]) => void;
  /**
   * Requests per fetch of a robots.txt before it counts as unreachable (default 1: the pages'
   * own retries ask robots.txt again, see {@link RobotsGate.verdict}).
   */
  attempts?: number;
  /** Pause between those attempts, ms (real time). Default 2000. */
  retryDelayMs?: number;
  /** How long a robots.txt is used before it is fetched again (default 24 h; a shorter Cache-Control max-age wins). */
  ttlMs?: number;
  /**
   * How long an unreachable result answers before the next verdict for the host fetches
   * robots.txt again, ms. Default 1000.
   */
  unreachableTtlMs?: number;
  /**
   * After a failed 24-hour refresh (the old rules stay in use, RFC 9309 §2.4), how long until the
   * next refresh is tried, ms. Default 5 minutes.
   */
  refreshRetryMs?: number;
  /** Time source for the expiries (tests inject a FakeClock). */
  clock?: Clock;
}

const ROBOTS_MAX_BYTES = 512 * 1024;
const DAY_MS = 86_400_000;
const ALLOW: RobotsVerdict = Object.freeze({ kind: 'allow' });
const DENY: RobotsVerdict = Object.freeze({ kind: 'deny', reason: 'robots: disallowed by robots.txt' });
/** Fetch error kinds that are about reaching the host, not about robots.txt itself: a page request gets the same. */
const CONNECTION_KINDS: ReadonlySet<FetchErrorKind> = new Set([
  'timeout',
  'network',
  'dns',
  'tls',
  'refused',
  'reset',
  'proxy',
]);
/** Redirect failures: RFC 9309 §2.3.1.2 lets a crawler treat robots.txt as unavailable (allow all). */
const REDIRECT_KINDS: ReadonlySet<FetchErrorKind> = new Set([
  'redirect-loop',
  'too-many-redirects',
  'redirect-blocked',
  'bad-url',
]);

/** Why robots.txt is unreachable, as a verdict. */
type Unreachable = Extract<RobotsVerdict, { kind: 'unreachable' }>;

/** One fetch's result: rules (2xx parsed, or 4xx allow-all) or an unreachable verdict. */
type Fetched = { robots: Robots; ttlMs: number; fromBody: boolean } | Unreachable;

interface HostEntry {
  /** robots.txt's URL (the scheme of the host's first URL). */
  url: string;
  /** Rules in force, from the last 2xx/4xx; null before the first such answer. */
  rules: Robots | null;
  /** Where `rules` came from: a 2xx body (`ok`) or a 4xx-like answer (`allow-all`). */
  status: 'ok' | 'allow-all';
  /** When `rules` must be fetched again. */
  expires: number;
  /** The last fetch failed and no rules are in force: the verdict for every URL. */
  unreachable: Unreachable | null;
  /** When `unreachable` stops answering on its own and a verdict fetches again. */
  retryAt: number;
  fetching: boolean;
  /** A 2xx robots.txt was reported (its sitemaps seen). */
  reported: boolean;
}

/**
 * Fetches each host's robots.txt and answers whether a URL may be fetched (RFC 9309 §2.3.1).
 * 2xx: parsed, kept 24 hours (or its Cache-Control max-age, if shorter; §2.4) and then fetched
 * again in the background, answering from the old rules meanwhile. 3xx not followed to a body,
 * 4xx but 429, and redirect failures: allow all, kept as long. 429, 5xx and no response
 * (network error, timeout): unreachable — every URL of the host gets an `unreachable` verdict,
 * and robots.txt is fetched again once that result is `unreachableTtlMs` old, at the next
 * verdict for the host (one fetch per host at a time): a page's later retries are answered by a
 * fresh fetch, while the many URLs of a dead host share one.
 * A failed refresh of rules already held keeps them (§2.4 allows a cached copy when robots.txt
 * is unreachable) and tries again after `refreshRetryMs`. An address refused by the crawl's
 * SSRF guard counts as allow all: its pages are refused with that reason themselves. Until a
 * host's first fetch settles, its status is `pending` and the scheduler leases none of its URLs.
 */
export class RobotsGate {
  readonly #o: RobotsGateOptions;
  readonly #hosts = new Map<string, HostEntry>();
  readonly #clock: Clock;
  readonly #closed = new AbortController();
  /** The crawl's signal or {@link close}: ends every fetch of this gate. */
  readonly #signal: AbortSignal;

  constructor(options: RobotsGateOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#signal = AbortSignal.any([options.signal, this.#closed.signal]);
    // Every robots.txt fetch in flight (one per host being asked) listens on it: a broad crawl
    // has more than Node's default 10 at once, which is not a leak.
    setMaxListeners(0, this.#signal);
  }

  /**
   * Aborts the fetches still running (background re-fetches of unreachable or expired
   * robots.txt) and starts no more; idempotent. Call it when the crawl has finished, before
   * closing the agent, which would otherwise wait for them (up to `timeoutMs`).
   */
  close(): void {
    this.#closed.abort(new Error('robots gate closed'));
  }

  /**
   * Starts fetching `host`'s robots.txt once, using `sampleUrl`'s scheme; later calls are no-ops
   * (re-fetches are started by {@link verdict}). With `ignore`, settles the host as `ignored` at
   * once.
   */
  request(host: string, sampleUrl: string): void {
    if (this.#hosts.has(host)) return;
    const entry: HostEntry = {
      url: new URL('/robots.txt', sampleUrl).href,
      rules: null,
      status: 'allow-all',
      expires: Number.POSITIVE_INFINITY,
      unreachable: null,
      retryAt: Number.POSITIVE_INFINITY,
      fetching: false,
      reported: false,
    };
    this.#hosts.set(host, entry);
    if (this.#o.ignore) {
      this.#o.onReady(host, { status: 'ignored', sitemaps: [], refreshed: false });
      return;
    }
    this.#fetch(host, entry);
  }

  /**
   * The verdict for fetching `url` of `host` now (see {@link RobotsVerdict}). `allow` with
   * `ignore`, and for a host whose first fetch has not settled (or was never requested): the
   * scheduler does not lease such hosts' URLs. Side effect: starts a background fetch when the
   * host's rules are past their expiry or its unreachable result is older than
   * `unreachableTtlMs` (and no fetch for it is running); this verdict still answers from what
   * is known now.
   */
  verdict(host: string, url: string): RobotsVerdict {
    if (this.#o.ignore) return ALLOW;
    const entry = this.#hosts.get(host);
    if (!entry) return ALLOW;
    const now = this.#clock.now();
    if (!entry.fetching && !this.#signal.aborted && now >= (entry.rules ? entry.expires : entry.retryAt))
      this.#fetch(host, entry);
    if (entry.rules) return entry.rules.isAllowed(url, this.#o.userAgent) ? ALLOW : DENY;
    return entry.unreachable ?? ALLOW;
  }

  /**
   * Whether `url` on `host` may be fetched: `verdict(host, url).kind === 'allow'` (so an
   * unreachable robots.txt disallows, and the same re-fetches are started).
   */
  allowed(host: string, url: string): boolean {
    return this.verdict(host, url).kind === 'allow';
  }

  /** The rules in force for a settled host (null while pending, unreachable or ignored). */
  get(host: string): Robots | null {
    return this.#hosts.get(host)?.rules ?? null;
  }

  /** Runs one fetch of `entry` (the caller checked none is running) and applies its result. */
  #fetch(host: string, entry: HostEntry): void {
    entry.fetching = true;
    void this.#settle(host, entry);
  }

  async #settle(host: string, entry: HostEntry): Promise<void> {
    const attempts = Math.max(1, this.#o.attempts ?? 1);
    let got: Fetched | undefined;
    for (let i = 0; i < attempts && !this.#signal.aborted; i++) {
      if (i > 0) await sleep(this.#o.retryDelayMs ?? 2000, this.#signal).catch(() => {});
      got = await this.#fetchOnce(entry.url);
      if (!('kind' in got)) break;
    }
    entry.fetching = false;
    // Aborted: the crawl is ending; nothing learnt, nothing to report.
    if (got === undefined || this.#signal.aborted) return;
    const now = this.#clock.now();
    if ('kind' in got && !entry.rules) {
      entry.unreachable = got;
      entry.retryAt = now + (this.#o.unreachableTtlMs ?? 1000);
      this.#o.onReady(host, { status: 'disallow-all', sitemaps: [], refreshed: false });
      return;
    }
    if ('kind' in got) {
      // A failed refresh: the rules held stay in force (RFC 9309 §2.4) and are reported again.
      entry.expires = now + (this.#o.refreshRetryMs ?? 300_000);
    } else {
      entry.rules = got.robots;
      entry.status = got.fromBody ? 'ok' : 'allow-all';
      entry.expires = now + got.ttlMs;
      entry.unreachable = null;
    }
    const refreshed = entry.reported;
    if (entry.status === 'ok') entry.reported = true;
    const rules = entry.rules!;
    this.#o.onReady(host, {
      status: entry.status,
      crawlDelay: rules.crawlDelay(this.#o.userAgent),
      sitemaps: rules.sitemaps(),
      refreshed,
    });
  }

  /** One request for robots.txt, classified per RFC 9309 §2.3.1. */
  async #fetchOnce(url: string): Promise<Fetched> {
    const ttl = this.#o.ttlMs ?? DAY_MS;
    try {
      await this.#o.connections.acquire(1, this.#signal);
    } catch {
      return { kind: 'unreachable', error: 'aborted: crawl stopped', retryable: false };
    }
    try {
      const res = await fetchPage(url, {
        dispatcher: this.#o.agent,
        timeoutMs: this.#o.timeoutMs,
        maxBytes: ROBOTS_MAX_BYTES,
        userAgent: this.#o.userAgent,
        signal: this.#signal,
        maxRedirects: 5,
        ...(this.#o.onHops === undefined ? {} : { capture: true }),
      });
      if (res.hops !== undefined) this.#o.onHops?.(res.hops);
      if (res.status >= 200 && res.status < 300) {
        const maxAge = /(?:^|,)\s*max-age\s*=\s*(\d+)/i.exec(res.headers['cache-control'] ?? '');
        const ttlMs = Math.min(ttl, maxAge ? Number(maxAge[1]) * 1000 : DAY_MS);
        return { robots: parseRobots(res.finalUrl, res.body.toString('utf8')), ttlMs, fromBody: true };
      }
      const fixed = robotsForStatus(res.status)!;
      if (res.status < 500 && res.status !== 429) return { robots: fixed, ttlMs: ttl, fromBody: false };
      return {
        kind: 'unreachable',
        error: `http: ${res.status} on robots.txt`,
        retryable: isRetryable(res.status),
      };
    } catch (err) {
      return this.#failure(classifyError(err, url), ttl);
    } finally {
      this.#o.connections.release(1);
    }
  }

  /** A robots.txt request that got no usable response. */
  #failure(fe: FetchError, ttl: number): Fetched {
    // Our own SSRF guard refused the host: its pages will be refused too, each recording why, so
    // robots.txt can't matter (allow all instead of masking that reason). Redirect trouble means
    // "unavailable" (RFC 9309 §2.3.1.2).
    if (fe.kind === 'ssrf' || REDIRECT_KINDS.has(fe.kind)) {
      return { robots: robotsForStatus(404)!, ttlMs: ttl, fromBody: false };
    }
    // A connection-level failure is what the page's own request would get: same text. Anything
    // else (too large, undecodable) is about robots.txt alone and says so.
    const error = CONNECTION_KINDS.has(fe.kind)
      ? fe.message
      : `${fe.kind}: robots.txt: ${fe.message.slice(fe.kind.length + 2)}`;
    return { kind: 'unreachable', error, retryable: isRetryable(fe) };
  }
}
