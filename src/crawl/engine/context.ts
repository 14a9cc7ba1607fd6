import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from '../../conc/clock.js';
import { Limiter } from '../../conc/rate.js';
import { Weighted } from '../../conc/semaphore.js';
import { type CrawlAgent, createAgent } from '../fetch/agent.js';
import { HttpCache } from '../fetch/http-cache.js';
import type { SsrfOptions } from '../fetch/ssrf.js';
import type { Frontier } from '../frontier/frontier.js';
import type { CrawlMetrics } from '../metrics/metrics.js';
import type { CrawlOptions } from '../options.js';
import { HostTable } from '../politeness/host-table.js';
import type { RateGate } from '../politeness/rate-gate.js';
import type { NormalizeOptions } from '../url/normalize.js';
import { createScope } from '../url/scope.js';
import type { Archive } from './archive.js';
import { Ledger } from './ledger.js';
import { scopeOptionsOf } from './parse-config.js';
import { redirectRule } from './redirects.js';

/**
 * The parts of one crawl that its steps share, each owned by exactly one of them or by the Crawl
 * that assembles them: the steps receive this object and keep no copy of another's state.
 */
export interface EngineContext {
  readonly options: CrawlOptions;
  readonly clock: Clock;
  readonly frontier: Frontier;
  /** The in-flight ledger: every end-of-crawl counter. */
  readonly ledger: Ledger;
  readonly metrics: CrawlMetrics;
  /**
   * Per-host politeness (token buckets, concurrency, pauses, page budgets). It tells the frontier
   * of every event that may let a host go sooner (HostTable's `mayGo` → Frontier.wake).
   */
  readonly hosts: HostTable;
  /** The crawl's open-connection cap (pages, robots.txt and sitemaps share it). */
  readonly connections: Weighted;
  /** The global rate limit. */
  readonly limiter: RateGate;
  readonly agent: CrawlAgent;
  /**
   * What the crawl's session-less requests (robots.txt, sitemaps) go through: `agent`, or the
   * proxy router once the crawl's identities are open (engine/identities.ts `dispatcher()`).
   */
  requestAgent: Dispatcher;
  /** The crawl's URL normalization (seeds, sitemap entries and redirect hops alike). */
  readonly norm: NormalizeOptions;
  /** Graceful stop (carries --max-time as its deadline). */
  readonly stop: AbortSignal;
  /** Hard stop. */
  readonly abort: AbortSignal;
  /** Whether `url` is in the crawl's scope. */
  inScope(url: string): boolean;
  /**
   * Why a redirect hop may not be followed, or null; with `from` (a page's own redirects) a hop
   * into a URL the crawl already has is refused too.
   */
  redirectRefusal(next: string, from?: string): string | null;
  /** Something changed that may let the scheduler lease: wake it. */
  wake(): void;
  /** The WARC output (--warc, --warc-dir), or null: robots.txt fetches are archived through it too. */
  readonly archive: Archive | null;
  /** The HTTP cache (--cache), or null. */
  readonly cache: HttpCache | null;
  /** Responses the cache could not store (a full disk): counted, not the pages' failures. */
  readonly cacheFailures: { failedStores: number };
}

/** What the Crawl hands to {@link buildContext}: the parts it owns or was given. */
export interface ContextParts {
  frontier: Frontier;
  metrics: CrawlMetrics;
  /** The global rate gate to use instead of a local Limiter (distributed mode). */
  limiter?: RateGate | undefined;
  /** The WARC output, if the crawl writes one. */
  archive?: Archive | null;
  stop: AbortSignal;
  abort: AbortSignal;
  wake(): void;
}

/**
 * Assembles a crawl's shared parts from its options: a fresh ledger and host table, the
 * connection cap, the global limiter (unless given), the HTTP agent with its SSRF guard (which
 * checks every connection's resolved address, fetch/ssrf.ts), scope and redirect rules.
 */
export function buildContext(options: CrawlOptions, parts: ContextParts): EngineContext {
  const o = options;
  const clock = o.clock ?? systemClock;
  const scope = createScope(scopeOptionsOf(o));
  const inScope = (url: string) => scope.inScope(url);
  const norm = { stripParams: o.stripParams, stripSessionIds: o.stripSessionIds };
  const hostPolicy = {
    rate: o.hostRate,
    burst: o.hostBurst,
    concurrency: o.hostConcurrency,
    autoThrottle: o.autoThrottle,
  };
  const agent = createAgent({
    // Per origin: no more sockets than one host may have requests in flight (robots.txt and
    // sitemap fetches of a busy host wait in its pool). At 1 this is an undici Client instead of
    // a Pool, whose request queue alone is a 16 KB array: in a broad crawl every host visited
    // within the keep-alive time holds one (bench:broad, docs/performance.md).
    maxConnections: Math.min(o.maxConnections, o.hostConcurrency),
    connectTimeoutMs: o.timeoutMs,
    ssrf: ssrfOptionsOf(o),
  });
  return {
    ...parts,
    archive: parts.archive ?? null,
    cache: o.cache === undefined ? null : HttpCache.open(o.cache, o.cacheMode ?? 'replay'),
    cacheFailures: { failedStores: 0 },
    options: o,
    clock,
    ledger: new Ledger(o.maxPages),
    // Every event that may let a host go sooner reaches the frontier, which may have set the host
    // aside until one comes (Frontier.wake). The scheduler is woken as before, not per event here:
    // by the store step after each batch (which follows every finish, and every cap change of a
    // request) and by robots.txt settling.
    hosts: new HostTable(
      { ...hostPolicy, maxPages: o.maxPagesPerHost, maxBackoffMs: 300_000 },
      clock,
      (host) => parts.frontier.wake(host),
    ),
    connections: new Weighted(o.maxConnections),
    limiter: parts.limiter ?? new Limiter(o.rate, o.burst, clock),
    agent,
    requestAgent: agent,
    norm,
    inScope,
    redirectRefusal: redirectRule(norm, inScope, parts.frontier),
  };
}

/** The SSRF guard's options for a crawl: `--allow-private`, and its seeds and sitemaps. */
export function ssrfOptionsOf(o: CrawlOptions): SsrfOptions {
  return { allowPrivate: o.allowPrivate, seeds: [...o.seeds, ...o.sitemaps] };
}
