import { setMaxListeners } from 'node:events';
import { Channel } from '../conc/channel.js';
import { type Clock, systemClock } from '../conc/clock.js';
import { type CancelContext, isDeadlineExceeded, withCancel, withTimeout } from '../conc/context.js';
import { fanOut, merge, stage } from '../conc/pipeline.js';
import { type JobResult, WorkerPool } from '../conc/pool.js';
import { Limiter, LimiterDeadlineError } from '../conc/rate.js';
import { Weighted } from '../conc/semaphore.js';
import { type CrawlAgent, createAgent } from './fetch/agent.js';
import { FetchError } from './fetch/errors.js';
import { type FetchResult, fetchPage } from './fetch/fetch-page.js';
import {
  backoffMs,
  isRetryable,
  MAX_RETRY_AFTER_MS,
  type RetryDelayOptions,
  retryDelay,
} from './fetch/retry.js';
import type { Completion, Frontier, FrontierItem } from './frontier/frontier.js';
import { openStorage } from './frontier/open-frontier.js';
import { CrawlMetrics } from './metrics/metrics.js';
import { type CrawlOptions, defaultName, resolveOptions } from './options.js';
import { createParser, type ParseConfig, type ParseJob, type ParseOutput } from './parse/parse-job.js';
import { ParseThread } from './parse/parse-thread.js';
import { type HostState, HostTable } from './politeness/host-table.js';
import type { PageRecord } from './record.js';
import { RobotsGate } from './robots/robots-gate.js';
import { crawlSitemaps, type SitemapFetch } from './sitemap/sitemap.js';
import { sitemapFetcher } from './sitemap/sitemap-fetch.js';
import type { Sink } from './store/sink.js';
import { type CrawlSummary, type StopReason, summarize } from './summary.js';
import { hostKey, type NormalizeOptions, normalizeUrl } from './url/normalize.js';
import { createScope, type ScopeOptions } from './url/scope.js';
import { QueryVariantGuard } from './url/traps.js';

/** What a fetch worker hands to the parse stage. */
type Outcome =
  | { kind: 'fetched'; item: FrontierItem; host: HostState; res: FetchResult; attempts: number }
  | {
      kind: 'failed';
      item: FrontierItem;
      host: HostState | null;
      error: string;
      attempts: number;
      status: number | null;
      durationMs: number;
    }
  | { kind: 'retry'; item: FrontierItem; host: HostState; at: number; reason: string }
  | { kind: 'unstarted'; item: FrontierItem; host: HostState };

/** The global rate limit as the crawl uses it: a local Limiter, or one shared through Redis. */
export interface RateGate {
  /** Waits for one token; rejects if `signal` aborts first (or would, by its deadline). */
  wait(signal?: AbortSignal): Promise<void>;
}

/** Replaceable parts of a crawl (the distributed mode swaps frontier and limiter). */
export interface CrawlDeps {
  frontier?: Frontier;
  limiter?: RateGate;
  metrics?: CrawlMetrics;
}

/** A fetch worker's job: one leased URL and its host's politeness state. */
type FetchJob = { item: FrontierItem; host: HostState };

/** What the parse stage hands to the store. */
type Parsed = { outcome: Outcome; page: ParseOutput | null; parseError: string | null };

const STORE_BATCH = 64;
/** Event-loop turns the store waits for a batch to fill (measured: bench/crawl.bench.ts). */
const STORE_TURNS = 8;

/**
 * A running crawl: the seed's worker pool and fetch → parse → store pipeline, fed by the
 * frontier through the scheduler. Created by {@link crawl}; `done` resolves with the summary
 * when the frontier is empty and nothing is in flight, a limit is reached, or it is stopped.
 */
export class Crawl implements AsyncIterable<PageRecord> {
  readonly options: CrawlOptions;
  readonly name: string;
  readonly metrics: CrawlMetrics;
  /** Resolves when the crawl has ended and its output is flushed. */
  readonly done: Promise<CrawlSummary>;

