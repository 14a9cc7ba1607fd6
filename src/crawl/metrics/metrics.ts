import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../../conc/clock.js';
import { systemClock } from '../../conc/clock.js';
import { outcomeOf } from '../record.js';
import { type IdentityReport, IdentityStats, MAX_PROXY_ROWS } from './identity-stats.js';
import { LiveStats, RecentRing } from './live-stats.js';
import {
  type DashboardSnapshot,
  type ErrorRow,
  type HostRow,
  type MetricsSnapshot,
  type PageOutcome,
  type PageRow,
  QUEUE_STAGES,
  type QueueStage,
  ROBOTS_STATES,
  type RobotsState,
  STATUS_CLASSES,
  type StatusClass,
} from './snapshot.js';

/** Options of {@link CrawlMetrics}. */
export interface CrawlMetricsOptions {
  /** Registry to register the trawl_* metrics in; a fresh one per CrawlMetrics by default. */
  registry?: Registry;
  /**
   * Also register prom-client's default Node.js metrics (process_*, nodejs_*) in the registry.
   * Default false. trawl's own RSS and event-loop-lag gauges are always present.
   */
  collectDefault?: boolean;
  /** Time source (ms since the epoch) for the live windows and backoff; default the system clock. */
  clock?: Clock;
  /** Hosts that get their own `host` label (the first ones seen); later hosts are `other`. Default 50. */
  topHosts?: number;
  /** Hosts tracked individually for the dashboard table; later hosts fold into `other`. Default 10 000. */
  maxTrackedHosts?: number;
  /** Seconds of per-second history kept for the charts. Default 300. */
  windowSeconds?: number;
  /** How many latest pages and recent errors are kept. Default 50 each. */
  recent?: number;
}

/** Label value for hosts beyond the labelled set, and for error kinds / retry reasons beyond the cap. */
const OTHER = 'other';
/** Distinct error kinds and retry reasons that keep their own label; the rest become `other`. */
const MAX_REASONS = 32;
/** Rows in the dashboard's host table. */
const HOST_ROWS = 50;
/** Longest string sent to the dashboard per field (titles and URLs can be arbitrarily long). */
const MAX_TEXT = 500;

/** Per-label-value request counts, shared by every host that maps to that label value. */
interface LabelCounts {
  label: string;
  byClass: Float64Array;
  bytes: number;
  /** Requests rendered pages made to the host through the SSRF guard, and those it refused. */
  browser: number;
  refused: number;
}

/** What the metrics know about one host. */
interface HostEntry {
  host: string;
  labels: LabelCounts;
  requests: number;
  errors: number;
  retries: number;
  bytes: number;
  rate: number | null;
  backoffUntil: number;
  robots: RobotsState | null;
  throttle: ReportedThrottle | null;
}

/** What {@link CrawlMetrics.setHostState} takes of a host's auto-throttle (politeness/auto-throttle.ts's ThrottleState). */
export interface ReportedThrottle {
  readonly limit: number;
  readonly delayMs: number;
  readonly reason: string;
  /** Clock time of the change (the metrics' clock). */
  readonly changedAt: number;
  readonly latencyMs: number | null;
  readonly baseLatencyMs: number | null;
}

const classIndex = (status: number | null): number => {
  if (status === null) return 6;
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c - 1 : 5;
};

