import type { CrawlOptions } from '../options.js';
import type { ParseConfig } from '../parse/parse-job.js';
import type { ScopeOptions } from '../url/scope.js';

/** Which links are in scope: the seeds' (and sitemaps') hosts or domains, and the patterns. */
export function scopeOptionsOf(o: CrawlOptions): ScopeOptions {
  return { seeds: [...o.seeds, ...o.sitemaps], mode: o.scope, include: o.include, exclude: o.exclude };
}

/** How every page of the crawl is parsed (sent once to each parse thread). */
export function parseConfigOf(o: CrawlOptions): ParseConfig {
  return {
    stripParams: o.stripParams,
    stripSessionIds: o.stripSessionIds,
    fields: o.extract,
    scope: scopeOptionsOf(o),
    traps: {
      maxUrlLength: o.maxUrlLength,
      maxRepeatedSegments: o.maxRepeatedSegments,
      maxPathDepth: o.maxPathDepth,
    },
    maxDepth: o.depth,
    keepHtml: o.extractFn !== undefined,
    scraper: o.scraper ?? null,
    handlerTimeoutMs: o.handlerTimeoutMs,
    // The state keeps each page's hash for recrawls; hashing on the parse threads keeps it off the main one.
    hashBodies: o.state !== undefined || o.keepVersions === true,
  };
}