  readonly #stopCtx: CancelContext;
  readonly #abortCtx: CancelContext;
  readonly #wake = new Channel<void>(1);
  readonly #clock: Clock;
  /** The crawl's URL normalization, used for seeds, sitemap entries and redirect hops alike. */
  readonly #norm: NormalizeOptions;
  /** Retry backoff (full jitter) and the longest Retry-After honoured for a retry. */
  readonly #backoff: RetryDelayOptions;
  readonly #limiter: RateGate;
  readonly #connections: Weighted;
  readonly #hosts: HostTable;
  readonly #scope: ReturnType<typeof createScope>;
  // Caps distinct query strings per path (faceted navigation, calendars, tokens).
  readonly #queryVariants: QueryVariantGuard;
  #frontier: Frontier;
  #sink: Sink | null = null;
  #records: Channel<PageRecord> | null = null;
  #robots!: RobotsGate;
  #outstanding = 0;
  #retrying = new Set<string>();
  readonly #sampleUrl = new Map<string, string>();
  /** Sitemap walks still adding URLs: the crawl can't end while one runs. */
  #seeding = 0;
  #fetchSitemap: SitemapFetch | null = null;
  #stored = 0;
  #startedAt = Date.now();
  #resumed = false;
  #aborted = false;
  #deadlineHit = false;

