import type { LiveSeries } from './live-stats.js';

/** Status classes of `trawl_requests_total`; `none` = no response arrived (network error, timeout). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'none'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** Pipeline stages whose queue depth `trawl_queue_depth{stage}` reports. */
export const QUEUE_STAGES = ['frontier', 'fetch', 'parse', 'store'] as const;
export type QueueStage = (typeof QUEUE_STAGES)[number];

/** A host's robots.txt state as the scheduler sees it. */
export const ROBOTS_STATES = ['ok', 'allow-all', 'disallow-all', 'pending', 'ignored'] as const;
export type RobotsState = (typeof ROBOTS_STATES)[number];

/**
 * What a stored page record came to: `ok` (no error), `failed` (its error says why), or
 * `skipped` (no request was made for a reason of the crawl's rules: refused by robots.txt, or its
 * host's --max-pages-per-host was used up).
 */
export type { PageOutcome } from '../record.js';

import type { PageOutcome } from '../record.js';

/** Count and sum (in seconds) of a duration histogram. */
export interface DurationTotals {
  count: number;
  sumSeconds: number;
}

/**
 * Every crawl-wide number of a {@link CrawlMetrics} at one instant, as plain data. The
 * end-of-crawl summary, `trawl status` and `/metrics` all read these same counters, so they agree
 * exactly (the `/metrics` values are produced from this storage at scrape time).
 */
export interface MetricsSnapshot {
  /** When the snapshot was taken (ms since the epoch). */
  at: number;
  /** When the CrawlMetrics was created (ms since the epoch). */
  startedAt: number;
  requests: { total: number; byStatusClass: Record<StatusClass, number> };
  /** Sum of the `bytes` of every finished request. */
  responseBytes: number;
  retries: { total: number; byReason: Record<string, number> };
  errors: { total: number; byKind: Record<string, number> };
  pagesStored: number;
  /** Items a scraper's handlers pushed, stored with their pages. */
  itemsStored: number;
  /** Recrawls (`--recrawl`): stored records by what the pass found (`new`, `changed`, `unchanged`, `gone`); empty otherwise. */
  changes: Record<string, number>;
  /** `pagesStored` by outcome (ok + failed + skipped = pagesStored), skipped ones by error kind. */
  pages: Record<PageOutcome, number> & { skippedByKind: Record<string, number> };
  /** Fetch latency, one sample per finished request. */
  fetch: DurationTotals;
  /** Parse time, one sample per parsed page. */
  parse: DurationTotals;
  /** Store time, one sample per batch; `records` sums the batch sizes. */
  store: DurationTotals & { records: number };
  /** Limiter: last reported token count, and the waits callers made (one sample per wait). */
  limiter: { tokens: number; waits: number; waitSecondsSum: number };
  queueDepth: Record<QueueStage, number>;
  inFlight: number;
  openConnections: number;
  connectionCap: number;
  frontier: { queued: number; leased: number; done: number; failed: number; seen: number };
  /** Hosts seen, hosts whose backoff lies in the future, and hosts per robots state. */
  hosts: { seen: number; inBackoff: number; robots: Record<RobotsState, number> };
  /** Resident set size, and the p99 event-loop delay over the last measured window (≥ 1 s). */
  process: { rssBytes: number; eventLoopLagSeconds: number };
  /**
   * The crawl's proxies as last reported (`CrawlMetrics.setIdentities`), one row per display, at
   * most 1000; [] before the first report and for a crawl without proxies.
   */
  proxies: ProxyRow[];
  /** Distinct proxies in the last report (more than `proxies.length` past the 1000-row cap). */
  proxiesTotal: number;
  /** True while every proxy is on backoff and the crawl waits for one; false before any report. */
  proxiesDown: boolean;
  /** Live sessions now; sessions created and retired so far (all 0 before the first report). */
  sessions: { live: number; created: number; retired: number };
  /**
   * Rendering (`--render`): pages rendered in Chromium by why (`always`, or `--render auto`'s
   * reasons), how many of them had been fetched plain first (auto's second fetches), and the
   * requests rendered pages made through the SSRF guard (subresources, XHR, redirect hops) with
   * how many it refused. All 0 without rendering.
   */
  render: {
    pages: number;
    byReason: Record<string, number>;
    afterPlain: number;
    browserRequests: number;
    refused: number;
    /** Chromium processes running at the last sample; launched, crashed and recycled so far. */
    browsers: { open: number; launches: number; crashes: number; recycles: number };
  };
}

/**
 * One proxy, as the dashboard and `/metrics` show it: its display (`scheme://host:port`, never
 * credentials; still untrusted text — render it as text), the counts of `trawl_proxy_requests_total`
 * and `trawl_proxy_errors_total`, and its backoff.
 */
export interface ProxyRow {
  display: string;
  requests: number;
  errors: number;
  state: 'up' | 'backoff';
  /** When the backoff ends (ms, the proxy pool's clock), null when up. */
  until: number | null;
  /** Milliseconds of backoff left when the snapshot was taken (0 when up). */
  backoffMs: number;
}

/** One row of the dashboard's per-host table. */
export interface HostRow {
  host: string;
  requests: number;
  errors: number;
  retries: number;
  bytes: number;
  /** The host's current politeness rate (requests/s) as last reported, or null if never reported. */
  rate: number | null;
  /** Milliseconds of backoff left (0 = none). */
  backoffMs: number;
  robots: RobotsState | null;
  /** The host's `--auto-throttle` state as last reported, or null (off, or no response yet). */
  throttle: HostThrottle | null;
}

/**
 * A host's server-aware throttle (`--auto-throttle`) as last reported: its concurrency limit,
 * its delay between requests, why it last changed and how long ago.
 */
export interface HostThrottle {
  /** Requests to the host in flight at most. */
  limit: number;
  /** Least time between two requests to the host, ms (0: none). */
  delayMs: number;
  /** Why it last changed: start, slow-start, increase, latency, 429 or 503. */
  reason: string;
  /** Milliseconds since that change when the snapshot was taken. */
  sinceMs: number;
  /** Mean latency of its last window and the host's base latency, ms (null: not measured yet). */
  latencyMs: number | null;
  baseLatencyMs: number | null;
}

/** A stored page, as the dashboard lists it. Strings come from the crawled site: render as text. */
export interface PageRow {
  at: number;
  url: string;
  host: string;
  status: number | null;
  title: string | null;
  error: string | null;
}

/** A recent error. Strings come from the crawled site or the network: render as text. */
export interface ErrorRow {
  at: number;
  kind: string;
  host: string;
  url: string;
  message: string;
}

/**
 * Everything the live dashboard shows, as JSON-safe data. Produced by
 * {@link CrawlMetrics.dashboardSnapshot} for a running crawl; a state-file reader can build one
 * for `trawl dashboard <state>`.
 */
export interface DashboardSnapshot {
  metrics: MetricsSnapshot;
  /** Per-second series over the window (requests, errors, pages, latency quantiles). */
  series: LiveSeries;
  /** The busiest hosts by requests, descending (bounded). */
  hosts: HostRow[];
  /** How many hosts exist in total (the table may show fewer). */
  hostsTotal: number;
  /** Latest stored pages, newest first (bounded). */
  pages: PageRow[];
  /** Latest errors, newest first (bounded). */
  errors: ErrorRow[];
}
