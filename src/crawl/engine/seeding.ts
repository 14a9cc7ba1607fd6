import { type FrontierItem, recrawls } from '../frontier/frontier.js';
import { crawlSitemaps, type SitemapFetch } from '../sitemap/sitemap.js';
import { sitemapFetcher } from '../sitemap/sitemap-fetch.js';
import { hostKey, normalizeUrl } from '../url/normalize.js';
import type { EngineContext } from './context.js';

/**
 * Puts the crawl's starting URLs into the frontier: the seeds at once ({@link seeds}), and the
 * pages of sitemaps while the crawl runs ({@link sitemaps}, counted in the ledger's `seeding`
 * so the crawl can't end while a walk may still add URLs).
 */
export class Seeding {
  readonly #d: EngineContext;
  readonly #noteHost: (host: string, url: string) => void;
  readonly #fetchSitemap: SitemapFetch;

  /**
   * `noteHost` learns one URL per host (robots.txt's scheme). Sitemaps are downloaded under the
   * crawl's connection cap, global rate and redirect rules, and end with its graceful stop.
   */
  constructor(ctx: EngineContext, noteHost: (host: string, url: string) => void) {
    this.#d = ctx;
    this.#noteHost = noteHost;
    this.#fetchSitemap = sitemapFetcher({
      agent: ctx.requestAgent,
      userAgent: ctx.options.userAgent,
      timeoutMs: ctx.options.timeoutMs,
      connections: ctx.connections,
      limiter: ctx.limiter,
      checkRedirect: (url) => ctx.redirectRefusal(url),
      signal: ctx.stop,
      ...(ctx.archive === null
        ? {}
        : { onExchange: (exchange) => ctx.archive!.side([{ exchange, source: 'network' }]) }),
    });
  }

  /** Enqueues the seeds (normalized; invalid ones dropped) at depth 0. */
  async seeds(): Promise<void> {
    const items: FrontierItem[] = [];
    for (const s of this.#d.options.seeds) {
      const url = normalizeUrl(s, undefined, this.#d.norm);
      if (url) items.push({ url, host: this.#host(url), depth: 0, referrer: null, attempts: 0 });
    }
    await this.#d.frontier.add(items);
  }

  /**
   * Walks sitemaps (indexes nested to any depth, loops ended, out-of-scope entries skipped) and
   * enqueues their pages at depth 0 with their lastmod, in batches of 500, while the crawl runs.
   * With --recrawl-after auto, a page already fetched whose lastmod is later than its fetch is
   * queued again.
   * A sitemap that fails is counted as a sitemap error (metrics kind `sitemap`, never a page) and
   * the walk goes on. Never rejects.
   */
  async sitemaps(urls: readonly string[]): Promise<void> {
    const d = this.#d;
    d.ledger.seedingStarted();
    let batch: FrontierItem[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const items = batch;
      batch = [];
      await d.frontier.add(items);
      // --recrawl-after auto: a known page the sitemap says was modified since its fetch is due now.
      if (d.options.recrawl === true && d.options.recrawlAfter === 'auto' && recrawls(d.frontier)) {
        const modified: { key: string; lastmod: string }[] = [];
        for (const it of items) if (it.lastmod) modified.push({ key: it.url, lastmod: it.lastmod });
        if (modified.length > 0) await d.frontier.requeueModified(modified);
      }
      d.wake();
    };
    const sitemapError = (sitemap: string, err: unknown) =>
      d.metrics.error('sitemap', hostKey(sitemap), sitemap, `sitemap: ${(err as Error)?.message ?? err}`);
    try {
      const pages = crawlSitemaps(urls, this.#fetchSitemap, {
        inScope: (u) => d.inScope(u),
        signal: d.stop,
        onError: sitemapError,
      });
      for await (const page of pages) {
        const url = normalizeUrl(page.loc, undefined, d.norm);
        if (!url) continue;
        const lastmod = page.lastmod ?? null;
        batch.push({ url, host: this.#host(url), depth: 0, referrer: null, attempts: 0, lastmod });
        if (batch.length >= 500) await flush();
      }
      await flush();
    } catch (err) {
      if (!d.stop.aborted) sitemapError(urls[0] ?? '', err);
    } finally {
      d.ledger.seedingEnded();
      d.wake();
    }
  }

  #host(url: string): string {
    const host = hostKey(url);
    this.#noteHost(host, url);
    return host;
  }
}
