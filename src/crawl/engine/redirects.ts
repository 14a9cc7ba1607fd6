import type { Frontier } from '../frontier/frontier.js';
import { type NormalizeOptions, normalizeUrl } from '../url/normalize.js';

/**
 * The crawl's rule for redirect hops (pages' and sitemaps' alike): why a hop may not be followed
 * (not http(s), out of scope), or, for a page's own redirects (`from` given), a hop into a URL
 * the crawl already has (it is crawled on its own); null to follow it. The hop is normalized
 * once, the crawl's way.
 */
export function redirectRule(
  norm: NormalizeOptions,
  inScope: (url: string) => boolean,
  frontier: Frontier,
): (next: string, from?: string) => string | null {
  return (next, from) => {
    const url = normalizeUrl(next, undefined, norm);
    if (!url) return `not an http(s) URL: ${next.slice(0, 200)}`;
    if (!inScope(url)) return `out of scope: ${url.slice(0, 200)}`;
    if (from !== undefined && url !== from && frontier.has(url))
      return `already crawled: ${url.slice(0, 200)}`;
    return null;
  };
}