  constructor(input: Partial<CrawlOptions> & { seeds?: string[] }, deps: CrawlDeps = {}) {
    this.options = resolveOptions(input);
    const o = this.options;
    this.name = defaultName(o);
    this.metrics = deps.metrics ?? new CrawlMetrics();
    this.#abortCtx = withCancel(o.signal);
    this.#clock = o.clock ?? systemClock;
    this.#norm = { stripParams: o.stripParams, stripSessionIds: o.stripSessionIds };
    this.#backoff = { baseMs: o.retryBaseMs, capMs: o.retryCapMs, maxRetryAfterMs: MAX_RETRY_AFTER_MS };
    // The graceful-stop signal carries the crawl's deadline (--max-time), so a rate-limit wait
    // that would end after it fails at once instead of sleeping past it.
    this.#stopCtx = Number.isFinite(o.maxTimeMs)
      ? withTimeout(this.#abortCtx.signal, o.maxTimeMs, this.#clock)
      : withCancel(this.#abortCtx.signal);
    // Every worker waits on these signals at once; more than 10 listeners is by design.
    setMaxListeners(0, this.#abortCtx.signal, this.#stopCtx.signal);
    // Stopping wakes an idle scheduler so it sees the stop at once.
    this.#stopCtx.signal.addEventListener('abort', () => this.#wake.trySend(), { once: true });
    this.#limiter = deps.limiter ?? new Limiter(o.rate, o.burst, this.#clock);
    this.#connections = new Weighted(o.maxConnections);
    this.#hosts = new HostTable(
      {
        rate: o.hostRate,
        burst: o.hostBurst,
        concurrency: o.hostConcurrency,
        maxPages: o.maxPagesPerHost,
        maxBackoffMs: 300_000,
      },
      this.#clock,
    );
    this.#queryVariants = new QueryVariantGuard(o.maxQueryVariants);
    this.#scope = createScope(scopeOptions(o));
    if (deps.frontier) {
      this.#frontier = deps.frontier;
    } else {
      const opened = openStorage(o, this.name);
      this.#frontier = opened.frontier;
      this.#sink = opened.sink;
      this.#resumed = opened.resumed;
    }
    this.done = this.#run();
  }

  /** Graceful stop (first SIGINT): no new requests; in-flight ones finish and are stored. */
  stop(): void {
    this.#stopCtx.cancel();
  }

  /** Hard stop (second SIGINT): aborts in-flight requests now; stored records stay stored. */
  abort(): void {
    this.#aborted = true;
    this.#abortCtx.cancel();
  }

  /** Why the crawl ended, for the summary. */
  #stopReason(): StopReason {
    if (this.#aborted || this.options.signal?.aborted) return 'aborted';
    const stop = this.#stopCtx.signal;
    if (this.#deadlineHit || (stop.aborted && isDeadlineExceeded(stop.reason))) return 'max-time';
    if (stop.aborted) return 'stopped';
    if (this.#stored >= this.options.maxPages) return 'max-pages';
    return 'done';
  }

  /** Whether this crawl resumed an existing state file. */
  get resumed(): boolean {
    return this.#resumed;
  }

  /** Live counters for progress lines. */
  progress(): { stored: number; queued: number; inFlight: number; elapsedMs: number } {
    const s = this.#frontier.stats();
    return {
      stored: this.#stored,
      queued: s.queued,
      inFlight: this.#outstanding,
      elapsedMs: Date.now() - this.#startedAt,
    };
  }

  /**
   * The stored records as an async iterable (backpressure: the crawl waits for a slow
   * consumer). Only records stored after iteration starts are seen; use `onRecord` to see all.
   */
  [Symbol.asyncIterator](): AsyncIterator<PageRecord> {
    this.#records ??= new Channel<PageRecord>(256);
    return this.#records[Symbol.asyncIterator]();
  }

  async #run(): Promise<CrawlSummary> {
    const o = this.options;
    let endReason: StopReason = 'done';
    // The SSRF guard checks every connection's resolved address (fetch/ssrf.ts).
    const agent = createAgent({
      maxConnections: o.maxConnections,
      connectTimeoutMs: o.timeoutMs,
      ssrf: { allowPrivate: o.allowPrivate, seeds: [...o.seeds, ...o.sitemaps] },
    });
    const parseConfig = this.#parseConfig();
    const threads = Array.from({ length: o.parsers }, () => new ParseThread(parseConfig));
    try {
      this.#robots = new RobotsGate({
        agent,
        userAgent: o.userAgent,
        timeoutMs: o.timeoutMs,
        ignore: o.ignoreRobots,
        connections: this.#connections,
        signal: this.#abortCtx.signal,
        clock: this.#clock,
        onReady: (host, info) => {
          const s = this.#hosts.get(host);
          s.robots = info.status;
          if (info.crawlDelay) {
            this.#hosts.applyCrawlDelay(s, info.crawlDelay);
            void this.#frontier.setHostInterval?.(host, info.crawlDelay * 1000);
          }
          this.metrics.setHostState(host, { robots: info.status, rate: s.limiter.limit() });
          if (!info.refreshed && o.sitemapsAuto && info.sitemaps.length > 0 && this.#isSeedHost(host))
            void this.#seedFromSitemaps(info.sitemaps);
          this.#wake.trySend();
        },
      });
      await this.#enqueueSeeds();
      this.#fetchSitemap = sitemapFetcher({
        agent,
        userAgent: o.userAgent,
        timeoutMs: o.timeoutMs,
        connections: this.#connections,
        limiter: this.#limiter,
        checkRedirect: (next) => this.#redirectRefusal(next),
        signal: this.#stopCtx.signal,
      });
      if (o.sitemaps.length > 0) void this.#seedFromSitemaps(o.sitemaps);
      const pool = new WorkerPool<FetchJob, Outcome>(
        (job, signal) => this.#fetchOne(job.item, job.host, agent, signal),
        { workers: o.workers, queueSize: o.workers, signal: this.#abortCtx.signal },
      );
      // Every fetch listens on the pool's signal: many listeners at once by design.
      setMaxListeners(0, pool.signal);
      const parsed = this.#parseStage(pool.results, threads, parseConfig);
      const storing = this.#storeStage(parsed);
      const sampler = setInterval(() => this.#sample(pool, parsed, agent), 250);
      sampler.unref();
      try {
        await this.#schedule(pool);
      } finally {
        await pool.shutdown();
        await storing;
        clearInterval(sampler);
        this.#sample(pool, parsed, agent);
      }
    } finally {
      // Read before the cleanup below cancels the crawl's signals.
      endReason = this.#stopReason();
      this.#records?.close();
      this.#sink?.close();
      await this.#frontier.close();
      this.metrics.close();
      await Promise.all(threads.map((t) => t.close()));
      await agent.close();
      this.#abortCtx.cancel();
    }
    return summarize(this.metrics.snapshot(), this.#startedAt, this.#frontier.stats(), endReason);
  }

  async #enqueueSeeds(): Promise<void> {
    const o = this.options;
    const items: FrontierItem[] = [];
    for (const s of o.seeds) {
      const url = normalizeUrl(s, undefined, this.#norm);
      if (url) items.push({ url, host: this.#noteHost(url), depth: 0, referrer: null, attempts: 0 });
    }
    await this.#frontier.add(items);
  }

  #isSeedHost(host: string): boolean {
    return this.options.seeds.some((u) => hostKey(u) === host);
  }

  /**
   * Walks sitemaps (indexes nested to any depth, loops ended, out-of-scope entries skipped) and
   * enqueues their pages at depth 0 with their lastmod, in batches, while the crawl runs. A
   * sitemap that fails is recorded as an error and the walk goes on.
   */
  async #seedFromSitemaps(urls: readonly string[]): Promise<void> {
    this.#seeding++;
    let batch: FrontierItem[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const items = batch;
      batch = [];
      await this.#frontier.add(items);
      this.#wake.trySend();
    };
    try {
      const pages = crawlSitemaps(urls, this.#fetchSitemap!, {
        inScope: (u) => this.#scope.inScope(u),
        signal: this.#stopCtx.signal,
        onError: (sitemap, err) =>
          this.metrics.error(
            'sitemap',
            hostKey(sitemap),
            sitemap,
            `sitemap: ${(err as Error)?.message ?? err}`,
          ),
      });
      for await (const page of pages) {
        const url = normalizeUrl(page.loc, undefined, this.#norm);
        if (!url) continue;
        batch.push({
          url,
          host: this.#noteHost(url),
          depth: 0,
          referrer: null,
          attempts: 0,
          lastmod: page.lastmod ?? null,
        });
        if (batch.length >= 500) await flush();
      }
      await flush();
    } catch (err) {
      if (!this.#stopCtx.signal.aborted)
        this.metrics.error('sitemap', '', urls[0] ?? '', `sitemap: ${(err as Error)?.message ?? err}`);
    } finally {
      this.#seeding--;
      this.#wake.trySend();
    }
  }

  /** The politeness key of `url`, remembering one URL per host (its scheme) for robots.txt. */
  #noteHost(url: string): string {
    const host = hostKey(url);
    if (!this.#sampleUrl.has(host)) this.#sampleUrl.set(host, url);
    return host;
  }

  /** Reports queue depths, connections and limiter tokens (sampled, not per page: cheap). */
  #sample(pool: WorkerPool<FetchJob, Outcome>, parsed: Channel<Parsed>, agent: CrawlAgent): void {
    const m = this.metrics;
    const stats = this.#frontier.stats();
    m.setQueueDepth('frontier', stats.queued);
    m.setQueueDepth('fetch', pool.queued);
    m.setQueueDepth('parse', pool.results.length);
    m.setQueueDepth('store', parsed.length);
    m.setInFlight(this.#outstanding);
    m.setOpenConnections(agent.connections.open, this.options.maxConnections);
    if (this.#limiter instanceof Limiter) m.setLimiterTokens(this.#limiter.tokens());
    m.setFrontier(stats);
  }

  /** Leases URLs whose host may go now and feeds the worker pool, until the crawl ends. */
  async #schedule(pool: WorkerPool<FetchJob, Outcome>): Promise<void> {
    const stop = this.#stopCtx.signal;
    const frontier = this.#frontier;
    while (!stop.aborted && !this.#deadlineHit) {
      const budget = this.options.maxPages - this.#stored - this.#outstanding - this.#retrying.size;
      const stats = frontier.stats();
      if (
        this.#outstanding === 0 &&
        this.#retrying.size === 0 &&
        this.#seeding === 0 &&
        (stats.queued === 0 || budget <= 0)
      ) {
        // A shared frontier is finished only when no process has work left.
        if (!frontier.drained || budget <= 0 || (await frontier.drained())) break;
      }
      let item: FrontierItem | undefined;
      if (budget > 0) {
        const now = this.#clock.now();
        [item] = await frontier.lease(1, now, (h) => this.#hostReady(h, now));
      }
      if (!item) {
        await this.#idle();
        continue;
      }
      this.#retrying.delete(item.url);
      const host = this.#hosts.get(item.host);
      const skip = this.#skipReason(item, host);
      if (skip) {
        this.#outstanding++;
        await this.#finishSkipped(item, skip);
        continue;
      }
      this.#hosts.take(host, this.#clock.now());
      this.#outstanding++;
      try {
        await pool.submit({ item, host }, stop);
      } catch {
        // Stopped while waiting for a free worker: no request was made.
        this.#hosts.finish(host, false);
        this.#outstanding--;
        await frontier.release(item);
        break;
      }
      this.metrics.setInFlight(this.#outstanding);
    }
  }

  #hostReady(host: string, now: number): boolean {
    const s = this.#hosts.get(host);
    if (s.robots === 'pending') {
      this.#robots.request(host, this.#sampleUrl.get(host) ?? `http://${host}/`);
      return false;
    }
    // An exhausted host's URLs are leased only to be recorded as skipped, so the crawl can end.
    return this.#hosts.exhausted(s) || this.#hosts.ready(s, now);
  }

  #skipReason(item: FrontierItem, host: HostState): string | null {
    if (this.#hosts.exhausted(host)) return 'skipped: max-pages-per-host reached';
    if (!this.#robots.allowed(item.host, item.url)) return 'robots: disallowed by robots.txt';
    return null;
  }

  /** Sleeps until something may have changed: a finished page, robots, or a host's next token. */
  async #idle(): Promise<void> {
    const now = this.#clock.now();
    let until = now + 1000;
    const due = this.#frontier.nextDueAt();
    if (due !== undefined) until = Math.min(until, Math.max(due, now + 1));
    for (const s of this.#hosts.all()) {
      const at = this.#hosts.nextReadyAt(s, now);
      if (at !== undefined && at > now) until = Math.min(until, at);
    }
    // A plain ref'd timer that pokes the wake channel: cheaper than a context per wait, and it
    // keeps the process alive while every host is paused (nothing else may be pending then).
    const timer = setTimeout(() => this.#wake.trySend(), Math.max(1, Math.min(1000, until - now)));
    try {
      await this.#wake.recv();
    } finally {
      clearTimeout(timer);
    }
  }

  async #fetchOne(
    item: FrontierItem,
    host: HostState,
    agent: CrawlAgent,
    signal: AbortSignal,
  ): Promise<Outcome> {
    if (this.#stopCtx.signal.aborted) return { kind: 'unstarted', item, host };
    const o = this.options;
    const attempts = item.attempts + 1;
    const started = performance.now();
    try {
      // The token is taken last, right before the request, so the server sees the bucket's rate
      // (a token taken earlier could wait in a queue and arrive bunched with later ones).
      await this.#connections.acquire(1, signal);
    } catch {
      return { kind: 'unstarted', item, host };
    }
    try {
      const waitStart = performance.now();
      await this.#limiter.wait(this.#stopCtx.signal);
      this.metrics.limiterWait(performance.now() - waitStart);
    } catch (err) {
      // Stopped, or this request's token would come after the crawl's deadline: no request is
      // made. Tokens are reserved in order, so no URL leased later could go in time either: the
      // scheduler stops leasing, while requests holding earlier reservations still go.
      this.#connections.release(1);
      if (err instanceof LimiterDeadlineError) {
        this.#deadlineHit = true;
        this.#wake.trySend();
      }
      return { kind: 'unstarted', item, host };
    }
    let res: FetchResult;
    try {
      host.requests++;
      res = await fetchPage(item.url, {
        decodeText: false, // decoded on a parse thread
        dispatcher: agent,
        timeoutMs: o.timeoutMs,
        maxBytes: o.maxBytes,
        userAgent: o.userAgent,
        signal,
        checkRedirect: (next) => this.#redirectRefusal(next, item.url),
      });
    } catch (err) {
      const durationMs = performance.now() - started;
      if (signal.aborted) return { kind: 'unstarted', item, host };
      const fe = err instanceof FetchError ? err : null;
      const message = fe ? fe.message : `network: ${(err as Error)?.message ?? String(err)}`;
      this.metrics.requestFinished(item.host, null, durationMs, 0);
      if (fe && isRetryable(fe) && attempts <= o.retries) {
        this.metrics.retry(item.host, fe.kind);
        return {
          kind: 'retry',
          item: { ...item, attempts },
          host,
          at: this.#clock.now() + backoffMs(attempts, this.#backoff),
          reason: message,
        };
      }
      return { kind: 'failed', item, host, error: message, attempts, status: null, durationMs };
    } finally {
      this.#connections.release(1);
    }
    this.metrics.requestFinished(item.host, res.status, res.durationMs, res.bytes);
    if (res.status === 429 || res.status === 503) {
      const wait = this.#hosts.throttle(host, res.retryAfterMs);
      void this.#frontier.pauseHost?.(item.host, host.pausedUntil);
      this.metrics.setHostState(item.host, { backoffUntil: host.pausedUntil });
      if (attempts <= o.retries) {
        this.metrics.retry(item.host, String(res.status));
        return {
          kind: 'retry',
          item: { ...item, attempts },
          host,
          at: this.#clock.now() + wait,
          reason: `http: ${res.status}`,
        };
      }
    } else if (isRetryable(res.status) && attempts <= o.retries) {
      this.metrics.retry(item.host, String(res.status));
      const at = this.#clock.now() + retryDelay(attempts, res, this.#clock.now(), this.#backoff);
      return { kind: 'retry', item: { ...item, attempts }, host, at, reason: `http: ${res.status}` };
    } else if (res.status < 400) {
      this.#hosts.succeeded(host);
    }
    return { kind: 'fetched', item, host, res, attempts };
  }

  /**
   * Why a redirect hop may not be followed (not http(s), out of scope), or, for a page's own
   * redirects (`from` given), a hop into a URL this crawl already has (it is crawled on its own);
   * null to follow it. The hop is normalized once, the crawl's way.
   */
  #redirectRefusal(next: string, from?: string): string | null {
    const url = normalizeUrl(next, undefined, this.#norm);
    if (!url) return `not an http(s) URL: ${next.slice(0, 200)}`;
    if (!this.#scope.inScope(url)) return `out of scope: ${url.slice(0, 200)}`;
    if (from !== undefined && url !== from && this.#frontier.has?.(url))
      return `already crawled: ${url.slice(0, 200)}`;
    return null;
  }

  /** Fan-out to K parse threads (or the main thread), fan-in to one channel for the store. */
  #parseStage(
    input: Channel<JobResult<FetchJob, Outcome>>,
    threads: ParseThread[],
    config: ParseConfig,
  ): Channel<Parsed> {
    const parseOn =
      (parse: (job: ParseJob) => Promise<ParseOutput>) =>
      async (result: JobResult<FetchJob, Outcome>): Promise<Parsed> => {
        // #fetchOne catches everything it expects; a rejection here is a bug, recorded on the page.
        const outcome: Outcome = result.ok
          ? result.value
          : {
              kind: 'failed',
              item: result.job.item,
              host: result.job.host,
              error: `internal: ${String(result.error)}`,
              attempts: result.job.item.attempts + 1,
              status: null,
              durationMs: 0,
            };
        if (outcome.kind !== 'fetched' || !isHtml(outcome.res) || outcome.res.status >= 400) {
          return { outcome, page: null, parseError: null };
        }
        const res = outcome.res;
        const job: ParseJob = {
          body: res.body,
          mime: res.mime,
          charset: res.charset,
          url: res.finalUrl,
          depth: outcome.item.depth,
        };
        try {
          const page = await parse(job);
          this.metrics.parseTime(page.parseMs);
          return { outcome, page, parseError: null };
        } catch (err) {
          return { outcome, page: null, parseError: `parse: ${(err as Error).message}` };
        }
      };
    if (threads.length === 0) {
      const parse = createParser(config);
      return stage(
        input,
        parseOn(async (job) => parse(job)),
        { buffer: 64 },
      );
    }
    const lanes = fanOut(input, threads.length);
    return merge(
      ...lanes.map((lane, i) =>
        stage(
          lane,
          parseOn((job) => threads[i]!.parse(job)),
          { concurrency: 32, buffer: 32 },
        ),
      ),
    );
  }

  /** Batches finished pages into the sink and the frontier (one atomic step per batch). */
  async #storeStage(input: Channel<Parsed>): Promise<void> {
    for (;;) {
      const first = await input.recv();
      if (!first.ok) return;
      const batch: Parsed[] = [first.value];
      // Take what is ready; give the event loop a few turns to deliver more (parse threads answer
      // between turns), so one transaction carries many pages. No timer: an idle crawl waits on recv.
      for (let turn = 0; turn < STORE_TURNS && batch.length < STORE_BATCH; turn++) {
        if (turn > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        for (
          let next = input.tryRecv();
          next?.ok;
          next = batch.length < STORE_BATCH ? input.tryRecv() : undefined
        ) {
          batch.push(next.value);
        }
      }
      await this.#commit(batch);
    }
  }

  async #commit(batch: Parsed[]): Promise<void> {
    const started = performance.now();
    const completions: Completion[] = [];
    for (const p of batch) {
      const o = p.outcome;
      if (o.kind === 'retry' || o.kind === 'unstarted') {
        // The host's slot frees as soon as its response is in, not after a (Redis) round trip.
        this.#hosts.finish(o.host, false);
        if (o.kind === 'retry') this.#retrying.add(o.item.url);
        await this.#frontier.release(o.item, o.kind === 'retry' ? o.at : undefined);
        this.#outstanding--;
        continue;
      }
      completions.push(this.#completion(p));
    }
    if (completions.length > 0) {
      const records = completions.map((c) => c.record);
      const mark = this.#sink?.write(records);
      for (const c of completions) this.#hosts.finish(this.#hosts.get(c.item.host), true);
      // Outstanding drops only once the batch (and its new links) is durable: the crawl can't end early.
      await this.#frontier.complete(completions, mark);
      for (const c of completions) {
        this.#stored++;
        this.#outstanding--;
        this.metrics.pageStored({
          url: c.record.url,
          status: c.record.status,
          title: c.record.title,
          error: c.record.error,
          host: c.item.host,
        });
        if (c.record.error)
          this.metrics.error(c.record.error.split(':')[0]!, c.item.host, c.record.url, c.record.error);
        this.options.onRecord?.(c.record);
      }
      this.metrics.storeTime(performance.now() - started, completions.length);
      this.metrics.setFrontier(this.#frontier.stats());
      if (this.#records) {
        // Backpressure, not loss: a slow reader of the iterable slows the store down.
        try {
          for (const r of records) await this.#records.send(r, this.#abortCtx.signal);
        } catch {
          // aborted: the records are stored; the reader just doesn't see the rest
        }
      }
    }
    this.metrics.setInFlight(this.#outstanding);
    this.#wake.trySend();
  }

  async #finishSkipped(item: FrontierItem, reason: string): Promise<void> {
    const record = baseRecord(item, 0);
    record.error = reason;
    await this.#frontier.complete([{ item, record, links: [] }], this.#sink?.write([record]));
    this.#outstanding--;
    this.options.onRecord?.(record);
    this.metrics.pageStored({ url: record.url, status: null, title: null, error: reason, host: item.host });
  }

  #completion(p: Parsed): Completion {
    const o = p.outcome;
    const item = o.item;
    if (o.kind === 'failed') {
      const record = baseRecord(item, o.attempts);
      record.error = o.error;
      record.status = o.status;
      record.duration_ms = Math.round(o.durationMs);
      return { item, record, links: [] };
    }
    if (o.kind !== 'fetched') throw new Error('unreachable');
    const res = o.res;
    const record = baseRecord(item, o.attempts);
    record.final_url = normalizeUrl(res.finalUrl) ?? res.finalUrl;
    record.status = res.status;
    record.content_type = res.contentType;
    record.bytes = res.bytes;
    record.duration_ms = Math.round(res.durationMs);
    if (res.status >= 400) record.error = `http: ${res.status}`;
    if (p.parseError) record.error = p.parseError;
    const links: FrontierItem[] = [];
    const page = p.page;
    if (page) {
      record.title = page.title;
      record.description = page.description;
      record.canonical = page.canonical;
      record.noindex = page.robots.noindex;
      if (page.fields) record.fields = page.fields;
      const all = page.links === '' ? [] : page.links.split('\n');
      record.links = all;
      record.links_count = all.length;
      const nextDepth = item.depth + 1;
      for (let i = 0; i < page.follow.length; i++) {
        const url = all[page.follow[i]!]!;
        const host = page.hosts[page.followHost[i]!]!;
        if (this.#queryVariants.admit(url) !== null) continue; // trap guard: distinct query strings per path
        if (!this.#sampleUrl.has(host)) this.#sampleUrl.set(host, url);
        links.push({ url, host, depth: nextDepth, referrer: item.url, attempts: 0 });
      }
    }
    if (this.options.extractFn && page && page.html !== null) {
      const extra = this.options.extractFn({
        url: item.url,
        finalUrl: res.finalUrl,
        status: res.status,
        html: page.html,
        title: page.title,
      });
      if (extra) record.fields = { ...record.fields, ...extra };
    }
    return { item, record, links };
  }

  /** How every page is parsed (sent once to each parse thread). */
  #parseConfig(): ParseConfig {
    const o = this.options;
    return {
      stripParams: o.stripParams,
      stripSessionIds: o.stripSessionIds,
      fields: o.extract,
      scope: scopeOptions(o),
      traps: {
        maxUrlLength: o.maxUrlLength,
        maxRepeatedSegments: o.maxRepeatedSegments,
        maxPathDepth: o.maxPathDepth,
      },
      maxDepth: o.depth,
      keepHtml: o.extractFn !== undefined,
    };
  }
}

/** Which links are in scope: the seeds' (and sitemaps') hosts or domains, and the patterns. */
function scopeOptions(o: CrawlOptions): ScopeOptions {
  return { seeds: [...o.seeds, ...o.sitemaps], mode: o.scope, include: o.include, exclude: o.exclude };
}

function isHtml(res: FetchResult): boolean {
  return res.mime === 'text/html' || res.mime === 'application/xhtml+xml';
}

function baseRecord(item: FrontierItem, attempts: number): PageRecord {
  return {
    url: item.url,
    final_url: null,
    status: null,
    depth: item.depth,
    referrer: item.referrer,
    title: null,
    description: null,
    canonical: null,
    links_count: 0,
    links: [],
    content_type: null,
    bytes: 0,
    fetched_at: new Date().toISOString(),
    duration_ms: 0,
    attempts,
    error: null,
    lastmod: item.lastmod ?? null,
  };
}

/**
 * Starts a crawl with the given options (see {@link CrawlOptions}; every option has the
 * seed's or trawl's default). Invalid options throw a UsageError at once, before any request.
 * The returned {@link Crawl} is async-iterable over stored records; `await crawl.done` for the
 * summary.
 */
export function crawl(options: Partial<CrawlOptions> & { seeds?: string[] }): Crawl {
  return new Crawl(options);
}
