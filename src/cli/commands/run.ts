import type { Command } from 'commander';
import { loadScraper } from '../../crawl/parse/load-scraper.js';
import { UsageError } from '../../crawl/usage-error.js';
import {
  type CrawlFlagValues,
  layerScraperOptions,
  type RedisFlagValues,
  toCrawlOptions,
  typedFlags,
} from '../crawl-flags.js';
import { runCrawlWith } from './crawl.js';

/** The flags of `trawl run`: every crawl flag, the Redis flags, and `--items`. */
export type RunFlagValues = CrawlFlagValues & Partial<RedisFlagValues> & { items?: string };

/**
 * `trawl run FILE [URL...]`: loads the scraper module `file` (loadScraper: a missing file, a
 * syntax error, a default export that is not a scraper, a handler that is not a function or an
 * unknown option is a ScraperError, exit 2, before any request) and crawls with its handlers.
 * The seeds are the URLs given on the command line, which replace the scraper's `start`; with
 * neither (and no sitemap) it is a UsageError. Options: a flag the user typed (`cmd`'s value
 * sources) beats the scraper's `options`, which beat trawl's defaults (see
 * layerScraperOptions); `--items` (typed) beats the scraper's `items`, and without either the
 * items go to `<name>.items.jsonl` beside the records' `<name>.jsonl` (see runCrawlWith, which
 * runs the crawl exactly as `trawl crawl` does: signals, progress, dashboard, summary, exit
 * status). Resolves with the exit status.
 */
export async function runScraper(
  file: string,
  urls: string[],
  flags: RunFlagValues,
  cmd: Command,
): Promise<number> {
  const scraper = await loadScraper(file);
  const seeds = urls.length > 0 ? urls : scraper.start;
  const opts = layerScraperOptions(toCrawlOptions(seeds, flags), scraper.options, typedFlags(cmd));
  if (opts.seeds.length === 0 && (opts.sitemaps ?? []).length === 0) {
    throw new UsageError(
      `no start URL: give URLs after ${file}, or set start in the scraper (or --sitemap URL)`,
    );
  }
  opts.scraper = scraper.file;
  if (flags.items !== undefined) opts.items = flags.items;
  return runCrawlWith(opts, flags);
}