/**
 * One crawl's metrics: the single store every pipeline stage reports to. Plain counters and
 * gauges live in fields and are copied into prom-client metrics only when the registry is
 * scraped (each metric's `collect`), so the hot-path calls are a few field writes; the latency
 * histograms are prom-client histograms observed directly. {@link snapshot} reads the same fields,
 * so the end-of-crawl summary and `/metrics` cannot disagree.
 *
 * Label cardinality is bounded: the first `topHosts` hosts keep their own `host` label for the
 * whole crawl and every later host is counted under `host="other"` (sticky, so every series stays
 * monotonic); error kinds and retry reasons are capped at 32 distinct values the same way.
 *
 * Metric names: trawl_requests_total{host,status_class}, trawl_response_bytes_total{host},
 * trawl_fetch_duration_seconds, trawl_retries_total{reason}, trawl_errors_total{kind},
 * trawl_pages_stored_total, trawl_items_stored_total, trawl_parse_duration_seconds, trawl_store_duration_seconds,
 * trawl_store_records_total, trawl_queue_depth{stage}, trawl_in_flight_requests,
 * trawl_open_connections, trawl_max_connections, trawl_limiter_tokens,
 * trawl_limiter_wait_seconds, trawl_host_backoff_seconds{host}, trawl_host_rate{host},
 * trawl_host_concurrency_limit{host} and trawl_host_delay_seconds{host} (--auto-throttle),
 * trawl_hosts_in_backoff, trawl_hosts{robots}, trawl_frontier_urls{state},
 * trawl_frontier_seen_urls, trawl_process_resident_memory_bytes, trawl_event_loop_lag_seconds,
 * trawl_start_time_seconds, trawl_proxy_requests_total{proxy}, trawl_proxy_errors_total{proxy},
 * trawl_proxy_up{proxy}, trawl_sessions_live, trawl_sessions_created_total,
 * trawl_sessions_retired_total. The `proxy` label is a proxy's display (`scheme://host:port`,
 * never its credentials), for at most 1000 distinct proxies.
 */
export class CrawlMetrics {
  /** The prom-client registry holding every trawl_* metric (serve it at /metrics). */
  readonly registry: Registry;
  readonly #clock: Clock;
  readonly #startedAt: number;
  readonly #topHosts: number;
  readonly #maxTrackedHosts: number;

