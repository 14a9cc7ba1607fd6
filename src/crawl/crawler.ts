import { setMaxListeners } from 'node:events';
import { Channel } from '../conc/channel.js';
import { systemClock } from '../conc/clock.js';
import { type CancelContext, isDeadlineExceeded, withCancel, withTimeout } from '../conc/context.js';
import { WorkerPool } from '../conc/pool.js';
import { refusal } from './engine/admission.js';
import type { Archive } from './engine/archive.js';
import { buildContext, type EngineContext, ssrfOptionsOf } from './engine/context.js';
import { fetchStep } from './engine/fetch-step.js';
import { settleHandler } from './engine/handler-outcome.js';
import { Identities } from './engine/identities.js';
import { IdleWatch } from './engine/idle-watch.js';
import { openStorage } from './engine/open-storage.js';
import type { FetchJob, Outcome } from './engine/outcome.js';
import { RecordBuilder } from './engine/page-record.js';
import { parseConfigOf } from './engine/parse-config.js';
import { parseStage } from './engine/parse-step.js';
import { Rendering } from './engine/rendering.js';
import { RobotsWiring } from './engine/robots-wiring.js';
import { sampleMetrics } from './engine/sampler.js';
import { Seeding } from './engine/seeding.js';
import { StoreStep } from './engine/store-step.js';
import { nextWakeAt } from './engine/wake-time.js';
import type { Frontier, FrontierItem } from './frontier/frontier.js';
import { MemoryFrontier } from './frontier/memory-frontier.js';
import { CrawlMetrics } from './metrics/metrics.js';
import { type CrawlOptions, defaultName, resolveOptions } from './options.js';
import { ParseThread } from './parse/parse-thread.js';
import type { RateGate } from './politeness/rate-gate.js';
import type { PageRecord } from './record.js';
import type { ItemSink } from './store/item-sink.js';
import type { Sink } from './store/sink.js';
import { type CrawlSummary, type StopReason, summarize } from './summary.js';

export type { RateGate } from './politeness/rate-gate.js';

/** A missed wake fails the crawl under test instead of being repaired (see Crawl's #checkWakes). */
const STRICT_WAKES = process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';

/** Replaceable parts of a crawl (the distributed mode swaps frontier and limiter). */
export interface CrawlDeps {
  frontier?: Frontier;
  limiter?: RateGate;
  metrics?: CrawlMetrics;
  /** The WARC output to use with a given frontier (the distributed mode opens its own per process). */
  archive?: Archive | null;
}

