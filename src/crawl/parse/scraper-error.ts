import { UsageError } from '../usage-error.js';

/**
 * A scraper module that cannot be used (missing file, syntax error, not a defineScraper export,
 * a handler that is not a function, an unknown option, a bad start URL): bad usage, so the CLI
 * prints the one-line message and exits 2 before any request.
 */
export class ScraperError extends UsageError {
  override name = 'ScraperError';
}
