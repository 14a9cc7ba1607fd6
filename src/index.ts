/**
 * trawl: a fast, polite, resumable concurrent web crawler. `crawl(options)` starts one; the
 * returned Crawl is async-iterable over stored records and `await crawl.done` gives the summary.
 * The Go-style concurrency toolkit it is built on is `trawl/conc`.
 */
export { Crawl, type CrawlDeps, crawl, type RateGate } from './crawl/crawler.js';
export type {
  Completion,
  Frontier,
  FrontierItem,
  FrontierStats,
  MaybePromise,
} from './crawl/frontier/frontier.js';
export { MemoryFrontier } from './crawl/frontier/memory-frontier.js';
export { CrawlMetrics } from './crawl/metrics/metrics.js';
export type { MetricsSnapshot } from './crawl/metrics/snapshot.js';
export { type CrawlOptions, DEFAULTS, type ExtractHook, UsageError } from './crawl/options.js';
export type { ParsedPage } from './crawl/parse/extract.js';
export { extractPage } from './crawl/parse/extract.js';
export type { PageRecord } from './crawl/record.js';
export { parseRobots, type Robots } from './crawl/robots/robots.js';
export { parseSitemap, type SitemapEntry } from './crawl/sitemap/sitemap.js';
export { StateError } from './crawl/state/state-db.js';
export { readStatus } from './crawl/state/status.js';
export { exportState } from './crawl/store/export.js';
export type { Sink } from './crawl/store/sink.js';
export type { CrawlSummary } from './crawl/summary.js';
export { hostKey, normalizeUrl } from './crawl/url/normalize.js';
export { startDashboard } from './dashboard/server.js';
export { startTestSite, type TestSite, type TestSiteOptions } from './testsite/server.js';