/**
 * A running crawl. The pipeline, top to bottom: seeds and sitemaps → frontier → scheduler
 * (leases what robots.txt and per-host politeness allow) → fetch workers (a WorkerPool under the
 * Weighted connection cap and the global rate gate; retries decided by fetch/retry.ts) → parse
 * threads → store (batched, atomic with the frontier) → metrics. The in-flight ledger
 * (engine/ledger.ts) owns every end-of-crawl counter and alone decides when it is finished.
 * `done` resolves with the summary when nothing is left, a limit is reached, it is stopped, or
 * its disk fills up (stopReason `storage-full`; `summary.storageError` names the file).
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
  /** The parts every step shares (engine/context.ts). */
  readonly #ctx: EngineContext;
  readonly #sink: Sink | null = null;
  readonly #items: ItemSink | null = null;
  readonly #archive: Archive | null;
  readonly #durable: boolean;
  readonly #resumed: boolean = false;
  #records: Channel<PageRecord> | null = null;
  /** The pipeline has ended: no record will be stored any more. */
  #ended = false;
  #robots!: RobotsWiring;
  #store!: StoreStep;
  #startedAt = Date.now();
  #aborted = false;
  #deadlineHit = false;
  readonly #idle = new IdleWatch();
  #warnedWakes = false;

  constructor(input: Partial<CrawlOptions> & { seeds?: string[] }, deps: CrawlDeps = {}) {
    const o = (this.options = resolveOptions(input));
    this.name = defaultName(o);
    this.metrics = deps.metrics ?? new CrawlMetrics();
    const clock = o.clock ?? systemClock;
    this.#abortCtx = withCancel(o.signal);
    // The graceful-stop signal carries the crawl's deadline (--max-time), so a rate-limit wait
    // that would end after it fails at once instead of sleeping past it.
    this.#stopCtx = Number.isFinite(o.maxTimeMs)
      ? withTimeout(this.#abortCtx.signal, o.maxTimeMs, clock)
      : withCancel(this.#abortCtx.signal);
    // Every worker waits on these signals at once; more than 10 listeners is by design.
    setMaxListeners(0, this.#abortCtx.signal, this.#stopCtx.signal);
    // Stopping wakes an idle scheduler so it sees the stop at once.
    this.#stopCtx.signal.addEventListener('abort', () => this.#wake.trySend(), { once: true });
    let frontier = deps.frontier;
    this.#durable = frontier !== undefined && !(frontier instanceof MemoryFrontier);
    this.#archive = deps.archive ?? null;
    if (!frontier) {
      const opened = openStorage(o, this.name);
      ({
        frontier,
        sink: this.#sink,
        items: this.#items,
        archive: this.#archive,
        resumed: this.#resumed,
        durable: this.#durable,
      } = opened);
    }
    const [stop, abort, wake] = [this.#stopCtx.signal, this.#abortCtx.signal, () => this.#wake.trySend()];
    this.#ctx = buildContext(o, {
      ...deps,
      frontier,
      metrics: this.metrics,
      archive: this.#archive,
      stop,
      abort,
      wake,
    });
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

  /** Whether this crawl resumed an existing state file. */
  get resumed(): boolean {
    return this.#resumed;
  }

  /** Live counters for progress lines (`inFlight` includes URLs waiting for a retry). */
  progress(): { stored: number; queued: number; inFlight: number; elapsedMs: number } {
    const { ledger, frontier } = this.#ctx;
    const inFlight = ledger.outstanding + ledger.retrying;
    return {
      stored: ledger.stored,
      queued: frontier.stats().queued,
      inFlight,
      elapsedMs: Date.now() - this.#startedAt,
    };
  }

  /**
   * Resolves once the crawl is settled: every URL in flight waits for a global rate token, no
   * robots.txt fetch or sitemap walk runs, and the scheduler waits for time (a host's token or
   * pause, a retry's due time) or an event — or the crawl has ended. Tests use it to prove that
   * nothing more happens until the clock moves (engine/idle-watch.ts).
   */
  idle(): Promise<void> {
    return this.#idle.idle();
  }

  /**
   * The stored records as an async iterable (backpressure: the crawl waits for a slow
   * consumer). Only records stored after iteration starts are seen; use `onRecord` to see all.
   */
  [Symbol.asyncIterator](): AsyncIterator<PageRecord> {
    if (this.#records === null) {
      this.#records = new Channel<PageRecord>(256);
      // Iterating a crawl that has already ended ends at once (it stored its records unseen).
      if (this.#ended) this.#records.close();
    }
    return this.#records[Symbol.asyncIterator]();
  }

  async #run(): Promise<CrawlSummary> {
    const ctx = this.#ctx;
    const o = this.options;
    const parseConfig = parseConfigOf(o);
    const threads = Array.from({ length: o.parsers }, () => new ParseThread(parseConfig));
    let endReason: StopReason = 'done';
    let ids: Identities | null = null;
    let rendering: Rendering | null = null;
    try {
      ids = await Identities.open(o, ctx.frontier, ctx.agent, {
        maxConnections: o.maxConnections,
        connectTimeoutMs: o.timeoutMs,
        ssrf: ssrfOptionsOf(o),
      });
      const identities = ids;
      ctx.requestAgent = identities.dispatcher(); // robots.txt and sitemaps: through the proxies too
      if (o.render !== 'off') rendering = await Rendering.open(ctx, identities);
      // 1. Seeds and sitemaps, and robots.txt (which may name more sitemaps).
      const noteHost = (host: string, url: string) => this.#robots.noteHost(host, url);
      const seeding = new Seeding(ctx, noteHost);
      this.#robots = new RobotsWiring(ctx, (urls) => void seeding.sitemaps(urls));
      const records = new RecordBuilder(o, noteHost);
      const iterator = () => this.#records;
      this.#store = new StoreStep({
        ctx,
        sink: this.#sink,
        items: this.#items,
        archive: this.#archive,
        records,
        iterator,
        onStop: () => this.stop(),
        afterBatch: () => identities.save(),
      });
      await seeding.seeds();
      if (o.sitemaps.length > 0) void seeding.sitemaps(o.sitemaps);
      // 2. Fetch workers (retries decided in the step) → parse threads → store.
      const onDeadline = () => {
        this.#deadlineHit = true; // a token would come after --max-time: lease no more
        ctx.wake();
      };
      const poolOptions = { workers: o.workers, queueSize: o.workers, signal: ctx.abort };
      const pool = new WorkerPool<FetchJob, Outcome>(
        fetchStep(ctx, identities, rendering, onDeadline, this.#idle),
        poolOptions,
      );
      const { ledger } = ctx;
      const settling = () => ledger.seeding || this.#robots.settling;
      this.#idle.watch((tokens) => ledger.outstanding === tokens + pool.queued && !settling());
      setMaxListeners(0, pool.signal); // every fetch listens on the pool's signal
      const parsed = parseStage(
        pool.results,
        threads,
        parseConfig,
        this.metrics,
        ctx.abort,
        settleHandler(ctx, identities, rendering),
      );
      const storing = this.#store.run(parsed);
      // 3. Metrics, sampled; 4. the scheduler feeds the pool until the ledger says finished.
      const sample = () =>
        sampleMetrics(ctx, pool.queued, pool.results.length, parsed.length, identities, rendering);
      const sampler = setInterval(sample, 250);
      sampler.unref();
      try {
        await this.#schedule(pool);
      } finally {
        await pool.shutdown();
        await storing;
        clearInterval(sampler);
        sample();
      }
    } finally {
      endReason = this.#stopReason(); // before the cleanup below cancels the crawl's signals
      // Sessions first: closing the store closes the frontier that keeps them (Redis: its client).
      await ids?.save().catch(() => {}); // best effort: each stored batch saved them already
      await this.#store?.close();
      this.#ended = true;
      this.#records?.close();
      this.metrics.close();
      await Promise.all(threads.map((t) => t.close()));
      this.#robots?.close();
      await rendering?.close(); // before the identities: its requests go through their agents
      await ids?.close();
      await ctx.agent.close();
      this.#abortCtx.cancel();
      this.#idle.ended();
    }
    if (this.#store.failure) throw this.#store.failure; // a bug in storing: no summary
    const end = { stopReason: endReason, resumable: this.#durable, storageError: this.#store.storageError };
    return summarize(this.metrics.snapshot(), this.#startedAt, ctx.frontier.stats(), end);
  }

  /** Leases URLs (held retries first) whose host may go now and feeds the pool, until finished. */
  async #schedule(pool: WorkerPool<FetchJob, Outcome>): Promise<void> {
    const { frontier, ledger, clock, stop } = this.#ctx;
    while (!stop.aborted && !this.#deadlineHit) {
      // A shared frontier is finished only when no process has work left.
      if (ledger.finished(frontier.stats().queued) && (ledger.budget() <= 0 || (await frontier.drained())))
        break;
      const now = clock.now();
      const readyAt = (host: string) => this.#hostReadyAt(host, now);
      let item = ledger.takeRetry(now, readyAt);
      if (!item && ledger.budget() > 0) {
        [item] = await frontier.lease(1, now, readyAt);
        if (item) ledger.started();
      }
      this.#robots.startWanted(); // the robots.txt fetches `readyAt` asked for, outside the lease
      if (!item) {
        this.#checkWakes();
        await this.#park();
      } else if (!(await this.#dispatch(pool, item))) break;
    }
  }

  /**
   * The lease predicate: when `host` may go (HostTable.readyAt; Infinity until robots.txt has
   * settled). Pure: a host waiting for robots.txt is only noted (fetched after the lease).
   */
  #hostReadyAt(host: string, now: number): number {
    const hosts = this.#ctx.hosts;
    const s = hosts.get(host);
    if (s.robots === 'pending') {
      this.#robots.want(host);
      return Number.POSITIVE_INFINITY;
    }
    // An exhausted host's URLs are leased only to be recorded as skipped, so the crawl can end.
    return hosts.exhausted(s) ? now : hosts.readyAt(s, now);
  }

  /**
   * The missed-wake check, before the scheduler parks: a host the frontier set aside until an
   * event (Frontier.blockedHosts) while nothing is in flight and no robots.txt fetch runs waits
   * for an event that cannot come — a wake HostTable's `mayGo` failed to report, and a crawl that
   * would never end. Under test (VITEST set, or NODE_ENV=test) the crawl fails with that bug
   * named; otherwise the hosts are woken (the crawl goes on) and a process warning says so, once.
   * It costs O(hosts set aside), and only when the crawl is otherwise quiet.
   */
  #checkWakes(): void {
    const { ledger, frontier } = this.#ctx;
    if (ledger.outstanding > 0 || this.#robots.settling) return;
    const stuck = frontier.blockedHosts();
    if (stuck.length === 0) return;
    const message =
      `trawl bug: ${stuck.length} host(s) set aside until an event with nothing in flight ` +
      `(a missed Frontier.wake): ${stuck.slice(0, 5).join(', ')}${stuck.length > 5 ? ', …' : ''}`;
    if (STRICT_WAKES) throw new Error(message);
    for (const host of stuck) frontier.wake(host);
    if (!this.#warnedWakes) process.emitWarning(message);
    this.#warnedWakes = true;
  }

  /** Sends one leased URL on: to a fetch worker, or straight to the store when no request may be made. */
  async #dispatch(pool: WorkerPool<FetchJob, Outcome>, item: FrontierItem): Promise<boolean> {
    const { hosts, ledger, frontier, clock, stop } = this.#ctx;
    const host = hosts.get(item.host);
    const refused = refusal(this.#ctx, this.#robots, { item, host });
    if (refused) {
      await this.#store.commit([{ outcome: refused, page: null, parseError: null }], false);
      return true;
    }
    hosts.take(host, clock.now());
    try {
      this.#idle.schedulerWaits(pool.queued >= this.options.workers, 1); // a full pool: submit blocks
      await pool.submit({ item, host }, stop);
    } catch {
      // Stopped while waiting for a free worker: no request was made.
      this.#idle.schedulerWaits(false);
      hosts.finish(host, false);
      ledger.left();
      await frontier.release(item);
      return false;
    }
    this.#idle.schedulerWaits(false);
    this.metrics.setInFlight(ledger.outstanding);
    return true;
  }

  /** Sleeps until something may have changed: a stored page, robots, a retry's or a host's time. */
  async #park(): Promise<void> {
    const now = this.#ctx.clock.now();
    // A plain ref'd timer that pokes the wake channel: cheaper than a context per wait, and it
    // keeps the process alive while every host is paused (nothing else may be pending then).
    const wait = Math.max(1, Math.min(1000, nextWakeAt(this.#ctx, now) - now));
    const timer = setTimeout(() => this.#wake.trySend(), wait);
    this.#idle.schedulerWaits(true);
    try {
      await this.#wake.recv();
    } finally {
      this.#idle.schedulerWaits(false);
      clearTimeout(timer);
    }
  }

  /** Why the crawl ended, for the summary. */
  #stopReason(): StopReason {
    if (this.#aborted || this.options.signal?.aborted) return 'aborted';
    if (this.#store?.storageError) return 'storage-full';
    const stop = this.#stopCtx.signal;
    if (this.#deadlineHit || (stop.aborted && isDeadlineExceeded(stop.reason))) return 'max-time';
    if (stop.aborted) return 'stopped';
    return this.#ctx.ledger.maxPagesReached ? 'max-pages' : 'done';
  }
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