  readonly #hosts = new Map<string, HostEntry>();
  readonly #labels: LabelCounts[] = [];
  readonly #otherLabels: LabelCounts = {
    label: OTHER,
    byClass: new Float64Array(7),
    bytes: 0,
    browser: 0,
    refused: 0,
  };
  #otherHost: HostEntry | undefined;

  readonly #byClass = new Float64Array(7);
  #requests = 0;
  #bytes = 0;
  readonly #retries = new Map<string, number>();
  #retriesTotal = 0;
  readonly #errors = new Map<string, number>();
  #errorsTotal = 0;
  #pagesStored = 0;
  #itemsStored = 0;
  readonly #changes: Record<string, number> = {};
  readonly #outcomes: Record<PageOutcome, number> = { ok: 0, failed: 0, skipped: 0 };
  readonly #skippedByKind = new Map<string, number>();
  #fetchCount = 0;
  #fetchSum = 0;
  #parseCount = 0;
  #parseSum = 0;
  #storeCount = 0;
  #storeSum = 0;
  #storeRecords = 0;
  #limiterTokens = 0;
  #limiterWaits = 0;
  #limiterWaitSum = 0;
  readonly #queue: Record<QueueStage, number> = { frontier: 0, fetch: 0, parse: 0, store: 0 };
  #inFlight = 0;
  #open = 0;
  #cap = 0;
  #frontier = { queued: 0, leased: 0, done: 0, failed: 0, seen: 0 };
  readonly #identities = new IdentityStats();
  readonly #rendered = new Map<string, number>();
  #renderedPages = 0;
  #renderedAfterPlain = 0;
  #browserRequests = 0;
  #browserRefused = 0;
  #browsers = { open: 0, launches: 0, crashes: 0, recycles: 0 };

  readonly #live: LiveStats;
  readonly #pages: RecentRing<PageRow>;
  readonly #recentErrors: RecentRing<ErrorRow>;

  readonly #fetchHist: Histogram;
  readonly #parseHist: Histogram;
  readonly #storeHist: Histogram;
  readonly #limiterHist: Histogram;

  readonly #loop: IntervalHistogram;
  #loopLag = 0;
  #loopResetAt: number;

  /**
   * Creates the metrics and registers them in `opts.registry` (or a new Registry). Registering
   * twice in one registry throws (duplicate metric names), so use one registry per crawl. Starts
   * an event-loop-delay monitor (no timer that keeps the process alive); {@link close} stops it.
   */
  constructor(opts: CrawlMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    this.#clock = opts.clock ?? systemClock;
    this.#startedAt = this.#clock.now();
    this.#topHosts = Math.max(0, opts.topHosts ?? 50);
    this.#maxTrackedHosts = Math.max(1, opts.maxTrackedHosts ?? 10_000);
    this.#live = new LiveStats(this.#startedAt, { windowSeconds: opts.windowSeconds ?? 300 });
    this.#pages = new RecentRing(opts.recent ?? 50);
    this.#recentErrors = new RecentRing(opts.recent ?? 50);
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
    this.#loopResetAt = this.#startedAt;

    const registers = [this.registry];
    const counter = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (c: Counter<L>) => void,
    ): void => {
      const c: Counter<L> = new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect: () => {
          c.reset();
          fill(c);
        },
      });
    };
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (g: Gauge<L>) => void,
    ): void => {
      const g: Gauge<L> = new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect: () => {
          g.reset();
          fill(g);
        },
      });
    };

    counter(
      'trawl_requests_total',
      'Finished HTTP requests by host and status class (none = no response).',
      ['host', 'status_class'],
      (c) => {
        for (const l of this.#allLabels()) {
          for (let i = 0; i < 7; i++) {
            if (l.byClass[i]! > 0) c.inc({ host: l.label, status_class: STATUS_CLASSES[i]! }, l.byClass[i]!);
          }
        }
      },
    );
    counter('trawl_response_bytes_total', 'Response body bytes received, by host.', ['host'], (c) => {
      for (const l of this.#allLabels()) if (l.bytes > 0) c.inc({ host: l.label }, l.bytes);
    });
    counter(
      'trawl_render_requests_total',
      'Requests rendered pages made through the SSRF guard (subresources, XHR, redirect hops), by host and outcome.',
      ['host', 'outcome'],
      (c) => {
        for (const l of this.#allLabels()) {
          if (l.browser > l.refused) c.inc({ host: l.label, outcome: 'allowed' }, l.browser - l.refused);
          if (l.refused > 0) c.inc({ host: l.label, outcome: 'refused' }, l.refused);
        }
      },
    );
    counter('trawl_render_pages_total', 'Pages rendered in Chromium, by reason.', ['reason'], (c) => {
      for (const [reason, n] of this.#rendered) c.inc({ reason }, n);
    });
    gauge('trawl_browsers', 'Chromium processes running.', [], (g) => g.set(this.#browsers.open));
    counter('trawl_browser_launches_total', 'Chromium processes launched.', [], (c) =>
      c.inc(this.#browsers.launches),
    );
    counter('trawl_browser_crashes_total', 'Chromium processes that died while in use.', [], (c) =>
      c.inc(this.#browsers.crashes),
    );
    counter(
      'trawl_browser_recycles_total',
      'Chromium processes replaced after --browser-recycle pages.',
      [],
      (c) => c.inc(this.#browsers.recycles),
    );
    counter('trawl_retries_total', 'Requests retried, by reason.', ['reason'], (c) => {
      for (const [reason, n] of this.#retries) c.inc({ reason }, n);
    });
    counter('trawl_errors_total', 'Errors, by kind.', ['kind'], (c) => {
      for (const [kind, n] of this.#errors) c.inc({ kind }, n);
    });
    counter('trawl_pages_stored_total', 'Page records written to the output.', [], (c) =>
      c.inc(this.#pagesStored),
    );
    counter(
      'trawl_items_stored_total',
      "Items a scraper's handlers pushed, stored with their pages.",
      [],
      (c) => c.inc(this.#itemsStored),
    );
    counter(
      'trawl_page_outcomes_total',
      'Page records written, by outcome (ok, failed, skipped: refused by robots.txt or a per-host limit).',
      ['outcome'],
      (c) => {
        for (const [outcome, n] of Object.entries(this.#outcomes)) if (n > 0) c.inc({ outcome }, n);
      },
    );
    counter(
      'trawl_page_changes_total',
      'Page records of a recrawl (--recrawl), by what it found: new, changed, unchanged, gone.',
      ['change'],
      (c) => {
        for (const [change, n] of Object.entries(this.#changes)) c.inc({ change }, n);
      },
    );
    counter('trawl_store_records_total', 'Records in store batches.', [], (c) => c.inc(this.#storeRecords));

    const latency = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    const fast = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    this.#fetchHist = new Histogram({
      name: 'trawl_fetch_duration_seconds',
      help: 'Time from request start to body end (or failure), per request.',
      buckets: latency,
      registers,
    });
    this.#parseHist = new Histogram({
      name: 'trawl_parse_duration_seconds',
      help: 'Time to parse one page.',
      buckets: fast,
      registers,
    });
    this.#storeHist = new Histogram({
      name: 'trawl_store_duration_seconds',
      help: 'Time to write one batch of records.',
      buckets: fast,
      registers,
    });
    this.#limiterHist = new Histogram({
      name: 'trawl_limiter_wait_seconds',
      help: 'Time spent waiting for a rate-limiter token, per wait.',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    gauge('trawl_queue_depth', 'Items waiting between pipeline stages.', ['stage'], (g) => {
      for (const stage of QUEUE_STAGES) g.set({ stage }, this.#queue[stage]);
    });
    gauge('trawl_in_flight_requests', 'HTTP requests in flight.', [], (g) => g.set(this.#inFlight));
    gauge('trawl_open_connections', 'Open HTTP connections.', [], (g) => g.set(this.#open));
    gauge('trawl_max_connections', 'The cap on open HTTP connections.', [], (g) => g.set(this.#cap));
    gauge('trawl_limiter_tokens', 'Tokens in the global rate limiter bucket.', [], (g) =>
      g.set(this.#limiterTokens),
    );
    // One series per host that has its own label (see HostEntry.labels), when `value` has one.
    const hostGauge = (
      name: string,
      help: string,
      value: (h: HostEntry, now: number) => number | null,
    ): void =>
      gauge(name, help, ['host'], (g) => {
        const now = this.#clock.now();
        for (const h of this.#hosts.values()) {
          if (h.labels.label !== h.host) continue;
          const v = value(h, now);
          if (v !== null) g.set({ host: h.host }, v);
        }
      });
    hostGauge(
      'trawl_host_backoff_seconds',
      'Backoff left per host (0 = none).',
      (h, now) => Math.max(0, h.backoffUntil - now) / 1000,
    );
    hostGauge('trawl_host_rate', 'Current politeness rate per host, requests per second.', (h) => h.rate);
    hostGauge(
      'trawl_host_concurrency_limit',
      'Concurrency limit per host set by --auto-throttle.',
      (h) => h.throttle?.limit ?? null,
    );
    hostGauge(
      'trawl_host_delay_seconds',
      'Least time between requests per host set by --auto-throttle.',
      (h) => (h.throttle === null ? null : h.throttle.delayMs / 1000),
    );
    gauge('trawl_hosts_in_backoff', 'Hosts whose backoff lies in the future.', [], (g) =>
      g.set(this.#hostTotals().inBackoff),
    );
    gauge('trawl_hosts', 'Hosts seen, by robots.txt state (unknown = not reported).', ['robots'], (g) => {
      const t = this.#hostTotals();
      for (const s of ROBOTS_STATES) g.set({ robots: s }, t.robots[s]);
      g.set({ robots: 'unknown' }, t.seen - ROBOTS_STATES.reduce((a, s) => a + t.robots[s], 0));
    });
    gauge('trawl_frontier_urls', 'Frontier URLs by state.', ['state'], (g) => {
      const f = this.#frontier;
      g.set({ state: 'queued' }, f.queued);
      g.set({ state: 'leased' }, f.leased);
      g.set({ state: 'done' }, f.done);
      g.set({ state: 'failed' }, f.failed);
    });
    gauge('trawl_frontier_seen_urls', 'Distinct URLs the frontier has accepted.', [], (g) =>
      g.set(this.#frontier.seen),
    );
    gauge('trawl_process_resident_memory_bytes', 'Resident set size.', [], (g) =>
      g.set(process.memoryUsage.rss()),
    );
    gauge(
      'trawl_event_loop_lag_seconds',
      'p99 event-loop delay over the last window of at least 1 s.',
      [],
      (g) => g.set(this.#eventLoopLag()),
    );
    gauge(
      'trawl_start_time_seconds',
      'When the crawl metrics were created, seconds since the epoch.',
      [],
      (g) => g.set(this.#startedAt / 1000),
    );
    counter(
      'trawl_proxy_requests_total',
      `Requests sent through each proxy (its display; at most ${MAX_PROXY_ROWS} proxies).`,
      ['proxy'],
      (c) => {
        for (const p of this.#identities.counts()) c.inc({ proxy: p.display }, p.requests);
      },
    );
    counter(
      'trawl_proxy_errors_total',
      'Failures of each proxy itself (refused, 407, its own 5xx, timeout).',
      ['proxy'],
      (c) => {
        for (const p of this.#identities.counts()) c.inc({ proxy: p.display }, p.errors);
      },
    );
    gauge('trawl_proxy_up', 'Whether each proxy is up (1) or on backoff (0).', ['proxy'], (g) => {
      for (const p of this.#identities.up()) g.set({ proxy: p.display }, p.up ? 1 : 0);
    });
    gauge('trawl_sessions_live', 'Live sessions (identities with their own cookie jar).', [], (g) =>
      g.set(this.#identities.sessions.live),
    );
    counter('trawl_sessions_created_total', 'Sessions created, replacements included.', [], (c) =>
      c.inc(this.#identities.sessions.created),
    );
    counter('trawl_sessions_retired_total', 'Sessions retired (blocked, or retired by a handler).', [], (c) =>
      c.inc(this.#identities.sessions.retired),
    );
    if (opts.collectDefault) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Records one finished HTTP request (every attempt, retries included): `status` is the final
   * response's status or null when no response arrived; `durationMs` the time to body end or
   * failure; `bytes` the body bytes received (0 when none). Feeds trawl_requests_total,
   * trawl_response_bytes_total, trawl_fetch_duration_seconds, the host's row and the req/s and
   * latency charts. A negative or non-finite duration is counted as a request but not observed.
   */
  requestFinished(host: string, status: number | null, durationMs: number, bytes: number): void {
    const h = this.#host(host);
    const c = classIndex(status);
    h.requests++;
    h.bytes += bytes;
    h.labels.byClass[c]!++;
    h.labels.bytes += bytes;
    this.#byClass[c]!++;
    this.#requests++;
    this.#bytes += bytes;
    if (durationMs >= 0 && durationMs < Number.POSITIVE_INFINITY) {
      const s = durationMs / 1000;
      this.#fetchHist.observe(s);
      this.#fetchCount++;
      this.#fetchSum += s;
      this.#live.request(durationMs, this.#clock.now());
    } else {
      this.#live.request(-1, this.#clock.now());
    }
  }

  /**
   * Records one page rendered in Chromium because of `reason` (`always`, or a `--render auto`
   * reason such as `shell`); `afterPlain` when it had been fetched plain first (auto's second
   * fetch). Feeds trawl_render_pages_total{reason} and the snapshot's `render`.
   */
  rendered(reason: string, afterPlain: boolean): void {
    this.#renderedPages++;
    bump(this.#rendered, reason);
    if (afterPlain) this.#renderedAfterPlain++;
  }

  /**
   * Records one request a rendered page made to `host` through the SSRF guard, `refused` when the
   * guard refused it: trawl_render_requests_total{host,outcome} and the snapshot's `render`.
   */
  browserRequest(host: string, refused: boolean): void {
    const l = this.#host(host).labels;
    l.browser++;
    this.#browserRequests++;
    if (refused) {
      l.refused++;
      this.#browserRefused++;
    }
  }

  /**
   * Reports the crawl's Chromium processes (sampled, like setIdentities): running now, and
   * launched, crashed and recycled so far (trawl_browsers, trawl_browser_*_total).
   */
  setBrowsers(b: { open: number; launches: number; crashes: number; recycles: number }): void {
    this.#browsers = { ...b };
  }

  /** Records that a request to `host` will be retried for `reason` (e.g. `timeout`, `503`). */
  retry(host: string, reason: string): void {
    this.#host(host).retries++;
    this.#retriesTotal++;
    bump(this.#retries, reason);
  }

  /**
   * Records one error of `kind` (e.g. `fetch`, `timeout`, `parse`, `robots`) for `url` on `host`
   * with a human-readable `message`: trawl_errors_total{kind}, the host's error count, the
   * errors/s chart and the recent-errors list. The strings are kept as given (they may contain
   * anything a crawled site sent) and are truncated to 500 characters only in snapshots.
   */
  error(kind: string, host: string, url: string, message: string): void {
    this.#host(host).errors++;
    this.#errorsTotal++;
    bump(this.#errors, kind);
    const at = this.#clock.now();
    this.#live.error(at);
    this.#recentErrors.push({ at, kind, host, url, message });
  }

  /**
   * Records one page record written to the output: trawl_pages_stored_total, its outcome
   * (trawl_page_outcomes_total; when not given, read from `error`: none → `ok`, kind `robots` or
   * `skipped` → `skipped`, any other → `failed`; a skipped record is also counted by its error
   * kind) and the latest-pages list. A failed record's error is counted separately, through
   * {@link error}. A recrawl's record also counts its `change` (trawl_page_changes_total).
   */
  pageStored(rec: {
    url: string;
    status: number | null;
    title: string | null;
    error: string | null;
    host: string;
    outcome?: PageOutcome;
    change?: string | undefined;
  }): void {
    this.#pagesStored++;
    if (rec.change !== undefined) this.#changes[rec.change] = (this.#changes[rec.change] ?? 0) + 1;
    const outcome = rec.outcome ?? outcomeOf(rec.error);
    this.#outcomes[outcome]++;
    if (outcome === 'skipped') bump(this.#skippedByKind, rec.error?.split(':')[0] ?? 'skipped');
    const at = this.#clock.now();
    this.#live.page(at);
    this.#pages.push({
      at,
      url: rec.url,
      host: rec.host,
      status: rec.status,
      title: rec.title,
      error: rec.error,
    });
  }

  /** Records `n` scraped items stored with their pages (trawl_items_stored_total). */
  itemsStored(n: number): void {
    this.#itemsStored += n;
  }

  /** Records the time one page took to parse, in milliseconds (negative/non-finite ignored). */
  parseTime(ms: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) return;
    const s = ms / 1000;
    this.#parseHist.observe(s);
    this.#parseCount++;
    this.#parseSum += s;
  }

  /** Records one store batch of `batchSize` records that took `ms` milliseconds (negative/non-finite time ignored). */
  storeTime(ms: number, batchSize: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) return;
    const s = ms / 1000;
    this.#storeHist.observe(s);
    this.#storeCount++;
    this.#storeSum += s;
    this.#storeRecords += batchSize;
  }

  /** Sets how many items wait in front of `stage` (a gauge: the last value wins). */
  setQueueDepth(stage: QueueStage, n: number): void {
    this.#queue[stage] = n;
  }

  /** Sets how many HTTP requests are in flight now. */
  setInFlight(n: number): void {
    this.#inFlight = n;
  }

  /** Sets the open HTTP connections and their cap (the connection semaphore's size). */
  setOpenConnections(open: number, cap: number): void {
    this.#open = open;
    this.#cap = cap;
  }

  /** Sets the tokens currently available in the global rate limiter (may be fractional or negative). */
  setLimiterTokens(tokens: number): void {
    this.#limiterTokens = tokens;
  }

  /** Records one wait for a rate-limiter token of `ms` milliseconds (negative/non-finite ignored). */
  limiterWait(ms: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) return;
    const s = ms / 1000;
    this.#limiterHist.observe(s);
    this.#limiterWaits++;
    this.#limiterWaitSum += s;
  }

  /**
   * Updates a host's politeness state; omitted fields keep their value. `backoffUntil` is the
   * time (ms since the epoch, same clock as the crawl) before which the host is not contacted;
   * `rate` its current requests/s; `robots` its robots.txt state; `throttle` its
   * `--auto-throttle` state (kept as given: pass a fresh object).
   */
  setHostState(
    host: string,
    s: {
      backoffUntil?: number;
      rate?: number;
      robots?: 'ok' | 'allow-all' | 'disallow-all' | 'pending' | 'ignored';
      throttle?: ReportedThrottle;
    },
  ): void {
    const h = this.#host(host);
    if (s.backoffUntil !== undefined) h.backoffUntil = s.backoffUntil;
    if (s.rate !== undefined) h.rate = s.rate;
    if (s.robots !== undefined) h.robots = s.robots;
    if (s.throttle !== undefined) h.throttle = s.throttle;
  }

  /** Sets the frontier's counters (see FrontierStats: queued, leased, done, failed, seen). */
  setFrontier(stats: { queued: number; leased: number; done: number; failed: number; seen: number }): void {
    this.#frontier = {
      queued: stats.queued,
      leased: stats.leased,
      done: stats.done,
      failed: stats.failed,
      seen: stats.seen,
    };
  }

  /**
   * Sets the crawl's identities as they are now: its proxies (a ProxyPool's `stats()`, the pools
   * of HTTP_PROXY and HTTPS_PROXY concatenated), whether every proxy is on backoff, and its
   * sessions (live now; created and retired so far). A gauge-style report: each call replaces
   * the last one (the engine samples every 250 ms); a crawl without proxies passes `[]` and
   * false. Rows of the same display are merged into one (counts summed; on backoff when any is,
   * until the latest end); the first 1000 distinct displays keep a row and a `proxy` label for
   * the whole crawl and later ones are left out of both, so label cardinality stays bounded.
   * The request, error, created and retired counts are served as counters that never go down: a
   * total lower than the one reported before is taken as a count that started over and is added
   * on top. `lastError` is not kept. Only the display names a proxy, never its credentials.
   */
  setIdentities(r: IdentityReport): void {
    this.#identities.update(r);
  }

  /**
   * Every crawl-wide number now, as plain data (no references to internal state). `/metrics`
   * serves the same values; histogram `fetch`/`parse`/`store` totals equal the histograms' _count
   * and _sum. O(hosts) for the host totals.
   */
  snapshot(): MetricsSnapshot {
    const byStatusClass = {} as Record<StatusClass, number>;
    for (let i = 0; i < 7; i++) byStatusClass[STATUS_CLASSES[i]!] = this.#byClass[i]!;
    return {
      at: this.#clock.now(),
      startedAt: this.#startedAt,
      requests: { total: this.#requests, byStatusClass },
      responseBytes: this.#bytes,
      retries: { total: this.#retriesTotal, byReason: Object.fromEntries(this.#retries) },
      errors: { total: this.#errorsTotal, byKind: Object.fromEntries(this.#errors) },
      pagesStored: this.#pagesStored,
      itemsStored: this.#itemsStored,
      changes: { ...this.#changes },
      pages: { ...this.#outcomes, skippedByKind: Object.fromEntries(this.#skippedByKind) },
      fetch: { count: this.#fetchCount, sumSeconds: this.#fetchSum },
      parse: { count: this.#parseCount, sumSeconds: this.#parseSum },
      store: { count: this.#storeCount, sumSeconds: this.#storeSum, records: this.#storeRecords },
      limiter: {
        tokens: this.#limiterTokens,
        waits: this.#limiterWaits,
        waitSecondsSum: this.#limiterWaitSum,
      },
      queueDepth: { ...this.#queue },
      inFlight: this.#inFlight,
      openConnections: this.#open,
      connectionCap: this.#cap,
      frontier: { ...this.#frontier },
      hosts: this.#hostTotals(),
      process: { rssBytes: process.memoryUsage.rss(), eventLoopLagSeconds: this.#eventLoopLag() },
      proxies: this.#identities.rows(this.#clock.now()),
      proxiesTotal: this.#identities.proxiesTotal,
      proxiesDown: this.#identities.proxiesDown,
      sessions: this.#identities.sessions,
      render: {
        pages: this.#renderedPages,
        byReason: Object.fromEntries(this.#rendered),
        afterPlain: this.#renderedAfterPlain,
        browserRequests: this.#browserRequests,
        refused: this.#browserRefused,
        browsers: { ...this.#browsers },
      },
    };
  }

  /**
   * What the live dashboard shows: {@link snapshot} plus the per-second series, the busiest
   * hosts (at most 50, by requests), the latest pages and the recent errors (newest first, strings
   * cut to 500 characters). Pass `() => metrics.dashboardSnapshot()` as a dashboard source.
   */
  dashboardSnapshot(): DashboardSnapshot {
    const now = this.#clock.now();
    const rows: HostRow[] = busiest(this.#hosts.values(), HOST_ROWS).map((h) => ({
      host: h.host,
      requests: h.requests,
      errors: h.errors,
      retries: h.retries,
      bytes: h.bytes,
      rate: h.rate,
      backoffMs: Math.max(0, h.backoffUntil - now),
      robots: h.robots,
      throttle:
        h.throttle === null
          ? null
          : {
              limit: h.throttle.limit,
              delayMs: h.throttle.delayMs,
              reason: cut(h.throttle.reason),
              sinceMs: Math.max(0, now - h.throttle.changedAt),
              latencyMs: h.throttle.latencyMs,
              baseLatencyMs: h.throttle.baseLatencyMs,
            },
    }));
    return {
      metrics: this.snapshot(),
      series: this.#live.series(now),
      hosts: rows,
      hostsTotal: this.#hosts.size,
      pages: this.#pages.newestFirst().map((p) => ({
        ...p,
        url: cut(p.url),
        host: cut(p.host),
        title: p.title === null ? null : cut(p.title),
        error: p.error === null ? null : cut(p.error),
      })),
      errors: this.#recentErrors.newestFirst().map((e) => ({
        ...e,
        kind: cut(e.kind),
        host: cut(e.host),
        url: cut(e.url),
        message: cut(e.message),
      })),
    };
  }

  /** Stops the event-loop-delay monitor. The counters stay readable; calling it twice is harmless. */
  close(): void {
    this.#loop.disable();
  }

  /** The host's entry, creating it (and deciding its label, once) on first sight. */
  #host(host: string): HostEntry {
    let h = this.#hosts.get(host);
    if (h !== undefined) return h;
    if (this.#hosts.size >= this.#maxTrackedHosts) {
      // Past the tracking bound every new host shares one entry, so memory stays bounded.
      h = this.#otherHost ??= this.#newHost(OTHER, this.#otherLabels);
      if (!this.#hosts.has(OTHER)) this.#hosts.set(OTHER, h);
      return h;
    }
    let labels = this.#otherLabels;
    if (this.#labels.length < this.#topHosts && host !== OTHER) {
      labels = { label: host, byClass: new Float64Array(7), bytes: 0, browser: 0, refused: 0 };
      this.#labels.push(labels);
    }
    h = this.#newHost(host, labels);
    this.#hosts.set(host, h);
    return h;
  }

  #newHost(host: string, labels: LabelCounts): HostEntry {
    return {
      host,
      labels,
      requests: 0,
      errors: 0,
      retries: 0,
      bytes: 0,
      rate: null,
      backoffUntil: 0,
      robots: null,
      throttle: null,
    };
  }

  #allLabels(): LabelCounts[] {
    return [...this.#labels, this.#otherLabels];
  }

  #hostTotals(): MetricsSnapshot['hosts'] {
    const now = this.#clock.now();
    const robots = Object.fromEntries(ROBOTS_STATES.map((s) => [s, 0])) as Record<RobotsState, number>;
    let inBackoff = 0;
    for (const h of this.#hosts.values()) {
      if (h.backoffUntil > now) inBackoff++;
      if (h.robots !== null) robots[h.robots]++;
    }
    return { seen: this.#hosts.size, inBackoff, robots };
  }

  /** p99 loop delay of the last window ≥ 1 s, re-measured at most once a second by whoever reads. */
  #eventLoopLag(): number {
    const now = this.#clock.now();
    if (now - this.#loopResetAt >= 1000 || this.#loopLag === 0) {
      if (this.#loop.count > 0) this.#loopLag = this.#loop.percentile(99) / 1e9;
      if (now - this.#loopResetAt >= 1000) {
        this.#loop.reset();
        this.#loopResetAt = now;
      }
    }
    return this.#loopLag;
  }
}

/**
 * The `n` hosts with the most requests, descending (ties keep first-seen order). One pass with a
 * small sorted buffer, so a frame costs O(hosts) rather than a sort of every host.
 */
function busiest(hosts: Iterable<HostEntry>, n: number): HostEntry[] {
  const top: HostEntry[] = [];
  for (const h of hosts) {
    if (top.length === n && h.requests <= top[n - 1]!.requests) continue;
    let i = top.length;
    while (i > 0 && top[i - 1]!.requests < h.requests) i--;
    top.splice(i, 0, h);
    if (top.length > n) top.pop();
  }
  return top;
}

function bump(m: Map<string, number>, key: string): void {
  const n = m.get(key);
  if (n !== undefined) m.set(key, n + 1);
  else if (m.size < MAX_REASONS || key === OTHER) m.set(key, 1);
  else m.set(OTHER, (m.get(OTHER) ?? 0) + 1);
}

function cut(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}
