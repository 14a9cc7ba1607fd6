import { afterEach } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import type { CrawlOptions } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { startTestSite, type TestSite, type TestSiteOptions } from '../../src/testsite/server.js';

/** Returns a `site(opts)` that starts test sites on 127.0.0.1 and closes them after each test. */
export function useSites(): (opts: TestSiteOptions) => Promise<TestSite> {
  const sites: TestSite[] = [];
  afterEach(async () => {
    await Promise.all(sites.splice(0).map((s) => s.close()));
  });
  return async (opts) => {
    const s = await startTestSite(opts);
    sites.push(s);
    return s;
  };
}

/**
 * Starts a crawl with the tests' defaults (no rate limit, parsing on the main thread, 1 ms retry
 * backoff, memory frontier unless `state` is given), collecting its records as they are stored.
 */
export function startCrawl(opts: Partial<CrawlOptions> & { seeds: string[] }): {
  crawl: Crawl;
  records: PageRecord[];
} {
  const records: PageRecord[] = [];
  const crawl = new Crawl({
    rate: Number.POSITIVE_INFINITY,
    parsers: 0,
    retryBaseMs: 1,
    ...opts,
    onRecord: (r) => records.push(r),
  });
  return { crawl, records };
}

/** Polls (real time) until `cond` holds; the assertions that follow don't depend on how long it took. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
