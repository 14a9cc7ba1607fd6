/**
 * trawl: a fast, polite, resumable concurrent web crawler. `crawl(options)` starts one; the
 * returned Crawl is async-iterable over stored records and `await crawl.done` gives the summary.
 * The Go-style concurrency toolkit it is built on is `trawl/conc`.
 */
export { Crawl, type CrawlDeps, crawl } from './crawl/crawler.js';
export {
  type DistributedCrawlOptions,
  distributedCrawl,
  type JoinCrawlOptions,
  joinCrawl,
  type RedisConnection,
} from './crawl/distributed-crawl.js';
export type {
  Completion,
  Frontier,
  FrontierItem,
  FrontierStats,
  Item,
  MaybePromise,
  PausesHosts,
  RequestSpec,
  RequeuesFailed,
  SchedulesHosts,
} from './crawl/frontier/frontier.js';
export { itemKey, pausesHosts, requeuesFailed, schedulesHosts } from './crawl/frontier/frontier.js';
export { MemoryFrontier } from './crawl/frontier/memory-frontier.js';
export { CrawlMetrics } from './crawl/metrics/metrics.js';
export type { MetricsSnapshot, PageOutcome } from './crawl/metrics/snapshot.js';
export { type CrawlOptions, DEFAULTS, type ExtractHook, UsageError } from './crawl/options.js';
export type { ParsedPage } from './crawl/parse/extract.js';
export { extractPage } from './crawl/parse/extract.js';
export type { LoadedScraper } from './crawl/parse/load-scraper.js';
export { loadScraper } from './crawl/parse/load-scraper.js';
export {
  type DefinedScraper,
  defineScraper,
  type EnqueueInput,
  type EnqueueOptions,
  type Handler,
  type HandlerContext,
  type HandlerLog,
  type HandlerRequest,
  type HandlerResponse,
  type Scraper,
  type ScraperOptions,
} from './crawl/parse/scraper.js';
export { ScraperError } from './crawl/parse/scraper-error.js';
export type { RateGate } from './crawl/politeness/rate-gate.js';
export type { PageRecord } from './crawl/record.js';
export { RedisConnectError } from './crawl/redis/connect.js';
export type { CrawlSpec } from './crawl/redis/crawl-spec.js';
export {
  type RedisCrawlStatus,
  type RedisMemberStatus,
  readRedisStatus,
} from './crawl/redis/redis-status.js';
export { parseRobots, type Robots } from './crawl/robots/robots.js';
export { parseSitemap, type SitemapEntry } from './crawl/sitemap/sitemap.js';
export { exportItems, exportState } from './crawl/state/export.js';
export { StateError } from './crawl/state/state-db.js';
export { readStatus } from './crawl/state/status.js';
export type { Sink } from './crawl/store/sink.js';
export { StorageFullError } from './crawl/store/storage-full.js';
export type { CrawlSummary, StopReason } from './crawl/summary.js';
export { hostKey, normalizeUrl } from './crawl/url/normalize.js';
export { startDashboard } from './dashboard/server.js';
